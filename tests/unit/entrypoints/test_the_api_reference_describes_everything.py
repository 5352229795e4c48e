"""The shipped OpenAPI document (docs/openapi.json) describes every operation, parameter and schema field in
one line, and every request body comes with an example a reader can send as it is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DOCUMENT = Path(__file__).parents[3] / "docs" / "openapi.json"
METHODS = ("get", "put", "post", "delete", "patch")


def _document() -> dict[str, Any]:
    return json.loads(DOCUMENT.read_text(encoding="utf-8"))


def _described(schema: dict[str, Any]) -> bool:
    """On the field itself, or on the one branch of `T | None` that is not null."""
    branches = schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", [])
    return bool(schema.get("description")) or any(branch.get("description") for branch in branches)


def _one_line(text: str) -> bool:
    return bool(text.strip()) and "\n" not in text.strip()


def _operations() -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", operation)
        for path, item in _document()["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def test_every_operation_has_a_one_line_summary() -> None:
    missing = [key for key, op in _operations() if not _one_line(op.get("summary") or op.get("description") or "")]
    assert missing == []


def test_every_parameter_is_described() -> None:
    missing = [
        f"{key} {parameter['in']} {parameter['name']}"
        for key, operation in _operations()
        for parameter in operation.get("parameters", [])
        if not _one_line(parameter.get("description") or "")
    ]
    assert missing == []


def test_every_schema_field_is_described() -> None:
    missing = [
        f"{name}.{field}"
        for name, schema in _document()["components"]["schemas"].items()
        for field, property_schema in schema.get("properties", {}).items()
        if not _described(property_schema)
    ]
    assert missing == []


def test_every_request_body_has_an_example() -> None:
    def has_example(media: dict[str, Any]) -> bool:
        schema = media.get("schema", {})
        return "example" in media or bool(media.get("examples")) or bool(schema.get("examples"))

    missing = [
        key
        for key, operation in _operations()
        if "requestBody" in operation
        and not any(has_example(media) for media in operation["requestBody"]["content"].values())
    ]
    assert missing == []


def test_the_checks_see_an_undescribed_field() -> None:
    assert not _described({"anyOf": [{"type": "string"}, {"type": "null"}]})
    assert _described({"anyOf": [{"type": "string", "description": "x"}, {"type": "null"}]})
