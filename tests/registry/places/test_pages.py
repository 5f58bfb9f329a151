"""Pages of houses, facilities and organizations through the test client: forms that name the field in error and
store nothing, and keeping places up to date."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from jiayuan.registry.models import Organization
from tests.cases.helpers import point_in
from tests.conftest import csrf_from
from tests.personas import GRID_A
from tests.registry.page_helpers import (
    login,
    post_form,
)


def test_organization_form_names_a_bad_credit_code(client: TestClient, db: Any) -> None:
    login(client, "community")
    with db.sessions() as s:
        before = s.scalar(select(func.count()).select_from(Organization))
    r = client.post("/registry/organizations/new", data={
        "csrf_token": csrf_from(client.get("/registry/organizations/new").text), "kind": "enterprise",
        "name": "某某有限公司", "grid_code": GRID_A, "credit_code": "91360802MA35XXXXXX",
        "contact_phone": "13912345678"})
    assert r.status_code == 422
    assert re.search(r'id="err-org-credit_code" role="alert">[^<]*(信用代码|校验位)', r.text)
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Organization)) == before


def test_houses_things_and_organizations_from_their_pages(client: TestClient, api: Any) -> None:
    login(client, "grid_a")
    r = post_form(client, "/registry/houses", "/registry/houses", name="页面小区", grid_code=GRID_A,
                  address="文山路1号", property_company="")
    assert r.status_code == 200 and "页面小区" in r.text and "无物业" in r.text
    compound = str(r.url)
    r = post_form(client, compound, compound.replace("http://testserver", "") + "/buildings", name="2栋",
                  floors="6")
    assert "2栋" in r.text
    building = re.search(r'<option value="([0-9a-f-]{36})"', r.text.split('id="new-room"')[1]).group(1)
    r = post_form(client, compound, compound.replace("http://testserver", "") + "/rooms", building_id=building,
                  entrance="1单元", number="301", use="rented", area="88.5")
    assert "301" in r.text
    rented = client.get(f"/registry/rooms?grid={GRID_A}&use=rented").text
    assert "页面小区 2栋 1单元 301" in rented
    assert f'href="/api/v1/registry/rooms/export?grid={GRID_A}&amp;use=rented"' in rented
    without = client.get("/registry/houses?without_property=true").text
    assert "页面小区" in without

    lat, lon = point_in(api, GRID_A)
    r = post_form(client, "/registry/things/new", "/registry/things/new", kind="street_lamp", lat=str(lat),
                  lon=str(lon), status="ok", code="LD-PAGE-1")
    assert r.status_code == 200 and "路灯" in r.text
    thing = str(r.url).replace("http://testserver", "")
    r = post_form(client, thing, f"{thing}/status", status="damaged")
    assert "状态已更改" in r.text
    assert "LD-PAGE-1" in client.get(f"/registry/things?grid={GRID_A}&kind=street_lamp&status=damaged").text
    r = post_form(client, "/registry/things/new", "/registry/things/new", kind="hydrant", lat=str(lat), lon="")
    assert r.status_code == 422 and 'id="err-thing-lon"' in r.text

    r = post_form(client, "/registry/organizations/new", "/registry/organizations/new",
                  kind="homeowners_committee", name="页面业委会", grid_code=GRID_A, contact_phone="13912345678")
    assert r.status_code == 200 and "*******5678" in r.text and "13912345678" not in r.text
    listed = client.get("/registry/organizations?kind=homeowners_committee").text
    assert "页面业委会" in listed and "*******5678" in listed and "13912345678" not in listed
