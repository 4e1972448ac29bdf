"""Statistical disclosure control for every number the report publishes.

The report is read by people who may include a perpetrator looking for a victim, so each
table passes four rules before it leaves the linker:

1. **Primary suppression** – a count below ``threshold`` (default 10) is withheld; in
   movement tables a zero is withheld too, because "nobody moved from X to Y" tells a
   perpetrator where a victim did *not* go.
2. **Rounding** – every published count is rounded to the nearest ``rounding_base`` (default
   5), so differences between tables do not reveal exact small counts.
3. **Secondary suppression** – a withheld cell must not be recoverable from the totals or the
   symmetric twin that *are* published. A table is a set of cells tied by linear relations
   (a row sums to its total, cell (a, b) of a symmetric matrix equals (b, a)); a withheld
   cell is recoverable exactly when every solution of those relations gives it the same
   value, i.e. when the null space of the relations restricted to the withheld cells is zero
   in its coordinate. More cells are withheld until no withheld cell is recoverable. This is
   stricter than the usual "two withheld cells per line" rule, which misses cells that can be
   worked out through a chain of lines.
4. Nothing derived from a withheld count (a rate, an interval) is published either.

:func:`check_table` checks a published table against these rules without access to the
unrounded values, so the same function checks tables in memory, in ``tables/*.csv`` and in
``measures.json``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from dalink.errors import ReportError
from dalink.report.published_table import (
    SUPPRESSED,
    TOTAL_LABEL,
    ColumnRole,
    DisclosureProblem,
    PublishedTable,
    TableKind,
    format_value,
)
from dalink.report.secondary_suppression import _grid, _secondary_suppression, recoverable_cells

__all__ = [
    "SUPPRESSED",
    "TOTAL_LABEL",
    "ColumnRole",
    "DisclosureProblem",
    "DisclosureRules",
    "PublishedTable",
    "TableKind",
    "check_table",
    "format_value",
    "protect_table",
    "recoverable_cells",
    "with_rates",
]


class DisclosureRules(BaseModel):
    """Thresholds of the disclosure control (defaults follow common UK practice for DA data)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    threshold: int = Field(
        10, ge=1, description="Counts from 1 to threshold - 1 are suppressed."
    )
    rounding_base: int = Field(
        5, ge=1, description="Published counts are rounded to a multiple of this (1: no rounding)."
    )

    @model_validator(mode="after")
    def _threshold_survives_rounding(self) -> DisclosureRules:
        if 2 * self.threshold < self.rounding_base:
            raise ValueError("threshold must be at least half the rounding base, or published counts round to 0")
        return self

    def round_count(self, value: float) -> int:
        """Round half up to the base (``round`` would round half to even and favour some values)."""
        return int(math.floor(value / self.rounding_base + 0.5)) * self.rounding_base

    def round_down(self, value: float) -> int:
        return int(math.floor(value / self.rounding_base)) * self.rounding_base

    def round_up(self, value: float) -> int:
        return int(math.ceil(value / self.rounding_base)) * self.rounding_base

    @property
    def smallest_published(self) -> int:
        """The smallest non-zero count a published cell can show."""
        return self.round_count(self.threshold)

    def is_primary_suppressed(self, value: int, *, zeros_disclosive: bool) -> bool:
        if value == 0:
            return zeros_disclosive
        return 0 < value < self.threshold


# ---------------------------------------------------------------------- protection


def protect_table(
    name: str,
    counts: pd.DataFrame,
    rules: DisclosureRules,
    *,
    kind: TableKind,
    title: str,
    total_row: bool = False,
    total_column: bool = False,
    zeros_disclosive: bool = False,
    structural_zero_diagonal: bool = False,
    keep_published: Sequence[tuple[str, str]] = (),
    index_name: str | None = None,
    description: str = "",
) -> PublishedTable:
    """Apply disclosure control to a table of raw counts.

    Totals are computed here from the raw cells (never taken from the caller), so the
    relations secondary suppression protects are exactly those a reader can use.
    ``keep_published`` names cells (row, column) that are also published elsewhere, such as
    a grand total that is a headline count: secondary suppression avoids them, because
    withholding them here would not hide them.
    """
    frame = counts.copy()
    frame.columns = [str(column) for column in frame.columns]
    frame.index = pd.Index([str(label) for label in frame.index], name=index_name or counts.index.name or "row")
    if frame.isna().any().any():
        raise ReportError(f"table {name}: raw counts must not be missing")
    if total_column:
        frame[TOTAL_LABEL] = frame.sum(axis=1)
    if total_row:
        total = frame.sum(axis=0).to_frame().T
        total.index = pd.Index([TOTAL_LABEL], name=frame.index.name)
        frame = pd.concat([frame, total])
    raw = frame.to_numpy(dtype=np.int64)
    column_labels = list(frame.columns)
    grid = _grid(
        kind,
        list(frame.index),
        column_labels,
        list(range(len(column_labels))),
        total_row=total_row,
        total_column=total_column,
        structural_zero_diagonal=structural_zero_diagonal,
    )
    values = np.array([raw[row, column] for row, column in grid.cells], dtype=np.int64)
    row_labels = list(frame.index)
    structural = grid.structural
    if (values[structural] != 0).any():
        raise ReportError(f"table {name}: a cell declared structurally zero is not zero")
    keep = set(keep_published)
    fixed = structural | np.array(
        [(row_labels[row], column_labels[column]) in keep for row, column in grid.cells], dtype=bool
    )
    suppressed = np.array(
        [rules.is_primary_suppressed(int(value), zeros_disclosive=zeros_disclosive) for value in values],
        dtype=bool,
    )
    suppressed &= ~structural
    suppressed = _secondary_suppression(values, grid, suppressed, fixed)
    published = np.full(raw.shape, np.nan)
    for index, (row, column) in enumerate(grid.cells):
        if not suppressed[index]:
            published[row, column] = rules.round_count(int(values[index]))
    result = PublishedTable(
        name=name,
        title=title,
        kind=kind,
        frame=pd.DataFrame(published, index=frame.index, columns=column_labels),
        columns={column: ColumnRole.COUNT for column in column_labels},
        total_row=total_row,
        total_column=total_column,
        zeros_disclosive=zeros_disclosive,
        structural_zero_diagonal=structural_zero_diagonal,
        index_name=frame.index.name,
        description=description,
    )
    problems = check_table(result, rules)
    if problems:  # a bug here must never publish a disclosive table
        raise ReportError(f"table {name} failed disclosure control: {problems[0]}")
    return result


def with_rates(
    table: PublishedTable,
    rates: dict[str, tuple[pd.Series, pd.Series]],
    rules: DisclosureRules,
) -> PublishedTable:
    """Add percentage columns ``name -> (numerator, denominator)`` computed from raw counts.

    A rate is withheld when its row has any withheld count, or when the raw numerator or
    denominator is below the threshold, since a percentage of a known total gives the
    count back.
    """
    frame = table.frame.copy()
    columns = dict(table.columns)
    any_withheld = frame[[c for c, role in columns.items() if role is ColumnRole.COUNT]].isna().any(axis=1)
    for column, (numerator, denominator) in rates.items():
        numerator = numerator.reindex(frame.index).fillna(0)
        denominator = denominator.reindex(frame.index).fillna(0)
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = 100.0 * numerator / denominator
        small = (numerator.between(1, rules.threshold - 1)) | (denominator < rules.threshold)
        small |= (denominator - numerator).between(1, rules.threshold - 1)
        frame[column] = rate.where(~(small | any_withheld)).round(0)
        columns[column] = ColumnRole.RATE
    return dataclasses.replace(table, frame=frame, columns=columns)


# ---------------------------------------------------------------------- checking


def check_table(table: PublishedTable, rules: DisclosureRules) -> list[DisclosureProblem]:
    """Every way ``table`` breaks ``rules``; empty when it may be published.

    Checks only what a reader sees: each shown count is a multiple of the rounding base and
    either zero (not in movement tables) or at least the smallest publishable count; bounds
    and rates of a withheld count are withheld; movement tables list every origin as a
    destination too (so an absent row cannot stand for a zero); and no withheld count can be
    worked out from the published totals or symmetric twins.
    """
    problems: list[DisclosureProblem] = []
    frame = table.frame
    labels = [str(label) for label in frame.index]

    def problem(row: Any, column: Any, reason: str) -> None:
        problems.append(DisclosureProblem(table.name, str(row), str(column), reason))

    missing_roles = [column for column in frame.columns if str(column) not in table.columns]
    for column in missing_roles:
        problem("*", column, "column has no declared role")
    count_columns = [c for c, role in table.columns.items() if role is ColumnRole.COUNT and c in frame.columns]
    base = rules.rounding_base
    for label, values in frame.iterrows():
        row_withheld = False
        for column in count_columns:
            value = values[column]
            if pd.isna(value):
                row_withheld = True
                continue
            if value != int(value) or int(value) % base:
                problem(label, column, f"count is not a multiple of {base}")
            if value < 0:
                problem(label, column, "negative count")
            elif value == 0 and table.zeros_disclosive:
                if not (table.structural_zero_diagonal and str(label) == str(column) != TOTAL_LABEL):
                    problem(label, column, "zero shown in a table where zeros are disclosive")
            elif value != 0 and table.structural_zero_diagonal and str(label) == str(column) != TOTAL_LABEL:
                problem(label, column, "a structurally zero cell is not zero")
            elif 0 < value < rules.smallest_published:
                problem(label, column, f"count below the threshold {rules.threshold} is shown")
        for column, role in table.columns.items():
            if column not in frame.columns:
                continue
            value = values[column]
            if role is ColumnRole.BOUND:
                estimate = values.get("estimate", np.nan)
                if pd.isna(estimate) and not pd.isna(value):
                    problem(label, column, "bound of a withheld estimate is shown")
                if not pd.isna(value) and (value != int(value) or int(value) % base or value < 0):
                    problem(label, column, f"bound is not a non-negative multiple of {base}")
            elif role is ColumnRole.RATE and row_withheld and not pd.isna(value):
                problem(label, column, "rate shown in a row with a withheld count")

    if table.kind in (TableKind.MATRIX, TableKind.SYMMETRIC_MATRIX):
        row_set = {label for label in labels if label != TOTAL_LABEL}
        column_set = {str(column) for column in frame.columns if str(column) != TOTAL_LABEL}
        if row_set != column_set:
            problem("*", "*", "rows and columns differ, so an absent row or column could stand for a zero")
    if table.total_row and (not labels or labels[-1] != TOTAL_LABEL):
        problem("*", "*", "total row declared but missing")
    if table.total_column and TOTAL_LABEL not in [str(column) for column in frame.columns]:
        problem("*", "*", "total column declared but missing")

    column_labels = [str(column) for column in frame.columns]
    count_positions = [column_labels.index(column) for column in count_columns]
    grid = _grid(
        table.kind,
        labels,
        column_labels,
        count_positions,
        total_row=table.total_row and bool(labels) and labels[-1] == TOTAL_LABEL,
        total_column=table.total_column and TOTAL_LABEL in column_labels,
        structural_zero_diagonal=table.structural_zero_diagonal,
    )
    matrix = frame.to_numpy(dtype=float)
    suppressed = np.array([np.isnan(matrix[row, column]) for row, column in grid.cells], dtype=bool)
    for index in recoverable_cells(grid.relations, suppressed):
        row, column = grid.cells[index]
        problem(labels[row], column_labels[column], "withheld count can be worked out from published cells")
    return problems
