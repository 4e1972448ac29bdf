"""The example scripts in ``examples/`` run end to end, so a newcomer's copy-and-paste works."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

from dalink.keys import generate_key_file
from dalink.synth import write_partnership

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
CASE_SYSTEM_NAMES = {
    "record_id": "CaseRef", "given_name": "Forename", "family_name": "Surname", "date_of_birth": "DOB",
    "postcode": "Postcode", "event_date": "PresentationDate", "event_type": "EventType",
    "local_authority": "LACode", "role": "Role",
}


def run(script: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), *arguments], capture_output=True, text=True, timeout=300
    )


def test_agency_etl_then_linker_run(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_partnership(data, people=400, seed=3)
    key_file = tmp_path / "partnership.key"
    generate_key_file(key_file)
    packages = tmp_path / "packages"
    packages.mkdir()
    extracts = sorted(path for path in data.glob("*.csv") if path.stem != "truth")
    for extract in extracts:
        if extract.stem == "housing":
            # the housing system's own column names, as the script's mapping expects
            frame = pd.read_csv(extract, dtype=str, keep_default_na=False)
            frame = frame[list(CASE_SYSTEM_NAMES)].rename(columns=CASE_SYSTEM_NAMES)
            extract = tmp_path / "housing_system_export.csv"
            frame.to_csv(extract, index=False)
            options: list[str] = []
        else:
            options = ["--standard-columns"]
        result = run("agency_etl.py", str(extract), "--agency", extract.stem.split("_system")[0],
                     "--key-file", str(key_file), "-o", str(packages / f"{extract.stem.split('_system')[0]}.dalink"), *options)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("encoded ")
    assert len(list(packages.iterdir())) == len(extracts)

    result = run("linker_run.py", str(packages), "-o", str(tmp_path / "linkage"), "--report", str(tmp_path / "report"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "report" / "report.html").exists()
    assert (tmp_path / "linkage" / "entities.parquet").exists()


def test_agency_etl_reports_errors_without_a_traceback(tmp_path: Path) -> None:
    key_file = tmp_path / "partnership.key"
    generate_key_file(key_file)
    result = run("agency_etl.py", str(tmp_path / "missing.csv"), "--agency", "police", "--key-file", str(key_file),
                 "-o", str(tmp_path / "police.dalink"))
    assert result.returncode == 1 and result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    assert not (tmp_path / "police.dalink").exists()
