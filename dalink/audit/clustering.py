"""The attacker's first step: group encodings that hold the same value.

Without hardening, equal values give equal filters and counting distinct filters is enough.
Record-seeded bit flipping (BLIP) makes every filter distinct, but the copies of one value
stay close: two noisy copies of a ``m``-bit filter differ in about ``2p(1-p)m`` bits, while
two different names differ in tens of token positions. The attacker knows ``p`` and ``m``
(they are in the schema), so it clusters filters within that Hamming radius and takes the
bitwise majority of each cluster, which removes the noise. Treating noise as safety would
be a mistake; this module is what the audit uses so that it does not make it.

Candidate pairs come from bit-sampling locality-sensitive hashing (bands of sampled bit
positions; filters that agree on every sampled bit of a band become candidates), so the
cost grows with the number of close pairs, not with all pairs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dalink.match.load import popcount, popcount_rows

MAX_BUCKET = 1500
BANDS = 24


@dataclass(frozen=True)
class EncodingClusters:
    """Clusters of encodings believed to hold one value each.

    ``labels`` gives each input row its cluster; ``centroids`` are bitwise majorities (packed
    ``uint64`` words, noise removed); ``counts`` the rows per cluster, largest first.
    """

    labels: np.ndarray
    centroids: np.ndarray
    counts: np.ndarray
    noise_radius: int

    @property
    def popcounts(self) -> np.ndarray:
        return popcount_rows(self.centroids)

    def __len__(self) -> int:
        return len(self.counts)


def unpack_bits(words: np.ndarray) -> np.ndarray:
    """Packed ``uint64`` filters back to a boolean matrix in the encoder's bit order."""
    if words.size == 0:
        return np.zeros((len(words), words.shape[1] * 64 if words.ndim == 2 else 0), dtype=bool)
    return np.unpackbits(np.ascontiguousarray(words).view(np.uint8), axis=1).astype(bool)


def pack_bits(matrix: np.ndarray) -> np.ndarray:
    """A boolean matrix (width a multiple of 64) to packed ``uint64`` words."""
    return np.packbits(matrix, axis=1).view(np.uint64)


def hamming_pairs(words: np.ndarray, left: np.ndarray, right: np.ndarray, chunk: int = 1 << 18) -> np.ndarray:
    """Hamming distance of each pair of rows (chunked to bound memory)."""
    distances = np.empty(len(left), dtype=np.int32)
    for start in range(0, len(left), chunk):
        stop = start + chunk
        distances[start:stop] = popcount(words[left[start:stop]] ^ words[right[start:stop]]).sum(axis=1, dtype=np.int32)
    return distances


def noise_radius(bits: int, flip_probability: float, spread: float = 3.5) -> int:
    """Largest Hamming distance expected between two noisy copies of one filter."""
    differing = 2 * flip_probability * (1 - flip_probability)
    mean = bits * differing
    return int(math.ceil(mean + spread * math.sqrt(bits * differing * (1 - differing)))) if flip_probability > 0 else 0


def exact_groups(words: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows: (index of one representative per group, group of each row)."""
    if len(words) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    row_view = np.ascontiguousarray(words).view(np.dtype((np.void, words.dtype.itemsize * words.shape[1]))).ravel()
    _, first, inverse = np.unique(row_view, return_index=True, return_inverse=True)
    return first.astype(np.int64), inverse.astype(np.int64).ravel()


def candidate_pairs(
    words: np.ndarray, radius: int, generator: np.random.Generator, bands: int = BANDS
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of rows likely within ``radius`` bits of each other, by bit-sampling LSH."""
    count, bits = len(words), words.shape[1] * 64
    if count < 2:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    matrix = unpack_bits(words)
    # Per band, a pair at the radius agrees on every sampled bit with probability ~0.25.
    agreement = max(1.0 - radius / bits, 0.5)
    rows_per_band = int(min(max(round(math.log(0.25) / math.log(agreement)), 12), 64))
    lefts, rights = [], []
    weights_of_bits = (1 << np.arange(min(rows_per_band, 63), dtype=np.uint64)).astype(np.uint64)
    for _ in range(bands):
        sampled = generator.choice(bits, size=min(rows_per_band, 63), replace=False)
        keys = matrix[:, sampled].astype(np.uint64) @ weights_of_bits
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        boundaries = np.flatnonzero(np.diff(sorted_keys)) + 1
        starts = np.concatenate([[0], boundaries])
        sizes = np.diff(np.concatenate([starts, [count]]))
        for start, size in zip(starts[sizes > 1], sizes[sizes > 1]):
            members = order[start : start + size]
            if size > MAX_BUCKET:
                members = generator.choice(members, size=MAX_BUCKET, replace=False)
                size = MAX_BUCKET
            first, second = np.triu_indices(size, k=1)
            lefts.append(members[first])
            rights.append(members[second])
    if not lefts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    left = np.concatenate(lefts).astype(np.int64)
    right = np.concatenate(rights).astype(np.int64)
    low, high = np.minimum(left, right), np.maximum(left, right)
    pair_codes = np.unique(low * count + high)
    return pair_codes // count, pair_codes % count


def majority_centroids(words: np.ndarray, labels: np.ndarray, cluster_count: int, weights: np.ndarray) -> np.ndarray:
    """Bitwise majority of each cluster's rows (rows weighted by ``weights``)."""
    matrix = unpack_bits(words)
    totals = np.zeros((cluster_count, matrix.shape[1]), dtype=np.float64)
    sizes = np.bincount(labels, weights=weights, minlength=cluster_count).astype(np.float64)
    for start in range(0, len(matrix), 8192):
        block = slice(start, start + 8192)
        np.add.at(totals, labels[block], matrix[block] * weights[block, None])
    return pack_bits(totals * 2 > sizes[:, None])


def cluster_encodings(
    words: np.ndarray, *, flip_probability: float = 0.0, random_state: int = 0
) -> EncodingClusters:
    """Cluster the filters ``words`` (rows of packed ``uint64``) into presumed values.

    Exact duplicates always form one cluster. With noise, groups of distinct filters within
    :func:`noise_radius` are joined greedily around the densest filters (a leader takes every
    unassigned neighbour), majorities become centroids, and rows farther from their centroid
    than a single copy's noise would put them are split off again as singletons.
    """
    count = len(words)
    if count == 0:
        return EncodingClusters(np.zeros(0, dtype=np.int64), words[:0], np.zeros(0, dtype=np.int64), 0)
    representatives, group_of_row = exact_groups(words)
    distinct = words[representatives]
    group_sizes = np.bincount(group_of_row, minlength=len(distinct)).astype(np.int64)
    bits = words.shape[1] * 64
    radius = noise_radius(bits, flip_probability)
    if flip_probability <= 0 or len(distinct) < 2:
        labels_of_group = np.arange(len(distinct))
        centroids = distinct
    else:
        generator = np.random.default_rng(random_state)
        left, right = candidate_pairs(distinct, radius, generator)
        close = hamming_pairs(distinct, left, right) <= radius
        left, right = left[close], right[close]
        # Density: rows (not distinct filters) within the radius, so big values lead.
        density = group_sizes.astype(np.float64).copy()
        np.add.at(density, left, group_sizes[right])
        np.add.at(density, right, group_sizes[left])
        both_left = np.concatenate([left, right])
        both_right = np.concatenate([right, left])
        order = np.argsort(both_left, kind="stable")
        both_left, both_right = both_left[order], both_right[order]
        starts = np.searchsorted(both_left, np.arange(len(distinct) + 1))
        labels_of_group = np.full(len(distinct), -1, dtype=np.int64)
        next_label = 0
        for leader in np.argsort(-density, kind="stable"):
            if labels_of_group[leader] >= 0:
                continue
            labels_of_group[leader] = next_label
            neighbours = both_right[starts[leader] : starts[leader + 1]]
            free = neighbours[labels_of_group[neighbours] < 0]
            labels_of_group[free] = next_label
            next_label += 1
        centroids = majority_centroids(distinct, labels_of_group, next_label, group_sizes.astype(np.float64))
        # A single noisy copy lies about p*m bits from the value it came from.
        single_radius = noise_radius(bits, flip_probability / 2 if flip_probability < 0.5 else flip_probability)
        distance = popcount(distinct ^ centroids[labels_of_group]).sum(axis=1)
        strays = np.flatnonzero(distance > max(single_radius, radius // 2 + 1))
        if len(strays):
            labels_of_group[strays] = next_label + np.arange(len(strays))
            centroids = np.concatenate([centroids, distinct[strays]])
    labels = labels_of_group[group_of_row]
    counts = np.bincount(labels, minlength=len(centroids)).astype(np.int64)
    # Renumber clusters largest first.
    order = np.argsort(-counts, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return EncodingClusters(
        labels=rank[labels], centroids=np.ascontiguousarray(centroids[order]), counts=counts[order], noise_radius=radius
    )
