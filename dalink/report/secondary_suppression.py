"""Secondary suppression: the linear relations between a table's cells, and withholding more
cells until no withheld cell can be worked out from them.

Why a module of its own: this is the solver behind rule 3 of :mod:`dalink.report.disclosure`
(a withheld cell is recoverable exactly when the null space of the relations restricted to
the withheld cells is zero in its coordinate); both protecting and checking a table use it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

import numpy as np

from dalink.report.published_table import TOTAL_LABEL, TableKind


@dataclasses.dataclass(frozen=True)
class _Grid:
    """The count cells of a table as a flat vector, with the linear relations between them."""

    cells: list[tuple[int, int]]  # (row position, column position) per variable
    is_total: np.ndarray  # bool per variable
    structural: np.ndarray  # bool per variable: zero by the table's definition (a move to the same area)
    relations: np.ndarray  # (relations, variables) coefficients; each row sums to 0


def _grid(
    kind: TableKind,
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    count_columns: Sequence[int],
    *,
    total_row: bool,
    total_column: bool,
    structural_zero_diagonal: bool = False,
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
    structural = np.array(
        [
            structural_zero_diagonal and row_labels[row] == column_labels[column] != TOTAL_LABEL
            for row, column in cells
        ],
        dtype=bool,
    )
    relations_about_data = _without_structure(matrix, structural)
    return _Grid(cells=cells, is_total=is_total, structural=structural, relations=relations_about_data)


def _without_structure(relations: np.ndarray, structural: np.ndarray) -> np.ndarray:
    """The relations that say something about the data, not only about the table's shape.

    A structurally zero cell adds nothing to a relation, and a relation left with one cell
    forces that cell to zero whatever the data (a total over one area's impossible moves to
    itself, or over no areas at all), so that cell is structural too. Why: otherwise such
    cells count as "worked out from published cells" and no withholding can hide them.
    """
    relations = relations.copy()
    relations[:, structural] = 0.0
    while relations.shape[0]:
        members = (np.abs(relations) > 0).sum(axis=1)
        single = members == 1
        if not single.any():
            break
        forced = (np.abs(relations[single]) > 0).any(axis=0)
        relations[:, forced] = 0.0
        relations = relations[~single]
    return relations[(np.abs(relations) > 0).sum(axis=1) >= 2]


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
