"""Probability arithmetic of the Fellegi–Sunter model, apart from the estimator.

Why a module of its own: these functions hold no fitted state. The linker picks its threshold
from binned per-pair weights (:mod:`dalink.match.link_stages`) with the same expected-F1 cut
the model uses on its candidates, and needs no estimator for it; and the estimator in
:mod:`dalink.match.model` reads as EM and bookkeeping once the numerics live here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dalink.match.compare import MISSING_LEVEL, ComparisonSpec

__all__ = ["expected_f1_threshold", "initial_m", "logistic", "monotone_m", "with_level"]


def expected_f1_threshold(probability: np.ndarray, counts: np.ndarray) -> float:
    """The probability cut that maximises the F1 a model expects from its own probabilities.

    ``probability[i]`` is the match probability shared by ``counts[i]`` pairs. Taking the
    probabilities at face value, linking every pair at or above a cut finds
    ``Σ p·n`` true matches among ``Σ n`` links, out of ``Σ p·n`` over all candidates; the
    cut with the best expected F1 is returned (kept within 0.05–0.95).
    """
    if counts.sum() == 0:
        return 0.5
    order = np.argsort(-probability, kind="stable")
    probability, counts = probability[order], counts[order].astype(np.float64)
    expected_matches = float((probability * counts).sum())
    if expected_matches <= 0:
        return 0.5
    true_positives = np.cumsum(probability * counts)
    predicted = np.cumsum(counts)
    f1 = 2 * true_positives / (predicted + expected_matches)
    best = int(np.argmax(f1))
    return float(min(max(probability[best], 0.05), 0.95))


def logistic(values: np.ndarray) -> np.ndarray:
    """The logistic function, clipped so that extreme weights neither overflow nor underflow."""
    return 1.0 / (1.0 + np.exp(-np.clip(values, -700, 700)))


def with_level(probabilities: np.ndarray, level: int, value: float) -> np.ndarray:
    """``probabilities`` with one level set to ``value``, the other non-missing levels rescaled to match."""
    result = probabilities.copy()
    others = np.ones(len(result), dtype=bool)
    others[[MISSING_LEVEL, level]] = False
    result[others] *= (1.0 - value) / max(float(result[others].sum()), 1e-300)
    result[level] = value
    return result


def initial_m(spec: ComparisonSpec) -> np.ndarray:
    """EM's starting m, and its prior: "more similar levels are likelier for matches".

    Each step up the similarity scale doubles the share; a level off the scale (swapped
    names) gets the share of "different", so a few matches cannot make it strong evidence.
    """
    m = np.zeros(spec.level_count)
    ordered = spec.ordered_levels
    m[ordered] = 2.0 ** np.arange(len(ordered))
    off_scale = [level for level in range(1, spec.level_count) if level not in ordered]
    m[off_scale] = 1.0
    m[1:] /= m[1:].sum()
    return m


def monotone_m(totals: np.ndarray, u: np.ndarray, ordered: Sequence[int]) -> np.ndarray:
    """m from expected level counts, constrained so that m/u never falls as similarity rises.

    Why: more similar encodings can never be weaker evidence of a match. Without the
    constraint, EM on few matches (a small partnership, a narrow training session) puts all
    of m on whatever levels those few pairs happened to reach, and the level above gets a
    large negative weight: two identical records then score below a near miss. This is the
    maximum-likelihood M-step under the constraint (pool adjacent violators on ``totals/u``
    weighted by ``u``); where EM's m/u already rises, nothing changes. Levels outside
    ``ordered`` (missing, swapped names) keep their share. ``totals[MISSING_LEVEL]`` is ignored.
    """
    totals = totals.astype(np.float64).copy()
    totals[MISSING_LEVEL] = 0.0
    total = float(totals.sum())
    m = totals / total
    blocks: list[tuple[float, float, list[int]]] = []  # (Σ totals, Σ u, levels), ratios rising
    for level in ordered:
        block = (float(totals[level]), float(u[level]), [level])
        while blocks and blocks[-1][0] * block[1] > block[0] * blocks[-1][1]:  # previous ratio above this one
            previous = blocks.pop()
            block = (previous[0] + block[0], previous[1] + block[1], previous[2] + block[2])
        blocks.append(block)
    for block_total, block_u, levels in blocks:
        for level in levels:
            m[level] = block_total / block_u * float(u[level]) / total
    return m
