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


def _peel_dense_clusters(
    distinct: np.ndarray,
    sizes: np.ndarray,
    pair_radius: int,
    single_radius: int,
    generator: np.random.Generator,
    *,
    min_rows: int = 3,
    patience: int = 30,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Peel off dense clusters around random seeds (a seed is most likely a frequent value).

    For each seed: rows within ``pair_radius`` of it, their majority, then every row within
    ``single_radius`` of that majority. Stops after ``patience`` seeds in a row found fewer than
    ``min_rows`` rows. Returns the cluster label of each distinct row (-1: not yet) and centroids.
    """
    labels = np.full(len(distinct), -1, dtype=np.int64)
    centroids: list[np.ndarray] = []
    free = np.arange(len(distinct))
    misses = 0
    words = distinct.shape[1]
    prefix = max(1, words // 4)
    # A pair within the radius overall is within it on the first quarter of the words too,
    # up to sampling spread: screen on the prefix, then measure the survivors in full.
    prefix_radius = int(math.ceil(pair_radius * prefix / words + 3 * math.sqrt(pair_radius * prefix / words) + 2))
    while len(free) and misses < patience:
        seed = generator.choice(free, p=sizes[free] / sizes[free].sum())
        screen = free[popcount(distinct[free, :prefix] ^ distinct[seed, :prefix]).sum(axis=1) <= prefix_radius]
        distance = popcount(distinct[screen] ^ distinct[seed]).sum(axis=1)
        near = screen[distance <= pair_radius]
        centroid = majority_centroids(distinct[near], np.zeros(len(near), dtype=np.int64), 1, sizes[near].astype(np.float64))[0]
        distance = popcount(distinct[free] ^ centroid).sum(axis=1)
        members = free[distance <= single_radius]
        if len(members) == 0:
            members = np.array([seed])
        if sizes[members].sum() < min_rows:
            misses += 1
            if sizes[members].sum() <= 1:
                continue
        else:
            misses = 0
        centroid = majority_centroids(distinct[members], np.zeros(len(members), dtype=np.int64), 1, sizes[members].astype(np.float64))[0]
        labels[members] = len(centroids)
        centroids.append(centroid)
        free = free[labels[free] < 0]
    return labels, centroids


def cluster_encodings(
    words: np.ndarray, *, flip_probability: float = 0.0, random_state: int = 0
) -> EncodingClusters:
    """Cluster the filters ``words`` (rows of packed ``uint64``) into presumed values.

    Exact duplicates always form one cluster. With noise, dense clusters are peeled first
    around random seeds (frequent values are hit first, and they are what frequency attacks
    need); the remaining rows are joined greedily around their densest members using
    LSH candidate pairs within :func:`noise_radius`. Majorities become centroids, and rows
    farther from their centroid than one copy's noise would put them become singletons.
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
        # A single noisy copy lies about p*m bits from the value it came from.
        single_radius = noise_radius(bits, flip_probability / 2)
        labels_of_group, peeled = _peel_dense_clusters(distinct, group_sizes, radius, single_radius, generator)
        next_label = len(peeled)
        rest = np.flatnonzero(labels_of_group < 0)
        rest_centroids = np.zeros((0, distinct.shape[1]), dtype=distinct.dtype)
        if len(rest):
            rest_words = distinct[rest]
            rest_sizes = group_sizes[rest]
            left, right = candidate_pairs(rest_words, radius, generator)
            close = hamming_pairs(rest_words, left, right) <= radius
            left, right = left[close], right[close]
            density = rest_sizes.astype(np.float64).copy()
            np.add.at(density, left, rest_sizes[right])
            np.add.at(density, right, rest_sizes[left])
            both_left = np.concatenate([left, right])
            both_right = np.concatenate([right, left])
            order = np.argsort(both_left, kind="stable")
            both_left, both_right = both_left[order], both_right[order]
            starts = np.searchsorted(both_left, np.arange(len(rest) + 1))
            rest_labels = np.full(len(rest), -1, dtype=np.int64)
            label = 0
            for leader in np.argsort(-density, kind="stable"):
                if rest_labels[leader] >= 0:
                    continue
                rest_labels[leader] = label
                neighbours = both_right[starts[leader] : starts[leader + 1]]
                rest_labels[neighbours[rest_labels[neighbours] < 0]] = label
                label += 1
            rest_centroids = majority_centroids(rest_words, rest_labels, label, rest_sizes.astype(np.float64))
            distance = popcount(rest_words ^ rest_centroids[rest_labels]).sum(axis=1)
            strays = np.flatnonzero(distance > single_radius)
            if len(strays):
                rest_labels[strays] = label + np.arange(len(strays))
                rest_centroids = np.concatenate([rest_centroids, rest_words[strays]])
            labels_of_group[rest] = next_label + rest_labels
        peeled_array = np.stack(peeled) if peeled else np.zeros((0, distinct.shape[1]), dtype=distinct.dtype)
        centroids = np.concatenate([peeled_array, rest_centroids])
    labels = labels_of_group[group_of_row]
    counts = np.bincount(labels, minlength=len(centroids)).astype(np.int64)
    # Renumber clusters largest first.
    order = np.argsort(-counts, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return EncodingClusters(
        labels=rank[labels], centroids=np.ascontiguousarray(centroids[order]), counts=counts[order], noise_radius=radius
    )
