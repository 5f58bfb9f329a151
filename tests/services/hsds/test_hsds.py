"""The Open Referral HSDS 3.0 feed (/hsds/… and `jiayuan export hsds`): every response and exported file validates
against the official schemas (tests/services/hsds/hsds-schema, a copy of ../shared/hsds-schema: the compiled object
schemas, and the OpenAPI's own response schemas with its Page envelope); what is published and what is not
(inactive, suspended, not public, a person's phone or name); paging; filters; 404s; queries per page."""

from __future__ import annotations

import gzip
import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from jiayuan.app import create_app
from jiayuan.config import Settings
from jiayuan.kit.db import Database
from jiayuan.kit.i18n import TIMEZONE
from jiayuan.services.centres.models import CentreException, ServiceCentre
from jiayuan.services.hsds import service as hsds
from jiayuan.services.providers.models import Provider, ProviderArea, ProviderItem
from tests.cli import Ran, run_cli
from tests.conftest import ROOT, BoundDatabase

SCHEMAS = Path(__file__).resolve().parent / "hsds-schema"
BASE = "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/"
OPENAPI = BASE + "openapi.json"
DISTRICT = "360802"
PERSONAL_PHONE = "13907961234"  # a provider's contact person's mobile: never published
PERSONAL_NAME = "李建国"  # that contact person
CENTRE_CONTACT = "王主任"
MOBILE = re.compile(r"(?<![0-9A-Za-z])1[3-9]\d{9}(?![0-9A-Za-z])")  # a whole number: not a slice of a UUID

# jsonschema checks "format" only with a checker; it ships none for date-time and uri, so these are ours.
FORMATS = FormatChecker()
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    return not isinstance(value, str) or (bool(RFC3339.match(value)) and bool(datetime.fromisoformat(value)))


@FORMATS.checks("uri")
def _uri(value: object) -> bool:
    return not isinstance(value, str) or bool(urlsplit(value).scheme and urlsplit(value).netloc)


@cache
def _schema(name: str) -> dict[str, Any]:
    """compiled/NAME.json as published (the large ones are stored gzipped)."""
    path = SCHEMAS / "compiled" / f"{name}.json"
    if not path.exists():
        return json.loads(gzip.decompress((SCHEMAS / "compiled" / f"{name}.json.gz").read_bytes()))
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def _openapi() -> dict[str, Any]:
    return json.loads((SCHEMAS / "openapi.json").read_text(encoding="utf-8"))


@cache
def _registry() -> Registry:
    if not SCHEMAS.is_dir():
        pytest.fail(f"the official HSDS schemas are missing at {SCHEMAS}")
    names = ("service", "service_list", "organization", "organization_list", "service_at_location",
             "service_at_location_list")
    # The OpenAPI declares Draft 2020-12 (jsonSchemaDialect); the schemas carry no $schema of their own.
    resources = [(f"{BASE}compiled/{n}.json", Resource.from_contents(_schema(n), default_specification=DRAFT202012))
                 for n in names]
    resources.append((OPENAPI, Resource.from_contents(_openapi(), default_specification=DRAFT202012)))
    return Registry().with_resources(resources)


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def response_schema(path: str) -> dict[str, Any]:
    """The 200 response schema the HSDS OpenAPI gives for GET `path`."""
    assert "get" in _openapi()["paths"][path], path
    return {"$ref": f"{OPENAPI}#/" + _pointer("paths", path, "get", "responses", "200", "content",
                                              "application/json", "schema")}


def check(schema: dict[str, Any], doc: Any) -> Any:
    errors = sorted(Draft202012Validator(schema, registry=_registry(), format_checker=FORMATS).iter_errors(doc),
                    key=lambda e: list(e.absolute_path))
    assert not errors, f"{errors[0].message} at {list(errors[0].absolute_path)}"
    return doc


def declared_only(schema: dict[str, Any], doc: Any, where: str = "") -> None:
    """Every key we send is a field the schema declares (the schemas allow any extra key; we add none)."""
    if isinstance(doc, dict):
        props = schema.get("properties", {})
        extra = set(doc) - set(props)
        assert not extra, f"{where or 'the document'}: {sorted(extra)} not in the schema"
        for key, value in doc.items():
            declared_only(props[key], value, f"{where}.{key}")
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            declared_only(schema.get("items", {}), value, f"{where}[{i}]")


def valid(name: str, doc: Any) -> Any:
    """`doc` validates against compiled/NAME.json and uses only its fields."""
    check({"$ref": f"{BASE}compiled/{name}.json"}, doc)
    declared_only(_schema(name), doc)
    return doc


def valid_page(path: str, item: str, doc: dict[str, Any]) -> dict[str, Any]:
    """A paginated response: the OpenAPI's schema for `path`, the Page fields all there, each item as `item`."""
    check(response_schema(path), doc)
    page = _openapi()["components"]["schemas"]["Page"]["properties"]
    assert set(doc) == set(page) | {"contents"}
    for entry in doc["contents"]:
        valid(item, entry)
    return doc


# --- The directory under test: a few centres and providers inserted directly ----------------------------


def _week(*days: int, hours: list[list[str]]) -> dict[str, Any]:
    return {str(d): (hours if d in days else []) for d in range(1, 8)}


@pytest.fixture
def directory(session: Session) -> dict[str, Any]:
    """Centres: two public ones of streets (one at a community), the district's legal-aid station, and two that
    are not published (not public; closed down). Providers: two active with items, one active whose only item is
    withdrawn, one suspended."""
    today = datetime.now(TIMEZONE).date()
    office_week = _week(1, 2, 3, 4, 5, hours=[["08:30", "12:00"], ["14:00", "17:30"]])
    office_week["6"] = [["09:00", "12:00"]]

    def centre(unit: str, kind: str, name: str, **kw: Any) -> ServiceCentre:
        c = ServiceCentre(district_code=DISTRICT, unit_code=unit, kind_code=kind, name=name,
                          address=f"吉州区{name}路1号", lat=27.11, lon=114.98, weekly_hours=office_week, **kw)
        session.add(c)
        return c

    health = centre("360802001", "health", "古南街道卫生服务中心", phone="0796-8221234", contact_name=CENTRE_CONTACT,
                    capacity=80, facilities=["诊室", "康复室"])
    elderly = centre("360802003001", "elderly_disability", "平安里社区居家养老服务站", phone="0796-8225678")
    legal = centre(DISTRICT, "legal_aid", "吉州区法律援助工作站", phone="0796-8229999")
    hidden = centre("360802003", "safety", "文山街道平安共建服务中心", is_public=False, phone="0796-8220000")
    closed = centre("360802001", "culture", "古南街道文化服务中心", active=False)

    def provider(name: str, code: str, status: str = "active", **kw: Any) -> Provider:
        p = Provider(district_code=DISTRICT, unit_code=DISTRICT, name=name, credit_code=code, status=status,
                     contact_name=PERSONAL_NAME, contact_phone=PERSONAL_PHONE, **kw)
        session.add(p)
        return p

    cleaner = provider("吉安市红杜鹃家政服务有限公司", "91360802MA35AB1C2X", service_phone="0796-8123456",
                       address="吉州区井冈山大道88号", lat=27.115, lon=114.985, weekly_hours=office_week)
    plumber = provider("吉安市通达水电维修有限公司", "91360802MA35CD3E4Y", round_the_clock=True)
    idle = provider("吉安市安康搬家有限公司", "91360802MA35EF5G6Z", service_phone="0796-8127777")
    suspended = provider("吉安市停业保洁有限公司", "91360802MA35GH7J8K", status="suspended",
                         service_phone="0796-8128888", address="吉州区停业路1号")
    session.flush()
    for p, code, price, active in ((cleaner, "0101", 4500, True), (cleaner, "0305", 0, True),
                                   (plumber, "0201", None, True), (idle, "0301", 80000, False),
                                   (suspended, "0101", 4000, True)):
        session.add(ProviderItem(district_code=DISTRICT, provider_id=p.id, item_code=code, price_fen=price,
                                 active=active))
    for p, unit in ((cleaner, "360802001"), (cleaner, "360802003001"), (plumber, DISTRICT)):
        session.add(ProviderArea(district_code=DISTRICT, provider_id=p.id, unit_code=unit))
    session.add(CentreException(district_code=DISTRICT, centre_id=health.id, day=today + timedelta(days=5),
                                closed=True, note="春节"))
    session.add(CentreException(district_code=DISTRICT, centre_id=health.id, day=today + timedelta(days=9),
                                closed=False, hours=[["09:00", "11:30"]], note="义诊日"))
    session.flush()
    return {"health": health, "elderly": elderly, "legal": legal, "hidden": hidden, "closed": closed,
            "cleaner": cleaner, "plumber": plumber, "idle": idle, "suspended": suspended, "today": today}


def get(client: TestClient, url: str, status: int = 200) -> Any:
    r = client.get(url)
    assert r.status_code == status, f"{url}: {r.status_code} {r.text[:300]}"
    assert r.headers["content-type"].startswith("application/json")
    return r.json()


def everything(client: TestClient) -> list[tuple[str, Any]]:
    """Every document the feed serves for the directory, listed and by id."""
    docs: list[tuple[str, Any]] = []
    for path in ("/services", "/organizations", "/service_at_locations"):
        for query in ("per_page=100", "full=true&per_page=100", "full=true&full_service=true&per_page=100"):
            page = get(client, f"/hsds{path}?{query}")
            docs.append((f"{path}?{query}", page))
            if query == "per_page=100":
                for entry in page["contents"]:
                    docs.append((f"{path}/{{id}}", get(client, f"/hsds{path}/{entry['id']}")))
                    if path == "/organizations":
                        docs.append((f"{path}/{{id}}?full_service", get(
                            client, f"/hsds{path}/{entry['id']}?full_service=true")))
    return docs


# --- Tests ------------------------------------------------------------------------------------------------


def test_every_endpoint_validates_against_the_official_schemas(client: TestClient, directory: dict) -> None:
    items = {"/services": "service_list", "/organizations": "organization_list",
             "/service_at_locations": "service_at_location_list"}
    for path, item in items.items():
        valid_page(path, item, get(client, f"/hsds{path}"))
    # full=true: the same envelope with fully nested objects.
    full = {"/services": "service", "/organizations": "organization",
            "/service_at_locations": "service_at_location"}
    for path, item in full.items():
        page = get(client, f"/hsds{path}?full=true&full_service=true")
        check(response_schema(path), page)
        for entry in page["contents"]:
            valid(item, entry)
    counted = 0
    for name, doc in everything(client):
        if name.endswith("{id}") or "{id}?" in name:
            # The OpenAPI's $ref for /service_at_locations/{id} is compiled/service.json, although the operation
            # returns "fully nested service_at_location": the object it names is what is served and validated.
            what = {"/services/{id}": "service", "/organizations/{id}": "organization",
                    "/organizations/{id}?full_service": "organization",
                    "/service_at_locations/{id}": "service_at_location"}[name]
            if name != "/service_at_locations/{id}":
                check(response_schema(name.split("?")[0]), doc)
            valid(what, doc)
            counted += 1
    assert counted == 6 + 6 + 6 + 5  # services, organizations (twice), service_at_locations
    meta = get(client, "/hsds/")
    check(_openapi()["paths"]["/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"], meta)
    assert meta["version"] == "3.0" and meta["openapi_url"].endswith("/openapi.json")


def test_what_is_published(client: TestClient, directory: dict) -> None:
    d = directory
    services = {s["id"]: s for s in get(client, "/hsds/services?full=true")["contents"]}
    # Three public, active centres and the active providers' active items; nothing of the suspended one.
    centre_ids = {str(hsds.derive("service", d[k].id)): d[k] for k in ("health", "elderly", "legal")}
    assert set(services) - set(centre_ids) == {
        str(pi.id) for pi in _all_items(client) if pi.active and pi.provider_id in (d["cleaner"].id, d["plumber"].id)}
    assert len(services) == 6
    names = [s["name"] for s in services.values()]
    # The centres first, by unit code: the district's, then each street's (its communities' after its own).
    assert names[:3] == ["吉州区法律援助工作站", "古南街道卫生服务中心", "平安里社区居家养老服务站"]
    assert sorted(names[3:]) == sorted(["日常保洁", "代缴水电燃气费", "水管维修"])

    cleaning = next(s for s in services.values() if s["name"] == "日常保洁")
    assert cleaning["organization_id"] == str(d["cleaner"].id)
    assert cleaning["organization"]["organization_identifiers"][0]["identifier"] == "91360802MA35AB1C2X"
    assert cleaning["cost_options"] == [{"id": cleaning["cost_options"][0]["id"], "service_id": cleaning["id"],
                                         "currency": "CNY", "amount_description": "每小时", "amount": 45}]
    assert cleaning["fees_description"] == "45元/小时"
    assert cleaning["languages"][0]["code"] == "zh"
    assert [(s["byday"], s["opens_at"], s["closes_at"]) for s in cleaning["schedules"]] == [
        ("MO,TU,WE,TH,FR", "08:30+08:00", "12:00+08:00"), ("MO,TU,WE,TH,FR", "14:00+08:00", "17:30+08:00"),
        ("SA", "09:00+08:00", "12:00+08:00")]
    assert {a["name"] for a in cleaning["service_areas"]} == {"古南街道", "平安里社区"}
    assert {p["number"] for p in cleaning["phones"]} == {"0796-8123456", "12343"}
    sal = cleaning["service_at_locations"][0]
    assert sal["location"]["addresses"][0]["address_1"] == "吉州区井冈山大道88号"
    assert sal["location"]["addresses"][0]["postal_code"] == "343000"
    assert cleaning["attributes"][0]["taxonomy_term"]["code"] == "0101"
    welfare = next(s for s in services.values() if s["name"] == "代缴水电燃气费")
    assert welfare["cost_options"][0]["amount"] == 0 and welfare["cost_options"][0]["option"] == "公益服务"
    plumbing = next(s for s in services.values() if s["name"] == "水管维修")
    assert [(s["byday"], s["opens_at"], s["closes_at"]) for s in plumbing["schedules"]] == [
        ("MO,TU,WE,TH,FR,SA,SU", "00:00+08:00", "23:59+08:00")]
    assert "amount" not in plumbing["cost_options"][0] and plumbing["fees_description"] == "上门报价"
    assert "service_at_locations" not in plumbing  # no address, no place: not a service_at_location
    assert plumbing["service_areas"][0]["name"] == "吉州区"

    health = services[str(hsds.derive("service", d["health"].id))]
    assert health["organization"]["name"] == "古南街道办事处"
    assert health["attributes"][0]["taxonomy_term"]["code"] == "health"
    assert health["contacts"] == [{"id": health["contacts"][0]["id"], "service_id": health["id"],
                                   "name": CENTRE_CONTACT, "title": "负责人"}]
    assert health["service_at_locations"][0]["location_id"] == str(d["health"].id)
    days = [(s.get("valid_from"), s.get("opens_at")) for s in health["schedules"] if "valid_from" in s]
    assert days == [((d["today"] + timedelta(days=5)).isoformat(), None),
                    ((d["today"] + timedelta(days=9)).isoformat(), "09:00+08:00")]
    elderly = services[str(hsds.derive("service", d["elderly"].id))]
    assert elderly["organization"]["name"] == "文山街道办事处"  # a community's centre is run by its street
    legal = services[str(hsds.derive("service", d["legal"].id))]
    assert legal["organization"]["name"] == "吉州区人民政府"

    orgs = get(client, "/hsds/organizations?per_page=100")["contents"]
    assert [o["name"] for o in orgs[:3]] == ["吉州区人民政府", "古南街道办事处", "文山街道办事处"]
    assert {o["id"] for o in orgs[3:]} == {str(d[k].id) for k in ("cleaner", "plumber", "idle")}
    idle = get(client, f"/hsds/organizations/{d['idle'].id}")
    assert idle.get("services", []) == [] and idle["phones"][0]["number"] == "0796-8127777"
    office = get(client, f"/hsds/organizations/{orgs[1]['id']}?full_service=true")
    assert [s["name"] for s in office["services"]] == ["古南街道卫生服务中心"]
    assert office["services"][0]["schedules"] and office["locations"][0]["id"] == str(d["health"].id)

    sals = get(client, "/hsds/service_at_locations?per_page=100")["contents"]
    assert len(sals) == 5  # three centres, the cleaner's two items at its address
    one = get(client, f"/hsds/service_at_locations/{sals[-1]['id']}")
    assert one["service"]["id"] == sals[-1]["service_id"] and one["location"]["id"] == sals[-1]["location_id"]


def test_no_personal_phone_or_contact_person_is_published(client: TestClient, directory: dict) -> None:
    text = json.dumps(everything(client), ensure_ascii=False)
    assert PERSONAL_PHONE not in text and PERSONAL_NAME not in text
    assert not MOBILE.search(text)
    assert "0796-8221234" in text and "0796-8123456" in text  # the public lines are
    assert "0796-8220000" not in text and "0796-8128888" not in text  # a hidden centre, a suspended provider


def test_paging(client: TestClient, directory: dict) -> None:
    for path, total in (("/services", 6), ("/organizations", 6), ("/service_at_locations", 5)):
        whole = [e["id"] for e in get(client, f"/hsds{path}?per_page=100")["contents"]]
        assert len(whole) == len(set(whole)) == total
        seen: list[str] = []
        for n in range(1, 4):
            page = get(client, f"/hsds{path}?page={n}&per_page=2")
            assert page["total_items"] == total and page["total_pages"] == 3 and page["page_number"] == n
            assert page["size"] == len(page["contents"]) == (2 if n < 3 else total - 4)
            assert (page["first_page"], page["last_page"], page["empty"]) == (n == 1, n == 3, False)
            seen += [e["id"] for e in page["contents"]]
        assert seen == whole  # in the same order, nothing twice, nothing left out
        beyond = get(client, f"/hsds{path}?page=4&per_page=2")
        assert beyond["contents"] == [] and beyond["empty"] and beyond["last_page"] and beyond["size"] == 0
        for bad in ("page=0", "per_page=0", f"per_page={hsds.MAX_PER_PAGE + 1}", "page=x", "format=ndjson"):
            assert get(client, f"/hsds{path}?{bad}", 422)["error"] == "invalid", bad


def test_filters(client: TestClient, directory: dict) -> None:
    d = directory
    found = get(client, "/hsds/services?search=保洁")["contents"]
    assert [s["name"] for s in found] == ["日常保洁"]
    assert [s["name"] for s in get(client, "/hsds/services?search=Legal")["contents"]] == ["吉州区法律援助工作站"]
    mine = get(client, f"/hsds/services?organization_id={d['cleaner'].id}")["contents"]
    assert {s["name"] for s in mine} == {"日常保洁", "代缴水电燃气费"}
    street = get(client, f"/hsds/organizations/{get(client, '/hsds/organizations')['contents'][2]['id']}")
    assert street["name"] == "文山街道办事处"
    assert [s["name"] for s in get(client, f"/hsds/services?organization_id={street['id']}")["contents"]] == [
        "平安里社区居家养老服务站"]
    assert get(client, f"/hsds/services?organization_id={uuid.uuid4()}")["empty"]
    later = (datetime.now(TIMEZONE) + timedelta(days=1)).replace(tzinfo=None).isoformat(timespec="seconds")
    assert get(client, f"/hsds/services?modified_after={later}")["total_items"] == 0
    assert get(client, "/hsds/services?modified_after=2000-01-01T00:00:00Z")["total_items"] == 6
    assert [o["name"] for o in get(client, "/hsds/organizations?search=红杜鹃")["contents"]] == [d["cleaner"].name]
    assert get(client, "/hsds/service_at_locations?search=%25")["total_items"] == 0  # % is a character


def test_unknown_ids_are_404(client: TestClient, directory: dict) -> None:
    d = directory
    for path, value in (("services", uuid.uuid4()), ("services", "not-a-uuid"),
                        ("services", hsds.derive("service", d["hidden"].id)),  # not public
                        ("services", hsds.derive("service", d["closed"].id)),  # closed down
                        ("services", d["health"].id),  # a location's id is no service's
                        ("organizations", d["suspended"].id), ("organizations", uuid.uuid4()),
                        ("service_at_locations", uuid.uuid4()),
                        ("service_at_locations", hsds.derive("service_at_location", d["plumber"].id))):
        body = get(client, f"/hsds/{path}/{value}", 404)
        assert body["error"] == "not_found" and str(value) in body["message"]
    # A suspended provider's item, by its own id.
    suspended_item = next(pi for pi in _all_items(client) if pi.provider_id == d["suspended"].id)
    get(client, f"/hsds/services/{suspended_item.id}", 404)


def _all_items(client: TestClient) -> list[ProviderItem]:
    with client.app.state.db.sessions() as s:
        return list(s.scalars(select(ProviderItem)))


@contextmanager
def statements(db: BoundDatabase) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.startswith(("SAVEPOINT", "RELEASE")):  # the test's transaction, not the request's
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def test_a_page_loads_its_related_rows_in_a_fixed_number_of_queries(client: TestClient, db: BoundDatabase,
                                                                      directory: dict) -> None:
    for path in ("/services?full=true", "/organizations?full=true&full_service=true",
                 "/service_at_locations?full=true"):
        counts = []
        # Five rows (the three centres or offices, then providers') and all of them: as many queries.
        for per_page in (5, 100):
            with statements(db) as seen:
                get(client, f"/hsds{path}&page=1&per_page={per_page}")
            counts.append(len(seen))
        assert counts[0] == counts[1] <= 11, (path, counts, seen)


def test_derived_ids_are_stable_reversible_and_keep_the_uuid7_shape() -> None:
    base = uuid.UUID("0192d1a4-3b5c-7def-8123-456789abcdef")
    derived = hsds.derive("service", base)
    assert derived != base and hsds.derive("service", derived) == base
    assert derived.version == 7 and derived.variant == uuid.RFC_4122 and str(derived)[:19] == str(base)[:19]
    assert hsds.derive("location", base) != derived


# --- The command line, on a copy of the small demo of each backend -----------------------------------------


def cli(url: str, *args: str) -> Ran:
    result = run_cli(url, *args)
    assert result.returncode == 0, f"{args}: exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def test_export_writes_the_same_valid_documents(demo_url: str, tmp_path: Path) -> None:
    out = tmp_path / "hsds"
    printed = cli(demo_url, "export", "hsds", str(out)).stdout
    files = {name: json.loads((out / name).read_text(encoding="utf-8")) for name in hsds.EXPORT_FILES}
    assert sorted(p.name for p in out.iterdir()) == sorted(hsds.EXPORT_FILES)  # no .part left behind
    for name, item in (("services.json", "service"), ("organizations.json", "organization"),
                       ("service_at_locations.json", "service_at_location")):
        docs = files[name]
        assert isinstance(docs, list) and docs, name
        assert f"wrote {len(docs)} objects to {out / name}" in " ".join(printed.split())
        assert len({d["id"] for d in docs}) == len(docs)
        for doc in docs:
            valid(item, doc)
    text = (out / "services.json").read_text(encoding="utf-8") + (out / "organizations.json").read_text(
        encoding="utf-8")
    assert not MOBILE.search(text), MOBILE.search(text)  # the demo's public lines are landlines and 12343
    # The files hold what the API serves.
    db = Database(demo_url)
    try:
        app = create_app(Settings(database_url=demo_url, secret_key="hsds-" + "x" * 32,
                                  node_modules=ROOT / "node_modules"), db=db)
        with TestClient(app) as client:
            for name, path in (("services.json", "services"), ("organizations.json", "organizations"),
                               ("service_at_locations.json", "service_at_locations")):
                listed = get(client, f"/hsds/{path}?per_page={hsds.MAX_PER_PAGE}")
                assert listed["total_items"] == len(files[name])
                assert [e["id"] for e in listed["contents"]] == [d["id"] for d in files[name]]
                for doc in files[name][:3] + files[name][-3:]:
                    assert get(client, f"/hsds/{path}/{doc['id']}") == doc
    finally:
        db.dispose()
    help_text = " ".join(cli(demo_url, "export", "hsds", "--help").stdout.split())
    assert "services.json" in help_text and "service_at_locations.json" in help_text
