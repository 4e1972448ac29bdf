"""`dalink demo`: the newcomer's first command, end to end on a small synthetic partnership."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from dalink import demo as demo_module
from dalink.cli import main
from dalink.demo import run_demo
from dalink.errors import OutputExistsError

HEADLINES = ("victims", "repeat_victims", "hidden_repeat_victims", "movers", "moves", "duplicate_referrals",
             "refuge_referrals_moved_in")


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    output = tmp_path_factory.mktemp("demo") / "demo"
    result = CliRunner().invoke(main, ["demo", "-o", str(output), "--people", "600", "--quiet"])
    assert result.exit_code == 0, result.output
    return output, result.output


def test_demo_writes_every_stage_and_prints_the_headlines(demo_dir: tuple[Path, str]) -> None:
    output, printed = demo_dir
    assert (output / "report" / "report.html").exists()
    assert str(output / "report" / "report.html") in printed
    assert printed.count("95% interval") == 3 and "synthetic truth" in printed
    packages = sorted(path.name for path in (output / "packages").iterdir())
    extracts = sorted(path.stem + ".dalink" for path in (output / "data").glob("*.csv") if path.stem != "truth")
    assert packages == extracts and len(packages) >= 5
    for name in ("entities.parquet", "pairs.parquet", "model.json", "summary.json", "inputs.json"):
        assert (output / "linkage" / name).exists()
    measures = json.loads((output / "report" / "measures.json").read_text())["measures"]
    assert set(HEADLINES) <= set(measures)
    assert stat.S_IMODE((output / "partnership.key").stat().st_mode) == 0o600


def test_nothing_the_linker_or_board_sees_holds_the_key_or_a_name(demo_dir: tuple[Path, str]) -> None:
    output, printed = demo_dir
    secret_hex = (output / "partnership.key").read_text().strip()
    extracts = pd.concat(
        [pd.read_csv(path, dtype=str) for path in (output / "data").glob("*.csv") if path.stem != "truth"]
    )
    family_names = {name for name in extracts["family_name"].dropna() if len(name) >= 6}
    assert family_names
    shared = [path for directory in ("packages", "linkage", "report") for path in (output / directory).rglob("*")
              if path.is_file()]
    for path in shared:
        content = path.read_bytes()
        assert secret_hex.encode() not in content and bytes.fromhex(secret_hex) not in content, path
        text = content.decode("utf-8", errors="ignore").lower()
        leaked = [name for name in family_names if name.lower() in text]
        assert leaked == [], f"{path} holds raw family names"
    assert secret_hex not in printed


def test_demo_refuses_an_existing_directory(tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    result = CliRunner().invoke(main, ["demo", "-o", str(tmp_path / "demo"), "--quiet"])
    assert result.exit_code != 0 and "exists" in result.output
    with pytest.raises(OutputExistsError):
        run_demo(tmp_path / "demo", people=200)


def test_a_failed_demo_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_report(*args: object, **kwargs: object) -> None:
        raise RuntimeError("report failed")

    import dalink.report.report

    monkeypatch.setattr(dalink.report.report, "build_report", broken_report)
    with pytest.raises(RuntimeError):
        run_demo(tmp_path / "demo", people=200)
    assert not (tmp_path / "demo").exists()
    assert demo_module.DEFAULT_PEOPLE >= 20_000


def test_a_small_demo_prints_withheld_headlines_as_withheld(tmp_path: Path) -> None:
    # 100 people: the hidden repeat victims fall below the disclosure threshold
    result = CliRunner().invoke(main, ["demo", "-o", str(tmp_path / "demo"), "--people", "100", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "None" not in result.output
    assert "[c] (withheld" in result.output
