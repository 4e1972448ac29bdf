"""Normalise UK person identifiers to one canonical form before they are encoded.

Why: a Bloom-filter encoding compares q-grams, so "O'Brien", "OBRIEN" and "o brien" must
become the same string before hashing, or the linker sees three different people. Each
normaliser returns the canonical value, ``None`` when the value is *missing* (blank or a
placeholder such as "N/K"; missing is a value, not an error), or raises
:class:`~dalink.errors.InvalidValue` when the value is present but unusable (the encoder
rejects the row with that reason). Reasons never quote the value: they end up in
``rejects.csv`` and logs.

The scalar functions are the readable reference; each identifier's rules live in a module of
their own (:mod:`~dalink.encode.names`, :mod:`~dalink.encode.dates_of_birth`,
:mod:`~dalink.encode.sex`, :mod:`~dalink.encode.places`) and are re-exported here, so callers
import from this module. :func:`normalise_series` is what the
encoder calls: it normalises each *distinct* raw value once and maps the results back, with
fast paths for the commonest clean shapes (plain ASCII names, ``YYYY-MM-DD`` and
``DD/MM/YYYY`` dates, well-formed postcodes); the tests check that it agrees with the scalar
functions element by element. The rules are listed in ``docs/normalisation.md``.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from typing import Callable, Literal

import numpy as np
import pandas as pd

from dalink.encode.dates_of_birth import EARLIEST_DATE_OF_BIRTH, normalise_date_of_birth
from dalink.encode.missing_values import _is_bool
from dalink.encode.names import (
    _NAME_PLACEHOLDERS,
    _TITLES,
    MAXIMUM_NAME_LENGTH,
    normalise_name,
    phonetic_code,
)
from dalink.encode.nicknames import canonical_given_name
from dalink.encode.places import (
    _POSTCODE,
    _PSEUDO_POSTCODE_PREFIX,
    normalise_local_authority,
    normalise_postcode,
    postcode_district,
    postcode_sector,
)
from dalink.encode.sex import normalise_sex
from dalink.errors import InvalidValue

__all__ = [
    "DistinctNormalised",
    "NormalisedColumn",
    "canonical_given_name",
    "normalise_date_of_birth",
    "normalise_distinct",
    "normalise_local_authority",
    "normalise_name",
    "normalise_postcode",
    "normalise_series",
    "normalise_sex",
    "phonetic_code",
    "postcode_district",
    "postcode_sector",
]

logger = logging.getLogger(__name__)

IdentifierKind = Literal["name", "date_of_birth", "sex", "postcode", "local_authority"]
IDENTIFIER_KINDS: dict[str, IdentifierKind] = {  # how each identifier column is normalised
    "given_name": "name",
    "middle_name": "name",
    "family_name": "name",
    "date_of_birth": "date_of_birth",
    "sex": "sex",
    "postcode": "postcode",
}


# --- columns -----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class NormalisedColumn:
    """One normalised column: canonical values and, beside them, the reason a value was rejected.

    ``values`` holds ``None`` where the value is missing or invalid; ``problems`` holds the
    :class:`InvalidValue` reason where it is invalid and ``None`` elsewhere. Both share the
    input's index. (No ``==``: comparing Series has no single truth value.)
    """

    values: pd.Series
    problems: pd.Series

    @property
    def missing(self) -> pd.Series:
        """True where the value is missing (blank or placeholder), not invalid."""
        return self.values.isna() & self.problems.isna()

    @property
    def invalid(self) -> pd.Series:
        """True where the value was rejected."""
        return self.problems.notna()


def _distinct_values(series: pd.Series) -> tuple[np.ndarray, list[object]]:
    """Codes into a list of distinct raw values (-1 for missing), as ``pd.factorize``.

    ``pd.factorize`` hashes True like 1 and False like 0; normalisers treat booleans
    differently from numbers, so a mixed object column factorizes its booleans apart.
    """
    if series.dtype != object:
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        return codes, list(uniques)
    values = series.to_numpy(dtype=object)
    inferred = pd.api.types.infer_dtype(values, skipna=True)
    if inferred.startswith("mixed"):
        boolean = np.fromiter((_is_bool(value) for value in values), dtype=bool, count=len(values))
        if boolean.any():
            other_codes, other_uniques = pd.factorize(values[~boolean], use_na_sentinel=True)
            boolean_codes, boolean_uniques = pd.factorize(values[boolean], use_na_sentinel=True)
            codes = np.empty(len(values), dtype=np.intp)
            codes[~boolean] = other_codes
            codes[boolean] = np.where(boolean_codes < 0, -1, boolean_codes + len(other_uniques))
            return codes, list(other_uniques) + list(boolean_uniques)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes, list(uniques)


# Fast paths: each recognises only the commonest already-clean shape of a value and returns
# its canonical form, or _NOT_FAST to hand the value to the scalar reference (which also
# supplies every rejection reason). A fast path must never disagree with the reference; the
# hypothesis tests check that normalise_series equals the scalar functions element by element.
_NOT_FAST = object()


def _fast_name(value: object) -> object:
    """ASCII letters in words separated by whitespace: "Smith", "Mary Ann"."""
    if type(value) is not str or not value.isascii():
        return _NOT_FAST
    words = value.lower().split()
    if not words or any(not word.isalpha() or word in _TITLES for word in words):
        return _NOT_FAST
    name = " ".join(words)
    if len(name) > MAXIMUM_NAME_LENGTH or name in _NAME_PLACEHOLDERS:
        return _NOT_FAST
    return name


def _fast_iso_date(text: str, earliest: str, latest: str) -> object:
    """A canonical "YYYY-MM-DD" in range is its own answer once ``date`` accepts it."""
    if not (
        earliest <= text <= latest
        and text[4] == "-"
        and text[7] == "-"
        and text[:4].isdigit()
        and text[5:7].isdigit()
        and text[8:].isdigit()
    ):
        return _NOT_FAST
    try:
        datetime.date(int(text[:4]), int(text[5:7]), int(text[8:]))
    except ValueError:
        return _NOT_FAST
    return text


def _fast_date(value: object, earliest: str, latest: str) -> object:
    """"YYYY-MM-DD" and "DD/MM/YYYY", the two shapes nearly every extract uses."""
    if type(value) is not str or len(value) != 10 or not value.isascii():
        return _NOT_FAST
    if value[2] == "/" and value[5] == "/":
        return _fast_iso_date(f"{value[6:]}-{value[3:5]}-{value[:2]}", earliest, latest)
    return _fast_iso_date(value, earliest, latest)


def _fast_postcode(value: object) -> object:
    if type(value) is not str or not value.isascii():
        return _NOT_FAST
    compact = "".join(value.split()).upper()
    if compact.startswith(_PSEUDO_POSTCODE_PREFIX) or not _POSTCODE.fullmatch(compact):
        return _NOT_FAST
    return f"{compact[:-3]} {compact[-3:]}"


def _normalise_distinct(
    uniques: list[object], kind: IdentifierKind, today: datetime.date
) -> tuple[list[object], list[str | None]]:
    """Normalise each distinct raw value: fast path first, scalar reference for the rest."""
    fast: Callable[[object], object]
    reference: Callable[[object], object]
    if kind == "date_of_birth":
        earliest, latest = EARLIEST_DATE_OF_BIRTH.isoformat(), today.isoformat()

        def fast(value: object) -> object:
            return _fast_date(value, earliest, latest)

        def reference(value: object) -> object:
            day = normalise_date_of_birth(value, today=today)
            return None if day is None else day.isoformat()

    else:
        fast = _FAST_PATHS.get(kind, lambda value: _NOT_FAST)
        reference = _SERIES_NORMALISERS[kind]
    results = [fast(value) for value in uniques]
    problems: list[str | None] = [None] * len(uniques)
    for index, result in enumerate(results):
        if result is _NOT_FAST:
            try:
                results[index] = reference(uniques[index])
            except InvalidValue as error:
                results[index] = None
                problems[index] = str(error)
    return results, problems


_SERIES_NORMALISERS: dict[str, Callable[[object], object]] = {
    "name": normalise_name,
    "sex": normalise_sex,
    "postcode": normalise_postcode,
    "local_authority": normalise_local_authority,
}
_FAST_PATHS: dict[str, Callable[[object], object]] = {"name": _fast_name, "postcode": _fast_postcode}


@dataclass(frozen=True, eq=False)
class DistinctNormalised:
    """A column normalised per distinct value: ``values[codes]`` and ``problems[codes]`` per row.

    The last slot of ``values`` and ``problems`` is the answer for a missing raw value (code
    -1). Why: this is the compact form of a :class:`NormalisedColumn` (one string per
    distinct value, not per row), cheap to send back from a worker process.
    """

    codes: np.ndarray
    values: np.ndarray
    problems: np.ndarray

    def row_values(self) -> np.ndarray:
        return self.values[self.codes]

    def row_problems(self) -> np.ndarray:
        return self.problems[self.codes]

    def has_value(self) -> np.ndarray:
        """Rows with a usable normalised value."""
        return pd.notna(self.values)[self.codes]

    def has_problem(self) -> np.ndarray:
        """Rows whose value was rejected."""
        return pd.notna(self.problems)[self.codes]

    def column(self, index: pd.Index, name: object = None) -> NormalisedColumn:
        values = pd.Series(self.row_values(), index=index, name=name, dtype=object)
        problems = pd.Series(self.row_problems(), index=index, name=name, dtype=object)
        return NormalisedColumn(values=values, problems=problems)


def normalise_distinct(
    series: pd.Series, kind: IdentifierKind, *, today: datetime.date | None = None
) -> DistinctNormalised:
    """:func:`normalise_series` in its compact form (see :class:`DistinctNormalised`)."""
    if kind not in _SERIES_NORMALISERS and kind != "date_of_birth":
        raise ValueError(f"unknown identifier kind {kind!r}")
    reference_day = today if today is not None else datetime.date.today()
    codes, uniques = _distinct_values(series)
    results, problems = _normalise_distinct(uniques, kind, reference_day)
    result_array = np.empty(len(uniques) + 1, dtype=object)
    result_array[: len(uniques)] = results
    problem_array = np.empty(len(uniques) + 1, dtype=object)
    problem_array[: len(uniques)] = problems
    if logger.isEnabledFor(logging.DEBUG):
        invalid = sum(problem is not None for problem in problems)
        logger.debug("normalised %d %s values (%d distinct, %d invalid)", len(series), kind, len(uniques), invalid)
    return DistinctNormalised(codes=np.asarray(codes), values=result_array, problems=problem_array)


def normalise_series(
    series: pd.Series, kind: IdentifierKind, *, today: datetime.date | None = None
) -> NormalisedColumn:
    """Normalise a whole column, each distinct raw value once.

    Extracts repeat values heavily (a sex column has a handful; postcodes and dates of birth
    repeat across a person's records), so normalising the distinct values and taking the
    results back by position is what makes encoding fast. Dates of birth come back as ISO
    strings ("1985-03-12") so every identifier reaches the tokeniser as text.
    """
    return normalise_distinct(series, kind, today=today).column(series.index, series.name)


@dataclass(frozen=True)
class CodedColumn:
    """A normalised column as ``uniques[codes]``, code -1 where the value is missing."""

    codes: np.ndarray
    uniques: np.ndarray

    @classmethod
    def from_distinct(cls, normalised: DistinctNormalised) -> CodedColumn:
        value_codes, uniques = pd.factorize(normalised.values, use_na_sentinel=True)  # distinct raw values only
        return cls(value_codes[normalised.codes], np.asarray(uniques, dtype=object))

    def take(self, rows: np.ndarray) -> CodedColumn:
        return CodedColumn(self.codes[rows], self.uniques)
