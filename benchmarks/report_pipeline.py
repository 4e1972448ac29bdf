"""Shared by the report benchmarks: one synthetic partnership through the whole pipeline.

``dalink synth`` → ``dalink encode`` (a fresh random key per partnership, as in real use) →
``dalink link`` → the linkage directory, plus the truth's headline counts from
``truth_measures.json``. Results are cached in the work directory, so re-running a benchmark
with other report settings does not re-link.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
from pathlib import Path

from dalink.encode.encoder import encode_file
from dalink.keys import PartnershipKey
from dalink.match.linker import link
from dalink.synth import write_partnership

TRUTH_MEASURES_FILE = "truth_measures.json"


@dataclasses.dataclass(frozen=True)
class LinkedPartnership:
    """A linked synthetic partnership and its truth."""

    seed: int
    records: int
    linkage_dir: Path
    truth: dict[str, int]
    seconds: float


def linked_partnership(work_dir: Path, *, people: int, seed: int, keep_extracts: bool = False) -> LinkedPartnership:
    """Synthesise, encode and link one partnership (or reuse a cached one)."""
    root = work_dir / f"people{people}-seed{seed}"
    linkage_dir = root / "linkage"
    truth_file = root / TRUTH_MEASURES_FILE
    if linkage_dir.exists() and truth_file.exists():
        summary = json.loads((linkage_dir / "summary.json").read_text())
        truth = json.loads(truth_file.read_text())["headline"]
        return LinkedPartnership(seed, int(summary["records"]), linkage_dir, truth, 0.0)
    started = time.perf_counter()
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    extracts = root / "synth"
    write_partnership(extracts, people=people, seed=seed)
    key = PartnershipKey(os.urandom(32))
    packages = []
    for extract in sorted(extracts.glob("*.csv")):
        if extract.name == "truth.csv":
            continue
        package = root / f"{extract.stem}.dalink"
        encode_file(extract, package, agency=extract.stem, key=key)
        packages.append(package)
    result = link(packages, linkage_dir)
    shutil.copy(extracts / TRUTH_MEASURES_FILE, truth_file)
    shutil.copy(extracts / "truth.csv", root / "truth.csv")
    if not keep_extracts:
        shutil.rmtree(extracts)
        for package in packages:
            shutil.rmtree(package)
    truth = json.loads(truth_file.read_text())["headline"]
    return LinkedPartnership(seed, int(result.summary["records"]), linkage_dir, truth, time.perf_counter() - started)
