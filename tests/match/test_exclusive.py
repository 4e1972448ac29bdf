"""One-to-one linkage into agencies declared free of duplicates."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from match_helpers import pairwise_f1
from dalink.cli import main
from dalink.errors import LinkageError
from dalink.match.exclusive import (
    can_match,
    deduplicated_flags,
    exclusive_links,
    exclusive_probabilities,
    matching_marginals,
    within_agency_pairs,
)
from dalink.match.exclusive import _EdgesByRecord
from dalink.match.linker import LinkConfig, link


def test_flags_name_unknown_agencies() -> None:
    assert deduplicated_flags(("police", "refuge"), ("refuge",)).tolist() == [False, True]
    with pytest.raises(LinkageError, match="housing"):
        deduplicated_flags(("police", "refuge"), ("housing",))


def test_pairs_inside_a_deduplicated_agency_cannot_match() -> None:
    agency_codes = np.array([0, 0, 0, 1, 1])
    deduplicated = np.array([True, False])
    left, right = np.array([0, 3, 0]), np.array([1, 4, 3])
    assert can_match(left, right, agency_codes, deduplicated).tolist() == [False, True, True]
    assert within_agency_pairs(agency_codes, deduplicated) == 3


def test_a_lone_candidate_gains_and_rivals_share() -> None:
    # Agency 0 = records 0..2, agency 1 = records 3..5, both de-duplicated. Record 0 has one
    # candidate (3); record 1 has two equally good ones (4 and 5).
    agency_codes = np.array([0, 0, 0, 1, 1, 1])
    deduplicated = np.array([True, True])
    left, right = np.array([0, 1, 1]), np.array([3, 4, 5])
    bayes_bits = np.array([6.0, 6.0, 6.0])
    prior = 0.2
    plain = 1 / (1 + (1 - prior) / (prior * 2**6))
    probability = exclusive_probabilities(
        left, right, np.full(3, plain), bayes_bits, prior, agency_codes, deduplicated
    )
    assert probability[0] > plain
    assert probability[1] == pytest.approx(probability[2])
    assert probability[1] < 0.5 < probability[0]


def test_sum_of_other_pairs_survives_one_dominating_pair() -> None:
    records = np.array([0, 1, 0, 0, 1, 2])
    values = np.array([1e30, 2.0, 1e-3, 5e-4, 3.0, 7.0])
    others = _EdgesByRecord.of(records).sum_of_others(values)
    expected = [sum(v for j, v in enumerate(values) if records[j] == records[i] and j != i) for i in range(len(values))]
    assert others == pytest.approx(expected, rel=1e-12)
    assert others[0] == pytest.approx(1.5e-3)  # not 0, nor the rounding error of 1e30


def _exact_marginals(first: np.ndarray, second: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Pair marginals by enumerating every matching (the definition; small graphs only)."""
    totals, normaliser = np.zeros(len(first)), 0.0
    for size in range(len(first) + 1):
        for chosen in combinations(range(len(first)), size):
            if len({first[i] for i in chosen}) < size or len({second[i] for i in chosen}) < size:
                continue
            mass = float(np.prod(weight[list(chosen)])) if chosen else 1.0
            normaliser += mass
            totals[list(chosen)] += mass
    return totals / normaliser


def test_matching_marginals_are_exact_on_a_forest() -> None:
    # A path x0–a0–x1–a1 plus a lone pair x2–a2: no cycle, so belief propagation is exact.
    first, second = np.array([0, 1, 1, 2]), np.array([10, 10, 11, 12])
    weight = np.array([4.0, 0.5, 3.0, 0.2])
    found, _ = matching_marginals(first, second, weight)
    assert found == pytest.approx(_exact_marginals(first, second, weight), abs=1e-6)


def test_matching_marginals_approximate_a_loopy_graph() -> None:
    generator = np.random.default_rng(3)
    pairs = sorted({(int(x), int(a)) for x, a in generator.integers(0, 4, size=(9, 2))})
    first, second = np.array([x for x, _ in pairs]), np.array([a + 10 for _, a in pairs])
    weight = np.exp2(generator.normal(0, 3, len(pairs)))
    found, _ = matching_marginals(first, second, weight)
    assert np.abs(found - _exact_marginals(first, second, weight)).max() < 0.1


def test_a_rival_taken_by_a_better_partner_does_not_compete() -> None:
    # x0 has two candidates: a0 (moderate evidence) and a1, which is far likelier x1's partner.
    # Looking from x0 alone, a1 halves x0–a0; in the matching, a1 is taken and x0–a0 stands.
    agency_codes = np.array([0, 0, 1, 1])
    deduplicated = np.array([True, True])
    left, right = np.array([0, 0, 1]), np.array([2, 3, 3])
    bayes_bits = np.array([12.0, 12.0, 30.0])
    prior = 0.25
    plain = 1 / (1 + (1 - prior) / (prior * np.exp2(bayes_bits)))
    probability = exclusive_probabilities(left, right, plain, bayes_bits, prior, agency_codes, deduplicated)
    assert probability[0] > 0.9 and probability[1] < 0.01 and probability[2] > 0.99


def test_best_first_merging_keeps_one_record_per_deduplicated_agency() -> None:
    agency_codes = np.array([0, 0, 1, 2])
    deduplicated = np.array([True, False, False])
    # 2 links strongly to 0, then 0–1 would put two agency-0 records together via 2.
    left, right = np.array([0, 1, 2]), np.array([2, 2, 3])
    probability = np.array([0.99, 0.9, 0.8])
    kept = exclusive_links(left, right, probability, 0.5, agency_codes, deduplicated)
    assert kept.tolist() == [True, False, True]


def _split_without_duplicates(partnership: list[Path], directory: Path) -> list[Path]:
    """Two packages from the test partnership, each holding a person at most once."""
    from match_helpers import TEST_SECRET, encode_partnership
    from dalink.keys import PartnershipKey

    frames = [pd.read_csv(path.parent / f"{path.name.removesuffix('.dalink')}.csv", dtype=str) for path in partnership]
    records = pd.concat(frames, ignore_index=True)
    records["person"] = records["record_id"].str.split("-").str[0]
    first = records.drop_duplicates("person")
    rest = records.drop(first.index).drop_duplicates("person")
    extracts = {"register": first.drop(columns="person"), "clinic": rest.drop(columns="person")}
    return encode_partnership(directory, extracts, PartnershipKey(TEST_SECRET))


def test_link_one_to_one(partnership: list[Path], tmp_path: Path) -> None:
    packages = _split_without_duplicates(partnership, tmp_path)
    plain = link(packages, tmp_path / "plain")
    result = link(packages, tmp_path / "one", config=LinkConfig(deduplicated_agencies=("register", "clinic")))
    per_entity = result.entities.groupby(["entity_id", "agency"]).size()
    assert per_entity.max() == 1
    assert pairwise_f1(result.entities) >= pairwise_f1(plain.entities) - 0.005
    assert result.summary["config"]["deduplicated_agencies"] == ["register", "clinic"]


def test_cli_deduplicated(partnership: list[Path], tmp_path: Path) -> None:
    runner = CliRunner()
    output = tmp_path / "cli"
    arguments = ["link", *map(str, partnership), "-o", str(output), "--quiet", "--deduplicated", "nowhere"]
    refused = runner.invoke(main, arguments)
    assert refused.exit_code == 1 and "nowhere" in refused.output
    assert not output.exists()
    agency = partnership[0].name.removesuffix(".dalink")
    accepted = runner.invoke(main, [*arguments[:-1], agency])
    assert accepted.exit_code == 0, accepted.output
    summary = (output / "summary.json").read_text()
    assert f'"deduplicated_agencies": [\n      "{agency}"' in summary
