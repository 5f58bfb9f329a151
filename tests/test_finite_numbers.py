"""NaN and the infinities are a 422 naming the field, everywhere a number comes in: every number of the OpenAPI —
query parameters and request-body fields, found by walking the schema, so that a float added tomorrow without
kit.numbers.Finite fails here — and the numbers pages read (page_kit.field_float). Before, the schemas took them
(JSON's NaN and Infinity, "nan" and "inf" in a query string) and left them to whatever range check the service
happened to have: a NaN compares false with every bound."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from jiayuan.cases.models import Case
from jiayuan.kit.errors import Invalid
from jiayuan.page_kit import field_float, lenient_float
from tests.cases.helpers import point_in
from tests.conftest import csrf_from, page_login
from tests.personas import GRID_A, PERSONAS
from tests.world import World, as_persona, build_world

ROLES = ("admin", "community", "street", "grid_a", "hotline", "department", "resident", "provider", "volunteer")
NOT_FINITE = (math.nan, math.inf, -math.inf)
QUERY_TEXTS = ("nan", "inf", "-Infinity", "1e999")


def _numeric(schema: dict[str, Any]) -> bool:
    if schema.get("type") == "number":
        return True
    return any(_numeric(s) for key in ("anyOf", "oneOf", "allOf") for s in schema.get(key, []))


def _body_numbers(schema: dict[str, Any], components: dict[str, Any], path: tuple[str, ...] = (),
                  seen: frozenset[str] = frozenset()) -> Iterator[tuple[str, ...]]:
    """Paths of the numeric fields of a request body, nested objects and $refs followed."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name not in seen:
            yield from _body_numbers(components[name], components, path, seen | {name})
        return
    if _numeric(schema) and path:
        yield path
    for key, sub in schema.get("properties", {}).items():
        yield from _body_numbers(sub, components, (*path, key), seen)
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            if "$ref" in sub or sub.get("type") == "object":
                yield from _body_numbers(sub, components, path, seen)


def numeric_inputs(app: Any) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """(method, path, "query" or "body", field path) of every number the API takes."""
    spec = app.openapi()
    components = spec.get("components", {}).get("schemas", {})
    found = []
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            for p in op.get("parameters", []):
                if p["in"] == "query" and _numeric(p.get("schema", {})):
                    found.append((method.upper(), path, "query", (p["name"],)))
            content = op.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                for field in dict.fromkeys(_body_numbers(content["application/json"]["schema"], components)):
                    found.append((method.upper(), path, "body", field))
    return found


def test_the_walk_finds_the_numbers(app: Any) -> None:
    found = {(m, p, where, ".".join(f)) for m, p, where, f in numeric_inputs(app)}
    for expected in (("GET", "/api/v1/units/locate", "query", "lat"), ("POST", "/api/v1/cases", "body", "lon"),
                     ("POST", "/api/v1/registry/rooms", "body", "area"),
                     ("POST", "/api/v1/services/centres", "body", "lat"), ("POST", "/api/v1/care/visits", "body", "lat"),
                     ("POST", "/api/v1/services/orders", "body", "lat")):
        assert expected in found, expected
    assert len(found) >= 35


@pytest.fixture
def world(api: Any, client: Any, session: Session) -> World:
    return build_world(api, client, session)


def _fill(path: str, w: World) -> str:
    for name, values in w.path_values().items():
        path = path.replace("{" + name + "}", str(values[0]))
    assert "{" not in path, path
    return path


def _nested(field: tuple[str, ...], value: Any) -> dict[str, Any]:
    body: Any = value
    for key in reversed(field):
        body = {key: body}
    return body


def _names_field(response: Any, field: tuple[str, ...]) -> bool:
    """The 422 lists an error on this very field saying it must be finite (other required fields of the minimal
    body may be missing; a union of int and float names its branch: lat.float)."""
    dotted = ".".join(field)
    details = response.json().get("details") or [response.json()]
    return any(((d.get("field") or "") == dotted or (d.get("field") or "").startswith(dotted + "."))
               and "finite" in (d.get("message") or "") for d in details)


def test_nan_and_infinity_are_a_422_naming_the_field_on_every_route(api: Any, client: Any, world: World,
                                                                     app: Any) -> None:
    callers = [as_persona(client, world.users[r]) if r in world.users else api(r) for r in ROLES]
    failures = []
    for method, template, where, field in numeric_inputs(app):
        path = _fill(template, world)
        values = QUERY_TEXTS if where == "query" else NOT_FINITE
        for value in values:
            for caller in callers:
                if where == "query":
                    r = caller.client.request(method, path, params={field[0]: value}, headers=caller.headers)
                else:
                    r = caller.client.request(method, path, headers={**caller.headers,
                                                                     "Content-Type": "application/json"},
                                              content=json.dumps(_nested(field, value)))
                if r.status_code not in (401, 403):
                    break
            if r.status_code != 422 or not _names_field(r, field):
                failures.append(f"{method} {path} {where} {'.'.join(field)}={value!r}: {r.status_code} "
                                f"{r.text[:200]}")
    assert failures == []


def test_a_report_with_a_nan_place_stores_nothing(api: Any, db: Any) -> None:
    lat, lon = point_in(api, GRID_A)
    with db.sessions() as s:
        before = s.scalar(select(func.count()).select_from(Case))
    for bad in ({"lat": math.nan, "lon": lon}, {"lat": lat, "lon": math.inf}):
        r = api("resident").post("/api/v1/cases", headers={"Content-Type": "application/json"}, content=json.dumps(
            {"category": "1101", "description": "路灯不亮", **bad}))
        assert r.status_code == 422 and r.json()["field"] in bad and "finite" in r.json()["message"], r.text
    r = api("resident").get("/api/v1/units/locate", params={"lat": "NaN", "lon": lon})
    assert r.status_code == 422 and r.json()["field"] == "lat"
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == before


@pytest.mark.parametrize("text", ["nan", "NaN", "inf", "-inf", "Infinity", "1e999", "ｎａｎ"])
def test_pages_read_nan_and_infinity_as_no_number(text: str) -> None:
    form = FormData({"lat": text})
    with pytest.raises(Invalid) as refused:
        field_float(form, "lat")
    assert refused.value.field == "lat" and refused.value.reason == "not_a_number"
    assert lenient_float(form, "lat") is None  # a map pin's bad coordinate is no coordinate
    assert field_float(FormData({"lat": "２７．５"}), "lat") == 27.5


def test_a_page_refuses_nan_with_its_message(client: Any) -> None:
    page_login(client, PERSONAS["community"].username)
    html = client.get("/registry/things/new").text
    r = client.post("/registry/things/new", data={
        "csrf_token": csrf_from(html), "kind": "street_lamp", "grid_code": GRID_A, "code": "NAN-1", "lat": "nan",
        "lon": "114.9"})
    assert r.status_code == 422 and "请填写本区范围内的纬度和经度，或都不填。" in r.text  # the registry's word for it
