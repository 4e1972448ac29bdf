"""The linkage benchmarks run at smoke size so they cannot rot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.mark.parametrize("script", ["bench_link_quality.py", "bench_link_speed.py"])
def test_benchmark_smoke(script: str) -> None:
    pytest.importorskip("recordlinkage")
    completed = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--smoke"], capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "dalink" in completed.stdout
