"""Every input of the services' JSON API is typed in the OpenAPI: no request property without a type (an `Any`
shows as an empty schema)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

TYPED = ("type", "anyOf", "oneOf", "allOf", "$ref", "enum", "const")


def _untyped(schema: dict[str, Any], components: dict[str, Any], where: str, seen: set[str]) -> list[str]:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return []
        seen.add(name)
        return _untyped(components[name], components, name, seen)
    out: list[str] = []
    for key in ("anyOf", "oneOf", "allOf"):
        for part in schema.get(key, []):
            out += _untyped(part, components, where, seen)
    if "items" in schema:
        out += _untyped(schema["items"], components, f"{where}[]", seen)
    if isinstance(schema.get("additionalProperties"), dict):
        out += _untyped(schema["additionalProperties"], components, f"{where}{{}}", seen)
    for name, prop in schema.get("properties", {}).items():
        if not any(k in prop for k in TYPED):
            out.append(f"{where}.{name}")
        out += _untyped(prop, components, f"{where}.{name}", seen)
    return out


def test_every_request_property_of_the_services_api_has_a_type(app: FastAPI) -> None:
    spec = app.openapi()
    components = spec.get("components", {}).get("schemas", {})
    untyped: list[str] = []
    bodies = 0
    for path, operations in spec["paths"].items():
        if not path.startswith("/api/v1/services"):
            continue
        for method, op in operations.items():
            for content in (op.get("requestBody") or {}).get("content", {}).values():
                bodies += 1
                untyped += _untyped(content["schema"], components, f"{method.upper()} {path}", set())
            for param in op.get("parameters", []):
                if not any(k in param.get("schema", {}) for k in TYPED):
                    untyped.append(f"{method.upper()} {path} ?{param['name']}")
    assert bodies > 10
    assert not untyped, untyped
