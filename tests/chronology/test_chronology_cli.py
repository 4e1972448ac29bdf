"""``dalink chronology`` on the command line: refusals exit non-zero, results are logged and written 0600."""

from __future__ import annotations

import stat
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from dardr_helpers import LinkedPartnership, linkage_dir, linked_partnership  # noqa: F401 - fixtures
from dalink.chronology import AUDIT_FILE, CHRONOLOGY_COLUMNS, read_audit_log
from dalink.cli import main


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def package_options(partnership: LinkedPartnership) -> list[str]:
    return [option for path in partnership.packages for option in ("--packages", str(path))]


def test_chronology_command_writes_the_csv_and_logs_the_request(
    linked_partnership: LinkedPartnership, linkage_dir: Path, tmp_path: Path
) -> None:
    output = tmp_path / "chronology.csv"
    result = run(
        "chronology", str(linkage_dir), "--subject", str(linked_partnership.subject_package),
        "--requested-by", "Chair, DARDR panel", "--reason", "DARDR 2024/01", "-o", str(output),
        "--subject-id", "V1", "--subject-id", "P1", "--window-days", "180", "--direct-only", "--quiet", *package_options(linked_partnership),
    )
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(output.stat().st_mode) == 0o600
    events = pd.read_csv(output, dtype=str)
    assert tuple(events.columns) == CHRONOLOGY_COLUMNS
    assert set(events["subject"]) <= {"V1", "P1"} and len(events) > 0
    assert (events["linked_by"] == "subject match").all()
    entries = read_audit_log(linkage_dir)
    assert len(entries) == 1 and entries[0].subjects == ("V1", "P1") and entries[0].events_returned == len(events)
    assert entries[0].request_id in result.output
    assert "V1 (victim)" in result.output and "agencies in contact" in result.output
    assert not list(tmp_path.glob(".chronology.csv.*"))  # no temporary file left behind


def test_refused_without_requester_or_reason(linked_partnership: LinkedPartnership, linkage_dir: Path, tmp_path: Path) -> None:
    base = ["chronology", str(linkage_dir), "--subject", str(linked_partnership.subject_package), "-o", str(tmp_path / "c.csv"), "--quiet"]
    for extra, missing in ((["--reason", "DARDR 1"], "--requested-by"), (["--requested-by", "Chair"], "--reason")):
        result = run(*base, *extra, *package_options(linked_partnership))
        assert result.exit_code == 1 and missing in result.output, result.output
    assert not (linkage_dir / AUDIT_FILE).exists()
    assert not (tmp_path / "c.csv").exists()


def test_existing_output_and_bad_linkage_exit_non_zero(
    linked_partnership: LinkedPartnership, linkage_dir: Path, tmp_path: Path
) -> None:
    output = tmp_path / "c.csv"
    output.write_text("keep me\n")
    request = ["--requested-by", "Chair", "--reason", "DARDR 1", "--quiet"]
    result = run("chronology", str(linkage_dir), "--subject", str(linked_partnership.subject_package), "-o", str(output), *request)
    assert result.exit_code == 1 and "exists" in result.output
    assert output.read_text() == "keep me\n"
    result = run(
        "chronology", str(tmp_path / "nowhere"), "--subject", str(linked_partnership.subject_package),
        "-o", str(tmp_path / "d.csv"), *request, *package_options(linked_partnership),
    )
    assert result.exit_code == 1 and "not a directory" in result.output
    (linkage_dir / "inputs.json").unlink()
    result = run("chronology", str(linkage_dir), "--subject", str(linked_partnership.subject_package), "-o", str(tmp_path / "e.csv"), *request)
    assert result.exit_code == 1 and "--packages" in result.output
    assert [entry.outcome for entry in read_audit_log(linkage_dir)] == ["failed"]


def test_packages_default_to_those_the_linker_recorded(
    linked_partnership: LinkedPartnership, linkage_dir: Path, tmp_path: Path
) -> None:
    output = tmp_path / "chronology.csv"
    result = run(
        "chronology", str(linkage_dir), "--subject", str(linked_partnership.subject_package), "-o", str(output),
        "--requested-by", "Chair", "--reason", "DARDR 2", "--quiet",
    )
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(output)) > 0
