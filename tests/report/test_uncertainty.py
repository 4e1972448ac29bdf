"""Linkage-error intervals: they contain the estimate, vanish when nothing is uncertain, move
in the right direction for known errors, are reproducible, and the graph helper is right."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dalink.report.linkage import read_linkage
from dalink.report.measures import HEADLINE_KEYS, compute_measures
from dalink.match.cluster import connected_components
from dalink.report.uncertainty import UncertaintyConfig, linkage_intervals
from linkage_fixture import make_events, write_linkage

EXACT = UncertaintyConfig(replicates=20, shift_sd=0.0, scale_sd=0.0, blocking_loss=False)


def _truth(events: pd.DataFrame) -> dict[str, int]:
    return compute_measures(events.rename(columns={"person_id": "entity_id"})).headline()


def test_perfect_certain_linkage_gives_degenerate_intervals(tmp_path: Path) -> None:
    events = make_events(300, seed=4)
    linkage = read_linkage(write_linkage(tmp_path / "linkage", events, blocking_recall=1.0))
    # Within-person pairs score at least 0.99, near misses at most 0.2: make both certain.
    pairs = linkage.pairs.assign(match_probability=np.where(linkage.pairs["match_probability"] > 0.5, 1.0, 0.0))
    certain = type(linkage)(**{**linkage.__dict__, "pairs": pairs})
    result = linkage_intervals(certain, config=EXACT)
    truth = _truth(events)
    for key in HEADLINE_KEYS:
        interval = result.intervals[key]
        assert interval.lower == interval.estimate == interval.upper == interval.linked == truth[key], key


def test_intervals_contain_the_estimate_and_are_reproducible(tmp_path: Path) -> None:
    events = make_events(400, seed=5)
    linkage = read_linkage(write_linkage(tmp_path / "linkage", events, split_rate=0.05, merge_rate=0.02))
    config = UncertaintyConfig(replicates=30, random_state=3)
    first = linkage_intervals(linkage, config=config)
    second = linkage_intervals(linkage, config=config)
    assert first.intervals == second.intervals
    pd.testing.assert_frame_equal(first.replicates, second.replicates)
    assert list(first.replicates.columns) == list(HEADLINE_KEYS) and len(first.replicates) == 30
    for key, interval in first.intervals.items():
        assert interval.lower <= interval.estimate <= interval.upper, key
        assert interval.lower <= interval.linked <= interval.upper, key


def test_missed_links_widen_the_interval_towards_the_truth(tmp_path: Path) -> None:
    """Split persons (links scored just under the threshold) make too many victims; the
    resampled linkages re-join some of them, so the interval reaches down towards the truth."""
    events = make_events(600, seed=6)
    linkage = read_linkage(write_linkage(tmp_path / "linkage", events, split_rate=0.15, blocking_recall=1.0))
    truth = _truth(events)
    result = linkage_intervals(linkage, config=EXACT)
    victims = result.intervals["victims"]
    assert victims.linked > truth["victims"], "the fixture's splits inflate the victim count"
    assert victims.lower < victims.linked
    assert victims.estimate < victims.linked, "the estimate allows for the missed links"
    assert abs(victims.estimate - truth["victims"]) < abs(victims.linked - truth["victims"])


def test_false_links_widen_the_interval_upwards(tmp_path: Path) -> None:
    events = make_events(600, seed=7)
    linkage = read_linkage(write_linkage(tmp_path / "linkage", events, merge_rate=0.1, blocking_recall=1.0))
    truth = _truth(events)
    victims = linkage_intervals(linkage, config=EXACT).intervals["victims"]
    assert victims.linked < truth["victims"], "false merges deflate the victim count"
    assert victims.upper > victims.linked


def test_model_error_widens_intervals(tmp_path: Path) -> None:
    events = make_events(400, seed=8)
    linkage = read_linkage(write_linkage(tmp_path / "linkage", events, split_rate=0.05, merge_rate=0.02))
    narrow = linkage_intervals(linkage, config=EXACT)
    wide = linkage_intervals(linkage, config=UncertaintyConfig(replicates=20, shift_sd=2.0, scale_sd=0.5))
    width = lambda result: sum(i.upper - i.lower for i in result.intervals.values())  # noqa: E731
    assert width(wide) > width(narrow)


def test_progress_is_reported(tmp_path: Path) -> None:
    linkage = read_linkage(write_linkage(tmp_path / "linkage", make_events(50, seed=9)))
    calls: list[tuple[int, int]] = []
    linkage_intervals(linkage, config=UncertaintyConfig(replicates=12), progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (12, 12) and len(calls) == 12


def test_config_is_validated() -> None:
    with pytest.raises(ValueError):
        UncertaintyConfig(replicates=1)
    with pytest.raises(ValueError):
        UncertaintyConfig(confidence=1.5)
    with pytest.raises(ValueError):
        UncertaintyConfig(shift_sd=-1)


def _reference_components(count: int, edges: list[tuple[int, int]]) -> list[int]:
    parent = list(range(count))

    def find(node: int) -> int:
        while parent[node] != node:
            node = parent[node]
        return node

    for first, second in edges:
        low, high = sorted((find(first), find(second)))
        parent[high] = low
    return [min(member for member in range(count) if find(member) == find(node)) for node in range(count)]


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 40).flatmap(lambda n: st.tuples(st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=60))))
def test_connected_components_match_a_union_find(drawn: tuple[int, list[tuple[int, int]]]) -> None:
    count, edges = drawn
    left = np.array([edge[0] for edge in edges], dtype=np.int64)
    right = np.array([edge[1] for edge in edges], dtype=np.int64)
    assert connected_components(count, left, right).tolist() == _reference_components(count, edges)


def test_area_evidence_favours_pairs_in_one_area(tmp_path: Path) -> None:
    """Certain links mostly stay in one area, so a doubtful pair in one area gains log-odds and
    a pair in two areas loses them; a victim paired with a perpetrator loses them too."""
    from dalink.report.evidence import event_likelihoods, field_likelihoods

    linkage = read_linkage(write_linkage(tmp_path / "linkage", make_events(400, seed=12), split_rate=0.1))
    probability = linkage.pairs["match_probability"].to_numpy()
    entity = pd.factorize(linkage.entities["entity_id"])[0]
    certain = (entity[linkage.left] == entity[linkage.right]) & (probability >= 0.999)
    doubtful = ~certain
    entities = linkage.entities
    area_evidence = field_likelihoods(
        entities["local_authority"], entities["event_type"], linkage.left, linkage.right, certain, doubtful
    ).log_ratio
    area = entities["local_authority"].to_numpy()
    first, second = area[linkage.left][doubtful], area[linkage.right][doubtful]
    known = (first != "") & (second != "")
    assert (area_evidence[known & (first == second)] >= 0).all()
    assert (area_evidence[known & (first != second)] <= 0).all()
    assert (area_evidence[~known] == 0).all()
    assert area_evidence[known & (first == second)].max() > 0 > area_evidence[known & (first != second)].min()
    role = field_likelihoods(entities["role"], entities["event_type"], linkage.left, linkage.right, certain, doubtful)
    roles = entities["role"].to_numpy()
    assert (role.log_ratio[roles[linkage.left][doubtful] != roles[linkage.right][doubtful]] <= 0).all()
    combined = event_likelihoods(entities, linkage.left, linkage.right, certain, doubtful)
    np.testing.assert_allclose(combined.log_ratio, area_evidence + role.log_ratio)
    nothing = field_likelihoods(entities["role"], entities["event_type"], linkage.left, linkage.right,
                                np.zeros_like(certain), doubtful)
    assert not nothing.informative.any(), "without reference links there is no evidence"


@settings(max_examples=8, deadline=None)
@given(st.floats(-2.5, 1.0), st.floats(0.5, 1.5), st.integers(0, 10_000))
def test_calibration_recovers_a_known_miscalibration(shift: float, scale: float, seed: int) -> None:
    """Pairs whose true match probability is sigmoid(shift + scale · log-odds), with an event
    field that agrees 85% of the time for matches and 15% for non-matches: the latent-class
    fit finds shift and scale back from the agreement alone."""
    from dalink.report.evidence import Likelihoods, fit_calibration

    generator = np.random.default_rng(seed)
    log_odds = generator.normal(0.0, 3.0, size=20_000)
    is_match = generator.random(len(log_odds)) < 1 / (1 + np.exp(-(shift + scale * log_odds)))
    agrees = generator.random(len(log_odds)) < np.where(is_match, 0.85, 0.15)
    likelihoods = Likelihoods(np.where(agrees, 0.85, 0.15), np.where(agrees, 0.15, 0.85))
    calibration = fit_calibration(log_odds, likelihoods)
    assert calibration.fitted
    errors = np.sqrt(np.diag(calibration.covariance))
    assert abs(calibration.shift - shift) < max(4 * errors[0], 0.15)
    assert abs(calibration.scale - scale) < max(4 * errors[1], 0.1)


def test_calibration_needs_evidence() -> None:
    from dalink.report.evidence import Likelihoods, fit_calibration

    calibration = fit_calibration(np.zeros(50), Likelihoods(np.ones(50), np.ones(50)))
    assert not calibration.fitted and calibration.shift == 0 and calibration.scale == 1


def test_calibrated_replicates_run(tmp_path: Path) -> None:
    linkage = read_linkage(write_linkage(tmp_path / "linkage", make_events(500, seed=13), split_rate=0.05, merge_rate=0.02))
    result = linkage_intervals(linkage, config=UncertaintyConfig(replicates=12, calibrated_share=1.0))
    for interval in result.intervals.values():
        assert interval.lower <= interval.estimate <= interval.upper
