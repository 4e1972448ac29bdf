"""Reading an agency extract (CSV, Parquet or Excel) into standard columns, as text.

Whole-file problems (unreadable, empty, missing columns) raise :class:`InputFileError`
naming the file and the column. Row problems (a ragged row) are returned as rejects, so
no row is silently lost: every data row is either in ``rows`` or in ``rejects``.
"""

from __future__ import annotations

import os
from collections.abc import Container, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from dalink.encode.columns import (
    FULL_NAME,
    NAME_COLUMNS,
    REQUIRED_COLUMNS,
    STANDARD_COLUMNS,
    UsableColumns,
    missing_columns_message,
    missing_required,
    resolve_columns,
    uses_full_name,
)
from dalink.encode.csv_reader import clean_arrow_text, first_rows, read_csv
from dalink.encode.names import split_full_name
from dalink.errors import InputFileError

__all__ = ["REQUIRED_COLUMNS", "STANDARD_COLUMNS", "Extract", "read_extract"]


@dataclass(frozen=True)
class Extract:
    """An agency's rows in standard columns (all text, ``None`` for blanks)."""

    source: str
    rows: pd.DataFrame  # standard columns plus ``row_number`` (1-based data row, header excluded)
    rejects: list[dict[str, object]] = field(default_factory=list)  # row_number, record_id, column, reason
    rows_read: int = 0
    # which of the file's columns each standard column was read from (for ``--check``)
    columns_read: dict[str, str] = field(default_factory=dict)


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
        return pd.Series(clean_arrow_text(pa.array(values, type=pa.string())), index=column.index, dtype=object)
    cleaned = [
        (value.strip() or None) if text else (None if value is None or value != value else value)
        for value, text in zip(values, is_text)
    ]
    return pd.Series(cleaned, index=column.index, dtype=object)


EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")


def _excel_engine(path: Path) -> str | None:
    """``calamine`` where it is installed (python-calamine, the ``excel`` extra), else pandas' default.

    Why: calamine (Rust) reads a sheet about eight times faster than openpyxl (20,000 rows:
    0.28 s against 2.3 s) and gives the same cells; dates come as pandas Timestamps rather
    than datetimes, which the normalisers read alike (tested). It also reads old ``.xls``
    workbooks, for which pandas would otherwise need xlrd.
    """
    if tuple(int(part) for part in pd.__version__.split(".")[:2]) < (2, 2):
        return None
    try:
        import python_calamine  # noqa: F401
    except ImportError:
        return None
    return "calamine"


def _excel_sheets(path: Path) -> list[str]:
    """The sheet names of a workbook (empty if they cannot be read)."""
    try:
        with pd.ExcelFile(path, engine=_excel_engine(path)) as workbook:
            return [str(name) for name in workbook.sheet_names]
    except (ImportError, OSError, ValueError):
        return []


def _not_a_header(source: Path, found: int) -> str:
    return f"{source}: the first row is not a header dalink can use; row {found} looks like one (--header-row {found})"


def _header_further_down(source: Path, sheet: str | None, wanted: Container[str], rows: int = 30) -> int | None:
    """The first of a file's first rows with at least two column names dalink can use (1-based), if any."""
    if source.suffix.lower() in EXCEL_SUFFIXES:
        try:
            top = pd.read_excel(
                source, sheet_name=sheet if sheet is not None else 0, header=None, nrows=rows, dtype=object,
                engine=_excel_engine(source),
            )
        except (ImportError, OSError, ValueError):
            return None
        candidates = [[cell for cell in row if isinstance(cell, str)] for row in top.itertuples(index=False)]
    elif source.suffix.lower() in (".parquet", ".pq"):
        return None
    else:
        candidates = first_rows(source, rows)
    for number, cells in enumerate(candidates, start=1):
        if number > 1 and sum(cell.strip() in wanted for cell in cells if cell.strip()) >= 2:
            return number
    return None


def _read_table(
    path: Path, sheet: str | None = None, wanted: Container[str] | None = None, header_row: int = 1
) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if sheet is not None and suffix not in EXCEL_SUFFIXES:
        raise InputFileError(f"{path}: a sheet can only be chosen in an Excel workbook")
    if header_row != 1 and suffix not in EXCEL_SUFFIXES:
        raise InputFileError(f"{path}: a header row can only be chosen in a CSV file or an Excel workbook")
    try:
        if suffix in (".parquet", ".pq"):
            names = pq.read_schema(path).names
            frame = pd.read_parquet(path, columns=[name for name in names if wanted is None or name in wanted])
        elif suffix in EXCEL_SUFFIXES:
            if sheet is not None and sheet not in (sheets := _excel_sheets(path)):
                raise InputFileError(f"{path}: no sheet named {sheet!r} (the workbook has: {', '.join(sheets)})")
            frame = pd.read_excel(
                path, sheet_name=sheet if sheet is not None else 0, header=header_row - 1, dtype=object,
                engine=_excel_engine(path),
            )
        else:  # pragma: no cover - routed by read_extract
            raise InputFileError(f"{path}: unsupported file type")
    except ImportError as error:
        raise InputFileError(f"{path}: reading this file type needs an optional package ({error.name})") from None
    except (OSError, ValueError) as error:
        raise InputFileError(f"{path}: cannot be read ({type(error).__name__})") from None
    for name in frame.columns:
        # a whole-number column with blanks arrives as floats (1.0, NaN): keep its values whole,
        # so an id or code reads "17" as it does from CSV, not "17.0"
        if pd.api.types.is_float_dtype(frame[name]):
            values = frame[name].dropna()
            if np.isfinite(values).all() and (values % 1 == 0).all() and (values.abs() < 2**53).all():
                frame[name] = frame[name].astype("Int64")
    frame = frame.astype(object).where(frame.notna(), None)
    frame.columns = [str(name).strip() for name in frame.columns]
    frame["row_number"] = range(1, len(frame) + 1)
    return frame


def _split_full_names(full_names: np.ndarray) -> dict[str, np.ndarray]:
    """The given, middle and family name columns of whole names, split once per distinct name."""
    codes, uniques = pd.factorize(full_names, use_na_sentinel=True)
    parts = [split_full_name(value) for value in uniques] + [(None, None, None)]  # the last slot: missing
    return {
        name: np.array([part[position] for part in parts], dtype=object)[codes]
        for position, name in enumerate(NAME_COLUMNS)
    }


def read_extract(
    path: str | os.PathLike[str],
    *,
    column_mapping: Mapping[str, str] | None = None,
    sheet: str | None = None,
    header_row: int = 1,
) -> Extract:
    """Read an extract; ``column_mapping`` maps standard names to the agency's own column names.

    ``sheet`` names the sheet of an Excel workbook to read (default: the first);
    ``header_row`` the line of a CSV file or row of a sheet that holds the header (default:
    the first; the rows above it, a title say, are not read).
    """
    if header_row < 1:
        raise InputFileError(f"{path}: the header row is counted from 1 (got {header_row})")
    source = Path(path)
    if not source.exists():
        raise InputFileError(f"{source}: the input file does not exist")
    if source.is_dir():
        raise InputFileError(f"{source}: is a directory, not an extract")
    is_csv = source.suffix.lower() not in (".parquet", ".pq", *EXCEL_SUFFIXES)
    # only the columns an extract can use are read into Python objects
    wanted = UsableColumns(column_mapping or {})
    if is_csv:
        if sheet is not None:
            raise InputFileError(f"{source}: a sheet can only be chosen in an Excel workbook")
        try:
            frame, rejects, rows_read, cleaned = read_csv(source, wanted, header_row)
        except InputFileError:  # a title line has no delimiter: say where the header seems to be
            if header_row == 1 and (found := _header_further_down(source, sheet, wanted)):
                raise InputFileError(_not_a_header(source, found)) from None
            raise
    else:
        frame, rejects, cleaned = _read_table(source, sheet, wanted, header_row), [], False
        rows_read = len(frame)
    if header_row == 1 and not any(name in wanted and name != "row_number" for name in frame.columns):
        found = _header_further_down(source, sheet, wanted)
        if found:
            raise InputFileError(_not_a_header(source, found))
    renames = resolve_columns(list(frame.columns), column_mapping or {}, source)
    columns_read = {renames.get(name, name): str(name) for name in frame.columns if name != "row_number"}
    if renames:  # relabelled in place (``rename`` copies every column of a large frame)
        frame.columns = [renames.get(name, name) for name in frame.columns]
    missing = missing_required(list(frame.columns))
    if missing:
        sheets = _excel_sheets(source) if source.suffix.lower() in EXCEL_SUFFIXES and sheet is None else []
        raise InputFileError(missing_columns_message(source, missing, list(frame.columns), sheets))
    full_name = uses_full_name(list(frame.columns))
    if rows_read == 0:
        raise InputFileError(f"{source}: the file has a header but no data rows")
    # one new frame from arrays (selecting, copying and re-indexing a large object frame
    # each cost as much as building it)
    columns: dict[str, np.ndarray] = {}
    for name in (*STANDARD_COLUMNS, FULL_NAME) if full_name else STANDARD_COLUMNS:
        if name not in frame.columns:
            columns[name] = np.full(len(frame), None, dtype=object)
        elif cleaned:
            columns[name] = frame[name].to_numpy(dtype=object)  # the Arrow CSV reader cleaned every cell
        else:
            columns[name] = _clean_text(frame[name], all_text=is_csv).to_numpy(dtype=object)
    if full_name:
        columns.update(_split_full_names(columns.pop(FULL_NAME)))
    columns["row_number"] = frame["row_number"].to_numpy()
    rows = pd.DataFrame(columns, copy=False)  # every array is new or from the discarded frame
    used = [*STANDARD_COLUMNS, FULL_NAME] if full_name else STANDARD_COLUMNS
    columns_read = {name: columns_read[name] for name in used if name in columns_read}
    return Extract(source=str(source), rows=rows, rejects=rejects, rows_read=rows_read, columns_read=columns_read)
