"""Restricted use: no request without requester and reason, and an audit entry for every request."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dardr_helpers import LinkedPartnership, linkage_dir, linked_partnership  # noqa: F401 - fixtures
from dalink.chronology import AUDIT_FILE, combined_chronology, read_audit_log, verify_audit_log
from dalink.chronology.audit_log import AuditEntry, AuditLogError, append_audit_entry
from dalink.chronology.request import ChronologyRequest, RequestRefused

REQUEST = {"requested_by": "Chair, DARDR panel", "reason": "DARDR 2024/01"}
BLANK = st.sampled_from(["", " ", "\t", "\n  ", "\u00a0"])


@pytest.mark.parametrize(
    "requested_by, reason, missing",
    [
        (None, "DARDR 2024/01", "--requested-by"),
        ("", "DARDR 2024/01", "--requested-by"),
        ("   ", "DARDR 2024/01", "--requested-by"),
        ("Chair", None, "--reason"),
        ("Chair", "", "--reason"),
        (None, None, "--requested-by"),
    ],
)
def test_refused_without_requester_and_reason(requested_by, reason, missing, tmp_path: Path) -> None:
    """Refused before anything is read: a missing linkage directory is not even noticed."""
    with pytest.raises(RequestRefused, match=missing):
        combined_chronology(tmp_path / "nowhere", tmp_path / "none.dalink", requested_by=requested_by, reason=reason)
    assert not list(tmp_path.iterdir())


def test_refusal_reads_nothing_and_logs_nothing(linked_partnership: LinkedPartnership, linkage_dir: Path) -> None:
    with pytest.raises(RequestRefused):
        combined_chronology(
            linkage_dir, linked_partnership.subject_package, requested_by="Chair", reason=" ",
            packages=list(linked_partnership.packages),
        )
    assert not (linkage_dir / AUDIT_FILE).exists()


@given(requested_by=BLANK, reason=st.text(min_size=1, max_size=40))
@settings(max_examples=40, deadline=None)
def test_blank_requesters_are_always_refused(requested_by: str, reason: str) -> None:
    with pytest.raises(RequestRefused):
        ChronologyRequest(requested_by=requested_by, reason=reason)


@given(
    requested_by=st.text(min_size=1, max_size=60).filter(lambda text: text.strip()),
    reason=st.text(min_size=1, max_size=60).filter(lambda text: text.strip()),
)
@settings(max_examples=60, deadline=None)
def test_any_non_blank_request_is_accepted_and_normalised(requested_by: str, reason: str) -> None:
    request = ChronologyRequest(requested_by=requested_by, reason=reason)
    assert request.requested_by == " ".join(requested_by.split())
    assert request.reason == " ".join(reason.split())


def test_overlong_and_blank_subject_ids_are_refused() -> None:
    with pytest.raises(RequestRefused, match="longer than"):
        ChronologyRequest(requested_by="Chair", reason="x" * 1001)
    with pytest.raises(RequestRefused, match="blank"):
        ChronologyRequest(requested_by="Chair", reason="review", subjects=("V1", " "))
    assert ChronologyRequest(requested_by="Chair", reason="review", subjects=("V1", "V1", "P1")).subjects == ("V1", "P1")


def test_every_request_is_logged(linked_partnership: LinkedPartnership, linkage_dir: Path) -> None:
    packages = list(linked_partnership.packages)
    first = combined_chronology(linkage_dir, linked_partnership.subject_package, packages=packages, subjects=["V1"], **REQUEST)
    second = combined_chronology(
        linkage_dir, linked_partnership.subject_package, packages=packages, requested_by="Office of the chair",
        reason="DARDR 2024/02", expand_entities=True,
    )
    path = linkage_dir / AUDIT_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    entries = read_audit_log(linkage_dir)
    assert [entry.request_id for entry in entries] == [first.request_id, second.request_id]
    assert entries[0].requested_by == "Chair, DARDR panel" and entries[0].reason == "DARDR 2024/01"
    assert entries[0].subjects == ("V1",)
    assert entries[0].events_returned == len(first.events)
    assert entries[0].events_by_subject == {"V1": len(first.events)}
    assert entries[1].subjects == tuple(linked_partnership.subjects["record_id"])
    assert entries[1].events_returned == len(second.events)
    assert entries[1].outcome == "returned" and entries[1].match_threshold == second.match_threshold
    assert entries[1].expand_entities is True
    assert {package.agency for package in entries[1].linkage_packages} == set(linked_partnership.synthetic.extracts)
    assert entries[0].requested_at.tzinfo is not None
    assert verify_audit_log(linkage_dir) == 2
    assert first.audit_entry == entries[0]


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.items() for part in item for text in _strings(part)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


def test_the_log_holds_no_identifiers(linked_partnership: LinkedPartnership, linkage_dir: Path) -> None:
    combined_chronology(linkage_dir, linked_partnership.subject_package, packages=list(linked_partnership.packages), **REQUEST)
    strings = [
        text
        for line in (linkage_dir / AUDIT_FILE).read_text(encoding="utf-8").splitlines()
        for text in _strings(json.loads(line))
    ]
    people = linked_partnership.synthetic.people.set_index("person_id").loc[linked_partnership.subjects["person_id"]]
    for column in ("given_name", "family_name", "date_of_birth", "home_postcode"):
        for value in people[column].dropna().astype(str):
            pattern = re.compile(rf"\b{re.escape(value)}\b", re.IGNORECASE)
            assert not any(pattern.search(text) for text in strings), column


def test_nothing_is_returned_when_the_log_cannot_be_written(
    linked_partnership: LinkedPartnership, linkage_dir: Path
) -> None:
    (linkage_dir / AUDIT_FILE).mkdir()  # a directory where the log should be: opening it fails, even as root
    with pytest.raises(AuditLogError, match="nothing was returned"):
        combined_chronology(linkage_dir, linked_partnership.subject_package, packages=list(linked_partnership.packages), **REQUEST)


def test_the_log_is_written_before_the_result_is_returned(
    linked_partnership: LinkedPartnership, linkage_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dalink.chronology.chronology as module

    seen: list[int] = []
    original = module.append_audit_entry

    def recording(directory, entry):
        written = original(directory, entry)
        seen.append(len(read_audit_log(directory)))
        return written

    monkeypatch.setattr(module, "append_audit_entry", recording)
    result = combined_chronology(
        linkage_dir, linked_partnership.subject_package, packages=list(linked_partnership.packages), subjects=["V1"], **REQUEST
    )
    assert seen == [1] and result.audit_entry.request_id == read_audit_log(linkage_dir)[0].request_id


def _entry(number: int) -> AuditEntry:
    import datetime

    return AuditEntry(
        request_id=f"r{number}",
        requested_at=datetime.datetime(2024, 1, number, tzinfo=datetime.timezone.utc),
        requested_by="Chair",
        reason=f"review {number}",
        outcome="returned",
        subjects=("V1",),
        events_returned=number,
    )


def test_removing_or_editing_an_entry_breaks_the_chain(tmp_path: Path) -> None:
    for number in range(1, 5):
        append_audit_entry(tmp_path, _entry(number))
    assert verify_audit_log(tmp_path) == 4
    assert read_audit_log(tmp_path)[0].previous_entry_sha256 is None
    path = tmp_path / AUDIT_FILE
    lines = path.read_text().splitlines()

    path.write_text("\n".join(lines[:1] + lines[2:]) + "\n")  # an entry removed
    with pytest.raises(AuditLogError, match="line 2"):
        verify_audit_log(tmp_path)

    edited = json.loads(lines[1])
    edited["events_returned"] = 99
    path.write_text("\n".join([lines[0], json.dumps(edited, sort_keys=True), *lines[2:]]) + "\n")
    with pytest.raises(AuditLogError, match="line 3"):
        verify_audit_log(tmp_path)


def test_a_broken_line_is_reported_by_number(tmp_path: Path) -> None:
    append_audit_entry(tmp_path, _entry(1))
    with (tmp_path / AUDIT_FILE).open("a") as handle:
        handle.write("{not json\n")
    with pytest.raises(AuditLogError, match="line 2"):
        read_audit_log(tmp_path)
    with pytest.raises(AuditLogError, match="line 2"):
        verify_audit_log(tmp_path)


def test_appending_to_a_large_log_chains_to_the_last_line(tmp_path: Path) -> None:
    """The last line is found by reading backwards, across block boundaries."""
    for number in range(1, 29):
        append_audit_entry(tmp_path, _entry(number).model_copy(update={"reason": "r" * (number * 97 % 700)}))
    assert verify_audit_log(tmp_path) == 28
