"""``dalink report``: a linkage directory in, a disclosure-controlled report out.

Outputs, written atomically (a failed run leaves nothing behind):

* ``report.html`` – the page the partnership board reads (:mod:`dalink.report.render`);
* ``measures.json`` – the machine-readable form other tools embed: under ``"measures"`` one
  ``{"estimate", "lower", "upper"}`` per headline count, then the parameters, the disclosure
  rules, the linkage-quality statement and every table with its metadata;
* ``tables/*.csv`` – each published table, withheld values as ``[c]``.

The unrounded counts and intervals stay in memory (:class:`ReportResult`) for benchmarks and
the synthetic-truth comparison; they are never written.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dalink._version import __version__
from dalink.encode.package import atomic_directory
from dalink.report import tables as table_builders
from dalink.report.disclosure import DisclosureRules, PublishedTable, check_table
from dalink.report.linkage import Linkage, read_linkage
from dalink.report.measures import MeasureParameters, Measures, compute_measures
from dalink.report.render import ReportContent, render_report
from dalink.report.tables import PublishedHeadline
from dalink.report.uncertainty import IntervalResult, UncertaintyConfig, linkage_intervals
from dalink.errors import OutputExistsError, ReportError

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
REPORT_FILE = "report.html"
MEASURES_FILE = "measures.json"
TABLES_DIRECTORY = "tables"
MEASURES_FORMAT = "dalink-measures"
MEASURES_FORMAT_VERSION = 1


@dataclasses.dataclass(frozen=True)
class ReportResult:
    """What :func:`build_report` produced. ``measures`` and ``intervals`` are unrounded."""

    output_dir: Path
    measures: Measures
    intervals: IntervalResult
    headlines: dict[str, PublishedHeadline]
    tables: dict[str, PublishedTable]
    measures_json: dict[str, Any]


def _period(measures: Measures, parameters: MeasureParameters, entities: pd.DataFrame) -> str:
    """The months the report covers (month precision: exact first and last dates say too much)."""
    dates = pd.to_datetime(entities["event_date"].astype("string"), format="ISO8601", errors="coerce")
    if parameters.period_start is not None:
        dates = dates[dates >= pd.Timestamp(parameters.period_start)]
    if parameters.period_end is not None:
        dates = dates[dates <= pd.Timestamp(parameters.period_end)]
    dates = dates.dropna()
    if dates.empty:
        return "no dated events"
    return f"{dates.min():%B %Y} to {dates.max():%B %Y}"


def _linkage_quality(linkage: Linkage, rules: DisclosureRules) -> dict[str, Any]:
    def rounded(value: Any) -> float | None:
        return None if value is None else round(float(value), 4)

    return {
        "estimated_precision": rounded(linkage.estimated_precision),
        "estimated_recall": rounded(linkage.estimated_recall),
        "blocking_recall": rounded(linkage.blocking_recall),
        "match_threshold": rounded(linkage.match_threshold),
        "records": rules.round_count(len(linkage.entities)),
        "note": "model estimates made without true answers; match rates by sex and age band are not "
        "available because those fields reach the linker only inside the encodings",
    }


def assemble_tables(
    measures: Measures, linkage: Linkage, rules: DisclosureRules
) -> dict[str, PublishedTable]:
    """Every table of the report except the headline table, after disclosure control."""
    published = {
        "victims_by_agency": table_builders.victims_by_agency_table(measures, rules),
        "agency_overlap": table_builders.agency_overlap_table(measures, rules),
        "moves_origin_destination": table_builders.moves_table(
            measures, table_builders.local_authorities(linkage.entities), rules
        ),
        "duplicate_referrals_over_time": table_builders.duplicate_referrals_table(measures, rules),
    }
    published.update(table_builders.linkage_quality_tables(linkage.entities, rules))
    return published


def build_report(
    linkage_dir: str | os.PathLike[str] | Linkage,
    output_dir: str | os.PathLike[str],
    parameters: MeasureParameters | None = None,
    disclosure_rules: DisclosureRules | None = None,
    progress: Progress | None = None,
    *,
    uncertainty: UncertaintyConfig | None = None,
    overwrite: bool = False,
) -> ReportResult:
    """Compute, control and write the partnership report for one linkage."""
    parameters = parameters or MeasureParameters()
    rules = disclosure_rules or DisclosureRules()
    uncertainty = uncertainty or UncertaintyConfig()
    output = Path(output_dir)
    if output.exists() and not overwrite:  # fail before minutes of resampling, not after
        raise OutputExistsError(f"{output}: the output exists; choose another path or remove it first")
    linkage = linkage_dir if isinstance(linkage_dir, Linkage) else read_linkage(linkage_dir)

    measures = compute_measures(linkage.entities, parameters)
    intervals = linkage_intervals(linkage, parameters, uncertainty, observed=measures, progress=progress)
    tables = assemble_tables(measures, linkage, rules)
    headlines = table_builders.published_headlines(intervals.intervals, rules)
    headline = table_builders.headline_table(headlines)
    all_tables = {"headline": headline, **tables}
    problems = [problem for table in all_tables.values() for problem in check_table(table, rules)]
    if problems:  # never publish a table that breaks the rules
        raise ReportError(f"disclosure control failed: {problems[0]}")

    repeat_rate = table_builders.repeat_rate_percent(headlines, measures)
    quality = _linkage_quality(linkage, rules)
    measures_json = {
        "format": MEASURES_FORMAT,
        "format_version": MEASURES_FORMAT_VERSION,
        "dalink_version": __version__,
        "measures": {key: headline.to_json() for key, headline in headlines.items()},
        "repeat_rate_percent": repeat_rate,
        "parameters": parameters.model_dump(mode="json"),
        "disclosure_control": rules.model_dump(mode="json"),
        "uncertainty": uncertainty.model_dump(mode="json"),
        "linkage_quality": quality,
        "tables": {name: table.to_json() for name, table in all_tables.items()},
    }
    content = ReportContent(
        headlines=headlines,
        repeat_rate_percent=repeat_rate,
        tables=tables,
        linkage_quality=quality,
        parameters=parameters,
        rules=rules,
        uncertainty=uncertainty,
        period=_period(measures, parameters, linkage.entities),
    )
    page = render_report(content)
    with atomic_directory(output, overwrite=overwrite) as directory:
        (directory / REPORT_FILE).write_text(page, encoding="utf-8")
        (directory / MEASURES_FILE).write_text(
            json.dumps(measures_json, indent=2, ensure_ascii=False, default=_json_default) + "\n",
            encoding="utf-8",
        )
        (directory / TABLES_DIRECTORY).mkdir()
        for name, table in all_tables.items():
            (directory / TABLES_DIRECTORY / f"{name}.csv").write_text(table.to_csv(), encoding="utf-8")
    logger.info("report written to %s", output)
    return ReportResult(
        output_dir=output,
        measures=measures,
        intervals=intervals,
        headlines=headlines,
        tables=all_tables,
        measures_json=measures_json,
    )


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
