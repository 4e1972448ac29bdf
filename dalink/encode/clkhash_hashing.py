"""clkhash's keys and bit positions: from the secret to the bits each token sets.

Why a module of its own: this is where the secret is used, so the security reasoning (HKDF
per-feature keys, keyed double hashing or keyed BLAKE2b) is stated and reviewed in one small
place, apart from tokenising and CLK assembly. Everything mirrors clkhash 0.18's code.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import struct
from dataclasses import dataclass, field
from typing import Union

import numpy as np

from dalink.encode.clkhash_schema import (
    KEYS_PER_FEATURE,
    BitsPerTokenStrategy,
    BlakeHash,
    ClkhashSchema,
    FeatureSpec,
)
from dalink.encode.clkhash_tokens import _formatted, _tokens, _validation_problem, _ValueProblem
from dalink.errors import InvalidValue

TokenKey = Union[str, tuple[str, int]]


# --- keys --------------------------------------------------------------------------------------


def _hkdf(secret: bytes, length: int, hash_name: str, salt: bytes | None, info: bytes | None) -> bytes:
    """HKDF (RFC 5869), as clkhash calls it through ``cryptography``.

    Security: the secret is only ever used as HKDF input keying material, so each feature's
    HMAC/BLAKE2 keys are independent pseudo-random keys, and knowing one feature's keys (or its
    bit positions) says nothing about another's. Missing salt means zeros, missing info means
    empty, as in RFC 5869 and ``cryptography``.
    """
    digest_size = hashlib.new(hash_name).digest_size
    pseudo_random_key = hmac.digest(salt if salt else bytes(digest_size), secret, hash_name)
    output, block = b"", b""
    for counter in range(1, math.ceil(length / digest_size) + 1):
        block = hmac.digest(pseudo_random_key, block + (info or b"") + bytes([counter]), hash_name)
        output += block
    return output[:length]


@dataclass(frozen=True)
class _FeatureKeys:
    """clkhash's key pair for one feature: HMAC-SHA1 (and BLAKE2b) key, then HMAC-MD5 key."""

    first: bytes = field(repr=False)
    second: bytes = field(repr=False)


def _derive_feature_keys(schema: ClkhashSchema, secret: bytes) -> list[_FeatureKeys]:
    if not isinstance(secret, (bytes, bytearray)):
        raise TypeError("the secret must be bytes (encode a clkhash text secret with .encode('utf-8'))")
    kdf = schema.clk_config.kdf
    size = kdf.key_size
    material = _hkdf(
        bytes(secret),
        KEYS_PER_FEATURE * len(schema.features) * size,
        kdf.hash_algorithm.lower(),
        kdf.salt_bytes,
        kdf.info_bytes,
    )
    keys = [material[start : start + size] for start in range(0, len(material), size)]
    return [_FeatureKeys(keys[2 * index], keys[2 * index + 1]) for index in range(len(schema.features))]


# --- bit positions -----------------------------------------------------------------------------


class _Hmac:
    """HMAC (RFC 2104) with the padded-key states computed once per key.

    ``hmac.digest`` re-derives them on every call, which costs more than hashing a short token;
    copying the two prepared states gives the same MAC (the tests compare with ``hmac``).
    """

    def __init__(self, key: bytes, hash_name: str) -> None:
        block_size = hashlib.new(hash_name).block_size
        if len(key) > block_size:
            key = hashlib.new(hash_name, key).digest()
        key = key.ljust(block_size, b"\0")
        self._inner = hashlib.new(hash_name, bytes(byte ^ 0x36 for byte in key))
        self._outer = hashlib.new(hash_name, bytes(byte ^ 0x5C for byte in key))

    def digest(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


def _double_hash_positions(
    token: bytes, insertions: int, sha1: _Hmac, md5: _Hmac, bits: int, non_singular: bool
) -> list[int]:
    """Schnell's double hashing: positions ``(h_sha1 + i * h_md5) mod bits`` for ``i < insertions``."""
    first = int.from_bytes(sha1.digest(token), "big") % bits
    step = int.from_bytes(md5.digest(token), "big") % bits
    attempt = 0
    while non_singular and step == 0:
        # A step of 0 would put every insertion on one bit; clkhash re-hashes with a counter.
        step = int.from_bytes(md5.digest(token + chr(attempt).encode()), "big") % bits
        attempt += 1
    return [(first + index * step) % bits for index in range(insertions)]


def _blake_positions(token: bytes, insertions: int, keys: _FeatureKeys, bits: int) -> list[int]:
    """Independent positions: 16-bit slices of BLAKE2b(token) keyed with the feature's first key."""
    shorts: list[int] = []
    for counter in range((insertions + 31) // 32):
        digest = hashlib.blake2b(token, key=keys.first, salt=str(counter).encode()).digest()
        shorts.extend(struct.unpack("32H", digest))  # native order, exactly as clkhash does
    return [shorts[index] % bits for index in range(insertions)]


@dataclass
class _FeatureHasher:
    """Everything needed to turn one feature's values into bit positions, with a token cache."""

    feature: FeatureSpec
    keys: _FeatureKeys
    bits: int
    validate: bool
    _token_positions: dict[tuple[str, int], list[int]] = field(default_factory=dict)
    _sha1: _Hmac = field(init=False, repr=False)
    _md5: _Hmac = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._sha1 = _Hmac(self.keys.first, "sha1")
        self._md5 = _Hmac(self.keys.second, "md5")
        self.encoding = self.feature.encoding
        strategy = self.feature.hashing.strategy
        self.fixed_insertions = strategy.bits_per_token if isinstance(strategy, BitsPerTokenStrategy) else None

    def token_strings(self, value: str) -> list[str]:
        """The value validated, formatted and tokenised as clkhash does. Raises :class:`_ValueProblem`."""
        if self.validate:
            problem = _validation_problem(self.feature, value)
            if problem is not None:
                raise _ValueProblem(problem)
        text = _formatted(self.feature, value)
        try:
            text.encode(self.encoding)  # clkhash would fail with a UnicodeEncodeError
        except UnicodeEncodeError:
            raise _ValueProblem(f"cannot be encoded as {self.encoding}") from None
        return _tokens(self.feature.hashing.comparison, text)

    def tokens(self, value: str) -> list[tuple[str, int]]:
        """The value's tokens, each with its number of insertions. Raises :class:`_ValueProblem`."""
        tokens = self.token_strings(value)
        return list(zip(tokens, self.feature.hashing.strategy.insertions_per_token(len(tokens))))

    def token_keys(self, value: str) -> list[TokenKey]:
        """Cache keys for the value's tokens: the bare token when every token has the same insertions."""
        return self.token_strings(value) if self.fixed_insertions is not None else self.tokens(value)

    def token_of(self, key: TokenKey) -> tuple[str, int]:
        return (key, self.fixed_insertions) if isinstance(key, str) and self.fixed_insertions is not None else key

    def token_positions(self, token: str, insertions: int) -> list[int]:
        """:meth:`hash_token`, cached (the reference path's cache; the fast path keeps packed rows)."""
        cached = self._token_positions.get((token, insertions))
        if cached is None:
            cached = self.hash_token(token, insertions)
            self._token_positions[(token, insertions)] = cached
        return cached

    def positions(self, value: str) -> list[int]:
        """Bit positions ``value`` sets (with repeats). Raises :class:`_ValueProblem`."""
        return [
            position
            for token, insertions in self.tokens(value)
            for position in self.token_positions(token, insertions)
        ]

    def hash_token(self, token: str, insertions: int) -> list[int]:
        token_bytes = token.encode(self.encoding)
        hash_spec = self.feature.hashing.hash
        if isinstance(hash_spec, BlakeHash):
            return _blake_positions(token_bytes, insertions, self.keys, self.bits)
        non_singular = bool(hash_spec.prevent_singularity)
        return _double_hash_positions(token_bytes, insertions, self._sha1, self._md5, self.bits, non_singular)

    def bit_coordinates(self, token_keys: list[tuple[str, int]]) -> _Coordinates:
        """:meth:`hash_token` for many tokens at once: the digests in Python, the arithmetic in numpy."""
        encoding, bits = self.encoding, self.bits
        insertions = np.fromiter((count for _, count in token_keys), dtype=np.int64, count=len(token_keys))
        rows = np.repeat(np.arange(len(token_keys)), insertions)
        index = np.arange(len(rows)) - np.repeat(np.cumsum(insertions) - insertions, insertions)
        hash_spec = self.feature.hashing.hash
        if isinstance(hash_spec, BlakeHash):
            mac_counts = (insertions + 31) // 32
            digests = b"".join(
                hashlib.blake2b(token.encode(encoding), key=self.keys.first, salt=str(counter).encode()).digest()
                for (token, _), mac_count in zip(token_keys, mac_counts.tolist())
                for counter in range(mac_count)
            )
            shorts = np.frombuffer(digests, dtype=np.uint16)  # native order, like struct's "H"
            first_short = np.repeat(32 * (np.cumsum(mac_counts) - mac_counts), insertions)
            return _Coordinates(rows, shorts[first_short + index].astype(np.int64) % bits)
        firsts = np.empty(len(token_keys), dtype=np.int64)
        steps = np.empty(len(token_keys), dtype=np.int64)
        sha1_digest, md5_digest, from_bytes = self._sha1.digest, self._md5.digest, int.from_bytes
        for row, (token, _) in enumerate(token_keys):
            token_bytes = token.encode(encoding)
            firsts[row] = from_bytes(sha1_digest(token_bytes), "big") % bits
            step = from_bytes(md5_digest(token_bytes), "big") % bits
            if step == 0 and hash_spec.prevent_singularity:
                step = _double_hash_positions(token_bytes, 2, self._sha1, self._md5, bits, True)[1] - firsts[row]
            steps[row] = step % bits
        return _Coordinates(rows, (firsts[rows] + index * steps[rows]) % bits)


@dataclass(frozen=True)
class _Coordinates:
    """Which bits to set: ``bits[i]`` in row ``rows[i]``."""

    rows: np.ndarray
    bits: np.ndarray


def _hashers(schema: ClkhashSchema, secret: bytes, validate: bool) -> list[tuple[int, _FeatureHasher]]:
    keys = _derive_feature_keys(schema, secret)
    bits = schema.clk_config.hashing_bits
    return [
        (index, _FeatureHasher(feature, keys[index], bits, validate))
        for index, feature in enumerate(schema.features)
        if isinstance(feature, FeatureSpec) and feature.is_hashed
    ]


def _value_error(row: int, feature: FeatureSpec, reason: str) -> InvalidValue:
    return InvalidValue(f"row {row}, column '{feature.identifier}': value {reason}")
