"""Helpers and fixtures for the chronology tests: a linked synthetic partnership and its review subjects.

The review chair's office knows who the subjects are; here the synthetic truth plays that
part: a subject's extract row is the person's true identity (name, date of birth, home
postcode), and ``person_id`` says which records are really theirs. Invented people only.

The fixtures live here rather than in a ``conftest.py``: test modules elsewhere import
``conftest`` by name, and another ``conftest`` module in this folder would shadow theirs.
Test modules import the fixtures they use; the partnership is built once per process.
"""

from __future__ import annotations

import atexit
import dataclasses
import datetime
import functools
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from dalink.encode.encoder import encode_file
from dalink.keys import PartnershipKey
from dalink.match.linker import link
from dalink.synth import SyntheticPartnership, synthesise, write_partnership

TEST_SECRET = bytes(range(100, 132))
OTHER_SECRET = bytes(range(1, 33))
TODAY = datetime.date(2026, 11, 23)
REVIEW_DATE = "2024-03-31"
SUBJECT_AGENCY = "dardr"


@dataclasses.dataclass(frozen=True)
class LinkedPartnership:
    root: Path
    synthetic: SyntheticPartnership
    packages: tuple[Path, ...]
    linkage: Path
    subject_package: Path
    subjects: pd.DataFrame
    """record_id (subject id), person_id, kind, partner (the other subject of the same review)."""

    def truth(self) -> pd.DataFrame:
        return self.synthetic.truth.astype({"record_id": str})


def subject_extract(people: pd.DataFrame, rows: list[tuple[str, int]], event_date: str = REVIEW_DATE) -> pd.DataFrame:
    """Extract rows for subjects ``(record_id, person_id)`` from the people's true identities."""
    by_id = people.set_index("person_id")
    records = []
    for record_id, person_id in rows:
        person = by_id.loc[person_id]
        records.append(
            {
                "record_id": record_id,
                "given_name": person["given_name"],
                "middle_name": person["middle_name"],
                "family_name": person["family_name"],
                "date_of_birth": person["date_of_birth"],
                "sex": person["sex"],
                "postcode": person["home_postcode"],
                "event_date": event_date,
                "event_type": "dardr_subject",
                "local_authority": person["home_local_authority"],
                "role": person["kind"],
                "risk_level": None,
                "referring_agency": None,
            }
        )
    return pd.DataFrame(records)


def encode_subjects(frame: pd.DataFrame, directory: Path, key: PartnershipKey, name: str = "subject") -> Path:
    source = directory / f"{name}.csv"
    frame.to_csv(source, index=False)
    output = directory / f"{name}.dalink"
    encode_file(source, output, agency=SUBJECT_AGENCY, key=key, today=TODAY)
    return output


@functools.lru_cache(maxsize=1)
def build_linked_partnership() -> LinkedPartnership:
    """Synthesise, encode and link a small partnership; encode 15 victims and their perpetrators."""
    root = Path(tempfile.mkdtemp(prefix="dalink-dardr-tests-"))
    atexit.register(shutil.rmtree, root, True)
    synthetic = synthesise(people=1000, seed=5)
    write_partnership(root / "data", synthetic)
    key = PartnershipKey(TEST_SECRET)
    packages = []
    for agency in synthetic.extracts:
        output = root / f"{agency}.dalink"
        encode_file(root / "data" / f"{agency}.csv", output, agency=agency, key=key, today=TODAY)
        packages.append(output)
    link(packages, root / "linkage")

    people = synthetic.people
    victims = people[(people["kind"] == "victim") & (people["records"] >= 2)].sort_values("person_id")
    victims = victims[victims["perpetrator_id"].isin(people.loc[people["records"] >= 1, "person_id"])].head(15)
    rows, meta = [], []
    for number, victim in enumerate(victims.itertuples(index=False), start=1):
        rows += [(f"V{number}", int(victim.person_id)), (f"P{number}", int(victim.perpetrator_id))]
        meta += [
            {"record_id": f"V{number}", "person_id": int(victim.person_id), "kind": "victim", "partner": f"P{number}"},
            {"record_id": f"P{number}", "person_id": int(victim.perpetrator_id), "kind": "perpetrator", "partner": f"V{number}"},
        ]
    subject_package = encode_subjects(subject_extract(people, rows), root, key)
    return LinkedPartnership(
        root=root,
        synthetic=synthetic,
        packages=tuple(packages),
        linkage=root / "linkage",
        subject_package=subject_package,
        subjects=pd.DataFrame(meta),
    )


@pytest.fixture(scope="session")
def linked_partnership() -> LinkedPartnership:
    return build_linked_partnership()


@pytest.fixture
def linkage_dir(linked_partnership: LinkedPartnership, tmp_path: Path) -> Path:
    """A private copy of the linkage directory, so each test sees its own audit log."""
    target = tmp_path / "linkage"
    shutil.copytree(linked_partnership.linkage, target)
    return target
