"""Which of an extract's columns are the standard ones.

Why a module of its own: agencies name their columns their own way. A column mapping says
which is which; columns that differ from a standard name only in case or spacing are found
without one; common names ("DOB", "Surname") are suggested when a required column is
missing, never applied unasked. Every problem is one line naming the columns, never a value.
"""

from __future__ import annotations

import collections
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

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


class UsableColumns:
    """The header names an extract can use: standard names in any case and spacing, known
    aliases (kept only to suggest them), and the agency's mapped names."""

    def __init__(self, mapping: Mapping[str, str]) -> None:
        self._mapped = {name.strip() for name in mapping.values()}
        self._keys = {*STANDARD_COLUMNS, FULL_NAME, *(alias for aliases in COLUMN_ALIASES.values() for alias in aliases)}

    def __contains__(self, name: object) -> bool:
        return str(name).strip() in self._mapped or _header_key(name) in self._keys



def resolve_columns(columns: Sequence[str], mapping: Mapping[str, str], source: Path) -> dict[str, str]:
    """The renames (agency name → standard name) that give the file its standard columns."""
    used = {*STANDARD_COLUMNS, FULL_NAME, *mapping.values()}
    repeated = sorted(str(name) for name, count in collections.Counter(columns).items() if count > 1 and name in used)
    if repeated:
        raise InputFileError(
            f"{source}: the header has column(s) {', '.join(repeated)} more than once; "
            "keep one of each (dalink cannot tell which to use)"
        )
    unknown = sorted(set(mapping) - {*STANDARD_COLUMNS, FULL_NAME})
    if unknown:
        raise InputFileError(f"{source}: column mapping names unknown standard column(s): {', '.join(unknown)}")
    shared = sorted(name for name, count in collections.Counter(mapping.values()).items() if count > 1)
    if shared:
        raise InputFileError(f"{source}: column mapping maps several standard columns to: {', '.join(shared)}")
    renames = {agency_name: standard for standard, agency_name in mapping.items()}
    clashes = sorted(
        standard for agency_name, standard in renames.items() if standard != agency_name and standard in columns
    )
    if clashes:
        raise InputFileError(
            f"{source}: the file already has column(s) {', '.join(clashes)}, which the column mapping maps another column to"
        )
    missing_mapped = sorted(name for name in renames if name not in columns)
    if missing_mapped:
        raise InputFileError(f"{source}: mapped column(s) not in the file: {', '.join(missing_mapped)}")
    renames.update(_matched_by_spelling(columns, renames, source))
    standard = {renames.get(name, name) for name in columns}
    if FULL_NAME in mapping and (named := [name for name in NAME_COLUMNS if name in standard]):
        raise InputFileError(f"{source}: the file has {FULL_NAME} and {', '.join(named)}; map the names one way only")
    return renames


def uses_full_name(columns: Sequence[str]) -> bool:
    """Whether names come from a whole-name column: only when the file has none of the name columns
    (a system that exports both is read from its separate columns, which link better)."""
    return FULL_NAME in columns and not any(name in columns for name in NAME_COLUMNS)


def missing_required(columns: Sequence[str]) -> list[str]:
    """Required standard columns the (renamed) file lacks; a full name stands for the name columns."""
    full_name = uses_full_name(columns)
    return [name for name in REQUIRED_COLUMNS if name not in columns and not (full_name and name in NAME_COLUMNS)]


def missing_columns_message(source: Path, missing: Sequence[str], columns: Sequence[str], sheets: Sequence[str]) -> str:
    """The one-line error for missing required columns, with what might fix it."""
    hint = "map your own column names with a column mapping"
    suggestions = _alias_suggestions(missing, columns)
    if suggestions:
        hint += "; perhaps " + ", ".join(suggestions)
    if len(sheets) > 1:
        hint += f", or choose another sheet (the workbook has: {', '.join(sheets)}; this is {sheets[0]})"
    return f"{source}: missing required column(s): {', '.join(missing)} ({hint})"


def _matched_by_spelling(columns: Sequence[str], renames: Mapping[str, str], source: Path) -> dict[str, str]:
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


def _alias_suggestions(missing: Sequence[str], columns: Sequence[str]) -> list[str]:
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
