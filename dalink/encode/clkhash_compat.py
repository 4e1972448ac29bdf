"""CLKs bit-identical to clkhash 0.18, without clkhash and much faster.

A CLK ("cryptographic long-term key", Schnell et al. 2011) is one Bloom filter for a whole
record: every feature's tokens are hashed into the same ``l * 2**xor_folds`` bits, which are then
XOR-folded down to ``l``. dalink's own encodings keep one filter per field; this module exists so
that partnerships already using clkhash/anonlink can read their schemas and reproduce their CLKs.

Everything here mirrors clkhash's code, not its documentation (see ``docs/clkhash.md``):

* keys: ``2 * len(features)`` keys (ignored features included) from one HKDF call over the secret
  with the schema's hash, salt, info and key size; feature *i* gets keys ``2i`` and ``2i+1``;
* values: a missing-value sentinel becomes its replacement untouched; integers are hashed as
  ``str(int(value))``; dates as ``YYYYMMDD``; validation follows clkhash's rules exactly;
* tokens: n-grams padded with ``n-1`` spaces (positional ones prefixed ``"<index> "``), exact
  tokens, or numeric neighbourhoods; duplicates kept, because ``bitsPerFeature`` hands out
  insertions by token position;
* bits: double hashing ``(HMAC-SHA1 + i*HMAC-MD5) mod L`` (optionally non-singular), or BLAKE2b
  keyed with the feature's first key, digests read as native 16-bit integers;
* bit order: bit 0 is the most significant bit of byte 0 (``bitarray``'s default), so a CLK is
  ``ceil(l / 8)`` bytes, the last one zero-padded.

Speed comes from caching, not from cleverness: tokens repeat across records and values repeat
across records, so each distinct (feature, value) is hashed once into a packed row and records
are ORed together from those rows with numpy. :func:`encode_clks_reference` is the plain,
record-at-a-time version of the same algorithm; the tests hold both to clkhash.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import math
import re
import struct
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from itertools import chain, repeat
from typing import Callable, Sequence, Union

import numpy as np
import pandas as pd

from dalink.encode.clkhash_schema import (
    KEYS_PER_FEATURE,
    BitsPerTokenStrategy,
    BlakeHash,
    ClkhashSchema,
    DateFormat,
    EnumFormat,
    ExactComparison,
    FeatureSpec,
    IntegerFormat,
    NgramComparison,
    NumericComparison,
    StringFormat,
    read_clkhash_schema,
)
from dalink.errors import InputFileError, InvalidValue

__all__ = [
    "ClkhashSchema",
    "clks_to_base64",
    "encode_clks",
    "encode_clks_reference",
    "read_clkhash_schema",
]

logger = logging.getLogger(__name__)

Records = Union[pd.DataFrame, Sequence[Sequence[str]]]
Progress = Callable[[int, int], None]
TokenKey = Union[str, tuple[str, int]]

CHUNK_RECORDS = 50_000
"""Records encoded per step (bounds memory; the progress callback fires after each)."""
_NEW_VALUES_PER_BATCH = 4_096
_DATE_OUTPUT_FORMAT = "%Y%m%d"


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


# --- values and tokens -------------------------------------------------------------------------


def _validation_problem(feature: FeatureSpec, value: str) -> str | None:
    """Why clkhash's ``validate_entries`` would refuse ``value``; never quotes the value."""
    missing = feature.hashing.missing_value
    if missing is not None and value == missing.sentinel:
        return None
    try:
        value.encode(feature.encoding)
    except UnicodeEncodeError:
        return f"cannot be encoded as {feature.encoding}"
    value_format = feature.value_format
    if isinstance(value_format, StringFormat):
        if value_format.pattern is not None:
            if re.fullmatch(value_format.pattern, value) is None:
                return "does not match the schema's pattern"
            return None
        if value_format.minimum_length is not None and len(value) < value_format.minimum_length:
            return f"is shorter than minLength {value_format.minimum_length}"
        if value_format.maximum_length is not None and len(value) > value_format.maximum_length:
            return f"is longer than maxLength {value_format.maximum_length}"
        if value_format.case == "upper" and value.upper() != value:
            return "is not upper case"
        if value_format.case == "lower" and value.lower() != value:
            return "is not lower case"
    elif isinstance(value_format, IntegerFormat):
        try:
            number = int(value, 10)
        except ValueError:
            return "is not a base-10 integer"
        if value_format.minimum is not None and number < value_format.minimum:
            return f"is below the minimum {value_format.minimum}"
        if value_format.maximum is not None and number > value_format.maximum:
            return f"is above the maximum {value_format.maximum}"
    elif isinstance(value_format, DateFormat):
        try:
            _parse_date(value, value_format.date_format)
        except ValueError:
            return f"is not a date in the format {value_format.date_format!r}"
    elif isinstance(value_format, EnumFormat):
        if value not in value_format.values:
            return "is not one of the schema's enum values"
    return None


@lru_cache(maxsize=64)
def _fixed_width_date_pattern(date_format: str) -> re.Pattern[str] | None:
    """A regex for dates written exactly as ``date_format`` with 4-digit years and 2-digit fields.

    Only for formats made of ``%Y``, ``%m``, ``%d`` and literal separators that are not
    whitespace (``strptime`` treats whitespace loosely).
    """
    parts = re.split(r"(%[Ymd])", date_format)
    directives = parts[1::2]
    literals = parts[0::2]
    if sorted(directives) != ["%Y", "%d", "%m"] or any("%" in text or re.search(r"\s", text) for text in literals):
        return None
    widths = {"%Y": "(?P<year>[0-9]{4})", "%m": "(?P<month>[0-9]{2})", "%d": "(?P<day>[0-9]{2})"}
    return re.compile("".join(widths[part] if part in widths else re.escape(part) for part in parts), re.ASCII)


def _parse_date(value: str, date_format: str) -> datetime:
    """``datetime.strptime(value, date_format)``, without its cost for the common cases.

    When the value is written at full width (``1985-03-02`` for ``%Y-%m-%d``) strptime's
    regex can only split it one way, so building the date directly gives the same result or
    the same refusal; anything else (short fields, locales, other directives) goes to strptime.
    The tests hold the two to each other.
    """
    pattern = _fixed_width_date_pattern(date_format)
    match = pattern.fullmatch(value) if pattern is not None else None
    if match is None:
        return datetime.strptime(value, date_format)
    return datetime(int(match["year"]), int(match["month"]), int(match["day"]))


class _ValueProblem(Exception):
    """A value clkhash would fail on while hashing (not only while validating)."""


def _formatted(feature: FeatureSpec, value: str) -> str:
    """clkhash's ``FieldSpec.format_value``: what is actually tokenised."""
    missing = feature.hashing.missing_value
    if missing is not None and value == missing.sentinel:
        return missing.replacement
    value_format = feature.value_format
    if isinstance(value_format, IntegerFormat):
        try:
            return str(int(value, 10))
        except ValueError:
            raise _ValueProblem("is not a base-10 integer") from None
    if isinstance(value_format, DateFormat):
        try:
            return _parse_date(value, value_format.date_format).strftime(_DATE_OUTPUT_FORMAT)
        except ValueError:
            raise _ValueProblem(f"is not a date in the format {value_format.date_format!r}") from None
    return value


def _tokens(comparison: NgramComparison | ExactComparison | NumericComparison, text: str) -> list[str]:
    """clkhash's comparators' ``tokenize``, duplicates and order included."""
    if not text:
        return []
    if isinstance(comparison, ExactComparison):
        return [text]
    if isinstance(comparison, NgramComparison):
        n = comparison.n
        if n > 1:
            text = " " * (n - 1) + text + " " * (n - 1)
        if comparison.positional:
            return [f"{index + 1} {text[index:index + n]}" for index in range(len(text) - n + 1)]
        return [text[index : index + n] for index in range(len(text) - n + 1)]
    return _numeric_tokens(comparison, text)


def _numeric_tokens(comparison: NumericComparison, text: str) -> list[str]:
    precision, interval = comparison.fractional_precision, comparison.distance_interval
    try:
        try:
            number = int(text, base=10)
            if precision > 0:
                number *= 10**precision
        except ValueError:
            as_float = float(text)
            number = int(round(as_float * 10**precision)) if precision > 0 else int(as_float)
    except (ValueError, OverflowError):
        raise _ValueProblem("is not a number") from None
    number = number * 2 * comparison.resolution
    residue = number % interval
    if residue == 0:
        pass
    elif residue < interval / 2:
        number -= residue
    else:
        number += interval - residue
    return [str(number + step * interval) for step in range(-comparison.resolution, comparison.resolution + 1)]


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


# --- reference implementation ------------------------------------------------------------------


def encode_clks_reference(
    records: Records, schema: ClkhashSchema, secret: bytes, *, validate: bool = True
) -> list[bytes]:
    """The readable version of :func:`encode_clks`: one record, one feature, one bit at a time.

    Kept to cross-check the fast path in tests; it is about as slow as clkhash.
    """
    columns = _columns_in_schema_order(records, schema)
    hashers = _hashers(schema, secret, validate)
    hashing_bits, folds = schema.clk_config.hashing_bits, schema.clk_config.xor_folds
    clks = []
    for row in range(columns.record_count):
        bloom_filter = [0] * hashing_bits
        for index, hasher in hashers:
            try:
                positions = hasher.positions(columns.by_feature[index][row])
            except _ValueProblem as problem:
                raise _value_error(row, hasher.feature, str(problem)) from None
            for position in positions:
                bloom_filter[position] = 1
        for _ in range(folds):
            half = len(bloom_filter) // 2
            bloom_filter = [left ^ right for left, right in zip(bloom_filter[:half], bloom_filter[half:])]
        clks.append(np.packbits(np.array(bloom_filter, dtype=np.uint8)).tobytes())
    return clks


# --- fast path ---------------------------------------------------------------------------------


class _GrowingRows:
    """A 2-D array of packed bit rows that grows by doubling, so appends are amortised O(1)."""

    def __init__(self, words: int) -> None:
        self.rows = np.zeros((256, words), dtype=np.uint64)
        self.count = 0

    def append(self, new_rows: np.ndarray) -> np.ndarray:
        needed = self.count + len(new_rows)
        if needed > len(self.rows):
            grown = np.zeros((max(2 * len(self.rows), needed), self.rows.shape[1]), dtype=np.uint64)
            grown[: self.count] = self.rows[: self.count]
            self.rows = grown
        self.rows[self.count : needed] = new_rows
        indices = np.arange(self.count, needed)
        self.count = needed
        return indices


@dataclass
class _FeatureRows:
    """A feature's packed Bloom-filter row per distinct token and per distinct value.

    A value's row is the OR of its tokens' rows, computed for a batch of new values at once
    with ``np.bitwise_or.reduceat``; a record's CLK is the OR of its values' rows.
    """

    hasher: _FeatureHasher
    words: int
    token_index: dict[TokenKey, int] = field(default_factory=dict)
    value_index: dict[str, int] = field(default_factory=dict)
    token_rows: _GrowingRows = field(init=False)
    value_rows: _GrowingRows = field(init=False)

    def __post_init__(self) -> None:
        self.token_rows = _GrowingRows(self.words)
        self.value_rows = _GrowingRows(self.words)

    def rows_for(self, values: np.ndarray) -> np.ndarray | _Failure:
        """Index into ``value_rows.rows`` for each value, or the first record whose value fails."""
        codes, distinct = pd.factorize(values, use_na_sentinel=False)
        known = np.fromiter(map(self.value_index.get, distinct, repeat(-1)), dtype=np.int64, count=len(distinct))
        new_codes = np.flatnonzero(known < 0)
        failures: dict[int, str] = {}
        for start in range(0, len(new_codes), _NEW_VALUES_PER_BATCH):
            token_lists, good, new_tokens = [], [], []
            for code in new_codes[start : start + _NEW_VALUES_PER_BATCH].tolist():
                try:
                    token_lists.append(self._token_indices(distinct[code], new_tokens))
                    good.append(code)
                except _ValueProblem as problem:
                    failures[code] = str(problem)
            self.token_rows.append(self._packed_tokens(new_tokens))
            known[good] = self._add_values([distinct[code] for code in good], token_lists)
        if failures:
            first = int(np.flatnonzero(np.isin(codes, list(failures)))[0])
            return _Failure(first, failures[int(codes[first])])
        return known[codes]

    def _token_indices(self, value: str, new_tokens: list[TokenKey]) -> list[int]:
        """Row indices of the value's tokens; unseen tokens are queued for hashing and packing."""
        token_keys = self.hasher.token_keys(value)
        known = self.token_index.get
        indices = [known(token_key, -1) for token_key in token_keys]
        if -1 in indices:
            for position, token_key in enumerate(token_keys):
                index = self.token_index.get(token_key)  # a repeated token may just have been added
                if index is None:
                    index = self.token_rows.count + len(new_tokens)
                    new_tokens.append(token_key)
                    self.token_index[token_key] = index
                indices[position] = index
        return indices

    def _packed_tokens(self, token_keys: list[TokenKey]) -> np.ndarray:
        """Each token's packed row, built in batches to bound memory."""
        packed = np.zeros((len(token_keys), self.words), dtype=np.uint64)
        for start in range(0, len(token_keys), _NEW_VALUES_PER_BATCH):
            batch = [self.hasher.token_of(key) for key in token_keys[start : start + _NEW_VALUES_PER_BATCH]]
            coordinates = self.hasher.bit_coordinates(batch)
            bitmap = np.zeros((len(batch), self.words * 64), dtype=np.bool_)
            bitmap[coordinates.rows, coordinates.bits] = True
            packed[start : start + len(batch)] = np.packbits(bitmap, axis=1).view(np.uint64)
        return packed

    def _add_values(self, values: list[str], token_lists: list[list[int]]) -> np.ndarray:
        lengths = np.fromiter(map(len, token_lists), dtype=np.int64, count=len(token_lists))
        rows = np.zeros((len(values), self.words), dtype=np.uint64)
        has_tokens = lengths > 0
        if has_tokens.any():
            flat = np.fromiter(chain.from_iterable(token_lists), dtype=np.int64, count=int(lengths.sum()))
            offsets = (np.cumsum(lengths) - lengths)[has_tokens]
            rows[has_tokens] = np.bitwise_or.reduceat(self.token_rows.rows[flat], offsets, axis=0)
        indices = self.value_rows.append(rows)
        self.value_index.update(zip(values, indices.tolist()))
        return indices


@dataclass(frozen=True)
class _Failure:
    """The first record (within a chunk) whose value for a feature clkhash would refuse."""

    row: int
    reason: str


def encode_clks(
    records: Records,
    schema: ClkhashSchema,
    secret: bytes,
    *,
    validate: bool = True,
    progress: Progress | None = None,
) -> list[bytes]:
    """Encode records as clkhash CLKs: each ``ceil(l/8)`` bytes, bit-identical to clkhash 0.18.

    ``records`` hold one value per schema feature, matched by position in the schema's feature
    order (ignored features included), like clkhash; a DataFrame with named columns is matched
    by feature identifier instead (ignored features may then be absent). Missing cells (None,
    NaN) count as empty strings, as in a CSV. ``validate=False`` skips the format checks, as
    clkhash's ``validate=False`` does (dates and integers must still parse).

    Raises :class:`~dalink.errors.InvalidValue` naming the (0-based) row and column of the
    first value that clkhash would refuse, and :class:`~dalink.errors.InputFileError` if the
    records do not fit the schema's columns.
    """
    columns = _columns_in_schema_order(records, schema)
    total = columns.record_count
    words = math.ceil(schema.clk_config.hashing_bits / 64)
    feature_rows = [(index, _FeatureRows(hasher, words)) for index, hasher in _hashers(schema, secret, validate)]
    logger.info("encoding %d records as clkhash CLKs (%d hashed features)", total, len(feature_rows))
    clks: list[bytes] = []
    for start in range(0, total, CHUNK_RECORDS):
        stop = min(start + CHUNK_RECORDS, total)
        combined = np.zeros((stop - start, words), dtype=np.uint64)
        failures = []
        for index, rows in feature_rows:
            found = rows.rows_for(columns.by_feature[index][start:stop])
            if isinstance(found, _Failure):
                failures.append((found.row, index, rows.hasher.feature, found.reason))
            elif not failures:
                np.bitwise_or(combined, rows.value_rows.rows[found], out=combined)
        if failures:
            row, _, feature, reason = min(failures, key=lambda failure: failure[:2])
            raise _value_error(start + row, feature, reason)
        clks.extend(_fold_and_split(combined, schema))
        if progress is not None:
            progress(stop, total)
    return clks


def _fold_and_split(combined: np.ndarray, schema: ClkhashSchema) -> list[bytes]:
    bits, folds = schema.clk_config.bloom_filter_bits, schema.clk_config.xor_folds
    packed = combined.view(np.uint8)
    if bits % 8 == 0:
        width = bits * 2**folds // 8
        packed = packed[:, :width]
        for _ in range(folds):
            half = packed.shape[1] // 2
            packed = packed[:, :half] ^ packed[:, half:]
    else:
        unpacked = np.unpackbits(packed, axis=1, count=bits * 2**folds)
        for _ in range(folds):
            half = unpacked.shape[1] // 2
            unpacked = unpacked[:, :half] ^ unpacked[:, half:]
        packed = np.packbits(unpacked, axis=1)
    packed = np.ascontiguousarray(packed)
    width = packed.shape[1]
    blob = packed.tobytes()
    return [blob[offset : offset + width] for offset in range(0, len(blob), width)]


def clks_to_base64(clks: Sequence[bytes]) -> list[str]:
    """Serialise CLKs as clkhash does (``clkhash.serialization.serialize_bitarray``)."""
    return [base64.b64encode(clk).decode("ascii") for clk in clks]


# --- input columns -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Columns:
    """The records as one object array of str per hashed feature (``None`` for ignored ones)."""

    record_count: int
    by_feature: list[np.ndarray | None]


def _columns_in_schema_order(records: Records, schema: ClkhashSchema) -> _Columns:
    features = schema.features
    if isinstance(records, pd.DataFrame):
        if isinstance(records.columns, pd.RangeIndex):
            if records.shape[1] != len(features):
                raise InputFileError(
                    f"records have {records.shape[1]} unnamed columns but the clkhash schema has "
                    f"{len(features)} features"
                )
            position_of = list(range(len(features)))
        else:
            names = [str(name) for name in records.columns]
            duplicated = sorted({name for name in names if names.count(name) > 1})
            missing = [each.identifier for each in features if each.is_hashed and each.identifier not in names]
            problems = []
            if missing:
                problems.append(f"missing column(s) {', '.join(map(repr, missing))}")
            if duplicated:
                problems.append(f"duplicated column(s) {', '.join(map(repr, duplicated))}")
            if problems:
                raise InputFileError("records do not fit the clkhash schema: " + "; ".join(problems))
            position = {name: index for index, name in enumerate(names)}
            position_of = [position.get(feature.identifier, -1) for feature in features]
        return _Columns(
            len(records),
            [
                _as_text(records.iloc[:, position_of[index]], feature.identifier) if feature.is_hashed else None
                for index, feature in enumerate(features)
            ],
        )
    rows = list(records)
    for row_number, row in enumerate(rows):
        if isinstance(row, str) or len(row) != len(features):
            raise InputFileError(
                f"row {row_number} has {len(row)} values but the clkhash schema has {len(features)} features"
            )
    by_feature = []
    for index, feature in enumerate(features):
        column = pd.Series([row[index] for row in rows], dtype=object)
        by_feature.append(_as_text(column, feature.identifier) if feature.is_hashed else None)
    return _Columns(len(rows), by_feature)


def _as_text(column: pd.Series, identifier: str) -> np.ndarray:
    """Cells as str: missing becomes '' (as in a CSV), integers their digits; anything else is refused."""
    values = column.to_numpy(dtype=object, na_value=None, copy=True)
    if pd.api.types.infer_dtype(values, skipna=False) == "string":
        return values
    for row, value in enumerate(values):
        if isinstance(value, str):
            continue
        if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
            values[row] = ""
        elif isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
            values[row] = str(int(value))
        else:
            raise InvalidValue(
                f"row {row}, column '{identifier}': value is not text (read the extract with dtype=str)"
            )
    return values
