"""Heavier report checks (``pytest -m slow``): the real pipeline end to end, and the page
rendered by headless Chromium."""

from __future__ import annotations

import json
import os
import struct
import sys
from pathlib import Path

import pytest

from dalink.report.disclosure import DisclosureRules, PublishedTable, check_table
from dalink.report.report import build_report
from dalink.report.uncertainty import UncertaintyConfig
from linkage_fixture import make_events, write_linkage

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"

pytestmark = pytest.mark.slow


def test_synth_encode_link_report_end_to_end(tmp_path: Path) -> None:
    from dalink.encode.encoder import encode_file
    from dalink.keys import PartnershipKey
    from dalink.match.linker import link
    from dalink.synth import write_partnership

    extracts = write_partnership(tmp_path / "synth", people=2500, seed=5)
    key = PartnershipKey(os.urandom(32))
    packages = []
    for extract in sorted(extracts.glob("*.csv")):
        if extract.name != "truth.csv":
            encode_file(extract, tmp_path / f"{extract.stem}.dalink", agency=extract.stem, key=key)
            packages.append(tmp_path / f"{extract.stem}.dalink")
    link(packages, tmp_path / "linkage")
    result = build_report(tmp_path / "linkage", tmp_path / "report", uncertainty=UncertaintyConfig(replicates=60))

    truth = json.loads((extracts / "truth_measures.json").read_text())["headline"]
    for key_name in ("victims", "repeat_victims", "movers", "moves", "refuge_referrals_moved_in"):
        estimate = result.intervals.intervals[key_name].estimate
        assert abs(estimate - truth[key_name]) <= 0.03 * truth[key_name] + 2, key_name
    document = json.loads((tmp_path / "report" / "measures.json").read_text())
    for name, data in document["tables"].items():
        assert check_table(PublishedTable.from_json(name, data), DisclosureRules()) == [], name


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    sys.path.insert(0, str(BENCHMARKS))
    from screenshot_report import find_chromium, screenshot

    if find_chromium() is None:
        pytest.skip("chromium is not installed")
    linkage = write_linkage(tmp_path / "linkage", make_events(800, seed=3), split_rate=0.03, merge_rate=0.01)
    build_report(linkage, tmp_path / "report", uncertainty=UncertaintyConfig(replicates=20))
    image = screenshot(tmp_path / "report" / "report.html", tmp_path / "report.png", width=1100, height=3000)
    assert _png_size(image) == (1100, 3000)
    assert image.stat().st_size > 50_000, "a blank page compresses to almost nothing"
