"""clkhash's values and tokens: what a feature's raw value becomes before it is hashed.

Why a module of its own: validation, formatting and tokenising decide which strings reach the
hash, and must mirror clkhash 0.18's code exactly (see ``docs/clkhash.md``) for CLKs to be
bit-identical; they involve no key material, so they can be read and tested apart from it.
Problems never quote the value.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache

from dalink.encode.clkhash_schema import (
    DateFormat,
    EnumFormat,
    ExactComparison,
    FeatureSpec,
    IntegerFormat,
    NgramComparison,
    NumericComparison,
    StringFormat,
)

_DATE_OUTPUT_FORMAT = "%Y%m%d"


def _validation_problem(feature: FeatureSpec, value: str) -> str | None:
    """Why clkhash's ``validate_entries`` would refuse ``value``; never quotes the value."""
    missing = feature.hashing.missing_value
    if missing is not None and value == missing.sentinel:
        return None
    try:
        value.encode(feature.encoding)
    except UnicodeEncodeError:
        return f"cannot be encoded as {feature.encoding}"
    value_format = feature.value_format
    if isinstance(value_format, StringFormat):
        if value_format.pattern is not None:
            if re.fullmatch(value_format.pattern, value) is None:
                return "does not match the schema's pattern"
            return None
        if value_format.minimum_length is not None and len(value) < value_format.minimum_length:
            return f"is shorter than minLength {value_format.minimum_length}"
        if value_format.maximum_length is not None and len(value) > value_format.maximum_length:
            return f"is longer than maxLength {value_format.maximum_length}"
        if value_format.case == "upper" and value.upper() != value:
            return "is not upper case"
        if value_format.case == "lower" and value.lower() != value:
            return "is not lower case"
    elif isinstance(value_format, IntegerFormat):
        try:
            number = int(value, 10)
        except ValueError:
            return "is not a base-10 integer"
        if value_format.minimum is not None and number < value_format.minimum:
            return f"is below the minimum {value_format.minimum}"
        if value_format.maximum is not None and number > value_format.maximum:
            return f"is above the maximum {value_format.maximum}"
    elif isinstance(value_format, DateFormat):
        try:
            _parse_date(value, value_format.date_format)
        except ValueError:
            return f"is not a date in the format {value_format.date_format!r}"
    elif isinstance(value_format, EnumFormat):
        if value not in value_format.values:
            return "is not one of the schema's enum values"
    return None


@lru_cache(maxsize=64)
def _fixed_width_date_pattern(date_format: str) -> re.Pattern[str] | None:
    """A regex for dates written exactly as ``date_format`` with 4-digit years and 2-digit fields.

    Only for formats made of ``%Y``, ``%m``, ``%d`` and literal separators that are not
    whitespace (``strptime`` treats whitespace loosely).
    """
    parts = re.split(r"(%[Ymd])", date_format)
    directives = parts[1::2]
    literals = parts[0::2]
    if sorted(directives) != ["%Y", "%d", "%m"] or any("%" in text or re.search(r"\s", text) for text in literals):
        return None
    widths = {"%Y": "(?P<year>[0-9]{4})", "%m": "(?P<month>[0-9]{2})", "%d": "(?P<day>[0-9]{2})"}
    return re.compile("".join(widths[part] if part in widths else re.escape(part) for part in parts), re.ASCII)


def _parse_date(value: str, date_format: str) -> datetime:
    """``datetime.strptime(value, date_format)``, without its cost for the common cases.

    When the value is written at full width (``1985-03-02`` for ``%Y-%m-%d``) strptime's
    regex can only split it one way, so building the date directly gives the same result or
    the same refusal; anything else (short fields, locales, other directives) goes to strptime.
    The tests hold the two to each other.
    """
    pattern = _fixed_width_date_pattern(date_format)
    match = pattern.fullmatch(value) if pattern is not None else None
    if match is None:
        return datetime.strptime(value, date_format)
    return datetime(int(match["year"]), int(match["month"]), int(match["day"]))


class _ValueProblem(Exception):
    """A value clkhash would fail on while hashing (not only while validating)."""


def _formatted(feature: FeatureSpec, value: str) -> str:
    """clkhash's ``FieldSpec.format_value``: what is actually tokenised."""
    missing = feature.hashing.missing_value
    if missing is not None and value == missing.sentinel:
        return missing.replacement
    value_format = feature.value_format
    if isinstance(value_format, IntegerFormat):
        try:
            return str(int(value, 10))
        except ValueError:
            raise _ValueProblem("is not a base-10 integer") from None
    if isinstance(value_format, DateFormat):
        try:
            return _parse_date(value, value_format.date_format).strftime(_DATE_OUTPUT_FORMAT)
        except ValueError:
            raise _ValueProblem(f"is not a date in the format {value_format.date_format!r}") from None
    return value


def _tokens(comparison: NgramComparison | ExactComparison | NumericComparison, text: str) -> list[str]:
    """clkhash's comparators' ``tokenize``, duplicates and order included."""
    if not text:
        return []
    if isinstance(comparison, ExactComparison):
        return [text]
    if isinstance(comparison, NgramComparison):
        n = comparison.n
        if n > 1:
            text = " " * (n - 1) + text + " " * (n - 1)
        if comparison.positional:
            return [f"{index + 1} {text[index:index + n]}" for index in range(len(text) - n + 1)]
        return [text[index : index + n] for index in range(len(text) - n + 1)]
    return _numeric_tokens(comparison, text)


def _numeric_tokens(comparison: NumericComparison, text: str) -> list[str]:
    precision, interval = comparison.fractional_precision, comparison.distance_interval
    try:
        try:
            number = int(text, base=10)
            if precision > 0:
                number *= 10**precision
        except ValueError:
            as_float = float(text)
            number = int(round(as_float * 10**precision)) if precision > 0 else int(as_float)
    except (ValueError, OverflowError):
        raise _ValueProblem("is not a number") from None
    number = number * 2 * comparison.resolution
    residue = number % interval
    if residue == 0:
        pass
    elif residue < interval / 2:
        number -= residue
    else:
        number += interval - residue
    return [str(number + step * interval) for step in range(-comparison.resolution, comparison.resolution + 1)]
