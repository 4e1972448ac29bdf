"""The thresholded Dice search: compiled equals the numpy reference, the definition and anonlink."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dalink.match import kernels
from dalink.match.threshold_search import (
    ScoredPairs,
    dice_above_threshold,
    dice_above_threshold_reference,
    minimum_shared_bits,
)
from dalink.match.compare import dice_all_to_all, dice_pairs, dice_reference
from dalink.match.load import FieldFilters, popcount_rows

needs_numba = pytest.mark.skipif(not kernels.AVAILABLE, reason="numba (the 'fast' extra) is not installed")


def _filters(words: np.ndarray) -> FieldFilters:
    words = np.ascontiguousarray(words)
    return FieldFilters("field", words, np.ones(len(words), dtype=bool), popcount_rows(words))


def _planted(seed: int, rows: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Random filters of varied density, the second set holding noisy copies of some first rows."""
    generator = np.random.default_rng(seed)
    bits = width * 64

    def random_filters(count: int) -> np.ndarray:
        density = generator.uniform(0.05, 0.6, size=(count, 1))
        return np.packbits(generator.random((count, bits)) < density, axis=1, bitorder="little").view(np.uint64)

    first, second = random_filters(rows), random_filters(rows + 3)
    copies = generator.choice(len(second), size=len(second) // 2, replace=False)
    second[copies] = first[generator.integers(0, rows, size=len(copies))]
    flips = generator.random(second[copies].shape + (64,)) < generator.uniform(0, 0.08)
    second[copies] ^= np.packbits(flips, axis=-1, bitorder="little").view(np.uint64).reshape(len(copies), width)
    first[0] = 0  # an empty filter never reaches a positive threshold
    return first, second


def _assert_same(found: ScoredPairs, expected: ScoredPairs) -> None:
    assert np.array_equal(found.scores, expected.scores)
    assert np.array_equal(found.first_index, expected.first_index)
    assert np.array_equal(found.second_index, expected.second_index)


threshold_values = st.sampled_from([0.3, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0]) | st.floats(0.01, 1.0)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32), st.integers(1, 40), st.sampled_from([1, 2, 3, 8, 16]), threshold_values)
def test_threshold_reference_is_the_definition(seed: int, rows: int, width: int, threshold: float) -> None:
    first, second = _planted(seed, rows, width)
    found = dice_above_threshold_reference(first, second, threshold)
    expected = sorted(
        (-score, row, column)
        for row in range(len(first))
        for column in range(len(second))
        if (score := dice_reference(first[row].tobytes(), second[column].tobytes())) >= threshold
    )
    listed = zip(found.scores, found.first_index, found.second_index)
    assert [(-score, row, column) for score, row, column in listed] == expected


@needs_numba
@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 2**32), st.integers(1, 60), st.sampled_from([1, 2, 3, 8, 16]), threshold_values, st.sampled_from([1, 2, 3])
)
def test_compiled_threshold_search_equals_reference(
    seed: int, rows: int, width: int, threshold: float, threads: int
) -> None:
    first, second = _planted(seed, rows, width)
    expected = dice_above_threshold_reference(first, second, threshold)
    _assert_same(dice_above_threshold(first, second, threshold, backend="compiled", threads=threads), expected)
    swapped = dice_above_threshold_reference(second, first, threshold)
    _assert_same(dice_above_threshold(second, first, threshold, backend="compiled", threads=threads), swapped)


@needs_numba
def test_threaded_kernels_give_the_single_thread_results(monkeypatch: pytest.MonkeyPatch) -> None:
    """Threads split the work, never change it; the output buffers are regrown when matches overflow them."""
    monkeypatch.setattr(kernels, "PARALLEL_MINIMUM", 0)
    first, second = _planted(7, 300, 16)
    second[:] = first[np.arange(len(second)) % len(first)]  # every row matches: buffers must grow
    expected = dice_above_threshold_reference(first, second, 0.2)
    for threads in (1, 2, 5):
        _assert_same(dice_above_threshold(first, second, 0.2, backend="compiled", threads=threads), expected)
    filters = _filters(np.vstack([first, second]))
    generator = np.random.default_rng(3)
    left = generator.integers(0, len(filters.words), size=5_000)
    right = generator.integers(0, len(filters.words), size=5_000)
    single = np.empty(len(left), dtype=np.float32)
    threaded = np.empty(len(left), dtype=np.float32)
    kernels.dice_pairs_compiled(filters.words, filters.popcounts, left, right, single, threads=1)
    kernels.dice_pairs_compiled(filters.words, filters.popcounts, left, right, threaded, threads=2)
    assert np.array_equal(single, threaded)
    assert np.array_equal(single, dice_pairs(filters, left, right, backend="numpy"))
    assert np.array_equal(dice_all_to_all(first, second, backend="compiled"), dice_all_to_all(first, second, backend="numpy"))


@needs_numba
def test_threshold_search_matches_anonlink() -> None:
    """Same pairs and bit-identical scores as anonlink's accelerated Dice (ties may be listed in either order)."""
    similarities = pytest.importorskip("anonlink.similarities")
    bitarray = pytest.importorskip("bitarray").bitarray
    first, second = _planted(11, 200, 16)

    def as_bitarrays(words: np.ndarray) -> list:
        arrays = []
        for row in words:
            array = bitarray(endian="little")
            array.frombytes(row.tobytes())
            arrays.append(array)
        return arrays

    for threshold in (0.5, 0.8, 0.9):
        scores, (rows, columns) = similarities.dice_coefficient_accelerated(
            (as_bitarrays(first), as_bitarrays(second)), threshold=threshold
        )
        order = np.lexsort((np.asarray(columns), np.asarray(rows), -np.asarray(scores)))
        theirs = ScoredPairs(
            np.asarray(scores)[order], np.asarray(rows, dtype=np.int64)[order], np.asarray(columns, dtype=np.int64)[order]
        )
        assert len(theirs) > 0
        _assert_same(dice_above_threshold(first, second, threshold, backend="compiled"), theirs)


@settings(max_examples=50, deadline=None)
@given(st.floats(0.001, 1.0), st.sampled_from([64, 128, 1024]))
def test_minimum_shared_bits_is_the_exact_cut(threshold: float, bits: int) -> None:
    need = minimum_shared_bits(bits, threshold)
    for total in range(1, 2 * bits + 1, 7):
        reaches = [shared for shared in range(bits + 1) if 2.0 * shared / total >= threshold]
        assert need[total] == (reaches[0] if reaches else bits + 1)
    assert need[0] == bits + 1


def test_threshold_search_without_numba_uses_the_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kernels, "AVAILABLE", False)
    first, second = _planted(5, 30, 2)
    expected = dice_above_threshold_reference(first, second, 0.6)
    _assert_same(dice_above_threshold(first, second, 0.6), expected)
    with pytest.raises(ImportError, match="dalink\\[fast\\]"):
        dice_above_threshold(first, second, 0.6, backend="compiled")


@pytest.mark.parametrize("backend", ["numpy", pytest.param("compiled", marks=needs_numba)])
def test_threshold_search_edge_cases(backend: kernels.Backend) -> None:
    empty = np.zeros((0, 4), dtype=np.uint64)
    some = _planted(2, 5, 4)[0]
    assert len(dice_above_threshold(empty, some, 0.5, backend=backend)) == 0
    assert len(dice_above_threshold(some, empty, 0.5, backend=backend)) == 0
    zeros = np.zeros((3, 4), np.uint64)
    assert len(dice_above_threshold(zeros, zeros[:2], 0.1, backend=backend)) == 0
    with pytest.raises(ValueError, match="threshold"):
        dice_above_threshold(some, some, 0.0, backend=backend)
    with pytest.raises(ValueError, match="differ in length"):
        dice_above_threshold(some, some[:, :2], 0.5, backend=backend)
    with pytest.raises(ValueError, match="uint64"):
        dice_above_threshold(some.astype(np.int64), some, 0.5, backend=backend)
