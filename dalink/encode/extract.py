"""Reading an agency extract (CSV, Parquet or Excel) into standard columns, as text.

Whole-file problems (unreadable, empty, missing columns) raise :class:`InputFileError`
naming the file and the column. Row problems (a ragged row) are returned as rejects, so
no row is silently lost: every data row is either in ``rows`` or in ``rejects``.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from dalink.encode.schema import EVENT_COLUMNS, IDENTIFIER_COLUMNS
from dalink.errors import InputFileError

REQUIRED_COLUMNS = ("record_id", "given_name", "family_name", "date_of_birth", "event_date", "event_type", "role")
STANDARD_COLUMNS = ("record_id", *IDENTIFIER_COLUMNS, *EVENT_COLUMNS)
_DELIMITERS = ",;\t|"


@dataclass(frozen=True)
class Extract:
    """An agency's rows in standard columns (all text, ``None`` for blanks)."""

    source: str
    rows: pd.DataFrame  # standard columns plus ``row_number`` (1-based data row, header excluded)
    rejects: list[dict[str, object]] = field(default_factory=list)  # row_number, record_id, column, reason
    rows_read: int = 0


def _decode(raw: bytes, source: str) -> str:
    """UTF-8 (with or without BOM), else Windows-1252/latin-1, which every byte string decodes as."""
    if not raw.strip():
        raise InputFileError(f"{source}: the file is empty")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return raw.decode("cp1252")
        except UnicodeDecodeError:
            return raw.decode("latin-1")


def _sniff_delimiter(header_line: str, source: str) -> str:
    counts = {delimiter: header_line.count(delimiter) for delimiter in _DELIMITERS}
    delimiter, count = max(counts.items(), key=lambda item: item[1])
    if count == 0:
        raise InputFileError(
            f"{source}: line 1: cannot find a delimiter in the header (expected one of comma, semicolon, tab or |)"
        )
    return delimiter


def _read_csv(path: Path) -> tuple[pd.DataFrame, list[dict[str, object]], int]:
    source = str(path)
    text = _decode(path.read_bytes(), source)
    first_line = text.lstrip("\r\n").splitlines()[0] if text.strip() else ""
    delimiter = _sniff_delimiter(first_line, source)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise InputFileError(f"{source}: the file is empty") from None
    header = [name.strip() for name in header]
    width = len(header)
    try:
        records = list(reader)
    except csv.Error as error:
        raise InputFileError(f"{source}: line {reader.line_num}: malformed CSV ({error})") from None
    # blank lines are not records; every other line is a data row, numbered from 1
    records = [row for row in records if row and "".join(row).strip()]
    lengths = np.fromiter(map(len, records), dtype=np.int64, count=len(records))
    ragged = np.flatnonzero(lengths != width)
    rejects: list[dict[str, object]] = [
        {
            "row_number": int(index) + 1,
            "record_id": None,
            "column": "",
            "reason": f"row has {lengths[index]} fields but the header has {width}",
        }
        for index in ragged
    ]
    if len(ragged):
        keep = np.flatnonzero(lengths == width)
        good = [records[index] for index in keep]
        row_numbers = keep + 1
    else:
        good, row_numbers = records, np.arange(1, len(records) + 1)
    frame = pd.DataFrame(good, columns=header, dtype=object) if good else pd.DataFrame(columns=header, dtype=object)
    frame["row_number"] = row_numbers
    return frame, rejects, len(records)


def _clean_text(column: pd.Series, *, all_text: bool = False) -> pd.Series:
    """Strip surrounding whitespace from text cells; blanks become None. Other types pass through.

    ``all_text`` (CSV input, where every cell is a string) skips the per-cell type check.
    """
    values = column.to_numpy(dtype=object)
    if all_text:
        is_text = np.ones(len(values), dtype=bool)
    else:
        is_text = np.fromiter((isinstance(value, str) for value in values), dtype=bool, count=len(values))
    if is_text.all():
        stripped = pc.utf8_trim_whitespace(pa.array(values, type=pa.string()))
        cleaned = pc.if_else(pc.equal(stripped, ""), pa.scalar(None, pa.string()), stripped)
        return pd.Series(cleaned.to_numpy(zero_copy_only=False), index=column.index, dtype=object)
    cleaned = [
        (value.strip() or None) if text else (None if value is None or value != value else value)
        for value, text in zip(values, is_text)
    ]
    return pd.Series(cleaned, index=column.index, dtype=object)


def _read_table(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        elif suffix in (".xlsx", ".xlsm", ".xls"):
            frame = pd.read_excel(path, dtype=object)
        else:  # pragma: no cover - routed by read_extract
            raise InputFileError(f"{path}: unsupported file type")
    except ImportError as error:
        raise InputFileError(f"{path}: reading this file type needs an optional package ({error.name})") from None
    except (OSError, ValueError) as error:
        raise InputFileError(f"{path}: cannot be read ({type(error).__name__})") from None
    frame = frame.astype(object).where(frame.notna(), None)
    frame.columns = [str(name).strip() for name in frame.columns]
    frame["row_number"] = range(1, len(frame) + 1)
    return frame


def read_extract(
    path: str | os.PathLike[str],
    *,
    column_mapping: Mapping[str, str] | None = None,
) -> Extract:
    """Read an extract; ``column_mapping`` maps standard names to the agency's own column names."""
    source = Path(path)
    if not source.exists():
        raise InputFileError(f"{source}: the input file does not exist")
    if source.is_dir():
        raise InputFileError(f"{source}: is a directory, not an extract")
    is_csv = source.suffix.lower() not in (".parquet", ".pq", ".xlsx", ".xlsm", ".xls")
    if is_csv:
        frame, rejects, rows_read = _read_csv(source)
    else:
        frame, rejects = _read_table(source), []
        rows_read = len(frame)
    mapping = dict(column_mapping or {})
    unknown = sorted(set(mapping) - set(STANDARD_COLUMNS))
    if unknown:
        raise InputFileError(f"{source}: column mapping names unknown standard column(s): {', '.join(unknown)}")
    renames = {agency_name: standard for standard, agency_name in mapping.items()}
    missing_mapped = sorted(name for name in renames if name not in frame.columns)
    if missing_mapped:
        raise InputFileError(f"{source}: mapped column(s) not in the file: {', '.join(missing_mapped)}")
    frame = frame.rename(columns=renames)
    missing = [name for name in REQUIRED_COLUMNS if name not in frame.columns]
    if missing:
        raise InputFileError(
            f"{source}: missing required column(s): {', '.join(missing)} (map your own column names with a column mapping)"
        )
    if rows_read == 0:
        raise InputFileError(f"{source}: the file has a header but no data rows")
    frame_columns = set(frame.columns)
    for name in STANDARD_COLUMNS:
        if name not in frame.columns:
            frame[name] = None
    rows = frame[[*STANDARD_COLUMNS, "row_number"]].copy()
    for name in STANDARD_COLUMNS:
        # columns the file lacks were filled with None above, so only read columns are all text
        rows[name] = _clean_text(rows[name], all_text=is_csv and name in frame_columns)
    return Extract(source=str(source), rows=rows.reset_index(drop=True), rejects=rejects, rows_read=rows_read)
