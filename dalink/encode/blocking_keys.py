"""Keyed blocking keys: which records the linker should compare at all.

A blocking key is a keyed 64-bit BLAKE2b hash of a few coarse identifier parts (a surname's
Soundex code and the birth year, say). Records that share a key become candidate pairs.
The hash is keyed with a per-key HKDF subkey, so the linker cannot test guesses; but equal
inputs give equal keys, so a blocking key is as frequency-skewed as its parts: combine parts
so that no single key value is common (the privacy audit measures this).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from dalink.encode.schema import BlockingKeySpec, BlockingPart
from dalink.keys import PartnershipKey


def part_value(value: str | None, part: BlockingPart) -> str | None:
    """The transformed value of one part, or None if it cannot be formed."""
    if value is None or value == "":
        return None
    transform = part.transform
    if transform == "value":
        return value
    if transform == "initial":
        return value[0]
    if transform == "year":
        return value[:4]
    if transform == "month_day":
        return value[5:10]
    if transform == "district":
        return value.partition(" ")[0]
    from dalink.encode import normalise

    if transform == "nickname_soundex":
        return normalise.phonetic_code(normalise.canonical_given_name(value), "soundex")
    return normalise.phonetic_code(value, transform)


def blocking_key_text(values: dict[str, str | None], spec: BlockingKeySpec) -> str | None:
    """The text hashed for one record (None when any part is missing)."""
    parts = []
    for part in spec.parts:
        transformed = part_value(values.get(part.field), part)
        if transformed is None:
            return None
        parts.append(f"{part.field}.{part.transform}={transformed}")
    if spec.unordered:
        parts = sorted(transformed.partition("=")[2] for transformed in parts)
    return "\x1f".join(parts)


def hash_blocking_text(block_key: bytes, text: str) -> int:
    """Keyed 64-bit hash, as a signed integer (Parquet's int64)."""
    digest = hashlib.blake2b(text.encode("utf-8"), key=block_key, digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def blocking_key_column(normalised: pd.DataFrame, spec: BlockingKeySpec, key: PartnershipKey) -> pd.Series:
    """One blocking key for every row of ``normalised`` (nullable Int64; missing where a part is)."""
    if normalised.empty:
        return pd.Series(pd.array([], dtype="Int64"), index=normalised.index, name=f"bk_{spec.name}")
    block_key = key.derive(f"block/{spec.name}", 64)
    fields = sorted({part.field for part in spec.parts})
    combined = normalised[fields].astype(object).where(normalised[fields].notna(), None)
    codes, uniques = pd.factorize(pd.MultiIndex.from_frame(combined), use_na_sentinel=False)
    hashed: list[int | None] = []
    for combination in uniques:
        values = dict(zip(fields, combination if isinstance(combination, tuple) else (combination,)))
        values = {name: (None if value is None or value != value else value) for name, value in values.items()}
        text = blocking_key_text(values, spec)
        hashed.append(None if text is None else hash_blocking_text(block_key, text))
    lookup = pd.array(hashed, dtype="Int64")
    return pd.Series(lookup[np.asarray(codes)], index=normalised.index, name=f"bk_{spec.name}")
