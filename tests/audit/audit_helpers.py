"""A small synthetic population drawn from a small public table: the attacker's best case.

The population is sampled from the very frequencies the attacker holds, so the audit's
attacks must succeed on unhardened encodings here; a hardened schema must do much better.
"""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd

from dalink.audit.frequencies import ReferenceFrequencies
from dalink.encode.extract import Extract
from dalink.encode.package import write_package
from dalink.encode.encoder import encode_frame
from dalink.encode.schema import LinkageSchema, parse_schema
from dalink.keys import PartnershipKey

AUDIT_SECRET = bytes(range(140, 172))
TODAY = datetime.date(2026, 1, 1)
SYLLABLES = "ba be bo ka ke ko la le lo ma me mo na ne no ra re ro sa se so ta te to".split()


def _names(count: int, seed: int) -> list[str]:
    generator = np.random.default_rng(seed)
    names: set[str] = set()
    while len(names) < count:
        parts = generator.choice(SYLLABLES, size=int(generator.integers(2, 4)))
        names.add("".join(parts).capitalize())
    return sorted(names)


def small_reference() -> ReferenceFrequencies:
    """Zipf-distributed invented names (never real people) and a birth-year table."""
    given = _names(120, 1)
    family = _names(300, 2)
    given_weights = 1000 / np.arange(1, len(given) + 1)
    family_weights = 1000 / np.arange(1, len(family) + 1) ** 0.9
    sexes = np.where(np.arange(len(given)) % 2 == 0, "F", "M")
    return ReferenceFrequencies(
        given_names=pd.DataFrame({"name": given, "sex": sexes, "weight": given_weights}),
        surnames=pd.DataFrame({"name": family, "weight": family_weights}),
        birth_years=pd.DataFrame({"year": np.arange(1975, 1995), "weight": np.ones(20)}),
        source="test tables",
    )


def sample_extract(reference: ReferenceFrequencies, records: int, seed: int = 0) -> pd.DataFrame:
    generator = np.random.default_rng(seed)
    given = reference.given_names
    family = reference.surnames
    given_rows = generator.choice(len(given), size=records, p=given["weight"] / given["weight"].sum())
    family_rows = generator.choice(len(family), size=records, p=family["weight"] / family["weight"].sum())
    years = generator.integers(1975, 1995, size=records)
    days = generator.integers(0, 365, size=records)
    dates = [(datetime.date(int(year), 1, 1) + datetime.timedelta(days=int(day))).isoformat() for year, day in zip(years, days)]
    return pd.DataFrame(
        {
            "record_id": [f"R{index:05d}" for index in range(records)],
            "given_name": given["name"].to_numpy()[given_rows],
            "middle_name": None,
            "family_name": family["name"].to_numpy()[family_rows],
            "date_of_birth": dates,
            "sex": given["sex"].to_numpy()[given_rows],
            "postcode": None,
            "event_date": "2024-01-01",
            "event_type": "incident",
            "local_authority": None,
            "role": "victim",
            "risk_level": None,
            "referring_agency": None,
        }
    )


def names_schema(hardening: list[dict], *, blocking_keys: list[dict] | None = None) -> LinkageSchema:
    fields = [
        {"name": name, "tokens": {"kind": "qgram", "q": 2}, "bits": 512, "hash_functions": 12, "hardening": hardening}
        for name in ("given_name", "family_name")
    ]
    return parse_schema({"name": "audit-test", "fields": fields, "blocking_keys": blocking_keys or []})


def write_test_package(path, extract: pd.DataFrame, schema: LinkageSchema, agency: str = "police"):
    rows = extract.copy()
    rows["row_number"] = np.arange(1, len(rows) + 1)
    key = PartnershipKey(AUDIT_SECRET)
    result = encode_frame(Extract(source="test", rows=rows, rows_read=len(rows)), agency=agency, key=key, schema=schema, today=TODAY)
    return write_package(
        path,
        table=result.table,
        rejects=result.rejects,
        manifest_fields={
            "agency": agency,
            "source_name": "test.csv",
            "schema": schema,
            "schema_hash": schema.hash,
            "key_fingerprint": key.fingerprint,
            "counts": result.counts,
        },
    )


