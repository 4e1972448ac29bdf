"""Nicknames and spelling variants of given names, mapped to one canonical given name.

Why: one agency records "Bob", another "Robert"; the q-grams of the two share almost
nothing, so the encoder adds the canonical given name as an extra token (and blocking keys
use its phonetic code) to let the two meet.

The table ``dalink/data/nicknames.csv`` (columns ``nickname,canonical``) was written by
hand from common knowledge, not copied from any list. Its rules, checked when it is loaded:

- both columns are normalised names (lower-case ``a``-``z``), one row per nickname;
- a canonical name never appears as a nickname, so mapping is idempotent (no chains);
- a diminutive shared by a male and a female name maps to the reading most common in the
  UK (``sam``→``samuel``, ``alex``→``alexander``, ``chris``→``christopher``,
  ``jo``→``joanne``, ``pat``→``patricia``, ``terry``→``terence``). That costs nothing against
  leaving it unmapped: a "Sam" who is a Samantha meets "Samantha" no better either way;
- names now mostly given in their own right (jack, harry, liam, alfie, molly, ellie, lisa,
  toby, jake, max) are not mapped: mapping them would make every Liam look like a William.
"""

from __future__ import annotations

import csv
import io
import re
from functools import cache
from importlib import resources

from dalink.errors import DalinkError

_TABLE_RESOURCE = "data/nicknames.csv"
_NAME_PATTERN = re.compile(r"[a-z]+")


@cache
def nickname_table() -> dict[str, str]:
    """The nickname → canonical given name table, read once and checked.

    A broken table is a packaging bug, not user input, so it raises :class:`DalinkError`
    on first use rather than silently mapping names inconsistently.
    """
    text = resources.files("dalink").joinpath(_TABLE_RESOURCE).read_text(encoding="utf-8")
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header != ["nickname", "canonical"]:
        raise DalinkError(f"{_TABLE_RESOURCE}: the header must be 'nickname,canonical'")
    table: dict[str, str] = {}
    for line_number, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(row) != 2 or not all(_NAME_PATTERN.fullmatch(cell) for cell in row):
            raise DalinkError(f"{_TABLE_RESOURCE} line {line_number}: expected two lower-case names")
        nickname, canonical = row
        if nickname in table:
            raise DalinkError(f"{_TABLE_RESOURCE} line {line_number}: {nickname!r} is listed twice")
        table[nickname] = canonical
    chained = sorted(canonical for canonical in set(table.values()) if canonical in table)
    if chained:
        raise DalinkError(f"{_TABLE_RESOURCE}: canonical names also listed as nicknames: {chained}")
    return table


def canonical_given_name(name: str) -> str:
    """Map each word of a normalised given name to its canonical form ("bob" → "robert").

    Expects the output of :func:`dalink.encode.normalise.normalise_name`. Each word is looked
    up on its own, so a given name holding a middle name too ("bob lee") maps word by word
    ("robert lee"). Words not in the table are kept as they are; a name with no known word
    comes back unchanged.
    """
    table = nickname_table()
    words = name.split()
    mapped = [table.get(word.casefold(), word) for word in words]
    if mapped == words:
        return name
    return " ".join(mapped)
