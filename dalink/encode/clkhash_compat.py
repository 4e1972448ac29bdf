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

Values and tokens are in :mod:`~dalink.encode.clkhash_tokens`, keys and bit positions in
:mod:`~dalink.encode.clkhash_hashing`; this module assembles CLKs from them.
"""

from __future__ import annotations

import base64
import logging
import math
from dataclasses import dataclass, field
from itertools import chain, repeat
from typing import Callable, Sequence, Union

import numpy as np
import pandas as pd

from dalink.encode.clkhash_hashing import TokenKey, _FeatureHasher, _hashers, _value_error
from dalink.encode.clkhash_schema import ClkhashSchema, read_clkhash_schema
from dalink.encode.clkhash_tokens import _ValueProblem
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

CHUNK_RECORDS = 50_000
"""Records encoded per step (bounds memory; the progress callback fires after each)."""
_NEW_VALUES_PER_BATCH = 4_096


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
