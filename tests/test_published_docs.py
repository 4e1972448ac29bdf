"""Generated artefacts stay current, and the documentation builds without warnings."""

from __future__ import annotations

import difflib
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_published_json_schemas_are_generated_from_the_models() -> None:
    generator = _tool("generate_schemas")
    documents = generator.schema_documents()
    published = {path.name for path in (ROOT / "schemas").glob("*.json")}
    assert published == set(documents), "run tools/generate_schemas.py"
    for name, content in documents.items():
        assert json.loads((ROOT / "schemas" / name).read_text()) == json.loads(generator.render(content)), (
            f"schemas/{name} is stale: run tools/generate_schemas.py"
        )


def test_cli_reference_is_generated_from_the_help_texts() -> None:
    generator = _tool("generate_cli_docs")
    published, current = generator.TARGET.read_text(encoding="utf-8"), generator.render()
    difference = "".join(difflib.unified_diff(published.splitlines(True), current.splitlines(True), n=1))
    assert difference == "", "run tools/generate_cli_docs.py:\n" + difference[:3000]


def test_every_docs_page_is_in_the_navigation() -> None:
    navigation = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    pages = [path.relative_to(ROOT / "docs").as_posix() for path in (ROOT / "docs").rglob("*.md")]
    assert [page for page in pages if page not in navigation] == []


def test_docs_build_strictly(tmp_path: Path) -> None:
    # mkdocs is in the test extra, so this runs in CI; strict mode turns every warning into a failure
    assert shutil.which("mkdocs") or importlib.util.find_spec("mkdocs"), "install the test extra (mkdocs)"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "site" / "reference" / "api" / "index.html").exists()
