"""Frequency alignment: which public value does each cluster of equal encodings hold?

The attacker sees clusters of encodings with their sizes (and, for Bloom filters, a feature
that survives keyed hashing: the number of set bits, which grows with the number of tokens
and so with the length of a name). The public tables say how often each value occurs. If a
cluster holds 440 of 40,000 records and only one value is expected that often among values
of its length, the attacker claims it, with a confidence it can compute itself:

    confidence(value | cluster) = Σ_slots of value L(slot) / (Σ_all slots L + L(unknown values))

where ``L(slot)`` is the likelihood of the cluster's size under a Poisson whose mean is the
slot's expected count, widened by a log-normal factor because public tables are never exactly
the data's frequencies (``dispersion``), times a Gaussian likelihood of the feature. A
*slot* is a value the encoding could hold; with salting a slot is a (value, salt) pair and
several slots claim the same value. Values missing from the public tables are a pool of rare
"unknown" slots, so a singleton is (correctly) never claimed with confidence.

Clusters are processed largest first and each confident claim consumes its slot, so the same
slot is not claimed twice (Kuzu et al.'s one-to-one constraint, relaxed to slots so that a
salted name can be claimed once per salt). This is a calibrated, greedy version of the
frequency alignment attacks of Kuzu et al. (2011) and Kroll & Steinmetzer (2015).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Gauss–Hermite nodes for a log-normal mixing of the Poisson mean (probabilists' form).
_NODES, _NODE_WEIGHTS = np.polynomial.hermite_e.hermegauss(9)
_NODE_WEIGHTS = _NODE_WEIGHTS / _NODE_WEIGHTS.sum()
_LOG_NODE_WEIGHTS = np.log(_NODE_WEIGHTS)
TAIL_COUNT = 2


@dataclass(frozen=True)
class Candidates:
    """The slots an encoding could hold.

    ``slot_value`` indexes ``claim_values`` (what a claim on the slot says); ``probabilities``
    are slot shares of records (summing to at most 1; the rest is unknown values);
    ``features`` the expected feature of each slot (None when the encoding has none).
    """

    claim_values: np.ndarray
    slot_value: np.ndarray
    probabilities: np.ndarray
    features: np.ndarray | None = None
    feature_sd: float = 1.0
    unknown_share: float = 0.05
    slot_salt: np.ndarray | None = None  # index into the salt values, for salted fields

    def __len__(self) -> int:
        return len(self.slot_value)


@dataclass(frozen=True)
class Alignment:
    """Per cluster: the claimed value (index into ``claim_values``, -1 for none) and confidence."""

    guess: np.ndarray
    confidence: np.ndarray


def log_factorial(counts: np.ndarray) -> np.ndarray:
    """log(n!) for non-negative integers, via a cumulative table."""
    top = int(counts.max()) if counts.size else 0
    table = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, top + 1, dtype=np.float64)))])
    return table[counts.astype(np.int64)]


def log_poisson_lognormal(count: float, means: np.ndarray, dispersion: float) -> np.ndarray:
    """log P(count | mean) for a Poisson whose mean is scaled by exp(N(0, dispersion²))."""
    means = np.maximum(means, 1e-300)
    scaled = means[:, None] * np.exp(dispersion * _NODES)[None, :]
    terms = count * np.log(scaled) - scaled + _LOG_NODE_WEIGHTS[None, :]
    peak = terms.max(axis=1)
    return peak + np.log(np.exp(terms - peak[:, None]).sum(axis=1)) - math.lgamma(count + 1)


def _feature_log_density(features: np.ndarray, value: float, sd: float) -> np.ndarray:
    """log of the normal density of ``value`` around each of ``features``."""
    return -0.5 * ((features - value) / sd) ** 2 - math.log(sd * math.sqrt(2 * math.pi))


class _LikelihoodTable:
    """log P(count | mean) on a grid of log-means, interpolated (cached per count)."""

    def __init__(self, dispersion: float, low: float, high: float) -> None:
        self.dispersion = dispersion
        self.grid = np.linspace(math.log(max(low, 1e-12)) - 1.0, math.log(max(high, 1.0)) + 1.0, 512)
        self._cache: dict[int, np.ndarray] = {}

    def values(self, count: int) -> np.ndarray:
        table = self._cache.get(count)
        if table is None:
            table = log_poisson_lognormal(float(count), np.exp(self.grid), self.dispersion)
            self._cache[count] = table
        return table

    def __call__(self, count: int, log_means: np.ndarray) -> np.ndarray:
        return np.interp(log_means, self.grid, self.values(count))


def align(
    counts: np.ndarray,
    features: np.ndarray | None,
    candidates: Candidates,
    *,
    total: int,
    dispersion: float = 0.3,
    noisy_feature_shift: tuple[float, float, float] | None = None,
    claim_threshold: float = 0.5,
    tail_count: int = TAIL_COUNT,
) -> Alignment:
    """Assign clusters (sizes ``counts``, optional ``features``) to candidate values.

    ``noisy_feature_shift`` = (scale, offset, extra_sd): for clusters of at most
    :data:`TAIL_COUNT` rows the majority vote cannot remove the noise, so the expected feature
    becomes ``scale * feature + offset`` with ``extra_sd`` more spread.
    """
    cluster_count = len(counts)
    guess = np.full(cluster_count, -1, dtype=np.int64)
    confidence = np.zeros(cluster_count, dtype=np.float64)
    if cluster_count == 0 or len(candidates) == 0:
        return Alignment(guess, confidence)
    use_feature = features is not None and candidates.features is not None
    # Slots sorted by feature (or by mean) so that a window of plausible slots is contiguous.
    means_all = candidates.probabilities * total
    primary = candidates.features.astype(np.float64) if use_feature else np.log(np.maximum(means_all, 1e-300))
    slot_order = np.argsort(primary, kind="stable")
    primary = primary[slot_order]
    means = means_all[slot_order]
    log_means = np.log(np.maximum(means, 1e-300))
    slot_value = candidates.slot_value[slot_order]
    positive = means[means > 0]
    unknown_mean = max(float(positive.min()) if positive.size else 1.0, 1e-3)
    unknown_slots = max(candidates.unknown_share * total / unknown_mean, 1.0)
    table = _LikelihoodTable(dispersion, min(unknown_mean, float(positive.min()) if positive.size else 1.0),
                             max(float(counts.max()), float(means.max())) * 4)
    one_slot_per_value = len(np.unique(candidates.slot_value)) == len(candidates.slot_value)
    used = np.zeros(len(slot_order), dtype=bool)
    if use_feature:
        # Density of features among candidates (for values missing from the public tables).
        spread = max(float(primary[-1] - primary[0]), 1.0)
        bandwidth = max(candidates.feature_sd * 2, spread / 50)
        grid = np.linspace(primary[0] - 6 * bandwidth, primary[-1] + 6 * bandwidth, 1024)
        histogram = np.histogram(primary, bins=len(grid), range=(grid[0], grid[-1]))[0].astype(np.float64)
        kernel_x = np.arange(-60, 61) * (grid[1] - grid[0])
        kernel = np.exp(-0.5 * (kernel_x / bandwidth) ** 2)
        density = np.convolve(histogram, kernel / kernel.sum(), mode="same")
        density /= max(density.sum() * (grid[1] - grid[0]), 1e-300)

    def posterior(count: int, feature: float | None, sd_extra: float, shift: tuple[float, float]) -> tuple[int, float, int]:
        log_unknown = table(count, np.array([math.log(unknown_mean)]))[0] + math.log(unknown_slots)
        if use_feature and feature is not None:
            sd = math.sqrt(candidates.feature_sd**2 + sd_extra**2)
            # Expected feature of a slot is scale*primary+offset; invert for the window.
            target = (feature - shift[1]) / shift[0]
            half_width = 5 * sd / shift[0]
            low, high = np.searchsorted(primary, [target - half_width, target + half_width])
            window = slice(int(low), int(high))
            log_like = table(count, log_means[window]) + _feature_log_density(
                primary[window] * shift[0] + shift[1], feature, sd
            )
            log_unknown += math.log(max(float(np.interp(target, grid, density)) / shift[0], 1e-300))
        else:
            # Only means whose likelihood is within e^-30 of the best can matter.
            values = table.values(count)
            plausible = table.grid[values >= values.max() - 20.0]
            low, high = np.searchsorted(primary, [plausible[0], plausible[-1]])
            window = slice(int(low), int(high))
            log_like = table(count, log_means[window])
        log_like = np.where(used[window], -np.inf, log_like)
        peak = max(float(log_like.max()) if log_like.size else -np.inf, log_unknown)
        weights = np.exp(log_like - peak)
        if not log_like.size or weights.max() <= 0:
            return -1, 0.0, -1
        values_in_window = slot_value[window]
        total_weight = float(weights.sum()) + math.exp(log_unknown - peak)
        if one_slot_per_value:
            best = int(np.argmax(weights))
            return int(values_in_window[best]), float(weights[best] / total_weight), int(window.start + best)
        local_values, inverse = np.unique(values_in_window, return_inverse=True)
        by_value = np.bincount(inverse, weights=weights)
        best_local = int(np.argmax(by_value))
        members = np.flatnonzero(inverse == best_local)
        best_slot = int(window.start + members[np.argmax(weights[members])])
        return int(local_values[best_local]), float(by_value[best_local] / total_weight), best_slot

    order = np.argsort(-counts, kind="stable")
    head = order[counts[order] > tail_count]
    for cluster in head:
        feature = float(features[cluster]) if use_feature and features is not None else None
        value, value_confidence, slot = posterior(int(counts[cluster]), feature, 0.0, (1.0, 0.0))
        guess[cluster], confidence[cluster] = value, value_confidence
        if value_confidence >= claim_threshold and slot >= 0:
            used[slot] = True
    # Small clusters (rows ≤ tail_count): the posterior depends only on (size, feature), no slot
    # is consumed; only the noisy-feature shift applies to those of at most TAIL_COUNT rows.
    tail = order[counts[order] <= tail_count]
    if len(tail):
        if use_feature and features is not None:
            keys = np.stack([counts[tail], np.rint(features[tail]).astype(np.int64)], axis=1)
        else:
            keys = np.stack([counts[tail], np.zeros(len(tail), dtype=np.int64)], axis=1)
        unique_keys, inverse = np.unique(keys, axis=0, return_inverse=True)
        inverse = inverse.ravel()
        scale, offset, extra = noisy_feature_shift or (1.0, 0.0, 0.0)
        for index, (count, feature) in enumerate(unique_keys):
            value, value_confidence, _ = posterior(
                int(count), float(feature) if use_feature else None, extra, (scale, offset)
            )
            members = tail[inverse == index]
            guess[members], confidence[members] = value, value_confidence
    return Alignment(guess, confidence)
