"""`dalink link --config`: settings from a JSON file, overridden by options, with clear errors."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from dalink.cli import main


def test_settings_file_and_overrides(partnership: list[Path], tmp_path: Path) -> None:
    settings = tmp_path / "link.json"
    settings.write_text(json.dumps({"lsh": False, "random_state": 3, "event_role_constraints": False}))
    output = tmp_path / "linkage"
    result = CliRunner().invoke(
        main, ["link", *map(str, partnership), "-o", str(output), "--config", str(settings), "--seed", "5", "--quiet"]
    )
    assert result.exit_code == 0, result.output
    config = json.loads((output / "summary.json").read_text())["config"]
    assert config["lsh"] is False and config["event_role_constraints"] is False
    assert config["random_state"] == 5  # the option overrides the file


def test_bad_settings_are_refused_naming_the_file_and_field(partnership: list[Path], tmp_path: Path) -> None:
    settings = tmp_path / "link.json"
    settings.write_text(json.dumps({"lsh_bins": "many", "no_such_setting": 1}))
    result = CliRunner().invoke(main, ["link", *map(str, partnership), "-o", str(tmp_path / "l"), "--config", str(settings)])
    assert result.exit_code == 1
    assert str(settings) in result.output and "no_such_setting" in result.output and "lsh_bins" in result.output
    assert not (tmp_path / "l").exists()
    settings.write_text("[1, 2]")
    result = CliRunner().invoke(main, ["link", *map(str, partnership), "-o", str(tmp_path / "l"), "--config", str(settings)])
    assert result.exit_code == 1 and "JSON object" in result.output
    result = CliRunner().invoke(main, ["link", *map(str, partnership), "-o", str(tmp_path / "l"), "--config", str(tmp_path / "none.json")])
    assert result.exit_code == 1 and "no such settings file" in result.output
