"""Open311 GeoReport v2: official schemas, XML, keys, bad input, privacy, CLI, admin page, georeport."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import uvicorn
from fastapi.testclient import TestClient
from georeport import GeoReport
from jsonschema import Draft7Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7
from shapely.geometry import shape
from sqlalchemy import func, select, update

from jiayuan.app import create_app
from jiayuan.cases.models import Case, CaseEvent, Category
from jiayuan.cases.open311_keys import create_client, revoke_client
from jiayuan.config import Settings
from jiayuan.kit.db import Database, utcnow
from jiayuan.kit.i18n import TIMEZONE
from jiayuan.units.models import Unit
from tests.cli import Ran, run_cli
from tests.conftest import csrf_from, page_login
from tests.databases import SMALL_DEMO, sqlite_copy
from tests.personas import GRID_A

ROOT = Path(__file__).resolve().parents[2]
# A copy of ../shared/open311-schema (the official schemas; see SOURCE.md there), so that the tests need
# nothing outside the repository.
SCHEMAS = Path(__file__).resolve().parent / "open311-schema"
V2 = "/open311/v2"
SPEC = "http://wiki.open311.org/GeoReport_v2"
REQUEST_FIELDS = {"service_request_id", "status", "status_notes", "service_name", "service_code",
                  "description", "agency_responsible", "service_notice", "requested_datetime",
                  "updated_datetime", "expected_datetime", "address", "address_id", "zipcode", "lat", "long",
                  "media_url"}
DESCRIPTION = "井盖被偷走了，路口很危险"

# jsonschema checks "format" only with a checker; it ships none for date-time and uri, so these are ours.
FORMATS = FormatChecker()
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    return not isinstance(value, str) or (bool(RFC3339.match(value)) and bool(datetime.fromisoformat(value)))


@FORMATS.checks("uri")
def _uri(value: object) -> bool:
    return not isinstance(value, str) or bool(urlsplit(value).scheme and urlsplit(value).netloc)


DATE_TIME = {"type": "string", "format": "date-time", "pattern": r"\+08:00$"}
TEXT_OR_NULL = {"type": ["string", "null"]}
# The spec's responses that the schema repository has no file for, written from the GeoReport v2 text.
LOCAL_SCHEMAS: dict[str, dict[str, Any]] = {
    "discovery": {"type": "object", "required": ["changeset", "contact", "key_service", "endpoints"],
                  "additionalProperties": False, "properties": {
                      "changeset": DATE_TIME, "contact": {"type": "string"},
                      "key_service": {"type": "string"},
                      "endpoints": {"type": "array", "minItems": 1, "items": {
                          "type": "object", "additionalProperties": False,
                          "required": ["specification", "url", "changeset", "type", "formats"],
                          "properties": {"specification": {"const": SPEC},
                                         "url": {"type": "string", "format": "uri"}, "changeset": DATE_TIME,
                                         "type": {"enum": ["production", "test"]},
                                         "formats": {"type": "array", "minItems": 2, "items": {
                                             "enum": ["application/json", "text/xml"]}}}}}}},
    "posted": {"type": "array", "minItems": 1, "maxItems": 1, "items": {
        "type": "object", "additionalProperties": False,
        "required": ["service_request_id", "token", "service_notice", "account_id"],
        "properties": {"service_request_id": {"type": "string"}, "token": {"type": "string"},
                       "service_notice": TEXT_OR_NULL, "account_id": TEXT_OR_NULL}}},
    "tokens": {"type": "array", "minItems": 1, "items": {
        "type": "object", "additionalProperties": False, "required": ["service_request_id", "token"],
        "properties": {"service_request_id": {"type": "string"}, "token": {"type": "string"}}}},
    "errors": {"type": "array", "minItems": 1, "items": {
        "type": "object", "additionalProperties": False, "required": ["code", "description"],
        "properties": {"code": {"type": "integer"}, "description": {"type": "string", "minLength": 1}}}},
}


def _registry() -> Registry:
    if not SCHEMAS.is_dir():
        pytest.fail(f"the official Open311 schemas are missing at {SCHEMAS}")
    return Registry().with_resources(
        (p.as_uri(), Resource.from_contents(json.loads(p.read_text(encoding="utf-8")),
                                            default_specification=DRAFT7)) for p in SCHEMAS.glob("*.json"))


def check(name: str, data: Any) -> Any:
    """Validate against shared/open311-schema/NAME.json (its $ref to sibling files resolved) or a local
    schema; every date-time must be W3C with +08:00."""
    if name in LOCAL_SCHEMAS:
        schema: dict[str, Any] = LOCAL_SCHEMAS[name]
    else:
        schema = {"$ref": (SCHEMAS / f"{name}.json").as_uri()}
    errors = sorted(Draft7Validator(schema, registry=_registry(), format_checker=FORMATS).iter_errors(data),
                    key=str)
    assert not errors, f"{name}: {errors[0].message} at {list(errors[0].absolute_path)}"
    if name in ("requests", "services"):
        assert all(isinstance(item, dict) for item in data)
    if name == "requests":
        for item in data:
            assert set(item) == REQUEST_FIELDS
            for key in ("requested_datetime", "updated_datetime", "expected_datetime"):
                assert item[key] is None or item[key].endswith("+08:00"), item[key]
    return data


def xml_items(text: str, root: str, item: str) -> list[dict[str, str | None]]:
    tree = ET.fromstring(text.encode("utf-8"))
    assert tree.tag == root
    return [{child.tag: child.text for child in element} for element in tree.findall(item)]


def same(json_value: Any, xml_text: str | None) -> bool:
    if json_value is None:
        return xml_text in (None, "")
    if isinstance(json_value, bool):
        return xml_text == ("true" if json_value else "false")
    if isinstance(json_value, float):
        return xml_text is not None and float(xml_text) == json_value
    return xml_text == str(json_value)


def assert_same_items(json_items: list[dict[str, Any]], xml_text: str, root: str, item: str) -> None:
    parsed = xml_items(xml_text, root, item)
    assert len(parsed) == len(json_items) > 0
    for j, x in zip(json_items, parsed, strict=True):
        assert list(x) == list(j)  # the same fields, in the spec's order
        for key, value in j.items():
            assert same(value, x[key]), (key, value, x[key])


def spec_error(response: Any, status: int, field: str | None = None) -> str:
    """The response is the spec's error list (JSON or XML, by the path's suffix) with `status`."""
    assert response.status_code == status, response.text
    if urlsplit(str(response.url)).path.endswith(".xml"):
        errors = xml_items(response.text, "errors", "error")
        assert errors and errors[0]["code"] == str(status)
        description = errors[0]["description"] or ""
    else:
        errors = check("errors", response.json())
        assert errors[0]["code"] == status
        description = errors[0]["description"]
    if field is not None:
        assert description.startswith(f"{field}:"), description
    return description


# Fixtures: keys issued in the test's transaction, a point inside grid A.


def _issue(db: Any, name: str, *, revoked: bool = False) -> str:
    with db.sessions() as s:
        _client, key = create_client(s, name)
        if revoked:
            revoke_client(s, name=name)
        s.commit()
    return key


@pytest.fixture
def key(db: Any) -> str:
    return _issue(db, "测试客户端")


@pytest.fixture
def point(db: Any) -> tuple[float, float]:
    with db.sessions() as s:
        geometry = s.scalar(select(Unit.geometry).where(Unit.district_code == GRID_A[:6],
                                                        Unit.code == GRID_A))
    p = shape(geometry).representative_point()
    return p.y, p.x


def count_cases(db: Any) -> int:
    with db.sessions() as s:
        return s.scalar(select(func.count()).select_from(Case))


def post(client: TestClient, key: str, point: tuple[float, float], fmt: str = "json", **fields: Any) -> Any:
    body = {"api_key": key, "service_code": "0101", "lat": point[0], "long": point[1],
            "attribute[cover_state]": "missing", "description": DESCRIPTION, **fields}
    return client.post(f"{V2}/requests.{fmt}", data={k: v for k, v in body.items() if v is not None})


# Discovery, services, service definitions.


def test_discovery_in_json_and_xml(client: TestClient) -> None:
    data = check("discovery", client.get(f"{V2}/discovery.json").json())
    endpoint = data["endpoints"][0]
    assert endpoint["url"] == "http://testserver/open311/v2/" and endpoint["type"] == "test"
    assert "/admin/open311" in data["key_service"]
    r = client.get(f"{V2}/discovery.xml")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/xml")
    tree = ET.fromstring(r.content)
    assert tree.tag == "discovery" and tree.findtext("changeset") == data["changeset"]
    assert tree.findtext("key_service") == data["key_service"]
    xml_endpoint = tree.find("endpoints/endpoint")
    assert xml_endpoint is not None and xml_endpoint.findtext("url") == endpoint["url"]
    assert xml_endpoint.findtext("specification") == SPEC
    assert [f.text for f in xml_endpoint.findall("formats/format")] == endpoint["formats"]


def test_services_list_every_active_item_with_its_group(client: TestClient, db: Any) -> None:
    with db.sessions() as s:
        items = list(s.scalars(select(Category).where(Category.parent_code.is_not(None), Category.is_active)))
        s.execute(update(Category).where(Category.code == "0203").values(is_active=False))
        s.commit()
    services = check("services", client.get(f"{V2}/services.json").json())
    codes = [s["service_code"] for s in services]
    assert set(codes) == {c.code for c in items} - {"0203"} and len(codes) == len(set(codes))
    cover = next(s for s in services if s["service_code"] == "0101")
    assert cover["service_name"] == "井盖破损或缺失" and cover["group"] == "公用设施"
    assert cover["metadata"] is True and cover["type"] == "realtime"
    assert "Broken or missing manhole cover" in cover["keywords"] and "4" in cover["description"]
    assert next(s for s in services if s["service_code"] == "0201")["metadata"] is False
    english = check("services", client.get(f"{V2}/services.json", params={"locale": "en"}).json())
    cover_en = next(s for s in english if s["service_code"] == "0101")
    assert cover_en["service_name"] == "Broken or missing manhole cover"
    assert cover_en["group"] == "Public utilities"
    assert_same_items(services, client.get(f"{V2}/services.xml").text, "services", "service")
    assert check("services", client.get(f"{V2}/services.json", params={"jurisdiction_id": "360802"}).json())
    for fmt in ("json", "xml"):
        spec_error(client.get(f"{V2}/services.{fmt}?jurisdiction_id=999999"), 404, "jurisdiction_id")


def test_service_definition_with_attributes(client: TestClient) -> None:
    data = check("service-definition", client.get(f"{V2}/services/0101.json").json())
    assert data["service_code"] == "0101"
    (attribute,) = data["attributes"]
    assert attribute["code"] == "cover_state"
    assert attribute["variable"] is True and attribute["required"] is True
    assert attribute["datatype"] == "singlevaluelist" and attribute["order"] == 1
    assert attribute["description"] == "井盖状况"
    assert {"key": "missing", "name": "缺失"} in attribute["values"]
    english = check("service-definition", client.get(f"{V2}/services/0101.json?locale=en").json())
    assert {"key": "missing", "name": "Missing"} in english["attributes"][0]["values"]
    lamps = check("service-definition", client.get(f"{V2}/services/0102.json").json())
    assert lamps["attributes"][0]["datatype"] == "number" and lamps["attributes"][0]["required"] is False
    assert check("service-definition", client.get(f"{V2}/services/0201.json").json())["attributes"] == []

    tree = ET.fromstring(client.get(f"{V2}/services/0101.xml").content)
    assert tree.tag == "service_definition" and tree.findtext("service_code") == "0101"
    xml_attribute = tree.find("attributes/attribute")
    assert xml_attribute is not None
    for key in ("variable", "code", "datatype", "required", "datatype_description", "order", "description"):
        assert same(attribute[key], xml_attribute.findtext(key)), key
    assert [{"key": v.findtext("key"), "name": v.findtext("name")} for v in xml_attribute.findall(
        "values/value")] == attribute["values"]
    for missing in ("9999", "01"):
        spec_error(client.get(f"{V2}/services/{missing}.json"), 404, "service_code")
    spec_error(client.get(f"{V2}/services/9999.xml"), 404, "service_code")


# POST requests, tokens, reading back.


def test_post_form_with_the_key_in_the_body_and_read_it_back(client: TestClient, db: Any, key: str,
                                                             point: tuple[float, float]) -> None:
    r = post(client, key, point, first_name="三", last_name="张", phone="13912345678",
             address_string="人民路口", account_id="acct-1", media_url="https://photos.example.cn/1.jpg")
    assert r.status_code == 201, r.text
    (posted,) = check("posted", r.json())
    assert posted["account_id"] == "acct-1" and "4" in posted["service_notice"]
    number, token = posted["service_request_id"], posted["token"]
    with db.sessions() as s:
        case = s.scalar(select(Case).where(Case.number == number))
        assert case.channel == "open311" and case.open311_client_id is not None and str(case.id) == token
        assert case.reporter_name == "张三" and case.reporter_phone == "13912345678"
        assert case.attributes == {"cover_state": "missing"} and case.address == "人民路口"
        assert case.grid_code == GRID_A and case.lat == pytest.approx(point[0])
        due = case.due_at
        grid_name = s.scalar(select(Unit.name).where(Unit.district_code == GRID_A[:6], Unit.code == GRID_A))
        report = s.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.action == "report"))
        assert report.actor_name == "测试客户端" and report.data["open311"]["account_id"] == "acct-1"

    assert check("tokens", client.get(f"{V2}/tokens/{token}.json").json()) == [
        {"service_request_id": number, "token": token}]
    assert xml_items(client.get(f"{V2}/tokens/{token}.xml").text, "service_requests", "request") == [
        {"service_request_id": number, "token": token}]
    spec_error(client.get(f"{V2}/tokens/{'0' * 8}-0000-7000-8000-{'0' * 12}.json"), 404, "token")
    spec_error(client.get(f"{V2}/tokens/not-a-token.xml"), 404, "token")

    (request,) = check("requests", client.get(f"{V2}/requests/{number}.json").json())
    assert request["service_request_id"] == number and request["status"] == "open"
    assert request["service_code"] == "0101" and request["service_name"] == "井盖破损或缺失"
    assert request["description"] == DESCRIPTION and request["address"] == "人民路口"
    assert request["lat"] == pytest.approx(point[0]) and request["long"] == pytest.approx(point[1])
    assert request["agency_responsible"] == grid_name  # category 0101 is handled by the grid
    expected = due.astimezone(TIMEZONE).isoformat(timespec="seconds") if due else None
    assert request["expected_datetime"] == expected
    assert request["media_url"] == "https://photos.example.cn/1.jpg"
    xml = client.get(f"{V2}/requests/{number}.xml").text
    assert_same_items([request], xml, "service_requests", "request")
    assert check("requests", client.get(f"{V2}/requests/{number}.json?jurisdiction_id=360802").json())
    spec_error(client.get(f"{V2}/requests/00000000000.json"), 404, "service_request_id")
    spec_error(client.get(f"{V2}/requests/00000000000.xml"), 404, "service_request_id")

    # XML in, XML out.
    r = post(client, key, point, fmt="xml")
    assert r.status_code == 201
    (item,) = xml_items(r.text, "service_requests", "request")
    assert list(item) == ["service_request_id", "token", "service_notice", "account_id"]
    assert item["service_request_id"] and item["service_request_id"] != number


def test_post_json_with_the_key_in_the_query_string(client: TestClient, db: Any, key: str,
                                                    point: tuple[float, float]) -> None:
    body = {"service_code": "0102", "lat": point[0], "long": point[1], "description": "三盏路灯不亮",
            "attribute": {"lamp_count": "3"}, "email": "a@example.cn"}
    r = client.post(f"{V2}/requests.json", params={"api_key": key}, json=body)
    assert r.status_code == 201, r.text
    (posted,) = check("posted", r.json())
    with db.sessions() as s:
        case = s.scalar(select(Case).where(Case.number == posted["service_request_id"]))
        assert case.attributes == {"lamp_count": 3.0} and case.category_code == "0102"
    # Only an address: the case goes to the district's dispatchers.
    r = client.post(f"{V2}/requests.json?api_key={key}", json={
        "service_code": "0102", "description": "路灯不亮", "address_string": "文山路 12 号",
        "address_id": "A-77"})
    assert r.status_code == 201, r.text
    number = r.json()[0]["service_request_id"]
    (request,) = check("requests", client.get(f"{V2}/requests/{number}.json").json())
    assert request["lat"] is None and "文山路 12 号" in request["address"] and "A-77" in request["address"]
    not_an_object = {**body, "attribute": ["3"]}
    spec_error(client.post(f"{V2}/requests.json?api_key={key}", json=not_an_object), 400, "attribute")
    spec_error(client.post(f"{V2}/requests.json?api_key={key}", json=[body]), 400, "body")


def test_a_retry_with_the_same_idempotency_key_returns_the_same_request(client: TestClient, db: Any, key: str,
                                                                       point: tuple[float, float]) -> None:
    before = count_cases(db)
    headers = {"Idempotency-Key": "retry-1"}
    body = {"api_key": key, "service_code": "0101", "lat": point[0], "long": point[1],
            "attribute[cover_state]": "loose", "description": DESCRIPTION}
    first = client.post(f"{V2}/requests.json", data=body, headers=headers)
    second = client.post(f"{V2}/requests.json", data=body, headers=headers)
    assert (first.status_code, second.status_code) == (201, 200)
    assert check("posted", second.json()) == first.json()
    assert count_cases(db) == before + 1


@pytest.mark.parametrize("which", ["missing", "unknown", "revoked"])
def test_a_missing_unknown_or_revoked_key_is_refused(client: TestClient, db: Any, point: tuple[float, float],
                                                     which: str) -> None:
    key = {"missing": None, "unknown": "jy311_not-a-key",
           "revoked": _issue(db, "已停用", revoked=True) if which == "revoked" else None}[which]
    before = count_cases(db)
    spec_error(post(client, key, point), 403, "api_key")
    spec_error(post(client, key, point, fmt="xml"), 403, "api_key")
    spec_error(client.post(f"{V2}/requests.json", params={"api_key": key or ""},
                           json={"service_code": "0101", "description": "x"}), 403, "api_key")
    assert count_cases(db) == before


@pytest.mark.parametrize(("fields", "field"), [
    ({"service_code": "9999"}, "service_code"),
    ({"service_code": None}, "service_code"),
    ({"lat": None, "long": None}, "lat"),
    ({"long": None}, "long"),
    ({"lat": "north"}, "lat"),
    ({"lat": 27.9, "long": 116.5}, "lat"),  # outside the district
    ({"attribute[cover_state]": "stolen"}, "attribute[cover_state]"),
    ({"attribute[cover_state]": None}, "attribute[cover_state]"),
    ({"attribute[colour]": "red"}, "attribute[colour]"),
    ({"description": "长" * 4001}, "description"),
    ({"description": None}, "description"),
    ({"phone": "12345"}, "phone"),
    ({"email": "not-an-address"}, "email"),
    ({"media_url": "javascript:alert(1)"}, "media_url"),
    ({"jurisdiction_id": "360803"}, "jurisdiction_id"),
])
def test_bad_input_is_a_400_naming_the_field_and_stores_nothing(client: TestClient, db: Any, key: str,
                                                                point: tuple[float, float], fields: dict,
                                                                field: str) -> None:
    before = count_cases(db)
    status = 404 if field == "jurisdiction_id" else 400
    description = spec_error(post(client, key, point, **fields), status, field)
    if fields.get("service_code") == "9999":
        assert "unknown category '9999'" in description
    spec_error(post(client, key, point, fmt="xml", **fields), status, field)
    assert count_cases(db) == before


def test_errors_under_open311_are_in_the_spec_format(client: TestClient) -> None:
    spec_error(client.get(f"{V2}/nothing-here"), 404)
    spec_error(client.get(f"{V2}/nothing-here.xml"), 404)
    spec_error(client.get(f"{V2}/services.csv"), 404, "format")
    spec_error(client.put(f"{V2}/services.json"), 405)
    spec_error(client.delete(f"{V2}/requests.xml"), 405)
    spec_error(client.post(f"{V2}/requests.json", content=b"{oops",
                           headers={"content-type": "application/json"}), 400, "body")
    # Elsewhere the app's own error format is unchanged.
    assert client.get("/api/v1/nothing-here").json()["error"] == "not_found"


# GET requests: filters, and what the public may see.


def _numbers(response: Any) -> list[str]:
    return [r["service_request_id"] for r in check("requests", response.json())]


def test_get_requests_with_each_filter(client: TestClient, api: Any, db: Any, key: str,
                                       point: tuple[float, float]) -> None:
    cover = post(client, key, point).json()[0]["service_request_id"]
    lamp = post(client, key, point, service_code="0102", **{"attribute[cover_state]": None}).json()[0][
        "service_request_id"]
    old = post(client, key, point).json()[0]["service_request_id"]
    hundred_days = utcnow() - timedelta(days=100)
    with db.sessions() as s:
        s.execute(update(Case).where(Case.number == old).values(reported_at=hundred_days))
        s.commit()
    voided = api("admin").post(f"/api/v1/cases/{lamp}/actions/void",
                               json={"note": "内部：已联系 13900001111", "reply": "重复上报，已联系 139 0000 1111"})
    assert voided.status_code == 200, voided.text

    everything = check("requests", client.get(f"{V2}/requests.json").json())
    numbers = [r["service_request_id"] for r in everything]
    assert {cover, lamp} <= set(numbers) and old not in numbers  # the last 90 days by default
    assert len(numbers) <= 1000
    stamps = [datetime.fromisoformat(r["requested_datetime"]) for r in everything]
    assert stamps == sorted(stamps, reverse=True)  # newest first
    assert all(s >= utcnow() - timedelta(days=90, minutes=1) for s in stamps)
    assert_same_items(everything, client.get(f"{V2}/requests.xml").text, "service_requests", "request")

    by_lamp = next(r for r in everything if r["service_request_id"] == lamp)
    assert by_lamp["status"] == "closed" and by_lamp["status_notes"] == "重复上报，已联系 *******1111"

    # service_request_id: comma-separated, and it overrides the date window.
    assert sorted(_numbers(client.get(f"{V2}/requests.json", params={
        "service_request_id": f"{cover},{old}", "status": "closed"}))) == sorted([cover, old])
    # service_code, one or several.
    only_covers = check("requests", client.get(f"{V2}/requests.json?service_code=0101").json())
    assert cover in [r["service_request_id"] for r in only_covers] and lamp not in [
        r["service_request_id"] for r in only_covers]
    assert {r["service_code"] for r in only_covers} == {"0101"}
    both = check("requests", client.get(f"{V2}/requests.json?service_code=0101,0102").json())
    assert {cover, lamp} <= {r["service_request_id"] for r in both}
    assert {r["service_code"] for r in both} <= {"0101", "0102"}
    # status: closed and voided are "closed", everything else "open".
    closed = check("requests", client.get(f"{V2}/requests.json?status=closed").json())
    assert lamp in [r["service_request_id"] for r in closed] and {r["status"] for r in closed} == {"closed"}
    opened = check("requests", client.get(f"{V2}/requests.json?status=open").json())
    assert cover in [r["service_request_id"] for r in opened] and {r["status"] for r in opened} == {"open"}
    either = check("requests", client.get(f"{V2}/requests.json?status=open,closed").json())
    assert len(either) == len(everything)
    # start_date and end_date, W3C with an offset, "Z", or without a zone (Beijing time).
    start = (hundred_days - timedelta(days=1)).astimezone(TIMEZONE).isoformat(timespec="seconds")
    end = (hundred_days + timedelta(days=1)).isoformat(timespec="seconds").replace("+00:00", "Z")
    window = check("requests", client.get(f"{V2}/requests.json", params={"start_date": start,
                                                                       "end_date": end}).json())
    assert old in [r["service_request_id"] for r in window] and cover not in [
        r["service_request_id"] for r in window]
    since = (utcnow() - timedelta(hours=1)).astimezone().strftime("%Y-%m-%dT%H:%M:%S%z")
    assert {cover, lamp} <= set(_numbers(client.get(f"{V2}/requests.json", params={"start_date": since})))
    # An unencoded "+" arrives as a space.
    unencoded = client.get(f"{V2}/requests.json?start_date={start.replace('+', '%20')}&end_date={end}")
    assert old in _numbers(unencoded)
    xml = client.get(f"{V2}/requests.xml", params={"start_date": start, "end_date": end}).text
    assert_same_items(window, xml, "service_requests", "request")

    for params, field in (({"status": "pending"}, "status"), ({"start_date": "yesterday"}, "start_date"),
                          ({"start_date": "2026-03-01", "end_date": "2026-02-01"}, "end_date"),
                          ({"start_date": "2026-01-01T00:00:00+08:00",
                            "end_date": "2026-06-01T00:00:00+08:00"}, "end_date"),
                          ({"service_code": "9999"}, "service_code")):
        spec_error(client.get(f"{V2}/requests.json", params=params), 400, field)
        spec_error(client.get(f"{V2}/requests.xml", params=params), 400, field)
    spec_error(client.get(f"{V2}/requests.json?jurisdiction_id=110101"), 404, "jurisdiction_id")


def test_the_public_list_shows_no_personal_data(client: TestClient, db: Any, key: str,
                                                point: tuple[float, float]) -> None:
    personal = {"first_name": "晓明", "last_name": "欧阳", "phone": "13987654321",
                "email": "xiaoming.ouyang@example.cn", "account_id": "acct-778899", "device_id": "dev-445566"}
    text = "井盖没了，请打 13987654321 或 0796-8221234，写信xiaoming.ouyang@example.cn"
    number = post(client, key, point, description=text, **personal).json()[0]["service_request_id"]
    # A social-governance case (a request for help) is about a person: no text and no place in public.
    helped = post(client, key, point, service_code="2401", description="独居老人行动不便，需要帮助",
                  address_string="红星巷 88 号 3 栋 201", **{"attribute[cover_state]": None}).json()[0]
    with db.sessions() as s:
        stored = s.scalar(select(Case).where(Case.number == number))
        assert stored.reporter_name == "欧阳晓明" and stored.reporter_phone == "13987654321"
        demo_phones = set(s.scalars(select(Case.reporter_phone).where(Case.reporter_phone.is_not(None))))
        demo_names = {n for n in s.scalars(select(Case.reporter_name).where(Case.reporter_name.is_not(None)))
                      if len(n) > 1}
    pages = [client.get(f"{V2}/requests.{fmt}").text for fmt in ("json", "xml")] + [
        client.get(f"{V2}/requests/{n}.{fmt}").text for n in (number, helped["service_request_id"])
        for fmt in ("json", "xml")] + [client.get(f"{V2}/tokens/{helped['token']}.json").text]
    for text in pages:
        for value in (*personal.values(), "欧阳晓明", *demo_phones, *demo_names):
            assert value not in text, value
    (mine,) = check("requests", client.get(f"{V2}/requests/{number}.json").json())
    assert mine["description"] == "井盖没了，请打 *******4321 或 *******1234，写信***@***"
    (social,) = check("requests", client.get(f"{V2}/requests/{helped['service_request_id']}.json").json())
    assert social["service_code"] == "2401" and social["status"] == "open"
    assert social["description"] is None and social["address"] is None and social["lat"] is None
    assert "红星巷 88 号" not in json.dumps(client.get(f"{V2}/requests.json").json(), ensure_ascii=False)


# Keys from the admin page.


def test_the_district_admin_issues_and_revokes_keys_on_a_page(client: TestClient,
                                                              point: tuple[float, float]) -> None:
    page_login(client, "admin")
    page = client.get("/admin/open311")
    assert page.status_code == 200 and "Open311" in page.text
    refused = client.post("/admin/open311", data={"name": "便民 App"})
    assert refused.status_code == 403  # no CSRF token
    created = client.post("/admin/open311", data={"name": "便民 App", "csrf_token": csrf_from(page.text)})
    assert created.status_code == 200 and created.headers["cache-control"] == "no-store"
    m = re.search(r'id="new-key">(jy311_[^<]+)<', created.text)
    assert m, "the new key is shown once"
    key = m.group(1)
    assert post(client, key, point).status_code == 201
    again = client.get("/admin/open311")
    assert "便民 App" in again.text and key not in again.text
    taken = client.post("/admin/open311", data={"name": "便民 App", "csrf_token": csrf_from(again.text)})
    assert taken.status_code == 422 and "已有同名的客户端" in taken.text
    revoke = re.search(r'action="(/admin/open311/[^"]+/revoke)"', again.text)
    assert revoke
    done = client.post(revoke.group(1), data={"csrf_token": csrf_from(again.text)}, follow_redirects=False)
    assert done.status_code == 303
    spec_error(post(client, key, point), 403, "api_key")


def test_other_roles_may_not_open_the_key_page(client: TestClient) -> None:
    page_login(client, "resident1")
    assert client.get("/admin/open311", headers={"accept": "application/json"}).status_code == 403
    token = csrf_from(client.get("/home").text)
    assert client.post("/admin/open311", data={"name": "x", "csrf_token": token}).status_code == 403


# The CLI and the georeport client, against a server of their own.


@dataclass
class Live:
    base: str
    url: str
    point: tuple[float, float]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The app served by uvicorn on a free port, on its own SQLite database: migrations, reference data and
    the small demo district (a copy of SMALL_DEMO)."""
    url = sqlite_copy(SMALL_DEMO, tmp_path_factory.mktemp("open311") / "live.db")
    db = Database(url)
    with db.sessions() as s:
        geometry = s.scalar(select(Unit.geometry).where(Unit.level == "grid").order_by(Unit.code).limit(1))
    p = shape(geometry).representative_point()
    settings = Settings(database_url=url, secret_key="open311-" + "x" * 32,
                        node_modules=ROOT / "node_modules", tile_url="")
    server = uvicorn.Server(uvicorn.Config(create_app(settings, db), host="127.0.0.1", port=_free_port(),
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield Live(f"http://127.0.0.1:{server.config.port}", url, (p.y, p.x))
    server.should_exit = True
    thread.join(10)
    db.dispose()


def jiayuan(live: Live, *args: str) -> Ran:
    """`jiayuan ARGS` in this process, against the live server's database."""
    return run_cli(live.url, *args)


def new_key(live: Live, name: str) -> str:
    result = jiayuan(live, "open311", "keys", "create", name)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_the_cli_prints_a_working_key_as_its_last_line(live: Live) -> None:
    key = new_key(live, "cli-client")
    assert key.startswith("jy311_") and len(key) > 40
    form = {"api_key": key, "service_code": "0101", "lat": live.point[0], "long": live.point[1],
            "attribute[cover_state]": "broken", "description": DESCRIPTION}
    r = requests.post(f"{live.base}{V2}/requests.json", data=form, timeout=10)
    assert r.status_code == 201, r.text
    check("posted", r.json())
    for name in ("", "cli-client"):
        refused = jiayuan(live, "open311", "keys", "create", name)
        assert refused.returncode == 2 and key not in refused.stdout
    listed = jiayuan(live, "open311", "keys", "list")
    assert listed.returncode == 0 and "cli-client" in listed.stdout and "active" in listed.stdout
    assert key not in listed.stdout
    assert jiayuan(live, "open311", "keys", "revoke", "cli-client").returncode == 0
    assert jiayuan(live, "open311", "keys", "revoke", "no-such-client").returncode == 2
    r = requests.post(f"{live.base}{V2}/requests.json", data=form, timeout=10)
    assert r.status_code == 403 and r.json()[0]["code"] == 403


@pytest.mark.parametrize("output_format", ["json", "xml"])
def test_the_georeport_client_from_pypi(live: Live, output_format: str) -> None:
    key = new_key(live, f"georeport-{output_format}")
    client = GeoReport(f"{live.base}{V2}", jurisdiction="360802", api_key=key, output_format=output_format)
    services = client.get_service_list()
    cover = next(s for s in services if s["service_code"] == "0101")
    assert cover["service_name"] == "井盖破损或缺失" and cover["group"] == "公用设施"
    assert str(cover["metadata"]).lower() == "true"
    definition = client.get_service_definition("0101")
    attributes = definition["attributes"]
    attribute = attributes[0] if isinstance(attributes, list) else attributes["attribute"]
    values = attribute["values"] if isinstance(attribute["values"], list) else attribute["values"]["value"]
    assert attribute["code"] == "cover_state" and "missing" in [v["key"] for v in values]

    # georeport 0.3.1 only reads; it has no call to post. A client posts as the spec says: a form with the
    # key, through the same HTTP library, to the root address and with the key the client holds.
    lat, lon = live.point
    r = requests.post(f"{client.root_address}/requests.{output_format}", timeout=10, data={
        "api_key": client.api_key, "jurisdiction_id": client.jurisdiction, "service_code": "0101", "lat": lat,
        "long": lon, "attribute[cover_state]": values[0]["key"], "description": DESCRIPTION,
        "first_name": "四", "last_name": "李", "phone": "13700001234"})
    assert r.status_code == 201, r.text
    posted = r.json()[0] if output_format == "json" else xml_items(r.text, "service_requests", "request")[0]
    number = posted["service_request_id"]

    got = client.get_service_request(number)
    assert got["service_request_id"] == number and got["status"] == "open" and got["service_code"] == "0101"
    assert got["description"] == DESCRIPTION and float(got["lat"]) == pytest.approx(lat)
    assert float(got["long"]) == pytest.approx(lon) and got["requested_datetime"].endswith("+08:00")
    listed = client.get_service_requests(service_request_id=number)
    listed = listed if isinstance(listed, list) else [listed]
    assert [x["service_request_id"] for x in listed] == [number]
    recent = client.get_service_requests(service_code="0101", status="open")
    recent = recent if isinstance(recent, list) else [recent]
    assert number in [x["service_request_id"] for x in recent]
    assert "13700001234" not in json.dumps(recent) and "李四" not in json.dumps(recent, ensure_ascii=False)
