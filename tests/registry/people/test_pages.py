"""Registry pages through the test client: the grid profile and its drill-downs, people lists that never show a
whole ID number or phone, search by number through a posted form, audited unmasking, scope, and forms that
name the field in error."""

from __future__ import annotations

import re
from html import unescape
from typing import Any
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from jiayuan.accounts.models import AuditEntry
from jiayuan.kit.identity import id_check_char
from jiayuan.registry.models import Organization, Person
from tests.cases.helpers import point_in, report
from tests.conftest import csrf_from, page_login
from tests.personas import COMMUNITY, GRID_A, GRID_B, PERSONAS

PEOPLE = "/api/v1/registry/people"
R = "/api/v1/registry"
PHONE = "13812345678"
MASKED_PHONE = "138****5678"


def id_number(birth: str = "19800101", serial: str = "123") -> str:
    first17 = "360802" + birth + serial
    return first17 + id_check_char(first17)


ID = id_number()
MASKED_ID = ID[:6] + "*" * 10 + ID[-2:]


def login(client: TestClient, who: str) -> None:
    r = page_login(client, PERSONAS[who].username)
    assert r.status_code == 200, r.text


def new_person(api: Any, who: str = "grid_a", **fields: Any) -> dict[str, Any]:
    body = {"name": "张三丰", "grid_code": GRID_B if who == "grid_b" else GRID_A, "id_number": ID, "phone": PHONE,
            **fields}
    r = api(who).post(PEOPLE, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def post_form(client: TestClient, page: str, target: str, **data: str):  # noqa: ANN201
    """Post a form as a browser does: with the CSRF token of the page it sits on, following the redirect."""
    return client.post(target, data={"csrf_token": csrf_from(client.get(page).text), **data},
                       follow_redirects=True)


def total(html: str) -> int:
    m = re.search(r'data-total="(\d+)"', html)
    assert m, "no total on the list page"
    return int(m.group(1))


def hrefs(html: str) -> list[str]:
    return [unescape(h) for h in re.findall(r'(?:href|action|src)="([^"]*)"', html)]


def audits(db: Any, action: str) -> list[AuditEntry]:
    with db.sessions() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def people_in(db: Any) -> int:
    with db.sessions() as s:
        return s.scalar(select(func.count()).select_from(Person))


# Language and roles.


def test_pages_speak_chinese_by_default_and_refuse_other_roles(client: TestClient) -> None:
    login(client, "grid_a")
    home = client.get("/home").text
    assert 'href="/registry"' in home and "人房物组织" in home
    page = client.get("/registry")
    assert page.status_code == 200
    assert 'lang="zh-CN"' in page.text and "网格画像" in page.text
    for label in ("户籍", "流动", "境外", "未落户", "60岁以上", "独居", "低保", "留守儿童", "出租", "路灯", "井盖",
                  "业主委员会", "在办案件"):
        assert label in page.text, label
    for path in ("/registry/people", "/registry/people/new", "/registry/houses", "/registry/rooms",
                 "/registry/things", "/registry/things/new", "/registry/organizations",
                 "/registry/organizations/new"):
        r = client.get(path)
        assert r.status_code == 200 and "Traceback" not in r.text, path
        assert re.search(r"<h1>[^<]*[\u4e00-\u9fff]", r.text), path  # a Chinese heading
    client.cookies.set("jiayuan_lang", "en")
    english = client.get("/registry").text
    assert 'lang="en"' in english and "Grid profile" in english and "Living alone" in english
    for who in ("hotline", "resident"):
        client.cookies.clear()
        login(client, who)
        assert 'href="/registry"' not in client.get("/home").text
        refused = client.get("/registry/people")
        assert refused.status_code == 403 and "无权" in refused.text


# Masking: the lists and the person's page show masked numbers only.


def test_lists_and_person_page_never_show_a_whole_id_number_or_phone(client: TestClient, api: Any) -> None:
    p = new_person(api)
    api("grid_a").post(f"{PEOPLE}/{p['id']}/tags", json={"tag": "living_alone"})
    for who in ("grid_a", "community", "admin"):
        client.cookies.clear()
        login(client, who)
        for path in (f"/registry/people?grid={GRID_A}&tag=living_alone", "/registry/people?q=张三丰",
                     "/registry/people?q=ZSF", f"/registry/people/{p['id']}"):
            html = client.get(path).text
            assert "张三丰" in html, (who, path)
            assert MASKED_ID in html and MASKED_PHONE in html, (who, path)
            assert ID not in html and PHONE not in html and ID[6:14] + ID[14:17] not in html, (who, path)


# Unmasking.


def test_unmask_needs_a_reason_is_audited_and_shows_the_numbers_on_that_response_only(
        client: TestClient, api: Any, db: Any) -> None:
    p = new_person(api)
    login(client, "community")
    page = client.get(f"/registry/people/{p['id']}").text
    assert "查看完整信息" in page and f'action="/registry/people/{p["id"]}/unmask"' in page
    token = csrf_from(page)
    url = f"/registry/people/{p['id']}/unmask"

    r = client.post(url, data={"csrf_token": token, "reason": "看"})
    assert r.status_code == 422
    assert 'id="err-unmask-reason"' in r.text and "请填写事由" in r.text and 'aria-invalid="true"' in r.text
    assert ID not in r.text and PHONE not in r.text
    assert audits(db, "person_unmasked") == []

    r = client.post(url, data={"csrf_token": token, "reason": "办理低保申请核对身份"})
    assert r.status_code == 200
    assert f'<span class="plain" id="plain-id-number">{ID}</span>' in r.text
    assert f'<span class="plain" id="plain-phone">{PHONE}</span>' in r.text
    assert r.headers["cache-control"] == "no-store"
    assert ID not in str(r.url) and all(ID not in h and PHONE not in h for h in hrefs(r.text))
    [entry] = audits(db, "person_unmasked")
    assert entry.actor == PERSONAS["community"].username and entry.target == p["id"]
    assert entry.detail["reason"] == "办理低保申请核对身份"
    # The page itself stays masked afterwards.
    again = client.get(f"/registry/people/{p['id']}").text
    assert ID not in again and MASKED_ID in again


def test_grid_worker_sees_no_unmask_button_and_a_forged_post_is_refused_and_audited(
        client: TestClient, api: Any, db: Any) -> None:
    p = new_person(api)
    login(client, "grid_a")
    page = client.get(f"/registry/people/{p['id']}").text
    assert "查看完整信息" not in page and "/unmask" not in page
    assert "导出全部信息" not in page and "/anonymize" not in page
    r = client.post(f"/registry/people/{p['id']}/unmask",
                    data={"csrf_token": csrf_from(page), "reason": "入户走访核对"})
    assert r.status_code == 403 and "无权" in r.text
    assert ID not in r.text and PHONE not in r.text
    [entry] = audits(db, "unmask_refused")
    assert entry.actor == PERSONAS["grid_a"].username and entry.target == p["id"]
    assert audits(db, "person_unmasked") == []


def test_district_admin_exports_and_anonymizes_with_a_reason(client: TestClient, api: Any, db: Any) -> None:
    p = new_person(api)
    login(client, "community")
    assert "导出全部信息" not in client.get(f"/registry/people/{p['id']}").text
    client.cookies.clear()
    login(client, "admin")
    page = client.get(f"/registry/people/{p['id']}").text
    assert f'href="/api/v1/registry/people/{p["id"]}/export"' in page and "匿名化" in page
    url = f"/registry/people/{p['id']}/anonymize"
    r = client.post(url, data={"csrf_token": csrf_from(page), "reason": ""})
    assert r.status_code == 422 and 'id="err-anonymize-reason"' in r.text
    assert "张三丰" in client.get(f"/registry/people/{p['id']}").text
    r = post_form(client, f"/registry/people/{p['id']}", url, reason="本人依法申请删除个人信息")
    assert r.status_code == 200 and "已对此人员匿名化" in r.text and "张三丰" not in r.text
    assert "<h1>已匿名" in r.text and "/unmask" not in r.text and "/edit" not in r.text
    assert len(audits(db, "person_anonymized")) == 1


# Scope.


def test_grid_b_gets_a_404_for_a_person_of_grid_a(client: TestClient, api: Any) -> None:
    p = new_person(api)
    login(client, "grid_b")
    r = client.get(f"/registry/people/{p['id']}")
    assert r.status_code == 404 and "张三丰" not in r.text and "不在您的管辖范围内" in r.text
    token = csrf_from(client.get("/registry/people").text)
    for action in ("edit", "tags", "move", "unmask"):
        r = client.post(f"/registry/people/{p['id']}/{action}",
                        data={"csrf_token": token, "name": "改名", "tag": "attention", "to_grid": GRID_B,
                              "reason": "入户走访核对"})
        assert r.status_code == 404, action
    assert "张三丰" not in client.get("/registry/people").text
    assert client.get(f"/registry?unit={GRID_A}").status_code == 404
    assert client.get("/registry/people/not-a-uuid").status_code == 404


# Search by number: posted, never in a URL.


def test_search_by_id_number_or_phone_is_posted_and_nothing_personal_reaches_a_url(
        client: TestClient, api: Any) -> None:
    p = new_person(api)
    new_person(api, name="李四", id_number=id_number(serial="456"), phone="13900001111")
    login(client, "grid_a")
    page = client.get("/registry/people").text
    assert re.search(r'<form method="post" action="/registry/people/search"', page)
    for q in (ID, ID.lower(), "138 1234 5678"):
        r = client.post("/registry/people/search", data={"csrf_token": csrf_from(page), "q": q})
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
        assert str(r.url).endswith("/registry/people/search")
        results = r.text.split('id="search-results"', 1)[1]
        assert f'href="/registry/people/{p["id"]}"' in results and "李四" not in results
        assert ID not in r.text and PHONE not in r.text  # what was typed is not written back either
        assert all(ID not in unquote(h) and PHONE not in unquote(h) for h in hrefs(r.text))
    empty = client.post("/registry/people/search", data={"csrf_token": csrf_from(page), "q": ""})
    assert empty.status_code == 422 and 'id="err-search-q"' in empty.text
    # A number typed into the list's filter is refused, and goes no further than the address it came in.
    r = client.get("/registry/people", params={"q": ID})
    assert r.status_code == 422 and 'id="err-q"' in r.text
    assert all(ID not in unquote(h) for h in hrefs(r.text))
    # The export link carries the list's filters, so that the workbook holds what the page shows.
    r = client.get("/registry/people", params={"tag": "living_alone", "grid": GRID_A})
    assert f'href="/api/v1/registry/people/export?grid={GRID_A}&amp;tag=living_alone"' in r.text


# The grid profile: every count drills down to the list holding exactly those records.


def _figures(html: str) -> list[tuple[str, int]]:
    return [(unescape(href), int(n.replace(",", ""))) for href, n in re.findall(
        r'<a class="(?:fig[^"]*|big-n)" href="([^"]+)">(?:<span>[^<]*</span><strong>)?([\d,]+)', html)]


def test_profile_counts_link_to_lists_that_hold_exactly_those_records(client: TestClient, api: Any) -> None:
    a = api("grid_a")
    alone = new_person(api, name="孤老甲", id_number=id_number(birth="19400505"), phone=None)
    a.post(f"{PEOPLE}/{alone['id']}/tags", json={"tag": "living_alone"})
    new_person(api, name="流动乙", id_number=id_number(serial="456"), phone=None, residence_type="floating",
               floating_expires_on="2030-01-01")
    path = {"grid_code": GRID_A, "compound": "画像小区", "building": "1栋"}
    a.post(f"{R}/rooms", json={**path, "number": "101", "use": "rented"})
    a.post(f"{R}/things", json={"kind": "manhole_cover", "grid_code": GRID_A, "status": "damaged"})
    a.post(f"{R}/organizations", json={"kind": "homeowners_committee", "name": "画像业委会", "grid_code": GRID_A})
    report(api, "grid_a", GRID_A)

    login(client, "grid_a")
    page = client.get(f"/registry?unit={GRID_A}").text
    figures = _figures(page)
    assert len(figures) >= 30
    shown = dict(figures)
    assert shown[f"/registry/people?grid={GRID_A}&tag=living_alone"] >= 1
    assert shown[f"/registry/people?grid={GRID_A}&tag=aged_80"] >= 1
    assert shown[f"/registry/things?grid={GRID_A}&status=damaged"] >= 1
    for href, n in figures:
        if href.startswith("/workbench"):
            continue
        r = client.get(href)
        assert r.status_code == 200, href
        assert total(r.text) == n, href
    alone_list = client.get(f"/registry/people?grid={GRID_A}&tag=living_alone").text
    assert "孤老甲" in alone_list and "流动乙" not in alone_list

    # A dispatcher's open-case count opens the queue filtered to the unit's open cases.
    client.cookies.clear()
    login(client, "community")
    page = client.get(f"/registry?unit={COMMUNITY}").text
    [(href, n)] = [(h, n) for h, n in _figures(page) if h.startswith("/workbench")]
    assert n >= 1 and f"unit={COMMUNITY}" in href and "status=open" in href
    assert f"共 {n} 件" in client.get(href).text.replace(",", "")
    # The table of grids below, each with its people, drills down too.
    assert f'href="/registry?unit={GRID_A}"' in page and f'href="/registry?unit={GRID_B}"' in page
    row = page.split(f'href="/registry/people?grid={GRID_A}">', 1)[1]
    assert int(row.split("<", 1)[0].replace(",", "")) == total(client.get(f"/registry/people?grid={GRID_A}").text)
    assert 'id="profile-map"' in page and '"geometry"' in page


# Forms name the field in error, and store nothing.


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"id_number": ID[:-1] + ("0" if ID[-1] != "0" else "1")}, "id_number", "校验位不符"),
    ({"id_number": "36080219800101"}, "id_number", "18 位"),
    ({"phone": "12812345678"}, "phone", "11 位大陆手机号"),
    ({"name": " "}, "name", "必填"),
    ({"residence_type": "floating"}, "floating_expires_on", "有效期"),
    ({"grid_code": GRID_B}, "grid_code", "管辖范围内的网格"),
])
def test_registering_a_person_with_bad_input_names_the_field(client: TestClient, db: Any, change: dict,
                                                               field: str, message: str) -> None:
    login(client, "grid_a")
    before = people_in(db)
    data = {"name": "王五", "grid_code": GRID_A, "id_number": id_number(serial="789"), "phone": "13700001111",
            "residence_type": "registered", **change}
    r = client.post("/registry/people/new", data={"csrf_token": csrf_from(client.get("/registry/people/new").text),
                                                  **data})
    assert r.status_code == 422, r.text[:300]
    error = re.search(rf'<p class="field-error" id="err-{field}" role="alert">([^<]+)</p>', r.text)
    assert error and message in error.group(1), r.text[r.text.find("field-error") - 300:][:700]
    assert re.search(rf'name="{field}"[^>]*aria-invalid="true"', r.text)
    assert people_in(db) == before


def test_registering_a_person_through_the_form(client: TestClient, db: Any) -> None:
    login(client, "grid_a")
    r = post_form(client, "/registry/people/new", "/registry/people/new", name="王五", grid_code=GRID_A,
                  id_number=id_number(serial="789"), phone="13700001111", residence_type="registered")
    assert r.status_code == 200 and "已登记" in r.text and "王五" in r.text
    assert re.search(r"/registry/people/[0-9a-f-]{36}$", str(r.url))
    assert "13700001111" not in r.text and "137****1111" in r.text


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


# Keeping the registry up to date from the pages.


def test_tags_moves_and_household_from_the_person_page(client: TestClient, api: Any) -> None:
    p = new_person(api)
    login(client, "grid_a")
    page = f"/registry/people/{p['id']}"
    r = post_form(client, page, f"{page}/tags", tag="aged_80")
    assert r.status_code == 422 and 'id="err-tag-tag"' in r.text and "自动得出" in r.text
    r = post_form(client, page, f"{page}/tags", tag="allowance", starts_on="2024-01-01")
    assert r.status_code == 200 and "低保" in r.text.split('id="tags"')[1]
    r = post_form(client, page, f"{page}/household", action="create", number="H-001")
    assert "H-001" in r.text and "户主" in r.text.split('id="household"')[1]
    r = post_form(client, page, f"{page}/move", to_grid=GRID_A)
    assert r.status_code == 422 and "此人已住在该处" in r.text
    r = post_form(client, page, f"{page}/move", to_grid=GRID_B, note="随女儿居住")
    assert r.status_code == 200 and str(r.url).endswith("/registry/people") and "已迁出" in r.text
    assert client.get(page).status_code == 404
    client.cookies.clear()
    login(client, "grid_b")
    moved = client.get(page).text
    assert "随女儿居住" in moved.split('id="moves"')[1]


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
    assert r.status_code == 200 and "139****5678" in r.text and "13912345678" not in r.text
    listed = client.get("/registry/organizations?kind=homeowners_committee").text
    assert "页面业委会" in listed and "139****5678" in listed and "13912345678" not in listed
