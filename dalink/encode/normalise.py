"""Normalise UK person identifiers to one canonical form before they are encoded.

Why: a Bloom-filter encoding compares q-grams, so "O'Brien", "OBRIEN" and "o brien" must
become the same string before hashing, or the linker sees three different people. Each
normaliser returns the canonical value, ``None`` when the value is *missing* (blank or a
placeholder such as "N/K"; missing is a value, not an error), or raises
:class:`~dalink.errors.InvalidValue` when the value is present but unusable (the encoder
rejects the row with that reason). Reasons never quote the value: they end up in
``rejects.csv`` and logs.

The scalar functions are the readable reference. :func:`normalise_series` is what the
encoder calls: it normalises each *distinct* raw value once and maps the results back, with
fast paths for the commonest clean shapes (plain ASCII names, ``YYYY-MM-DD`` and
``DD/MM/YYYY`` dates, well-formed postcodes); the tests check that it agrees with the scalar
functions element by element. The rules are listed in ``docs/normalisation.md``.
"""

from __future__ import annotations

import datetime
import logging
import math
import numbers
import re
import unicodedata
from dataclasses import dataclass
from typing import Callable, Literal

import jellyfish
import numpy as np
import pandas as pd

from dalink.encode.nicknames import canonical_given_name
from dalink.errors import InvalidValue

__all__ = [
    "NormalisedColumn",
    "canonical_given_name",
    "normalise_date_of_birth",
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
PhoneticMethod = Literal["soundex", "metaphone", "nysiis", "double_metaphone_like"]

MAXIMUM_NAME_LENGTH = 100
EARLIEST_DATE_OF_BIRTH = datetime.date(1900, 1, 1)

# Reasons (never containing the value).
NAME_TOO_LONG = f"name is longer than {MAXIMUM_NAME_LENGTH} characters"
NAME_HAS_DIGITS = "name contains digits"
NAME_NOT_TEXT = "name is not text"
DATE_NOT_VALID = "date of birth is not a valid date"
DATE_IN_FUTURE = "date of birth is in the future"
DATE_BEFORE_1900 = "date of birth is before 1900"
DATE_UNRECOGNISED = "date of birth has an unrecognised format"
SEX_UNRECOGNISED = "sex is not a recognised value"
POSTCODE_INVALID = "postcode is not a valid UK postcode"
POSTCODE_MISSING = "postcode is missing"
LOCAL_AUTHORITY_INVALID = "local authority is not an ONS GSS local authority code"


# --- shared helpers ----------------------------------------------------------------------------


def _is_missing(value: object) -> bool:
    """None, NaN, NaT and pd.NA: the values ``pd.factorize`` also treats as missing."""
    if value is None:
        return True
    if isinstance(value, (str, bytes)):
        return False
    if isinstance(value, float):
        return math.isnan(value)
    try:
        result = pd.isna(value)
    except (TypeError, ValueError):
        return False
    return isinstance(result, (bool, np.bool_)) and bool(result)


def _is_bool(value: object) -> bool:
    return isinstance(value, (bool, np.bool_))


def _has_no_alphanumerics(text: str) -> bool:
    """A value made only of spaces and punctuation ("", "-", "?", "--/--/----") is blank."""
    return not any(character.isalnum() for character in text)


# --- names -------------------------------------------------------------------------------------

# Letters that Unicode decomposition leaves alone but English-speaking data entry drops.
_TRANSLITERATIONS = str.maketrans(
    {
        "ł": "l",
        "ø": "o",
        "ß": "ss",
        "æ": "ae",
        "œ": "oe",
        "đ": "d",
        "ð": "d",
        "þ": "th",
        "ħ": "h",
        "ı": "i",
        "ŀ": "l",
        "ŧ": "t",
        "ƒ": "f",
        "ĸ": "k",
    }
)
# Apostrophes are removed so that "O'Brien" and "OBrien" agree; every other mark becomes a space.
_APOSTROPHES = "'\u2019\u2018\u02bc\u02bb`\u00b4\u2032\uff07"
_DELETE_APOSTROPHES = str.maketrans("", "", _APOSTROPHES)
_ASCII_NAME_TABLE = str.maketrans(
    {
        **{chr(code): " " for code in range(128) if not chr(code).isalnum()},
        **{apostrophe: None for apostrophe in _APOSTROPHES if ord(apostrophe) < 128},
    }
)
_ASCII_DIGIT = re.compile(r"[0-9]")
_TITLES = frozenset(
    {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "rev", "revd", "sir", "lady", "dame"}
    | {"jr", "jnr", "sr", "snr", "ii", "iii"}
)
_NAME_PLACEHOLDERS = frozenset(
    {
        "unknown", "not known", "n k", "nk", "n a", "na", "none", "null", "xxx", "refused",
        "not given", "not stated", "not recorded", "unk", "withheld", "anonymous", "unborn", "baby",
    }
)


def _clean_name_characters(text: str) -> str:
    """Lower-case letters and spaces only; raises if the name holds digits."""
    if text.isascii():
        if _ASCII_DIGIT.search(text):
            raise InvalidValue(NAME_HAS_DIGITS)
        return text.lower().translate(_ASCII_NAME_TABLE)
    text = text.translate(_DELETE_APOSTROPHES)
    # Decompose, fold case, decompose again (folding can yield composed letters), then drop
    # the combining marks: "É" -> "e" + acute -> "e".
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    text = "".join(character for character in text if not unicodedata.category(character).startswith("M"))
    text = text.translate(_TRANSLITERATIONS).translate(_DELETE_APOSTROPHES).lower()
    cleaned = []
    for character in text:
        if character.isalpha():
            cleaned.append(character)
        elif character.isdigit():
            raise InvalidValue(NAME_HAS_DIGITS)
        else:
            cleaned.append(" ")
    return "".join(cleaned)


def normalise_name(value: object) -> str | None:
    """Canonical form of a given, middle or family name: lower-case letters and single spaces.

    Accents are stripped (é→e, ł→l, ø→o, ß→ss), apostrophes removed ("o'brien"→"obrien"),
    hyphens and other punctuation become spaces ("smith-jones"→"smith jones"), titles and
    suffixes (mr, mrs, dr, jr, iii, ...) are dropped as whole words. Blank or placeholder
    names ("N/K", "unknown") are missing. Raises :class:`InvalidValue` for names with digits
    or longer than 100 characters after cleaning, which are data-entry errors.
    """
    if not isinstance(value, str):
        if _is_missing(value):
            return None
        if isinstance(value, numbers.Real) and not _is_bool(value) and math.isfinite(value):
            raise InvalidValue(NAME_HAS_DIGITS)
        raise InvalidValue(NAME_NOT_TEXT)
    words = _clean_name_characters(value).split()
    if " ".join(words) in _NAME_PLACEHOLDERS:
        return None
    name = " ".join(word for word in words if word not in _TITLES)
    if not name or name in _NAME_PLACEHOLDERS:
        return None
    if len(name) > MAXIMUM_NAME_LENGTH:
        raise InvalidValue(NAME_TOO_LONG)
    return name


# --- dates of birth ----------------------------------------------------------------------------

_MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4,
    "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8, "sep": 9, "sept": 9,
    "september": 9, "oct": 10, "october": 10, "nov": 11, "november": 11, "dec": 12, "december": 12,
}
_DATE_PLACEHOLDERS = frozenset(
    {"unknown", "not known", "n/k", "nk", "n/a", "na", "none", "null", "nan", "nat", "refused", "not given",
     "not stated", "not recorded", "unk"}
)
_TIME = r"(?:[ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?(?: ?(?:Z|[+-][0-9]{2}:?[0-9]{2}))?)?"
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})" + _TIME, re.ASCII)
_YEAR_FIRST_DATE = re.compile(r"([0-9]{4})([/.])([0-9]{1,2})\2([0-9]{1,2})" + _TIME, re.ASCII)
_COMPACT_DATE = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})", re.ASCII)
_DAY_FIRST_DATE = re.compile(r"([0-9]{1,2})([/.\- ])([0-9]{1,2})\2([0-9]{4}|[0-9]{2})" + _TIME, re.ASCII)
_DAY_MONTH_NAME_DATE = re.compile(
    r"([0-9]{1,2})(?:st|nd|rd|th)?[ \-/.]+(?:of )?([a-z]+)\.?,?[ \-/.]+([0-9]{4}|[0-9]{2})" + _TIME,
    re.ASCII | re.IGNORECASE,
)
_MONTH_NAME_DAY_DATE = re.compile(
    r"([a-z]+)\.?[ \-/.]+([0-9]{1,2})(?:st|nd|rd|th)?,?[ \-/.]+([0-9]{4}|[0-9]{2})" + _TIME,
    re.ASCII | re.IGNORECASE,
)
_SERIAL_NUMBER = re.compile(r"[0-9]{1,6}(?:\.[0-9]{1,12})?", re.ASCII)
_ZERO_DATE = re.compile(r"[0/.\-: ]*0[0/.\-: ]*", re.ASCII)  # "00/00/0000"
_EXCEL_SERIAL_LIMIT = 80000
# Excel's 1900 date system counts 1900-02-29, which never existed: serial 60 is that day,
# serials before it count from 1899-12-31 and serials after it from 1899-12-30.
_EXCEL_EARLY_BASE = datetime.date(1899, 12, 31)
_EXCEL_BASE = datetime.date(1899, 12, 30)
_EXCEL_PHANTOM_LEAP_DAY = 60


def _make_date(year: int, month: int, day: int) -> datetime.date:
    try:
        return datetime.date(year, month, day)
    except ValueError:
        raise InvalidValue(DATE_NOT_VALID) from None


def _two_digit_year_date(two_digit_year: int, month: int, day: int, today: datetime.date) -> datetime.date:
    """Pivot a two-digit year to the latest century that keeps the date out of the future."""
    candidates = []
    for century in (2000, 1900):
        try:
            candidates.append(datetime.date(century + two_digit_year, month, day))
        except ValueError:
            continue
    if not candidates:
        raise InvalidValue(DATE_NOT_VALID)
    for candidate in candidates:
        if candidate <= today:
            return candidate
    # Only possible with a ``today`` before 2000 or a 29 February that 1900 lacks.
    return candidates[-1]


def _year_month_day(year_text: str, month: int, day: int, today: datetime.date) -> datetime.date:
    if len(year_text) == 2:
        return _two_digit_year_date(int(year_text), month, day, today)
    return _make_date(int(year_text), month, day)


def _from_excel_serial(serial: float) -> datetime.date:
    whole_days = math.floor(serial)
    if whole_days == _EXCEL_PHANTOM_LEAP_DAY:
        raise InvalidValue(DATE_NOT_VALID)
    base = _EXCEL_EARLY_BASE if whole_days < _EXCEL_PHANTOM_LEAP_DAY else _EXCEL_BASE
    return base + datetime.timedelta(days=whole_days)


def _looks_like_bare_year(number: float) -> bool:
    """1900-2099 alone is far more likely a year of birth than an Excel date in 1905-1910."""
    return number == int(number) and 1900 <= number <= 2099


def _date_from_number(number: float) -> datetime.date | None:
    """Excel serials, and whole numbers such as 19850312 that are compact ISO dates."""
    if not math.isfinite(number):
        raise InvalidValue(DATE_UNRECOGNISED)
    if number == 0:  # Excel's empty date
        return None
    if number == int(number) and 10_000_000 <= number <= 99_999_999:
        digits = str(int(number))
        return _make_date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    if 1 <= number < _EXCEL_SERIAL_LIMIT + 1 and not _looks_like_bare_year(number):
        return _from_excel_serial(number)
    raise InvalidValue(DATE_UNRECOGNISED)


def _month_number(word: str) -> int:
    month = _MONTHS.get(word.lower())
    if month is None:
        raise InvalidValue(DATE_UNRECOGNISED)
    return month


def _date_from_text(text: str, today: datetime.date) -> datetime.date | None:
    if match := _ISO_DATE.fullmatch(text):
        return _make_date(int(match[1]), int(match[2]), int(match[3]))
    if match := _COMPACT_DATE.fullmatch(text):
        return _make_date(int(match[1]), int(match[2]), int(match[3]))
    if match := _YEAR_FIRST_DATE.fullmatch(text):
        return _make_date(int(match[1]), int(match[3]), int(match[4]))
    if match := _DAY_FIRST_DATE.fullmatch(text):
        return _year_month_day(match[4], int(match[3]), int(match[1]), today)
    if match := _DAY_MONTH_NAME_DATE.fullmatch(text):
        return _year_month_day(match[3], _month_number(match[2]), int(match[1]), today)
    if match := _MONTH_NAME_DAY_DATE.fullmatch(text):
        return _year_month_day(match[3], _month_number(match[1]), int(match[2]), today)
    if _SERIAL_NUMBER.fullmatch(text):
        if len(text) == 4:  # "1985": a bare year, not the Excel serial for 1905-06-07
            raise InvalidValue(DATE_UNRECOGNISED)
        return _date_from_number(float(text))
    raise InvalidValue(DATE_UNRECOGNISED)


def _parse_date_of_birth(value: object, today: datetime.date) -> datetime.date | None:
    if isinstance(value, str):
        text = " ".join(value.split())
        if _has_no_alphanumerics(text) or text.lower() in _DATE_PLACEHOLDERS or _ZERO_DATE.fullmatch(text):
            return None
        return _date_from_text(text, today)
    if _is_missing(value):
        return None
    if isinstance(value, datetime.datetime):  # includes pandas.Timestamp
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value).date()
    if isinstance(value, numbers.Real) and not _is_bool(value):
        return _date_from_number(float(value))
    raise InvalidValue(DATE_UNRECOGNISED)


def normalise_date_of_birth(value: object, *, today: datetime.date | None = None) -> datetime.date | None:
    """Parse a date of birth written in any common UK or ISO form.

    Day-first is assumed for numeric dates (03/04/1985 is 3 April), as in every UK system.
    Two-digit years take the latest century that does not put the date after ``today``.
    Excel serial numbers use the 1900 date system, whose phantom 29 February 1900 (serial
    60) is rejected. ``today`` (default: the real today) fixes "the future" so runs are
    reproducible. Raises :class:`InvalidValue` for impossible, future, pre-1900 or
    unrecognised dates; blanks and placeholders are missing.
    """
    reference_day = today if today is not None else datetime.date.today()
    parsed = _parse_date_of_birth(value, reference_day)
    if parsed is None:
        return None
    if parsed < EARLIEST_DATE_OF_BIRTH:
        raise InvalidValue(DATE_BEFORE_1900)
    if parsed > reference_day:
        raise InvalidValue(DATE_IN_FUTURE)
    return parsed


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


# --- phonetic codes ----------------------------------------------------------------------------

# Spellings that Double Metaphone reads alike and plain Metaphone does not.
_DOUBLE_METAPHONE_SPELLINGS = (("tsch", "ch"), ("sch", "sh"), ("cz", "ch"), ("sz", "s"), ("mac", "mc"))
# Double Metaphone's alternate codes let "th" meet "t" and "sh"/"x" meet "s".
_DOUBLE_METAPHONE_FOLDS = str.maketrans({"0": "T", "X": "S"})
_DOUBLE_METAPHONE_LENGTH = 4


def _double_metaphone_like(word: str) -> str:
    for spelling, replacement in _DOUBLE_METAPHONE_SPELLINGS:
        word = word.replace(spelling, replacement)
    code = jellyfish.metaphone(word).translate(_DOUBLE_METAPHONE_FOLDS)
    deduplicated = "".join(letter for position, letter in enumerate(code) if position == 0 or code[position - 1] != letter)
    return deduplicated[:_DOUBLE_METAPHONE_LENGTH]


_PHONETIC_METHODS: dict[str, Callable[[str], str]] = {
    "soundex": jellyfish.soundex,
    "metaphone": jellyfish.metaphone,
    "nysiis": jellyfish.nysiis,
    "double_metaphone_like": _double_metaphone_like,
}
_NON_LETTERS = re.compile(r"[^a-z]+")


def phonetic_code(name: str, method: PhoneticMethod = "soundex") -> str:
    """Phonetic code of the first word of a normalised name, for blocking keys.

    Only the first word is coded: a double-barrelled surname recorded as one barrel still
    shares its first word more often than not, and a code of the whole name would change
    with every added middle name. Letters outside a-z are dropped (the phonetic algorithms
    are defined for English spelling); a name with no such letters codes as "".

    ``double_metaphone_like`` is not Double Metaphone: it is Metaphone after a few of
    Double Metaphone's spelling rules (sch→sh, cz→ch, sz→s, mac→mc) with "th" folded into
    "t" and "sh" into "s" as its alternate codes allow, repeated letters collapsed and the
    code cut to four characters.
    """
    encoder = _PHONETIC_METHODS.get(method)
    if encoder is None:
        raise ValueError(f"unknown phonetic method {method!r}; choose one of {sorted(_PHONETIC_METHODS)}")
    words = name.split()
    word = _NON_LETTERS.sub("", words[0].lower()) if words else ""
    return encoder(word) if word else ""


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


def normalise_series(
    series: pd.Series, kind: IdentifierKind, *, today: datetime.date | None = None
) -> NormalisedColumn:
    """Normalise a whole column, each distinct raw value once.

    Extracts repeat values heavily (a sex column has a handful; postcodes and dates of birth
    repeat across a person's records), so normalising the distinct values and taking the
    results back by position is what makes encoding fast. Dates of birth come back as ISO
    strings ("1985-03-12") so every identifier reaches the tokeniser as text.
    """
    if kind not in _SERIES_NORMALISERS and kind != "date_of_birth":
        raise ValueError(f"unknown identifier kind {kind!r}")
    reference_day = today if today is not None else datetime.date.today()
    codes, uniques = _distinct_values(series)
    results, problems = _normalise_distinct(uniques, kind, reference_day)
    # One extra slot holds the answer for missing raw values: code -1 picks the last slot.
    result_array = np.empty(len(uniques) + 1, dtype=object)
    result_array[: len(uniques)] = results
    problem_array = np.empty(len(uniques) + 1, dtype=object)
    problem_array[: len(uniques)] = problems
    values = pd.Series(result_array[codes], index=series.index, name=series.name, dtype=object)
    reasons = pd.Series(problem_array[codes], index=series.index, name=series.name, dtype=object)
    if logger.isEnabledFor(logging.DEBUG):
        invalid = sum(problem is not None for problem in problems)
        logger.debug("normalised %d %s values (%d distinct, %d invalid)", len(series), kind, len(uniques), invalid)
    return NormalisedColumn(values=values, problems=reasons)
