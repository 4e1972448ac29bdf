"""Tests of the partnership measures: the MEASURES.md worked example, edge cases at every window
boundary, and a hypothesis property checking the vectorised code against a readable per-person
reference implementation written below."""

from __future__ import annotations

import datetime
import json
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from dalink.errors import ReportError
from dalink.report.measures import (
    HEADLINE_KEYS,
    MeasureParameters,
    compute_measures,
    episode_starts,
)

COLUMNS = ["entity_id", "agency", "record_id", "event_date", "event_type", "local_authority", "role"]


def make_events(rows: list[tuple]) -> pd.DataFrame:
    """Rows of (entity, agency, date, event type, local authority, role); record ids in order."""
    frame = pd.DataFrame(
        rows,
        columns=["entity_id", "agency", "event_date", "event_type", "local_authority", "role"],
    )
    frame.insert(2, "record_id", [f"R{index:04d}" for index in range(len(frame))])
    return frame


WORKED_EXAMPLE = [
    ("A", "police", "2023-01-10", "incident", "E07000192", "victim"),
    ("A", "idva", "2023-01-25", "idva_referral", "E07000192", "victim"),
    ("A", "marac", "2023-02-05", "marac_referral", "E07000192", "victim"),
    ("A", "marac", "2023-02-20", "marac_referral", "E07000192", "victim"),
    ("A", "refuge", "2023-03-01", "refuge_referral", "E06000021", "victim"),
    ("B", "police", "2022-05-01", "incident", "E07000197", "victim"),
    ("B", "police", "2023-06-10", "incident", "E07000197", "victim"),
    ("C", "police", "2023-01-10", "incident", "E07000192", "perpetrator"),
    ("C", "police", "2023-04-02", "incident", "E07000199", "perpetrator"),
    ("D", "police", "2023-03-01", "incident", "E07000195", "victim"),
    ("D", "police", "2023-05-15", "incident", "E07000195", "victim"),
]


# --------------------------------------------------------------------------- worked example


def test_worked_example_reproduces_every_figure() -> None:
    measures = compute_measures(make_events(WORKED_EXAMPLE))
    assert measures.persons == 4
    assert measures.victims == 3
    assert measures.repeat_victims == 2
    assert measures.hidden_repeat_victims == 1
    assert measures.movers == 2
    assert measures.moves == 2
    assert measures.duplicate_referrals == 1
    assert measures.refuge_referrals == 1
    assert measures.refuge_referrals_moved_in == 1
    assert measures.repeat_rate == pytest.approx(2 / 3)
    assert measures.headline() == {
        "victims": 3,
        "repeat_victims": 2,
        "hidden_repeat_victims": 1,
        "movers": 2,
        "moves": 2,
        "duplicate_referrals": 1,
        "refuge_referrals_moved_in": 1,
    }
    assert tuple(measures.headline()) == HEADLINE_KEYS
    origin_destination = {
        (row.origin, row.destination): row.count
        for row in measures.moves_origin_destination.itertuples()
    }
    assert origin_destination == {("E07000192", "E06000021"): 1, ("E07000192", "E07000199"): 1}


def test_worked_example_tables() -> None:
    measures = compute_measures(make_events(WORKED_EXAMPLE))
    assert measures.victims_by_agency.to_dict() == {"idva": 1, "marac": 1, "police": 3, "refuge": 1}
    assert measures.repeat_victims_by_agency.to_dict() == {
        "idva": 1,
        "marac": 1,
        "police": 2,
        "refuge": 1,
    }
    # Only D's repeat is visible to one agency (police) on its own.
    assert measures.repeat_victims_seen_by_agency.to_dict() == {
        "idva": 0,
        "marac": 0,
        "police": 1,
        "refuge": 0,
    }
    assert measures.agency_overlap.loc["police", "police"] == 4
    assert measures.agency_overlap.loc["police", "refuge"] == 1
    assert measures.agency_overlap.loc["marac", "idva"] == 1
    assert (measures.agency_overlap.to_numpy() == measures.agency_overlap.to_numpy().T).all()
    by_month = measures.duplicate_referrals_by_month
    assert by_month.to_dict("records") == [
        {"month": "2023-02", "referrals": 2, "duplicate_referrals": 1}
    ]


def test_worked_example_is_json_serialisable_and_order_independent() -> None:
    events = make_events(WORKED_EXAMPLE)
    shuffled = events.sample(frac=1.0, random_state=3)
    first = compute_measures(events).to_dict()
    assert compute_measures(shuffled).to_dict() == first
    assert json.loads(json.dumps(first)) == first


def test_datetime_and_string_dates_agree() -> None:
    events = make_events(WORKED_EXAMPLE)
    as_datetime = events.assign(event_date=pd.to_datetime(events["event_date"]))
    assert compute_measures(as_datetime).to_dict() == compute_measures(events).to_dict()


# --------------------------------------------------------------------------- edge cases


def _one_person(*events: tuple[str, int, str, str | None, str]) -> pd.DataFrame:
    """Events of one person: (agency, day offset, event type, local authority, role)."""
    base = datetime.date(2023, 1, 1)
    return make_events(
        [
            ("P", agency, (base + datetime.timedelta(days=offset)).isoformat(), kind, la, role)
            for agency, offset, kind, la, role in events
        ]
    )


@pytest.mark.parametrize(("gap", "episodes_open"), [(27, 1), (28, 1), (29, 2)])
def test_episode_boundary(gap: int, episodes_open: int) -> None:
    group = np.zeros(2, dtype=np.int64)
    days = np.array([0, gap], dtype=np.int64)
    assert episode_starts(group, days, 28).sum() == episodes_open


def test_episode_is_measured_from_its_start_not_its_last_event() -> None:
    # 0, 20, 40: the third event is 20 days after the second but 40 after the start.
    events = _one_person(
        ("police", 0, "incident", "X", "victim"),
        ("police", 20, "incident", "X", "victim"),
        ("police", 40, "incident", "X", "victim"),
    )
    assert compute_measures(events).repeat_victims == 1


@pytest.mark.parametrize(("gap", "repeat"), [(364, 1), (365, 1), (366, 0)])
def test_repeat_window_boundary(gap: int, repeat: int) -> None:
    events = _one_person(
        ("police", 0, "incident", "X", "victim"),
        ("police", gap, "incident", "X", "victim"),
    )
    measures = compute_measures(events)
    assert measures.repeat_victims == repeat
    assert measures.hidden_repeat_victims == 0


@pytest.mark.parametrize(("gap", "duplicates"), [(0, 1), (28, 1), (29, 0)])
def test_duplicate_referral_boundary(gap: int, duplicates: int) -> None:
    events = _one_person(
        ("marac", 0, "marac_referral", "X", "victim"),
        ("marac", gap, "marac_referral", "X", "victim"),
    )
    assert compute_measures(events).duplicate_referrals == duplicates


def test_duplicate_referrals_of_any_type_compare_within_type() -> None:
    events = _one_person(
        ("idva", 0, "idva_referral", "X", "victim"),
        ("marac", 3, "marac_referral", "X", "victim"),
        ("idva", 10, "idva_referral", "X", "victim"),
        ("police", 11, "incident", "X", "victim"),
        ("police", 12, "incident", "X", "victim"),
    )
    assert compute_measures(events).duplicate_referrals == 0
    any_type = MeasureParameters(duplicate_event_type=None)
    measures = compute_measures(events, any_type)
    assert measures.duplicate_referrals == 1  # the second IDVA referral; incidents are no referral
    assert measures.referrals == 3


def test_same_day_ties_are_ordered_by_agency_then_record_id() -> None:
    # Same day: police (X) sorts before refuge (Y), so the refuge referral moved in.
    events = _one_person(
        ("refuge", 5, "refuge_referral", "Y", "victim"),
        ("police", 5, "incident", "X", "victim"),
    )
    measures = compute_measures(events)
    assert measures.refuge_referrals_moved_in == 1
    assert measures.moves_origin_destination.to_dict("records") == [
        {"origin": "X", "destination": "Y", "count": 1}
    ]
    # Same agency and day: record_id decides, whatever the row order.
    tied = pd.DataFrame(
        {
            "entity_id": ["P", "P", "P"],
            "agency": ["police"] * 3,
            "record_id": ["R3", "R1", "R2"],
            "event_date": ["2023-01-01"] * 3,
            "event_type": ["incident"] * 3,
            "local_authority": ["Z", "X", "Y"],
            "role": ["victim"] * 3,
        }
    )
    measures = compute_measures(tied)
    assert measures.moves_origin_destination.to_dict("records") == [
        {"origin": "X", "destination": "Y", "count": 1},
        {"origin": "Y", "destination": "Z", "count": 1},
    ]


def test_missing_local_authority_breaks_the_move() -> None:
    events = _one_person(
        ("police", 0, "incident", "X", "victim"),
        ("housing", 40, "homelessness_presentation", None, "victim"),
        ("refuge", 80, "refuge_referral", "Y", "victim"),
        ("police", 90, "incident", "  ", "victim"),
    )
    measures = compute_measures(events)
    assert measures.moves == 0
    assert measures.movers == 0
    assert measures.refuge_referrals_moved_in == 0


def test_moves_count_every_role_but_victims_do_not() -> None:
    events = _one_person(
        ("police", 0, "incident", "X", "perpetrator"),
        ("police", 100, "incident", "Y", "perpetrator"),
        ("police", 200, "incident", "X", "other"),
    )
    measures = compute_measures(events)
    assert (measures.moves, measures.movers, measures.victims, measures.persons) == (2, 1, 0, 1)


def test_values_are_normalised_for_case_and_whitespace() -> None:
    events = _one_person(
        (" Police", 0, "Incident", "e07000192 ", "Victim"),
        ("police", 40, "INCIDENT", "E07000192", "victim "),
    )
    measures = compute_measures(events)
    assert measures.repeat_victims == 1
    assert measures.moves == 0
    assert list(measures.victims_by_agency.index) == ["police"]


def test_period_filter_and_missing_dates() -> None:
    events = make_events(WORKED_EXAMPLE)
    events.loc[len(events)] = ["E", "police", "R9999", None, "incident", "E07000192", "victim"]
    parameters = MeasureParameters(period_start=datetime.date(2023, 1, 1))
    measures = compute_measures(events, parameters)
    assert measures.events_without_date == 1
    # B's 2022 incident is out of the period; B keeps one event, not a repeat either way.
    assert measures.persons == 4
    assert measures.events == 10
    assert measures.repeat_victims == 2
    ended = compute_measures(events, MeasureParameters(period_end=datetime.date(2023, 1, 31)))
    assert ended.persons == 3  # A, B (2022 incident) and C


def test_empty_events() -> None:
    measures = compute_measures(pd.DataFrame({column: [] for column in COLUMNS}))
    assert measures.headline() == dict.fromkeys(HEADLINE_KEYS, 0)
    assert measures.persons == 0
    assert measures.repeat_rate == 0.0
    assert measures.moves_origin_destination.empty
    assert measures.duplicate_referrals_by_month.empty


def test_errors_are_report_errors_without_values() -> None:
    events = make_events(WORKED_EXAMPLE)
    with pytest.raises(ReportError, match="role"):
        compute_measures(events.drop(columns=["role"]))
    bad_dates = events.assign(event_date=events["event_date"].where(events.index != 0, "Alice"))
    with pytest.raises(ReportError) as caught:
        compute_measures(bad_dates)
    assert "Alice" not in str(caught.value)
    with pytest.raises(ReportError, match="entity_id"):
        compute_measures(events.assign(entity_id=events["entity_id"].where(events.index != 0)))


def test_parameters_are_frozen_and_strict() -> None:
    parameters = MeasureParameters()
    with pytest.raises(ValidationError):
        parameters.episode_days = 10  # type: ignore[misc]
    with pytest.raises(ValidationError):
        MeasureParameters(episode_days=-1)
    with pytest.raises(ValidationError):
        MeasureParameters(window=3)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        MeasureParameters(
            period_start=datetime.date(2024, 1, 1), period_end=datetime.date(2023, 1, 1)
        )


# --------------------------------------------------------------------------- reference


@dataclass(frozen=True)
class Event:
    entity: str
    agency: str
    record_id: str
    day: datetime.date
    event_type: str
    local_authority: str | None
    role: str


def _reference_has_repeat(dates: list[datetime.date], parameters: MeasureParameters) -> bool:
    """The rule word for word: walk the dates, open an episode when more than episode_days
    after the current episode's start, and look for two starts at most repeat_days apart."""
    starts: list[datetime.date] = []
    for date in dates:
        if not starts or (date - starts[-1]).days > parameters.episode_days:
            starts.append(date)
    return any(
        (later - earlier).days <= parameters.repeat_days
        for earlier, later in zip(starts, starts[1:])
    )


def reference_measures(events: list[Event], parameters: MeasureParameters) -> dict:
    """A slow, readable per-person implementation of every measure."""
    by_person: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        by_person[event.entity].append(event)
    victims = repeat = hidden = movers = moves = duplicates = refuge = moved_in = 0
    origin_destination: dict[tuple[str, str], int] = defaultdict(int)
    victims_by_agency: dict[str, int] = defaultdict(int)
    repeat_by_agency: dict[str, int] = defaultdict(int)
    seen_by_agency: dict[str, int] = defaultdict(int)
    known_by: dict[str, set[str]] = defaultdict(set)
    for person, person_events in by_person.items():
        person_events.sort(key=lambda event: (event.day, event.agency, event.record_id))
        for event in person_events:
            known_by[event.agency].add(person)
        victim_events = [event for event in person_events if event.role == "victim"]
        victim_agencies = sorted({event.agency for event in victim_events})
        if victim_events:
            victims += 1
            for agency in victim_agencies:
                victims_by_agency[agency] += 1
        is_repeat = _reference_has_repeat([event.day for event in victim_events], parameters)
        agencies_seeing = [
            agency
            for agency in victim_agencies
            if _reference_has_repeat(
                [event.day for event in victim_events if event.agency == agency], parameters
            )
        ]
        for agency in agencies_seeing:
            seen_by_agency[agency] += 1
        if is_repeat:
            repeat += 1
            hidden += not agencies_seeing
            for agency in victim_agencies:
                repeat_by_agency[agency] += 1
        person_moves = 0
        for previous, current in zip(person_events, person_events[1:]):
            if (
                previous.local_authority is not None
                and current.local_authority is not None
                and previous.local_authority != current.local_authority
            ):
                person_moves += 1
                origin_destination[(previous.local_authority, current.local_authority)] += 1
                if current.event_type == parameters.refuge_event_type:
                    moved_in += 1
        moves += person_moves
        movers += person_moves > 0
        refuge += sum(event.event_type == parameters.refuge_event_type for event in person_events)
        last_referral: dict[str, datetime.date] = {}
        for event in person_events:
            wanted = (
                event.event_type.endswith("_referral")
                if parameters.duplicate_event_type is None
                else event.event_type == parameters.duplicate_event_type
            )
            if not wanted:
                continue
            previous_day = last_referral.get(event.event_type)
            if previous_day is not None and (event.day - previous_day).days <= (
                parameters.duplicate_days
            ):
                duplicates += 1
            last_referral[event.event_type] = event.day
    agencies = sorted(known_by)
    overlap = {
        first: {second: len(known_by[first] & known_by[second]) for second in agencies}
        for first in agencies
    }
    return {
        "persons": len(by_person),
        "victims": victims,
        "repeat_victims": repeat,
        "hidden_repeat_victims": hidden,
        "movers": movers,
        "moves": moves,
        "duplicate_referrals": duplicates,
        "refuge_referrals": refuge,
        "refuge_referrals_moved_in": moved_in,
        "origin_destination": dict(origin_destination),
        "victims_by_agency": {agency: victims_by_agency[agency] for agency in agencies},
        "repeat_victims_by_agency": {agency: repeat_by_agency[agency] for agency in agencies},
        "repeat_victims_seen_by_agency": {agency: seen_by_agency[agency] for agency in agencies},
        "agency_overlap": overlap,
    }


AGENCIES = ["idva", "marac", "police", "refuge"]
EVENT_TYPES = ["incident", "idva_referral", "marac_referral", "refuge_referral"]

event_strategy = st.tuples(
    st.sampled_from(["a", "b", "c", "d"]),
    st.sampled_from(AGENCIES),
    # Small offsets collide (ties) and land on window boundaries often.
    st.one_of(st.integers(0, 60), st.integers(0, 800), st.sampled_from([0, 28, 29, 365, 366])),
    st.sampled_from(EVENT_TYPES),
    st.sampled_from(["X", "Y", "Z", None]),
    st.sampled_from(["victim", "victim", "perpetrator", "other"]),
)

parameter_strategy = st.builds(
    MeasureParameters,
    episode_days=st.sampled_from([0, 7, 28, 29]),
    repeat_days=st.sampled_from([28, 100, 365]),
    duplicate_days=st.sampled_from([0, 28]),
    duplicate_event_type=st.sampled_from(["marac_referral", None]),
)


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(event_strategy, max_size=40), parameters=parameter_strategy)
def test_vectorised_measures_match_the_reference(
    rows: list[tuple], parameters: MeasureParameters
) -> None:
    base = datetime.date(2022, 1, 1)
    events = [
        Event(
            entity=entity,
            agency=agency,
            record_id=f"R{index:03d}",
            day=base + datetime.timedelta(days=offset),
            event_type=kind,
            local_authority=la,
            role=role,
        )
        for index, (entity, agency, offset, kind, la, role) in enumerate(rows)
    ]
    frame = pd.DataFrame(
        {
            "entity_id": [event.entity for event in events],
            "agency": [event.agency for event in events],
            "record_id": [event.record_id for event in events],
            "event_date": [event.day.isoformat() for event in events],
            "event_type": [event.event_type for event in events],
            "local_authority": [event.local_authority for event in events],
            "role": [event.role for event in events],
        },
        columns=COLUMNS,
    )
    # Reverse the rows so the vectorised code cannot rely on input order.
    measures = compute_measures(frame.iloc[::-1], parameters)
    expected = reference_measures(events, parameters)
    actual = {
        "persons": measures.persons,
        "victims": measures.victims,
        "repeat_victims": measures.repeat_victims,
        "hidden_repeat_victims": measures.hidden_repeat_victims,
        "movers": measures.movers,
        "moves": measures.moves,
        "duplicate_referrals": measures.duplicate_referrals,
        "refuge_referrals": measures.refuge_referrals,
        "refuge_referrals_moved_in": measures.refuge_referrals_moved_in,
        "origin_destination": {
            (row.origin, row.destination): row.count
            for row in measures.moves_origin_destination.itertuples()
        },
        "victims_by_agency": measures.victims_by_agency.to_dict(),
        "repeat_victims_by_agency": measures.repeat_victims_by_agency.to_dict(),
        "repeat_victims_seen_by_agency": measures.repeat_victims_seen_by_agency.to_dict(),
        "agency_overlap": {
            row: dict(values) for row, values in measures.agency_overlap.to_dict("index").items()
        },
    }
    assert actual == expected
    assert measures.duplicate_referrals_by_month["duplicate_referrals"].sum() == (
        measures.duplicate_referrals
    )


@settings(max_examples=200, deadline=None)
@given(
    offsets=st.lists(st.lists(st.integers(0, 200), max_size=8), max_size=6),
    episode_days=st.integers(0, 40),
)
def test_episode_starts_match_a_sequential_walk(
    offsets: list[list[int]], episode_days: int
) -> None:
    group = np.array(
        [index for index, days in enumerate(offsets) for _ in days], dtype=np.int64
    )
    days = np.array([day for days in offsets for day in sorted(days)], dtype=np.int64)
    expected = []
    for person_days in offsets:
        start = None
        for day in sorted(person_days):
            opens = start is None or day - start > episode_days
            expected.append(opens)
            if opens:
                start = day
    assert episode_starts(group, days, episode_days).tolist() == expected
