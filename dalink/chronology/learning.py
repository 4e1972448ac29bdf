"""Learning across reviews: how many review subjects had which pattern of contact.

Partnerships are asked to learn from their reviews as a whole ("in how many reviews was the
victim known to three or more agencies?"). The answers are counts over a few dozen people at
most, each of whom a reader may be able to name from press reports, so they leave the
restricted setting only as counts, through the partnership report's disclosure control
(:mod:`dalink.report.disclosure`): counts below the threshold are withheld, the others
rounded, and further cells withheld wherever a total would give a withheld count back. With
few reviews most cells are withheld; that is the rule working, not a fault.

A subject is counted once per review it appears in (one row of a panel summary).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import pandas as pd

from dalink.chronology.chronology import Chronology
from dalink.chronology.summary import DEFAULT_WINDOW_DAYS, PanelSummary, SubjectPanelSummary, panel_summary
from dalink.errors import InvalidValue
from dalink.report.disclosure import DisclosureRules, PublishedTable, TableKind, protect_table

ROLE_COLUMNS = ("victim", "perpetrator")
OTHER_ROLE = "other"
MANY_AGENCIES = 3


@dataclasses.dataclass(frozen=True)
class LearningSummary:
    """Disclosure-controlled counts over the subjects of several reviews.

    ``subjects`` has one row per pattern (known to 3+ agencies, hidden repeat victim,
    moved area, ...) and one column per subject role plus ``Total``; ``agencies`` has one row
    per agency (subjects known to it, and in contact in the window before the date under
    review). Withheld cells are NaN (``[c]`` in CSV). No raw count is kept.
    """

    reviews: int
    subjects: PublishedTable
    agencies: PublishedTable
    rules: DisclosureRules

    def tables(self) -> tuple[PublishedTable, ...]:
        return (self.subjects, self.agencies)

    def render_text(self) -> str:
        lines = [
            f"Learning across {self.reviews} review(s): counts of review subjects, "
            f"below {self.rules.threshold} withheld ([c]), others rounded to {self.rules.rounding_base}."
        ]
        for table in self.tables():
            lines.append("")
            lines.append(table.title)
            lines.append(table.to_csv().rstrip("\n"))
        return "\n".join(lines) + "\n"


def _role_column(role: str | None) -> str:
    text = (role or "").strip().lower()
    return text if text in ROLE_COLUMNS else OTHER_ROLE


def _patterns(window_days: int) -> dict[str, Callable[[SubjectPanelSummary], bool]]:
    """Row label → whether a subject shows the pattern (the rows of the subjects table)."""
    return {
        "review subjects": lambda item: True,
        f"known to {MANY_AGENCIES} or more agencies": lambda item: len(item.agencies) >= MANY_AGENCIES,
        f"in contact with {MANY_AGENCIES} or more agencies in the {window_days} days before": (
            lambda item: len(item.agencies_in_window) >= MANY_AGENCIES
        ),
        "repeat victim": lambda item: item.repeat_victim,
        "hidden repeat victim (seen as a repeat by no single agency)": lambda item: item.hidden_repeat_victim,
        "moved between local authorities": lambda item: item.moved_area,
        "with a duplicate referral": lambda item: item.duplicate_referrals > 0,
        "known to no agency": lambda item: not item.agencies,
    }


def aggregate_learning(
    reviews: Sequence[PanelSummary | Chronology],
    rules: DisclosureRules | None = None,
) -> LearningSummary:
    """Counts of review subjects by pattern and by agency, after disclosure control.

    ``reviews`` holds one panel summary (or chronology, summarised with the defaults) per
    review. Rows of the subjects table overlap (a subject can be a repeat victim *and* have
    moved), so it has a total column (over roles) but no total row.
    """
    rules = rules or DisclosureRules()
    summaries = [review if isinstance(review, PanelSummary) else panel_summary(review) for review in reviews]
    windows = {summary.window_days for summary in summaries}
    if len(windows) > 1:
        raise InvalidValue("the reviews were summarised with different windows; summarise them with the same window_days")
    window_days = windows.pop() if windows else DEFAULT_WINDOW_DAYS
    subjects = [item for summary in summaries for item in summary.subjects]

    roles = list(ROLE_COLUMNS) + ([OTHER_ROLE] if any(_role_column(s.subject_role) == OTHER_ROLE for s in subjects) else [])
    patterns = _patterns(window_days)
    counts = pd.DataFrame(0, index=pd.Index(list(patterns), name="pattern"), columns=roles, dtype="int64")
    agency_names = sorted({agency for item in subjects for agency in (*item.agencies, *item.agencies_in_window)})
    known_column, window_column = "subjects known to the agency", f"in contact in the {window_days} days before"
    agency_counts = pd.DataFrame(
        0, index=pd.Index(agency_names, name="agency"), columns=[known_column, window_column], dtype="int64"
    )
    for item in subjects:
        role = _role_column(item.subject_role)
        for name, shows in patterns.items():
            counts.loc[name, role] += int(shows(item))
        for agency in item.agencies:
            agency_counts.loc[agency, known_column] += 1
        for agency in item.agencies_in_window:
            agency_counts.loc[agency, window_column] += 1

    subjects_table = protect_table(
        "dardr_learning_subjects",
        counts,
        rules,
        kind=TableKind.SERIES,
        title=f"Review subjects by pattern of agency contact ({len(summaries)} review(s))",
        total_column=True,
        index_name="pattern",
        description="Counts of review subjects (one per review they appear in); rows overlap.",
    )
    agencies_table = protect_table(
        "dardr_learning_agencies",
        agency_counts,
        rules,
        kind=TableKind.SERIES,
        title=f"Review subjects known to each agency ({len(summaries)} review(s))",
        index_name="agency",
        description="Counts of review subjects with any event at the agency, and in the window before the date under review.",
    )
    return LearningSummary(reviews=len(summaries), subjects=subjects_table, agencies=agencies_table, rules=rules)
