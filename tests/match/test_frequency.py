from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dalink.match.compare import ComparisonSpec, estimate_floor
from dalink.match.frequency import TermFrequencies, top_name_agreement
from dalink.match.load import BlockingKeyColumn, load_packages


class _Records:
    """Just enough of a RecordSet for :meth:`TermFrequencies.from_records`."""

    def __init__(self, values: list[int | None]) -> None:
        present = np.array([value is not None for value in values])
        column = np.array([value or 0 for value in values], dtype=np.int64)
        self.blocking_keys = {"names": BlockingKeyColumn("names", column, present, ("given_name", "family_name"))}


@settings(max_examples=50, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(0, 5)), min_size=2, max_size=60))
def test_adjustment_favours_rare_values_and_averages_out(values: list[int | None]) -> None:
    frequencies = TermFrequencies.from_records(_Records(values), "names")  # type: ignore[arg-type]
    left, right = np.triu_indices(len(values), k=1)
    agree = frequencies.agrees(left, right)
    expected = np.array([values[a] is not None and values[a] == values[b] for a, b in zip(left, right)])
    assert np.array_equal(agree, expected)
    adjustment = frequencies.adjustment_bits(left, right, np.ones(len(left), dtype=bool))
    assert (adjustment[~agree] == 0).all()
    if agree.any():
        share = frequencies.shares[left[agree]]
        # rarer value → larger adjustment
        order = np.argsort(share)
        assert (np.diff(adjustment[agree][order]) <= 1e-12).all()
        # the average is the chance that two random records share a value: Σ share²
        present = [value for value in values if value is not None]
        counts = np.unique(present, return_counts=True)[1] / len(present)
        assert np.isclose(frequencies.average_share, (counts**2).sum())
    assert (frequencies.adjustment_bits(left, right, np.zeros(len(left), dtype=bool)) == 0).all()


def test_top_name_agreement_needs_both_names() -> None:
    given = ComparisonSpec(field="given_name", floor=0.2, ceiling=0.9)
    family = ComparisonSpec(field="family_name", floor=0.2, ceiling=0.9)
    top = 1 + len(given.cuts)
    levels = np.array([[top, top], [top, top - 1], [0, top]], dtype=np.int8)
    assert top_name_agreement(levels, [given, family]).tolist() == [True, False, False]
    assert not top_name_agreement(levels[:, :1], [given]).any()


def test_frequencies_from_packages(partnership: list[Path]) -> None:
    records = load_packages(partnership)
    frequencies = TermFrequencies.from_records(records, "names")
    present = records.blocking_keys["names"].present
    assert np.all(frequencies.shares[present] > 0) and np.all(frequencies.shares[~present] == 0)
    assert 0 < frequencies.average_share < 1


def test_floor_ignores_random_pairs_with_the_same_value() -> None:
    """A field with few values (sex): most random pairs agree, yet the floor is the 'differ' level."""
    generator = np.random.default_rng(0)
    same = np.clip(generator.normal(0.7, 0.04, 6000), 0, 1)  # identical values, after bit flipping
    different = np.clip(generator.normal(0.12, 0.05, 4000), 0, 1)
    dice = np.concatenate([same, different])
    assert abs(estimate_floor(dice, ceiling=0.7) - 0.12) < 0.03
    names = np.clip(generator.normal(0.2, 0.08, 10_000), 0, 1)  # almost all random names differ
    assert abs(estimate_floor(names, ceiling=0.9) - np.median(names)) < 0.01
