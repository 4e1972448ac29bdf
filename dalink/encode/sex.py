"""Sex: "F", "M" or "X" from the words, letters and ONS/NHS codes agencies record.

Why a module of its own: sex has its own vocabulary of codes and of missing values (ONS/NHS
0 and 9), unlike any other identifier. Reasons never quote the value.
"""

from __future__ import annotations

import numbers

from dalink.encode.missing_values import _has_no_alphanumerics, _is_bool, _is_missing
from dalink.errors import InvalidValue

# Reasons (never containing the value).
SEX_UNRECOGNISED = "sex is not a recognised value"


# --- sex ---------------------------------------------------------------------------------------

_SEX_CODES = {
    **dict.fromkeys(("f", "female", "woman", "girl", "w", "fem", "2"), "F"),
    **dict.fromkeys(("m", "male", "man", "boy", "1"), "M"),
    **dict.fromkeys(
        ("x", "other", "non binary", "nonbinary", "nb", "indeterminate", "intersex", "genderqueer"), "X"
    ),
}
# ONS/NHS person stated gender codes: 0 not known, 9 not specified.
_SEX_MISSING = frozenset(
    {"u", "unknown", "not stated", "not known", "nk", "n/k", "n/a", "na", "none", "null", "nan", "0", "9",
     "not specified", "unspecified", "prefer not to say", "not recorded", "refused", "not given"}
)
_SEX_NUMBERS = {1: "M", 2: "F", 0: None, 9: None}


def _sex_from_code(value: object) -> str | None:
    """ONS/NHS numeric codes; anything else that is not text is unrecognised."""
    if _is_missing(value):
        return None
    if isinstance(value, numbers.Real) and not _is_bool(value):
        number = float(value)
        if number.is_integer() and int(number) in _SEX_NUMBERS:
            return _SEX_NUMBERS[int(number)]
    raise InvalidValue(SEX_UNRECOGNISED)


def normalise_sex(value: object) -> str | None:
    """"F", "M" or "X" (other, non-binary or indeterminate) from words, letters or ONS codes.

    Numeric codes follow the ONS/NHS convention: 1 male, 2 female, 0 not known and 9 not
    specified (both missing). "U", "unknown" and "not stated" are missing; any other value
    raises :class:`InvalidValue`.
    """
    if not isinstance(value, str):
        return _sex_from_code(value)
    key = " ".join(value.casefold().replace("-", " ").replace("_", " ").replace(".", " ").split())
    if key.endswith(" 0") and key[:-2].isdigit():  # "1 0": "1.0" from a float column as text
        key = key[:-2]
    if key in _SEX_CODES:
        return _SEX_CODES[key]
    if not key or key in _SEX_MISSING or _has_no_alphanumerics(key):
        return None
    raise InvalidValue(SEX_UNRECOGNISED)
