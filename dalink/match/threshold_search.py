"""Thresholded Dice search: every pair of two filter sets with Dice ≥ t, as anonlink's contract.

anonlink's ``dice_coefficient`` finds, for two sets of CLKs, the pairs whose Dice reaches a
threshold, sorted by decreasing score; :func:`dice_above_threshold` gives the same pairs with
bit-identical float64 scores (the tests and ``benchmarks/bench_link_speed.py`` check it against
anonlink). It suits exhaustive linkage of small files and candidate generation without blocking;
the linker's EM needs every score of the blocked pairs and uses :mod:`dalink.match.compare`.

Why it is fast: only pairs with Dice ≥ t are wanted, so a pair whose popcounts alone rule it
out is never compared - Dice ≤ 2·min(|a|, |b|) / (|a| + |b|). Both sides are sorted by
popcount, so the pairs left for a row are one contiguous range of the other side. The same
bound, applied to the second half of the words once the first half is counted, drops most
unrelated pairs halfway. Every cut compares integer bit counts with a table made from the
score's own float64 expression (:func:`minimum_shared_bits`), so the pairs kept are exactly
those the plain definition keeps: :func:`dice_above_threshold_reference` is that definition in
numpy, and the fallback without numba. The compiled search releases the GIL and runs on
``threads`` threads (default: every CPU this process may use); the result never depends on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dalink.match.kernels import AVAILABLE, Backend, run_in_pieces, use_compiled
from dalink.match.load import popcount, popcount_rows

if AVAILABLE:  # pragma: no branch - which branch runs depends on the environment
    from numba import njit

    from dalink.match.kernels import popcount64

__all__ = ["ScoredPairs", "dice_above_threshold", "dice_above_threshold_reference", "minimum_shared_bits"]

REFERENCE_CHUNK = 262_144
"""Pairs per chunk in the numpy reference (bounds its temporaries to a few tens of megabytes)."""


@dataclass(frozen=True)
class ScoredPairs:
    """Pairs ``(first_index[i], second_index[i])`` with Dice ``scores[i]``.

    Sorted by decreasing score, then first index, then second index (anonlink's order).
    """

    scores: np.ndarray
    first_index: np.ndarray
    second_index: np.ndarray

    def __len__(self) -> int:
        return len(self.scores)


def _sorted_pairs(scores: np.ndarray, first_index: np.ndarray, second_index: np.ndarray) -> ScoredPairs:
    order = np.lexsort((second_index, first_index, -scores))
    return ScoredPairs(scores[order], first_index[order].astype(np.int64), second_index[order].astype(np.int64))


def _checked_inputs(first: np.ndarray, second: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Both sides as C-contiguous ``uint64`` matrices of one width; the threshold in (0, 1]."""
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    first, second = np.ascontiguousarray(first), np.ascontiguousarray(second)
    if first.dtype != np.uint64 or second.dtype != np.uint64 or first.ndim != 2 or second.ndim != 2:
        raise ValueError("filters must be 2-D arrays of packed uint64 words, one row per record")
    if first.shape[1] != second.shape[1]:
        raise ValueError(f"filters differ in length: {first.shape[1] * 64} and {second.shape[1] * 64} bits")
    return first, second


def dice_above_threshold_reference(first: np.ndarray, second: np.ndarray, threshold: float) -> ScoredPairs:
    """Every pair of rows of ``first`` and ``second`` with Dice ≥ ``threshold``: the numpy reference.

    The readable definition the compiled search is tested against (and the fallback without
    numba): Dice of every pair, ``2·shared / (|a| + |b|)`` in float64, kept when ≥ ``threshold``.
    """
    first, second = _checked_inputs(first, second, threshold)
    first_counts = popcount_rows(first).astype(np.int64)
    second_counts = popcount_rows(second).astype(np.int64)
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    rows_per_chunk = max(1, REFERENCE_CHUNK // max(1, len(second)))
    for start in range(0, len(first), rows_per_chunk):
        block = first[start : start + rows_per_chunk]
        shared = popcount(block[:, None, :] & second[None, :, :]).sum(axis=2, dtype=np.int64)
        total = first_counts[start : start + rows_per_chunk, None] + second_counts[None, :]
        dice = np.divide(2.0 * shared, total, out=np.zeros(total.shape), where=total > 0)
        rows, columns = np.nonzero(dice >= threshold)
        found.append((dice[rows, columns], rows + start, columns))
    if not found:
        return _sorted_pairs(np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64))
    return _sorted_pairs(*(np.concatenate(parts) for parts in zip(*found)))


def minimum_shared_bits(bits: int, threshold: float) -> np.ndarray:
    """``need[t]``: the fewest shared bits for which a pair with ``|a| + |b| = t`` reaches ``threshold``.

    Found with the very float64 expression the score uses (``2.0 * shared / total >= threshold``),
    so testing ``shared >= need[total]`` keeps exactly the pairs the reference keeps, without a
    division per pair. ``bits + 1`` (unreachable) where no count suffices, and for total 0.
    """
    totals = np.arange(2 * bits + 1, dtype=np.int64)
    need = np.maximum(np.floor(threshold * totals / 2.0).astype(np.int64) - 1, 0)
    safe_totals = np.maximum(totals, 1)
    for _ in range(4):  # the float answer is within a step or two of the real-number one
        need = np.where(2.0 * need / safe_totals >= threshold, need, need + 1)
    assert np.all(2.0 * need / safe_totals >= threshold)
    assert np.all((need == 0) | (2.0 * (need - 1) / safe_totals < threshold))
    need[totals == 0] = bits + 1
    return np.minimum(need, bits + 1)


def _candidate_ranges(first_counts: np.ndarray, second_sorted_counts: np.ndarray, need: np.ndarray) -> np.ndarray:
    """Per first-side row, the range of the popcount-sorted second side that can reach the threshold.

    A pair can only qualify if ``min(|a|, |b|) >= need[|a| + |b|]``; the range spans the
    smallest to the largest such ``|b|``, a superset the kernel then tests pair by pair.
    Worked out once per distinct popcount on each side, not per pair.
    """
    first_values, inverse = np.unique(first_counts, return_inverse=True)
    second_values = np.unique(second_sorted_counts)
    if len(second_values) == 0:
        return np.zeros((len(first_counts), 2), dtype=np.int64)
    possible = (
        np.minimum(first_values[:, None], second_values[None, :])
        >= need[first_values[:, None] + second_values[None, :]]
    )
    lowest = second_values[np.argmax(possible, axis=1)]
    highest = second_values[len(second_values) - 1 - np.argmax(possible[:, ::-1], axis=1)]
    low = np.searchsorted(second_sorted_counts, lowest, side="left")
    high = np.where(possible.any(axis=1), np.searchsorted(second_sorted_counts, highest, side="right"), low)
    return np.stack([low, high], axis=1)[inverse].astype(np.int64)


def dice_above_threshold(
    first: np.ndarray,
    second: np.ndarray,
    threshold: float,
    *,
    backend: Backend = "auto",
    threads: int | None = None,
) -> ScoredPairs:
    """Every pair of rows of ``first`` and ``second`` (packed ``uint64`` filters) with Dice ≥ ``threshold``.

    Same pairs, scores (float64) and order as :func:`dice_above_threshold_reference`. The
    compiled path skips pairs whose popcounts rule them out and runs on ``threads`` threads.
    """
    first, second = _checked_inputs(first, second, threshold)
    if not use_compiled(backend):
        return dice_above_threshold_reference(first, second, threshold)
    bits = first.shape[1] * 64
    need = minimum_shared_bits(bits, threshold)
    first_counts = popcount_rows(first).astype(np.int64)
    second_counts = popcount_rows(second).astype(np.int64)
    first_order = np.argsort(first_counts, kind="stable")
    second_order = np.argsort(second_counts, kind="stable")
    first_sorted = np.ascontiguousarray(first[first_order])
    second_sorted = np.ascontiguousarray(second[second_order])
    first_sorted_counts = first_counts[first_order]
    second_sorted_counts = second_counts[second_order]
    half = first.shape[1] // 2
    first_tails = popcount_rows(first_sorted[:, half:]).astype(np.int64)
    second_tails = popcount_rows(second_sorted[:, half:]).astype(np.int64)
    ranges = _candidate_ranges(first_sorted_counts, second_sorted_counts, need)
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def search(start: int, stop: int) -> None:
        capacity = 16_384  # doubled whenever full (also when the next four rows might not fit)
        while start < stop:
            scores = np.empty(capacity)
            rows = np.empty(capacity, dtype=np.int64)
            columns = np.empty(capacity, dtype=np.int64)
            count, start = _dice_above_threshold_rows(
                first_sorted, first_sorted_counts, first_tails, second_sorted, second_sorted_counts, second_tails,
                ranges, need, start, stop, scores, rows, columns,
            )  # fmt: skip
            found.append((scores[:count], rows[:count], columns[:count]))  # list.append is thread-safe
            capacity *= 2

    evaluated = int((ranges[:, 1] - ranges[:, 0]).sum())
    run_in_pieces(search, len(first), evaluated, threads)
    if not found:
        return _sorted_pairs(np.zeros(0), np.zeros(0, np.int64), np.zeros(0, np.int64))
    scores, rows, columns = (np.concatenate(parts) for parts in zip(*found))
    return _sorted_pairs(scores, first_order[rows], second_order[columns])


if AVAILABLE:

    @njit(inline="always")
    def _keep(scores, rows, columns, found, shared, total, row, column):  # type: ignore[no-untyped-def]
        scores[found] = 2.0 * shared / total
        rows[found] = row
        columns[found] = column
        return found + 1

    @njit(nogil=True, cache=True, boundscheck=False)
    def _dice_above_threshold_rows(  # type: ignore[no-untyped-def]
        first, first_counts, first_tails, second, second_counts, second_tails,
        ranges, need, start, stop, scores, rows, columns,
    ):  # fmt: skip
        """Pairs with ``shared >= need[|a| + |b|]`` for first-side rows ``start <= row < stop``.

        Four rows at a time: both sides are sorted by popcount, so neighbouring rows have
        nearly the same candidate range, and each word of the other side, loaded once, is
        ANDed with all four (a short last group repeats its last row and reports it once).
        Halfway through the words a pair is dropped when even sharing every remaining bit
        could not reach the threshold (``*_tails``: set bits in the second half of each row):
        most pairs are unrelated and end there. Writes into ``scores`` / ``rows`` / ``columns``;
        returns how many pairs it wrote and the row to resume from when they are full.
        """
        width = first.shape[1]
        half = width // 2
        capacity = scores.shape[0]
        found = 0
        row0 = start
        while row0 < stop:
            row1, row2, row3 = min(row0 + 1, stop - 1), min(row0 + 2, stop - 1), min(row0 + 3, stop - 1)
            low = min(min(ranges[row0, 0], ranges[row1, 0]), min(ranges[row2, 0], ranges[row3, 0]))
            high = max(max(ranges[row0, 1], ranges[row1, 1]), max(ranges[row2, 1], ranges[row3, 1]))
            if found + 4 * (high - low) > capacity:
                return found, row0
            count0, count1 = first_counts[row0], first_counts[row1]
            count2, count3 = first_counts[row2], first_counts[row3]
            tail0, tail1, tail2, tail3 = first_tails[row0], first_tails[row1], first_tails[row2], first_tails[row3]
            for column in range(low, high):
                shared0 = shared1 = shared2 = shared3 = 0
                for word in range(half):
                    value = second[column, word]
                    shared0 += popcount64(first[row0, word] & value)
                    shared1 += popcount64(first[row1, word] & value)
                    shared2 += popcount64(first[row2, word] & value)
                    shared3 += popcount64(first[row3, word] & value)
                count, tail = second_counts[column], second_tails[column]
                need0, need1 = need[count0 + count], need[count1 + count]
                need2, need3 = need[count2 + count], need[count3 + count]
                if (
                    shared0 + min(tail0, tail) < need0
                    and shared1 + min(tail1, tail) < need1
                    and shared2 + min(tail2, tail) < need2
                    and shared3 + min(tail3, tail) < need3
                ):
                    continue
                for word in range(half, width):
                    value = second[column, word]
                    shared0 += popcount64(first[row0, word] & value)
                    shared1 += popcount64(first[row1, word] & value)
                    shared2 += popcount64(first[row2, word] & value)
                    shared3 += popcount64(first[row3, word] & value)
                if shared0 >= need0:
                    found = _keep(scores, rows, columns, found, shared0, count0 + count, row0, column)
                if row1 > row0 and shared1 >= need1:
                    found = _keep(scores, rows, columns, found, shared1, count1 + count, row1, column)
                if row2 > row1 and shared2 >= need2:
                    found = _keep(scores, rows, columns, found, shared2, count2 + count, row2, column)
                if row3 > row2 and shared3 >= need3:
                    found = _keep(scores, rows, columns, found, shared3, count3 + count, row3, column)
            row0 += 4
        return found, stop
