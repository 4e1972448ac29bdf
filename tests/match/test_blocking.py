from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dalink.match.blocking import (
    Blocker,
    band_keys,
    band_load,
    keyed_passes,
    lsh_passes,
    minhash_bins,
    pairs_within_blocks,
    sorted_blocks,
)
from dalink.match.load import load_packages


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 6), min_size=0, max_size=40))
def test_pairs_within_blocks_is_every_pair_sharing_a_key(keys: list[int]) -> None:
    values = np.array(keys, dtype=np.int64)
    order, starts, sizes = sorted_blocks(values, np.ones(len(values), dtype=bool))
    left, right = pairs_within_blocks(order, starts, sizes)
    found = set(zip(left.tolist(), right.tolist()))
    expected = {(i, j) for i in range(len(keys)) for j in range(i + 1, len(keys)) if keys[i] == keys[j]}
    assert found == expected and len(found) == len(left)


def test_union_yields_each_pair_once_with_statistics(partnership: list[Path]) -> None:
    records = load_packages(partnership)
    blocker = Blocker(records, keyed_passes(records) + lsh_passes(records))
    chunks = list(blocker.chunks(chunk_pairs=5000))
    left = np.concatenate([chunk.left for chunk in chunks]).astype(np.int64)
    right = np.concatenate([chunk.right for chunk in chunks]).astype(np.int64)
    assert (left < right).all()
    codes = left * len(records) + right
    assert len(np.unique(codes)) == len(codes)
    assert blocker.total_candidates() == len(codes)
    for statistics in blocker.statistics:
        assert 0.0 <= statistics.reduction_ratio <= 1.0
        assert statistics.new_pairs <= statistics.pairs_in_pass
    assert any(statistics.kind == "lsh" for statistics in blocker.statistics)


def test_band_load_counts_pairs_and_skipped_records() -> None:
    values = np.array([1, 1, 1, 2, 2, 3, 4, 4, 4, 4, 4], dtype=np.int64)
    present = np.ones(len(values), dtype=bool)
    present[0] = False
    load = band_load(values, present, max_block_size=3)
    assert load.pairs == 1 + 1  # the two 1s left, the two 2s; the five 4s are above the cap
    assert load.skipped_records == 5


def test_lsh_bands_do_not_skip_most_records(partnership: list[Path]) -> None:
    """Short bands put many records into groups above the cap and look cheap; rows go up until few are lost."""
    records = load_packages(partnership)
    minima, _ = minhash_bins(records, fields=("date_of_birth", "postcode"), random_state=1)
    present = records.filters["date_of_birth"].present & records.filters["postcode"].present
    assert band_load(band_keys(minima, 1, 0), present, 4).skipped_records > 0.01 * present.sum()  # the trap
    passes = lsh_passes(records, field_groups=[("date_of_birth", "postcode")], max_block_size=4, pairs_per_record=50.0)
    first_band = passes[0]
    assert first_band.name.endswith("_0")
    lost = first_band.present.sum() - first_band.processed.sum()
    assert lost <= 0.01 * first_band.present.sum()


def test_single_field_lsh_is_skipped_when_equal_values_exceed_the_budget(partnership: list[Path]) -> None:
    """A single-field group is a cheap fallback or nothing: never the quadratic cost of a common value."""
    records = load_packages(partnership)
    assert lsh_passes(records, field_groups=[("postcode",)], pairs_per_record=1e-6) == []
    passes = lsh_passes(records, field_groups=[("postcode",)], pairs_per_record=50.0)
    assert passes and all(blocking_pass.fields == ("postcode",) for blocking_pass in passes)
