"""The report's tables, built from the measures and passed through disclosure control.

Each builder takes raw counts and returns a :class:`PublishedTable`; nothing unrounded leaves
this module except through :func:`dalink.report.disclosure.protect_table`. Tables count the
linker's own entities; the headline estimates allow for linkage error (the median of the
re-drawn linkages), so a table's grand total can differ slightly from its headline.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from dalink.report.disclosure import (
    TOTAL_LABEL,
    ColumnRole,
    DisclosureRules,
    PublishedTable,
    TableKind,
    protect_table,
    with_rates,
)
from dalink.report.measures import HEADLINE_KEYS, Measures
from dalink.report.uncertainty import Interval

MOVEMENT_MEASURES = ("movers", "moves", "refuge_referrals_moved_in")
"""Headline counts about where people went: a zero is disclosive for these too."""

HEADLINE_TITLES = {
    "victims": "Victims",
    "repeat_victims": "Repeat victims",
    "hidden_repeat_victims": "Hidden repeat victims",
    "movers": "People who moved between local authorities",
    "moves": "Moves between local authorities",
    "duplicate_referrals": "Duplicate referrals",
    "refuge_referrals_moved_in": "Refuge referrals moved in from elsewhere",
}
QUALITY_DIMENSIONS = ("agency", "role", "risk_level")


@dataclasses.dataclass(frozen=True)
class PublishedHeadline:
    """A headline count after disclosure control (None where withheld)."""

    key: str
    title: str
    estimate: int | None
    lower: int | None
    upper: int | None

    def to_json(self) -> dict[str, int | None]:
        return {"estimate": self.estimate, "lower": self.lower, "upper": self.upper}


def local_authorities(entities: pd.DataFrame) -> list[str]:
    """Every local authority in the data, normalised as the measures normalise them."""
    values = entities["local_authority"].dropna().astype(str).str.strip().str.upper()
    values = values[~values.isin(["", "NAN", "NONE", "<NA>"])]
    return sorted(values.unique().tolist())


def victims_by_agency_table(measures: Measures, rules: DisclosureRules) -> PublishedTable:
    counts = pd.DataFrame(
        {
            "victims": measures.victims_by_agency,
            "repeat_victims": measures.repeat_victims_by_agency,
            "repeat_victims_seen_by_agency_alone": measures.repeat_victims_seen_by_agency,
        }
    ).fillna(0).astype(np.int64)
    return protect_table(
        "victims_by_agency",
        counts,
        rules,
        kind=TableKind.SERIES,
        index_name="agency",
        title="Victims and repeat victims by agency",
        description="Distinct victims with a victim event at each agency; of them, repeat victims "
        "(partnership-wide rule); and the repeat victims the agency could see from its own records alone.",
    )


def agency_overlap_table(measures: Measures, rules: DisclosureRules) -> PublishedTable:
    return protect_table(
        "agency_overlap",
        measures.agency_overlap.astype(np.int64),
        rules,
        kind=TableKind.SYMMETRIC_MATRIX,
        index_name="agency",
        title="People known to two agencies",
        description="Distinct people (any role) with records at both agencies; the diagonal is the "
        "number known to each agency.",
    )


def moves_table(measures: Measures, authorities: list[str], rules: DisclosureRules) -> PublishedTable:
    moves = measures.moves_origin_destination
    names = sorted(set(authorities) | set(moves["origin"]) | set(moves["destination"]))
    matrix = pd.DataFrame(0, index=pd.Index(names, name="origin"), columns=names, dtype=np.int64)
    for origin, destination, count in moves.itertuples(index=False):
        matrix.at[origin, destination] = int(count)
    return protect_table(
        "moves_origin_destination",
        matrix,
        rules,
        kind=TableKind.MATRIX,
        total_row=True,
        total_column=True,
        zeros_disclosive=True,
        structural_zero_diagonal=True,
        keep_published=[(TOTAL_LABEL, TOTAL_LABEL)],
        index_name="origin",
        title="Moves between local authorities (rows: from, columns: to)",
        description="Consecutive events of one person in two different local authorities. Zeros are "
        "withheld like small counts: a zero would tell where nobody went.",
    )


def _over_time(by_month: pd.DataFrame, rules: DisclosureRules) -> pd.DataFrame:
    """Months, quarters or years: the finest period in which most duplicate counts can be shown.

    A monthly series of a small partnership would be almost all ``[c]``; a board learns more
    from quarters it can read than from months it cannot.
    """
    months = pd.PeriodIndex(by_month.index, freq="M")
    for name, frequency in (("month", "M"), ("quarter", "Q"), ("year", "Y")):
        grouped = by_month.groupby(months.asfreq(frequency).astype(str)).sum()
        grouped.index.name = name
        if name == "year" or (grouped["duplicate_referrals"] >= rules.threshold).mean() >= 0.5:
            return grouped
    raise AssertionError("unreachable")  # pragma: no cover


def duplicate_referrals_table(measures: Measures, rules: DisclosureRules) -> PublishedTable:
    by_month = measures.duplicate_referrals_by_month.set_index("month")[["referrals", "duplicate_referrals"]]
    series = _over_time(by_month.astype(np.int64), rules) if len(by_month) else by_month.astype(np.int64)
    period = series.index.name or "month"
    return protect_table(
        "duplicate_referrals_over_time",
        series,
        rules,
        kind=TableKind.SERIES,
        total_row=True,
        keep_published=[(TOTAL_LABEL, "duplicate_referrals")],
        index_name=period,
        title=f"Referrals and duplicate referrals by {period}",
        description="Referrals of the checked type, and those made within the duplicate window of a "
        "previous referral of the same person. Months are grouped into quarters or years when most "
        "monthly counts would be too small to show.",
    )


def linkage_quality_tables(entities: pd.DataFrame, rules: DisclosureRules) -> dict[str, PublishedTable]:
    """Match rates by agency, role and risk level: where linkage finds fewer links, counts
    built on it are less complete, so differences between groups show possible bias."""
    entity_size = entities.groupby("entity_id")["record_id"].transform("size")
    agencies_of_entity = entities.groupby("entity_id")["agency"].transform("nunique")
    frame = entities.assign(
        linked=(entity_size > 1).astype(np.int64),
        across=(agencies_of_entity > 1).astype(np.int64),
    )
    tables = {}
    for dimension in QUALITY_DIMENSIONS:
        if dimension not in frame.columns:
            continue
        labels = frame[dimension].astype("string").str.strip().fillna("").replace("", "(not recorded)")
        if dimension != "agency" and labels.eq("(not recorded)").all():
            continue
        grouped = frame.assign(group=labels).groupby("group")
        counts = pd.DataFrame(
            {
                "records": grouped.size(),
                "linked_records": grouped["linked"].sum(),
                "linked_across_agencies": grouped["across"].sum(),
            }
        ).astype(np.int64)
        counts.index.name = dimension
        name = f"linkage_quality_by_{dimension}"
        table = protect_table(
            name,
            counts,
            rules,
            kind=TableKind.SERIES,
            index_name=dimension,
            title=f"Match rates by {dimension.replace('_', ' ')}",
            description="Records; records linked to at least one other record; records linked to a "
            "record of another agency; and the same as percentages.",
        )
        tables[name] = with_rates(
            table,
            {
                "linked_percent": (counts["linked_records"], counts["records"]),
                "linked_across_agencies_percent": (counts["linked_across_agencies"], counts["records"]),
            },
            rules,
        )
    return tables


def published_headlines(intervals: dict[str, Interval], rules: DisclosureRules) -> dict[str, PublishedHeadline]:
    """Round the headline estimates and their intervals; withhold small ones.

    Bounds are rounded outwards (lower down, upper up), so rounding never narrows an interval.
    A withheld estimate takes its bounds with it: an interval of 0 to 10 would give it away.
    """
    headlines = {}
    for key in HEADLINE_KEYS:
        interval = intervals[key]
        movement = key in MOVEMENT_MEASURES
        if rules.is_primary_suppressed(interval.estimate, zeros_disclosive=movement) or (
            rules.is_primary_suppressed(interval.linked, zeros_disclosive=movement)
        ):
            headlines[key] = PublishedHeadline(key, HEADLINE_TITLES[key], None, None, None)
            continue
        headlines[key] = PublishedHeadline(
            key,
            HEADLINE_TITLES[key],
            rules.round_count(interval.estimate),
            max(rules.round_down(interval.lower), 0),
            rules.round_up(interval.upper),
        )
    return headlines


def headline_table(headlines: dict[str, PublishedHeadline]) -> PublishedTable:
    """The headline counts as a table (already controlled by :func:`published_headlines`)."""
    frame = pd.DataFrame(
        {
            "estimate": [np.nan if h.estimate is None else h.estimate for h in headlines.values()],
            "lower": [np.nan if h.lower is None else h.lower for h in headlines.values()],
            "upper": [np.nan if h.upper is None else h.upper for h in headlines.values()],
        },
        index=pd.Index(list(headlines), name="measure"),
        dtype=float,
    )
    return PublishedTable(
        name="headline",
        title="Headline counts with 95% intervals",
        kind=TableKind.SERIES,
        frame=frame,
        columns={"estimate": ColumnRole.COUNT, "lower": ColumnRole.BOUND, "upper": ColumnRole.BOUND},
        index_name="measure",
        description="Estimates allowing for linkage error (the median of re-drawn linkages), rounded; "
        "the 95% interval is rounded outwards.",
    )


def repeat_rate_percent(headlines: dict[str, PublishedHeadline], measures: Measures) -> float | None:
    """The repeat rate, shown only when both counts behind it are shown."""
    if headlines["repeat_victims"].estimate is None or headlines["victims"].estimate is None:
        return None
    return float(round(100.0 * measures.repeat_rate))
