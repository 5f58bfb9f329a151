"""Special service projects and produce points: a project run by a registry organization for registry tags,
beneficiaries enrolled through the caller's scope (a person out of scope is a 404, twice is a 409), activities,
produce points with weekly hours, and the staff pages."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from jiayuan.demo.generate import build_demo
from jiayuan.kit.clock import local_today
from tests.conftest import csrf_from, page_login
from tests.personas import COMMUNITY, GRID_A, PERSONAS
from tests.registry.helpers import credit_code, id_number

S = "/api/v1/services"
R = "/api/v1/registry"
OTHER_COMMUNITY = PERSONAS["other_community"].scope
OTHER_GRID = next(u.code for u in build_demo("small").units if u.level == "grid" and u.parent_code == OTHER_COMMUNITY)


def created(response: Any, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()


def refused(response: Any, status: int, field: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["field"] == field, response.text


def organization(api: Any) -> dict[str, Any]:
    return created(api("community").post(f"{R}/organizations", json={
        "kind": "social_service", "name": "阳光社工服务中心", "grid_code": GRID_A,
        "credit_code": credit_code("PJ7A2B3C", department="5", kind="2")}))


def person(api: Any, who: str, grid: str, serial: int, name: str) -> dict[str, Any]:
    return created(api(who).post(f"{R}/people", json={"name": name, "grid_code": grid,
                                                      "id_number": id_number(serial, "20150601")}))


def project(api: Any, **fields: Any) -> dict[str, Any]:
    body = {"unit_code": COMMUNITY, "name": f"留守儿童关爱项目{uuid.uuid4().hex[:4]}", "target_tags": ["left_behind_child"],
            **fields}
    return created(api("community").post(f"{S}/projects", json=body))


def test_a_project_is_run_by_an_organization_for_registry_tags(api: Any) -> None:
    org = organization(api)
    p = project(api, organization_id=org["id"], starts_on="2026-01-01", ends_on="2026-12-31",
                description="周末课业辅导与亲情电话")
    assert p["organization_name"] == "阳光社工服务中心" and p["target_tags"] == ["left_behind_child"]
    c = api("community")
    refused(c.post(f"{S}/projects", json={"unit_code": COMMUNITY, "name": "x", "target_tags": ["rich"]}), 422,
            "target_tags[0]")
    refused(c.post(f"{S}/projects", json={"unit_code": COMMUNITY, "name": "y", "organization_id": str(uuid.uuid4())}),
            422, "organization_id")
    refused(c.post(f"{S}/projects", json={"unit_code": COMMUNITY, "name": "z", "starts_on": "2026-05-01",
                                          "ends_on": "2026-04-01"}), 422, "ends_on")
    refused(c.post(f"{S}/projects", json={"unit_code": COMMUNITY, "name": p["name"]}), 409, "name")
    refused(c.post(f"{S}/projects", json={"unit_code": OTHER_COMMUNITY, "name": "越界"}), 404, "unit_code")
    refused(c.post(f"{S}/projects", json={"unit_code": GRID_A, "name": "网格项目"}), 422, "unit_code")
    refused(api("grid_a").post(f"{S}/projects", json={"unit_code": COMMUNITY, "name": "网格员"}), 403, "role")
    # The street sees its communities' projects; another community does not.
    assert p["id"] in {x["id"] for x in api("street").get(f"{S}/projects").json()["items"]}
    refused(api("other_community").get(f"{S}/projects/{p['id']}"), 404, "id")
    changed = created(c.patch(f"{S}/projects/{p['id']}", json={"target_tags": ["left_behind_child", "allowance"]}),
                      200)
    assert changed["target_tags"] == ["left_behind_child", "allowance"]


def test_enrolment_goes_through_the_callers_scope(api: Any) -> None:
    p = project(api)
    ours = person(api, "grid_a", GRID_A, 11, "李小明")
    theirs = person(api, "other_community", OTHER_GRID, 12, "王小红")
    url = f"{S}/projects/{p['id']}/beneficiaries"
    c = api("community")
    first = created(c.post(url, json={"person_id": ours["id"], "note": "父母在外务工"}))
    assert first["name"] == "李小明" and first["enrolled_on"] == local_today().isoformat()
    refused(c.post(url, json={"person_id": ours["id"]}), 409, "person_id")
    refused(c.post(url, json={"person_id": theirs["id"]}), 404, "person_id")  # out of scope: as if not there
    refused(c.post(url, json={"person_id": str(uuid.uuid4())}), 404, "person_id")
    # The district sees the other community's child, but the project runs in this community only.
    refused(api("admin").post(url, json={"person_id": theirs["id"]}), 422, "person_id")
    refused(c.post(url, json={"person_id": ours["id"], "enrolled_on": "2099-01-01"}), 422, "enrolled_on")
    assert [b["name"] for b in c.get(url).json()] == ["李小明"]
    assert c.get(f"{S}/projects/{p['id']}").json()["beneficiaries"] == 1

    left = created(c.post(f"{url}/{ours['id']}/leave", json={}), 200)
    assert left["left_on"] == local_today().isoformat()
    refused(c.post(f"{url}/{ours['id']}/leave", json={}), 409, "person_id")
    assert c.get(f"{S}/projects/{p['id']}").json()["beneficiaries"] == 0
    again = created(c.post(url, json={"person_id": ours["id"]}))  # enrolled again after leaving
    assert again["left_on"] is None and len(c.get(url).json()) == 1


def test_activities_are_logged(api: Any) -> None:
    p = project(api)
    url = f"{S}/projects/{p['id']}/activities"
    c = api("community")
    yesterday = (local_today() - timedelta(days=1)).isoformat()
    created(c.post(url, json={"held_on": yesterday, "title": "周末课业辅导", "participants": 12}))
    created(c.post(url, json={"title": "亲情电话", "participants": 8, "notes": "与在外父母视频"}))
    assert [a["title"] for a in c.get(url).json()] == ["亲情电话", "周末课业辅导"]
    refused(c.post(url, json={"title": "未来", "held_on": "2099-01-01"}), 422, "held_on")
    refused(c.post(url, json={"title": " "}), 422, "title")
    refused(c.post(url, json={"title": "人数", "participants": -3}), 422, "participants")
    refused(api("other_community").post(url, json={"title": "越界"}), 404, "id")


def test_produce_points_keep_weekly_hours(api: Any) -> None:
    c = api("community")
    point = created(c.post(f"{S}/produce-points", json={
        "unit_code": COMMUNITY, "name": "文山农超对接点", "supplier": "吉州区蔬菜合作社",
        "weekly_hours": {"2": [["06:30", "09:00"]], "6": [["06:30", "10:00"]]}}))
    assert point["weekly_hours"]["2"] == [["06:30", "09:00"]] and point["weekly_hours"]["1"] == []
    refused(c.post(f"{S}/produce-points", json={"unit_code": COMMUNITY, "name": "坏时间",
                                                "weekly_hours": {"6": [["10:00", "06:30"]]}}), 422,
            "weekly_hours.6[0]")
    refused(api("street").post(f"{S}/produce-points", json={"unit_code": COMMUNITY[:9], "name": "街道"}), 422,
            "unit_code")  # a point stands in a community or a grid, not a street
    refused(c.post(f"{S}/produce-points", json={"unit_code": COMMUNITY, "name": "文山农超对接点"}), 409, "name")
    assert created(c.patch(f"{S}/produce-points/{point['id']}", json={"active": False}), 200)["active"] is False
    assert point["id"] in {p["id"] for p in api("street").get(f"{S}/produce-points").json()}
    refused(api("other_community").get(f"{S}/produce-points/{point['id']}"), 404, "id")


def post_form(client: TestClient, page: str, target: str, **data: Any):
    return client.post(target, data={"csrf_token": csrf_from(client.get(page).text), **data}, follow_redirects=True)


def test_project_pages(client: TestClient, api: Any) -> None:
    org = organization(api)
    child = person(api, "grid_a", GRID_A, 21, "赵小军")
    assert page_login(client, PERSONAS["community"].username).status_code == 200
    page = client.get("/services/projects")
    assert page.status_code == 200 and "特色服务项目" in page.text
    bad = post_form(client, "/services/projects", "/services/projects", unit_code=COMMUNITY, name="关爱项目",
                    organization_id=str(org["id"]), target_tags=["left_behind_child"], starts_on="2026-06-01",
                    ends_on="2026-01-01")
    assert bad.status_code == 422 and "结束日期早于开始日期" in bad.text
    done = post_form(client, "/services/projects", "/services/projects", unit_code=COMMUNITY, name="关爱项目",
                     organization_id=str(org["id"]), target_tags=["left_behind_child"])
    assert done.status_code == 200 and "关爱项目" in done.text and "阳光社工服务中心" in done.text
    here = str(done.url)
    found = post_form(client, here, here + "/find", q="赵小军")
    assert found.status_code == 200 and "赵小军" in found.text
    # By ID number it is an exact look-up of the registry's: a reason beside its field, then audited.
    bare = post_form(client, here, here + "/find", q=id_number(21, "20150601"), reason="。。。")
    assert bare.status_code == 422 and 'id="err-find-reason"' in bare.text and "赵小军" not in bare.text
    by_number = post_form(client, here, here + "/find", q=id_number(21, "20150601"), reason="核实服务对象身份")
    assert by_number.status_code == 200 and "赵小军" in by_number.text
    enrolled = post_form(client, here, here + "/beneficiaries", person_id=child["id"])
    assert enrolled.status_code == 200 and "已纳入服务对象" in enrolled.text
    twice = post_form(client, here, here + "/beneficiaries", person_id=child["id"])
    assert twice.status_code == 409 and "此人已是该项目的服务对象" in twice.text
    logged = post_form(client, here, here + "/activities", held_on=local_today().isoformat(), title="周末课业辅导",
                       participants="9")
    assert logged.status_code == 200 and "周末课业辅导" in logged.text and "9 人参加" in logged.text
    points = post_form(client, "/services/produce-points", "/services/produce-points", unit_code=COMMUNITY,
                       name="文山农超对接点", hours_2="6:30-9:00", hours_6="06:30至10:00")
    assert points.status_code == 200 and "周二 06:30–09:00" in points.text
    wrong = post_form(client, "/services/produce-points", "/services/produce-points", unit_code=COMMUNITY,
                      name="坏时间", hours_3="9:00-8:00")
    assert wrong.status_code == 422 and 'aria-invalid="true"' in wrong.text and "开始时间须早于结束时间" in wrong.text
