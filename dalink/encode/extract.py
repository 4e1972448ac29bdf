"""Reading an agency extract (CSV, Parquet or Excel) into standard columns, as text.

Whole-file problems (unreadable, empty, missing columns) raise :class:`InputFileError`
naming the file and the column. Row problems (a ragged row) are returned as rejects, so
no row is silently lost: every data row is either in ``rows`` or in ``rejects``.
"""

from __future__ import annotations

import collections
import os
import re
from collections.abc import Container, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from dalink.encode.csv_reader import clean_arrow_text, read_csv
from dalink.encode.names import split_full_name
from dalink.encode.schema import EVENT_COLUMNS, IDENTIFIER_COLUMNS
from dalink.errors import InputFileError

REQUIRED_COLUMNS = ("record_id", "given_name", "family_name", "date_of_birth", "event_date", "event_type", "role")
STANDARD_COLUMNS = ("record_id", *IDENTIFIER_COLUMNS, *EVENT_COLUMNS)
NAME_COLUMNS = ("given_name", "middle_name", "family_name")
# Input only: a whole name in one column (a MARAC spreadsheet's "Victim name"), split into
# the three name columns when the file has none of them.
FULL_NAME = "full_name"


# Common names agencies give the standard columns: suggested in errors, never used unasked.
COLUMN_ALIASES = {
    "record_id": ("id", "ref", "reference", "case_ref", "case_id", "case_number", "urn", "crime_ref", "incident_ref"),
    "given_name": ("forename", "forenames", "first_name", "firstname", "first_names", "christian_name"),
    "middle_name": ("middle_names", "second_name", "other_names"),
    "family_name": ("surname", "last_name", "lastname"),
    "full_name": ("name", "client_name", "victim_name", "person_name"),
    "date_of_birth": ("dob", "d_o_b", "birth_date", "birthdate", "date_birth"),
    "sex": ("gender",),
    "postcode": ("post_code", "postal_code", "home_postcode"),
    "event_date": ("date", "incident_date", "referral_date", "date_of_referral", "occurrence_date"),
    "event_type": ("type", "event", "referral_type", "incident_type"),
    "local_authority": ("la", "la_code", "district", "local_authority_code"),
    "role": ("person_role", "involvement", "party_role"),
}


def _header_key(name: object) -> str:
    """A header name compared with the standard names: case, spaces, hyphens and dots ignored."""
    return re.sub(r"[\s\-.]+", "_", str(name).strip().lower()).strip("_")


class _UsableColumns:
    """The header names an extract can use: standard names in any case and spacing, known
    aliases (kept only to suggest them), and the agency's mapped names."""

    def __init__(self, mapping: Mapping[str, str]) -> None:
        self._mapped = {name.strip() for name in mapping.values()}
        self._keys = {*STANDARD_COLUMNS, FULL_NAME, *(alias for aliases in COLUMN_ALIASES.values() for alias in aliases)}

    def __contains__(self, name: object) -> bool:
        return str(name).strip() in self._mapped or _header_key(name) in self._keys


@dataclass(frozen=True)
class Extract:
    """An agency's rows in standard columns (all text, ``None`` for blanks)."""

    source: str
    rows: pd.DataFrame  # standard columns plus ``row_number`` (1-based data row, header excluded)
    rejects: list[dict[str, object]] = field(default_factory=list)  # row_number, record_id, column, reason
    rows_read: int = 0


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


def _excel_sheets(path: Path) -> list[str]:
    """The sheet names of a workbook (empty if they cannot be read)."""
    try:
        with pd.ExcelFile(path) as workbook:
            return [str(name) for name in workbook.sheet_names]
    except (ImportError, OSError, ValueError):
        return []


def _read_table(path: Path, sheet: str | None = None, wanted: Container[str] | None = None) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if sheet is not None and suffix not in EXCEL_SUFFIXES:
        raise InputFileError(f"{path}: a sheet can only be chosen in an Excel workbook")
    try:
        if suffix in (".parquet", ".pq"):
            names = pq.read_schema(path).names
            frame = pd.read_parquet(path, columns=[name for name in names if wanted is None or name in wanted])
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


def _split_full_names(full_names: np.ndarray) -> dict[str, np.ndarray]:
    """The given, middle and family name columns of whole names, split once per distinct name."""
    codes, uniques = pd.factorize(full_names, use_na_sentinel=True)
    parts = [split_full_name(value) for value in uniques] + [(None, None, None)]  # the last slot: missing
    return {
        name: np.array([part[position] for part in parts], dtype=object)[codes]
        for position, name in enumerate(NAME_COLUMNS)
    }


def _matched_by_spelling(columns: list[str], renames: Mapping[str, str], source: Path) -> dict[str, str]:
    """Standard columns the file has under another case or spacing ("Record ID", "GIVEN-NAME")."""
    present = set(columns) | set(renames.values())
    matched: dict[str, str] = {}
    for standard in (*STANDARD_COLUMNS, FULL_NAME):
        if standard in present:
            continue
        spellings = [name for name in columns if name not in renames and _header_key(name) == standard]
        if len(spellings) > 1:
            raise InputFileError(
                f"{source}: several columns could be {standard} ({', '.join(spellings)}); map one with a column mapping"
            )
        if spellings:
            matched[spellings[0]] = standard
    return matched


def _alias_suggestions(missing: list[str], columns: list[str]) -> list[str]:
    """"--map STANDARD=THEIRS" for each missing column the file seems to have under a common alias."""
    suggestions = []
    for standard in missing:
        candidates = [*COLUMN_ALIASES.get(standard, ())]
        if standard in NAME_COLUMNS:
            candidates += [*COLUMN_ALIASES[FULL_NAME]]
        for name in columns:
            if _header_key(name) in candidates:
                target = FULL_NAME if _header_key(name) in COLUMN_ALIASES[FULL_NAME] else standard
                suggestions.append(f"--map {target}={name!r}" if " " in str(name) else f"--map {target}={name}")
                break
    return list(dict.fromkeys(suggestions))


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
    # only the columns an extract can use are read into Python objects
    wanted = _UsableColumns(column_mapping or {})
    if is_csv:
        if sheet is not None:
            raise InputFileError(f"{source}: a sheet can only be chosen in an Excel workbook")
        frame, rejects, rows_read, cleaned = read_csv(source, wanted)
    else:
        frame, rejects, cleaned = _read_table(source, sheet, wanted), [], False
        rows_read = len(frame)
    used = {*STANDARD_COLUMNS, FULL_NAME, *(column_mapping or {}).values()}
    repeated = sorted(name for name, count in collections.Counter(frame.columns).items() if count > 1 and name in used)
    if repeated:
        raise InputFileError(
            f"{source}: the header has column(s) {', '.join(map(str, repeated))} more than once; "
            "keep one of each (dalink cannot tell which to use)"
        )
    mapping = dict(column_mapping or {})
    unknown = sorted(set(mapping) - {*STANDARD_COLUMNS, FULL_NAME})
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
    renames.update(_matched_by_spelling(list(frame.columns), renames, source))
    if renames:  # relabelled in place (``rename`` copies every column of a large frame)
        frame.columns = [renames.get(name, name) for name in frame.columns]
    full_name = FULL_NAME in frame.columns
    if full_name and (named := [name for name in NAME_COLUMNS if name in frame.columns]):
        raise InputFileError(f"{source}: the file has {FULL_NAME} and {', '.join(named)}; map the names one way only")
    missing = [
        name for name in REQUIRED_COLUMNS if name not in frame.columns and not (full_name and name in NAME_COLUMNS)
    ]
    if missing:
        hint = "map your own column names with a column mapping"
        suggestions = _alias_suggestions(missing, list(frame.columns))
        if suggestions:
            hint += "; perhaps " + ", ".join(suggestions)
        sheets = _excel_sheets(source) if source.suffix.lower() in EXCEL_SUFFIXES and sheet is None else []
        if len(sheets) > 1:
            hint += f", or choose another sheet (the workbook has: {', '.join(sheets)}; this is {sheets[0]})"
        raise InputFileError(f"{source}: missing required column(s): {', '.join(missing)} ({hint})")
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
    return Extract(source=str(source), rows=rows, rejects=rejects, rows_read=rows_read)
