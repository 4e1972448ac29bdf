"""Disclosure control: primary suppression, rounding, zeros in movement tables, secondary
suppression against totals and symmetric twins, and a checker that catches each failure."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dalink.errors import ReportError
from dalink.report.disclosure import (
    SUPPRESSED,
    TOTAL_LABEL,
    ColumnRole,
    DisclosureRules,
    PublishedTable,
    TableKind,
    check_table,
    protect_table,
    recoverable_cells,
    with_rates,
)

RULES = DisclosureRules()


def matrix(values: list[list[int]], labels: str = "ABCDEFGH") -> pd.DataFrame:
    names = list(labels[: len(values)])
    return pd.DataFrame(values, index=pd.Index(names, name="origin"), columns=names)


def published(frame: pd.DataFrame, kind: TableKind, **flags: bool) -> PublishedTable:
    """A hand-made 'published' table, to check that the checker catches bad ones."""
    return PublishedTable(
        name="hand_made",
        title="hand made",
        kind=kind,
        frame=frame.astype(float),
        columns={str(column): ColumnRole.COUNT for column in frame.columns},
        **flags,
    )


# --------------------------------------------------------------------------- rules


def test_rounding_is_half_up_to_the_base() -> None:
    assert [RULES.round_count(value) for value in (10, 12, 13, 15, 17, 18, 22, 23)] == [10, 10, 15, 15, 15, 20, 20, 25]
    assert RULES.round_down(14) == 10 and RULES.round_up(11) == 15 and RULES.round_up(15) == 15
    assert DisclosureRules(rounding_base=1).round_count(13) == 13


def test_primary_suppression_of_small_counts_and_zeros_only_where_disclosive() -> None:
    assert RULES.is_primary_suppressed(1, zeros_disclosive=False)
    assert RULES.is_primary_suppressed(9, zeros_disclosive=False)
    assert not RULES.is_primary_suppressed(10, zeros_disclosive=False)
    assert not RULES.is_primary_suppressed(0, zeros_disclosive=False)
    assert RULES.is_primary_suppressed(0, zeros_disclosive=True)


def test_rules_are_validated() -> None:
    with pytest.raises(ValueError):
        DisclosureRules(threshold=0)
    with pytest.raises(ValueError):
        DisclosureRules(rounding_base=0)
    with pytest.raises(ValueError):
        DisclosureRules(unknown=1)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="round to 0"):
        DisclosureRules(threshold=2, rounding_base=5)


# --------------------------------------------------------------------------- protection


def test_series_with_total_gets_a_complementary_suppression() -> None:
    counts = pd.DataFrame({"referrals": [40, 3, 55, 120]}, index=pd.Index(["a", "b", "c", "d"], name="month"))
    table = protect_table("series", counts, RULES, kind=TableKind.SERIES, title="t", total_row=True)
    values = table.frame["referrals"]
    assert pd.isna(values["b"])
    assert values.isna().sum() >= 2, "one withheld cell and a published total give it away"
    assert pd.isna(values["a"]), "the smallest other cell is the cheapest complement"
    assert values["d"] == 120 and values[TOTAL_LABEL] == 220
    assert check_table(table, RULES) == []


def test_moves_matrix_withholds_zeros_and_protects_totals() -> None:
    counts = matrix([[0, 12, 0], [25, 0, 40], [7, 11, 0]])
    table = protect_table(
        "moves", counts, RULES, kind=TableKind.MATRIX, title="t", total_row=True, total_column=True,
        zeros_disclosive=True, structural_zero_diagonal=True, keep_published=[(TOTAL_LABEL, TOTAL_LABEL)],
    )
    frame = table.frame
    assert pd.isna(frame.at["A", "C"]), "a zero flow is withheld"
    assert pd.isna(frame.at["C", "A"]), "a small flow is withheld"
    assert frame.at["A", "A"] == 0, "a move from an area to itself is impossible, so its zero is shown"
    assert frame.at[TOTAL_LABEL, TOTAL_LABEL] == 95
    assert check_table(table, RULES) == []


@pytest.mark.parametrize("values", [[], [[0]]], ids=["no authorities", "one authority"])
def test_moves_matrix_of_no_or_one_authority(values: list[list[int]]) -> None:
    # once crashed: every cell withheld, and the totals still "worked out" from the shape alone
    table = protect_table(
        "moves", matrix(values), RULES, kind=TableKind.MATRIX, title="t", total_row=True, total_column=True,
        zeros_disclosive=True, structural_zero_diagonal=True, keep_published=[(TOTAL_LABEL, TOTAL_LABEL)],
    )
    assert check_table(table, RULES) == []
    if values:
        assert table.frame.at["A", "A"] == 0


def test_symmetric_matrix_withholds_both_twins() -> None:
    counts = pd.DataFrame([[100, 5, 30], [5, 50, 12], [30, 12, 40]], index=list("xyz"), columns=list("xyz"))
    table = protect_table("overlap", counts, RULES, kind=TableKind.SYMMETRIC_MATRIX, title="t")
    assert pd.isna(table.frame.at["x", "y"]) and pd.isna(table.frame.at["y", "x"])
    assert table.frame.at["y", "z"] == table.frame.at["z", "y"] == 10
    assert check_table(table, RULES) == []


def test_keep_published_cells_are_not_chosen_as_complements() -> None:
    counts = pd.DataFrame({"count": [3, 50, 60]}, index=pd.Index(["a", "b", "c"], name="row"))
    table = protect_table(
        "t", counts, RULES, kind=TableKind.SERIES, title="t", total_row=True, keep_published=[(TOTAL_LABEL, "count")]
    )
    assert table.frame.at[TOTAL_LABEL, "count"] == 115
    assert pd.isna(table.frame.at["b", "count"])


def test_structural_zero_must_be_zero() -> None:
    with pytest.raises(ReportError, match="structurally zero"):
        protect_table(
            "moves", matrix([[5, 1], [1, 0]]), RULES, kind=TableKind.MATRIX, title="t",
            total_row=True, total_column=True, structural_zero_diagonal=True,
        )


def test_missing_raw_counts_are_refused() -> None:
    with pytest.raises(ReportError):
        protect_table("t", pd.DataFrame({"c": [1.0, np.nan]}), RULES, kind=TableKind.SERIES, title="t")


def test_rates_are_withheld_with_their_counts() -> None:
    counts = pd.DataFrame(
        {"records": [200, 8, 300, 50], "linked": [120, 4, 296, 25]}, index=pd.Index(list("abcd"), name="agency")
    )
    table = protect_table("q", counts, RULES, kind=TableKind.SERIES, title="t")
    table = with_rates(table, {"linked_percent": (counts["linked"], counts["records"])}, RULES)
    rates = table.frame["linked_percent"]
    assert rates["a"] == 60 and rates["d"] == 50
    assert pd.isna(rates["b"]), "withheld counts, withheld rate"
    assert pd.isna(rates["c"]), "99% of 300 would give away the 4 unlinked records"
    assert check_table(table, RULES) == []


# --------------------------------------------------------------------------- the checker can fail


def test_checker_flags_small_unrounded_and_negative_counts() -> None:
    frame = pd.DataFrame({"count": [7.0, 12.0, -5.0, 20.0]}, index=list("abcd"))
    reasons = [problem.reason for problem in check_table(published(frame, TableKind.SERIES), RULES)]
    assert any("below the threshold" in reason for reason in reasons)
    assert any("multiple of 5" in reason for reason in reasons)
    assert any("negative" in reason for reason in reasons)


def test_checker_flags_a_cell_recoverable_from_its_total() -> None:
    frame = pd.DataFrame({"count": [np.nan, 20.0, 30.0, 55.0]}, index=["a", "b", "c", TOTAL_LABEL])
    problems = check_table(published(frame, TableKind.SERIES, total_row=True), RULES)
    assert [(problem.row, problem.column) for problem in problems] == [("a", "count")]


def test_checker_flags_a_zero_in_a_movement_table_and_a_missing_row() -> None:
    frame = matrix([[0, 0, 20], [15, 0, 20], [10, 10, 0]])
    frame["Total"] = frame.sum(axis=1)
    frame.loc[TOTAL_LABEL] = frame.sum(axis=0)
    table = published(frame, TableKind.MATRIX, total_row=True, total_column=True, zeros_disclosive=True,
                      structural_zero_diagonal=True)
    assert [(p.row, p.column) for p in check_table(table, RULES)] == [("A", "B")]
    shorter = published(frame.drop(index="C"), TableKind.MATRIX, zeros_disclosive=True)
    assert any("rows and columns differ" in p.reason for p in check_table(shorter, RULES))


def test_checker_flags_a_symmetric_twin() -> None:
    frame = pd.DataFrame([[100, np.nan], [5, 50]], index=list("xy"), columns=list("xy"), dtype=float)
    frame.iloc[1, 0] = 15
    problems = check_table(published(frame, TableKind.SYMMETRIC_MATRIX), RULES)
    assert [(p.row, p.column) for p in problems] == [("x", "y")]


def test_checker_finds_a_cell_recoverable_only_through_a_chain_of_lines() -> None:
    """Every line has two withheld cells, yet the bridge between two cycles is determined:
    the 'two per line' rule misses it, the null-space test does not."""
    values = np.full((5, 5), 20.0)
    hidden = [(0, 0), (0, 1), (1, 0), (1, 1), (2, 2), (2, 3), (3, 2), (3, 3), (0, 2)]
    frame = pd.DataFrame(values, index=list("ABCDE"), columns=list("ABCDE"))
    frame["Total"] = frame.sum(axis=1)
    frame.loc[TOTAL_LABEL] = frame.sum(axis=0)
    for row, column in hidden:
        frame.iat[row, column] = np.nan
    problems = check_table(published(frame, TableKind.MATRIX, total_row=True, total_column=True), RULES)
    assert [(p.row, p.column) for p in problems] == [("A", "C")]


def test_rate_or_bound_of_a_withheld_count_is_flagged() -> None:
    frame = pd.DataFrame({"estimate": [np.nan], "lower": [0.0], "upper": [np.nan], "rate": [40.0]}, index=["x"])
    table = PublishedTable(
        name="h", title="h", kind=TableKind.SERIES, frame=frame,
        columns={"estimate": ColumnRole.COUNT, "lower": ColumnRole.BOUND, "upper": ColumnRole.BOUND, "rate": ColumnRole.RATE},
    )
    reasons = {problem.reason for problem in check_table(table, RULES)}
    assert "bound of a withheld estimate is shown" in reasons
    assert "rate shown in a row with a withheld count" in reasons


# --------------------------------------------------------------------------- serialisation


def test_csv_and_json_round_trip(tmp_path) -> None:
    counts = matrix([[0, 30, 4], [25, 0, 40], [70, 11, 0]])
    table = protect_table("moves", counts, RULES, kind=TableKind.MATRIX, title="t", total_row=True,
                          total_column=True, zeros_disclosive=True, structural_zero_diagonal=True)
    path = tmp_path / "moves.csv"
    path.write_text(table.to_csv())
    assert SUPPRESSED in path.read_text()
    from_csv = PublishedTable.from_csv("moves", path, table.metadata())
    from_json = PublishedTable.from_json("moves", table.to_json())
    for other in (from_csv, from_json):
        pd.testing.assert_frame_equal(other.frame, table.frame, check_names=False)
        assert check_table(other, RULES) == []


# --------------------------------------------------------------------------- properties

cell_counts = st.one_of(st.integers(0, 12), st.integers(0, 400))


@settings(max_examples=60, deadline=None)
@given(
    # down to one local authority, or none (a partnership whose extracts carry no authority)
    st.integers(0, 6).flatmap(
        lambda size: st.lists(st.lists(cell_counts, min_size=size, max_size=size), min_size=size, max_size=size)
    ),
    st.integers(2, 15),
    st.sampled_from([1, 3, 5, 10]),
)
def test_any_movement_matrix_is_protected(values: list[list[int]], threshold: int, base: int) -> None:
    assume(2 * threshold >= base)
    rules = DisclosureRules(threshold=threshold, rounding_base=base)
    for index in range(len(values)):
        values[index][index] = 0
    table = protect_table(
        "moves", matrix(values), rules, kind=TableKind.MATRIX, title="t", total_row=True, total_column=True,
        zeros_disclosive=True, structural_zero_diagonal=True,
    )
    assert check_table(table, rules) == []
    raw = matrix(values)
    for origin in raw.index:
        for destination in raw.columns:
            value = raw.at[origin, destination]
            shown = table.frame.at[origin, destination]
            if origin == destination:
                assert shown == 0
            elif value < threshold:
                assert pd.isna(shown)
            elif not pd.isna(shown):
                assert shown == rules.round_count(value) and abs(shown - value) <= base / 2


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(cell_counts, cell_counts), min_size=1, max_size=14),
    st.booleans(),
)
def test_any_series_is_protected(rows: list[tuple[int, int]], total: bool) -> None:
    counts = pd.DataFrame(rows, columns=["first", "second"], index=pd.Index([f"r{i}" for i in range(len(rows))], name="row"))
    table = protect_table("series", counts, RULES, kind=TableKind.SERIES, title="t", total_row=total)
    assert check_table(table, RULES) == []
    shown = table.frame.drop(index=TOTAL_LABEL, errors="ignore")
    small = (counts > 0) & (counts < RULES.threshold)
    assert shown[small].isna().all().all()


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 7).flatmap(lambda size: st.tuples(st.just(size), st.lists(cell_counts, min_size=size * size, max_size=size * size))))
def test_any_symmetric_matrix_is_protected(drawn: tuple[int, list[int]]) -> None:
    size, flat = drawn
    values = np.array(flat).reshape(size, size)
    values = np.triu(values) + np.triu(values, 1).T
    names = [f"agency{i}" for i in range(size)]
    table = protect_table("overlap", pd.DataFrame(values, index=names, columns=names), RULES,
                          kind=TableKind.SYMMETRIC_MATRIX, title="t")
    assert check_table(table, RULES) == []
    frame = table.frame.to_numpy()
    assert np.array_equal(np.isnan(frame), np.isnan(frame.T))


def test_recoverable_cells_on_a_plain_system() -> None:
    relations = np.array([[1.0, 1.0, 1.0, -1.0]])  # a + b + c = total
    assert recoverable_cells(relations, np.array([True, False, False, False])).tolist() == [0]
    assert recoverable_cells(relations, np.array([True, True, False, False])).tolist() == []
    assert recoverable_cells(np.zeros((0, 4)), np.array([True, False, False, False])).tolist() == []


def test_protected_table_is_frozen() -> None:
    table = protect_table("t", pd.DataFrame({"c": [20]}), RULES, kind=TableKind.SERIES, title="t")
    with pytest.raises(dataclasses.FrozenInstanceError):
        table.name = "other"  # type: ignore[misc]
