"""The public surface of ``import dalink``, pinned; and dalink works on its core dependencies alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dalink

PUBLIC = {
    "__version__", "PartnershipKey", "generate_key_file", "load_key", "LinkageSchema", "default_schema",
    "load_schema", "check_file", "encode_file", "encode_frame", "read_package", "LinkConfig", "link", "MeasureParameters",
    "compute_measures", "DisclosureRules", "build_report", "combined_chronology", "audit_package", "synthesise",
    "write_partnership", "run_demo", "DalinkError",
}
OPTIONAL = ("clkhash", "recordlinkage", "numba", "openpyxl", "bitarray", "anonlink", "splink", "matplotlib",
            "cryptography", "sklearn", "hypothesis")

# Runs in a fresh interpreter in which every optional package fails to import, as on an
# agency machine with only `pip install dalink`.
WITHOUT_OPTIONAL = """
import importlib.abc, sys
BLOCKED = set(sys.argv[1].split(","))
class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is not installed here")
        return None
sys.meta_path.insert(0, Blocker())
import dalink
loaded = BLOCKED & {name.split(".")[0] for name in sys.modules}
assert not loaded, loaded
result = dalink.run_demo(sys.argv[2], people=300)
assert result.report_html.exists()
loaded = BLOCKED & {name.split(".")[0] for name in sys.modules}
assert not loaded, loaded
print("ok", result.headline["victims"]["estimate"])
"""


def test_public_names_are_pinned_and_resolve() -> None:
    assert set(dalink.__all__) == PUBLIC
    for name in PUBLIC:
        assert getattr(dalink, name) is not None, name
    assert set(dir(dalink)) == PUBLIC


def test_import_dalink_is_light() -> None:
    code = "import sys, dalink; heavy = {'pandas', 'pyarrow', 'numpy'} & set(sys.modules); assert not heavy, heavy"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_the_whole_pipeline_runs_on_core_dependencies_alone(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-c", WITHOUT_OPTIONAL, ",".join(OPTIONAL), str(tmp_path / "demo")],
        capture_output=True, text=True, timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert completed.stdout.startswith("ok")
