"""Reading an agency's CSV exactly as Python's csv module would, fast.

Why a module of its own: the csv module is the reference (it reads every dialect quirk
agency exports have), but it and a frame of Python lists were most of the time a large
extract spent. Arrow reads the common, clean file from its bytes; rows of the wrong width
are found with one pass of the csv module and Arrow reads the rest; anything else Arrow
might read differently goes to the csv module itself. Every path returns the same rows,
row numbers and rejects (tested against the reference).
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
from collections.abc import Container
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from dalink.errors import InputFileError

_DELIMITERS = ",;\t|"
_FIRST_LINE_WINDOW = 1 << 16
_DISTINCT_SAMPLE = 10_000  # cells that tell a nearly unique column (record ids) from a repetitive one
# What str.strip() removes: a row whose cells are all these is a blank line, not a record.
_PYTHON_WHITESPACE = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


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


def read_csv(
    path: Path, wanted: Container[str] | None = None, header_line: int = 1
) -> tuple[pd.DataFrame, list[dict[str, object]], int, bool]:
    """Rows, rejects, rows read, and whether the cells are already cleaned (stripped, blanks None).

    A file that starts as UTF-8 goes to Arrow as bytes, never decoded into one large Python
    string (Arrow checks the UTF-8 of every cell); only a file Arrow refuses is decoded,
    for the readers that need text. Only the ``wanted`` columns (default: all) need come
    back: an agency's extract often has dozens of columns dalink never uses, and turning
    each into Python strings would cost as much as the ones it does use. The header is on
    line ``header_line`` (the lines above it, a title say, are not read).
    """
    source = str(path)
    raw = _from_line(path.read_bytes(), header_line)
    if header_line > 1 and (not raw or raw.isspace()):
        raise InputFileError(f"{source}: nothing from line {header_line} on, where the header should be")
    if not raw or raw.isspace():  # (stops at the first other byte; strip() would copy the file)
        raise InputFileError(f"{source}: the file is empty")
    # blank lines before the header (some exports start with one) are not the header
    utf8 = (raw[len(codecs.BOM_UTF8) :] if raw.startswith(codecs.BOM_UTF8) else raw).lstrip(b"\r\n")
    head = _utf8_head(utf8)
    for_arrow = True
    if head is not None:
        try:
            fast = _read_csv_with_arrow(None, _sniff_delimiter(_first_line(head), source), utf8, head=head, wanted=wanted)
        except _NotForArrow:
            fast, for_arrow = None, False
        if fast is not None:
            return fast
    text, is_utf8 = _decode(raw)
    text = text.lstrip("\r\n")
    delimiter = _sniff_delimiter(_first_line(text), source)
    if not for_arrow:
        return (*_read_csv_with_csv_module(text, delimiter, source), False)
    # Arrow has read these very bytes if the file is UTF-8; a Windows-1252 file is worth a try as text
    return _read_csv_text(text, delimiter, source, arrow_tried=head is not None and is_utf8, wanted=wanted)


def _from_line(raw: bytes, line: int) -> bytes:
    """``raw`` from its ``line``-th line on (1: all of it), a BOM kept."""
    if line <= 1:
        return raw
    bom = codecs.BOM_UTF8 if raw.startswith(codecs.BOM_UTF8) else b""
    breaks = itertools.islice(re.finditer(rb"\r\n|\r|\n", raw), line - 2, None)
    first = next(breaks, None)
    return bom + raw[first.end() :] if first is not None else b""


def first_rows(path: Path, count: int) -> list[list[str]]:
    """The first ``count`` rows of a CSV file as the csv module reads them (to look for a header)."""
    head = path.read_bytes()[: _FIRST_LINE_WINDOW * 4]
    text = _decode(head)[0] if _utf8_head(head) is None else head.decode("utf-8-sig", errors="replace")
    try:
        delimiter = _sniff_delimiter(max(text.splitlines()[:count] or [""], key=len), str(path))
        return list(itertools.islice(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), count))
    except (csv.Error, InputFileError):
        return []


def _read_csv_text(
    text: str, delimiter: str, source: str, *, arrow_tried: bool = False, wanted: Container[str] | None = None
) -> tuple[pd.DataFrame, list[dict[str, object]], int, bool]:
    """Arrow where it reads the file as the csv module would, else the csv module itself."""
    try:
        fast = None if arrow_tried else _read_csv_with_arrow(text, delimiter, wanted=wanted)
        if fast is None:
            fast = _read_csv_around_ragged_rows(text, delimiter, wanted=wanted)
    except _NotForArrow:  # no need to look for ragged rows: Arrow would refuse the rest too
        fast = None
    if fast is not None:
        return fast
    return (*_read_csv_with_csv_module(text, delimiter, source), False)


def _ragged_row(number: int, fields: int, width: int) -> dict[str, object]:
    """The reject of a data row with the wrong number of fields."""
    reason = f"row has {fields} fields but the header has {width}"
    return {"row_number": number, "record_id": None, "column": "", "reason": reason}


def _read_csv_around_ragged_rows(
    text: str, delimiter: str, wanted: Container[str] | None = None
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
    fast = _read_csv_with_arrow("".join(itertools.compress(lines, ~dropped)), delimiter, wanted=wanted)
    if fast is None or fast[2] != len(kept_numbers):
        return None
    frame = fast[0]
    frame["row_number"] = np.asarray(kept_numbers, dtype=np.int64)
    return frame, rejects, number, True


class _NotForArrow(Exception):
    """The file has something Arrow reads differently from the csv module (NUL characters,
    duplicate headers, over-long cells): only the csv module may read it, and looking for
    ragged rows first would be a wasted pass."""


def _read_csv_with_arrow(
    text: str | None,
    delimiter: str,
    utf8: bytes | None = None,
    *,
    head: str | None = None,
    wanted: Container[str] | None = None,
) -> tuple[pd.DataFrame, list[dict[str, object]], int, bool] | None:
    """Arrow's multi-threaded CSV parser for the common, clean file; None if Arrow refused its rows.

    Why: the csv module plus a DataFrame of Python lists is most of the time ``dalink
    encode`` spends on a large extract. Arrow parses the same dialect (comma-style
    quoting with doubled quotes, quoted newlines); anything it might read differently is
    left to the reference reader: NUL characters, fields longer than the csv module's
    limit, blank leading lines, duplicate headers and lines of only whitespace (these raise
    :class:`_NotForArrow`); rows of the wrong width (rejects) go to
    :func:`_read_csv_around_ragged_rows` first (Arrow refuses them: None). Cells come
    back as text exactly as the csv module gives them, then cleaned as :func:`_clean_text`
    cleans them (in Arrow, before any Python string exists); blank rows are dropped as the
    csv module's reader drops them. The file is ``text`` or its UTF-8 bytes ``utf8`` (then
    ``head``, its start as text, is enough to read the header; invalid UTF-8 returns None).
    """
    if utf8 is None:
        utf8 = text.encode("utf-8") if text is not None else b""
    if not utf8 or utf8[:1] in (b"\r", b"\n") or b"\x00" in utf8:
        raise _NotForArrow
    try:
        header = next(csv.reader(io.StringIO(text if text is not None else head or "", newline=""), delimiter=delimiter))
    except (csv.Error, StopIteration):
        return None
    names = [name.strip() for name in header]
    if not names or len(set(names)) != len(names):
        raise _NotForArrow
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
                raise _NotForArrow
    table = _without_blank_rows(table, column_names)
    kept = [(name, column) for name, column in zip(names, column_names) if wanted is None or name in wanted]
    frame = pd.DataFrame(
        {name: clean_arrow_text(table.column(column)) for name, column in kept},
        columns=[name for name, _ in kept],
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


def clean_arrow_text(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
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
