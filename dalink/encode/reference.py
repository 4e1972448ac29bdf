"""A readable, record-at-a-time Bloom-filter encoder: the specification the fast path is tested against.

It shares only the primitives that *define* the encoding (token positions, the keyed
permutation, SplitMix64, the record seed) with :mod:`dalink.encode.encoder`; everything
the fast path vectorises (distinct-value caching, bit matrices, hardening) is redone here
with plain lists.
"""

from __future__ import annotations

from collections.abc import Mapping

from dalink.encode.bloom import salt_value, salted, token_positions
from dalink.encode.hardening import (
    _GOLDEN,
    _MASK64,
    field_constant,
    flip_count_table,
    keyed_permutation,
    record_seeds,
    splitmix64_int,
)
from dalink.encode.schema import Balance, FieldSpec, LinkageSchema, RandomBitFlip, Rule90, Salt, XorFold
from dalink.encode.tokenise import field_tokens
from dalink.keys import PartnershipKey


def _record_seed(noise_key: bytes, agency: str, record_id: str) -> int:
    return int(record_seeds(noise_key, agency, [record_id])[0])


def encode_field_reference(
    record: Mapping[str, str | None], spec: FieldSpec, key: PartnershipKey, *, agency: str, record_id: str
) -> bytes | None:
    """One field of one normalised record, as packed bytes (None if the value is missing)."""
    value = record.get(spec.name)
    if value is None:
        return None
    salt = None
    for step in spec.hardening:
        if isinstance(step, Salt):
            salt = salt_value(step, record.get("date_of_birth"), record.get("sex"))
    field_key = key.derive(f"bloom/{spec.name}", 64)
    bits = [0] * spec.bits
    for token in field_tokens(value, spec):
        for position in token_positions(field_key, salted(token, salt), spec.hash_functions, spec.bits):
            bits[position] = 1
    noise_key = key.derive("noise", 64)
    for step in spec.hardening:
        if isinstance(step, Balance):
            doubled = bits + [1 - bit for bit in bits]
            permutation = keyed_permutation(key.derive(f"permute/{spec.name}", 64), len(doubled))
            bits = [doubled[index] for index in permutation]
        elif isinstance(step, XorFold):
            for _ in range(step.folds):
                half = len(bits) // 2
                bits = [left ^ right for left, right in zip(bits[:half], bits[half:])]
        elif isinstance(step, Rule90):
            bits = [bits[index - 1] ^ bits[(index + 1) % len(bits)] for index in range(len(bits))]
        elif isinstance(step, RandomBitFlip):
            seed = _record_seed(noise_key, agency, record_id) ^ field_constant(noise_key, spec.name)
            base = splitmix64_int(seed)
            cumulative = flip_count_table(len(bits), step.probability).tolist()
            uniform = (splitmix64_int((base + _GOLDEN) & _MASK64) >> 11) / float(1 << 53)
            count = min(sum(1 for value in cumulative if value <= uniform), len(cumulative) - 1)
            for index in range(count):
                word = splitmix64_int((base + (2 + index // 4) * _GOLDEN) & _MASK64)
                lane = (word >> (16 * (index % 4))) & 0xFFFF
                bits[lane % len(bits)] ^= 1
    packed = bytearray()
    for start in range(0, len(bits), 8):
        byte = 0
        for bit in bits[start : start + 8]:
            byte = (byte << 1) | bit
        packed.append(byte)
    return bytes(packed)


def encode_record_reference(
    record: Mapping[str, str | None], schema: LinkageSchema, key: PartnershipKey, *, agency: str, record_id: str
) -> dict[str, bytes | None]:
    """Every field of one normalised record."""
    return {
        spec.name: encode_field_reference(record, spec, key, agency=agency, record_id=record_id)
        for spec in schema.fields
    }
