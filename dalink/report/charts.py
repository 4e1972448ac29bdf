"""Charts as inline SVG, written by hand.

A hand-written SVG keeps ``report.html`` self-contained (it opens from a USB stick on a
locked-down council laptop with no network) and keeps dalink free of a plotting dependency.
Every chart draws *published* values only (after disclosure control); a withheld value is
drawn as a hatched stub labelled ``[c]`` so a reader sees that something is there.

Colours are from the Okabe–Ito palette, which stays distinguishable under the common forms of
colour blindness; every chart also has a text alternative (``<title>`` and ``aria-label``).
"""

from __future__ import annotations

import dataclasses
import html
import math
from collections.abc import Sequence

from dalink.report.disclosure import SUPPRESSED

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
TEXT = "#1b1b1b"
MUTED = "#6b6b6b"
GRID = "#e3e3e3"
FONT = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif"

HATCH = (
    '<defs><pattern id="{id}" width="6" height="6" patternUnits="userSpaceOnUse" '
    'patternTransform="rotate(45)"><rect width="6" height="6" fill="#f4f4f4"/>'
    '<line x1="0" y1="0" x2="0" y2="6" stroke="#9a9a9a" stroke-width="2"/></pattern></defs>'
)


def _escape(text: object) -> str:
    return html.escape(str(text), quote=True)


def _number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.1f}"


@dataclasses.dataclass(frozen=True)
class _Axis:
    maximum: float
    ticks: int


def _axis(value: float) -> _Axis:
    """The tightest axis at or above ``value`` with 4 to 6 equal, round steps (1, 2, 2.5 or 5
    times a power of ten)."""
    if value <= 0:
        return _Axis(4.0, 4)
    best: _Axis | None = None
    for ticks in (4, 5, 6):
        raw_step = value / ticks
        exponent = math.floor(math.log10(raw_step))
        step = next(m * 10**exponent for m in (1, 2, 2.5, 5, 10) if m * 10**exponent >= raw_step)
        if best is None or step * ticks < best.maximum:
            best = _Axis(float(step * ticks), ticks)
    assert best is not None
    return best


def _open(width: float, height: float, label: str) -> str:
    return (
        f'<svg viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="100%" role="img" aria-label="{_escape(label)}" style="{FONT};max-width:{width:.0f}px">'
        f"<title>{_escape(label)}</title>"
    )


def _legend(names: Sequence[str], x: float, y: float) -> str:
    parts = []
    offset = x
    for index, name in enumerate(names):
        parts.append(
            f'<rect x="{offset:.1f}" y="{y - 10:.1f}" width="12" height="12" fill="{PALETTE[index % len(PALETTE)]}"/>'
            f'<text x="{offset + 18:.1f}" y="{y:.1f}" font-size="12" fill="{TEXT}">{_escape(name)}</text>'
        )
        offset += 18 + 7 * len(name) + 28
    return "".join(parts)


def bar_chart(
    categories: Sequence[str],
    series: dict[str, Sequence[float | None]],
    *,
    label: str,
    chart_id: str,
    width: int = 760,
) -> str:
    """Horizontal grouped bars: one group per category, one bar per series (None = withheld)."""
    names = list(series)
    bar_height = 14
    group_height = bar_height * len(names) + 10
    left = max(110, 7 * max((len(str(c)) for c in categories), default=4) + 16)
    right = 60
    top = 34
    height = top + group_height * len(categories) + 30
    values = [v for values in series.values() for v in values if v is not None]
    axis = _axis(max(values, default=0))
    maximum = axis.maximum
    plot = width - left - right
    hatch_id = f"hatch-{chart_id}"
    parts = [_open(width, height, label), HATCH.format(id=hatch_id), _legend(names, left, 16)]
    for tick in range(axis.ticks + 1):
        value = maximum * tick / axis.ticks
        x = left + plot * tick / axis.ticks
        parts.append(
            f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 26}" stroke="{GRID}"/>'
            f'<text class="axis" x="{x:.1f}" y="{height - 10}" font-size="11" fill="{MUTED}" text-anchor="middle">{_number(value)}</text>'
        )
    for row, category in enumerate(categories):
        y0 = top + row * group_height
        parts.append(
            f'<text x="{left - 8}" y="{y0 + group_height / 2:.1f}" font-size="12" fill="{TEXT}" '
            f'text-anchor="end" dominant-baseline="middle">{_escape(category)}</text>'
        )
        for index, name in enumerate(names):
            value = series[name][row]
            y = y0 + index * bar_height
            if value is None:
                parts.append(
                    f'<rect x="{left}" y="{y:.1f}" width="24" height="{bar_height - 2}" fill="url(#{hatch_id})"/>'
                    f'<text class="value" x="{left + 30}" y="{y + bar_height / 2:.1f}" font-size="11" '
                    f'fill="{MUTED}" dominant-baseline="middle">{SUPPRESSED}</text>'
                )
                continue
            length = plot * value / maximum
            parts.append(
                f'<rect x="{left}" y="{y:.1f}" width="{length:.1f}" height="{bar_height - 2}" '
                f'fill="{PALETTE[index % len(PALETTE)]}"><title>{_escape(category)}, {_escape(name)}: {_number(value)}</title></rect>'
                f'<text class="value" x="{left + length + 4:.1f}" y="{y + bar_height / 2:.1f}" font-size="11" '
                f'fill="{TEXT}" dominant-baseline="middle">{_number(value)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def column_chart(
    periods: Sequence[str],
    series: dict[str, Sequence[float | None]],
    *,
    label: str,
    chart_id: str,
    width: int = 760,
    height: int = 280,
) -> str:
    """Vertical bars over time, series side by side (None = withheld)."""
    names = list(series)
    left, right, top, bottom = 56, 16, 34, 48
    plot_width = width - left - right
    plot_height = height - top - bottom
    values = [v for values in series.values() for v in values if v is not None]
    axis = _axis(max(values, default=0))
    maximum = axis.maximum
    slot = plot_width / max(len(periods), 1)
    bar = max(min(slot / (len(names) + 1), 22), 1.5)
    hatch_id = f"hatch-{chart_id}"
    parts = [_open(width, height, label), HATCH.format(id=hatch_id), _legend(names, left, 16)]
    for tick in range(axis.ticks + 1):
        value = maximum * tick / axis.ticks
        y = top + plot_height * (1 - tick / axis.ticks)
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{GRID}"/>'
            f'<text class="axis" x="{left - 6}" y="{y:.1f}" font-size="11" fill="{MUTED}" text-anchor="end" '
            f'dominant-baseline="middle">{_number(value)}</text>'
        )
    label_every = max(1, math.ceil(len(periods) / 12))
    for position, period in enumerate(periods):
        x0 = left + position * slot + (slot - bar * len(names)) / 2
        for index, name in enumerate(names):
            value = series[name][position]
            x = x0 + index * bar
            if value is None:
                parts.append(
                    f'<rect x="{x:.1f}" y="{top + plot_height - 10:.1f}" width="{bar:.1f}" height="10" '
                    f'fill="url(#{hatch_id})"><title>{_escape(period)}, {_escape(name)}: withheld</title></rect>'
                )
                continue
            bar_height = plot_height * value / maximum
            parts.append(
                f'<rect x="{x:.1f}" y="{top + plot_height - bar_height:.1f}" width="{bar:.1f}" '
                f'height="{bar_height:.1f}" fill="{PALETTE[index % len(PALETTE)]}">'
                f"<title>{_escape(period)}, {_escape(name)}: {_number(value)}</title></rect>"
            )
        if position % label_every == 0:
            parts.append(
                f'<text class="axis" x="{left + position * slot + slot / 2:.1f}" y="{height - bottom + 16}" '
                f'font-size="11" fill="{MUTED}" text-anchor="middle">{_escape(period)}</text>'
            )
    parts.append(
        f'<text x="{left}" y="{height - 8}" font-size="11" fill="{MUTED}">Hatched: withheld by disclosure control.</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def heatmap(
    rows: Sequence[str],
    columns: Sequence[str],
    values: Sequence[Sequence[float | None]],
    *,
    label: str,
    chart_id: str,
    diagonal_blank: bool = False,
) -> str:
    """A matrix of shaded cells with their values (None = withheld)."""
    cell = 58 if len(columns) <= 8 else 44
    left = max(100, 7 * max((len(str(r)) for r in rows), default=4) + 16)
    top = 96
    width = left + cell * len(columns) + 20
    height = top + cell * len(rows) + 20
    numbers = [v for row in values for v in row if v is not None]
    maximum = max(numbers, default=1) or 1
    hatch_id = f"hatch-{chart_id}"
    parts = [_open(width, height, label), HATCH.format(id=hatch_id)]
    for index, column in enumerate(columns):
        x = left + index * cell + cell / 2
        parts.append(
            f'<text x="{x:.1f}" y="{top - 8}" font-size="11" fill="{TEXT}" '
            f'transform="rotate(-40 {x:.1f} {top - 8})">{_escape(column)}</text>'
        )
    for row_index, row in enumerate(rows):
        y = top + row_index * cell
        parts.append(
            f'<text x="{left - 8}" y="{y + cell / 2:.1f}" font-size="11" fill="{TEXT}" text-anchor="end" '
            f'dominant-baseline="middle">{_escape(row)}</text>'
        )
        for column_index, column in enumerate(columns):
            x = left + column_index * cell
            value = values[row_index][column_index]
            if diagonal_blank and row == column:
                parts.append(f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="#fafafa"/>')
                continue
            if value is None:
                parts.append(
                    f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="url(#{hatch_id})"/>'
                    f'<text class="value" x="{x + cell / 2 - 1:.1f}" y="{y + cell / 2:.1f}" font-size="11" fill="{MUTED}" '
                    f'text-anchor="middle" dominant-baseline="middle">{SUPPRESSED}</text>'
                )
                continue
            share = value / maximum
            opacity = 0.12 + 0.88 * share
            colour = "#ffffff" if share > 0.55 else TEXT
            parts.append(
                f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="{PALETTE[0]}" '
                f'fill-opacity="{opacity:.2f}"><title>{_escape(row)} / {_escape(column)}: {_number(value)}</title></rect>'
                f'<text class="value" x="{x + cell / 2 - 1:.1f}" y="{y + cell / 2:.1f}" font-size="11" fill="{colour}" '
                f'text-anchor="middle" dominant-baseline="middle">{_number(value)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def flow_chart(
    flows: Sequence[tuple[str, str, float]],
    *,
    label: str,
    withheld: int,
    width: int = 760,
    max_flows: int = 30,
) -> str:
    """Origins on the left, destinations on the right, a band per published flow.

    Band widths are proportional to the flow; flows withheld by disclosure control are not
    drawn (their number is stated underneath), because drawing them at any width would hint
    at their size. Only the ``max_flows`` largest are drawn, so the chart stays readable; the
    table beside it has them all.
    """
    flows = sorted(flows, key=lambda flow: -flow[2])
    not_drawn = max(len(flows) - max_flows, 0)
    flows = flows[:max_flows]
    origins: dict[str, float] = {}
    destinations: dict[str, float] = {}
    for origin, destination, value in flows:
        origins[origin] = origins.get(origin, 0.0) + value
        destinations[destination] = destinations.get(destination, 0.0) + value
    total = sum(value for _, _, value in flows)
    gap = 12
    top = 30
    usable = 320
    height = top + usable + gap * max(len(origins), len(destinations), 1) + 50
    label_width = 7 * max((len(name) for name in [*origins, *destinations]), default=4) + 40
    node_width = 14
    width = max(width, 2 * label_width + 2 * node_width + 260)
    left_x, right_x = label_width, width - label_width - node_width
    parts = [_open(width, height, label)]
    parts.append(
        f'<text x="{left_x}" y="18" font-size="12" fill="{MUTED}" text-anchor="end">from</text>'
        f'<text x="{right_x + node_width}" y="18" font-size="12" fill="{MUTED}">to</text>'
    )
    if total <= 0:
        parts.append(
            f'<text x="{width / 2}" y="{top + 40}" font-size="13" fill="{MUTED}" text-anchor="middle">'
            "No flow between local authorities can be published at this level of detail.</text></svg>"
        )
        return "".join(parts)
    scale = usable / total

    def layout(nodes: dict[str, float]) -> dict[str, list[float]]:
        positions, y = {}, float(top)
        for name, value in sorted(nodes.items(), key=lambda item: -item[1]):
            positions[name] = [y, y]  # [node top, next free y for a band]
            y += value * scale + gap
        return positions

    origin_position = layout(origins)
    destination_position = layout(destinations)
    colour_of = {name: PALETTE[index % len(PALETTE)] for index, name in enumerate(origin_position)}
    for origin, destination, value in sorted(flows, key=lambda flow: -flow[2]):
        thickness = value * scale
        y0 = origin_position[origin][1]
        y1 = destination_position[destination][1]
        origin_position[origin][1] += thickness
        destination_position[destination][1] += thickness
        x0, x1 = left_x + node_width, right_x
        middle = (x0 + x1) / 2
        path = (
            f"M{x0},{y0:.1f} C{middle},{y0:.1f} {middle},{y1:.1f} {x1},{y1:.1f} "
            f"L{x1},{y1 + thickness:.1f} C{middle},{y1 + thickness:.1f} {middle},{y0 + thickness:.1f} {x0},{y0 + thickness:.1f} Z"
        )
        parts.append(
            f'<path d="{path}" fill="{colour_of[origin]}" fill-opacity="0.45" stroke="{colour_of[origin]}" '
            f'stroke-opacity="0.6" stroke-width="0.5"><title>{_escape(origin)} to {_escape(destination)}: '
            f"{_number(value)} moves</title></path>"
        )
    for name, (y, _) in origin_position.items():
        size = origins[name] * scale
        parts.append(
            f'<rect x="{left_x}" y="{y:.1f}" width="{node_width}" height="{max(size, 1):.1f}" fill="{colour_of[name]}"/>'
            f'<text x="{left_x - 6}" y="{y + size / 2:.1f}" font-size="11" fill="{TEXT}" text-anchor="end" '
            f'dominant-baseline="middle">{_escape(name)} <tspan class="value" fill="{MUTED}">{_number(origins[name])}</tspan></text>'
        )
    for name, (y, _) in destination_position.items():
        size = destinations[name] * scale
        parts.append(
            f'<rect x="{right_x}" y="{y:.1f}" width="{node_width}" height="{max(size, 1):.1f}" fill="#7a7a7a"/>'
            f'<text x="{right_x + node_width + 6}" y="{y + size / 2:.1f}" font-size="11" fill="{TEXT}" '
            f'dominant-baseline="middle">{_escape(name)} <tspan class="value" fill="{MUTED}">{_number(destinations[name])}</tspan></text>'
        )
    notes = []
    if not_drawn:
        notes.append(f"The {len(flows)} largest flows are drawn; {not_drawn} smaller ones are in the table.")
    if withheld:
        notes.append(f"{withheld} flows are withheld by disclosure control and not drawn.")
    note = " ".join(notes) or "Every flow is drawn."
    parts.append(f'<text x="{left_x}" y="{height - 12}" font-size="11" fill="{MUTED}">{_escape(note)}</text>')
    parts.append("</svg>")
    return "".join(parts)
