from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from dalink.match.compare import (
    DIFFERENT_LEVEL,
    MISSING_LEVEL,
    ComparisonSpec,
    dice_all_to_all,
    dice_pairs,
    dice_reference,
    estimate_ceiling,
)
from dalink.match.load import FieldFilters, popcount_rows


def _filters(matrix: np.ndarray, present: np.ndarray | None = None) -> FieldFilters:
    present = np.ones(len(matrix), dtype=bool) if present is None else present
    words = np.ascontiguousarray(matrix.astype(np.uint64))
    words[~present] = 0
    return FieldFilters("field", words, present, popcount_rows(words))


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 4).flatmap(
        lambda width: st.lists(
            st.lists(st.integers(0, 2**64 - 1), min_size=width, max_size=width), min_size=2, max_size=25
        )
    ),
    st.integers(0, 2**32),
)
def test_kernel_equals_reference(rows: list[list[int]], seed: int) -> None:
    filters = _filters(np.array(rows, dtype=np.uint64))
    generator = np.random.default_rng(seed)
    left = generator.integers(0, len(rows), size=40)
    right = generator.integers(0, len(rows), size=40)
    fast = dice_pairs(filters, left, right)
    for index in range(len(left)):
        expected = dice_reference(filters.words[left[index]].tobytes(), filters.words[right[index]].tobytes())
        assert abs(fast[index] - expected) < 1e-6


def test_all_to_all_equals_pairs() -> None:
    generator = np.random.default_rng(3)
    first = generator.integers(0, 2**63, size=(7, 16), dtype=np.uint64)
    second = generator.integers(0, 2**63, size=(5, 16), dtype=np.uint64)
    matrix = dice_all_to_all(first, second)
    for row in range(7):
        for column in range(5):
            assert abs(matrix[row, column] - dice_reference(first[row].tobytes(), second[column].tobytes())) < 1e-6


def test_reference_known_values() -> None:
    assert dice_reference(b"\x0f", b"\x0f") == 1.0
    assert dice_reference(b"\x0f", b"\xf0") == 0.0
    assert dice_reference(b"\x03", b"\x01") == 2 / 3
    assert dice_reference(b"\x00", b"\x00") == 0.0


def test_levels_give_missing_its_own_level() -> None:
    spec = ComparisonSpec(field="given_name", floor=0.2, ceiling=0.9)
    dice = np.array([0.9, 0.75, 0.3, 0.9], dtype=np.float32)
    present = np.array([True, True, True, False])
    levels = spec.levels(dice, present)
    assert levels[3] == MISSING_LEVEL
    assert levels[2] == DIFFERENT_LEVEL
    assert levels[0] == spec.level_count - 1
    assert levels[0] > levels[1] > levels[2]


def test_ceiling_follows_the_hardening() -> None:
    generator = np.random.default_rng(0)
    for peak in (0.78, 0.88, 0.97):
        unrelated = generator.uniform(0.0, 0.5, 3000)
        identical = np.clip(generator.normal(peak, 0.01, 2000), 0, 1)
        assert abs(estimate_ceiling(np.concatenate([unrelated, identical]), 0.2) - peak) < 0.02


def test_a_swap_counts_once(tmp_path: Path) -> None:
    """Swapped names: the family comparison takes the swap level, the given comparison is neutral."""
    from match_helpers import TEST_SECRET, encode_partnership, synthetic_partnership

    from dalink.keys import PartnershipKey
    from dalink.match.blocking import random_pairs
    from dalink.match.compare import build_comparisons, comparison_levels
    from dalink.match.load import load_packages

    extracts = synthetic_partnership(people=60, seed=5)
    police = extracts["police"]
    swapped_rows = police.head(3).copy()
    swapped_rows["given_name"], swapped_rows["family_name"] = police.head(3)["family_name"], police.head(3)["given_name"]
    swapped_rows["record_id"] = swapped_rows["record_id"] + "-swapped"
    extracts["marac"] = pd.concat([extracts["marac"], swapped_rows], ignore_index=True)
    records = load_packages(encode_partnership(tmp_path, extracts, PartnershipKey(TEST_SECRET)))
    left, right = random_pairs(len(records), 5_000, np.random.default_rng(0))
    comparisons = build_comparisons(records, left, right, left, right)
    assert [spec.field for spec in comparisons if spec.swap_key] == ["family_name"]
    given = [spec.field for spec in comparisons].index("given_name")
    family = [spec.field for spec in comparisons].index("family_name")
    ids = list(records.record_ids)
    first = np.array([ids.index(record) for record in police.head(3)["record_id"]])
    second = np.array([ids.index(record) for record in swapped_rows["record_id"]])
    levels = comparison_levels(records, comparisons, first, second)
    assert (levels[:, family] == comparisons[family].labels.index("swapped names")).all()
    assert (levels[:, given] == MISSING_LEVEL).all()
    # the same records compared with themselves are not swaps
    same = comparison_levels(records, comparisons, first, first)
    assert (same[:, given] > DIFFERENT_LEVEL + 1).all()
