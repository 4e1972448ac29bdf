"""The partnership measures: one definition for the synthetic truth and the linked estimate.

``dalink synth`` computes ``truth_measures.json`` with :func:`compute_measures` on the true
persons, and ``dalink report`` calls the same function on linked entities (hundreds of times,
for bootstrap intervals). Because both sides go through this one code path, a difference
between estimate and truth is always linkage error, never two readings of a definition.

The definitions are those of ``PRODUCT.md`` and ``MEASURES.md``:

* a **victim event** is an event with role ``victim``;
* an **episode** is a run of a person's victim events in date order; an event opens a new
  episode when it is more than ``episode_days`` after the *start* of the current episode;
* a **repeat victim** has an episode starting at most ``repeat_days`` after the start of their
  previous episode; a **hidden repeat victim** is a repeat victim whom no single agency sees as
  a repeat when the same rule is applied to that agency's events alone;
* a **move** is two consecutive events of a person (all roles) whose local authorities are both
  known and differ; a **mover** has at least one move;
* a refuge referral is **moved in from elsewhere** when it ends a move;
* a **duplicate referral** is a referral made at most ``duplicate_days`` after a previous
  referral of the same person of the same type.

Events of a person on the same date are ordered by agency name, then ``record_id``.

Everything is vectorised over sorted numpy arrays: episode starts are found by pointer jumping
(each start points to the first event more than ``episode_days`` later, found with one
``searchsorted``), so the number of numpy passes is the largest number of episodes of any
person, not the number of persons. One million events take well under two seconds.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from dalink.report.episodes import _distinct_sorted, episode_starts, repeat_groups
from dalink.report.measure_events import (
    REFERRAL_SUFFIX,
    REQUIRED_COLUMNS,
    VICTIM_ROLE,
    _prepare,
    _referral_mask,
)

__all__ = [
    "HEADLINE_KEYS",
    "REFERRAL_SUFFIX",
    "REQUIRED_COLUMNS",
    "VICTIM_ROLE",
    "MeasureParameters",
    "Measures",
    "compute_measures",
    "episode_starts",
    "repeat_groups",
]

HEADLINE_KEYS = (
    "victims",
    "repeat_victims",
    "hidden_repeat_victims",
    "movers",
    "moves",
    "duplicate_referrals",
    "refuge_referrals_moved_in",
)


class MeasureParameters(BaseModel):
    """The windows and event types behind every measure (defaults from ``PRODUCT.md``).

    They are parameters rather than constants because partnerships define a repeat
    differently (SafeLives counts MARAC repeats within 12 months, some forces use 6), and the
    report must state exactly which definition produced its numbers.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    episode_days: int = Field(
        28,
        ge=0,
        description="An event more than this many days after the start of the current episode "
        "opens a new one, so an incident and the referrals that follow it count once.",
    )
    repeat_days: int = Field(
        365,
        ge=0,
        description="An episode starting at most this many days after the previous episode's "
        "start makes the person a repeat victim.",
    )
    duplicate_days: int = Field(
        28,
        ge=0,
        description="A referral at most this many days after a previous referral of the same "
        "person and type is a duplicate.",
    )
    duplicate_event_type: str | None = Field(
        "marac_referral",
        description="Referral type checked for duplicates; None checks every event type ending "
        "in '_referral', each against referrals of its own type.",
    )
    refuge_event_type: str = Field(
        "refuge_referral", description="Event type of refuge referrals (moved-in measure)."
    )
    period_start: datetime.date | None = Field(
        None, description="Only events on or after this date are counted."
    )
    period_end: datetime.date | None = Field(
        None, description="Only events on or before this date are counted."
    )

    @model_validator(mode="after")
    def _period_is_ordered(self) -> MeasureParameters:
        if (
            self.period_start is not None
            and self.period_end is not None
            and self.period_start > self.period_end
        ):
            raise ValueError("period_start is after period_end")
        return self


@dataclasses.dataclass(frozen=True)
class Measures:
    """Every measure of one set of events (truth or one linkage/bootstrap replicate).

    Tables are pandas objects so the report can chart and disclosure-control them directly;
    :meth:`headline` gives the counts that get intervals and :meth:`to_dict` a JSON form.
    """

    parameters: MeasureParameters
    events: int
    events_without_date: int
    persons: int
    victims: int
    repeat_victims: int
    hidden_repeat_victims: int
    movers: int
    moves: int
    referrals: int
    duplicate_referrals: int
    refuge_referrals: int
    refuge_referrals_moved_in: int
    repeat_rate: float
    victims_by_agency: pd.Series
    """Distinct persons with a victim event at each agency (index: agency)."""
    repeat_victims_by_agency: pd.Series
    """Repeat victims (partnership-wide rule) with a victim event at each agency."""
    repeat_victims_seen_by_agency: pd.Series
    """Persons each agency sees as a repeat victim from its own events alone."""
    agency_overlap: pd.DataFrame
    """Agency × agency: distinct persons (any role) known to both; the diagonal is per agency."""
    moves_origin_destination: pd.DataFrame
    """Columns ``origin``, ``destination``, ``count``: moves between local authorities."""
    duplicate_referrals_by_month: pd.DataFrame
    """Columns ``month`` (YYYY-MM), ``referrals``, ``duplicate_referrals``, every month from
    the first to the last referral of the checked type(s)."""

    def headline(self) -> dict[str, int]:
        """The headline counts that carry intervals in ``measures.json``."""
        return {key: int(getattr(self, key)) for key in HEADLINE_KEYS}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable form (used for ``truth_measures.json``)."""
        return {
            "parameters": self.parameters.model_dump(mode="json"),
            "headline": self.headline(),
            "counts": {
                "events": self.events,
                "events_without_date": self.events_without_date,
                "persons": self.persons,
                "victims": self.victims,
                "repeat_victims": self.repeat_victims,
                "hidden_repeat_victims": self.hidden_repeat_victims,
                "movers": self.movers,
                "moves": self.moves,
                "referrals": self.referrals,
                "duplicate_referrals": self.duplicate_referrals,
                "refuge_referrals": self.refuge_referrals,
                "refuge_referrals_moved_in": self.refuge_referrals_moved_in,
            },
            "repeat_rate": self.repeat_rate,
            "victims_by_agency": {str(k): int(v) for k, v in self.victims_by_agency.items()},
            "repeat_victims_by_agency": {
                str(k): int(v) for k, v in self.repeat_victims_by_agency.items()
            },
            "repeat_victims_seen_by_agency": {
                str(k): int(v) for k, v in self.repeat_victims_seen_by_agency.items()
            },
            "agency_overlap": {
                str(row): {str(column): int(value) for column, value in values.items()}
                for row, values in self.agency_overlap.iterrows()
            },
            "moves_origin_destination": [
                {"origin": str(origin), "destination": str(destination), "count": int(count)}
                for origin, destination, count in self.moves_origin_destination.itertuples(
                    index=False
                )
            ],
            "duplicate_referrals_by_month": [
                {"month": str(month), "referrals": int(referrals), "duplicate_referrals": int(dups)}
                for month, referrals, dups in self.duplicate_referrals_by_month.itertuples(
                    index=False
                )
            ],
        }


def _month_labels(first_month: int, last_month: int) -> list[str]:
    months = np.arange(first_month, last_month + 1).astype("datetime64[M]")
    return [str(month) for month in months]


# --------------------------------------------------------------------------- the measures


def compute_measures(
    events: pd.DataFrame, parameters: MeasureParameters | None = None
) -> Measures:
    """Compute every partnership measure from events grouped into persons by ``entity_id``.

    ``events`` needs the columns ``entity_id``, ``agency``, ``record_id``, ``event_date``
    (datetime64 or ISO strings), ``event_type``, ``local_authority`` (may be blank), ``role``;
    other columns are ignored. ``entity_id`` is the true person for the synthetic truth and the
    linked entity for an estimate. Events without a date are left out (and counted).
    """
    parameters = parameters or MeasureParameters()
    prepared = _prepare(events, parameters)
    entity = prepared.entity
    days = prepared.days
    agency = prepared.agency
    agency_names = prepared.agency_names
    agency_count = len(agency_names)
    agency_index = pd.Index(agency_names, name="agency")

    # Victims, episodes and repeats (partnership-wide and per agency).
    victim_rows = np.flatnonzero(prepared.is_victim)
    victim_entity = entity[victim_rows]
    victim_days = days[victim_rows]
    victim_agency = agency[victim_rows]
    persons = prepared.persons
    repeat_ids = repeat_groups(
        victim_entity, victim_days, parameters.episode_days, parameters.repeat_days
    )
    groups_per_person = max(agency_count, 1)
    agency_group = victim_entity * groups_per_person + victim_agency
    by_agency = np.argsort(agency_group, kind="stable")  # keeps date order within a group
    agency_group = agency_group[by_agency]
    repeat_agency_groups = repeat_groups(
        agency_group,
        victim_days[by_agency],
        parameters.episode_days,
        parameters.repeat_days,
    )
    is_repeat = np.zeros(persons, dtype=bool)
    is_repeat[repeat_ids] = True
    seen_by_some_agency = np.zeros(persons, dtype=bool)
    seen_by_some_agency[repeat_agency_groups // groups_per_person] = True
    hidden_repeat_victims = int((is_repeat & ~seen_by_some_agency).sum())

    victim_pairs = _distinct_sorted(agency_group)
    victim_pair_entity = victim_pairs // groups_per_person
    victim_pair_agency = victim_pairs % groups_per_person
    victims = int(_distinct_sorted(victim_entity).size)
    victims_by_agency = pd.Series(
        np.bincount(victim_pair_agency, minlength=agency_count).astype(np.int64),
        index=agency_index,
        name="victims",
    )
    repeat_victims_by_agency = pd.Series(
        np.bincount(
            victim_pair_agency[is_repeat[victim_pair_entity]], minlength=agency_count
        ).astype(np.int64),
        index=agency_index,
        name="repeat_victims",
    )
    repeat_victims_seen_by_agency = pd.Series(
        np.bincount(repeat_agency_groups % groups_per_person, minlength=agency_count).astype(
            np.int64
        ),
        index=agency_index,
        name="repeat_victims_seen_by_agency",
    )

    # Agency overlap: persons (any role) known to both agencies.
    # A dense person × agency indicator and one matrix product. Every partial sum is an
    # integer below the number of persons, so float32 is exact below 2**24 persons.
    exact_dtype = np.float32 if persons < 2**24 else np.float64
    known = np.zeros((persons, agency_count), dtype=exact_dtype)
    known[entity, agency] = 1
    overlap = np.rint(known.T @ known).astype(np.int64)
    agency_overlap = pd.DataFrame(
        overlap, index=agency_index, columns=pd.Index(agency_names, name="agency")
    )

    # Moves: consecutive events of a person, both local authorities known and different.
    local_authority = prepared.local_authority
    same_person = entity[1:] == entity[:-1]
    origin = local_authority[:-1]
    destination = local_authority[1:]
    is_move = same_person & (origin >= 0) & (destination >= 0) & (origin != destination)
    moves = int(is_move.sum())
    movers = int(_distinct_sorted(entity[1:][is_move]).size)
    authority_count = len(prepared.local_authority_names)
    pair_counts = np.bincount(
        origin[is_move] * authority_count + destination[is_move],
        minlength=authority_count * authority_count,
    )
    used_pairs = np.flatnonzero(pair_counts)
    moves_origin_destination = pd.DataFrame(
        {
            "origin": prepared.local_authority_names[used_pairs // max(authority_count, 1)],
            "destination": prepared.local_authority_names[used_pairs % max(authority_count, 1)],
            "count": pair_counts[used_pairs].astype(np.int64),
        }
    )
    moves_origin_destination = moves_origin_destination.sort_values(
        ["count", "origin", "destination"], ascending=[False, True, True], ignore_index=True
    )

    # Refuge referrals moved in from elsewhere: a refuge referral that ends a move.
    refuge_code = np.flatnonzero(
        prepared.event_type_names == parameters.refuge_event_type.strip().lower()
    )
    if refuge_code.size:
        is_refuge = prepared.event_type == refuge_code[0]
    else:
        is_refuge = np.zeros(len(entity), dtype=bool)
    refuge_referrals = int(is_refuge.sum())
    refuge_referrals_moved_in = int((is_refuge[1:] & is_move).sum())

    # Duplicate referrals: same person and type, at most duplicate_days after the previous.
    referral_rows = np.flatnonzero(_referral_mask(prepared, parameters))
    type_count = max(len(prepared.event_type_names), 1)
    referral_group = entity[referral_rows] * type_count + prepared.event_type[referral_rows]
    by_group = np.argsort(referral_group, kind="stable")
    referral_rows = referral_rows[by_group]
    referral_group = referral_group[by_group]
    referral_days = days[referral_rows]
    is_duplicate = np.zeros(len(referral_rows), dtype=bool)
    is_duplicate[1:] = (referral_group[1:] == referral_group[:-1]) & (
        referral_days[1:] - referral_days[:-1] <= parameters.duplicate_days
    )
    duplicate_referrals = int(is_duplicate.sum())
    if len(referral_rows):
        month = referral_days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
        first_month = int(month.min())
        month_offset = month - first_month
        month_count = int(month_offset.max()) + 1
        duplicate_referrals_by_month = pd.DataFrame(
            {
                "month": _month_labels(first_month, first_month + month_count - 1),
                "referrals": np.bincount(month_offset, minlength=month_count).astype(np.int64),
                "duplicate_referrals": np.bincount(
                    month_offset[is_duplicate], minlength=month_count
                ).astype(np.int64),
            }
        )
    else:
        duplicate_referrals_by_month = pd.DataFrame(
            {
                "month": pd.Series([], dtype=object),
                "referrals": pd.Series([], dtype=np.int64),
                "duplicate_referrals": pd.Series([], dtype=np.int64),
            }
        )

    repeat_victims = int(repeat_ids.size)
    return Measures(
        parameters=parameters,
        events=len(entity),
        events_without_date=prepared.events_without_date,
        persons=prepared.persons,
        victims=victims,
        repeat_victims=repeat_victims,
        hidden_repeat_victims=hidden_repeat_victims,
        movers=movers,
        moves=moves,
        referrals=len(referral_rows),
        duplicate_referrals=duplicate_referrals,
        refuge_referrals=refuge_referrals,
        refuge_referrals_moved_in=refuge_referrals_moved_in,
        repeat_rate=repeat_victims / victims if victims else 0.0,
        victims_by_agency=victims_by_agency,
        repeat_victims_by_agency=repeat_victims_by_agency,
        repeat_victims_seen_by_agency=repeat_victims_seen_by_agency,
        agency_overlap=agency_overlap,
        moves_origin_destination=moves_origin_destination,
        duplicate_referrals_by_month=duplicate_referrals_by_month,
    )
