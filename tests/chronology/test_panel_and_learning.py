"""Panel summary (the worked examples of MEASURES.md) and learning across reviews (disclosure control)."""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dardr_helpers import linked_partnership  # noqa: F401 - fixture
from dalink.chronology import Chronology, ChronologyRequest, aggregate_learning, panel_summary
from dalink.chronology.audit_log import AuditEntry
from dalink.chronology.chronology import CHRONOLOGY_COLUMNS, SUBJECT_COLUMNS
from dalink.chronology.summary import PanelSummary, SubjectPanelSummary
from dalink.errors import InvalidValue
from dalink.report.disclosure import DisclosureRules, check_table

# MEASURES.md: four persons as the linker would see them.
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
ROLES = {"A": "victim", "B": "victim", "C": "perpetrator", "D": "victim"}


def make_chronology(rows, roles: dict[str, str], reference_dates: dict[str, str | None]) -> Chronology:
    events = pd.DataFrame(
        [
            {
                "subject": subject, "subject_role": roles[subject], "event_date": date, "agency": agency,
                "event_type": event_type, "local_authority": authority, "role": role, "match_probability": 0.99,
                "linked_by": "subject match", "record_id": f"{agency}-{number}", "entity_id": f"e{subject}",
            }
            for number, (subject, agency, date, event_type, authority, role) in enumerate(rows)
        ],
        columns=list(CHRONOLOGY_COLUMNS),
    )
    subjects = pd.DataFrame(
        [
            {
                "subject": subject, "subject_role": roles[subject], "reference_date": reference_dates.get(subject),
                "records_matched": int((events["subject"] == subject).sum()), "entities": 1,
                "events": int((events["subject"] == subject).sum()), "agencies": events.loc[events["subject"] == subject, "agency"].nunique(),
            }
            for subject in roles
        ],
        columns=list(SUBJECT_COLUMNS),
    )
    entry = AuditEntry(
        request_id="test", requested_at=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc),
        requested_by="Chair", reason="test", outcome="returned", subjects=tuple(roles), events_returned=len(events),
    )
    return Chronology(
        request=ChronologyRequest(requested_by="Chair", reason="test"), events=events, subjects=subjects,
        match_threshold=0.5, audit_entry=entry,
    )


@pytest.fixture
def worked_example() -> Chronology:
    return make_chronology(WORKED_EXAMPLE, ROLES, {"A": "2023-03-01", "B": "2023-06-10", "C": None, "D": "2023-12-31"})


def test_panel_summary_follows_the_worked_examples(worked_example: Chronology) -> None:
    summary = {item.subject: item for item in panel_summary(worked_example).subjects}
    a, b, c, d = summary["A"], summary["B"], summary["C"], summary["D"]
    assert (a.victim_episodes, a.repeat_victim, a.hidden_repeat_victim) == (2, True, True)
    assert (a.moves, a.duplicate_referrals, a.local_authorities) == (1, 1, ("E07000192", "E06000021"))
    assert a.agencies == ("idva", "marac", "police", "refuge")
    assert a.contacts_in_window == {"idva": 1, "marac": 2, "police": 1, "refuge": 1}
    assert a.window_start == datetime.date(2022, 3, 1)
    assert (b.victim_episodes, b.repeat_victim, b.hidden_repeat_victim, b.moves) == (2, False, False, 0)
    assert b.contacts_in_window == {"police": 1}  # 2022-05-01 is 405 days before 2023-06-10
    assert (c.victim_episodes, c.repeat_victim, c.moves, c.moved_area) == (0, False, 1, True)
    assert c.reference_date is None and c.contacts_in_window == {}
    assert (d.victim_episodes, d.repeat_victim, d.hidden_repeat_victim) == (2, True, False)


def test_window_and_reference_date_are_parameters(worked_example: Chronology) -> None:
    summary = panel_summary(worked_example, reference_date="2023-03-01", window_days=30)
    a = next(item for item in summary.subjects if item.subject == "A")
    assert a.contacts_in_window == {"marac": 2, "refuge": 1}  # 2023-01-30 .. 2023-03-01, both ends included
    c = next(item for item in summary.subjects if item.subject == "C")
    assert c.contacts_in_window == {}  # incidents on 2023-01-10 and 2023-04-02 fall outside
    assert summary.to_frame().loc[0, "agencies_in_30_days_before"] == "marac (2); refuge (1)"
    text = summary.render_text()
    assert "hidden repeat victim" in text and "E07000192 → E06000021" in text
    with pytest.raises(InvalidValue):
        panel_summary(worked_example, reference_date="31/12/2023")
    with pytest.raises(InvalidValue):
        panel_summary(worked_example, window_days=-1)


def test_a_subject_with_no_events(worked_example: Chronology) -> None:
    empty = make_chronology([], {"Z": "victim"}, {"Z": "2024-01-01"})
    item = panel_summary(empty).subjects[0]
    assert (item.events, item.victim_episodes, item.repeat_victim, item.moves, item.agencies) == (0, 0, False, 0, ())


def _subject(role: str, agencies: tuple[str, ...], in_window: tuple[str, ...], repeat: bool, hidden: bool, moves: int, duplicates: int) -> SubjectPanelSummary:
    return SubjectPanelSummary(
        subject="S", subject_role=role, reference_date=datetime.date(2024, 1, 1), window_start=datetime.date(2023, 1, 1),
        events=len(agencies), agencies=agencies, agencies_in_window=in_window,
        contacts_in_window={agency: 1 for agency in in_window}, victim_episodes=2 if repeat else 1,
        repeat_victim=repeat, hidden_repeat_victim=hidden and repeat, moves=moves, local_authorities=(),
        duplicate_referrals=duplicates,
    )


AGENCY_NAMES = ("police", "marac", "refuge", "idva", "housing")
subjects_strategy = st.builds(
    _subject,
    role=st.sampled_from(["victim", "perpetrator", "other"]),
    agencies=st.sets(st.sampled_from(AGENCY_NAMES)).map(lambda names: tuple(sorted(names))),
    in_window=st.sets(st.sampled_from(AGENCY_NAMES)).map(lambda names: tuple(sorted(names))),
    repeat=st.booleans(),
    hidden=st.booleans(),
    moves=st.integers(0, 3),
    duplicates=st.integers(0, 2),
)


def reviews_of(subjects: list[SubjectPanelSummary], per_review: int = 2) -> list[PanelSummary]:
    from dalink.report.measures import MeasureParameters

    return [
        PanelSummary(subjects=tuple(subjects[start : start + per_review]), parameters=MeasureParameters(), window_days=365)
        for start in range(0, len(subjects), per_review)
    ]


@given(st.lists(subjects_strategy, min_size=1, max_size=60))
@settings(max_examples=25, deadline=None)
def test_learning_counts_are_exact_without_control_and_safe_with_it(subjects: list[SubjectPanelSummary]) -> None:
    reviews = reviews_of(subjects)
    exact = aggregate_learning(reviews, DisclosureRules(threshold=1, rounding_base=1))
    table = exact.subjects.frame
    for role in ("victim", "perpetrator"):
        chosen = [item for item in subjects if item.subject_role == role]
        assert table.loc["review subjects", role] == len(chosen)
        assert table.loc["known to 3 or more agencies", role] == sum(len(item.agencies) >= 3 for item in chosen)
        assert table.loc["hidden repeat victim (seen as a repeat by no single agency)", role] == sum(item.hidden_repeat_victim for item in chosen)
        assert table.loc["moved between local authorities", role] == sum(item.moves > 0 for item in chosen)
    assert table.loc["review subjects", "Total"] == len(subjects)
    for agency in exact.agencies.frame.index:
        assert exact.agencies.frame.loc[agency, "subjects known to the agency"] == sum(agency in item.agencies for item in subjects)

    rules = DisclosureRules()
    published = aggregate_learning(reviews, rules)
    assert published.reviews == len(reviews)
    for table in published.tables():
        assert check_table(table, rules) == []
        values = table.frame.to_numpy(dtype=float)
        shown = values[~np.isnan(values)]
        assert ((shown == 0) | (shown >= rules.smallest_published)).all()
        assert (shown % rules.rounding_base == 0).all()


def test_small_counts_are_withheld_and_cannot_be_worked_back() -> None:
    subjects = [_subject("victim", ("police", "marac", "idva"), (), True, True, 1, 0)] * 3
    subjects += [_subject("perpetrator", ("police",), (), False, False, 0, 0)] * 12
    published = aggregate_learning(reviews_of(subjects), DisclosureRules())
    frame = published.subjects.frame
    assert np.isnan(frame.loc["review subjects", "victim"])  # 3 victims: withheld
    # the total (15) and the perpetrators (12) would give the 3 back: one of them is withheld too
    assert np.isnan(frame.loc["review subjects", "Total"]) or np.isnan(frame.loc["review subjects", "perpetrator"])
    assert np.isnan(frame.loc["hidden repeat victim (seen as a repeat by no single agency)", "victim"])
    assert "[c]" in published.render_text()


def test_reviews_summarised_with_different_windows_are_refused(worked_example: Chronology) -> None:
    with pytest.raises(InvalidValue, match="different windows"):
        aggregate_learning([panel_summary(worked_example), panel_summary(worked_example, window_days=30)])


def test_chronologies_are_summarised_with_the_defaults(worked_example: Chronology) -> None:
    learning = aggregate_learning([worked_example, worked_example], DisclosureRules(threshold=1, rounding_base=1))
    frame = learning.subjects.frame
    assert frame.loc["review subjects", "victim"] == 6 and frame.loc["review subjects", "perpetrator"] == 2
    assert frame.loc["hidden repeat victim (seen as a repeat by no single agency)", "victim"] == 2
    assert frame.loc["moved between local authorities", "Total"] == 4
    assert frame.loc["with a duplicate referral", "victim"] == 2


def test_per_subject_summaries_add_up_to_the_partnership_measures(linked_partnership) -> None:
    """One definition: summarising persons one by one gives the partnership measures of the same persons."""
    from dalink.chronology.summary import summarise_subject
    from dalink.report.measures import compute_measures

    events = linked_partnership.synthetic.events()
    busiest = events["entity_id"].value_counts().index[:80]  # persons with many events: repeats, moves, duplicates
    events = events[events["entity_id"].isin(busiest)]
    truth = compute_measures(events)
    items = [
        summarise_subject(group, subject=str(person), subject_role=None, reference_date=None)
        for person, group in events.groupby("entity_id")
    ]
    assert truth.repeat_victims > 0 and truth.moves > 0
    assert sum(item.repeat_victim for item in items) == truth.repeat_victims
    assert sum(item.hidden_repeat_victim for item in items) == truth.hidden_repeat_victims
    assert sum(item.moves for item in items) == truth.moves
    assert sum(item.moved_area for item in items) == truth.movers
    assert sum(item.duplicate_referrals for item in items) == truth.duplicate_referrals
