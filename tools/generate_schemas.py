"""Regenerate the JSON Schemas in ``schemas/`` from the pydantic models (never edit them by hand).

    python tools/generate_schemas.py
"""

from __future__ import annotations

import json
from pathlib import Path

from dalink.encode.package import Manifest
from dalink.encode.schema import LinkageSchema, default_schema

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"


def main() -> None:
    SCHEMAS.mkdir(exist_ok=True)
    outputs = {
        "linkage-schema.schema.json": LinkageSchema.model_json_schema(),
        "package-manifest.schema.json": Manifest.model_json_schema(by_alias=True),
        "default-uk-person.json": default_schema().model_dump(mode="json"),
    }
    for name, content in outputs.items():
        (SCHEMAS / name).write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
        print(f"wrote schemas/{name}")


if __name__ == "__main__":
    main()
