"""The trade-off curve script: how a default is chosen from measured rows, and that the
proposal it writes is a valid linkage schema. (The measuring itself is the slow benchmark.)"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from dalink.encode.schema import Salt, load_schema

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def curve():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec = importlib.util.spec_from_file_location("bench_privacy_curve", BENCHMARKS / "bench_privacy_curve.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(BENCHMARKS))


def _row(setting: str, f1: float, **shares: float) -> dict[str, object]:
    row: dict[str, object] = {"setting": setting, "records": 100, "link_f1": f1}
    for key, value in shares.items():
        attacker, attack, field = key.split("__")
        row[f"{attacker}:{attack}:{field}:bf_{field}"] = value
        row[f"{attacker}_worst"] = max(value, float(row.get(f"{attacker}_worst", 0.0)))  # type: ignore[arg-type]
    return row


def test_worst_case_is_over_every_attacker_and_attack(curve) -> None:
    row = _row("x", 0.99, public__frequency_alignment__family_name=0.02, oracle__pattern_mining__given_name=0.05)
    assert curve.worst_attack(row, "oracle") == (0.05, "PM given")
    assert curve.worst_overall(row) == 0.05


def test_blocking_key_plaintext_claims_are_not_identifying_fields(curve) -> None:
    row = _row("x", 0.99, public__frequency_alignment__family_name=0.01)
    row["public:blocking_key_frequency:bk_names:bk_names"] = 0.5
    assert curve.worst_overall(row) == 0.01


def test_choice_is_lowest_risk_that_keeps_f1(curve) -> None:
    rows = [
        _row("weak", 0.995, oracle__pattern_mining__family_name=0.12),
        _row("middle", 0.985, oracle__pattern_mining__family_name=0.03),
        _row("strong_but_breaks_linkage", 0.95, oracle__pattern_mining__family_name=0.001),
    ]
    assert curve.choose(rows, 0.98)["setting"] == "middle"
    assert curve.choose(rows, 0.999) is None


def test_proposal_is_a_valid_schema(curve, tmp_path: Path) -> None:
    path = tmp_path / "proposal.json"
    curve.write_proposal("salt_year", path)
    schema = load_schema(path)
    assert isinstance(schema.field("family_name").hardening[0], Salt)
    assert json.loads(path.read_text())["name"] == "dalink-uk-person-v2"
