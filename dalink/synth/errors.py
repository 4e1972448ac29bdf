"""How each agency's record misrepresents its person: the documented, settable error rates.

Every error is one field of :class:`ErrorRates` and is applied as a vectorised random mask
over all records; only the few selected values are touched by Python code (a typo, a
nickname), so a million records stay fast. Every mask is drawn whatever its rate, so changing
one rate never changes which records receive another error (tests and sensitivity analyses
can vary one rate at a time).

The defaults are moderate on purpose: real extracts are messy, but a good non-private linker
on raw names should still link them almost perfectly (pairwise F1 around 0.97-0.98); errors
much heavier than this would make every linker look bad and hide real differences.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from dalink.synth.names import NICKNAMES
from dalink.synth.parameters import (
    AGENCIES,
    EVENT_TYPES,
    HOUSING,
    POLICE,
    REFERRERS,
    REFUGE,
    RISK_LEVELS,
    ROLES,
)
from dalink.synth.world import World

#: How each agency's system writes a date of birth (the format most of its rows use).
AGENCY_DATE_FORMAT = {
    "police": "dd/mm/yyyy",
    "marac": "iso",
    "refuge": "d mon yyyy",
    "housing": "iso",
    "childrens_services": "dd/mm/yyyy",
    "idva": "iso",
}
DATE_FORMATS = ("iso", "dd/mm/yyyy", "d mon yyyy")
NO_FIXED_ABODE_POSTCODE = "ZZ99 3VZ"
_EXCEL_EPOCH_DAY = int(np.datetime64("1899-12-30", "D").astype(np.int64))
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_DIGITS = "0123456789"
_NON_DECOMPOSING = str.maketrans({"ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ø": "o", "Ø": "O", "ı": "i", "ß": "ss"})

def _rate(default: float, why: str) -> float:
    return Field(default, ge=0.0, le=1.0, description=why)  # type: ignore[no-any-return]


class ErrorRates(BaseModel):
    """Probability of each error, per record unless stated otherwise."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    given_name_typo: float = _rate(0.015, "One-character slip (substitution, deletion, insertion or transposition) in the given name.")
    family_name_typo: float = _rate(0.015, "One-character slip in the family name.")
    nickname: float = _rate(0.08, "A given name with a known short form or spelling variant is recorded as it (Robert as Bob, Mohammed as Muhammad).")
    names_swapped: float = _rate(0.01, "Given and family name recorded in each other's field.")
    middle_name_missing: float = _rate(0.35, "A person's middle name is not recorded (many systems have no field for it).")
    middle_name_in_given_name: float = _rate(0.01, "The middle name is recorded inside the given-name field ('Sarah Jane').")
    diacritics_dropped: float = _rate(0.6, "Letters with diacritics are written without them (Łukasz as Lukasz); most systems are ASCII.")
    double_barrelled_partial: float = _rate(0.3, "A hyphenated surname is recorded as one part, without the hyphen, or with a space.")
    surname_reverted: float = _rate(0.3, "Per person: share of victims carrying a partner's surname who revert to their birth surname after separation; their later records use it.")
    surname_other: float = _rate(0.05, "A person with two surnames (birth and partner's) is recorded under the one not in use at the time.")
    case_noise: float = _rate(0.2, "Names recorded in upper case (most of these) or lower case.")
    whitespace_noise: float = _rate(0.03, "Leading, trailing or doubled spaces in a name field.")
    date_of_birth_missing: float = _rate(0.03, "Date of birth not recorded (agencies other than the police).")
    date_of_birth_missing_police: float = _rate(0.12, "Date of birth not recorded by the police (often unknown at the scene).")
    date_of_birth_other_format: float = _rate(0.05, "Date of birth written in another text format than the agency's usual one.")
    date_of_birth_excel_serial: float = _rate(0.01, "Date of birth exported as an Excel serial number (days since 1899-12-30).")
    date_of_birth_day_month_swapped: float = _rate(0.01, "Day and month swapped (only possible, so only applied, when the day is 12 or less).")
    date_of_birth_off_by_year: float = _rate(0.01, "Year of birth one too high or too low.")
    date_of_birth_off_by_day: float = _rate(0.01, "Date of birth one day early or late.")
    sex_missing: float = _rate(0.02, "Sex not recorded.")
    sex_spelled_out: float = _rate(0.15, "Sex written as 'Female'/'Male' instead of 'F'/'M'.")
    postcode_missing: float = _rate(0.04, "Postcode not recorded (refuge postcodes are always blank, whatever this rate).")
    postcode_stale: float = _rate(0.2, "After a move, the record still carries the previous address's postcode.")
    postcode_no_fixed_abode: float = _rate(0.15, "Homelessness presentations recorded with the no-fixed-abode pseudo-postcode ZZ99 3VZ.")
    postcode_typo: float = _rate(0.01, "One character of the postcode mistyped.")
    postcode_format_noise: float = _rate(0.05, "Postcode written without its space or in lower case.")
    local_authority_missing: float = _rate(0.01, "Local authority of the event not recorded (never for refuges).")

    @classmethod
    def none(cls) -> ErrorRates:
        """Clean extracts: every rate zero (refuge postcodes stay blank: that is not an error)."""
        return cls(**{name: 0.0 for name in cls.model_fields})


# --------------------------------------------------------------------------- helpers


def _person_flags(names: np.ndarray, test: Callable[[str], bool]) -> np.ndarray:
    """``test`` of each person's name, computed once per distinct name."""
    if len(names) == 0:
        return np.zeros(0, dtype=bool)
    codes, uniques = pd.factorize(names)
    return np.array([test(name) for name in uniques], dtype=bool)[codes]


def _is_ascii(text: str) -> bool:
    return text.isascii()


def _fold_diacritics(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.translate(_NON_DECOMPOSING))
    return "".join(character for character in decomposed if not unicodedata.combining(character))


def _typo(text: str, operation: int, position_draw: float, letter_draw: float) -> str:
    """One keyboard slip; the first letter is left alone, as it usually is in practice."""
    if len(text) < 3:
        return text
    position = 1 + min(int(position_draw * (len(text) - 1)), len(text) - 2)
    letter = _LETTERS[int(letter_draw * len(_LETTERS))]
    if text[position].isupper():
        letter = letter.upper()
    if operation == 0:  # substitution
        if letter.lower() == text[position].lower():
            letter = _LETTERS[(_LETTERS.index(letter.lower()) + 1) % len(_LETTERS)]
        return text[:position] + letter + text[position + 1 :]
    if operation == 1:  # deletion
        return text[:position] + text[position + 1 :]
    if operation == 2:  # insertion
        return text[:position] + letter + text[position:]
    if position == len(text) - 1:  # transposition
        position -= 1
    return text[:position] + text[position + 1] + text[position] + text[position + 2 :]


def _apply_typos(values: np.ndarray, mask: np.ndarray, generator: np.random.Generator) -> None:
    # Full-length draws, so the number of typos never shifts the random stream.
    count = len(values)
    operations = generator.integers(0, 4, count)
    positions = generator.random(count)
    letters = generator.random(count)
    for row in np.flatnonzero(mask):
        values[row] = _typo(
            values[row], int(operations[row]), float(positions[row]), float(letters[row])
        )


def _add_whitespace(text: str, kind: int) -> str:
    if kind == 0:
        return " " + text
    if kind == 1:
        return text + " "
    return text.replace(" ", "  ") if " " in text else text + "  "


def _double_barrel_variant(text: str, choice: float) -> str:
    first, _, second = text.partition("-")
    if not second:
        return text
    particle = first.lower() in {"al", "el", "abdel", "abd", "de", "st"}
    if choice < 0.3 and not particle:
        return first
    if choice < 0.6:
        return second
    if choice < 0.8:
        return first + " " + second
    return first + second


def _postcode_typo(text: str, position_draw: float, replacement_draw: float) -> str:
    characters = [index for index, character in enumerate(text) if character != " "]
    if not characters:
        return text
    index = characters[min(int(position_draw * len(characters)), len(characters) - 1)]
    pool = _DIGITS if text[index].isdigit() else _LETTERS.upper()
    replacement = pool[int(replacement_draw * len(pool))]
    if replacement == text[index]:
        replacement = pool[(pool.index(replacement) + 1) % len(pool)]
    return text[:index] + replacement + text[index + 1 :]


def _date_parts(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    dates = days.astype("datetime64[D]")
    months = dates.astype("datetime64[M]")
    year = dates.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (dates - months).astype(np.int64) + 1
    return year, month, day


def _from_parts(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    months = (year - 1970) * 12 + (month - 1)
    first = months.astype("datetime64[M]").astype("datetime64[D]")
    next_first = (months + 1).astype("datetime64[M]").astype("datetime64[D]")
    length = (next_first - first).astype(np.int64)
    return first.astype(np.int64) + np.minimum(day, length) - 1


def format_dates(days: np.ndarray, formats: np.ndarray) -> np.ndarray:
    """Dates (days since 1970) as text, each in its own format (an index into
    ``DATE_FORMATS + ("excel",)``); formatting each distinct date once keeps it fast."""
    result = np.empty(len(days), dtype=object)
    if len(days) == 0:
        return result
    codes, distinct = pd.factorize(days)
    distinct = np.asarray(distinct, dtype=np.int64)
    as_dates = pd.to_datetime(distinct.astype("datetime64[D]"))
    table = {
        0: np.asarray(as_dates.strftime("%Y-%m-%d"), dtype=object),
        1: np.asarray(as_dates.strftime("%d/%m/%Y"), dtype=object),
        2: np.array(
            [f"{date.day} {date.strftime('%b')} {date.year}" for date in as_dates], dtype=object
        ),
        3: (distinct - _EXCEL_EPOCH_DAY).astype(str).astype(object),
    }
    for format_code, strings in table.items():
        rows = formats == format_code
        result[rows] = strings[codes[rows]]
    return result


# --------------------------------------------------------------------------- rendering


def render_records(
    world: World, rates: ErrorRates, generator: np.random.Generator
) -> dict[str, np.ndarray]:
    """The standard extract columns of every true event, as the agencies wrote them.

    Missing values are empty strings here; the caller turns them into blanks.
    """
    people = world.people
    events = world.events
    count = len(events)
    person = events.person
    agency = events.agency

    def draw() -> np.ndarray:
        return generator.random(count)

    # Surnames: partner's surname, reverted after separation, the other one by mistake.
    family = people.family_name[person].copy()
    birth = people.birth_family_name[person]
    two_surnames = family != birth
    first_day = np.full(len(people), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_day, person, events.day)
    reverts = generator.random(len(people)) < rates.surname_reverted
    revert_day = first_day + generator.integers(14, 365, len(people))
    use_birth = two_surnames & reverts[person] & (events.day >= revert_day[person])
    use_birth ^= two_surnames & (draw() < rates.surname_other)
    family = np.where(use_birth, birth, family)
    hyphenated = np.where(
        use_birth,
        _person_flags(people.birth_family_name, lambda name: "-" in name)[person],
        _person_flags(people.family_name, lambda name: "-" in name)[person],
    )
    partial = hyphenated & (draw() < rates.double_barrelled_partial)
    choices = draw()
    for row in np.flatnonzero(partial):
        family[row] = _double_barrel_variant(family[row], float(choices[row]))

    # Given and middle names.
    given = people.given_name[person].copy()
    middle = people.middle_name[person].copy()
    nickname_draw = draw()
    variant_draw = draw()
    has_nickname = _person_flags(people.given_name, lambda name: name in NICKNAMES)[person]
    for row in np.flatnonzero(has_nickname & (nickname_draw < rates.nickname)):
        variants = NICKNAMES[given[row]]
        given[row] = variants[int(variant_draw[row] * len(variants))]
    _apply_typos(given, draw() < rates.given_name_typo, generator)
    _apply_typos(family, draw() < rates.family_name_typo, generator)
    fold = draw() < rates.diacritics_dropped
    non_ascii_family = np.where(
        use_birth,
        ~_person_flags(people.birth_family_name, _is_ascii)[person],
        ~_person_flags(people.family_name, _is_ascii)[person],
    )
    for values, non_ascii in (
        (given, ~_person_flags(people.given_name, _is_ascii)[person]),
        (middle, ~_person_flags(people.middle_name, _is_ascii)[person]),
        (family, non_ascii_family),
    ):
        for row in np.flatnonzero(fold & non_ascii):
            values[row] = _fold_diacritics(values[row])
    has_middle = middle != ""
    inside_given = has_middle & (draw() < rates.middle_name_in_given_name)
    given[inside_given] = given[inside_given] + " " + middle[inside_given]
    dropped = has_middle & (draw() < rates.middle_name_missing)
    middle[dropped | inside_given] = ""
    swap = draw() < rates.names_swapped
    given[swap], family[swap] = family[swap], given[swap].copy()

    case = draw()
    upper = case < rates.case_noise * 0.75
    lower = (case >= rates.case_noise * 0.75) & (case < rates.case_noise)
    for values in (given, middle, family):
        values[upper] = pd.Series(values[upper], dtype=object).str.upper().to_numpy(dtype=object)
        values[lower] = pd.Series(values[lower], dtype=object).str.lower().to_numpy(dtype=object)
        spaced = (draw() < rates.whitespace_noise) & (values != "")
        kinds = generator.integers(0, 3, count)
        for row in np.flatnonzero(spaced):
            values[row] = _add_whitespace(values[row], int(kinds[row]))

    # Dates of birth: off by a year or a day, day and month swapped, missing, mixed formats.
    birth_days = people.date_of_birth[person].copy()
    year, month, day = _date_parts(birth_days)
    off_year = draw() < rates.date_of_birth_off_by_year
    year = np.where(off_year, year + np.where(draw() < 0.5, -1, 1), year)
    swap_parts = (draw() < rates.date_of_birth_day_month_swapped) & (day <= 12) & (day != month)
    month, day = np.where(swap_parts, day, month), np.where(swap_parts, month, day)
    birth_days = _from_parts(year, month, day)
    off_day = draw() < rates.date_of_birth_off_by_day
    birth_days = birth_days + np.where(off_day, np.where(draw() < 0.5, -1, 1), 0)
    agency_format = np.array([DATE_FORMATS.index(AGENCY_DATE_FORMAT[name]) for name in AGENCIES])
    formats = agency_format[agency]
    other = draw() < rates.date_of_birth_other_format
    shift = generator.integers(1, len(DATE_FORMATS), count)
    formats = np.where(other, (formats + shift) % len(DATE_FORMATS), formats)
    formats = np.where(draw() < rates.date_of_birth_excel_serial, len(DATE_FORMATS), formats)
    date_of_birth = format_dates(birth_days, formats)
    missing_rate = np.where(
        agency == POLICE, rates.date_of_birth_missing_police, rates.date_of_birth_missing
    )
    date_of_birth[draw() < missing_rate] = ""

    # Sex.
    sex_code = people.sex[person]
    spelled = draw() < rates.sex_spelled_out
    sex = np.where(
        spelled,
        np.where(sex_code == 0, "Female", "Male"),
        np.where(sex_code == 0, "F", "M"),
    ).astype(object)
    sex[draw() < rates.sex_missing] = ""

    # Postcodes: stale after a move, no fixed abode, missing, mistyped, badly formatted.
    postcode = events.postcode.copy()
    stale = (events.previous_postcode != "") & (draw() < rates.postcode_stale)
    postcode[stale] = events.previous_postcode[stale]
    no_fixed_abode = (agency == HOUSING) & (draw() < rates.postcode_no_fixed_abode)
    postcode[no_fixed_abode] = NO_FIXED_ABODE_POSTCODE
    postcode[draw() < rates.postcode_missing] = ""
    typo = (draw() < rates.postcode_typo) & (postcode != "")
    positions, replacements = draw(), draw()
    for row in np.flatnonzero(typo):
        postcode[row] = _postcode_typo(postcode[row], float(positions[row]), float(replacements[row]))
    noisy = (draw() < rates.postcode_format_noise) & (postcode != "")
    without_space = noisy & (draw() < 0.6)
    lower_case = noisy & ~without_space
    postcode[without_space] = pd.Series(postcode[without_space], dtype=object).str.replace(
        " ", "", regex=False
    ).to_numpy(dtype=object)
    postcode[lower_case] = pd.Series(postcode[lower_case], dtype=object).str.lower().to_numpy(
        dtype=object
    )
    postcode[agency == REFUGE] = ""  # refuge addresses are never recorded

    # Event fields (these travel in clear to the linker).
    event_days = int(np.datetime64(world.start_date, "D").astype(np.int64)) + events.day
    event_date = format_dates(event_days, np.zeros(count, dtype=np.int64))
    local_authority = world.authorities.codes[events.authority].copy()
    local_authority[(draw() < rates.local_authority_missing) & (agency != REFUGE)] = ""
    return {
        "given_name": given,
        "middle_name": middle,
        "family_name": family,
        "date_of_birth": date_of_birth,
        "sex": sex,
        "postcode": postcode,
        "event_date": event_date,
        "event_type": np.array([EVENT_TYPES[name] for name in AGENCIES], dtype=object)[agency],
        "local_authority": local_authority,
        "role": np.array(ROLES, dtype=object)[events.role],
        "risk_level": np.array(RISK_LEVELS, dtype=object)[events.risk],
        "referring_agency": np.array(REFERRERS, dtype=object)[events.referrer],
    }
