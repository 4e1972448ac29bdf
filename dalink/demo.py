"""The whole pipeline on a synthetic partnership, as each role would run it.

``dalink demo -o DIR`` creates, inside ``DIR``::

    data/                 the synthetic agency extracts and their truth (dalink synth)
    partnership.key       the partnership key (agencies only; mode 0600)
    packages/<agency>.dalink   one encoded package per agency, each encoded separately
    linkage/              the linker's output (dalink link), made without the key
    report/               the partnership report (dalink report)
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from dalink.errors import OutputExistsError

logger = logging.getLogger(__name__)

DEFAULT_PEOPLE = 20_000
StageProgress = Callable[[str], Callable[[int, int], None] | None]


@dataclass(frozen=True)
class DemoResult:
    """Where the demo wrote things, and the headline numbers it found."""

    output_dir: Path
    report_html: Path
    headline: dict[str, dict[str, int]]
    truth: dict[str, int]
    timings: dict[str, float] = field(default_factory=dict)


def run_demo(
    output_dir: str | os.PathLike[str],
    *,
    people: int = DEFAULT_PEOPLE,
    seed: int = 1,
    stage_progress: StageProgress | None = None,
) -> DemoResult:
    """Synthesise → keygen → encode each agency → link → report, in ``output_dir`` (must not exist)."""
    root = Path(output_dir)
    if root.exists():
        raise OutputExistsError(f"{root}: the output exists; choose another directory or remove it first")
    root.mkdir(parents=True)
    try:
        return _run_stages(root, people=people, seed=seed, stage_progress=stage_progress)
    except BaseException:
        # a failed or interrupted demo leaves nothing behind, like every other dalink output
        shutil.rmtree(root, ignore_errors=True)
        raise


def _run_stages(root: Path, *, people: int, seed: int, stage_progress: StageProgress | None) -> DemoResult:
    from dalink.encode.encoder import encode_file
    from dalink.keys import generate_key_file
    from dalink.match.linker import link
    from dalink.report.report import build_report
    from dalink.synth import write_partnership

    timings: dict[str, float] = {}

    def stage(name: str) -> Callable[[int, int], None] | None:
        logger.info("demo stage: %s", name)
        return stage_progress(name) if stage_progress else None

    started = time.perf_counter()
    data_dir = root / "data"
    write_partnership(data_dir, people=people, seed=seed, progress=stage("synthesise partnership"))
    timings["synthesise"] = time.perf_counter() - started

    started = time.perf_counter()
    key = generate_key_file(root / "partnership.key")
    packages_dir = root / "packages"
    packages_dir.mkdir()
    packages = []
    for extract in sorted(data_dir.glob("*.csv")):
        if extract.stem == "truth":
            continue
        package = packages_dir / f"{extract.stem}.dalink"
        encode_file(
            extract,
            package,
            agency=extract.stem,
            key=key,
            progress=stage(f"encode {extract.stem}"),
            safe_accommodation=extract.stem == "refuge",  # a refuge's addresses are its own locations
        )
        packages.append(package)
    del key  # the linker never holds the key
    timings["encode"] = time.perf_counter() - started

    started = time.perf_counter()
    link(packages, root / "linkage", progress=stage("link"))
    timings["link"] = time.perf_counter() - started

    started = time.perf_counter()
    report = build_report(root / "linkage", root / "report", progress=stage("report"))
    timings["report"] = time.perf_counter() - started

    measures = json.loads((root / "report" / "measures.json").read_text(encoding="utf-8"))["measures"]
    truth_path = data_dir / "truth_measures.json"
    truth_all = json.loads(truth_path.read_text(encoding="utf-8")) if truth_path.exists() else {}
    truth_counts = truth_all.get("headline", truth_all)
    truth = {name: int(truth_counts[name]) for name in measures if isinstance(truth_counts.get(name), (int, float))}
    del report
    return DemoResult(
        output_dir=root,
        report_html=root / "report" / "report.html",
        headline=measures,
        truth=truth,
        timings=timings,
    )
