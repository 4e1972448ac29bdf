from __future__ import annotations

import json
from pathlib import Path

import pytest

from dalink.encode.schema import LinkageSchema, default_schema, load_schema, parse_schema
from dalink.errors import SchemaError

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def test_default_schema_covers_uk_identifiers() -> None:
    schema = default_schema()
    assert [field.name for field in schema.fields] == [
        "given_name", "middle_name", "family_name", "date_of_birth", "sex", "postcode",
    ]
    assert schema.blocking_keys
    assert len(schema.hash) == 64


def test_schema_hash_changes_with_content() -> None:
    data = default_schema().model_dump(mode="json")
    data["fields"][0]["hash_functions"] += 1
    assert parse_schema(data).hash != default_schema().hash


def test_all_problems_reported_at_once_naming_fields() -> None:
    data = default_schema().model_dump(mode="json")
    data["fields"][0]["bits"] = 100
    data["fields"][3]["hash_functions"] = 0
    data["fields"][5]["tokens"] = {"kind": "nonsense"}
    with pytest.raises(SchemaError) as caught:
        parse_schema(data, "my.json")
    message = str(caught.value)
    assert "my.json" in message and "3 problem" in message
    assert "fields.0" in message and "fields.3.hash_functions" in message and "fields.5.tokens" in message


def test_unknown_keys_forbidden_and_duplicates_refused() -> None:
    data = default_schema().model_dump(mode="json")
    data["surprise"] = 1
    with pytest.raises(SchemaError, match="surprise"):
        parse_schema(data)
    data = default_schema().model_dump(mode="json")
    data["fields"].append(dict(data["fields"][0]))
    with pytest.raises(SchemaError, match="'given_name' is defined twice"):
        parse_schema(data)


def test_load_schema_file_errors(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match="does not exist"):
        load_schema(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{ not json")
    with pytest.raises(SchemaError, match="not valid JSON"):
        load_schema(bad)


def test_published_json_schema_is_generated_from_the_models() -> None:
    published = json.loads((SCHEMAS / "linkage-schema.schema.json").read_text())
    assert published == LinkageSchema.model_json_schema()


def test_published_default_schema_matches_the_packaged_one() -> None:
    assert load_schema(SCHEMAS / "default-uk-person.json") == default_schema()
