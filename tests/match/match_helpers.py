"""Helpers for the linker tests: a small synthetic partnership, encoded, and pairwise scoring."""

from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from dalink.encode.encoder import encode_file
from dalink.keys import PartnershipKey

TEST_SECRET = bytes(range(100, 132))
TODAY = datetime.date(2026, 11, 23)
GIVEN = [
    "amelia", "olivia", "isla", "ava", "mia", "ivy", "lily", "isabella", "rosie", "sophia", "grace", "freya",
    "willow", "florence", "emily", "ella", "poppy", "evie", "elsie", "charlotte", "evelyn", "sienna", "daisy",
    "harper", "jessica", "chloe", "hannah", "lucy", "megan", "katherine", "rebecca", "samantha", "victoria",
    "noah", "oliver", "george", "arthur", "muhammad", "leo", "harry", "oscar", "archie", "henry", "theodore",
    "freddie", "jack", "charlie", "thomas", "james", "william", "alexander", "robert", "daniel", "michael",
]
FAMILY = [
    "smith", "jones", "taylor", "brown", "williams", "wilson", "johnson", "davies", "patel", "robinson",
    "wright", "thompson", "evans", "walker", "white", "roberts", "green", "hall", "thomas", "clarke",
    "jackson", "wood", "harris", "edwards", "turner", "martin", "cooper", "hill", "ward", "hughes", "moore",
    "clark", "king", "harrison", "lewis", "baker", "lee", "allen", "morris", "khan", "scott", "watson",
    "davis", "parker", "james", "bennett", "young", "phillips", "richardson", "mitchell", "bailey", "carter",
    "cook", "singh", "shaw", "bell", "collins", "morgan", "kelly", "begum", "miller", "cox", "hussain",
    "marshall", "simpson", "price", "anderson", "adams", "wilkinson", "ali", "ahmed", "foster", "ellis",
]
AGENCIES = ("police", "marac", "refuge")
LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


def _typo(text: str, generator: np.random.Generator) -> str:
    if len(text) < 3:
        return text
    position = int(generator.integers(1, len(text) - 1))
    choice = generator.integers(0, 3)
    if choice == 0:
        return text[:position] + text[position + 1 :]
    if choice == 1:
        return text[:position] + text[position + 1] + text[position] + text[position + 2 :]
    return text[:position] + "aeiou"[int(generator.integers(0, 5))] + text[position + 1 :]


def synthetic_partnership(people: int = 400, seed: int = 1) -> dict[str, pd.DataFrame]:
    """Extracts of three agencies; ``record_id`` is ``<person>-<n>`` so truth is recoverable."""
    generator = np.random.default_rng(seed)
    rows: dict[str, list[dict]] = {agency: [] for agency in AGENCIES}
    for person in range(people):
        given = GIVEN[int(generator.integers(len(GIVEN)))]
        family = FAMILY[int(generator.integers(len(FAMILY)))]
        if generator.random() < 0.3:
            family = family + "-" + FAMILY[int(generator.integers(len(FAMILY)))]
        birth = datetime.date(1950, 1, 1) + datetime.timedelta(days=int(generator.integers(0, 20000)))
        sex = "F" if generator.random() < 0.7 else "M"
        district = f"{LETTERS[int(generator.integers(len(LETTERS)))]}{LETTERS[int(generator.integers(len(LETTERS)))]}{int(generator.integers(1, 30))}"
        postcode = f"{district} {int(generator.integers(1, 9))}{LETTERS[int(generator.integers(len(LETTERS)))]}{LETTERS[int(generator.integers(len(LETTERS)))]}"
        for copy in range(int(generator.integers(1, 5))):
            agency = AGENCIES[int(generator.integers(len(AGENCIES)))]
            record_given, record_family, record_birth, record_postcode = given, family, birth, postcode
            if generator.random() < 0.12:
                record_given = _typo(record_given, generator)
            if generator.random() < 0.12:
                record_family = _typo(record_family, generator)
            if generator.random() < 0.05 and record_birth.day <= 12:
                record_birth = record_birth.replace(day=record_birth.month, month=record_birth.day)
            date_text = record_birth.isoformat() if generator.random() < 0.95 else ""
            if generator.random() < 0.2 or agency == "refuge":
                record_postcode = ""
            rows[agency].append(
                {
                    "record_id": f"{person}-{copy}",
                    "given_name": record_given.title(),
                    "middle_name": "",
                    "family_name": record_family.upper() if generator.random() < 0.3 else record_family.title(),
                    "date_of_birth": date_text,
                    "sex": sex,
                    "postcode": record_postcode,
                    "event_date": (datetime.date(2023, 1, 1) + datetime.timedelta(days=int(generator.integers(0, 600)))).isoformat(),
                    "event_type": {"police": "incident", "marac": "marac_referral", "refuge": "refuge_referral"}[agency],
                    "local_authority": "E07000192",
                    "role": "victim",
                    "risk_level": "",
                    "referring_agency": "",
                }
            )
    return {agency: pd.DataFrame(records) for agency, records in rows.items() if records}


def encode_partnership(directory: Path, extracts: dict[str, pd.DataFrame], key: PartnershipKey) -> list[Path]:
    paths = []
    for agency, frame in extracts.items():
        source = directory / f"{agency}.csv"
        frame.to_csv(source, index=False)
        encode_file(source, directory / f"{agency}.dalink", agency=agency, key=key, today=TODAY)
        paths.append(directory / f"{agency}.dalink")
    return paths


def pairwise_f1(entities: pd.DataFrame) -> float:
    """F1 of same-entity pairs against the truth in ``record_id`` (``<person>-<n>``)."""
    frame = entities.assign(person=entities["record_id"].str.split("-").str[0])

    def pairs(column: str) -> set[tuple[str, str]]:
        found = set()
        for members in frame.assign(member=frame["agency"] + ":" + frame["record_id"]).groupby(column)["member"]:
            ordered = sorted(members[1])
            found.update((a, b) for i, a in enumerate(ordered) for b in ordered[i + 1 :])
        return found

    predicted, true = pairs("entity_id"), pairs("person")
    if not predicted or not true:
        return 0.0
    hits = len(predicted & true)
    precision, recall = hits / len(predicted), hits / len(true)
    return 2 * precision * recall / (precision + recall) if hits else 0.0
