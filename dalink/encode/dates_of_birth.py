"""Dates of birth written in any common UK or ISO form, Excel serials included.

Why: extracts write the same day as "03/04/1985", "1985-04-03", "3rd April 85" or an Excel
serial, and a date of birth is one of the strongest identifiers only if all of them agree.
Reasons never quote the value. The rules are listed in ``docs/normalisation.md``.
"""

from __future__ import annotations

import datetime
import math
import numbers
import re

import numpy as np
import pandas as pd

from dalink.encode.missing_values import _has_no_alphanumerics, _is_bool, _is_missing
from dalink.errors import InvalidValue

EARLIEST_DATE_OF_BIRTH = datetime.date(1900, 1, 1)

# Reasons (never containing the value).
DATE_NOT_VALID = "date of birth is not a valid date"
DATE_IN_FUTURE = "date of birth is in the future"
DATE_BEFORE_1900 = "date of birth is before 1900"
DATE_UNRECOGNISED = "date of birth has an unrecognised format"


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
