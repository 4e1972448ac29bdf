"""Probability arithmetic of the Fellegi–Sunter model, apart from the estimator.

Why a module of its own: these functions hold no fitted state. The linker picks its threshold
from binned per-pair weights (:mod:`dalink.match.link_stages`) with the same expected-F1 cut
the model uses on its candidates, and needs no estimator for it; and the estimator in
:mod:`dalink.match.model` reads as EM and bookkeeping once the numerics live here.
"""

from __future__ import annotations

import numpy as np

from dalink.match.compare import MISSING_LEVEL

__all__ = ["expected_f1_threshold", "initial_m", "logistic", "with_level"]


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


def initial_m(level_count: int) -> np.ndarray:
    """A starting point that says "higher levels are likelier for matches"."""
    m = np.zeros(level_count)
    m[1:] = 2.0 ** np.arange(level_count - 1)
    m[1:] /= m[1:].sum()
    return m
