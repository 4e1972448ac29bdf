from __future__ import annotations

from pathlib import Path

import numpy as np

from dalink.match.compare import ComparisonSpec
from dalink.match.correlation import estimate_conditional_u
from dalink.match.model import FellegiSunter, TrainingSession, count_patterns

FIELDS = ("given_name", "family_name", "date_of_birth", "postcode")
TOP = 3  # levels: 0 missing, 1 different, 2 similar, 3 top


def _specs() -> list[ComparisonSpec]:
    return [ComparisonSpec(field=field, floor=0.0, ceiling=1.0, cuts=(0.5, 0.9)) for field in FIELDS]


def _pairs(generator: np.random.Generator, matches: int, households: int, neighbours: int) -> np.ndarray:
    """Same-postcode pairs: one person's records, household members (same surname), neighbours."""
    def draw(count: int, probabilities: list[float]) -> np.ndarray:
        return generator.choice(3, size=count, p=probabilities) + 1

    rows = []
    for count, given, family, birth in (
        (matches, [0.05, 0.05, 0.9], [0.05, 0.05, 0.9], [0.02, 0.03, 0.95]),
        (households, [0.98, 0.015, 0.005], [0.0, 0.05, 0.95], [0.97, 0.025, 0.005]),
        (neighbours, [0.98, 0.015, 0.005], [0.99, 0.008, 0.002], [0.97, 0.025, 0.005]),
    ):
        rows.append(np.stack([draw(count, given), draw(count, family), draw(count, birth), np.full(count, TOP)], axis=1))
    return np.concatenate(rows).astype(np.int8)


def _model() -> FellegiSunter:
    model = FellegiSunter(_specs())
    model.m_ = [np.array([1.0, 0.05, 0.05, 0.9]), np.array([1.0, 0.05, 0.05, 0.9]), np.array([1.0, 0.02, 0.03, 0.95]), np.array([1.0, 0.1, 0.05, 0.85])]
    model.u_ = [np.array([1.0, 0.98, 0.015, 0.005]), np.array([1.0, 0.99, 0.008, 0.002]), np.array([1.0, 0.97, 0.025, 0.005]), np.array([1.0, 0.9999, 0.00005, 0.00005])]
    model.prior_ = 1e-4
    return model


def test_em_recovers_surname_agreement_among_same_postcode_non_matches() -> None:
    generator = np.random.default_rng(3)
    counts = count_patterns(_pairs(generator, 3000, 400, 1600))
    model = _model()
    conditional = estimate_conditional_u(
        [(counts.patterns, counts.counts)], model.m_, model.u_, 1, (3,), model.comparisons
    )
    # truth: 400 of 2000 non-matches are households, 95% of them at the top surname level
    truth = (400 * 0.95 + 1600 * 0.002) / 2000
    assert abs(conditional.u[TOP] - truth) < 0.03
    assert conditional.given_fields == ("postcode",)
    assert abs(conditional.non_matching_pairs - 2000) < 150


def test_no_pairs_leaves_the_independent_model() -> None:
    model = _model()
    empty = np.zeros((0, 4), dtype=np.int8)
    conditional = estimate_conditional_u([(empty, np.zeros(0))], model.m_, model.u_, 1, (3,), model.comparisons)
    assert np.allclose(conditional.u[1:], model.u_[1][1:])


def test_household_pair_loses_weight_and_model_round_trips(tmp_path: Path) -> None:
    generator = np.random.default_rng(4)
    model = _model()
    session = TrainingSession("postcode_key", ("postcode",), count_patterns(_pairs(generator, 3000, 400, 1600)))
    model.fit_conditional_u(None, [session])
    household = np.array([[1, TOP, 0, TOP]], dtype=np.int8)  # different given name, same surname and postcode
    elsewhere = np.array([[1, TOP, 0, 1]], dtype=np.int8)
    independent = _model()
    assert model.match_weight(household)[0] < independent.match_weight(household)[0] - 5
    assert model.match_weight(elsewhere)[0] == independent.match_weight(elsewhere)[0]
    model.match_threshold_ = 0.5
    model.save(tmp_path / "model.json", schema_hash="abc")
    loaded = FellegiSunter.load(tmp_path / "model.json")
    assert np.allclose(loaded.match_weight(household), model.match_weight(household))
