"""Every benchmark outside the linker's runs at smoke size here, so none can rot.

(The linker's own benchmarks are smoke-tested in ``tests/match/test_benchmarks.py``.) The
figures printed at this size mean nothing; the point is that each script still runs end to
end against the current code and prints its table, reference tools included.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("bench_encode.py", "clkhash"),
        ("bench_encode_clkhash.py", "clkhash"),
        ("bench_synth.py", "records/s"),
        ("bench_linkage_bias.py", "recall spread"),
        ("bench_privacy.py", "unhardened"),
        ("bench_privacy_curve.py", "chosen:"),
        ("bench_privacy_clustering.py", "copies"),
        ("bench_report_accuracy.py", "victims"),
        ("bench_report_coverage.py", "victims"),
    ],
)
def test_benchmark_runs_at_smoke_size(script: str, expected: str, tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--smoke"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert expected in completed.stdout, completed.stdout[-2000:]
