from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dalink.errors import LinkageError
from dalink.match.compare import ComparisonSpec
from dalink.match.model import FellegiSunter, TrainingSession, count_patterns
from dalink.match.probability import expected_f1_threshold

FIELDS = ("given_name", "family_name", "date_of_birth", "postcode")
TRUE_M = [np.array([0.05, 0.05, 0.1, 0.8]), np.array([0.1, 0.1, 0.1, 0.7]), np.array([0.05, 0.05, 0.05, 0.85]), np.array([0.2, 0.1, 0.1, 0.6])]
TRUE_U = [np.array([0.9, 0.06, 0.03, 0.01]), np.array([0.85, 0.1, 0.04, 0.01]), np.array([0.97, 0.02, 0.008, 0.002]), np.array([0.8, 0.15, 0.04, 0.01])]


def _specs() -> list[ComparisonSpec]:
    return [ComparisonSpec(field=field, floor=0.0, ceiling=1.0, cuts=(0.5, 0.8, 0.95)) for field in FIELDS]


def _simulate(generator: np.random.Generator, matches: int, non_matches: int, missing: float = 0.1) -> np.ndarray:
    """Comparison levels (1 = different … 4 = top; 0 = missing) drawn from the true m and u."""
    columns = []
    for m, u in zip(TRUE_M, TRUE_U):
        levels = np.concatenate([generator.choice(4, size=matches, p=m), generator.choice(4, size=non_matches, p=u)]) + 1
        levels[generator.random(len(levels)) < missing] = 0
        columns.append(levels)
    return np.stack(columns, axis=1).astype(np.int8)


def test_em_recovers_known_m_and_u() -> None:
    generator = np.random.default_rng(7)
    random_levels = _simulate(generator, 0, 200_000)
    sessions = []
    for fixed in FIELDS:
        # pairs sharing a key on ``fixed``: a mix of matches and non-matches
        sessions.append(TrainingSession(fixed, (fixed,), count_patterns(_simulate(generator, 3000, 6000))))
    candidates = count_patterns(_simulate(generator, 2000, 20_000))
    model = FellegiSunter(_specs()).fit(random_levels, sessions, candidates, total_pairs=10_000_000)
    assert model is not None and hasattr(model, "m_") and hasattr(model, "u_")
    for index in range(len(FIELDS)):
        assert np.allclose(model.m_[index][1:], TRUE_M[index], atol=0.03), FIELDS[index]
        assert np.allclose(model.u_[index][1:], TRUE_U[index], atol=0.01), FIELDS[index]
    # the fixed point counts expected matches among candidates only, so weak matches pull it a
    # little low; within a third of the truth is what a prior needs here
    assert abs(model.prior_ - 2000 / 10_000_000) / (2000 / 10_000_000) < 0.33
    assert 0.05 <= model.match_threshold_ <= 0.95
    probability = model.match_probability(np.array([[4, 4, 4, 4], [1, 1, 1, 1], [0, 0, 0, 0]], dtype=np.int8))
    assert probability[0] > 0.99 and probability[1] < 0.001
    assert probability[2] == pytest.approx(model.prior_)


def test_missing_is_never_disagreement() -> None:
    generator = np.random.default_rng(1)
    model = FellegiSunter(_specs()).fit_u(_simulate(generator, 0, 5000))
    model.m_ = [np.concatenate([[1.0], m]) for m in TRUE_M]
    model.prior_ = 0.001
    with_missing = model.match_weight(np.array([[4, 4, 4, 0]], dtype=np.int8))
    with_disagreement = model.match_weight(np.array([[4, 4, 4, 1]], dtype=np.int8))
    assert with_missing > with_disagreement


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    generator = np.random.default_rng(2)
    model = FellegiSunter(_specs()).fit(
        _simulate(generator, 0, 20_000),
        [TrainingSession("key", ("given_name",), count_patterns(_simulate(generator, 500, 500)))],
        count_patterns(_simulate(generator, 300, 3000)),
        total_pairs=1_000_000,
    )
    model.save(tmp_path / "model.json", schema_hash="abc")
    loaded = FellegiSunter.load(tmp_path / "model.json")
    levels = _simulate(generator, 50, 50)
    assert np.allclose(loaded.match_probability(levels), model.match_probability(levels))
    assert loaded.schema_hash_ == "abc"


def test_unfitted_model_says_so() -> None:
    with pytest.raises(LinkageError, match="not fitted"):
        FellegiSunter(_specs()).match_probability(np.zeros((1, 4), dtype=np.int8))


def test_m_from_labels() -> None:
    generator = np.random.default_rng(4)
    levels = _simulate(generator, 5000, 5000, missing=0.0)
    labels = np.r_[np.ones(5000, bool), np.zeros(5000, bool)]
    model = FellegiSunter(_specs()).fit_m_from_labels(levels, labels)
    for index in range(len(FIELDS)):
        assert np.allclose(model.m_[index][1:], TRUE_M[index], atol=0.02)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(-600, 600), min_size=1, max_size=300, unique=True), st.floats(0.0, 0.009))
def test_threshold_from_binned_weights_matches_the_exact_one(steps: list[int], shift: float) -> None:
    """The linker bins per-pair weights (0.02 bits) to find the expected-F1 threshold; it moves by one bin at most,
    and never above the pair the exact threshold admits last."""
    from dalink.match.link_stages import _probability_from_weight, _threshold_from_weights

    values = (np.array(steps, dtype=np.float64) * 0.05 + shift).astype(np.float32)
    binned = _threshold_from_weights(values, resolution_bits=0.02)
    exact = expected_f1_threshold(_probability_from_weight(values.astype(np.float64)), np.ones(len(values)))
    if 0.05 < exact < 0.95:  # (not clipped to the allowed range)
        difference = np.log2(exact / (1 - exact)) - np.log2(binned / (1 - binned))
        assert -1e-9 <= difference <= 0.02 + 1e-6
    assert 0.05 <= binned <= 0.95


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 50), st.integers(1000, 10**8), st.integers(1, 3))
def test_refine_u_sets_one_level_and_keeps_the_rest_in_proportion(hits: int, pairs: int, level: int) -> None:
    generator = np.random.default_rng(1)
    model = FellegiSunter(_specs()).fit_u(_simulate(generator, 0, 5000))
    before = model.u_[2].copy()
    model.refine_u(2, level, hits, pairs)
    after = model.u_[2]
    assert after[level] == pytest.approx((hits + model.smoothing) / (pairs + model.smoothing))
    assert after[1:].sum() == pytest.approx(1.0)
    others = [index for index in range(1, len(after)) if index != level]
    assert np.allclose(after[others] / after[others].sum(), before[others] / before[others].sum())
    assert after[0] == 1.0
