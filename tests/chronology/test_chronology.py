"""combined_chronology on a linked synthetic partnership: the right person's events, and only theirs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dardr_helpers import (  # noqa: F401 - linkage_dir and linked_partnership are fixtures
    OTHER_SECRET,
    TEST_SECRET,
    TODAY,
    LinkedPartnership,
    encode_subjects,
    linkage_dir,
    linked_partnership,
    subject_extract,
)
from dalink.chronology import CHRONOLOGY_COLUMNS, combined_chronology, read_audit_log
from dalink.chronology.chronology import DIRECT, THROUGH_LINKAGE
from dalink.chronology.request import RequestRefused
from dalink.chronology.sources import INPUTS_FILE
from dalink.encode.package import read_package
from dalink.errors import LinkageError, PackageError
from dalink.keys import PartnershipKey

REQUEST = {"requested_by": "Chair, DARDR panel", "reason": "DARDR 2024/01"}


def chronology(partnership: LinkedPartnership, linkage: Path, **options):
    return combined_chronology(
        linkage, partnership.subject_package, packages=list(partnership.packages), **REQUEST, **options
    )


def with_truth(events: pd.DataFrame, partnership: LinkedPartnership) -> pd.DataFrame:
    """The chronology's events with the true person behind each record and behind each subject."""
    merged = events.merge(partnership.truth(), on=["agency", "record_id"], how="left", validate="many_to_one")
    subjects = partnership.subjects.rename(columns={"record_id": "subject", "person_id": "subject_person"})
    return merged.merge(subjects[["subject", "subject_person"]], on="subject", how="left")


@pytest.fixture(scope="module")
def full_result(linked_partnership: LinkedPartnership, tmp_path_factory: pytest.TempPathFactory):
    import shutil

    linkage = tmp_path_factory.mktemp("full") / "linkage"
    shutil.copytree(linked_partnership.linkage, linkage)
    return chronology(linked_partnership, linkage, expand_entities=True)


def test_returns_the_true_persons_events(full_result, linked_partnership: LinkedPartnership) -> None:
    events = with_truth(full_result.events, linked_partnership)
    assert events["person_id"].notna().all()
    direct = events[events["linked_by"] == DIRECT]
    direct_precision = float((direct["person_id"] == direct["subject_person"]).mean())
    truth = linked_partnership.truth()
    true_records = truth[truth["person_id"].isin(linked_partnership.subjects["person_id"])]
    found = events[events["person_id"] == events["subject_person"]]
    recall = len(found.drop_duplicates(["agency", "record_id"])) / len(true_records)
    assert direct_precision >= 0.97, direct_precision
    assert recall >= 0.95, recall
    precision = float((events["person_id"] == events["subject_person"]).mean())
    assert precision >= 0.9, precision


def test_victims_chronology_holds_none_of_the_perpetrators_records(
    full_result, linked_partnership: LinkedPartnership
) -> None:
    """Victim and perpetrator appear in the same incidents; each chronology keeps to its own person."""
    events = with_truth(full_result.events, linked_partnership)
    subjects = linked_partnership.subjects.set_index("record_id")
    for subject, group in events.groupby("subject"):
        partner_person = subjects.loc[subjects.loc[subject, "partner"], "person_id"]
        assert not (group["person_id"] == partner_person).any(), subject


def test_an_invented_person_matches_nobody(linked_partnership: LinkedPartnership, linkage_dir: Path, tmp_path: Path) -> None:
    invented = pd.DataFrame(
        [
            {
                "record_id": "X1", "given_name": "Zebedee", "middle_name": None, "family_name": "Quixotically-Vantablack",
                "date_of_birth": "1901-02-03", "sex": "M", "postcode": "ZE3 9QQ", "event_date": "2024-03-31",
                "event_type": "dardr_subject", "local_authority": "E07000095", "role": "perpetrator",
                "risk_level": None, "referring_agency": None,
            }
        ]
    )
    package = encode_subjects(invented, tmp_path, PartnershipKey(TEST_SECRET), name="invented")
    result = combined_chronology(linkage_dir, package, packages=list(linked_partnership.packages), **REQUEST)
    assert len(result.events) == 0
    assert result.subjects.loc[0, "records_matched"] == 0
    assert read_audit_log(linkage_dir)[-1].events_returned == 0


def test_events_are_in_date_order_with_the_documented_columns(full_result) -> None:
    events = full_result.events
    assert tuple(events.columns) == CHRONOLOGY_COLUMNS
    dates = pd.to_datetime(events["event_date"], format="ISO8601", errors="coerce")
    assert dates.notna().all()
    assert dates.is_monotonic_increasing
    assert set(events["linked_by"]) <= {DIRECT, THROUGH_LINKAGE}
    direct = events["linked_by"] == DIRECT
    assert (events.loc[direct, "match_probability"] >= full_result.match_threshold - 1e-6).all()
    assert events["match_probability"].between(0, 1).all()
    assert set(events["subject_role"]) <= {"victim", "perpetrator"}
    for subject, count in zip(full_result.subjects["subject"], full_result.subjects["events"]):
        assert len(full_result.for_subject(subject)) == count


def test_without_entity_expansion_only_direct_matches_remain(full_result, linked_partnership, linkage_dir: Path) -> None:
    direct_only = chronology(linked_partnership, linkage_dir)  # the default
    assert (direct_only.events["linked_by"] == DIRECT).all()
    expected = full_result.events[full_result.events["linked_by"] == DIRECT]
    key = ["subject", "agency", "record_id"]
    pd.testing.assert_frame_equal(
        direct_only.events.sort_values(key).reset_index(drop=True)[key], expected.sort_values(key).reset_index(drop=True)[key]
    )


def test_a_stricter_threshold_returns_fewer_matches(full_result, linked_partnership, linkage_dir: Path) -> None:
    strict = chronology(linked_partnership, linkage_dir, match_threshold=0.999999, expand_entities=False)
    assert strict.match_threshold == pytest.approx(0.999999)
    assert strict.subjects["records_matched"].sum() <= full_result.subjects["records_matched"].sum()
    assert (strict.events["match_probability"] >= 0.999999 - 1e-6).all()


def test_subject_selection(linked_partnership: LinkedPartnership, linkage_dir: Path) -> None:
    result = chronology(linked_partnership, linkage_dir, subjects=["P2", "V1"])
    assert list(result.subjects["subject"]) == ["P2", "V1"]
    assert set(result.events["subject"]) <= {"P2", "V1"}
    assert read_audit_log(linkage_dir)[-1].subjects == ("P2", "V1")
    with pytest.raises(RequestRefused, match="1 requested subject record id"):
        chronology(linked_partnership, linkage_dir, subjects=["V1", "nobody"])


def test_packages_come_from_inputs_json(linked_partnership: LinkedPartnership, linkage_dir: Path) -> None:
    # the linker wrote inputs.json: agency, absolute path and records checksum of each package
    inputs = json.loads((linkage_dir / INPUTS_FILE).read_text())
    expected = {
        read_package(path).agency: (str(path.resolve()), read_package(path).records_sha256)
        for path in linked_partnership.packages
    }
    assert {item["agency"]: (item["path"], item["records_sha256"]) for item in inputs["packages"]} == expected
    result = combined_chronology(linkage_dir, linked_partnership.subject_package, subjects=["V1"], **REQUEST)
    assert len(result.events) > 0

    inputs["packages"][0]["records_sha256"] = "0" * 64
    (linkage_dir / INPUTS_FILE).write_text(json.dumps(inputs))
    with pytest.raises(PackageError, match="differ from those the linkage was made from"):
        combined_chronology(linkage_dir, linked_partnership.subject_package, subjects=["V1"], **REQUEST)
    # given packages take precedence over inputs.json, but are still checked against it
    with pytest.raises(PackageError, match="differ from those the linkage was made from"):
        chronology(linked_partnership, linkage_dir, subjects=["V1"])


def test_without_inputs_json_the_packages_must_be_given(linked_partnership: LinkedPartnership, linkage_dir: Path) -> None:
    (linkage_dir / INPUTS_FILE).unlink()
    with pytest.raises(LinkageError, match="--packages"):
        combined_chronology(linkage_dir, linked_partnership.subject_package, **REQUEST)
    entries = read_audit_log(linkage_dir)
    assert [entry.outcome for entry in entries] == ["failed"]
    assert entries[0].failure == "LinkageError"


def test_a_subject_encoded_under_another_key_is_refused(
    linked_partnership: LinkedPartnership, linkage_dir: Path, tmp_path: Path
) -> None:
    people = linked_partnership.synthetic.people
    frame = subject_extract(people, [("V1", int(linked_partnership.subjects.loc[0, "person_id"]))])
    package = encode_subjects(frame, tmp_path, PartnershipKey(OTHER_SECRET), name="other_key")
    with pytest.raises(PackageError, match="different partnership key"):
        combined_chronology(linkage_dir, package, packages=list(linked_partnership.packages), **REQUEST)
    assert read_audit_log(linkage_dir)[-1].outcome == "failed"


def test_packages_must_be_the_linked_ones(linked_partnership: LinkedPartnership, linkage_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(PackageError, match="were not given"):
        combined_chronology(
            linkage_dir, linked_partnership.subject_package, packages=list(linked_partnership.packages[:-1]), **REQUEST
        )
    # a package of the right agency but other records (re-encoded from a trimmed extract)
    first = read_package(linked_partnership.packages[0])
    extract = pd.read_csv(linked_partnership.root / "data" / f"{first.agency}.csv", dtype=str).iloc[:-1]
    trimmed = tmp_path / f"{first.agency}.csv"
    extract.to_csv(trimmed, index=False)
    from dalink.encode.encoder import encode_file

    encode_file(trimmed, tmp_path / "trimmed.dalink", agency=first.agency, key=PartnershipKey(TEST_SECRET), today=TODAY)
    packages = [tmp_path / "trimmed.dalink", *linked_partnership.packages[1:]]
    # refused by the records checksum in inputs.json, and without it by the record ids
    with pytest.raises(PackageError, match="differ from those the linkage was made from"):
        combined_chronology(linkage_dir, linked_partnership.subject_package, packages=packages, **REQUEST)
    (linkage_dir / INPUTS_FILE).unlink()
    with pytest.raises(PackageError, match="not the ones linked"):
        combined_chronology(linkage_dir, linked_partnership.subject_package, packages=packages, **REQUEST)


def test_subject_agency_must_differ_from_linked_agencies(
    linked_partnership: LinkedPartnership, linkage_dir: Path, tmp_path: Path
) -> None:
    from dalink.encode.encoder import encode_file

    people = linked_partnership.synthetic.people
    frame = subject_extract(people, [("V1", int(linked_partnership.subjects.loc[0, "person_id"]))])
    frame.to_csv(tmp_path / "s.csv", index=False)
    agency = read_package(linked_partnership.packages[0]).agency
    encode_file(tmp_path / "s.csv", tmp_path / "s.dalink", agency=agency, key=PartnershipKey(TEST_SECRET), today=TODAY)
    with pytest.raises(PackageError, match="another --agency name"):
        combined_chronology(linkage_dir, tmp_path / "s.dalink", packages=list(linked_partnership.packages), **REQUEST)


def test_matching_is_the_linkers_scoring(linked_partnership: LinkedPartnership, linkage_dir: Path) -> None:
    """A subject record identical to a linked record scores what the model gives that pattern."""
    from dalink.chronology.matching import match_subjects
    from dalink.chronology.sources import open_linkage
    from dalink.match.compare import comparison_levels
    from dalink.match.load import record_set

    subject = read_package(linked_partnership.subject_package)
    sources = open_linkage(linkage_dir, subject, packages=list(linked_partnership.packages))
    scores = match_subjects(sources, subject, ["V2"], chunk_records=97)  # odd chunks: the seams must not matter
    records = record_set([*sources.packages, subject])
    linked = len(records) - len(subject)
    subject_index = linked + int(np.flatnonzero(records.record_ids[linked:] == "V2")[0])
    sample = np.arange(0, linked, 7)
    levels = comparison_levels(records, sources.model.comparisons, np.full(len(sample), subject_index), sample)
    np.testing.assert_allclose(scores.probability[0, sample], sources.model.match_probability(levels))
