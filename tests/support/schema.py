"""Validate responses against the vendor's OpenAPI 3.0 schemas (``nullable`` → JSON Schema)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml


def _convert(node: Any) -> Any:
    if isinstance(node, list):
        return [_convert(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _convert(value) for key, value in node.items() if key not in ("nullable", "example", "format")}
    if "$ref" in out:
        out["$ref"] = out["$ref"].replace("#/components/schemas/", "#/definitions/")
    if node.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


@cache
def _definitions(spec_path: str) -> dict[str, Any]:
    spec = yaml.safe_load(Path(spec_path).read_text())
    return {name: _convert(schema) for name, schema in spec["components"]["schemas"].items()}


def validator(spec_path: Path, schema_name: str) -> jsonschema.Draft7Validator:
    definitions = _definitions(str(spec_path))
    schema = {"definitions": definitions, "$ref": f"#/definitions/{schema_name}"}
    return jsonschema.Draft7Validator(schema)


def assert_valid(spec_path: Path, schema_name: str, instance: Any) -> None:
    errors = sorted(validator(spec_path, schema_name).iter_errors(instance), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])
