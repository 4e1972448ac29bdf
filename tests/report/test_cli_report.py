"""``dalink report`` on the command line: options reach the report, failures exit non-zero."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dalink.cli import main
from linkage_fixture import make_events, write_linkage


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def linkage_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_linkage(tmp_path_factory.mktemp("cli") / "linkage", make_events(300, seed=21), split_rate=0.02)


def test_report_command_writes_the_report(tmp_path: Path, linkage_dir: Path) -> None:
    output = tmp_path / "report"
    result = run("report", str(linkage_dir), "-o", str(output), "--replicates", "10", "--quiet")
    assert result.exit_code == 0, result.output
    assert (output / "report.html").exists() and (output / "measures.json").exists()
    assert "Victims" in result.output and "95% interval" in result.output


def test_options_reach_the_report(tmp_path: Path, linkage_dir: Path) -> None:
    output = tmp_path / "report"
    result = run(
        "report", str(linkage_dir), "-o", str(output), "--quiet", "--replicates", "10",
        "--episode-days", "14", "--repeat-days", "180", "--duplicate-days", "7", "--referral-type", "any",
        "--period-start", "2022-03-01", "--period-end", "2024-12-31", "--min-count", "20", "--round-to", "10",
        "--seed", "4",
    )
    assert result.exit_code == 0, result.output
    document = json.loads((output / "measures.json").read_text())
    assert document["parameters"] == {
        "episode_days": 14, "repeat_days": 180, "duplicate_days": 7, "duplicate_event_type": None,
        "refuge_event_type": "refuge_referral", "period_start": "2022-03-01", "period_end": "2024-12-31",
    }
    assert document["disclosure_control"] == {"threshold": 20, "rounding_base": 10}
    assert document["uncertainty"]["replicates"] == 10 and document["uncertainty"]["random_state"] == 4
    for value in document["measures"].values():
        assert value["estimate"] is None or value["estimate"] % 10 == 0


def test_existing_output_and_bad_input_exit_non_zero(tmp_path: Path, linkage_dir: Path) -> None:
    output = tmp_path / "report"
    output.mkdir()
    result = CliRunner().invoke(main, ["report", str(linkage_dir), "-o", str(output), "--quiet"])
    assert result.exit_code == 1 and "exists" in result.output
    result = CliRunner().invoke(main, ["report", str(tmp_path / "nowhere"), "-o", str(tmp_path / "r2")])
    assert result.exit_code == 1 and "not a directory" in result.output
    result = CliRunner().invoke(
        main, ["report", str(linkage_dir), "-o", str(tmp_path / "r3"), "--period-start", "2024-01-01", "--period-end", "2023-01-01"]
    )
    assert result.exit_code == 1 and "period_start" in result.output
    result = CliRunner().invoke(main, ["report", str(linkage_dir), "-o", str(tmp_path / "r4"), "--min-count", "0"])
    assert result.exit_code == 2
