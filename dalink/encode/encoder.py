"""Encode an agency extract into a package: normalise, validate, hash, harden, write.

The flow per extract: read (text) → validate each row (a row with any unusable value is
rejected with the first reason found, naming the column) → normalise identifiers → encode
each field as a Bloom filter → keyed blocking keys → Parquet records + rejects + manifest.
Every input row ends in exactly one of ``records.parquet`` or ``rejects.csv``.
"""

from __future__ import annotations

import datetime
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from dalink.encode import hardening, parallel
from dalink.encode.blocking_keys import blocking_key_column
from dalink.encode.bloom import FieldHasher, salt_value
from dalink.encode.extract import Extract, read_extract
from dalink.encode.normalise import DistinctNormalised, normalise_distinct
from dalink.encode.parallel import ColumnResult, ColumnTask
from dalink.encode.package import REJECT_COLUMNS, Manifest, RowCounts, write_package
from dalink.encode.schema import (
    IDENTIFIER_COLUMNS,
    Balance,
    FieldSpec,
    LinkageSchema,
    RandomBitFlip,
    Salt,
    XorFold,
    default_schema,
)
from dalink.errors import DalinkError, InputFileError, OutputExistsError
from dalink.keys import PartnershipKey

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
ROLES = ("victim", "perpetrator", "child", "other")
IDENTIFIER_KINDS = {
    "given_name": "name",
    "middle_name": "name",
    "family_name": "name",
    "date_of_birth": "date_of_birth",
    "sex": "sex",
    "postcode": "postcode",
}
NORMALISED_KINDS = {**IDENTIFIER_KINDS, "event_date": "date_of_birth", "local_authority": "local_authority"}
MAX_CODE_LENGTH = 60
ROW_CHUNK = 20_000  # rows per step when hardening runs on unpacked bits
PACKED_ROW_CHUNK = 200_000  # rows per step when only packed bytes are touched
UNIQUE_CHUNK = 65_536  # distinct values hashed at once


@dataclass(frozen=True)
class EncodingResult:
    """Encoded records as an Arrow table, the rejects, and the count of rows read."""

    table: pa.Table
    rejects: pd.DataFrame
    rows_in: int

    @property
    def counts(self) -> RowCounts:
        return _row_counts(self.rows_in, self.table.num_rows, self.rejects)


@dataclass(frozen=True)
class EncodingCheck:
    """What encoding an extract would do: the rejects, the rows read and the rows it would encode."""

    rejects: pd.DataFrame
    rows_in: int
    encoded: int

    @property
    def counts(self) -> RowCounts:
        return _row_counts(self.rows_in, self.encoded, self.rejects)


def _row_counts(rows_in: int, encoded: int, rejects: pd.DataFrame) -> RowCounts:
    by_reason = rejects["reason"].value_counts().sort_index()
    return RowCounts(
        rows_in=rows_in,
        encoded=encoded,
        rejected=len(rejects),
        rejected_by_reason={str(reason): int(count) for reason, count in by_reason.items()},
    )


class _RowRejector:
    """Collects the first problem of each row; a row with a problem is never encoded."""

    def __init__(self, count: int) -> None:
        self.rejected = np.zeros(count, dtype=bool)
        self.reason = np.full(count, None, dtype=object)
        self.column = np.full(count, None, dtype=object)

    def add(self, mask: np.ndarray, column: str, reasons: np.ndarray | str) -> None:
        new = np.asarray(mask, dtype=bool) & ~self.rejected
        if not new.any():
            return
        self.rejected |= new
        self.column[new] = column
        self.reason[new] = reasons[new] if isinstance(reasons, np.ndarray) else reasons


def _code_column(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Lower-case, snake-case text for event codes (event_type, role, risk_level, ...), per distinct value.

    Returns the codes (``None`` where missing) and which rows hold a code longer than
    :data:`MAX_CODE_LENGTH`.
    """
    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
    text = pd.Series(uniques, dtype=object).astype(str).str.strip().str.lower()
    text = text.str.replace(r"[\s\-]+", "_", regex=True)
    cleaned = np.append(text.where(text != "", None).to_numpy(dtype=object), None)
    too_long = np.append((text.str.len() > MAX_CODE_LENGTH).to_numpy(dtype=bool), False)
    return cleaned[codes], too_long[codes]


def _record_ids(values: pd.Series) -> np.ndarray:
    """Record ids as text (``None`` where missing): an id read as a number becomes its digits."""
    ids = values.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(ids, skipna=True) in ("string", "empty"):
        return ids
    return values.astype("string").astype(object).where(values.notna(), None).to_numpy(dtype=object)


def _most_distinct_first(frame: pd.DataFrame, names: list[str]) -> list[str]:
    """Column names by falling number of distinct values in the first 10,000 rows.

    Why: work per column grows with its distinct values, and a worker that starts the
    longest job last leaves the other cores idle (postcodes are nearly unique per person,
    sex has a handful).
    """
    sample = frame.head(10_000)
    return sorted(names, key=lambda name: -sample[name].nunique())


def _normalise_columns(rows: pd.DataFrame, today: datetime.date, processes: int) -> dict[str, DistinctNormalised]:
    """Every identifier and date column normalised, one column per job, by ``processes`` processes."""
    names = list(NORMALISED_KINDS)
    order = _most_distinct_first(rows, names) if processes > 1 else names

    def job(name: str) -> DistinctNormalised:
        return normalise_distinct(rows[name], NORMALISED_KINDS[name], today=today)

    distinct = dict(parallel.run_tasks(order, job, processes))
    return {name: distinct[name] for name in names}


def _validate_rows(
    rows: pd.DataFrame, today: datetime.date, processes: int = 1
) -> tuple[pd.DataFrame, _RowRejector]:
    """Normalise every column and note the first problem of each row.

    Masks and reasons are worked out per distinct value and taken back to the rows with
    numpy (a million-row extract would spend seconds in per-row pandas string methods).
    """
    normalised = _normalise_columns(rows, today, processes)
    rejector = _RowRejector(len(rows))
    clean: dict[str, np.ndarray] = {}

    record_id = _record_ids(rows["record_id"])
    present = pd.notna(record_id)
    rejector.add(~present | (record_id == ""), "record_id", "record_id is missing")
    lengths = pc.fill_null(pc.utf8_length(pa.array(record_id, type=pa.string())), 0).to_numpy()
    rejector.add(lengths > 100, "record_id", "record_id is longer than 100 characters")
    duplicated = present & pd.Series(record_id).duplicated(keep=False).to_numpy()
    rejector.add(duplicated, "record_id", "record_id is not unique in the file")
    clean["record_id"] = record_id

    for column in IDENTIFIER_COLUMNS:
        result = normalised[column]
        rejector.add(result.has_problem(), column, result.row_problems())
        clean[column] = result.row_values()

    event_date = normalised["event_date"]
    reasons = np.array(
        [None if problem is None else problem.replace("date of birth", "event date") for problem in event_date.problems],
        dtype=object,
    )
    rejector.add(event_date.has_problem(), "event_date", reasons[event_date.codes])
    rejector.add(~event_date.has_value() & ~event_date.has_problem(), "event_date", "event date is missing")
    clean["event_date"] = event_date.row_values()

    local_authority = normalised["local_authority"]
    rejector.add(local_authority.has_problem(), "local_authority", local_authority.row_problems())
    clean["local_authority"] = local_authority.row_values()

    for column in ("event_type", "role", "risk_level", "referring_agency"):
        codes, too_long = _code_column(rows[column])
        rejector.add(too_long, column, f"{column} is longer than {MAX_CODE_LENGTH} characters")
        clean[column] = codes
    rejector.add(pd.isna(clean["event_type"]), "event_type", "event_type is missing")
    role = pd.Series(clean["role"])
    rejector.add(role.isna().to_numpy(), "role", "role is missing")
    rejector.add((role.notna() & ~role.isin(ROLES)).to_numpy(), "role", f"role is not one of {', '.join(ROLES)}")
    no_identifiers = ~(
        normalised["given_name"].has_value() | normalised["family_name"].has_value() | normalised["date_of_birth"].has_value()
    )
    rejector.add(no_identifiers, "", "no given name, family name or date of birth to link on")
    return pd.DataFrame(clean, copy=False), rejector


def _bits_after(bits: int, steps: list) -> int:
    """Filter length after some hardening steps."""
    for step in steps:
        if isinstance(step, Balance):
            bits *= 2
        elif isinstance(step, XorFold):
            bits >>= step.folds
    return bits


def _distinct_filters(
    uniques: pd.Index, spec: FieldSpec, key: PartnershipKey, steps: list, salted_field: bool
) -> np.ndarray:
    """Packed filters of each distinct (value[, salt]) after the deterministic hardening steps.

    Why: names, dates and postcodes repeat heavily, and everything before the first random
    step depends on the value alone, so it is computed once per distinct value, in chunks
    so that a million distinct values stay within memory.
    """
    hasher = FieldHasher(spec, key)
    permutation_key = key.derive(f"permute/{spec.name}", 64)
    width = _bits_after(spec.bits, steps)
    pieces = [np.zeros((0, width // 8), dtype=np.uint8)]
    for start in range(0, len(uniques), UNIQUE_CHUNK):
        chunk = list(uniques[start : start + UNIQUE_CHUNK])
        if salted_field:
            packed = hasher.packed([value for value, _ in chunk], [salt for _, salt in chunk])
        else:
            packed = hasher.packed(chunk)
        pieces.append(hardening.apply_steps_packed(packed, steps, spec.bits, permutation_key=permutation_key))
    return np.concatenate(pieces)


def _fixed_size_binary(packed: np.ndarray, present: np.ndarray) -> pa.Array:
    validity = pa.array(present).buffers()[1] if not present.all() else None
    return pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(packed.shape[1]), len(packed), [validity, pa.py_buffer(packed)], null_count=int((~present).sum())
    )


def _field_filter_bytes(
    clean: pd.DataFrame,
    spec: FieldSpec,
    key: PartnershipKey,
    seeds: np.ndarray,
    out: ColumnResult,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Packed filters of one field into ``out``: a row of bytes per record (zeros when missing), and the present mask."""
    values = clean[spec.name]
    present = values.notna().to_numpy()
    out.present[:] = present
    packed = out.values
    if not present.any():  # a field blank in every row (factorising no salted values would fail)
        return
    salt_steps = [step for step in spec.hardening if isinstance(step, Salt)]
    if salt_steps:
        salts = [
            salt_value(salt_steps[0], dob, sex) for dob, sex in zip(clean["date_of_birth"], clean["sex"])
        ]
        keys = pd.MultiIndex.from_arrays([values.to_numpy(dtype=object), salts])
    else:
        keys = pd.Index(values.to_numpy(dtype=object))
    codes, uniques = pd.factorize(keys[present])
    steps = list(spec.hardening)
    first_random = next((i for i, step in enumerate(steps) if not hardening.is_deterministic(step)), len(steps))
    unique_packed = _distinct_filters(uniques, spec, key, steps[:first_random], bool(salt_steps))
    remaining = steps[first_random:]
    flip_only = len(remaining) == 1 and isinstance(remaining[0], RandomBitFlip)
    permutation_key = key.derive(f"permute/{spec.name}", 64)
    present_rows = np.flatnonzero(present)
    field_seed = hardening.field_constant(key.derive("noise", 64), spec.name)
    chunk_rows = PACKED_ROW_CHUNK if flip_only or not remaining else ROW_CHUNK
    for start in range(0, len(present_rows), chunk_rows):
        rows = present_rows[start : start + chunk_rows]
        chunk = unique_packed[codes[start : start + chunk_rows]]
        if flip_only:
            hardening.random_bit_flip_packed(
                chunk, seeds[rows], field_seed, unique_packed.shape[1] * 8, remaining[0].probability
            )
        elif remaining:
            matrix = np.unpackbits(chunk, axis=1).astype(bool)
            matrix = hardening.apply_steps(
                matrix, remaining, permutation_key=permutation_key, seeds=seeds[rows], field_seed=field_seed
            )
            chunk = np.packbits(matrix, axis=1)
        packed[rows] = chunk
        if progress is not None:
            progress(len(rows))


def _column_job(
    clean: pd.DataFrame,
    schema: LinkageSchema,
    key: PartnershipKey,
    seeds: np.ndarray,
    outputs: Mapping[ColumnTask, ColumnResult],
    progress: Callable[[int], None] | None,
) -> Callable[[ColumnTask], None]:
    """What computes one output column into ``outputs[task]``; run in this process or in a forked worker."""

    def job(task: ColumnTask) -> None:
        out = outputs[task]
        if task.kind == "field":
            _field_filter_bytes(clean, schema.fields[task.index], key, seeds, out, progress)
            return
        column = blocking_key_column(clean, schema.blocking_keys[task.index], key)
        out.present[:] = column.notna().to_numpy()
        out.values[:] = column.to_numpy(dtype=np.int64, na_value=0)

    return job


def validate_extract(
    extract: Extract,
    *,
    schema: LinkageSchema | None = None,
    today: datetime.date | None = None,
    workers: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows that would be encoded, normalised, and the rejects (row number, column, reason).

    Needs no key: this is ``dalink encode --check``, and the first half of :func:`encode_frame`.
    """
    schema = schema or default_schema()
    today = today or datetime.date.today()
    started = time.perf_counter()
    rows = extract.rows
    clean, rejector = _validate_rows(rows, today, parallel.worker_count(len(rows), workers))
    logger.info("validated %d rows in %.2fs", len(rows), time.perf_counter() - started)
    keep = ~rejector.rejected
    row_rejects = pd.DataFrame(
        {
            "row_number": rows["row_number"].to_numpy()[~keep],
            "record_id": clean["record_id"].to_numpy()[~keep],
            "column": rejector.column[~keep],
            "reason": rejector.reason[~keep],
        }
    )
    rejects = pd.concat([pd.DataFrame(extract.rejects, columns=REJECT_COLUMNS), row_rejects], ignore_index=True)
    rejects = rejects.sort_values("row_number", kind="stable").reset_index(drop=True)
    # filtering or re-indexing copies a large object frame, and most extracts have few or no rejects
    if not keep.all():
        clean = clean[keep].reset_index(drop=True)
    safe_accommodation = clean["event_type"].isin(schema.safe_accommodation_event_types)
    clean.loc[safe_accommodation, "postcode"] = None
    return clean, rejects


def check_file(
    input_path: str | os.PathLike[str],
    *,
    schema: LinkageSchema | None = None,
    column_mapping: Mapping[str, str] | None = None,
    today: datetime.date | None = None,
    workers: int | None = None,
) -> EncodingCheck:
    """Read and validate an extract as ``encode_file`` would, without a key and writing nothing."""
    extract = read_extract(input_path, column_mapping=column_mapping)
    clean, rejects = validate_extract(extract, schema=schema, today=today, workers=workers)
    return EncodingCheck(rejects=rejects, rows_in=extract.rows_read, encoded=len(clean))


def encode_frame(
    extract: Extract,
    *,
    agency: str,
    key: PartnershipKey,
    schema: LinkageSchema | None = None,
    today: datetime.date | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
) -> EncodingResult:
    """Encode the rows of an extract (the library form of ``dalink encode``).

    ``workers`` processes compute the fields and blocking keys (default: one per core, up
    to four, and one for small extracts); the result is identical for any number.
    """
    schema = schema or default_schema()
    today = today or datetime.date.today()
    started = time.perf_counter()
    if progress is not None:
        progress(0, len(extract.rows))  # show the bar while validating (its total becomes the rows kept)
    clean, rejects = validate_extract(extract, schema=schema, today=today, workers=workers)

    field_count = max(len(schema.fields), 1)
    done = 0

    def advance(count: int) -> None:
        # progress counts records: a record is done when all its fields are encoded
        nonlocal done
        done += count
        if progress is not None:
            progress(done // field_count, len(clean))

    seeds = hardening.record_seeds(key.derive("noise", 64), agency, clean["record_id"].tolist())
    columns: dict[str, pa.Array] = {
        "record_id": pa.array(clean["record_id"], type=pa.string()),
        "event_date": pa.array(clean["event_date"], type=pa.string()).cast(pa.date32()),  # normalised ISO dates
    }
    for name in ("event_type", "local_authority", "role", "risk_level", "referring_agency"):
        columns[name] = pa.array(clean[name], type=pa.string())
    processes = parallel.worker_count(len(clean), workers)
    field_names = [spec.name for spec in schema.fields]
    ordered = _most_distinct_first(clean, field_names) if processes > 1 else field_names
    tasks = [ColumnTask("field", field_names.index(name)) for name in ordered]
    tasks += [ColumnTask("blocking_key", index) for index in range(len(schema.blocking_keys))]
    # workers write straight into memory shared with this process (pickling the results
    # back cost as much as a third of the round)
    shared = processes > 1
    outputs = {
        task: ColumnResult(
            parallel.zeros((len(clean), schema.fields[task.index].encoded_bits // 8), np.uint8, shared=shared)
            if task.kind == "field"
            else parallel.zeros(len(clean), np.int64, shared=shared),
            parallel.zeros(len(clean), np.bool_, shared=shared),
        )
        for task in tasks
    }
    job = _column_job(clean, schema, key, seeds, outputs, advance if processes == 1 else None)
    for task, _ in parallel.run_tasks(tasks, job, processes):
        if task.kind == "field":
            # rows without the field count as done; with workers, the whole field arrives at once
            advance(len(clean) if processes > 1 else int((~outputs[task].present).sum()))
    logger.info("encoded fields with %d process(es) in %.2fs", processes, time.perf_counter() - started)
    for index, spec in enumerate(schema.fields):
        result = outputs[ColumnTask("field", index)]
        columns[f"bf_{spec.name}"] = _fixed_size_binary(result.values, result.present)
    for index, block in enumerate(schema.blocking_keys):
        result = outputs[ColumnTask("blocking_key", index)]
        columns[f"bk_{block.name}"] = pa.array(result.values, type=pa.int64(), mask=~result.present)
    table = pa.table(columns)
    logger.info("encoded %d records in %.2fs", table.num_rows, time.perf_counter() - started)
    return EncodingResult(table=table, rejects=rejects, rows_in=extract.rows_read)


def encode_file(
    input_path: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    agency: str,
    key: PartnershipKey,
    schema: LinkageSchema | None = None,
    column_mapping: Mapping[str, str] | None = None,
    today: datetime.date | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
    workers: int | None = None,
) -> Manifest:
    """Read an extract, encode it and write the package ``output`` atomically."""
    if not agency or not agency.replace("_", "").replace("-", "").isalnum():
        raise InputFileError(f"agency name must be letters, digits, '-' or '_' (got {len(agency)} characters)")
    output_path = Path(output)
    if output_path.exists() and not overwrite:
        raise OutputExistsError(f"{output_path}: the output exists; choose another path or remove it first")
    schema = schema or default_schema()
    extract = read_extract(input_path, column_mapping=column_mapping)
    result = encode_frame(
        extract, agency=agency, key=key, schema=schema, today=today, progress=progress, workers=workers
    )
    counts = result.counts
    if counts.rows_in != counts.encoded + counts.rejected:  # pragma: no cover - a bug, never user error
        raise DalinkError(f"{input_path}: internal error: row counts do not reconcile; nothing was written")
    return write_package(
        output_path,
        table=result.table,
        rejects=result.rejects,
        overwrite=overwrite,
        manifest_fields={
            "agency": agency,
            "source_name": Path(input_path).name,
            "schema": schema,
            "schema_hash": schema.hash,
            "key_fingerprint": key.fingerprint,
            "counts": counts,
        },
    )
