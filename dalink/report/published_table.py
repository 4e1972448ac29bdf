"""A table after disclosure control, and its CSV and JSON forms.

Why a module of its own: a :class:`PublishedTable` is what leaves the linker, read back by
the checker and the renderers without the raw counts; how its cells are chosen for
suppression lives in :mod:`dalink.report.disclosure`, which re-exports every name here.
"""

from __future__ import annotations

import csv
import dataclasses
import enum
import io
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dalink.errors import ReportError

SUPPRESSED = "[c]"
"""What a withheld value looks like in CSV and HTML (the ONS marker for "confidential")."""
TOTAL_LABEL = "Total"


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
        return cls._from_metadata(name, data, frame, columns, index_name)

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
        return cls._from_metadata(name, metadata, frame, columns, header[0])

    @classmethod
    def _from_metadata(
        cls, name: str, metadata: dict[str, Any], frame: pd.DataFrame, columns: dict[str, ColumnRole], index_name: str
    ) -> PublishedTable:
        """A table from its values and the metadata ``measures.json`` keeps beside them."""
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
            index_name=index_name,
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
