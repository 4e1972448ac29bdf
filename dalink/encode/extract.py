"""Reading an agency extract (CSV, Parquet or Excel) into standard columns, as text.

Whole-file problems (unreadable, empty, missing columns) raise :class:`InputFileError`
naming the file and the column. Row problems (a ragged row) are returned as rejects, so
no row is silently lost: every data row is either in ``rows`` or in ``rejects``.
"""

from __future__ import annotations

import codecs
import collections
import csv
import io
import itertools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from dalink.encode.schema import EVENT_COLUMNS, IDENTIFIER_COLUMNS
from dalink.errors import InputFileError

REQUIRED_COLUMNS = ("record_id", "given_name", "family_name", "date_of_birth", "event_date", "event_type", "role")
STANDARD_COLUMNS = ("record_id", *IDENTIFIER_COLUMNS, *EVENT_COLUMNS)
_DELIMITERS = ",;\t|"
_FIRST_LINE_WINDOW = 1 << 16
_DISTINCT_SAMPLE = 10_000  # cells that tell a nearly unique column (record ids) from a repetitive one
# What str.strip() removes: a row whose cells are all these is a blank line, not a record.
_PYTHON_WHITESPACE = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


@dataclass(frozen=True)
class Extract:
    """An agency's rows in standard columns (all text, ``None`` for blanks)."""

    source: str
    rows: pd.DataFrame  # standard columns plus ``row_number`` (1-based data row, header excluded)
    rejects: list[dict[str, object]] = field(default_factory=list)  # row_number, record_id, column, reason
    rows_read: int = 0


def _decode(raw: bytes) -> tuple[str, bool]:
    """UTF-8 (with or without BOM), else Windows-1252/latin-1, which every byte string decodes as.

    Returns the text and whether the file was UTF-8.
    """
    try:
        return raw.decode("utf-8-sig"), True
    except UnicodeDecodeError:
        try:
            return raw.decode("cp1252"), False
        except UnicodeDecodeError:
            return raw.decode("latin-1"), False


def _utf8_head(utf8: bytes) -> str | None:
    """The start of a file (up to the first 64 KiB) as text, if it is UTF-8 so far; else None."""
    try:
        return codecs.getincrementaldecoder("utf-8")().decode(utf8[:_FIRST_LINE_WINDOW], final=False)
    except UnicodeDecodeError:
        return None


def _sniff_delimiter(header_line: str, source: str) -> str:
    counts = {delimiter: header_line.count(delimiter) for delimiter in _DELIMITERS}
    delimiter, count = max(counts.items(), key=lambda item: item[1])
    if count == 0:
        raise InputFileError(
            f"{source}: line 1: cannot find a delimiter in the header (expected one of comma, semicolon, tab or |)"
        )
    return delimiter


def _first_line(text: str) -> str:
    """``text.lstrip("\r\n").splitlines()[0]`` without splitting a whole large file."""
    if not text or text.isspace():
        return ""
    stripped = text.lstrip("\r\n")
    lines = stripped[:_FIRST_LINE_WINDOW].splitlines()
    if len(lines) > 1 or len(stripped) <= _FIRST_LINE_WINDOW:
        return lines[0]
    return stripped.splitlines()[0]


def _read_csv(path: Path) -> tuple[pd.DataFrame, list[dict[str, object]], int, bool]:
    """Rows, rejects, rows read, and whether the cells are already cleaned (see :func:`_clean_text`).

    A file that starts as UTF-8 goes to Arrow as bytes, never decoded into one large Python
    string (Arrow checks the UTF-8 of every cell); only a file Arrow refuses is decoded,
    for the readers that need text.
    """
    source = str(path)
    raw = path.read_bytes()
    if not raw or raw.isspace():  # (stops at the first other byte; strip() would copy the file)
        raise InputFileError(f"{source}: the file is empty")
    # blank lines before the header (some exports start with one) are not the header
    utf8 = (raw[len(codecs.BOM_UTF8) :] if raw.startswith(codecs.BOM_UTF8) else raw).lstrip(b"\r\n")
    head = _utf8_head(utf8)
    if head is not None:
        fast = _read_csv_with_arrow(None, _sniff_delimiter(_first_line(head), source), utf8, head=head)
        if fast is not None:
            return fast
    text, is_utf8 = _decode(raw)
    text = text.lstrip("\r\n")
    delimiter = _sniff_delimiter(_first_line(text), source)
    # Arrow has read these very bytes if the file is UTF-8; a Windows-1252 file is worth a try as text
    return _read_csv_text(text, delimiter, source, arrow_tried=head is not None and is_utf8)


def _read_csv_text(
    text: str, delimiter: str, source: str, *, arrow_tried: bool = False
) -> tuple[pd.DataFrame, list[dict[str, object]], int, bool]:
    """Arrow where it reads the file as the csv module would, else the csv module itself."""
    fast = None if arrow_tried else _read_csv_with_arrow(text, delimiter)
    if fast is None:
        fast = _read_csv_around_ragged_rows(text, delimiter)
    if fast is not None:
        return fast
    return (*_read_csv_with_csv_module(text, delimiter, source), False)


def _ragged_row(number: int, fields: int, width: int) -> dict[str, object]:
    """The reject of a data row with the wrong number of fields."""
    reason = f"row has {fields} fields but the header has {width}"
    return {"row_number": number, "record_id": None, "column": "", "reason": reason}


def _read_csv_around_ragged_rows(
    text: str, delimiter: str
) -> tuple[pd.DataFrame, list[dict[str, object]], int, bool] | None:
    """Arrow on the file without its ragged rows, which become rejects; None if that is not the problem.

    Why: a few rows with a stray delimiter are common in agency extracts, and Arrow refuses
    the whole file for one of them, which sent a million-row file to the csv module (twice
    the time and memory). One pass of the csv module finds the ragged records and the lines
    they span; Arrow reads the rest, and each row keeps the number the csv module gives it.
    """
    lines = list(io.StringIO(text, newline=""))
    reader = csv.reader(iter(lines), delimiter=delimiter)
    try:
        width = len(next(reader))
        rejects: list[dict[str, object]] = []
        dropped = np.zeros(len(lines), dtype=bool)
        kept_numbers: list[int] = []
        number = 0
        start = reader.line_num
        for row in reader:
            end = reader.line_num
            if row and "".join(row).strip():  # blank lines are not records, as in the csv module reader
                number += 1
                if len(row) == width:
                    kept_numbers.append(number)
                else:
                    rejects.append(_ragged_row(number, len(row), width))
                    dropped[start:end] = True
            start = end
    except (StopIteration, csv.Error):
        return None
    if not rejects or not kept_numbers:
        return None
    fast = _read_csv_with_arrow("".join(itertools.compress(lines, ~dropped)), delimiter)
    if fast is None or fast[2] != len(kept_numbers):
        return None
    frame = fast[0]
    frame["row_number"] = np.asarray(kept_numbers, dtype=np.int64)
    return frame, rejects, number, True


def _read_csv_with_arrow(
    text: str | None, delimiter: str, utf8: bytes | None = None, *, head: str | None = None
) -> tuple[pd.DataFrame, list[dict[str, object]], int, bool] | None:
    """Arrow's multi-threaded CSV parser for the common, clean file; None hands the file to the csv module.

    Why: the csv module plus a DataFrame of Python lists is most of the time ``dalink
    encode`` spends on a large extract. Arrow parses the same dialect (comma-style
    quoting with doubled quotes, quoted newlines); anything it might read differently is
    left to the reference reader: NUL characters, fields longer than the csv module's
    limit, blank leading lines, duplicate headers and lines of only whitespace; rows of
    the wrong width (rejects) go to :func:`_read_csv_around_ragged_rows` first. Cells come
    back as text exactly as the csv module gives them, then cleaned as :func:`_clean_text`
    cleans them (in Arrow, before any Python string exists); blank rows are dropped as the
    csv module's reader drops them. The file is ``text`` or its UTF-8 bytes ``utf8`` (then
    ``head``, its start as text, is enough to read the header; invalid UTF-8 returns None).
    """
    if utf8 is None:
        utf8 = text.encode("utf-8") if text is not None else b""
    if not utf8 or utf8[:1] in (b"\r", b"\n") or b"\x00" in utf8:
        return None
    try:
        header = next(csv.reader(io.StringIO(text if text is not None else head or "", newline=""), delimiter=delimiter))
    except (csv.Error, StopIteration):
        return None
    names = [name.strip() for name in header]
    if not names or len(set(names)) != len(names):
        return None
    column_names = [f"column_{index}" for index in range(len(names))]
    try:
        table = pa_csv.read_csv(
            io.BytesIO(utf8),
            read_options=pa_csv.ReadOptions(column_names=column_names),
            parse_options=pa_csv.ParseOptions(
                delimiter=delimiter,
                quote_char='"',
                double_quote=True,
                escape_char=False,
                newlines_in_values=True,
                ignore_empty_lines=True,
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in column_names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                null_values=[],
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeError):
        return None
    if table.num_rows == 0 or [table.column(name)[0].as_py() for name in column_names] != header:
        return None
    table = table.slice(1)
    limit = csv.field_size_limit()
    for name in column_names:
        # a cell has no more characters than bytes, so only a column with long cells is counted
        if (pc.max(pc.binary_length(table.column(name))).as_py() or 0) > limit:
            if (pc.max(pc.utf8_length(table.column(name))).as_py() or 0) > limit:
                return None
    table = _without_blank_rows(table, column_names)
    frame = pd.DataFrame(
        {name: _clean_arrow_text(table.column(column)) for name, column in zip(names, column_names)},
        columns=names,
        copy=False,
    )
    frame["row_number"] = np.arange(1, table.num_rows + 1)
    return frame, [], table.num_rows, True


def _blank(column: pa.ChunkedArray) -> np.ndarray:
    """Which cells are empty once Python's whitespace is stripped."""
    empty = pc.equal(pc.utf8_trim(column, characters=_PYTHON_WHITESPACE), "")
    return np.asarray(empty.to_numpy(zero_copy_only=False), dtype=bool)


def _without_blank_rows(table: pa.Table, column_names: list[str]) -> pa.Table:
    """``table`` without the rows whose every cell is blank (only rows with a blank first cell can be)."""
    candidates = np.flatnonzero(_blank(table.column(column_names[0])))
    if not len(candidates):
        return table
    subset = table.take(pa.array(candidates))
    blank = np.ones(len(candidates), dtype=bool)
    for name in column_names[1:]:
        blank &= _blank(subset.column(name))
    if not blank.any():
        return table
    keep = np.ones(table.num_rows, dtype=bool)
    keep[candidates[blank]] = False
    return table.filter(pa.array(keep))


def _clean_arrow_text(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """:func:`_clean_text` of an all-text column, done in Arrow: stripped text, None for blanks.

    Equal cells come back as one shared Python string. Why: extract columns repeat heavily
    (sex, role, event type, dates, common names), so one object per distinct value rather
    than per cell takes a third of the memory and time, and the normalisers' factorising
    hashes each distinct string once (a ``str`` caches its hash).
    """
    stripped = pc.utf8_trim_whitespace(column)
    cleaned = pc.if_else(pc.equal(stripped, ""), pa.scalar(None, pa.string()), stripped)
    if isinstance(cleaned, pa.ChunkedArray):
        cleaned = cleaned.combine_chunks()
    sample = cleaned.slice(0, _DISTINCT_SAMPLE)
    if len(sample) and pc.count_distinct(sample).as_py() > 0.99 * len(sample):
        return cleaned.to_numpy(zero_copy_only=False)  # nearly unique (record ids): nothing to share
    encoded = pc.dictionary_encode(cleaned)
    distinct = np.empty(len(encoded.dictionary) + 1, dtype=object)  # the extra last slot is None
    distinct[:-1] = encoded.dictionary.to_numpy(zero_copy_only=False)
    return distinct[encoded.indices.fill_null(-1).to_numpy()]


def _read_csv_with_csv_module(text: str, delimiter: str, source: str) -> tuple[pd.DataFrame, list[dict[str, object]], int]:
    """The reference reader: Python's csv module, which every other reader must agree with."""
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
    rejects = [_ragged_row(int(index) + 1, int(lengths[index]), width) for index in ragged]
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
        return pd.Series(_clean_arrow_text(pa.array(values, type=pa.string())), index=column.index, dtype=object)
    cleaned = [
        (value.strip() or None) if text else (None if value is None or value != value else value)
        for value, text in zip(values, is_text)
    ]
    return pd.Series(cleaned, index=column.index, dtype=object)


EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")


def _excel_sheets(path: Path) -> list[str]:
    """The sheet names of a workbook (empty if they cannot be read)."""
    try:
        with pd.ExcelFile(path) as workbook:
            return [str(name) for name in workbook.sheet_names]
    except (ImportError, OSError, ValueError):
        return []


def _read_table(path: Path, sheet: str | None = None) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if sheet is not None and suffix not in EXCEL_SUFFIXES:
        raise InputFileError(f"{path}: a sheet can only be chosen in an Excel workbook")
    try:
        if suffix in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        elif suffix in EXCEL_SUFFIXES:
            if sheet is not None and sheet not in (sheets := _excel_sheets(path)):
                raise InputFileError(f"{path}: no sheet named {sheet!r} (the workbook has: {', '.join(sheets)})")
            frame = pd.read_excel(path, sheet_name=sheet if sheet is not None else 0, dtype=object)
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


def read_extract(
    path: str | os.PathLike[str],
    *,
    column_mapping: Mapping[str, str] | None = None,
    sheet: str | None = None,
) -> Extract:
    """Read an extract; ``column_mapping`` maps standard names to the agency's own column names.

    ``sheet`` names the sheet of an Excel workbook to read (default: the first).
    """
    source = Path(path)
    if not source.exists():
        raise InputFileError(f"{source}: the input file does not exist")
    if source.is_dir():
        raise InputFileError(f"{source}: is a directory, not an extract")
    is_csv = source.suffix.lower() not in (".parquet", ".pq", *EXCEL_SUFFIXES)
    if is_csv:
        if sheet is not None:
            raise InputFileError(f"{source}: a sheet can only be chosen in an Excel workbook")
        frame, rejects, rows_read, cleaned = _read_csv(source)
    else:
        frame, rejects, cleaned = _read_table(source, sheet), [], False
        rows_read = len(frame)
    mapping = dict(column_mapping or {})
    unknown = sorted(set(mapping) - set(STANDARD_COLUMNS))
    if unknown:
        raise InputFileError(f"{source}: column mapping names unknown standard column(s): {', '.join(unknown)}")
    shared = sorted(name for name, count in collections.Counter(mapping.values()).items() if count > 1)
    if shared:
        raise InputFileError(f"{source}: column mapping maps several standard columns to: {', '.join(shared)}")
    renames = {agency_name: standard for standard, agency_name in mapping.items()}
    clashes = sorted(
        standard for agency_name, standard in renames.items() if standard != agency_name and standard in frame.columns
    )
    if clashes:
        raise InputFileError(
            f"{source}: the file already has column(s) {', '.join(clashes)}, which the column mapping maps another column to"
        )
    missing_mapped = sorted(name for name in renames if name not in frame.columns)
    if missing_mapped:
        raise InputFileError(f"{source}: mapped column(s) not in the file: {', '.join(missing_mapped)}")
    if renames:  # relabelled in place (``rename`` copies every column of a large frame)
        frame.columns = [renames.get(name, name) for name in frame.columns]
    missing = [name for name in REQUIRED_COLUMNS if name not in frame.columns]
    if missing:
        hint = "map your own column names with a column mapping"
        sheets = _excel_sheets(source) if source.suffix.lower() in EXCEL_SUFFIXES and sheet is None else []
        if len(sheets) > 1:
            hint += f", or choose another sheet (the workbook has: {', '.join(sheets)}; this is {sheets[0]})"
        raise InputFileError(f"{source}: missing required column(s): {', '.join(missing)} ({hint})")
    if rows_read == 0:
        raise InputFileError(f"{source}: the file has a header but no data rows")
    # one new frame from arrays (selecting, copying and re-indexing a large object frame
    # each cost as much as building it)
    columns: dict[str, np.ndarray] = {}
    for name in STANDARD_COLUMNS:
        if name not in frame.columns:
            columns[name] = np.full(len(frame), None, dtype=object)
        elif cleaned:
            columns[name] = frame[name].to_numpy(dtype=object)  # the Arrow CSV reader cleaned every cell
        else:
            columns[name] = _clean_text(frame[name], all_text=is_csv).to_numpy(dtype=object)
    columns["row_number"] = frame["row_number"].to_numpy()
    rows = pd.DataFrame(columns, copy=False)  # every array is new or from the discarded frame
    return Extract(source=str(source), rows=rows, rejects=rejects, rows_read=rows_read)
