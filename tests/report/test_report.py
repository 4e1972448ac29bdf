"""``build_report`` end to end on fixture linkages: the outputs, their shape, that every table
in every output passes disclosure control, that the page is self-contained, atomic writing."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from dalink.errors import OutputExistsError, ReportError
from dalink.report.disclosure import SUPPRESSED, DisclosureRules, PublishedTable, check_table
from dalink.report.measures import HEADLINE_KEYS, MeasureParameters, compute_measures
from dalink.report.report import build_report
from dalink.report.uncertainty import UncertaintyConfig
from linkage_fixture import make_events, write_linkage

FAST = UncertaintyConfig(replicates=20)


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return make_events(500, seed=11)


@pytest.fixture(scope="module")
def linkage_dir(tmp_path_factory: pytest.TempPathFactory, events: pd.DataFrame) -> Path:
    return write_linkage(tmp_path_factory.mktemp("linkage") / "linkage", events, split_rate=0.03, merge_rate=0.01)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory, linkage_dir: Path):
    return build_report(linkage_dir, tmp_path_factory.mktemp("report") / "report", uncertainty=FAST)


class _Tables(HTMLParser):
    """Collects every ``<table data-table=...>`` of the page as rows of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[list[str]]]] = {}  # name -> occurrences -> rows -> cells
        self._current: str | None = None
        self._cell: list[str] | None = None
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "table":
            self._current = dict(attrs).get("data-table")
            if self._current:
                self.tables.setdefault(self._current, []).append([])
        elif tag == "tr" and self._current:
            self.tables[self._current][-1].append([])
        elif tag in ("td", "th") and self._current:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._current and self._cell is not None:
            self.tables[self._current][-1][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._current = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def test_outputs_exist(report) -> None:
    names = sorted(path.relative_to(report.output_dir).as_posix() for path in report.output_dir.rglob("*"))
    assert "report.html" in names and "measures.json" in names
    assert {f"tables/{name}.csv" for name in report.tables} <= set(names)
    assert not list(report.output_dir.parent.glob(".*.partial")), "no temporary directory is left behind"


def test_measures_json_shape(report) -> None:
    document = json.loads((report.output_dir / "measures.json").read_text())
    assert document["format"] == "dalink-measures" and document["format_version"] == 1
    assert list(document["measures"]) == list(HEADLINE_KEYS)
    for key, value in document["measures"].items():
        assert set(value) == {"estimate", "lower", "upper"}, key
        assert all(isinstance(number, int) for number in value.values()), key
        assert value["lower"] <= value["estimate"] <= value["upper"], key
    assert document["parameters"] == MeasureParameters().model_dump(mode="json")
    assert document["disclosure_control"] == {"threshold": 10, "rounding_base": 5}
    assert {"victims_by_agency", "agency_overlap", "moves_origin_destination", "duplicate_referrals_over_time",
            "headline", "linkage_quality_by_agency"} <= set(document["tables"])
    quality = document["linkage_quality"]
    assert 0 < quality["estimated_precision"] <= 1 and 0 < quality["estimated_recall"] <= 1


def test_headline_estimates_are_the_rounded_replicate_medians(report, linkage_dir: Path) -> None:
    observed = compute_measures(pd.read_parquet(linkage_dir / "entities.parquet")).headline()
    rules = DisclosureRules()
    for key, headline in report.headlines.items():
        interval = report.intervals.intervals[key]
        assert interval.linked == observed[key], key
        assert abs(interval.estimate - report.intervals.replicates[key].median()) <= 0.5, key
        assert interval.lower <= min(interval.estimate, interval.linked), key
        assert interval.upper >= max(interval.estimate, interval.linked), key
        assert headline.estimate == rules.round_count(interval.estimate), key


def _all_published_tables(output_dir: Path) -> list[PublishedTable]:
    document = json.loads((output_dir / "measures.json").read_text())
    tables = []
    for name, data in document["tables"].items():
        tables.append(PublishedTable.from_json(name, data))
        tables.append(PublishedTable.from_csv(name, output_dir / "tables" / f"{name}.csv", data))
    return tables


def _check_outputs(output_dir: Path, rules: DisclosureRules) -> None:
    """Every table of measures.json, of tables/*.csv and of report.html against the rules."""
    document = json.loads((output_dir / "measures.json").read_text())
    csv_files = {path.stem for path in (output_dir / "tables").glob("*.csv")}
    assert csv_files == set(document["tables"]), "every CSV is described in measures.json"
    for table in _all_published_tables(output_dir):
        assert check_table(table, rules) == [], table.name
    for key, value in document["measures"].items():
        if value["estimate"] is None:
            assert value["lower"] is None and value["upper"] is None
            continue
        for number in value.values():
            assert number % rules.rounding_base == 0, key
        assert value["estimate"] == 0 or value["estimate"] >= rules.smallest_published, key
    parser = _Tables()
    parser.feed((output_dir / "report.html").read_text())
    assert set(parser.tables) <= set(document["tables"])
    for name, occurrences in parser.tables.items():
        csv_rows = [line.split(",") for line in (output_dir / "tables" / f"{name}.csv").read_text().splitlines()]
        for rows in occurrences:
            assert rows == csv_rows, f"HTML table {name} shows exactly the published CSV"
    page = (output_dir / "report.html").read_text()
    for value in re.findall(r'class="value"[^>]*>([^<]+)<', page):
        text = value.strip().replace(",", "")
        assert text == SUPPRESSED or int(text) % rules.rounding_base == 0 or int(text) <= 100, value


def test_every_table_in_every_output_passes_disclosure_control(report) -> None:
    _check_outputs(report.output_dir, DisclosureRules())


@pytest.mark.parametrize("threshold, base", [(5, 1), (20, 10)])
def test_other_rules_hold_in_every_output(tmp_path: Path, linkage_dir: Path, threshold: int, base: int) -> None:
    rules = DisclosureRules(threshold=threshold, rounding_base=base)
    result = build_report(linkage_dir, tmp_path / "report", disclosure_rules=rules, uncertainty=FAST)
    _check_outputs(result.output_dir, rules)


def test_a_tiny_partnership_is_mostly_withheld_but_still_passes(tmp_path: Path) -> None:
    linkage = write_linkage(tmp_path / "linkage", make_events(12, seed=2))
    result = build_report(linkage, tmp_path / "report", uncertainty=FAST)
    _check_outputs(result.output_dir, DisclosureRules())
    document = json.loads((result.output_dir / "measures.json").read_text())
    assert document["measures"]["hidden_repeat_victims"] == {"estimate": None, "lower": None, "upper": None}
    assert "[c]" in (result.output_dir / "report.html").read_text()


def test_html_is_self_contained(report) -> None:
    page = (report.output_dir / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"https?://", page), "no network reference of any kind"
    assert "<script" not in page.lower()
    parser = _Tables()
    parser.feed(page)
    for tag, attributes in parser.tags:
        assert tag not in ("link", "img", "iframe", "object", "embed", "audio", "video"), tag
        for name in ("src", "href", "srcset"):
            assert name not in attributes or str(attributes[name]).startswith(("#", "data:")), (tag, name)
    assert "@import" not in page and "url(http" not in page
    assert page.count("<svg") >= 5, "the charts are inline SVG"


def test_html_mentions_no_record_id_or_entity_id(report, linkage_dir: Path) -> None:
    page = (report.output_dir / "report.html").read_text() + (report.output_dir / "measures.json").read_text()
    entities = pd.read_parquet(linkage_dir / "entities.parquet")
    for value in entities["record_id"].head(50).tolist() + entities["entity_id"].head(50).tolist():
        assert value not in page


def test_output_is_never_overwritten_silently(tmp_path: Path, linkage_dir: Path) -> None:
    target = tmp_path / "report"
    target.mkdir()
    with pytest.raises(OutputExistsError):
        build_report(linkage_dir, target, uncertainty=FAST)
    build_report(linkage_dir, target, uncertainty=FAST, overwrite=True)
    assert (target / "report.html").exists()


def test_failure_leaves_nothing_behind(tmp_path: Path, linkage_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import dalink.report.report as module

    def broken(*args: object, **kwargs: object) -> str:
        raise RuntimeError("renderer failed")

    monkeypatch.setattr(module, "render_report", broken)
    with pytest.raises(RuntimeError):
        build_report(linkage_dir, tmp_path / "report", uncertainty=FAST)
    assert list(tmp_path.iterdir()) == []


def test_not_a_linkage_directory(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="not a directory"):
        build_report(tmp_path / "missing", tmp_path / "report")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReportError, match="entities.parquet"):
        build_report(tmp_path / "empty", tmp_path / "report")


def test_parameters_change_the_measures(tmp_path: Path, linkage_dir: Path, report) -> None:
    any_referral = MeasureParameters(duplicate_event_type=None, repeat_days=90)
    result = build_report(linkage_dir, tmp_path / "report", any_referral, uncertainty=FAST)
    assert result.measures.duplicate_referrals >= report.measures.duplicate_referrals
    assert result.measures.repeat_victims <= report.measures.repeat_victims
    document = json.loads((result.output_dir / "measures.json").read_text())
    assert document["parameters"]["duplicate_event_type"] is None and document["parameters"]["repeat_days"] == 90


def test_sparse_months_are_grouped_into_quarters_or_years() -> None:
    from dalink.report.tables import _over_time

    months = pd.Index([f"2023-{month:02d}" for month in range(1, 13)], name="month")
    rules = DisclosureRules()
    busy = pd.DataFrame({"referrals": 100, "duplicate_referrals": 12}, index=months)
    assert _over_time(busy, rules).index.name == "month"
    quiet = pd.DataFrame({"referrals": 40, "duplicate_referrals": 4}, index=months)
    grouped = _over_time(quiet, rules)
    assert grouped.index.name == "quarter" and grouped.index.tolist() == ["2023Q1", "2023Q2", "2023Q3", "2023Q4"]
    assert grouped["duplicate_referrals"].tolist() == [12, 12, 12, 12]
    rare = pd.DataFrame({"referrals": 5, "duplicate_referrals": 1}, index=months)
    assert _over_time(rare, rules).index.name == "year"


def test_area_labels_use_known_names_and_fall_back_to_codes() -> None:
    from dalink.report.render import area_label

    assert area_label("E07000096") == "Dacorum (E07000096)"
    assert area_label("Z99999999") == "Z99999999"
