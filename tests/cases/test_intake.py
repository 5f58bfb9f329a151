"""Intake: assignment by place and category, bad input, idempotent retries, duplicates, tracking, concurrency."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from jiayuan.cases.models import Case
from tests.cases.helpers import act, point_in, report
from tests.personas import COMMUNITY, GRID_A, PERSONAS


def _count(db) -> int:  # noqa: ANN001
    with db.sessions() as s:
        return s.scalar(select(func.count()).select_from(Case))


def test_a_located_case_goes_to_its_grid_and_lead(api) -> None:  # noqa: ANN001
    case = report(api, "resident", GRID_A, category="1101")  # level: grid
    assert case["grid_code"] == GRID_A and case["unit_code"] == GRID_A and case["level"] == "grid"
    assert len(case["number"]) == 11 and case["number"].isdigit()
    assert case["status"] == "dispatched" and case["assignee"] == PERSONAS["grid_a"].username


def test_the_category_level_decides_who_handles(api) -> None:  # noqa: ANN001
    community = report(api, "resident", GRID_A, category="1502")  # 乱停车: community
    assert community["unit_code"] == COMMUNITY and community["level"] == "community"
    street = report(api, "resident", GRID_A, category="1104")  # 违章搭建: street
    assert street["unit_code"] == COMMUNITY[:9]
    dept = report(api, "resident", GRID_A, category="1302")  # 渣土撒漏: the city-management department
    assert dept["level"] == "department" and dept["department"] == "dept_city"
    for step in ("accept", "register"):
        act(api, "admin", dept["number"], step)
    assert act(api, "admin", dept["number"], "dispatch")["assignee"] == "dept_city"
    # The department sees it and handles it; it does not see the grid's other cases.
    assert api("department").get(f"/api/v1/cases/{dept['number']}").status_code == 200
    assert api("department").get(f"/api/v1/cases/{community['number']}").status_code == 404
    act(api, "department", dept["number"], "handle", note="已清运")


def test_without_a_location_the_hotline_picks_the_unit(api) -> None:  # noqa: ANN001
    r = api("hotline").post("/api/v1/cases", json={"category": "2101", "description": "楼上邻居深夜吵闹",
                                                   "unit_code": COMMUNITY, "reporter_phone": "13912345678"})
    assert r.status_code == 201, r.text
    assert r.json()["origin_code"] == COMMUNITY and r.json()["grid_code"] is None
    assert r.json()["reporter_phone"] == "*******5678"


@pytest.mark.parametrize(("body", "field"), [
    ({"category": "9999"}, "category"),
    ({"category": "11"}, "category"),
    ({"description": ""}, "description"),
    ({"description": "长" * 4001}, "description"),
    ({"lat": 28.5, "lon": 114.98}, "lat"),
    ({"lat": 27.1, "lon": None}, "lon"),
    ({"reporter_phone": "12345"}, "reporter_phone"),
    ({"category": "0101", "attributes": {}}, "attributes.cover_state"),
    ({"category": "0101", "attributes": {"cover_state": "stolen"}}, "attributes.cover_state"),
    ({"unit_code": "36080200100100x", "lat": None, "lon": None}, "unit_code"),
    ({"crs": "bd09"}, "crs"),
])
def test_bad_input_names_the_field_and_stores_nothing(api, db, body, field) -> None:  # noqa: ANN001
    lat, lon = point_in(api, GRID_A)
    base = {"category": "1101", "description": "暴露垃圾", "lat": lat, "lon": lon}
    before = _count(db)
    r = api("resident").post("/api/v1/cases", json={**base, **body})
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field
    assert _count(db) == before


def test_a_point_outside_the_district_names_the_nearest_grid(api) -> None:  # noqa: ANN001
    r = api("resident").post("/api/v1/cases", json={"category": "1101", "description": "x", "lat": 28.5,
                                                    "lon": 114.98})
    assert r.status_code == 422 and "nearest" in r.json()["message"]


def test_the_same_idempotency_key_returns_the_same_case(api, db) -> None:  # noqa: ANN001
    lat, lon = point_in(api, GRID_A)
    body = {"category": "1101", "description": "暴露垃圾", "lat": lat, "lon": lon}
    headers = {"Idempotency-Key": "phone-app-7f3a"}
    first = api("resident").post("/api/v1/cases", json=body, headers=headers)
    before = _count(db)
    again = api("resident").post("/api/v1/cases", json=body, headers=headers)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["number"] == first.json()["number"] and again.json()["replayed"] is True
    assert _count(db) == before
    # Another caller's identical key is another request.
    other = api("hotline").post("/api/v1/cases", json=body, headers=headers)
    assert other.status_code == 201 and other.json()["number"] != first.json()["number"]


def test_the_same_idempotency_key_with_another_report_is_refused_not_answered_with_the_first(
        api, db) -> None:  # noqa: ANN001
    lat, lon = point_in(api, GRID_A)
    headers = {"Idempotency-Key": "phone-app-9d2e"}
    first = api("resident").post("/api/v1/cases", json={"category": "1101", "description": "暴露垃圾", "lat": lat,
                                                        "lon": lon}, headers=headers)
    assert first.status_code == 201
    before = _count(db)
    for change in ({"description": "路灯不亮"}, {"category": "1201"}, {"lat": lat + 0.0001}):
        other = api("resident").post("/api/v1/cases", json={"category": "1101", "description": "暴露垃圾",
                                                            "lat": lat, "lon": lon, **change}, headers=headers)
        assert other.status_code == 422, other.text
        assert (other.json()["field"], other.json()["reason"]) == ("Idempotency-Key", "idempotency_key_reused")
        assert first.json()["number"] not in other.text
    assert _count(db) == before


def test_duplicates_nearby_are_suggested_and_can_be_merged(api) -> None:  # noqa: ANN001
    first = report(api, "resident", GRID_A, category="1101")
    second = report(api, "hotline", GRID_A, category="1101")
    assert first["number"] in second["possible_duplicates"]
    other_category = report(api, "hotline", GRID_A, category="1201")
    assert first["number"] not in other_category["possible_duplicates"]
    merged = act(api, "community", second["number"], "merge", original=first["number"])
    assert merged["status"] == "voided" and merged["merged_into"] == first["number"]


def test_a_resident_learns_that_similar_reports_exist_but_not_their_numbers(api) -> None:  # noqa: ANN001
    others = [report(api, "hotline", GRID_A, category="1101", reporter_phone="13700001111") for _ in range(2)]
    mine = report(api, "resident", GRID_A, category="1101")
    assert mine["possible_duplicates"] == [] and mine["similar_reports"] == 2
    for other in others:
        assert other["number"] not in str(mine)
    # Asking for the duplicates of their own case gives them nobody else's either.
    r = api("resident").get(f"/api/v1/cases/{mine['number']}/duplicates")
    assert r.status_code == 200 and r.json() == []
    # Staff still see them, to merge.
    seen = api("community").get(f"/api/v1/cases/{mine['number']}/duplicates").json()
    assert seen == [o["number"] for o in others]
    # A resident's own earlier report nearby is theirs to see.
    again = report(api, "resident", GRID_A, category="1101")
    assert again["possible_duplicates"] == [mine["number"]] and again["similar_reports"] == 3
    # A grid worker of the next grid reporting here learns the count, not cases outside their grids.
    assert report(api, "grid_b", GRID_A, category="1101")["possible_duplicates"] == []


def test_tracking_by_number_and_phone(api, client) -> None:  # noqa: ANN001
    case = report(api, "hotline", GRID_A, reporter_phone="13700001111")
    r = client.post("/api/v1/cases/track", json={"number": case["number"], "phone": "13700001111"})
    assert r.status_code == 200 and r.json()["status"] == "dispatched"
    assert "13700001111" not in r.text
    wrong = client.post("/api/v1/cases/track", json={"number": case["number"], "phone": "13700002222"})
    assert wrong.status_code == 404


def test_only_one_of_two_simultaneous_transitions_applies(migrated) -> None:  # noqa: ANN001
    """Two dispatchers accept the same case at the same moment: one wins, the other gets 409.
    (Real transactions on the shared database: no per-test transaction may hold its lock.)"""
    from shapely.geometry import shape

    from jiayuan.accounts.models import User
    from jiayuan.accounts.service import principal_of
    from jiayuan.cases import actions, intake
    from jiayuan.kit.scope import Scope
    from jiayuan.units.service import get_unit

    with migrated.unit_of_work() as s:
        point = shape(get_unit(s, Scope.everything(), GRID_A).geometry).representative_point()
        lat, lon = point.y, point.x
    with migrated.unit_of_work() as s:
        resident = principal_of(s.scalar(select(User).where(User.username == "resident1")))
        made = intake.report_case(s, intake.CaseInput(category="1502", description="并发测试", lat=lat, lon=lon),
                                  channel="resident", actor=resident).case
        number = made.number
    with migrated.sessions() as s:
        version = s.scalar(select(Case.version).where(Case.number == number))
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def accept(username: str) -> None:
        with migrated.sessions() as s:
            p = principal_of(s.scalar(select(User).where(User.username == username)))
        barrier.wait()
        try:
            with migrated.unit_of_work() as s:
                actions.act(s, p, number, "accept", actions.ActionInput())
            outcomes.append("ok")
        except Exception as exc:  # noqa: BLE001
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=accept, args=(u,)) for u in ("admin", PERSONAS["community"].username)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(outcomes) in (["Conflict", "ok"], ["StaleDataError", "ok"]), outcomes
        with migrated.sessions() as s:
            case = s.scalar(select(Case).where(Case.number == number))
            assert case.status == "accepted" and case.version == version + 1
    finally:
        with migrated.unit_of_work() as s:
            s.delete(s.scalar(select(Case).where(Case.number == number)))
