"""The compiled kernels (numba, optional) give exactly what the numpy path and the reference give."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dalink.match import kernels
from dalink.match.blocking import minhash_bins
from dalink.match.compare import dice_all_to_all, dice_pairs, dice_reference, identical_pairs
from dalink.match.load import FieldFilters, load_packages, popcount_rows

needs_numba = pytest.mark.skipif(not kernels.AVAILABLE, reason="numba (the 'fast' extra) is not installed")


def _filters(words: np.ndarray, present: np.ndarray) -> FieldFilters:
    words = np.ascontiguousarray(words.astype(np.uint64))
    words[~present] = 0
    return FieldFilters("field", words, present, popcount_rows(words))


word_rows = st.integers(1, 9).flatmap(
    lambda width: st.lists(
        st.lists(st.integers(0, 2**64 - 1), min_size=width, max_size=width), min_size=2, max_size=30
    )
)


@needs_numba
@settings(max_examples=60, deadline=None)
@given(word_rows, st.integers(0, 2**32))
def test_compiled_dice_equals_numpy_and_reference(rows: list[list[int]], seed: int) -> None:
    generator = np.random.default_rng(seed)
    present = generator.random(len(rows)) < 0.85
    filters = _filters(np.array(rows, dtype=np.uint64), present)
    left = generator.integers(0, len(rows), size=50)
    right = generator.integers(0, len(rows), size=50).astype(np.int32)
    compiled = dice_pairs(filters, left, right, backend="compiled")
    vectorised = dice_pairs(filters, left, right, backend="numpy")
    assert np.array_equal(compiled, vectorised)
    for index in range(len(left)):
        expected = dice_reference(filters.words[left[index]].tobytes(), filters.words[right[index]].tobytes())
        assert compiled[index] == pytest.approx(expected, abs=1e-6)
    same = identical_pairs(filters, left, right, backend="compiled")
    assert np.array_equal(same, identical_pairs(filters, left, right, backend="numpy"))
    assert not same[~(present[left] & present[right])].any()


@needs_numba
@settings(max_examples=30, deadline=None)
@given(word_rows, word_rows)
def test_compiled_all_to_all_equals_numpy(first: list[list[int]], second: list[list[int]]) -> None:
    width = min(len(first[0]), len(second[0]))
    first_words = np.array([row[:width] for row in first], dtype=np.uint64)
    second_words = np.array([row[:width] for row in second], dtype=np.uint64)
    compiled = dice_all_to_all(first_words, second_words, backend="compiled")
    assert np.array_equal(compiled, dice_all_to_all(first_words, second_words, backend="numpy"))


@needs_numba
def test_compiled_minhash_equals_numpy(partnership: list[Path]) -> None:
    records = load_packages(partnership)
    for fields in (("given_name", "family_name", "date_of_birth"), ("date_of_birth", "postcode")):
        compiled = minhash_bins(records, fields=fields, backend="compiled", chunk=97)
        vectorised = minhash_bins(records, fields=fields, backend="numpy", chunk=101)
        assert np.array_equal(compiled[0], vectorised[0]) and np.array_equal(compiled[1], vectorised[1])


def test_empty_input_gives_empty_output() -> None:
    filters = _filters(np.zeros((3, 2), dtype=np.uint64), np.ones(3, dtype=bool))
    empty = np.zeros(0, dtype=np.int64)
    assert len(dice_pairs(filters, empty, empty)) == 0
    assert dice_pairs(filters, np.array([0]), np.array([1]))[0] == 0.0  # two empty filters


def test_compiled_backend_without_numba_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kernels, "AVAILABLE", False)
    filters = _filters(np.ones((2, 1), dtype=np.uint64), np.ones(2, dtype=bool))
    with pytest.raises(ImportError, match="dalink\\[fast\\]"):
        dice_pairs(filters, np.array([0]), np.array([1]), backend="compiled")
    assert dice_pairs(filters, np.array([0]), np.array([1]))[0] == 1.0  # auto falls back to numpy
