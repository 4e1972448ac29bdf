"""Regenerate the JSON Schemas in ``schemas/`` from the pydantic models (never edit them by hand).

    python tools/generate_schemas.py

``tests/test_published_schemas.py`` fails when a model changes and this was not rerun.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"


def schema_documents() -> dict[str, Any]:
    """Every published file under ``schemas/``, by name: the formats dalink reads and writes."""
    from dalink.audit.report import AuditReport
    from dalink.chronology.audit_log import AuditEntry
    from dalink.encode.package import Manifest
    from dalink.encode.schema import LinkageSchema, default_schema
    from dalink.match.linker import LinkConfig
    from dalink.match.model import ModelParameters
    from dalink.match.outputs import LinkageInputs
    from dalink.report.disclosure import DisclosureRules
    from dalink.report.measures import MeasureParameters
    from dalink.synth.partnership import SynthParameters

    return {
        "linkage-schema.schema.json": LinkageSchema.model_json_schema(),
        "default-uk-person.json": default_schema().model_dump(mode="json"),
        "package-manifest.schema.json": Manifest.model_json_schema(by_alias=True),
        "link-config.schema.json": LinkConfig.model_json_schema(),
        "linkage-model.schema.json": ModelParameters.model_json_schema(by_alias=True),
        "linkage-inputs.schema.json": LinkageInputs.model_json_schema(),
        "measure-parameters.schema.json": MeasureParameters.model_json_schema(),
        "disclosure-rules.schema.json": DisclosureRules.model_json_schema(),
        "chronology-audit-entry.schema.json": AuditEntry.model_json_schema(by_alias=True),
        "audit-report.schema.json": AuditReport.model_json_schema(by_alias=True),
        "synth-parameters.schema.json": SynthParameters.model_json_schema(),
    }


def render(content: Any) -> str:
    return json.dumps(content, indent=2) + "\n"


def main() -> None:
    SCHEMAS.mkdir(exist_ok=True)
    for name, content in schema_documents().items():
        (SCHEMAS / name).write_text(render(content), encoding="utf-8")
        print(f"wrote schemas/{name}")


if __name__ == "__main__":
    main()
