"""The DARDR learning notebook runs end to end, unattended, and matches the script that builds it."""

from __future__ import annotations

import importlib.util
import re
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOTEBOOK = EXAMPLES / "dardr_learning.ipynb"
BUILDER = EXAMPLES / "build_dardr_notebook.py"


def load_builder():
    spec = importlib.util.spec_from_file_location("build_dardr_notebook", BUILDER)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def execute(notebook, directory: Path, timeout: int = 240) -> float:
    client = nbclient.NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(directory)}}
    )
    started = time.perf_counter()
    client.execute()
    return time.perf_counter() - started


def outputs_text(notebook) -> str:
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                parts.append(output["text"])
            elif output.get("output_type") == "error":
                parts.append("ERROR " + output["ename"])
            else:
                parts.append(str(output.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


def with_parameters(notebook, **values):
    """Replace the parameters cell (the first code cell), as papermill would."""
    cell = next(cell for cell in notebook.cells if cell.cell_type == "code")
    assert "PEOPLE" in cell.source and "REVIEWS" in cell.source
    cell.source = "\n".join(f"{name} = {value!r}" for name, value in values.items())
    return notebook


def test_the_notebook_is_built_by_its_script() -> None:
    """Cells compared, not bytes, so another nbformat version's layout does not fail the test."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    built = load_builder().build_notebook()
    assert [(cell.cell_type, cell.source) for cell in notebook.cells] == [
        (cell.cell_type, cell.source) for cell in built.cells
    ], "examples/dardr_learning.ipynb is out of date: run python examples/build_dardr_notebook.py"
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")


def test_the_notebook_runs_end_to_end(tmp_path: Path) -> None:
    """A smaller partnership than the notebook's default, to keep the default test run quick."""
    notebook = with_parameters(nbformat.read(NOTEBOOK, as_version=4), PEOPLE=500, SEED=7, REVIEWS=6, WORK_DIR=str(tmp_path / "work"))
    execute(notebook, tmp_path)
    text = outputs_text(notebook)
    assert "ERROR" not in text
    assert "RequestRefused" in text  # the refusal cell shows the refusal
    assert "audit entries: 6 (chain intact)" in text
    assert "Learning across 6 review(s)" in text
    assert "events returned that are the subject's" in text
    images = [o for cell in notebook.cells for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) == 2  # the timeline and the learning chart (matplotlib is in the test extra)
    assert (tmp_path / "work" / "linkage" / "chronology_audit.jsonl").exists()


@pytest.mark.slow
def test_the_notebook_runs_as_shipped_in_under_two_minutes(tmp_path: Path) -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    seconds = execute(notebook, tmp_path, timeout=120)
    assert "ERROR" not in outputs_text(notebook)
    assert seconds < 120, seconds
    text = outputs_text(notebook)
    working = re.search(r"working in (\S+)", text)
    assert working and not Path(working.group(1)).exists()  # the temporary working directory is removed
