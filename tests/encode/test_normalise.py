"""Tests for identifier normalisation: examples for every rule, and hypothesis properties.

All values are synthetic.
"""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dalink.encode.nicknames import canonical_given_name, nickname_table
from dalink.encode.normalise import (
    NormalisedColumn,
    normalise_date_of_birth,
    normalise_local_authority,
    normalise_name,
    normalise_postcode,
    normalise_series,
    normalise_sex,
    phonetic_code,
    postcode_district,
    postcode_sector,
)
from dalink.errors import DalinkError, InvalidValue

TODAY = datetime.date(2024, 6, 1)


def _dob(value: object) -> datetime.date | None:
    return normalise_date_of_birth(value, today=TODAY)


SCALARS = {
    "name": normalise_name,
    "date_of_birth": _dob,
    "sex": normalise_sex,
    "postcode": normalise_postcode,
    "local_authority": normalise_local_authority,
}


# --- names -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Smith", "smith"),
        ("  SMITH  ", "smith"),
        ("José", "jose"),
        ("Renée", "renee"),
        ("Łukasz", "lukasz"),
        ("Søren", "soren"),
        ("Strauß", "strauss"),
        ("Ærin", "aerin"),
        ("Zoë", "zoe"),
        ("O'Brien", "obrien"),
        ("O’Brien", "obrien"),
        ("O`Brien", "obrien"),
        ("Smith-Jones", "smith jones"),
        ("Smith–Jones", "smith jones"),
        ("Mary  Ann", "mary ann"),
        ("Mary\tAnn\n", "mary ann"),
        ("St. John", "st john"),
        ("Mr John Smith", "john smith"),
        ("MRS. Jane Doe", "jane doe"),
        ("Dr Ann Jones", "ann jones"),
        ("Prof. Ada Lovelace", "ada lovelace"),
        ("Rev Amos Hill", "amos hill"),
        ("Sir Tom Jones", "tom jones"),
        ("Lady Jane Grey", "jane grey"),
        ("Mx Sam Green", "sam green"),
        ("Miss Ellie Watts", "ellie watts"),
        ("Ms Ellie Watts", "ellie watts"),
        ("John Smith Jr", "john smith"),
        ("John Smith Jr.", "john smith"),
        ("John Smith Sr", "john smith"),
        ("John Smith III", "john smith"),
        ("John Smith II", "john smith"),
        ("Mrsmith", "mrsmith"),  # titles only as whole words
        ("Drew", "drew"),
        ("ﬁona", "fiona"),
        ("Ｊｏｈｎ", "john"),
    ],
)
def test_name_examples(raw: str, expected: str) -> None:
    assert normalise_name(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [None, float("nan"), pd.NA, pd.NaT, np.nan, "", "   ", "unknown", "UNKNOWN", "Not Known", "N/K", "nk", "N/A",
     "na", "none", "NULL", "-", "?", "xxx", "Refused", "not given", "Mr", "Dr.", "Mr Unknown", "--", "'"],
)
def test_name_missing(raw: object) -> None:
    assert normalise_name(raw) is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("John2", "name contains digits"),
        ("J0hn", "name contains digits"),
        ("Smith ①", "name contains digits"),
        (12, "name contains digits"),
        (3.5, "name contains digits"),
        ("a" * 101, "name is longer than 100 characters"),
        ("Ann " * 2500, "name is longer than 100 characters"),
        ("Smith" * 2000, "name is longer than 100 characters"),
        (True, "name is not text"),
        (datetime.date(1990, 1, 1), "name is not text"),
    ],
)
def test_name_invalid(raw: object, reason: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        normalise_name(raw)
    assert str(caught.value) == reason
    assert str(raw) not in str(caught.value)


def test_name_of_exactly_100_characters_is_kept() -> None:
    assert normalise_name("a" * 100) == "a" * 100
    assert normalise_name("Mr " + "a" * 100) == "a" * 100  # length counted after cleaning


def test_invalid_value_is_a_dalink_error_and_a_value_error() -> None:
    with pytest.raises(DalinkError):
        normalise_name("R2D2")
    with pytest.raises(ValueError):
        normalise_name("R2D2")


# --- dates of birth ----------------------------------------------------------------------------

MARCH_12 = datetime.date(1985, 3, 12)


@pytest.mark.parametrize(
    "raw",
    [
        "1985-03-12",
        "1985-3-12",
        "1985-03-12T00:00:00",
        "1985-03-12 00:00:00",
        "1985-03-12T10:30:00Z",
        "1985-03-12T10:30:00.123+01:00",
        "19850312",
        19850312,
        "1985/03/12",
        "12/03/1985",
        "12/3/1985",
        "12-03-1985",
        "12.03.1985",
        "12 03 1985",
        "12/03/85",
        " 12/03/1985 ",
        "12/03/1985 00:00",
        "12/03/1985 00:00:00",
        "12 Mar 1985",
        "12 MAR 1985",
        "12 March 1985",
        "12-Mar-1985",
        "12-Mar-85",
        "12th March 1985",
        "12th of March 1985",
        "March 12, 1985",
        "Mar 12 1985",
        "Mar. 12, 1985",
        31118,
        31118.0,
        31118.75,
        "31118",
        "31118.5",
        np.int64(31118),
        datetime.date(1985, 3, 12),
        datetime.datetime(1985, 3, 12, 23, 59),
        pd.Timestamp("1985-03-12"),
        np.datetime64("1985-03-12"),
    ],
)
def test_date_of_birth_formats(raw: object) -> None:
    assert _dob(raw) == MARCH_12


def test_day_first_is_the_uk_convention() -> None:
    assert _dob("03/04/1985") == datetime.date(1985, 4, 3)
    assert _dob("3/4/1985") == datetime.date(1985, 4, 3)


def test_two_digit_years_pivot_to_the_past() -> None:
    assert _dob("01/01/24") == datetime.date(2024, 1, 1)
    assert _dob("01/06/24") == datetime.date(2024, 6, 1)  # today itself is not the future
    assert _dob("02/06/24") == datetime.date(1924, 6, 2)
    assert _dob("12/03/85") == datetime.date(1985, 3, 12)
    assert _dob("29/02/00") == datetime.date(2000, 2, 29)
    assert normalise_date_of_birth("02/06/24", today=datetime.date(2030, 1, 1)) == datetime.date(2024, 6, 2)


def test_excel_serials_use_the_1900_system_with_its_leap_year_bug() -> None:
    assert _dob(1) == datetime.date(1900, 1, 1)
    assert _dob(59) == datetime.date(1900, 2, 28)
    assert _dob(61) == datetime.date(1900, 3, 1)
    assert _dob(36526) == datetime.date(2000, 1, 1)
    assert _dob(45292) == datetime.date(2024, 1, 1)
    for phantom_leap_day in (60, 60.5, "60"):
        with pytest.raises(InvalidValue, match="not a valid date"):
            _dob(phantom_leap_day)


@pytest.mark.parametrize(
    "raw",
    [None, float("nan"), pd.NaT, pd.NA, "", "  ", "unknown", "N/K", "n/a", "none", "NULL", "-", "?", "nan", "NaT",
     "00/00/0000", "0000-00-00", "0", 0, "--/--/----", "Not known"],
)
def test_date_of_birth_missing(raw: object) -> None:
    assert _dob(raw) is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("31/02/1990", "date of birth is not a valid date"),
        ("1990-02-31", "date of birth is not a valid date"),
        ("29/02/1990", "date of birth is not a valid date"),
        ("12/13/1985", "date of birth is not a valid date"),  # US month-first is not guessed
        ("00/03/1985", "date of birth is not a valid date"),
        ("31 Feb 1990", "date of birth is not a valid date"),
        ("2090-01-01", "date of birth is in the future"),
        ("02/06/2024", "date of birth is in the future"),
        (datetime.date(2090, 1, 1), "date of birth is in the future"),
        (79999, "date of birth is in the future"),
        ("1899-12-31", "date of birth is before 1900"),
        ("01/01/1850", "date of birth is before 1900"),
        ("garbage", "date of birth has an unrecognised format"),
        ("12 Smarch 1985", "date of birth has an unrecognised format"),
        ("1985", "date of birth has an unrecognised format"),  # a bare year, not serial 1985
        (1985, "date of birth has an unrecognised format"),
        (80001, "date of birth has an unrecognised format"),
        (-5, "date of birth has an unrecognised format"),
        (float("inf"), "date of birth has an unrecognised format"),
        ("1" * 5000, "date of birth has an unrecognised format"),
        (True, "date of birth has an unrecognised format"),
        (["1985-03-12"], "date of birth has an unrecognised format"),
    ],
)
def test_date_of_birth_invalid(raw: object, reason: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        _dob(raw)
    assert str(caught.value) == reason
    assert "1985" not in str(caught.value) and "1990" not in str(caught.value)


def test_today_defaults_to_the_real_today() -> None:
    tomorrow = datetime.date.today() + datetime.timedelta(days=1)
    with pytest.raises(InvalidValue, match="future"):
        normalise_date_of_birth(tomorrow.isoformat())
    assert normalise_date_of_birth(datetime.date.today().isoformat()) == datetime.date.today()


# --- sex ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("F", "F"), ("f", "F"), ("Female", "F"), (" FEMALE ", "F"), ("woman", "F"), ("girl", "F"), ("W", "F"),
        ("M", "M"), ("m", "M"), ("Male", "M"), ("man", "M"), ("boy", "M"), ("M.", "M"),
        (1, "M"), (2, "F"), (1.0, "M"), (2.0, "F"), ("1", "M"), ("2", "F"), ("2.0", "F"), (np.int64(2), "F"),
        ("X", "X"), ("other", "X"), ("Non-binary", "X"), ("nonbinary", "X"), ("Indeterminate", "X"),
    ],
)
def test_sex_examples(raw: object, expected: str) -> None:
    assert normalise_sex(raw) == expected


@pytest.mark.parametrize(
    "raw", [None, float("nan"), "", "u", "U", "unknown", "Not stated", "not known", 9, 0, "9", "0", "9.0", "-", "?"]
)
def test_sex_missing(raw: object) -> None:
    assert normalise_sex(raw) is None


@pytest.mark.parametrize("raw", ["banana", "3", 3, 1.5, "mf", True, datetime.date(2000, 1, 1)])
def test_sex_invalid(raw: object) -> None:
    with pytest.raises(InvalidValue) as caught:
        normalise_sex(raw)
    assert str(caught.value) == "sex is not a recognised value"


# --- postcodes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("sw1a1aa", "SW1A 1AA"),  # AA9A
        ("SW1A 1AA", "SW1A 1AA"),
        (" sw1a   1aa ", "SW1A 1AA"),
        ("M1 1AE", "M1 1AE"),  # A9
        ("B33 8TH", "B33 8TH"),  # A99
        ("W1A 0AX", "W1A 0AX"),  # A9A
        ("CR2 6XH", "CR2 6XH"),  # AA9
        ("DN55 1PT", "DN55 1PT"),  # AA99
        ("EC1A 1BB", "EC1A 1BB"),  # AA9A
        ("gir0aa", "GIR 0AA"),
        ("ｓｗ１ａ１ａａ", "SW1A 1AA"),
    ],
)
def test_postcode_examples(raw: str, expected: str) -> None:
    assert normalise_postcode(raw) == expected


@pytest.mark.parametrize(
    "raw", [None, float("nan"), "", "  ", "ZZ99 3VZ", "zz993cz", "ZZ99", "ZZ99 9ZZ X", "unknown", "N/K", "NFA", "-"]
)
def test_postcode_missing(raw: object) -> None:
    assert normalise_postcode(raw) is None


@pytest.mark.parametrize(
    "raw",
    ["SW1A", "1AA", "SW1A1A", "12345", "SW1A 1AAA", "S W 1 A 1 A A X", "AAA1 1AA", "A1 AAA", "SW1A 11A", "X" * 40,
     "SW1A 1AA" * 5, 12345, "SW1A-1AA"],
)
def test_postcode_invalid(raw: object) -> None:
    with pytest.raises(InvalidValue) as caught:
        normalise_postcode(raw)
    assert str(caught.value) == "postcode is not a valid UK postcode"
    assert "SW1A" not in str(caught.value)


def test_postcode_district_and_sector() -> None:
    assert postcode_district("SW1A 1AA") == "SW1A"
    assert postcode_sector("SW1A 1AA") == "SW1A 1"
    assert postcode_district("m11ae") == "M1"
    assert postcode_sector("m11ae") == "M1 1"
    assert postcode_district("DN551PT") == "DN55"
    with pytest.raises(InvalidValue, match="missing"):
        postcode_district("ZZ99 3VZ")
    with pytest.raises(InvalidValue, match="not a valid"):
        postcode_sector("nonsense")


# --- local authorities -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("E07000192", "E07000192"), (" e06000021 ", "E06000021"), ("E08000025", "E08000025"), ("E09000001", "E09000001"),
     ("W06000015", "W06000015"), ("S12000036", "S12000036"), ("N09000003", "N09000003")],
)
def test_local_authority_examples(raw: str, expected: str) -> None:
    assert normalise_local_authority(raw) == expected


@pytest.mark.parametrize("raw", [None, float("nan"), "", "  ", "unknown", "N/K"])
def test_local_authority_missing(raw: object) -> None:
    assert normalise_local_authority(raw) is None


@pytest.mark.parametrize(
    "raw", ["E10000001", "E07", "E0700019", "E070001922", "X07000192", "E07 000192", "Birmingham", 7000192]
)
def test_local_authority_invalid(raw: object) -> None:
    with pytest.raises(InvalidValue) as caught:
        normalise_local_authority(raw)
    assert str(caught.value) == "local authority is not an ONS GSS local authority code"


# --- phonetic codes and nicknames --------------------------------------------------------------


def test_phonetic_codes() -> None:
    assert phonetic_code("robert") == "R163"
    assert phonetic_code("rupert") == "R163"
    assert phonetic_code("smith jones") == phonetic_code("smith")  # first word only
    assert phonetic_code("smith", "metaphone") == "SM0"
    assert phonetic_code("smith", "nysiis") == "SNAT"
    assert phonetic_code("smith", "double_metaphone_like") == phonetic_code("schmidt", "double_metaphone_like")
    assert phonetic_code("macdonald", "double_metaphone_like") == phonetic_code("mcdonald", "double_metaphone_like")
    assert phonetic_code("") == ""
    assert phonetic_code("   ") == ""
    with pytest.raises(ValueError):
        phonetic_code("smith", "caverphone")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("nickname", "canonical"),
    [
        ("bob", "robert"), ("rob", "robert"), ("robbie", "robert"), ("bobby", "robert"),
        ("bill", "william"), ("will", "william"), ("billy", "william"),
        ("liz", "elizabeth"), ("beth", "elizabeth"), ("betty", "elizabeth"), ("lizzie", "elizabeth"),
        ("eliza", "elizabeth"), ("kate", "catherine"), ("katie", "catherine"), ("kathy", "catherine"),
        ("cathy", "catherine"), ("katherine", "catherine"), ("jim", "james"), ("jimmy", "james"),
        ("jamie", "james"), ("mike", "michael"), ("mick", "michael"), ("tony", "anthony"), ("sue", "susan"),
        ("sam", "samuel"), ("dave", "david"), ("steve", "stephen"), ("steven", "stephen"),
        ("chris", "christopher"), ("tom", "thomas"), ("dan", "daniel"), ("nick", "nicholas"), ("matt", "matthew"),
        ("alex", "alexander"), ("becky", "rebecca"), ("jenny", "jennifer"), ("jen", "jennifer"),
        ("mohammed", "muhammad"),
    ],
)
def test_nicknames(nickname: str, canonical: str) -> None:
    assert canonical_given_name(nickname) == canonical


def test_nickname_table_rules() -> None:
    table = nickname_table()
    assert len(table) >= 150
    assert not set(table.values()) & set(table)  # no chains: mapping is idempotent
    assert canonical_given_name("robert") == "robert"
    assert canonical_given_name("zanzibar") == "zanzibar"  # unknown names map to themselves
    assert canonical_given_name("liam") == "liam"  # a name in its own right is not mapped
    assert canonical_given_name("bob lee") == "robert lee"
    assert canonical_given_name("") == ""


# --- the vectorised API ------------------------------------------------------------------------


def test_normalise_series_example() -> None:
    series = pd.Series(["Smith", None, "smith", "N/K", "R2D2", float("nan"), "O'Brien"], index=list("abcdefg"))
    column = normalise_series(series, "name")
    assert isinstance(column, NormalisedColumn)
    assert column.values.index.equals(series.index)
    assert column.values.tolist() == ["smith", None, "smith", None, None, None, "obrien"]
    assert column.problems.tolist() == [None, None, None, None, "name contains digits", None, None]
    assert column.missing.tolist() == [False, True, False, True, False, True, False]
    assert column.invalid.tolist() == [False, False, False, False, True, False, False]
    assert column.values.dtype == object and column.problems.dtype == object


def test_normalise_series_dates_come_back_as_iso_text() -> None:
    series = pd.Series(["1985-03-12", "12/03/1985", 31118, "2090-01-01", None, "1985-02-31", "1899-01-01"])
    column = normalise_series(series, "date_of_birth", today=TODAY)
    assert column.values.tolist() == ["1985-03-12", "1985-03-12", "1985-03-12", None, None, None, None]
    assert column.problems.tolist() == [
        None,
        None,
        None,
        "date of birth is in the future",
        None,
        "date of birth is not a valid date",
        "date of birth is before 1900",
    ]


@pytest.mark.parametrize(
    "series",
    [
        pd.Series(pd.to_datetime(["1985-03-12", None, "2001-01-01"])),
        pd.Series([31118.0, np.nan, 60.0]),
        pd.Series(["1985-03-12", None], dtype="string"),
        pd.Series(["12/03/1985", "12/03/1985"], dtype="category"),
    ],
)
def test_normalise_series_dates_from_other_dtypes(series: pd.Series) -> None:
    column = normalise_series(series, "date_of_birth", today=TODAY)
    for position, raw in enumerate(series.tolist()):
        expected_value, expected_problem = _scalar_outcome("date_of_birth", raw)
        assert column.values.iat[position] == expected_value
        assert column.problems.iat[position] == expected_problem


def test_normalise_series_keeps_booleans_apart_from_numbers() -> None:
    series = pd.Series([1, True, 2, False, 0], dtype=object)
    column = normalise_series(series, "sex")
    assert column.values.tolist() == ["M", None, "F", None, None]
    assert column.problems.tolist() == [None, "sex is not a recognised value", None, "sex is not a recognised value", None]


def test_normalise_series_sex_codes_from_a_float_column() -> None:
    column = normalise_series(pd.Series([1.0, 2.0, np.nan, 9.0]), "sex")
    assert column.values.tolist() == ["M", "F", None, None]


def test_normalise_series_rejects_an_unknown_kind() -> None:
    with pytest.raises(ValueError):
        normalise_series(pd.Series(["x"]), "shoe_size")  # type: ignore[arg-type]


def test_normalise_series_empty() -> None:
    column = normalise_series(pd.Series([], dtype=object), "postcode")
    assert len(column.values) == 0 and len(column.problems) == 0


# --- properties --------------------------------------------------------------------------------


def _scalar_outcome(kind: str, raw: object) -> tuple[object, str | None]:
    try:
        value = SCALARS[kind](raw)
    except InvalidValue as error:
        return None, str(error)
    if isinstance(value, datetime.date):
        value = value.isoformat()
    return value, None


# Text that looks like each kind of identifier, mixed with arbitrary text.
_name_like = st.from_regex(r"(?:Mr |Dr )?[A-Za-zéłøßÆ' \-.]{0,30}(?: Jr)?", fullmatch=True)
_date_like = st.one_of(
    st.dates(min_value=datetime.date(1850, 1, 1), max_value=datetime.date(2100, 12, 31)).flatmap(
        lambda day: st.sampled_from(
            [
                day.isoformat(),
                day.strftime("%d/%m/%Y"),
                day.strftime("%d/%m/%y"),
                day.strftime("%d %b %Y"),
                day.strftime("%B %d, %Y"),
                day.strftime("%Y%m%d"),
                day.strftime("%d-%b-%Y"),
            ]
        )
    ),
    st.from_regex(r"[0-9]{1,2}[/.\-][0-9]{1,2}[/.\-][0-9]{2,4}", fullmatch=True),
    st.integers(min_value=-10, max_value=100_000),
    st.floats(allow_nan=True, allow_infinity=True),
)
_sex_like = st.sampled_from(["F", "m", "Female", "male", "1", "2", "9", "0", "u", "X", "other", "?", "", "bob"])
_postcode_like = st.from_regex(r"[A-Za-z]{1,2}[0-9][A-Za-z0-9]? ?[0-9][A-Za-z]{2}", fullmatch=True)
_local_authority_like = st.from_regex(r"[EWSNX][0-9]{2}[0-9]{5,7}", fullmatch=True)
_LIKE = {
    "name": _name_like,
    "date_of_birth": _date_like,
    "sex": _sex_like,
    "postcode": _postcode_like,
    "local_authority": _local_authority_like,
}
_KINDS = list(SCALARS)


def _raw_values(kind: str) -> st.SearchStrategy[object]:
    """Arbitrary text, text shaped like the identifier, and the other types extracts hold."""
    other_types = st.one_of(
        st.none(),
        st.just(float("nan")),
        st.booleans(),  # pd.factorize hashes True like 1: the series path must keep them apart
        st.integers(min_value=-5, max_value=100_000),
        st.dates(min_value=datetime.date(1890, 1, 1), max_value=datetime.date(2030, 1, 1)),
    )
    return st.one_of(st.text(), _LIKE[kind], other_types)


@settings(max_examples=150, deadline=None)
@given(kind=st.sampled_from(_KINDS), data=st.data())
def test_normalisers_raise_only_invalid_value(kind: str, data: st.DataObject) -> None:
    raw = data.draw(_raw_values(kind))
    try:
        SCALARS[kind](raw)
    except InvalidValue as error:
        if isinstance(raw, str) and len(raw) >= 3:
            assert raw not in str(error)


@settings(max_examples=300, deadline=None)
@given(raw=st.text())
def test_every_normaliser_accepts_arbitrary_text(raw: str) -> None:
    for normaliser in SCALARS.values():
        try:
            normaliser(raw)
        except InvalidValue:
            pass


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(_KINDS), data=st.data())
def test_normalisers_are_idempotent(kind: str, data: st.DataObject) -> None:
    raw = data.draw(_raw_values(kind))
    try:
        once = SCALARS[kind](raw)
    except InvalidValue:
        return
    assume(once is not None)
    again = SCALARS[kind](once.isoformat() if isinstance(once, datetime.date) else once)
    assert again == once


@settings(max_examples=300, deadline=None)
@given(raw=st.one_of(st.text(), _name_like))
def test_name_idempotent_on_text(raw: str) -> None:
    try:
        once = normalise_name(raw)
    except InvalidValue:
        return
    if once is not None:
        assert normalise_name(once) == once
        assert once == once.strip() and "  " not in once


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(_KINDS), data=st.data())
def test_series_agrees_with_scalars(kind: str, data: st.DataObject) -> None:
    raws = data.draw(st.lists(_raw_values(kind), max_size=30))
    # Repeat values so that the distinct-value path is exercised.
    raws = raws + raws[: len(raws) // 2]
    series = pd.Series(raws, dtype=object, index=range(100, 100 + len(raws)))
    column = normalise_series(series, kind, today=TODAY)  # type: ignore[arg-type]
    assert column.values.index.equals(series.index)
    for position, raw in enumerate(raws):
        expected_value, expected_problem = _scalar_outcome(kind, raw)
        assert column.values.iat[position] == expected_value
        assert column.problems.iat[position] == expected_problem


@settings(max_examples=100, deadline=None)
@given(days=st.lists(st.dates(min_value=datetime.date(1890, 1, 1), max_value=datetime.date(2030, 1, 1)), max_size=40))
def test_iso_date_fast_path_agrees_with_the_scalar_parser(days: list[datetime.date]) -> None:
    texts = [day.isoformat() for day in days]
    column = normalise_series(pd.Series(texts, dtype=object), "date_of_birth", today=TODAY)
    for position, text in enumerate(texts):
        assert (column.values.iat[position], column.problems.iat[position]) == _scalar_outcome("date_of_birth", text)


@pytest.mark.parametrize(
    "whole, parts",
    [
        ("Jane Smith", ("Jane", None, "Smith")),
        ("SMITH, Jane Mary", ("Jane", "Mary", "SMITH")),
        ("Mrs Jane Smith-Jones", ("Jane", None, "Smith-Jones")),
        ("Dr. Ann B. Lee Jr", ("Ann", "B.", "Lee")),
        ("Maria de Souza", ("Maria", None, "de Souza")),
        ("Ludwig van der Berg", ("Ludwig", None, "van der Berg")),
        ("Jane", ("Jane", None, None)),
        ("Mrs Jones", (None, None, "Jones")),
        ("Smith,", (None, None, "Smith")),
        ("   ", (None, None, None)),
        (None, (None, None, None)),
        (17, (17, None, None)),  # not text: normalising the given name rejects the row
    ],
)
def test_split_full_name(whole: object, parts: tuple) -> None:
    from dalink.encode.names import split_full_name

    assert split_full_name(whole) == parts


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="abcdeéł-'", min_size=1, max_size=8), min_size=2, max_size=5))
def test_split_full_name_keeps_every_word_in_order(words: list[str]) -> None:
    from dalink.encode.names import _SURNAME_PARTICLES, _TITLES, split_full_name

    assume(not any(word.lower().strip(".") in _TITLES for word in words))
    given_name, middle, family = split_full_name(" ".join(words))
    assert " ".join(part for part in (given_name, middle, family) if part) == " ".join(words)
    assert given_name == words[0] and family is not None and family.split()[-1] == words[-1]
    assert all(word.lower() in _SURNAME_PARTICLES for word in family.split()[:-1])
