"""People pages through the test client: the pages speak Chinese and refuse other roles, lists that never show a
whole ID number or phone, search by number through a posted form, audited unmasking, scope, and forms that name the
field in error."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient

from tests.conftest import csrf_from
from tests.personas import GRID_A, GRID_B, PERSONAS
from tests.registry.page_helpers import (
    ID,
    MASKED_ID,
    MASKED_PHONE,
    PEOPLE,
    PHONE,
    audits,
    hrefs,
    id_number,
    login,
    new_person,
    people_in,
    post_form,
)


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
    assert 'id="err-unmask-reason"' in r.text and "写明事由" in r.text and 'aria-invalid="true"' in r.text
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
        r = client.post("/registry/people/search", data={"csrf_token": csrf_from(page), "q": q,
                                                         "reason": "核实来访居民身份"})
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
    assert "13700001111" not in r.text and "*******1111" in r.text


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


def test_refusals_are_worded_by_their_reason(client: TestClient, api: Any) -> None:
    """Messages come from (field, reason): a missing grid is "required", a room of another grid says so, and a
    reason too short for unmasking names the minimum."""
    p = new_person(api)
    login(client, "grid_a")
    page = f"/registry/people/{p['id']}"
    r = post_form(client, page, f"{page}/move", to_grid="")
    assert r.status_code == 422 and re.search(r'id="err-move-to_grid" role="alert">必填', r.text)
    r = post_form(client, page, f"{page}/household", action="join", household_id="")
    assert r.status_code == 422 and 'class="field-error" role="alert">必填' in r.text  # no household to join here
    client.cookies.clear()
    login(client, "community")
    r = post_form(client, page, f"{page}/unmask", reason="查")
    assert r.status_code == 422 and re.search(r'id="err-unmask-reason" role="alert">[^<]*4', r.text)
