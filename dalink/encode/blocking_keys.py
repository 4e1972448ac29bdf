"""Keyed blocking keys: which records the linker should compare at all.

A blocking key combines a few coarse identifier parts (a surname's Soundex code and the
birth year, say); records that share a key become candidate pairs. Each transformed part
value is hashed with keyed SipHash-2-4 under the blocking key's own HKDF subkey, and
the part hashes are combined with the SplitMix64 mixer. The linker therefore cannot test
guesses without the key. Equal inputs still give equal keys, so a blocking key is as
frequency-skewed as its parts: combine parts so that no single key value is common (the
privacy audit measures this).

Work is done per distinct part value (a few thousand surnames, not a million rows), then
combined with vectorised integer arithmetic.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from dalink.encode.hardening import splitmix64
from dalink.encode.keyed_hash import siphash_strings
from dalink.encode.normalise import CodedColumn
from dalink.encode.schema import BlockingKeySpec, BlockingPart
from dalink.keys import PartnershipKey

_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)


def part_value(value: str | None, part: BlockingPart) -> str | None:
    """The transformed value of one part, or None if it cannot be formed."""
    if value is None or value == "" or value != value:
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


def part_text(part: BlockingPart, transformed: str, *, unordered: bool) -> str:
    """What is hashed for one part.

    Unordered keys hash the transformed value alone, so that a given name recorded as the
    family name (and vice versa) gives the same part hashes in the other order.
    """
    return transformed if unordered else f"{part.field}.{part.transform}={transformed}"


def hash_part(block_key: bytes, text: str) -> int:
    """Keyed 64-bit hash of one part (unsigned): SipHash-2-4 under the blocking key's subkey."""
    return int(siphash_strings([text], block_key)[0])


def combine_part_hashes(part_hashes: list[np.ndarray], *, unordered: bool) -> np.ndarray:
    """Mix part hashes (uint64 arrays) into one key; sorted first when the key is unordered."""
    stacked = np.stack(part_hashes, axis=1)
    if unordered:
        stacked = np.sort(stacked, axis=1)
    combined = np.zeros(stacked.shape[0], dtype=np.uint64)
    with np.errstate(over="ignore"):
        for column in range(stacked.shape[1]):
            combined = splitmix64(combined * _MULTIPLIER + stacked[:, column])
    return combined


def blocking_key_reference(values: dict[str, str | None], spec: BlockingKeySpec, key: PartnershipKey) -> int | None:
    """The blocking key of one normalised record, computed plainly (the specification)."""
    block_key = key.derive(f"block/{spec.name}", 64)
    hashes = []
    for part in spec.parts:
        transformed = part_value(values.get(part.field), part)
        if transformed is None:
            return None
        hashes.append(np.array([hash_part(block_key, part_text(part, transformed, unordered=spec.unordered))], dtype=np.uint64))
    return int(combine_part_hashes(hashes, unordered=spec.unordered).view(np.int64)[0])


def blocking_key_column(
    identifiers: Mapping[str, CodedColumn], spec: BlockingKeySpec, key: PartnershipKey
) -> tuple[np.ndarray, np.ndarray]:
    """One blocking key for every row (int64) and where it exists (a part is missing elsewhere).

    ``identifiers`` are the normalised identifier columns as codes into their distinct
    values, so each part is transformed and hashed once per distinct value.
    """
    block_key = key.derive(f"block/{spec.name}", 64)
    rows = len(next(iter(identifiers.values())).codes) if identifiers else 0
    missing = np.zeros(rows, dtype=bool)
    part_hashes = []
    for part in spec.parts:
        column = identifiers[part.field]
        transformed = [part_value(value, part) for value in column.uniques]
        valid = np.array([value is not None for value in transformed] + [False], dtype=bool)
        texts = [part_text(part, value, unordered=spec.unordered) for value in transformed if value is not None]
        hashed = np.zeros(len(column.uniques) + 1, dtype=np.uint64)
        hashed[np.flatnonzero(valid)] = siphash_strings(texts, block_key)
        missing |= ~valid[column.codes]  # code -1 picks the final, invalid slot
        part_hashes.append(hashed[column.codes])
    if not part_hashes or rows == 0:
        return np.zeros(rows, dtype=np.int64), np.zeros(rows, dtype=bool)
    combined = combine_part_hashes(part_hashes, unordered=spec.unordered).view(np.int64)
    return np.where(missing, 0, combined), ~missing
