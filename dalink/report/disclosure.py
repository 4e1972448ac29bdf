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

import csv
import dataclasses
import enum
import io
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from dalink.errors import ReportError

SUPPRESSED = "[c]"
"""What a withheld value looks like in CSV and HTML (the ONS marker for "confidential")."""
TOTAL_LABEL = "Total"


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


class TableKind(str, enum.Enum):
    """Which linear relations tie a table's cells together (and so what secondary suppression
    must protect against)."""

    SERIES = "series"
    """Rows × columns of independent counts; with a total row, each count column sums to it."""
    MATRIX = "matrix"
    """A cross-tabulation with a total row and a total column (origin × destination)."""
    SYMMETRIC_MATRIX = "symmetric_matrix"
    """Cell (a, b) equals cell (b, a) (agency overlap); no totals."""


class ColumnRole(str, enum.Enum):
    """What a column of a published table holds."""

    COUNT = "count"
    """A count of persons or events: suppressed or rounded."""
    BOUND = "bound"
    """An interval bound of the count in this row's ``estimate`` column: a multiple of the
    rounding base, withheld whenever the estimate is."""
    RATE = "rate"
    """A percentage derived from counts in this row: withheld whenever any count is."""


@dataclasses.dataclass(frozen=True)
class DisclosureProblem:
    """One way a published table breaks the rules (used by tests and by :func:`protect_*`)."""

    table: str
    row: str
    column: str
    reason: str

    def __str__(self) -> str:
        return f"{self.table}[{self.row}, {self.column}]: {self.reason}"


@dataclasses.dataclass(frozen=True)
class PublishedTable:
    """A table after disclosure control: what may leave the linker.

    ``frame`` holds published values (``float`` with NaN where withheld); its index holds the
    row labels (named ``index_name``) and its columns the column labels, both as strings.
    """

    name: str
    title: str
    kind: TableKind
    frame: pd.DataFrame
    columns: dict[str, ColumnRole]
    total_row: bool = False
    total_column: bool = False
    zeros_disclosive: bool = False
    structural_zero_diagonal: bool = False
    """Cells whose row and column labels agree are zero by definition (no move from an area
    to itself); a reader knows them, so they are shown and protect nothing."""
    index_name: str = "row"
    description: str = ""

    # ------------------------------------------------------------------ serialisation

    def metadata(self) -> dict[str, Any]:
        """Everything but the values: enough for :func:`check_table` to rebuild the relations."""
        return {
            "title": self.title,
            "description": self.description,
            "kind": self.kind.value,
            "index_name": self.index_name,
            "columns": {column: role.value for column, role in self.columns.items()},
            "total_row": self.total_row,
            "total_column": self.total_column,
            "zeros_disclosive": self.zeros_disclosive,
            "structural_zero_diagonal": self.structural_zero_diagonal,
        }

    def to_json(self) -> dict[str, Any]:
        """Metadata plus ``rows``: one object per row, withheld values as ``null``."""
        rows = []
        for label, values in self.frame.iterrows():
            row: dict[str, Any] = {self.index_name: str(label)}
            for column in self.frame.columns:
                row[str(column)] = _json_value(values[column], self.columns[str(column)])
            rows.append(row)
        return {**self.metadata(), "rows": rows}

    def to_csv(self) -> str:
        """CSV text; withheld values are written as ``[c]``."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([self.index_name, *map(str, self.frame.columns)])
        for label, values in self.frame.iterrows():
            writer.writerow(
                [str(label)]
                + [format_value(values[column], self.columns[str(column)]) for column in self.frame.columns]
            )
        return buffer.getvalue()

    @classmethod
    def from_json(cls, name: str, data: dict[str, Any]) -> PublishedTable:
        columns = {str(column): ColumnRole(role) for column, role in data["columns"].items()}
        index_name = data.get("index_name", "row")
        labels = [str(row[index_name]) for row in data["rows"]]
        frame = pd.DataFrame(
            {
                column: [np.nan if row.get(column) is None else float(row[column]) for row in data["rows"]]
                for column in columns
            },
            index=pd.Index(labels, name=index_name),
        )
        return cls(
            name=name,
            title=data.get("title", name),
            kind=TableKind(data["kind"]),
            frame=frame,
            columns=columns,
            total_row=bool(data.get("total_row", False)),
            total_column=bool(data.get("total_column", False)),
            zeros_disclosive=bool(data.get("zeros_disclosive", False)),
            structural_zero_diagonal=bool(data.get("structural_zero_diagonal", False)),
            index_name=index_name,
            description=data.get("description", ""),
        )

    @classmethod
    def from_csv(cls, name: str, path: str | Path, metadata: dict[str, Any]) -> PublishedTable:
        """Read a ``tables/*.csv`` file back, with the metadata from ``measures.json``."""
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        if not rows:
            raise ReportError(f"{path}: empty table file")
        header, body = rows[0], rows[1:]
        columns = {str(column): ColumnRole(role) for column, role in metadata["columns"].items()}
        if header[1:] != list(columns):
            raise ReportError(f"{path}: columns do not match the table's metadata")
        frame = pd.DataFrame(
            [[_parse_cell(cell) for cell in row[1:]] for row in body],
            columns=header[1:],
            index=pd.Index([row[0] for row in body], name=header[0]),
            dtype=float,
        )
        return cls(
            name=name,
            title=metadata.get("title", name),
            kind=TableKind(metadata["kind"]),
            frame=frame,
            columns=columns,
            total_row=bool(metadata.get("total_row", False)),
            total_column=bool(metadata.get("total_column", False)),
            zeros_disclosive=bool(metadata.get("zeros_disclosive", False)),
            structural_zero_diagonal=bool(metadata.get("structural_zero_diagonal", False)),
            index_name=header[0],
            description=metadata.get("description", ""),
        )


def format_value(value: Any, role: ColumnRole = ColumnRole.COUNT) -> str:
    """How a published value is shown in CSV and HTML."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return SUPPRESSED
    if role is ColumnRole.RATE:
        return f"{float(value):.0f}"
    return str(int(value))


def _json_value(value: Any, role: ColumnRole) -> int | float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if role is ColumnRole.RATE:
        return float(value)
    return int(value)


def _parse_cell(cell: str) -> float:
    cell = cell.strip()
    if cell in (SUPPRESSED, ""):
        return float("nan")
    try:
        return float(cell)
    except ValueError:
        raise ReportError("a table cell is neither a number nor the suppression marker") from None


# ---------------------------------------------------------------------- relations


@dataclasses.dataclass(frozen=True)
class _Grid:
    """The count cells of a table as a flat vector, with the linear relations between them."""

    cells: list[tuple[int, int]]  # (row position, column position) per variable
    is_total: np.ndarray  # bool per variable
    relations: np.ndarray  # (relations, variables) coefficients; each row sums to 0


def _grid(
    kind: TableKind,
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    count_columns: Sequence[int],
    *,
    total_row: bool,
    total_column: bool,
) -> _Grid:
    cells = [(row, column) for row in range(len(row_labels)) for column in count_columns]
    position = {cell: index for index, cell in enumerate(cells)}
    total_row_position = len(row_labels) - 1 if total_row else None
    total_column_position = (
        column_labels.index(TOTAL_LABEL) if total_column and TOTAL_LABEL in column_labels else None
    )
    is_total = np.array(
        [row == total_row_position or column == total_column_position for row, column in cells],
        dtype=bool,
    )
    relations: list[np.ndarray] = []

    def relation(members: Iterable[tuple[tuple[int, int], float]]) -> None:
        vector = np.zeros(len(cells))
        for cell, coefficient in members:
            vector[position[cell]] = coefficient
        relations.append(vector)

    if kind is TableKind.SYMMETRIC_MATRIX:
        index_of_column = {label: position for position, label in enumerate(column_labels)}
        for row, label in enumerate(row_labels):
            for other_row, other_label in enumerate(row_labels):
                if other_row <= row or other_label not in index_of_column or label not in index_of_column:
                    continue
                upper = (row, index_of_column[other_label])
                lower = (other_row, index_of_column[label])
                if upper in position and lower in position:
                    relation([(upper, 1.0), (lower, -1.0)])
    else:
        if total_row_position is not None:
            for column in count_columns:
                members = [((row, column), 1.0) for row in range(len(row_labels) - 1)]
                relation([*members, ((total_row_position, column), -1.0)])
        if total_column_position is not None:
            interior = [column for column in count_columns if column != total_column_position]
            for row in range(len(row_labels)):
                members = [((row, column), 1.0) for column in interior]
                relation([*members, ((row, total_column_position), -1.0)])
    matrix = np.array(relations) if relations else np.zeros((0, len(cells)))
    return _Grid(cells=cells, is_total=is_total, relations=matrix)


def recoverable_cells(relations: np.ndarray, suppressed: np.ndarray) -> np.ndarray:
    """Indices of withheld cells whose value the published cells and the relations fix exactly.

    The withheld values solve ``A_s x_s = b``; ``x_j`` is fixed iff every null-space vector of
    ``A_s`` is zero at ``j``. Published values are treated as exact (they are rounded, so this
    is conservative).
    """
    hidden = np.flatnonzero(suppressed)
    if hidden.size == 0 or relations.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    restricted = relations[:, hidden]
    involved = np.abs(restricted).sum(axis=0) > 0
    if not involved.any():
        return np.zeros(0, dtype=np.int64)
    _, singular_values, right = np.linalg.svd(restricted, full_matrices=True)
    tolerance = max(restricted.shape) * np.finfo(float).eps * (singular_values.max() if singular_values.size else 0)
    rank = int((singular_values > max(tolerance, 1e-9)).sum())
    null_space = right[rank:].T  # (hidden, nullity)
    if null_space.shape[1] == 0:
        fixed = np.ones(hidden.size, dtype=bool)
    else:
        fixed = np.abs(null_space).max(axis=1) < 1e-8
    return hidden[fixed & involved]


def _secondary_suppression(
    values: np.ndarray, grid: _Grid, suppressed: np.ndarray, fixed: np.ndarray
) -> np.ndarray:
    """Withhold more cells until no withheld cell can be worked out.

    Greedy: for a recoverable cell, try the cells it shares a relation with, cheapest first
    (interior before totals, small before large), and keep the first that reduces the number
    of recoverable cells. ``fixed`` cells (known to the reader anyway, or published elsewhere)
    are never chosen unless nothing else is left. Terminates because every step withholds one
    more cell.
    """
    suppressed = suppressed.copy()
    relations = grid.relations
    while True:
        recoverable = recoverable_cells(relations, suppressed)
        if recoverable.size == 0:
            return suppressed
        target = int(recoverable[0])
        related_relations = np.flatnonzero(np.abs(relations[:, target]) > 0)
        in_relation = np.abs(relations[related_relations]).sum(axis=0) > 0
        anywhere = np.abs(relations).sum(axis=0) > 0
        candidates = np.flatnonzero(in_relation & ~suppressed & ~fixed)
        if candidates.size == 0:
            candidates = np.flatnonzero(anywhere & ~suppressed & ~fixed)
        if candidates.size == 0:
            candidates = np.flatnonzero(anywhere & ~suppressed)
        order = sorted(candidates, key=lambda index: (bool(grid.is_total[index]), values[index], index))
        chosen = order[0]
        for candidate in order:
            trial = suppressed.copy()
            trial[candidate] = True
            if recoverable_cells(relations, trial).size < recoverable.size:
                chosen = candidate
                break
        suppressed[chosen] = True


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
    )
    values = np.array([raw[row, column] for row, column in grid.cells], dtype=np.int64)
    row_labels = list(frame.index)
    structural = np.array(
        [
            structural_zero_diagonal
            and row_labels[row] == column_labels[column]
            and row_labels[row] != TOTAL_LABEL
            for row, column in grid.cells
        ],
        dtype=bool,
    )
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
    )
    matrix = frame.to_numpy(dtype=float)
    suppressed = np.array([np.isnan(matrix[row, column]) for row, column in grid.cells], dtype=bool)
    for index in recoverable_cells(grid.relations, suppressed):
        row, column = grid.cells[index]
        problem(labels[row], column_labels[column], "withheld count can be worked out from published cells")
    return problems
