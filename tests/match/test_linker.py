from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from match_helpers import pairwise_f1
from dalink.cli import main
from dalink.errors import OutputExistsError
from dalink.match.linker import LinkConfig, link
from dalink.match.model import FellegiSunter


@pytest.fixture(scope="module")
def linked(partnership: list[Path], tmp_path_factory: pytest.TempPathFactory):
    calls: list[tuple[int, int]] = []
    output = tmp_path_factory.mktemp("linked") / "linkage"
    result = link(partnership, output, progress=lambda done, total: calls.append((done, total)))
    return result, output, calls


def test_end_to_end_quality_against_truth(linked) -> None:
    result, _, _ = linked
    assert pairwise_f1(result.entities) >= 0.95


def test_outputs_are_written(linked) -> None:
    result, output, calls = linked
    entities = pd.read_parquet(output / "entities.parquet")
    assert list(entities.columns[:3]) == ["agency", "record_id", "entity_id"]
    assert {"event_date", "event_type", "local_authority", "role"} <= set(entities.columns)
    assert len(entities) == result.summary["records"]
    pairs = pd.read_parquet(output / "pairs.parquet")
    assert {"agency_l", "record_id_l", "agency_r", "record_id_r", "match_weight", "match_probability"} <= set(pairs.columns)
    assert pairs["match_probability"].between(0, 1).all()
    summary = json.loads((output / "summary.json").read_text())
    assert summary["pairs_compared"] > 0 and summary["blocking"]["passes"]
    assert 0 < summary["estimated_quality"]["precision"] <= 1 and 0 < summary["estimated_quality"]["recall"] <= 1
    assert summary["model"]["sessions"]
    model = FellegiSunter.load(output / "model.json")
    assert model.prior_ == pytest.approx(result.model.prior_)
    assert calls[-1] == (1000, 1000) and all(a[0] <= b[0] for a, b in zip(calls, calls[1:]))
    assert not list(output.parent.glob(".*partial"))


def test_entity_ids_stable_for_the_same_input(linked, partnership: list[Path], tmp_path: Path) -> None:
    result, _, _ = linked
    again = link(partnership, tmp_path / "again")
    assert (again.entities["entity_id"].to_numpy() == result.entities["entity_id"].to_numpy()).all()


def test_single_package_deduplicates(partnership: list[Path], tmp_path: Path) -> None:
    result = link([partnership[0]], tmp_path / "dedup", config=LinkConfig(random_pairs=1000))
    assert result.summary["agencies"] == {"police": len(result.entities)}
    assert result.summary["entities"] < len(result.entities)
    assert pairwise_f1(result.entities) >= 0.9


def test_refuses_to_overwrite(linked, partnership: list[Path]) -> None:
    _, output, _ = linked
    with pytest.raises(OutputExistsError):
        link(partnership, output)


def test_cli_link(partnership: list[Path], tmp_path: Path) -> None:
    runner = CliRunner()
    output = tmp_path / "cli"
    result = runner.invoke(main, ["link", *map(str, partnership), "-o", str(output), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "entities" in result.output and (output / "summary.json").exists()
    refused = runner.invoke(main, ["link", str(partnership[0]), str(partnership[0]), "-o", str(tmp_path / "x")])
    assert refused.exit_code == 1 and "also used" in refused.output
    assert not (tmp_path / "x").exists()


def test_term_frequency_adjustment_is_recorded_and_optional(linked, partnership: list[Path], tmp_path: Path) -> None:
    result, output, _ = linked
    saved = json.loads((output / "model.json").read_text())
    assert saved["term_frequency_key"] == "names"
    plain = link(partnership, tmp_path / "plain", config=LinkConfig(term_frequencies=False))
    assert json.loads((tmp_path / "plain" / "model.json").read_text())["term_frequency_key"] is None
    assert pairwise_f1(plain.entities) >= 0.95
    # the adjustment moves some pair weights, never the pattern model itself
    assert plain.model.prior_ == pytest.approx(result.model.prior_)
    with_adjustment = pd.read_parquet(output / "pairs.parquet")
    without = pd.read_parquet(tmp_path / "plain" / "pairs.parquet")
    merged = with_adjustment.merge(without, on=["agency_l", "record_id_l", "agency_r", "record_id_r"])
    moved = ~np.isclose(merged["match_weight_x"], merged["match_weight_y"], atol=1e-4)
    assert 0 < moved.sum() < len(merged)


POLICE_ROWS = """record_id,given_name,family_name,date_of_birth,sex,postcode,event_date,event_type,local_authority,role
A1,Jane,Smith,12/03/1985,F,SG1 1AA,2024-01-05,incident,E07000096,victim
A2,Mary,Jones,01/07/1979,F,AL1 3JX,2024-02-01,incident,E07000096,victim
A3,Tom,Brown,05/05/1990,M,WD17 1AB,2024-02-03,incident,E07000096,perpetrator
A4,Sarah,Khan,22/11/1992,F,SG6 2NG,2024-03-09,incident,E07000096,victim
A5,Emma,Wilson,30/01/1988,F,HP1 1AA,2024-03-20,incident,E07000096,victim
"""
MARAC_ROWS = """record_id,full_name,date_of_birth,sex,postcode,event_date,event_type,local_authority,role
M1,"SMITH, Jane",1985-03-12,F,SG1 1AA,2024-01-20,marac_referral,E07000096,victim
M2,Mrs Mary Jones-Reid,1979-07-01,F,AL1 3JX,2024-02-10,marac_referral,E07000096,victim
M3,Sara Khan,1992-11-22,F,,2024-04-01,marac_referral,E07000241,victim
M4,Lucy Evans,1970-06-06,F,LU1 1AA,2024-04-02,marac_referral,E07000096,victim
"""


def test_a_tiny_partnership_links_its_obvious_matches_and_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Nine records: EM sees three matches. More similar levels never weigh less, so identical records link."""
    from match_helpers import TEST_SECRET, TODAY
    from dalink.encode.encoder import encode_file
    from dalink.keys import PartnershipKey

    key = PartnershipKey(TEST_SECRET)
    packages = []
    for agency, text in (("police", POLICE_ROWS), ("marac", MARAC_ROWS)):
        (tmp_path / f"{agency}.csv").write_text(text, encoding="utf-8")
        encode_file(tmp_path / f"{agency}.csv", tmp_path / f"{agency}.dalink", agency=agency, key=key, today=TODAY)
        packages.append(tmp_path / f"{agency}.dalink")
    with caplog.at_level("WARNING", logger="dalink.match.linker"):
        result = link(packages, tmp_path / "linkage")
    entity = dict(zip(result.entities["record_id"], result.entities["entity_id"]))
    assert entity["A1"] == entity["M1"] and entity["A2"] == entity["M2"] and entity["A4"] == entity["M3"]
    assert len(set(entity.values())) == 6
    assert "only 9 records" in caplog.text
    for spec, m, u in zip(result.model.comparisons, result.model.m_, result.model.u_):
        ratios = m[spec.ordered_levels] / u[spec.ordered_levels]
        assert np.all(np.diff(ratios) >= -1e-9 * ratios.max()), spec.field
