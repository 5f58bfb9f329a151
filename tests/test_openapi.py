"""The OpenAPI says what every input is: no request body property, query or path parameter without a type (a
Pydantic field typed `Any` shows none, and clients and the fuzzing then cannot know what to send)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jiayuan.app import create_app
from jiayuan.config import Settings

TYPED = ("type", "$ref", "anyOf", "oneOf", "allOf", "enum", "const")


def _untyped(schema: dict[str, Any], where: str, components: dict[str, Any], seen: set[str]) -> Iterator[str]:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name not in seen:
            seen.add(name)
            yield from _untyped(components[name], name, components, seen)
        return
    if not any(key in schema for key in TYPED):
        yield where
        return
    for key in ("anyOf", "oneOf", "allOf"):
        for i, option in enumerate(schema.get(key, [])):
            yield from _untyped(option, f"{where}|{i}", components, seen)
    for name, prop in (schema.get("properties") or {}).items():
        yield from _untyped(prop, f"{where}.{name}", components, seen)
    if isinstance(schema.get("items"), dict):
        yield from _untyped(schema["items"], f"{where}[]", components, seen)
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _untyped(schema["additionalProperties"], f"{where}{{}}", components, seen)


def untyped_inputs(spec: dict[str, Any]) -> list[str]:
    components = spec.get("components", {}).get("schemas", {})
    found: list[str] = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            here = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                found += _untyped(parameter.get("schema", {}), f"{here} {parameter['in']} {parameter['name']}",
                                  components, set())
            for media, content in (operation.get("requestBody") or {}).get("content", {}).items():
                found += _untyped(content.get("schema", {}), f"{here} {media}", components, set())
    return sorted(set(found))


def test_the_check_finds_an_untyped_property() -> None:
    spec = {"paths": {"/x": {"post": {"requestBody": {"content": {"application/json": {"schema": {
        "$ref": "#/components/schemas/In"}}}}}}},
            "components": {"schemas": {"In": {"type": "object", "properties": {
                "a": {"type": "string"}, "b": {"title": "B"}, "c": {"anyOf": [{"type": "integer"}, {}]},
                "d": {"type": "array", "items": {"title": "D"}}}}}}}
    assert untyped_inputs(spec) == ["In.b", "In.c|1", "In.d[]"]


def test_every_input_of_the_api_has_a_type(tmp_path) -> None:  # noqa: ANN001
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'openapi.db'}", secret_key="x" * 40))
    assert untyped_inputs(app.openapi()) == []
