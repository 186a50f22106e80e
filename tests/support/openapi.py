"""Check a real answer against what the served ``/openapi.json`` publishes for it."""

from __future__ import annotations

from typing import Any

import httpx
import jsonschema


def response_schema(doc: dict[str, Any], method: str, path: str, status: int) -> dict[str, Any] | None:
    """The published JSON schema for ``status`` of ``method path`` (a template path); None for no body."""
    operation = doc["paths"][path][method.lower()]
    documented = operation["responses"]
    assert str(status) in documented, f"{method} {path} answered {status}, documented: {sorted(documented)}"
    content = documented[str(status)].get("content")
    if not content:
        return None
    assert "application/json" in content, f"{method} {path} {status}: no JSON schema"
    schema: dict[str, Any] = content["application/json"]["schema"]
    return schema


def assert_matches(doc: dict[str, Any], method: str, path: str, response: httpx.Response) -> None:
    """``response`` (to ``method path``) has a documented status, and its body its schema."""
    schema = response_schema(doc, method, path, response.status_code)
    if response.status_code == 204 or schema is None:
        assert not response.content, f"{method} {path}: {response.status_code} with a body"
        return
    assert response.headers["content-type"].startswith("application/json"), response.headers
    root = {"components": doc["components"], **schema}
    errors = sorted(jsonschema.Draft202012Validator(root).iter_errors(response.json()), key=lambda e: list(e.path))
    assert not errors, f"{method} {path} {response.status_code}: " + "; ".join(
        f"{list(e.path)}: {e.message}" for e in errors[:5]
    )
