"""Encode an agency extract into a package: validate, hash, harden, write.

The flow per extract: read (text) → validate and normalise each row (:mod:`validate`; a
row with any unusable value is rejected with the first reason found, naming the column)
→ encode each field as a Bloom filter → keyed blocking keys → Parquet records + rejects +
manifest. Every input row ends in exactly one of ``records.parquet`` or ``rejects.csv``.
"""

from __future__ import annotations

import datetime
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from dalink.encode import hardening, parallel
from dalink.encode.blocking_keys import blocking_key_column
from dalink.encode.bloom import FieldHasher, salt_value
from dalink.encode.extract import Extract, read_extract
from dalink.encode.normalise import CodedColumn
from dalink.encode.package import Manifest, RowCounts, write_package
from dalink.encode.parallel import ColumnResult, ColumnTask
from dalink.encode.schema import (
    Balance,
    FieldSpec,
    LinkageSchema,
    RandomBitFlip,
    Salt,
    XorFold,
    default_schema,
)
from dalink.errors import DalinkError, InputFileError, OutputExistsError
from dalink.encode.validate import most_distinct_first, row_counts, validate
from dalink.keys import PartnershipKey

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
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
        return row_counts(self.rows_in, self.table.num_rows, self.rejects)


def _bits_after(bits: int, steps: list) -> int:
    """Filter length after some hardening steps."""
    for step in steps:
        if isinstance(step, Balance):
            bits *= 2
        elif isinstance(step, XorFold):
            bits >>= step.folds
    return bits


def _distinct_filters(
    uniques: Sequence[object], spec: FieldSpec, key: PartnershipKey, steps: list, salted_field: bool
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


def _field_keys(spec: FieldSpec, identifiers: Mapping[str, CodedColumn]) -> tuple[np.ndarray, Sequence[object]]:
    """What a field hashes, as codes per row (-1 when missing) into distinct values or (value, salt) pairs.

    Salts come from other columns (birth year, sex), so a salted field's distinct keys are
    the pairs that occur; they are found on integer codes, never by hashing strings again.
    """
    coded = identifiers[spec.name]
    salt_steps = [step for step in spec.hardening if isinstance(step, Salt)]
    if not salt_steps:
        return coded.codes, coded.uniques
    step = salt_steps[0]
    if step.source == "sex":
        source = identifiers["sex"]
        salts = [salt_value(step, None, value) for value in source.uniques]
    else:
        source = identifiers["date_of_birth"]
        salts = [salt_value(step, value, None) for value in source.uniques]
    salt_codes, salt_uniques = pd.factorize(np.asarray([*salts, salt_value(step, None, None)], dtype=object))
    row_salts = salt_codes[source.codes]  # code -1 (missing) picks the last slot, the salt of a missing value
    present = coded.codes >= 0
    pairs = coded.codes[present].astype(np.int64) * len(salt_uniques) + row_salts[present]
    pair_codes, distinct_pairs = pd.factorize(pairs)
    codes = np.full(len(coded.codes), -1, dtype=np.int64)
    codes[present] = pair_codes
    uniques = [(coded.uniques[pair // len(salt_uniques)], salt_uniques[pair % len(salt_uniques)]) for pair in distinct_pairs]
    return codes, uniques


def _field_filter_bytes(
    identifiers: Mapping[str, CodedColumn],
    spec: FieldSpec,
    key: PartnershipKey,
    seeds: np.ndarray,
    out: ColumnResult,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Packed filters of one field into ``out``: a row of bytes per record (zeros when missing), and the present mask."""
    row_codes, uniques = _field_keys(spec, identifiers)
    present = row_codes >= 0
    out.present[:] = present
    packed = out.values
    if not present.any():  # a field blank in every row
        return
    codes = row_codes[present]
    salted = any(isinstance(step, Salt) for step in spec.hardening)
    steps = list(spec.hardening)
    first_random = next((i for i, step in enumerate(steps) if not hardening.is_deterministic(step)), len(steps))
    unique_packed = _distinct_filters(uniques, spec, key, steps[:first_random], salted)
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
    identifiers: Mapping[str, CodedColumn],
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
            _field_filter_bytes(identifiers, schema.fields[task.index], key, seeds, out, progress)
            return
        out.values[:], out.present[:] = blocking_key_column(identifiers, schema.blocking_keys[task.index], key)

    return job


def encode_frame(
    extract: Extract,
    *,
    agency: str,
    key: PartnershipKey,
    schema: LinkageSchema | None = None,
    today: datetime.date | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
    safe_accommodation: bool = False,
) -> EncodingResult:
    """Encode the rows of an extract (the library form of ``dalink encode``).

    ``workers`` processes compute the fields and blocking keys (default: one per core, up
    to four, and one for small extracts); the result is identical for any number.
    ``safe_accommodation`` withholds every postcode (a refuge's extract: see :func:`validate`).
    """
    schema = schema or default_schema()
    today = today or datetime.date.today()
    started = time.perf_counter()
    if progress is not None:
        progress(0, len(extract.rows))  # show the bar while validating (its total becomes the rows kept)
    validated = validate(extract, schema=schema, today=today, workers=workers, safe_accommodation=safe_accommodation)
    clean = validated.clean

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
    ordered = most_distinct_first(clean, field_names) if processes > 1 else field_names
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
    job = _column_job(validated.identifiers, schema, key, seeds, outputs, advance if processes == 1 else None)
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
    return EncodingResult(table=table, rejects=validated.rejects, rows_in=extract.rows_read)


def encode_file(
    input_path: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    agency: str,
    key: PartnershipKey,
    schema: LinkageSchema | None = None,
    column_mapping: Mapping[str, str] | None = None,
    sheet: str | None = None,
    header_row: int = 1,
    today: datetime.date | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
    workers: int | None = None,
    safe_accommodation: bool = False,
) -> Manifest:
    """Read an extract, encode it and write the package ``output`` atomically."""
    if not agency or not agency.replace("_", "").replace("-", "").isalnum():
        raise InputFileError(f"agency name must be letters, digits, '-' or '_' (got {len(agency)} characters)")
    output_path = Path(output)
    if output_path.exists() and not overwrite:
        raise OutputExistsError(f"{output_path}: the output exists; choose another path or remove it first")
    schema = schema or default_schema()
    extract = read_extract(input_path, column_mapping=column_mapping, sheet=sheet, header_row=header_row)
    result = encode_frame(
        extract,
        agency=agency,
        key=key,
        schema=schema,
        today=today,
        progress=progress,
        workers=workers,
        safe_accommodation=safe_accommodation,
    )
    counts = result.counts
    if counts.rows_in != counts.encoded + counts.rejected:  # pragma: no cover - a bug, never user error
        raise DalinkError(f"{input_path}: internal error: row counts do not reconcile; nothing was written")
    if counts.encoded == 0:  # an empty package is useless to the linker; the extract or its mapping is wrong
        commonest = max(counts.rejected_by_reason.items(), key=lambda item: item[1])[0]
        raise InputFileError(
            f"{input_path}: every one of its {counts.rows_in} rows was rejected (most often: {commonest}); "
            "nothing was written. 'dalink encode FILE --check' lists the rows and reasons"
        )
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
