"""The panel summary of a chronology: what each subject's contacts add up to.

For each subject record: which agencies had contact in the twelve months before the date
under review (by default the ``event_date`` of the subject's record in the subject
package, e.g. the date of death), how many victim episodes there were and whether they make
a repeat victim that no single agency could see, how often the person moved between local
authorities, and how many referrals were duplicates.

Every measure goes through :func:`dalink.report.measures.compute_measures` (and its
:func:`~dalink.report.measures.episode_starts`), with the subject as the person: one
definition for the partnership report, the synthetic truth and the review panel.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Sequence

import numpy as np
import pandas as pd

from dalink.chronology.chronology import Chronology
from dalink.errors import InvalidValue
from dalink.report.measures import VICTIM_ROLE, MeasureParameters, compute_measures, episode_starts

DEFAULT_WINDOW_DAYS = 365


@dataclasses.dataclass(frozen=True)
class SubjectPanelSummary:
    """What the chronology of one subject record adds up to."""

    subject: str
    subject_role: str | None
    reference_date: datetime.date | None
    """The date under review; contacts are counted from ``window_start`` to this date inclusive."""
    window_start: datetime.date | None
    events: int
    agencies: tuple[str, ...]
    """Every agency with an event of the subject, whatever the date."""
    agencies_in_window: tuple[str, ...]
    contacts_in_window: dict[str, int]
    """Events per agency from ``window_start`` to ``reference_date``."""
    victim_episodes: int
    repeat_victim: bool
    hidden_repeat_victim: bool
    """A repeat victim whom no agency could see as a repeat from its own records alone."""
    moves: int
    local_authorities: tuple[str, ...]
    """Local authorities of the subject's events in date order, consecutive repeats collapsed."""
    duplicate_referrals: int

    @property
    def moved_area(self) -> bool:
        return self.moves > 0


@dataclasses.dataclass(frozen=True)
class PanelSummary:
    """The panel summary of one review (one chronology)."""

    subjects: tuple[SubjectPanelSummary, ...]
    parameters: MeasureParameters
    window_days: int

    def to_frame(self) -> pd.DataFrame:
        """One row per subject record (lists joined with ``; `` and `` → ``)."""
        rows = []
        for item in self.subjects:
            rows.append(
                {
                    "subject": item.subject,
                    "subject_role": item.subject_role,
                    "reference_date": item.reference_date.isoformat() if item.reference_date else None,
                    "events": item.events,
                    "agencies": len(item.agencies),
                    f"agencies_in_{self.window_days}_days_before": "; ".join(
                        f"{agency} ({count})" for agency, count in item.contacts_in_window.items()
                    ),
                    "victim_episodes": item.victim_episodes,
                    "repeat_victim": item.repeat_victim,
                    "hidden_repeat_victim": item.hidden_repeat_victim,
                    "moves": item.moves,
                    "local_authorities": " → ".join(item.local_authorities),
                    "duplicate_referrals": item.duplicate_referrals,
                }
            )
        return pd.DataFrame(rows)

    def render_text(self) -> str:
        """A short plain-text summary for the panel, one paragraph per subject."""
        lines = []
        for item in self.subjects:
            role = f" ({item.subject_role})" if item.subject_role else ""
            lines.append(f"{item.subject}{role}: {item.events} event(s) at {len(item.agencies)} agency(ies)")
            if item.reference_date is not None:
                contacts = ", ".join(f"{agency} {count}" for agency, count in item.contacts_in_window.items()) or "none"
                lines.append(
                    f"  agencies in contact {item.window_start.isoformat() if item.window_start else '?'} to "
                    f"{item.reference_date.isoformat()}: {contacts}"
                )
            repeat = "hidden repeat victim" if item.hidden_repeat_victim else "repeat victim" if item.repeat_victim else "no repeat"
            lines.append(f"  victim episodes: {item.victim_episodes} ({repeat})")
            lines.append(
                f"  moves between local authorities: {item.moves}"
                + (f" ({' → '.join(item.local_authorities)})" if item.moves else "")
            )
            lines.append(f"  duplicate referrals: {item.duplicate_referrals}")
        return "\n".join(lines) + "\n"


def _as_date(value: object) -> datetime.date | None:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    parsed = pd.to_datetime(str(value), format="ISO8601", errors="coerce")
    if pd.isna(parsed):
        raise InvalidValue("a reference date is not an ISO date (YYYY-MM-DD)")
    return parsed.date()


def _collapsed(values: Sequence[object]) -> tuple[str, ...]:
    result: list[str] = []
    for value in values:
        if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
            continue
        text = str(value).strip().upper()
        if text and (not result or result[-1] != text):
            result.append(text)
    return tuple(result)


def summarise_subject(
    events: pd.DataFrame,
    *,
    subject: str,
    subject_role: str | None,
    reference_date: datetime.date | None,
    window_days: int = DEFAULT_WINDOW_DAYS,
    parameters: MeasureParameters | None = None,
) -> SubjectPanelSummary:
    """The panel summary of one subject's events (chronology columns)."""
    parameters = parameters or MeasureParameters()
    dates = pd.to_datetime(events["event_date"], format="ISO8601", errors="coerce")
    keep = pd.Series(True, index=events.index)
    if parameters.period_start is not None:
        keep &= dates >= pd.Timestamp(parameters.period_start)
    if parameters.period_end is not None:
        keep &= dates <= pd.Timestamp(parameters.period_end)
    events, dates = events.loc[keep], dates.loc[keep]
    dated = events.assign(_date=dates).dropna(subset=["_date"]).sort_values(["_date", "agency", "record_id"], kind="stable")

    window_start = reference_date - datetime.timedelta(days=window_days) if reference_date else None
    contacts: dict[str, int] = {}
    if reference_date is not None and window_start is not None:
        inside = dated.loc[(dated["_date"] >= pd.Timestamp(window_start)) & (dated["_date"] <= pd.Timestamp(reference_date))]
        contacts = {str(agency): int(count) for agency, count in inside["agency"].value_counts().sort_index().items()}

    victim_days = (
        dated.loc[dated["role"].astype(str).str.strip().str.lower() == VICTIM_ROLE, "_date"]
        .to_numpy(dtype="datetime64[D]")
        .astype(np.int64)
    )
    episodes = int(episode_starts(np.zeros(len(victim_days), dtype=np.int64), victim_days, parameters.episode_days).sum())

    if len(dated):
        measures = compute_measures(dated.drop(columns=["_date"]).assign(entity_id=subject), parameters)
        repeat, hidden = measures.repeat_victims > 0, measures.hidden_repeat_victims > 0
        moves, duplicates = measures.moves, measures.duplicate_referrals
    else:
        repeat, hidden, moves, duplicates = False, False, 0, 0
    return SubjectPanelSummary(
        subject=subject,
        subject_role=subject_role,
        reference_date=reference_date,
        window_start=window_start,
        events=len(events),
        agencies=tuple(sorted({str(agency) for agency in events["agency"]})),
        agencies_in_window=tuple(contacts),
        contacts_in_window=contacts,
        victim_episodes=episodes,
        repeat_victim=bool(repeat),
        hidden_repeat_victim=bool(hidden),
        moves=int(moves),
        local_authorities=_collapsed(dated["local_authority"].tolist()),
        duplicate_referrals=int(duplicates),
    )


def panel_summary(
    chronology: Chronology,
    *,
    reference_date: datetime.date | str | None = None,
    window_days: int = DEFAULT_WINDOW_DAYS,
    parameters: MeasureParameters | None = None,
) -> PanelSummary:
    """The panel summary of every subject of a chronology.

    ``reference_date`` is the date under review for all subjects; by default each subject's
    own ``event_date`` in the subject package. Contacts are counted from ``window_days``
    before it up to and including it.
    """
    if window_days < 0:
        raise InvalidValue("the window must be zero days or more")
    parameters = parameters or MeasureParameters()
    common_date = _as_date(reference_date)
    summaries = []
    for row in chronology.subjects.itertuples(index=False):
        subject = str(row.subject)
        summaries.append(
            summarise_subject(
                chronology.for_subject(subject),
                subject=subject,
                subject_role=row.subject_role if isinstance(row.subject_role, str) else None,
                reference_date=common_date if common_date is not None else _as_date(row.reference_date),
                window_days=window_days,
                parameters=parameters,
            )
        )
    return PanelSummary(subjects=tuple(summaries), parameters=parameters, window_days=window_days)
