"""Tests of the synthetic partnership: determinism, columns, error rates, truth consistency,
the written files and the ``dalink synth`` command."""

from __future__ import annotations

import datetime
import json
import math
from pathlib import Path

import jellyfish
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from dalink.errors import DalinkError, OutputExistsError
from dalink.report.measures import compute_measures
from dalink.synth import (
    AGENCIES,
    EXTRACT_COLUMNS,
    ErrorRates,
    SynthParameters,
    SyntheticPartnership,
    synthesise,
    synthesise_from,
    truth_events,
    write_partnership,
)
from dalink.synth import errors as synth_errors
from dalink.synth.names import NICKNAMES, area_names, load_area

PEOPLE = 3_000


@pytest.fixture(scope="module")
def partnership() -> SyntheticPartnership:
    return synthesise(people=PEOPLE, seed=11)


@pytest.fixture(scope="module")
def clean() -> SyntheticPartnership:
    return synthesise(people=1_500, seed=11, error_rates=ErrorRates.none())


@pytest.fixture(scope="module")
def records(partnership: SyntheticPartnership) -> pd.DataFrame:
    """All records with their true person's identity beside them."""
    return _with_people(partnership)


def _with_people(partnership: SyntheticPartnership) -> pd.DataFrame:
    frames = [extract.assign(agency=agency) for agency, extract in partnership.extracts.items()]
    combined = pd.concat(frames, ignore_index=True).merge(
        partnership.truth, on=["agency", "record_id"], validate="one_to_one"
    )
    people = partnership.people.set_index("person_id").add_prefix("true_")
    return combined.join(people, on="person_id")


def _within(observed: float, expected: float, count: int, sigmas: float = 4.0) -> bool:
    """Is a binomial share within ``sigmas`` standard errors (plus a little slack)?"""
    error = math.sqrt(max(expected * (1 - expected), 1e-9) / max(count, 1))
    return abs(observed - expected) <= sigmas * error + 0.005


# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_frames(partnership: SyntheticPartnership) -> None:
    again = synthesise(people=PEOPLE, seed=11)
    assert list(again.extracts) == list(partnership.extracts)
    for agency, extract in partnership.extracts.items():
        pd.testing.assert_frame_equal(again.extracts[agency], extract)
    pd.testing.assert_frame_equal(again.truth, partnership.truth)
    pd.testing.assert_frame_equal(again.people, partnership.people)


def test_different_seed_differs(partnership: SyntheticPartnership) -> None:
    other = synthesise(people=PEOPLE, seed=12)
    assert not other.extracts["police"].equals(partnership.extracts["police"])
    assert not other.people.equals(partnership.people)


def test_an_extract_does_not_depend_on_the_other_agencies(
    partnership: SyntheticPartnership,
) -> None:
    subset = synthesise(people=PEOPLE, seed=11, agencies=["refuge", "police"])
    assert list(subset.extracts) == ["police", "refuge"]
    for agency in ("police", "refuge"):
        pd.testing.assert_frame_equal(subset.extracts[agency], partnership.extracts[agency])
    assert set(subset.truth["agency"]) == {"police", "refuge"}


# --------------------------------------------------------------------------- shape


def test_columns_are_exactly_the_standard_ones(partnership: SyntheticPartnership) -> None:
    assert EXTRACT_COLUMNS == (
        "record_id", "given_name", "middle_name", "family_name", "date_of_birth", "sex",
        "postcode", "event_date", "event_type", "local_authority", "role", "risk_level",
        "referring_agency",
    )
    assert list(partnership.extracts) == list(AGENCIES)
    for extract in partnership.extracts.values():
        assert tuple(extract.columns) == EXTRACT_COLUMNS
        assert len(extract) > 0


def test_event_fields_by_agency(partnership: SyntheticPartnership) -> None:
    expected_types = {
        "police": "incident",
        "marac": "marac_referral",
        "refuge": "refuge_referral",
        "housing": "homelessness_presentation",
        "childrens_services": "child_protection_referral",
        "idva": "idva_referral",
    }
    for agency, extract in partnership.extracts.items():
        assert set(extract["event_type"]) == {expected_types[agency]}
        roles = set(extract["role"])
        assert roles == ({"victim", "perpetrator"} if agency == "police" else {"victim"})
        assert pd.to_datetime(extract["event_date"], format="%Y-%m-%d").notna().all()
        assert set(extract["risk_level"].dropna()) <= {"standard", "medium", "high"}
    assert set(partnership.extracts["marac"]["risk_level"]) == {"high"}
    assert set(partnership.extracts["marac"]["referring_agency"]) <= {
        "police", "idva", "health", "housing", "childrens_services",
    }
    codes = {authority.code for authority in load_area("hertfordshire").local_authorities}
    assert set(partnership.extracts["refuge"]["local_authority"]) <= codes


def test_refuge_postcodes_are_always_blank(
    partnership: SyntheticPartnership, clean: SyntheticPartnership
) -> None:
    for data in (partnership, clean):
        assert data.extracts["refuge"]["postcode"].isna().all()
        assert data.extracts["police"]["postcode"].notna().mean() > 0.9


def test_record_ids_are_unique_and_do_not_leak_the_person(
    partnership: SyntheticPartnership,
) -> None:
    prefixes = {"police": "POL-", "marac": "MAR-", "refuge": "REF-", "housing": "HOU-",
                "childrens_services": "CSC-", "idva": "IDV-"}
    for agency, extract in partnership.extracts.items():
        assert extract["record_id"].is_unique
        assert extract["record_id"].str.startswith(prefixes[agency]).all()
    police = partnership.truth[partnership.truth["agency"] == "police"]
    number = police["record_id"].str[4:].astype(int)
    assert abs(np.corrcoef(number, police["person_id"])[0, 1]) < 0.1
    dates = pd.to_datetime(partnership.extracts["police"]["event_date"]).astype("int64")
    assert abs(np.corrcoef(number, dates)[0, 1]) < 0.1


def test_size_is_two_to_three_records_per_person(partnership: SyntheticPartnership) -> None:
    assert 2.0 <= partnership.records / PEOPLE <= 3.0


# --------------------------------------------------------------------------- truth


def test_every_record_has_exactly_one_truth_row(partnership: SyntheticPartnership) -> None:
    truth = partnership.truth
    assert list(truth.columns) == ["agency", "record_id", "person_id"]
    assert not truth.duplicated(["agency", "record_id"]).any()
    keys = {
        (agency, record_id)
        for agency, extract in partnership.extracts.items()
        for record_id in extract["record_id"]
    }
    assert keys == set(zip(truth["agency"], truth["record_id"]))
    assert truth["person_id"].isin(partnership.people["person_id"]).all()
    assert partnership.people["records"].sum() == partnership.records


def test_in_memory_events_match_the_join(partnership: SyntheticPartnership) -> None:
    joined = truth_events(partnership.extracts, partnership.truth)
    direct = partnership.events()
    key = ["agency", "record_id"]
    pd.testing.assert_frame_equal(
        direct.sort_values(key, ignore_index=True),
        joined.sort_values(key, ignore_index=True),
        check_dtype=False,
    )
    with pytest.raises(DalinkError):
        truth_events(partnership.extracts, partnership.truth.iloc[1:])


def test_clean_extracts_carry_the_true_identities(clean: SyntheticPartnership) -> None:
    records = _with_people(clean)
    assert (records["given_name"] == records["true_given_name"]).all()
    assert (records["middle_name"].fillna("") == records["true_middle_name"].fillna("")).all()
    assert (records["family_name"] == records["true_family_name"]).all()
    assert (records["sex"] == records["true_sex"]).all()
    assert records["date_of_birth"].notna().all()
    parsed = pd.concat(
        [
            pd.to_datetime(group["date_of_birth"], format=synth_errors_format(agency))
            for agency, group in records.groupby("agency")
        ]
    ).sort_index()
    assert (parsed.dt.strftime("%Y-%m-%d") == records["true_date_of_birth"]).all()
    assert records["local_authority"].notna().all()


def synth_errors_format(agency: str) -> str:
    return {"iso": "%Y-%m-%d", "dd/mm/yyyy": "%d/%m/%Y", "d mon yyyy": "%d %b %Y"}[
        synth_errors.AGENCY_DATE_FORMAT[agency]
    ]


def test_world_follows_the_seed_facts(partnership: SyntheticPartnership) -> None:
    measures = partnership.measures()
    assert 0.25 <= measures.repeat_rate <= 0.37  # SafeLives: 31% within 12 months
    assert measures.hidden_repeat_victims > 0
    assert measures.duplicate_referrals > 0
    assert 0.3 <= measures.refuge_referrals_moved_in / measures.refuge_referrals <= 0.95
    assert measures.movers > 0
    victims = partnership.people[partnership.people["kind"] == "victim"]
    assert 0.7 <= (victims["sex"] == "F").mean() <= 0.9
    groups = partnership.people["name_group"].value_counts(normalize=True)
    assert groups["british"] > 0.7
    assert {"south_asian", "black", "eastern_european", "chinese", "arabic"} <= set(groups.index)


# --------------------------------------------------------------------------- error rates


def test_date_of_birth_missing_matches_the_configured_rates(records: pd.DataFrame) -> None:
    defaults = ErrorRates()
    police = records[records["agency"] == "police"]
    others = records[records["agency"] != "police"]
    assert _within(police["date_of_birth"].isna().mean(), defaults.date_of_birth_missing_police, len(police))
    assert _within(others["date_of_birth"].isna().mean(), defaults.date_of_birth_missing, len(others))


def test_configured_rates_come_out_near_what_was_asked() -> None:
    rates = ErrorRates(
        date_of_birth_missing_police=0.5,
        date_of_birth_missing=0.2,
        sex_missing=0.1,
        sex_spelled_out=0.5,
        postcode_missing=0.25,
        names_swapped=0.0,
        case_noise=0.0,
        whitespace_noise=0.0,
    )
    data = synthesise(people=2_000, seed=5, error_rates=rates)
    records = _with_people(data)
    police = records[records["agency"] == "police"]
    others = records[records["agency"] != "police"]
    assert _within(police["date_of_birth"].isna().mean(), 0.5, len(police))
    assert _within(others["date_of_birth"].isna().mean(), 0.2, len(others))
    assert _within(records["sex"].isna().mean(), 0.1, len(records))
    recorded = records["sex"].dropna()
    assert _within(recorded.isin(["Female", "Male"]).mean(), 0.5, len(recorded))
    with_address = records[records["agency"] != "refuge"]
    assert _within(with_address["postcode"].isna().mean(), 0.25, len(with_address))


def test_nicknames_and_case_noise_at_full_rate() -> None:
    rates = ErrorRates.none().model_copy(update={"nickname": 1.0, "case_noise": 1.0})
    records = _with_people(synthesise(people=1_000, seed=2, error_rates=rates))
    has_nickname = records["true_given_name"].isin(list(NICKNAMES))
    assert has_nickname.any()
    for recorded, true in zip(records.loc[has_nickname, "given_name"], records.loc[has_nickname, "true_given_name"]):
        assert recorded.lower() in {variant.lower() for variant in NICKNAMES[true]}
    names = records["family_name"]
    assert ((names == names.str.upper()) | (names == names.str.lower())).all()


def test_date_of_birth_errors_at_full_rate() -> None:
    swapped = _with_people(
        synthesise(
            people=800, seed=4,
            error_rates=ErrorRates.none().model_copy(update={"date_of_birth_day_month_swapped": 1.0}),
        )
    )
    true = pd.to_datetime(swapped["true_date_of_birth"])
    recorded = swapped["date_of_birth"]
    iso = swapped["agency"].map(synth_errors.AGENCY_DATE_FORMAT) == "iso"
    parsed = pd.to_datetime(recorded[iso], format="%Y-%m-%d")
    can_swap = (true[iso].dt.day <= 12) & (true[iso].dt.day != true[iso].dt.month)
    assert (parsed[can_swap].dt.day == true[iso][can_swap].dt.month).all()
    assert (parsed[~can_swap] == true[iso][~can_swap]).all()

    excel = _with_people(
        synthesise(
            people=500, seed=4,
            error_rates=ErrorRates.none().model_copy(update={"date_of_birth_excel_serial": 1.0}),
        )
    )
    serial = excel["date_of_birth"].astype(int)
    back = pd.Timestamp("1899-12-30") + pd.to_timedelta(serial, unit="D")
    assert (back.dt.strftime("%Y-%m-%d") == excel["true_date_of_birth"]).all()


def test_default_dates_of_birth_are_mostly_in_the_agency_format(records: pd.DataFrame) -> None:
    police = records.loc[records["agency"] == "police", "date_of_birth"].dropna()
    assert police.str.fullmatch(r"\d\d/\d\d/\d{4}").mean() > 0.9
    refuge = records.loc[records["agency"] == "refuge", "date_of_birth"].dropna()
    assert refuge.str.fullmatch(r"\d{1,2} [A-Z][a-z]{2} \d{4}").mean() > 0.9


def test_error_rates_are_validated_and_frozen() -> None:
    with pytest.raises(ValidationError):
        ErrorRates(nickname=1.5)
    with pytest.raises(ValidationError):
        ErrorRates(unknown_rate=0.1)  # type: ignore[call-arg]
    rates = ErrorRates()
    with pytest.raises(ValidationError):
        rates.nickname = 0.5  # type: ignore[misc]
    assert all(value == 0.0 for value in ErrorRates.none().model_dump().values())
    with pytest.raises(DalinkError, match="agencies"):
        synthesise(people=100, agencies=["police", "probation"])
    with pytest.raises(DalinkError, match="area"):
        synthesise(people=100, area="atlantis")
    assert set(area_names()) == {"essex", "hertfordshire", "staffordshire"}


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'", min_size=1, max_size=20),
    operation=st.integers(0, 3),
    position=st.floats(0, 1, exclude_max=True),
    letter=st.floats(0, 1, exclude_max=True),
)
def test_a_typo_is_one_edit_that_keeps_the_first_letter(
    text: str, operation: int, position: float, letter: float
) -> None:
    slipped = synth_errors._typo(text, operation, position, letter)
    assert jellyfish.damerau_levenshtein_distance(text, slipped) <= 1
    assert slipped[:1] == text[:1]
    if len(text) >= 3 and operation in (1, 2):
        assert slipped != text


@settings(max_examples=100, deadline=None)
@given(
    days=st.lists(st.integers(-25_000, 20_000), min_size=1, max_size=30),
    format_code=st.integers(0, 3),
)
def test_formatted_dates_parse_back(days: list[int], format_code: int) -> None:
    text = synth_errors.format_dates(np.array(days), np.full(len(days), format_code))
    if format_code == 3:
        parsed = pd.Timestamp("1899-12-30") + pd.to_timedelta(text.astype(int), unit="D")
    else:
        parsed = pd.to_datetime(
            pd.Series(text), format=("%Y-%m-%d", "%d/%m/%Y", "%d %b %Y")[format_code]
        )
    expected = pd.to_datetime(np.array(days).astype("datetime64[D]"))
    assert (pd.DatetimeIndex(parsed) == expected).all()


# --------------------------------------------------------------------------- files


def test_written_partnership_reproduces_its_truth_measures(tmp_path: Path) -> None:
    target = write_partnership(tmp_path / "data", people=1_200, seed=8)
    names = sorted(path.name for path in target.iterdir())
    assert names == sorted(
        [f"{agency}.csv" for agency in AGENCIES]
        + ["truth.csv", "truth_measures.json", "parameters.json"]
    )
    extracts = {
        agency: pd.read_csv(target / f"{agency}.csv", dtype=str, keep_default_na=False, na_values=[""])
        for agency in AGENCIES
    }
    for extract in extracts.values():
        assert tuple(extract.columns) == EXTRACT_COLUMNS
    assert extracts["refuge"]["postcode"].isna().all()
    truth = pd.read_csv(target / "truth.csv", dtype={"record_id": str})
    stored = json.loads((target / "truth_measures.json").read_text(encoding="utf-8"))
    recomputed = compute_measures(truth_events(extracts, truth)).to_dict()
    assert stored == json.loads(json.dumps(recomputed))
    assert set(stored["headline"]) == {
        "victims", "repeat_victims", "hidden_repeat_victims", "movers", "moves",
        "duplicate_referrals", "refuge_referrals_moved_in",
    }
    parameters = json.loads((target / "parameters.json").read_text(encoding="utf-8"))
    assert parameters["synth"]["people"] == 1_200
    assert parameters["synth"]["seed"] == 8
    assert sum(parameters["records"].values()) == len(truth)
    # parameters.json regenerates the same partnership, and the files equal the frames.
    again = synthesise_from(SynthParameters.model_validate(parameters["synth"]))
    for agency, extract in again.extracts.items():
        pd.testing.assert_frame_equal(
            extracts[agency], extract.astype(object).where(extract.notna(), np.nan), check_dtype=False
        )


def test_write_refuses_an_existing_directory_and_is_atomic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    existing = tmp_path / "exists"
    existing.mkdir()
    with pytest.raises(OutputExistsError):
        write_partnership(existing, people=100)
    assert list(existing.iterdir()) == []

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(SyntheticPartnership, "measures", broken)
    with pytest.raises(RuntimeError):
        write_partnership(tmp_path / "half", people=100)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["exists"]


def test_cli_synth(tmp_path: Path) -> None:
    from dalink.cli import main

    runner = CliRunner()
    target = tmp_path / "data"
    result = runner.invoke(
        main,
        ["synth", "-o", str(target), "--people", "300", "--seed", "4", "--years", "2",
         "--agencies", "police,marac,refuge", "--quiet"],
    )
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in target.glob("*.csv")) == [
        "marac.csv", "police.csv", "refuge.csv", "truth.csv",
    ]
    parameters = json.loads((target / "parameters.json").read_text(encoding="utf-8"))
    assert parameters["synth"]["years"] == 2
    assert parameters["synth"]["start_date"] == datetime.date(2021, 4, 1).isoformat()

    again = runner.invoke(main, ["synth", "-o", str(target), "--people", "300", "--quiet"])
    assert again.exit_code != 0
    assert "exists" in again.output
    unknown = runner.invoke(main, ["synth", "-o", str(tmp_path / "x"), "--agencies", "police,probation", "--quiet"])
    assert unknown.exit_code != 0
    assert not (tmp_path / "x").exists()


def test_docs_list_every_rate_and_world_parameter_with_its_default() -> None:
    import re

    from dalink.synth import WorldParameters

    text = (Path(__file__).resolve().parents[2] / "docs" / "synthetic-data.md").read_text(
        encoding="utf-8"
    )
    documented = {
        name: float(value)
        for name, value in re.findall(r"^\| `([a-z_]+)` \| ([0-9.]+) \|", text, flags=re.MULTILINE)
    }
    for model in (ErrorRates, WorldParameters):
        for name, field in model.model_fields.items():
            assert name in documented, f"{name} is not documented"
            assert documented[name] == pytest.approx(field.default), f"{name}: default differs"
