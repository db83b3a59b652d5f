"""The published JSON Schema of mlgate.yaml (`schema/mlgate.schema.json`) matches the section models."""

from __future__ import annotations

import json
from pathlib import Path

from jsonschema import Draft202012Validator

from mlgate.config import SECTIONS, json_schema

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "schema" / "mlgate.schema.json"
REGENERATE = "uv run mlgate config schema --output schema/mlgate.schema.json"


def test_published_schema_is_current() -> None:
    assert SCHEMA.exists(), f"{SCHEMA.relative_to(ROOT)} is missing: run `{REGENERATE}`"
    expected = json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
    assert SCHEMA.read_text(encoding="utf-8") == expected, (
        f"{SCHEMA.relative_to(ROOT)} is out of date with the section models: run `{REGENERATE}` and commit it"
    )


def test_published_schema_covers_every_section() -> None:
    published = json.loads(SCHEMA.read_text(encoding="utf-8"))
    missing = sorted(set(SECTIONS) - set(published["properties"]))
    assert not missing, f"sections {missing} are not in the published schema: run `{REGENERATE}`"
    assert published["additionalProperties"] is False
    Draft202012Validator.check_schema(published)  # a valid JSON Schema that editors can load
