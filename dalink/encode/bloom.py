"""Keyed Bloom-filter encoding of one identifier field, by random hashing.

Each token sets ``hash_functions`` bit positions drawn from a keyed BLAKE2b of the token
(BLAKE2b in keyed mode is a MAC, so this is HMAC-class). Unlike double hashing
(``h1 + i*h2``), whose positions for a token lie on an arithmetic progression that
pattern-mining attacks exploit, random hashing gives independent positions per token.
The key is a per-field subkey from HKDF, so the same name has unrelated positions in
``given_name`` and ``family_name`` and under different partnership keys.

Positions are cached per token: a field's vocabulary (bigrams, date parts) is small, so
hashing costs almost nothing after the first few thousand records. Distinct values are
encoded once and copied to every row holding them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd

from dalink.encode.schema import FieldSpec, Salt
from dalink.encode.tokenise import field_tokens, token_groups
from dalink.keys import PartnershipKey

_SALT_SEPARATOR = "\x1f"


def token_positions(field_key: bytes, token: str, hash_functions: int, bits: int) -> list[int]:
    """The bit positions one token sets: ``hash_functions`` keyed 32-bit values modulo ``bits``."""
    positions: list[int] = []
    block = 0
    data = token.encode("utf-8")
    while len(positions) < hash_functions:
        wanted = min(16, hash_functions - len(positions))
        digest = hashlib.blake2b(
            data, key=field_key, digest_size=4 * wanted, person=block.to_bytes(4, "little")
        ).digest()
        positions.extend(int.from_bytes(digest[i : i + 4], "little") % bits for i in range(0, len(digest), 4))
        block += 1
    return positions


def salted(token: str, salt: str | None) -> str:
    """The string actually hashed: the token, prefixed by the salt if the field is salted."""
    return token if salt is None else salt + _SALT_SEPARATOR + token


def salt_value(step: Salt, date_of_birth: str | None, sex: str | None) -> str:
    """The salt of one record for a :class:`Salt` step ('' when its source is missing)."""
    if step.source == "birth_year":
        return date_of_birth[:4] if date_of_birth else ""
    if step.source == "birth_decade":
        return date_of_birth[:3] if date_of_birth else ""
    return sex or ""


class FieldHasher:
    """Hashes the values of one field into unhardened filters, caching token positions."""

    def __init__(self, spec: FieldSpec, key: PartnershipKey) -> None:
        self.spec = spec
        self._field_key = key.derive(f"bloom/{spec.name}", 64)
        self._cache: dict[str, list[int]] = {}

    def positions(self, token: str) -> list[int]:
        cached = self._cache.get(token)
        if cached is None:
            cached = token_positions(self._field_key, token, self.spec.hash_functions, self.spec.bits)
            self._cache[token] = cached
        return cached

    def value_positions(self, value: str, salt: str | None = None) -> list[int]:
        """Every bit position set by one normalised value."""
        result: list[int] = []
        for token in field_tokens(value, self.spec):
            result.extend(self.positions(salted(token, salt)))
        return result

    def position_table(self, tokens: Sequence[str]) -> np.ndarray:
        """The bit positions of each token, one row per token (``int64[len(tokens), hash_functions]``)."""
        table = np.empty((len(tokens), self.spec.hash_functions), dtype=np.int64)
        for row, token in enumerate(tokens):
            table[row] = self.positions(token)
        return table

    def _coded_groups(
        self, values: Sequence[str], salts: Sequence[str | None] | None
    ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Per token kind: (owners, codes into the distinct tokens, the distinct tokens' positions)."""
        for group in token_groups(values, self.spec):
            if not len(group.codes):
                continue
            if salts is None:
                yield group.owners, group.codes, self.position_table([group.prefix + text for text in group.distinct])
                continue
            texts = [salted(group.prefix + text, salts[owner]) for owner, text in zip(group.owners.tolist(), group.texts)]
            token_codes, distinct_texts = pd.factorize(np.asarray(texts, dtype=object))
            yield group.owners, token_codes, self.position_table(list(distinct_texts))

    def matrix(self, values: Sequence[str], salts: Sequence[str | None] | None = None) -> np.ndarray:
        """A boolean matrix, one row per value (values must not be missing).

        Tokens are built per kind for all values at once (:func:`token_groups`), distinct
        tokens hashed once, and the bits scattered with one vectorised assignment per kind.
        """
        matrix = np.zeros((len(values), self.spec.bits), dtype=bool)
        for owners, token_codes, table in self._coded_groups(values, salts):
            columns = table[token_codes]
            rows = np.repeat(owners, columns.shape[1])
            matrix[rows, columns.ravel()] = True
        return matrix

    def packed(self, values: Sequence[str], salts: Sequence[str | None] | None = None) -> np.ndarray:
        """``np.packbits(self.matrix(values, salts), axis=1)``, built without the boolean matrix.

        Why: a filter is the OR of its tokens' bit patterns. Each distinct token's pattern is
        packed once, and each value's filter is an OR-reduction of its tokens' packed words,
        which moves a sixteenth of the memory that scattering single bits does (postcodes,
        nearly one distinct value per person, spent most of their time there).
        """
        bits = self.spec.bits
        word = np.uint64 if bits % 64 == 0 else np.uint8
        packed = np.zeros((len(values), bits // 8), dtype=np.uint8)
        words = packed.view(word)
        for owners, token_codes, table in self._coded_groups(values, salts):
            patterns = np.zeros((len(table), bits), dtype=bool)
            patterns[np.repeat(np.arange(len(table)), table.shape[1]), table.ravel()] = True
            token_words = np.packbits(patterns, axis=1).view(word)[token_codes]
            # owners ascend and every value has at least one token of each kind (tokenise.py),
            # so each value's tokens are one run starting where its owner first appears
            starts = np.flatnonzero(np.diff(owners, prepend=-1))
            if len(starts) == len(values):
                words |= np.bitwise_or.reduceat(token_words, starts, axis=0)
            else:  # pragma: no cover - a tokeniser that leaves a value without tokens
                np.bitwise_or.at(words, owners, token_words)
        return packed
