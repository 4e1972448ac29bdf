"""The model's probability arithmetic, apart from any fitted model."""

from __future__ import annotations

import numpy as np
import pytest

from hypothesis import given, settings
from hypothesis import strategies as st

from dalink.match.compare import ComparisonSpec
from dalink.match.probability import expected_f1_threshold, initial_m, monotone_m


def test_expected_f1_threshold_prefers_the_gap() -> None:
    probability = np.array([0.999, 0.98, 0.6, 0.02, 0.001])
    counts = np.array([100, 50, 2, 30, 10_000])
    assert expected_f1_threshold(probability, counts) == pytest.approx(0.6)
    assert expected_f1_threshold(np.zeros(0), np.zeros(0, dtype=np.int64)) == 0.5


@settings(max_examples=200, deadline=None)
@given(
    totals=st.lists(st.floats(0.001, 1000), min_size=6, max_size=6),
    u=st.lists(st.floats(0.001, 1.0), min_size=6, max_size=6),
)
def test_monotone_m_is_the_constrained_maximum(totals: list[float], u: list[float]) -> None:
    """m/u rises along the scale, m sums to one, and no other monotone m has a higher likelihood."""
    spec = ComparisonSpec(field="family_name", floor=0.2, ceiling=0.9, cuts=(0.5, 0.8, 0.95), swap_key="names")
    ordered = spec.ordered_levels
    assert ordered == [1, 2, 3, 4] and spec.labels[5] == "swapped names"
    totals_array, u_array = np.array(totals), np.array(u)
    m = monotone_m(totals_array, u_array, ordered)
    ratios = m[ordered] / u_array[ordered]
    assert np.all(np.diff(ratios) >= -1e-9 * ratios.max())
    assert m[1:].sum() == pytest.approx(1.0)
    assert m[5] == pytest.approx(totals[5] / sum(totals[1:]))  # off the scale: its share, untouched

    def log_likelihood(candidate: np.ndarray) -> float:
        return float((totals_array[1:] * np.log(candidate[1:])).sum())

    best = log_likelihood(m)
    rng = np.random.default_rng(len(totals))
    for _ in range(20):  # random monotone alternatives with the same off-scale share
        rises = np.sort(rng.random(len(ordered)))
        other = m.copy()
        other[ordered] = rises * u_array[ordered]
        other[ordered] *= (1 - m[5]) / other[ordered].sum()
        assert log_likelihood(other) <= best + 1e-9


def test_monotone_m_leaves_a_rising_estimate_alone() -> None:
    totals = np.array([0.0, 1.0, 2.0, 8.0, 40.0])
    u = np.array([1.0, 0.7, 0.2, 0.07, 0.03])
    assert np.allclose(monotone_m(totals, u, [1, 2, 3, 4]), totals / totals.sum())


def test_initial_m_rises_along_the_scale_and_keeps_swaps_small() -> None:
    spec = ComparisonSpec(field="family_name", floor=0.2, ceiling=0.9, cuts=(0.5, 0.8), swap_key="names", identical_level=True)
    assert spec.labels == ["missing", "different", "similar ≥ 0.50", "similar ≥ 0.80", "swapped names", "identical"]
    m = initial_m(spec)
    assert m[1:].sum() == pytest.approx(1.0)
    assert list(np.diff(m[spec.ordered_levels]) > 0) == [True, True, True]
    assert m[4] == pytest.approx(m[1])
