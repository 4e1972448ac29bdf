"""The audit must bite on weak encodings, report honestly, and never disclose a value."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from dalink.audit import AuditError, audit_package
from dalink.audit.audit import score_claims
from dalink.audit.claims import Claims
from dalink.cli import main

from audit_helpers import names_schema, write_test_package

FLIP = {"kind": "random_bit_flip", "probability": 0.02}


def _result(report, attack: str, field: str):
    return next(result for result in report.attacks if result.attack == attack and result.field == field)


@pytest.fixture(scope="module")
def unhardened_report(tmp_path_factory, reference, extract):
    path = tmp_path_factory.mktemp("audit") / "police.dalink"
    write_test_package(path, extract, names_schema([]))
    return audit_package(path, reference, extract)


@pytest.fixture(scope="module")
def noisy_report(tmp_path_factory, reference, extract):
    path = tmp_path_factory.mktemp("audit") / "police.dalink"
    write_test_package(path, extract, names_schema([FLIP]))
    return audit_package(path, reference, extract)


def test_attacks_bite_on_unhardened_names(unhardened_report):
    for field in ("given_name", "family_name"):
        best = max(
            _result(unhardened_report, attack, field).reidentified_share for attack in ("frequency_alignment", "pattern_mining")
        )
        assert best >= 0.10, field
    assert unhardened_report.meets_target is False
    assert unhardened_report.worst_identifying_reidentified_share >= 0.10


def test_record_noise_is_not_mistaken_for_safety(unhardened_report, noisy_report):
    """Clustering undoes bit flipping: the noisy encoding leaks about as much as the plain one."""
    for field in ("given_name", "family_name"):
        plain = _result(unhardened_report, "frequency_alignment", field)
        noisy = _result(noisy_report, "frequency_alignment", field)
        assert noisy.distinct_encodings > 5 * plain.distinct_encodings  # every record differs
        assert noisy.reidentified_share >= 0.7 * plain.reidentified_share
        assert noisy.clusters < noisy.records / 3


def test_confident_claims_are_mostly_right(unhardened_report):
    for result in unhardened_report.attacks:
        if result.claimed_records >= 50 and result.claim_precision is not None:
            assert result.claim_precision >= 0.6, (result.attack, result.field)


def test_salting_flattens_frequencies(tmp_path, reference, extract, noisy_report):
    """Salting with the birth year splits each name's cluster by year: less to align.

    (Here only 20 birth years and very skewed names, so it cannot get near the target.)"""
    path = tmp_path / "police.dalink"
    write_test_package(path, extract, names_schema([{"kind": "salt", "source": "birth_year"}, FLIP]))
    report = audit_package(path, reference, extract, attacks=("frequency_alignment",))
    salted = _result(report, "frequency_alignment", "family_name")
    plain = _result(noisy_report, "frequency_alignment", "family_name")
    assert salted.clusters > 3 * plain.clusters
    assert salted.reidentified_share < plain.reidentified_share


def test_blocking_keys_are_frequency_analysed(tmp_path, reference, extract):
    schema = names_schema(
        [FLIP], blocking_keys=[{"name": "surname", "parts": [{"field": "family_name", "transform": "value"}]}]
    )
    path = tmp_path / "police.dalink"
    write_test_package(path, extract, schema)
    report = audit_package(path, reference, extract, attacks=("blocking_key_frequency",))
    key_result = _result(report, "blocking_key_frequency", "bk_surname")
    derived = _result(report, "blocking_key_frequency", "family_name")
    assert key_result.reidentified_share >= 0.05
    assert derived.reidentified_share >= 0.05
    profile = next(profile for profile in report.deterministic_columns if profile.column == "bk_surname")
    assert profile.largest_value_share > 0.01


def test_report_never_contains_a_value(unhardened_report, extract):
    text = unhardened_report.to_json() + unhardened_report.render_text()
    values = set(extract["given_name"]) | set(extract["family_name"])
    leaked = [value for value in values if len(value) >= 5 and value.lower() in text.lower()]
    assert not leaked
    parsed = json.loads(unhardened_report.to_json())
    assert parsed["format"] == "dalink-audit-report"


def test_without_truth_reports_claims_only(tmp_path, reference, extract):
    path = tmp_path / "police.dalink"
    write_test_package(path, extract, names_schema([]))
    report = audit_package(path, reference, attacks=("frequency_alignment",))
    assert not report.evaluated and report.meets_target is None
    result = _result(report, "frequency_alignment", "family_name")
    assert result.reidentified_share is None and result.claimed_share > 0
    assert 0 < result.expected_reidentified_share <= result.claimed_share


def test_truth_must_cover_every_record(tmp_path, reference, extract):
    path = tmp_path / "police.dalink"
    write_test_package(path, extract, names_schema([]))
    with pytest.raises(AuditError, match="no row in the truth"):
        audit_package(path, reference, extract.iloc[10:], attacks=("frequency_alignment",))
    with pytest.raises(AuditError, match="unknown attack"):
        audit_package(path, reference, attacks=("guessing",))


def test_score_claims_counts():
    claims = Claims(
        attack="a",
        field="family_name",
        column="bf_family_name",
        rows=np.arange(4),
        guesses=np.array(["x", "y", None, "z"], dtype=object),
        confidence=np.array([0.9, 0.6, 0.0, 0.2]),
    )
    truth = np.array(["x", "q", "w", "z"], dtype=object)
    result = score_claims(claims, truth, threshold=0.5)
    assert result.claimed_records == 2
    assert result.reidentified_records == 1
    assert result.reidentified_share == 0.25
    assert result.correct_guess_share == 0.5
    assert result.claim_precision == 0.5
    assert result.distinct_values == 4 and result.reidentified_distinct_values == 1


def test_cli_audit(tmp_path, reference, extract):
    reference_dir = tmp_path / "reference"
    reference_dir.mkdir()
    reference.given_names.to_csv(reference_dir / "given_names.csv", index=False)
    reference.surnames.to_csv(reference_dir / "surnames.csv", index=False)
    reference.birth_years.to_csv(reference_dir / "birth_years.csv", index=False)
    small = extract.iloc[:1500]
    truth_path = tmp_path / "police.csv"
    small.to_csv(truth_path, index=False)
    package = tmp_path / "police.dalink"
    write_test_package(package, small, names_schema([]))
    runner = CliRunner()
    result = runner.invoke(
        main,
        ["audit", str(package), "--reference-frequencies", str(reference_dir), "--truth", str(truth_path),
         "--json", str(tmp_path / "audit.json"), "--quiet"],
    )
    assert result.exit_code == 0, result.output
    assert "re-identified" in result.output and "FAILS" in result.output
    assert json.loads((tmp_path / "audit.json").read_text())["evaluated"] is True
    missing = runner.invoke(main, ["audit", str(tmp_path / "nothing.dalink"), "--quiet"])
    assert missing.exit_code == 1 and "not a dalink package" in missing.output
    mismatched = runner.invoke(main, ["audit", str(package), "--truth", str(truth_path), "--truth", str(truth_path)])
    assert mismatched.exit_code == 1 and "one per package" in mismatched.output
