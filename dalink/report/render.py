"""``report.html``: one self-contained page a partnership board member can read without help.

Self-contained means no request leaves the page when it is opened: the styles are inline,
the charts are inline SVG (:mod:`dalink.report.charts`), there are no scripts, fonts or
images to fetch. Boards read these reports on locked-down laptops and print them, and a
report that phones home would tell a third party who is reading about whom.

Only published values (after disclosure control) are passed in; the page cannot show
anything that ``measures.json`` does not.
"""

from __future__ import annotations

import dataclasses
import functools
import html
import json
from collections.abc import Sequence
from importlib import resources
from typing import Any

import pandas as pd

from dalink._version import __version__
from dalink.report import charts
from dalink.report.disclosure import TOTAL_LABEL, DisclosureRules, PublishedTable, format_value
from dalink.report.measures import MeasureParameters
from dalink.report.tables import PublishedHeadline
from dalink.report.uncertainty import UncertaintyConfig

STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;color:#1b1b1b;margin:0;background:#f6f6f4;line-height:1.45}
main{max-width:980px;margin:0 auto;padding:24px 28px 60px;background:#fff}
h1{font-size:1.7rem;margin:.2rem 0 .3rem}h2{font-size:1.25rem;margin:2.2rem 0 .5rem;border-bottom:2px solid #0072B2;padding-bottom:.2rem}
h3{font-size:1rem;margin:1.2rem 0 .4rem}p,li{max-width:46rem}.lede{color:#444}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(210px,1fr));gap:12px;margin:1rem 0}
.card{border:1px solid #ddd;border-left:5px solid #0072B2;border-radius:4px;padding:10px 12px;background:#fbfbfb}
.card .number{font-size:1.9rem;font-weight:650}.card .interval{color:#555;font-size:.85rem}
.card .what{font-size:.85rem;margin-top:.3rem}.card.withheld{border-left-color:#9a9a9a}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0 1rem}th,td{border:1px solid #ddd;padding:3px 7px;text-align:right}
th:first-child,td:first-child{text-align:left}thead th{background:#f0f3f7}tr.total td{font-weight:650;background:#fafafa}
.scroll{overflow-x:auto}.note{font-size:.85rem;color:#555}.quality{background:#f0f6fb;border-radius:4px;padding:10px 14px}
dl.definitions dt{font-weight:650;margin-top:.5rem}dl.definitions dd{margin-left:1rem}
footer{font-size:.8rem;color:#666;margin-top:3rem}
@media print{body{background:#fff}main{padding:0}h2{break-after:avoid}svg,table{break-inside:avoid}}
"""

HEADLINE_EXPLANATIONS = {
    "victims": "Different people recorded as a victim by at least one agency.",
    "repeat_victims": "Victims with a new episode of abuse within {repeat_days} days of the previous one.",
    "hidden_repeat_victims": "Repeat victims that no single agency could see as repeats from its own records.",
    "movers": "People with events in two different local authorities one after the other.",
    "moves": "Times a person's next contact was in a different local authority.",
    "duplicate_referrals": "Referrals ({referral}) made within {duplicate_days} days of an earlier one for the same person.",
    "refuge_referrals_moved_in": "Refuge referrals of people whose previous contact was in another local authority.",
}


@dataclasses.dataclass(frozen=True)
class ReportContent:
    """Everything the page shows: published values and the settings that produced them."""

    headlines: dict[str, PublishedHeadline]
    repeat_rate_percent: float | None
    tables: dict[str, PublishedTable]
    linkage_quality: dict[str, Any]
    parameters: MeasureParameters
    rules: DisclosureRules
    uncertainty: UncertaintyConfig
    period: str


def _escape(value: object) -> str:
    return html.escape(str(value), quote=True)


def _number(value: int | None) -> str:
    return "[c]" if value is None else f"{value:,}"


def _values(table: PublishedTable, column: str, rows: Sequence[str]) -> list[float | None]:
    series = table.frame[column]
    return [None if pd.isna(series.get(row)) else float(series.get(row)) for row in rows]


def html_table(table: PublishedTable) -> str:
    """A published table as HTML, cell for cell the same as its CSV (``data-table`` names it)."""
    head = "".join(f"<th>{_escape(column)}</th>" for column in table.frame.columns)
    rows = []
    for label, values in table.frame.iterrows():
        cells = "".join(
            f"<td>{_escape(format_value(values[column], table.columns[str(column)]))}</td>"
            for column in table.frame.columns
        )
        css = ' class="total"' if str(label) == TOTAL_LABEL else ""
        rows.append(f"<tr{css}><td>{_escape(label)}</td>{cells}</tr>")
    return (
        f'<div class="scroll"><table data-table="{_escape(table.name)}"><caption class="note">'
        f"{_escape(table.title)}</caption><thead><tr><th>{_escape(table.index_name)}</th>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _cards(content: ReportContent) -> str:
    parameters = content.parameters
    referral = (parameters.duplicate_event_type or "any type").replace("_", " ")
    parts = []
    for key, headline in content.headlines.items():
        explanation = HEADLINE_EXPLANATIONS[key].format(
            repeat_days=parameters.repeat_days, duplicate_days=parameters.duplicate_days, referral=referral
        )
        if headline.estimate is None:
            parts.append(
                f'<div class="card withheld" data-measure="{key}"><div>{_escape(headline.title)}</div>'
                f'<div class="number">[c]</div><div class="interval">withheld: fewer than {content.rules.threshold}</div>'
                f'<div class="what">{_escape(explanation)}</div></div>'
            )
            continue
        parts.append(
            f'<div class="card" data-measure="{key}"><div>{_escape(headline.title)}</div>'
            f'<div class="number">{_number(headline.estimate)}</div>'
            f'<div class="interval">95% interval {_number(headline.lower)} to {_number(headline.upper)}</div>'
            f'<div class="what">{_escape(explanation)}</div></div>'
        )
    return f'<section id="summary"><div class="cards">{"".join(parts)}</div></section>'


def _repeat_section(content: ReportContent) -> str:
    table = content.tables["victims_by_agency"]
    agencies = [str(label) for label in table.frame.index]
    rate = (
        f"{content.repeat_rate_percent:.0f}% of victims are repeat victims."
        if content.repeat_rate_percent is not None
        else "The repeat rate is withheld because a count behind it is small."
    )
    chart = charts.bar_chart(
        agencies,
        {
            "victims": _values(table, "victims", agencies),
            "repeat victims": _values(table, "repeat_victims", agencies),
        },
        label="Victims and repeat victims by agency",
        chart_id="repeat",
    )
    return (
        '<section id="repeat"><h2>Repeat victims by agency</h2>'
        f"<p>{_escape(rate)} A victim is counted at every agency that recorded them as a victim, so the "
        "agency bars add up to more than the partnership total.</p>" + chart + "</section>"
    )


def _hidden_section(content: ReportContent) -> str:
    table = content.tables["victims_by_agency"]
    agencies = [str(label) for label in table.frame.index]
    hidden = content.headlines["hidden_repeat_victims"]
    repeats = content.headlines["repeat_victims"]
    if hidden.estimate is not None and repeats.estimate:
        share = f"{100 * hidden.estimate / repeats.estimate:.0f}%"
        sentence = (
            f"About {_number(hidden.estimate)} repeat victims ({share} of all repeat victims) are "
            "visible only when agencies' records are put together: no agency could see them as a "
            "repeat from its own records."
        )
    else:
        sentence = "The number of hidden repeat victims is withheld because it is small."
    chart = charts.bar_chart(
        agencies,
        {
            "repeat victims known to the partnership": _values(table, "repeat_victims", agencies),
            "seen as repeats by the agency alone": _values(
                table, "repeat_victims_seen_by_agency_alone", agencies
            ),
        },
        label="Repeat victims each agency sees alone, against the partnership view",
        chart_id="hidden",
    )
    return (
        '<section id="hidden"><h2>Hidden repeat victims</h2>'
        f"<p>{_escape(sentence)} The gap between the two bars of an agency is the repeat victims it "
        "works with but cannot recognise as repeats from its own records.</p>" + chart + "</section>"
    )


@functools.lru_cache(maxsize=1)
def local_authority_names() -> dict[str, str]:
    """ONS code → name for the local authorities dalink ships (used to label charts only).

    Codes it does not know are shown as codes; a report never needs the names to be right.
    """
    names: dict[str, str] = {}

    def collect(node: Any) -> None:
        if isinstance(node, dict):
            code, name = node.get("code"), node.get("name")
            if isinstance(code, str) and isinstance(name, str):
                names[code.strip().upper()] = name
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    try:
        collect(json.loads(resources.files("dalink").joinpath("data/synth/areas.json").read_text(encoding="utf-8")))
    except (OSError, ValueError, ModuleNotFoundError):
        return {}
    return names


def area_label(code: str) -> str:
    name = local_authority_names().get(str(code).upper())
    return f"{name} ({code})" if name else str(code)


def _moves_section(content: ReportContent) -> str:
    table = content.tables["moves_origin_destination"]
    frame = table.frame
    flows = []
    withheld = 0
    for origin in frame.index:
        if origin == TOTAL_LABEL:
            continue
        for destination in frame.columns:
            if destination == TOTAL_LABEL or destination == origin:
                continue
            value = frame.at[origin, destination]
            if pd.isna(value):
                withheld += 1
            else:
                flows.append((area_label(origin), area_label(destination), float(value)))
    areas = [str(label) for label in frame.index if label != TOTAL_LABEL]
    moves_out = _values(table, TOTAL_LABEL, areas)
    moves_in = [None if pd.isna(frame.at[TOTAL_LABEL, area]) else float(frame.at[TOTAL_LABEL, area]) for area in areas]
    order = sorted(range(len(areas)), key=lambda index: -max(moves_out[index] or 0, moves_in[index] or 0))
    totals_chart = charts.bar_chart(
        [area_label(areas[index]) for index in order],
        {"moves out": [moves_out[index] for index in order], "moves in": [moves_in[index] for index in order]},
        label="Moves out of and into each local authority",
        chart_id="moves-totals",
    )
    chart = charts.flow_chart(flows, label="Moves between local authorities", withheld=withheld)
    return (
        '<section id="moves"><h2>Moves between local authorities</h2>'
        "<p>A move is a person's next contact with any agency being in another local authority. "
        "Small numbers and zeros are withheld: a zero would tell someone where a person did "
        "<em>not</em> go.</p><h3>Moves out of and into each local authority</h3>"
        + totals_chart
        + "<h3>Flows between local authorities</h3><p>Each band is one published flow; its width is "
        "the number of moves.</p>"
        + chart
        + html_table(table)
        + "</section>"
    )


def _overlap_section(content: ReportContent) -> str:
    table = content.tables["agency_overlap"]
    agencies = [str(label) for label in table.frame.index]
    values = [_values(table, agency, agencies) for agency in agencies]
    values = [list(row) for row in zip(*values)]  # rows of the frame
    chart = charts.heatmap(agencies, agencies, values, label="People known to two agencies", chart_id="overlap")
    return (
        '<section id="overlap"><h2>Agency overlap</h2>'
        "<p>How many people two agencies both know (in any role). The diagonal is the number of "
        "people each agency knows. High overlap is where joint working and shared assessments "
        "would spare people telling their story again.</p>" + chart + "</section>"
    )


def _duplicates_section(content: ReportContent) -> str:
    table = content.tables["duplicate_referrals_over_time"]
    months = [str(label) for label in table.frame.index if label != TOTAL_LABEL]
    referral = (content.parameters.duplicate_event_type or "any referral").replace("_", " ")
    chart = charts.column_chart(
        months,
        {
            "referrals": _values(table, "referrals", months),
            "duplicate referrals": _values(table, "duplicate_referrals", months),
        },
        label=table.title,
        chart_id="duplicates",
    )
    return (
        '<section id="duplicates"><h2>Duplicate referrals over time</h2>'
        f"<p>Checked referral type: <strong>{_escape(referral)}</strong>. A referral is a duplicate when "
        f"the same person was referred within {content.parameters.duplicate_days} days before, "
        "often by a different agency about the same incident.</p>" + chart + "</section>"
    )


def _quality_section(content: ReportContent) -> str:
    quality = content.linkage_quality

    def percent(value: Any) -> str:
        return "not estimated" if value is None else f"{100 * float(value):.1f}%"

    statement = (
        f"<p>The linkage model estimates that <strong>{percent(quality.get('estimated_precision'))}</strong> "
        "of the record pairs it linked are the same person (precision) and that it found "
        f"<strong>{percent(quality.get('estimated_recall'))}</strong> of the pairs that are the same person "
        f"(recall; blocking is estimated to have kept {percent(quality.get('blocking_recall'))} of them). "
        "These are the model's own estimates, made without any true answers; the intervals above "
        "allow for them being wrong.</p>"
    )
    parts = ['<section id="quality"><h2>Linkage quality</h2>', f'<div class="quality">{statement}</div>']
    agency_table = content.tables.get("linkage_quality_by_agency")
    if agency_table is not None:
        agencies = [str(label) for label in agency_table.frame.index]
        parts.append(
            charts.bar_chart(
                agencies,
                {
                    "% linked to another record": _values(agency_table, "linked_percent", agencies),
                    "% linked to another agency": _values(
                        agency_table, "linked_across_agencies_percent", agencies
                    ),
                },
                label="Match rates by agency (percent of records)",
                chart_id="quality",
            )
        )
    parts.append(
        "<p>Where a group's records link less often than others', counts built on the linkage are "
        "less complete for that group. Match rates by sex and age band are not shown: sex and "
        "date of birth reach the linker only inside the encodings, never in clear.</p>"
    )
    for name, table in content.tables.items():
        if name.startswith("linkage_quality_by_"):
            parts.append(html_table(table))
    parts.append("</section>")
    return "".join(parts)


def _about_section(content: ReportContent) -> str:
    parameters = content.parameters
    rules = content.rules
    referral = parameters.duplicate_event_type or "any type ending in _referral"
    return f"""
<section id="about"><h2>About these numbers</h2>
<h3>Definitions</h3>
<dl class="definitions">
<dt>Episode</dt><dd>A person's victim events in date order; an event more than {parameters.episode_days} days after the start of the current episode starts a new one, so an incident and the referrals that follow it count once.</dd>
<dt>Repeat victim</dt><dd>A victim with an episode starting at most {parameters.repeat_days} days after the start of their previous episode.</dd>
<dt>Hidden repeat victim</dt><dd>A repeat victim whom no single agency sees as a repeat when the same rule is applied to its own records alone.</dd>
<dt>Move and mover</dt><dd>Two consecutive events of a person (any role) in different known local authorities; a mover has at least one move.</dd>
<dt>Moved in from elsewhere</dt><dd>A refuge referral whose person's previous event was in another local authority.</dd>
<dt>Duplicate referral</dt><dd>A referral ({_escape(referral)}) made at most {parameters.duplicate_days} days after a previous referral of the same person and type.</dd>
</dl>
<h3>Intervals</h3>
<p>People are linked across agencies by comparing encoded names and dates of birth, so some
links are missed and a few are wrong. Each 95% interval comes from {content.uncertainty.replicates}
re-drawn linkages that vary the links the model was unsure of, use the local authority and the
role (which the linker does not compare) as extra evidence, allow for the model's probabilities being
systematically off, and add back matches the blocking step may have lost. The headline number
is the middle of the re-drawn linkages. In tests on synthetic partnerships the true count lay
inside the interval in more than nine partnerships out of ten. The tables below count the
linker's single best linkage, so their totals can differ slightly from the headline numbers.</p>
<h3>Disclosure control</h3>
<p>Counts from 1 to {rules.threshold - 1} are withheld and shown as [c]; every other count is
rounded to the nearest {rules.rounding_base}, and interval limits are rounded outwards.
Further cells are withheld where a withheld count could otherwise be worked out from totals.
In tables of moves, zeros are withheld too. Rounded cells need not add up to rounded totals.
No number in this report describes a single person.</p>
</section>
"""


def render_report(content: ReportContent) -> str:
    """The whole page as one string."""
    sections = [
        _cards(content),
        _repeat_section(content),
        _hidden_section(content),
        _moves_section(content),
        _overlap_section(content),
        _duplicates_section(content),
        _quality_section(content),
        _about_section(content),
        '<section id="tables"><h2>All published tables</h2>'
        '<p class="note">The same tables are in <code>tables/*.csv</code> and <code>measures.json</code>.</p>'
        + "".join(
            html_table(table) for name, table in content.tables.items() if not name.startswith("linkage_quality_by_")
        )
        + "</section>",
    ]
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
        "<title>Domestic abuse partnership report</title>"
        f"<style>{STYLE}</style></head><body><main>"
        "<h1>Domestic abuse partnership report</h1>"
        f"<p class=\"lede\">Counts across all partner agencies, linked without sharing names. "
        f"Period: {_escape(content.period)}. Every number is rounded and small numbers are withheld "
        "([c]); each headline count has a 95% interval for linkage error.</p>"
        + "".join(sections)
        + f"<footer>Produced by dalink {__version__}. Synthetic-data tests and the definitions are in the "
        "dalink documentation (docs/report.md).</footer></main></body></html>\n"
    )
