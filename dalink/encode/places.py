"""Places: UK postcodes (with their districts and sectors) and ONS GSS local authority codes.

Why: where a person lives is checked for format only (not existence), and pseudo-postcodes
that say nothing about an address (ZZ99..., "NFA") are missing, so they never link strangers.
Reasons never quote the value. The rules are listed in ``docs/normalisation.md``.
"""

from __future__ import annotations

import re
import unicodedata

from dalink.encode.missing_values import _has_no_alphanumerics, _is_missing
from dalink.errors import InvalidValue

# Reasons (never containing the value).
POSTCODE_INVALID = "postcode is not a valid UK postcode"
POSTCODE_MISSING = "postcode is missing"
LOCAL_AUTHORITY_INVALID = "local authority is not an ONS GSS local authority code"


# --- postcodes ---------------------------------------------------------------------------------

_POSTCODE = re.compile(
    r"(?:[A-Z][0-9]{1,2}|[A-Z][0-9][A-Z]|[A-Z]{2}[0-9]{1,2}|[A-Z]{2}[0-9][A-Z])[0-9][A-Z]{2}|GIR0AA", re.ASCII
)
_POSTCODE_MAXIMUM_LENGTH = 7  # "AA9A9AA" without the space
_POSTCODE_PLACEHOLDERS = frozenset(
    {"UNKNOWN", "NOTKNOWN", "N/K", "NK", "N/A", "NA", "NONE", "NULL", "NAN", "XXX", "REFUSED", "NOTGIVEN",
     "NOTSTATED", "NOTRECORDED", "NFA", "NOFIXEDABODE", "UNK", "WITHHELD"}
)
_PSEUDO_POSTCODE_PREFIX = "ZZ99"


def normalise_postcode(value: object) -> str | None:
    """Upper case with one space before the inward code ("sw1a1aa" → "SW1A 1AA").

    The format is checked (outward A9, A99, A9A, AA9, AA99, AA9A, inward 9AA, and GIR 0AA),
    not whether the postcode exists. NHS pseudo-postcodes (ZZ99...: no fixed abode, abroad,
    not known) and "NFA" are missing: they say nothing about where a person lives, and
    letting them agree would link strangers.
    """
    if not isinstance(value, str):
        if _is_missing(value):
            return None
        raise InvalidValue(POSTCODE_INVALID)
    if not value.isascii():
        value = unicodedata.normalize("NFKC", value)
    compact = "".join(value.split()).upper()
    if _has_no_alphanumerics(compact) or compact in _POSTCODE_PLACEHOLDERS:
        return None
    if compact.startswith(_PSEUDO_POSTCODE_PREFIX):
        return None
    if len(compact) > _POSTCODE_MAXIMUM_LENGTH or not _POSTCODE.fullmatch(compact):
        raise InvalidValue(POSTCODE_INVALID)
    return f"{compact[:-3]} {compact[-3:]}"


def _required_postcode(postcode: object) -> str:
    normalised = normalise_postcode(postcode)
    if normalised is None:
        raise InvalidValue(POSTCODE_MISSING)
    return normalised


def postcode_district(postcode: object) -> str:
    """The outward code ("SW1A 1AA" → "SW1A"), for coarse location tokens and blocking."""
    return _required_postcode(postcode).split(" ")[0]


def postcode_sector(postcode: object) -> str:
    """The outward code and the first inward digit ("SW1A 1AA" → "SW1A 1")."""
    return _required_postcode(postcode)[:-2]


# --- local authorities -------------------------------------------------------------------------

# Lower-tier local authorities: English unitaries (E06), districts (E07), metropolitan
# districts (E08), London boroughs (E09), Welsh unitaries (W06), Scottish council areas
# (S12), Northern Irish districts (N09).
_LOCAL_AUTHORITY = re.compile(r"(?:E06|E07|E08|E09|W06|S12|N09)[0-9]{6}", re.ASCII)
_LOCAL_AUTHORITY_PLACEHOLDERS = frozenset(
    {"UNKNOWN", "NOT KNOWN", "N/K", "NK", "N/A", "NA", "NONE", "NULL", "NAN", "NOT RECORDED", "UNK"}
)


def normalise_local_authority(value: object) -> str | None:
    """An ONS GSS local authority code, upper case ("e07000192" → "E07000192")."""
    if not isinstance(value, str):
        if _is_missing(value):
            return None
        raise InvalidValue(LOCAL_AUTHORITY_INVALID)
    code = " ".join(value.split()).upper()
    if _has_no_alphanumerics(code) or code in _LOCAL_AUTHORITY_PLACEHOLDERS:
        return None
    if not _LOCAL_AUTHORITY.fullmatch(code):
        raise InvalidValue(LOCAL_AUTHORITY_INVALID)
    return code
