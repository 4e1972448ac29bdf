"""Validate an extract's rows before encoding: normalise, note each row's first problem, reject.

Needs no key, so it is also ``dalink encode --check``. A row with any unusable value is
rejected with the first reason found, naming the column and never the value. Identifier
columns come out normalised, once as text and once as codes into their distinct values
(:class:`CodedColumn`), so the encoder never hashes a million strings again to find the
distinct ones.
"""

from __future__ import annotations

import datetime
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from dalink.encode import parallel
from dalink.encode.extract import Extract, read_extract
from dalink.encode.normalise import IDENTIFIER_KINDS, CodedColumn, DistinctNormalised, normalise_distinct
from dalink.encode.package import REJECT_COLUMNS, RowCounts
from dalink.encode.schema import IDENTIFIER_COLUMNS, LinkageSchema, default_schema

logger = logging.getLogger(__name__)

ROLES = ("victim", "perpetrator", "child", "other")
# What agencies' systems call the roles (after lower-casing and "_" for spaces and hyphens).
# Only names that cannot mean anything else in a domestic-abuse record are read as a role.
ROLE_SYNONYMS = {
    **dict.fromkeys(("survivor", "victim_survivor", "victim/survivor", "adult_victim", "aggrieved"), "victim"),
    **dict.fromkeys(
        ("suspect", "offender", "alleged_perpetrator", "alleged_offender", "abuser", "person_causing_harm"),
        "perpetrator",
    ),
    **dict.fromkeys(("children", "young_person", "child_or_young_person", "cyp"), "child"),
}
NORMALISED_KINDS = {**IDENTIFIER_KINDS, "event_date": "date_of_birth", "local_authority": "local_authority"}
MAX_CODE_LENGTH = 60


@dataclass(frozen=True)
class EncodingCheck:
    """What encoding an extract would do: the rejects, the rows read and the rows it would encode."""

    rejects: pd.DataFrame
    rows_in: int
    encoded: int
    columns_read: dict[str, str] = field(default_factory=dict)  # standard column -> the file's column

    @property
    def counts(self) -> RowCounts:
        return row_counts(self.rows_in, self.encoded, self.rejects)


def row_counts(rows_in: int, encoded: int, rejects: pd.DataFrame) -> RowCounts:
    by_reason = rejects["reason"].value_counts().sort_index()
    return RowCounts(
        rows_in=rows_in,
        encoded=encoded,
        rejected=len(rejects),
        rejected_by_reason={str(reason): int(count) for reason, count in by_reason.items()},
    )


@dataclass(frozen=True)
class ValidatedExtract:
    """The rows to encode (``clean``, normalised), their identifiers as codes, and the rejects."""

    clean: pd.DataFrame
    identifiers: dict[str, CodedColumn]
    rejects: pd.DataFrame


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

    def add_distinct(self, column: str, problems: np.ndarray, codes: np.ndarray) -> None:
        """Rows whose distinct value (``codes`` into ``problems``) has a problem, with it as the reason.

        Why: most columns have no problem at all, and looking reasons up per row for a
        million rows costs more than the check.
        """
        has_problem = pd.notna(problems)
        if not has_problem.any():
            return
        new = has_problem[codes] & ~self.rejected
        self.rejected |= new
        self.column[new] = column
        self.reason[new] = problems[codes[new]]


def _code_column(values: pd.Series, synonyms: Mapping[str, str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Lower-case, snake-case text for event codes (event_type, role, risk_level, ...), per distinct value.

    Returns the codes (``None`` where missing; ``synonyms`` replaced by what they stand for)
    and which rows hold a code longer than :data:`MAX_CODE_LENGTH`.
    """
    codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    text = pd.Series(uniques, dtype=object).astype(str).str.strip().str.lower()
    text = text.str.replace(r"[\s\-]+", "_", regex=True)
    if synonyms:
        text = pd.Series([synonyms.get(code, code) for code in text], dtype=object)
    cleaned = np.append(text.where(text != "", None).to_numpy(dtype=object), None)
    too_long = np.append((text.str.len() > MAX_CODE_LENGTH).to_numpy(dtype=bool), False)
    return cleaned[codes], too_long[codes]


def _record_ids(values: pd.Series) -> np.ndarray:
    """Record ids as text (``None`` where missing): an id read as a number becomes its digits."""
    ids = values.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(ids, skipna=True) in ("string", "empty"):
        return ids
    return values.astype("string").astype(object).where(values.notna(), None).to_numpy(dtype=object)


def most_distinct_first(frame: pd.DataFrame, names: list[str]) -> list[str]:
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
    order = most_distinct_first(rows, names) if processes > 1 else names

    def job(name: str) -> DistinctNormalised:
        return normalise_distinct(rows[name], NORMALISED_KINDS[name], today=today)

    distinct = dict(parallel.run_tasks(order, job, processes))
    return {name: distinct[name] for name in names}


def _validate_rows(
    rows: pd.DataFrame, today: datetime.date, processes: int = 1
) -> tuple[pd.DataFrame, dict[str, CodedColumn], _RowRejector]:
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
    duplicated = present & pd.Series(record_id, dtype=object).duplicated(keep=False).to_numpy()
    rejector.add(duplicated, "record_id", "record_id is not unique in the file")
    clean["record_id"] = record_id

    for column in IDENTIFIER_COLUMNS:
        result = normalised[column]
        rejector.add_distinct(column, result.problems, result.codes)
        clean[column] = result.row_values()

    event_date = normalised["event_date"]
    reasons = np.array(
        [None if problem is None else problem.replace("date of birth", "event date") for problem in event_date.problems],
        dtype=object,
    )
    rejector.add_distinct("event_date", reasons, event_date.codes)
    rejector.add(~event_date.has_value() & ~event_date.has_problem(), "event_date", "event date is missing")
    clean["event_date"] = event_date.row_values()

    local_authority = normalised["local_authority"]
    rejector.add_distinct("local_authority", local_authority.problems, local_authority.codes)
    clean["local_authority"] = local_authority.row_values()

    for column in ("event_type", "role", "risk_level", "referring_agency"):
        codes, too_long = _code_column(rows[column], ROLE_SYNONYMS if column == "role" else None)
        rejector.add(too_long, column, f"{column} is longer than {MAX_CODE_LENGTH} characters")
        clean[column] = codes
    rejector.add(pd.isna(clean["event_type"]), "event_type", "event_type is missing")
    role = pd.Series(clean["role"], dtype=object)
    rejector.add(role.isna().to_numpy(), "role", "role is missing")
    rejector.add((role.notna() & ~role.isin(ROLES)).to_numpy(), "role", f"role is not one of {', '.join(ROLES)}")
    no_identifiers = ~(
        normalised["given_name"].has_value() | normalised["family_name"].has_value() | normalised["date_of_birth"].has_value()
    )
    rejector.add(no_identifiers, "", "no given name, family name or date of birth to link on")
    identifiers = {column: CodedColumn.from_distinct(normalised[column]) for column in IDENTIFIER_COLUMNS}
    return pd.DataFrame(clean, copy=False), identifiers, rejector


def validate(
    extract: Extract,
    *,
    schema: LinkageSchema | None = None,
    today: datetime.date | None = None,
    workers: int | None = None,
    safe_accommodation: bool = False,
) -> ValidatedExtract:
    """The rows that would be encoded, normalised (as text and as codes), and the rejects.

    ``safe_accommodation`` (a refuge or other safe-accommodation provider's extract) withholds
    every postcode, whatever the event type: its records' addresses are its own locations.
    """
    schema = schema or default_schema()
    today = today or datetime.date.today()
    started = time.perf_counter()
    rows = extract.rows
    if safe_accommodation:  # withheld, so never a reason to reject a row either
        rows = rows.assign(postcode=None)
    clean, identifiers, rejector = _validate_rows(rows, today, parallel.worker_count(len(rows), workers))
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
        kept = np.flatnonzero(keep)
        clean = clean.iloc[kept].reset_index(drop=True)
        identifiers = {column: coded.take(kept) for column, coded in identifiers.items()}
    if safe_accommodation:
        safe_accommodation_rows = np.ones(len(clean), dtype=bool)
    else:
        safe_accommodation_rows = clean["event_type"].isin(schema.safe_accommodation_event_types).to_numpy()
    if safe_accommodation_rows.any():
        clean.loc[safe_accommodation_rows, "postcode"] = None
        postcode = identifiers["postcode"]
        identifiers["postcode"] = CodedColumn(np.where(safe_accommodation_rows, -1, postcode.codes), postcode.uniques)
    return ValidatedExtract(clean=clean, identifiers=identifiers, rejects=rejects)


def validate_extract(
    extract: Extract,
    *,
    schema: LinkageSchema | None = None,
    today: datetime.date | None = None,
    workers: int | None = None,
    safe_accommodation: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows that would be encoded, normalised, and the rejects (row number, column, reason).

    Needs no key: this is ``dalink encode --check``, and the first half of ``encode_frame``.
    """
    validated = validate(extract, schema=schema, today=today, workers=workers, safe_accommodation=safe_accommodation)
    return validated.clean, validated.rejects


def check_file(
    input_path: str | os.PathLike[str],
    *,
    schema: LinkageSchema | None = None,
    column_mapping: Mapping[str, str] | None = None,
    sheet: str | None = None,
    header_row: int = 1,
    safe_accommodation: bool = False,
    today: datetime.date | None = None,
    workers: int | None = None,
) -> EncodingCheck:
    """Read and validate an extract as ``encode_file`` would, without a key and writing nothing."""
    extract = read_extract(input_path, column_mapping=column_mapping, sheet=sheet, header_row=header_row)
    clean, rejects = validate_extract(
        extract, schema=schema, today=today, workers=workers, safe_accommodation=safe_accommodation
    )
    return EncodingCheck(rejects=rejects, rows_in=extract.rows_read, encoded=len(clean), columns_read=extract.columns_read)
