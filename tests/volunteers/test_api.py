"""The volunteers API: teams, profiles (one per person), opportunities, sign-up, check-in and check-out, the
ledger with its balance, adjustments below zero refused, honours; bad input is a 4xx naming the field."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from jiayuan.kit.db import utcnow
from jiayuan.volunteers.models import Signup
from tests.conftest import api_token
from tests.personas import COMMUNITY
from tests.volunteers.helpers import credit, make_person, make_volunteer

PASSWORD = "volunteer-pass-1"


def _opportunity(api, starts_in_hours: float = 24, slots: int = 2, **extra):
    start = utcnow() + timedelta(hours=starts_in_hours)
    body = {"unit_code": COMMUNITY, "title": "社区清洁", "place": "小区花园", "team_code": "green",
            "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=2)).isoformat(), "slots": slots,
            **extra}
    return api("community").post("/api/v1/volunteers/opportunities", json=body)


def test_the_seven_teams_are_public(client) -> None:
    teams = client.get("/api/v1/volunteers/teams").json()
    assert [t["code"] for t in teams] == ["red", "orange", "yellow", "green", "cyan", "blue", "purple"]
    assert teams[1]["name_zh"] == "橙色（助老）" and teams[6]["name_zh"] == "紫色（法律与心理）"


def test_a_profile_per_person_with_an_account(api, client, session: Session) -> None:
    person = make_person(session, "李志愿")
    session.commit()
    username = f"vol-{uuid.uuid4().hex[:8]}"
    body = {"person_id": str(person.id), "team_code": "red", "skills": ["急救", "量血压"],
            "availability": {"6": [["08:00", "12:00"]]}, "username": username, "password": PASSWORD}
    r = api("community").post("/api/v1/volunteers", json=body)
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["name"], made["team_code"], made["unit_code"], made["has_account"]) == (
        "李志愿", "red", COMMUNITY, True)
    assert made["availability"]["6"] == [["08:00", "12:00"]] and made["availability"]["1"] == []
    again = api("community").post("/api/v1/volunteers", json={"person_id": str(person.id)})
    assert again.status_code == 409 and again.json()["field"] == "person_id"
    # The account is a volunteer's, scoped to the unit served: it sees its own profile.
    token = api_token(client, username, PASSWORD)
    me = client.get("/api/v1/volunteers/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["id"] == made["id"]
    assert api("other_community").get(f"/api/v1/volunteers/{made['id']}").status_code == 404
    assert api("resident").post("/api/v1/volunteers", json={"person_id": str(person.id)}).status_code == 403


def test_bad_profiles_name_the_field(api, session: Session) -> None:
    person = make_person(session)
    session.commit()
    for body, field in (({"team_code": "pink"}, "team_code"), ({"availability": {"8": []}}, "availability.8"),
                        ({"availability": {"1": [["12:00", "08:00"]]}}, "availability.1[0]"),
                        ({"unit_code": "12345"}, "unit_code"), ({"skills": ["x" * 41]}, "skills[0]")):
        r = api("community").post("/api/v1/volunteers", json={"person_id": str(person.id), **body})
        assert r.status_code == 422 and r.json()["field"] == field, (body, r.text)
    r = api("community").post("/api/v1/volunteers", json={"person_id": "nope"})
    assert r.status_code == 422 and r.json()["field"] == "person_id"


def test_bad_opportunities_name_the_field(api) -> None:
    assert _opportunity(api, slots=0).json()["field"] == "slots"
    start = utcnow() + timedelta(days=1)
    r = _opportunity(api, starts_at=start.isoformat(), ends_at=start.isoformat())
    assert r.status_code == 422 and r.json()["field"] == "ends_at"
    r = api("community").post("/api/v1/volunteers/opportunities", json={"starts_at": start.isoformat(),
                                                                         "ends_at": start.isoformat(), "slots": 1})
    assert r.status_code == 422 and r.json()["field"] == "title"


def test_sign_up_check_in_and_out_and_the_ledger(api, client, session: Session) -> None:
    username = f"vol-{uuid.uuid4().hex[:8]}"
    v = make_volunteer(session, username=username)
    session.commit()
    headers = {"Authorization": f"Bearer {api_token(client, username, PASSWORD)}"}
    later = _opportunity(api).json()
    r = client.post(f"/api/v1/volunteers/opportunities/{later['id']}/signups", headers=headers)
    assert r.status_code == 201 and r.json()["status"] == "signed_up"
    early = client.post(f"/api/v1/volunteers/signups/{r.json()['id']}/checkin", headers=headers)
    assert early.status_code == 409 and early.json()["field"] == "checked_in_at"

    now = _opportunity(api, starts_in_hours=-0.5).json()
    up = client.post(f"/api/v1/volunteers/opportunities/{now['id']}/signups", headers=headers).json()
    assert client.post(f"/api/v1/volunteers/signups/{up['id']}/checkin", headers=headers).json()["status"] == (
        "checked_in")
    # As if the volunteer had checked in 90 minutes ago.
    session.execute(update(Signup).where(Signup.id == uuid.UUID(up["id"])).values(
        checked_in_at=utcnow() - timedelta(minutes=90)))
    session.commit()
    out = client.post(f"/api/v1/volunteers/signups/{up['id']}/checkout", headers=headers).json()
    assert out["signup"]["status"] == "checked_out" and out["credited"]["minutes"] == 90
    retry = client.post(f"/api/v1/volunteers/signups/{up['id']}/checkout", headers=headers).json()
    assert retry["credited"]["id"] == out["credited"]["id"]
    ledger = client.get(f"/api/v1/volunteers/{v.id}/hours", headers=headers).json()
    assert ledger["balance_minutes"] == 90 == sum(e["minutes"] for e in ledger["entries"])
    listed = api("community").get(f"/api/v1/volunteers/opportunities/{now['id']}/signups").json()
    assert [(s["volunteer_id"], s["status"]) for s in listed] == [(str(v.id), "checked_out")]
    assert client.get(f"/api/v1/volunteers/opportunities/{now['id']}/signups", headers=headers).status_code == 403


def test_adjustments_and_a_debit_below_zero(api, session: Session) -> None:
    v = make_volunteer(session)
    credit(session, v, 60, uuid.uuid4())
    session.commit()
    r = api("community").post(f"/api/v1/volunteers/{v.id}/hours", json={"minutes": -61, "note": "更正"})
    assert r.status_code == 409 and r.json()["field"] == "minutes" and r.json()["details"]["balance_minutes"] == 60
    r = api("community").post(f"/api/v1/volunteers/{v.id}/hours", json={"minutes": -60, "note": "更正"})
    assert r.status_code == 201 and r.json()["kind"] == "adjustment" and r.json()["minutes"] == -60
    assert api("community").post(f"/api/v1/volunteers/{v.id}/hours", json={"minutes": 5, "note": ""}).json()[
        "field"] == "note"
    assert api("community").get(f"/api/v1/volunteers/{v.id}/hours").json()["balance_minutes"] == 0
    assert api("grid_a").post(f"/api/v1/volunteers/{v.id}/hours",
                              json={"minutes": 5, "note": "加时"}).status_code == 403


def test_honours_listed_with_a_certificate(api, client, session: Session) -> None:
    v = make_volunteer(session)
    credit(session, v, 300 * 60, uuid.uuid4())
    session.commit()
    honours = api("community").get(f"/api/v1/volunteers/{v.id}/honours").json()
    assert [h["threshold_hours"] for h in honours] == [100, 300]
    assert all(h["certificate_no"].startswith("ZY360802") for h in honours)
    page = api("community").get(honours[1]["certificate_url"])
    assert page.status_code == 200 and honours[1]["certificate_no"] in page.text and "300" in page.text


def test_lists_by_team(api, session: Session) -> None:
    make_volunteer(session, team="purple")
    session.commit()
    listed = api("street").get("/api/v1/volunteers", params={"team": "purple"}).json()
    assert listed["total"] >= 1 and {v["team_code"] for v in listed["items"]} == {"purple"}
    assert api("resident").get("/api/v1/volunteers").status_code == 403


def test_hostile_values_are_a_4xx_on_both_databases(api, session: Session) -> None:
    """NUL characters (PostgreSQL refuses them in text), overlong strings, 64-bit overflows and the extreme dates
    come back as 422 naming the field, never as a server error."""
    person = make_person(session)
    session.commit()
    staff = api("community")
    for body, field in (({"team_code": "a\x00b"}, "team_code"), ({"team_code": "长" * 3000}, "team_code"),
                        ({"skills": ["a\x00b"]}, "skills[0]")):
        r = staff.post("/api/v1/volunteers", json={"person_id": str(person.id), **body})
        assert r.status_code == 422 and r.json()["field"] == field, r.text
    for extra, field in (({"title": "a\x00b"}, "title"), ({"slots": 2**64 + 1}, "slots"),
                         ({"starts_at": "0001-01-01T00:00:00Z"}, "starts_at"),
                         ({"ends_at": "9999-12-31T23:59:59Z"}, "ends_at")):
        r = _opportunity(api, **extra)
        assert r.status_code == 422 and r.json()["field"] == field, r.text
    assert staff.get("/api/v1/volunteers/opportunities", params={"team": "a\x00b"}).status_code == 422
    assert staff.get("/api/v1/volunteers", params={"offset": 2**64 + 1}).status_code == 422
    v = make_volunteer(session)
    session.commit()
    r = staff.post(f"/api/v1/volunteers/{v.id}/hours", json={"minutes": 5, "note": "a\x00b"})
    assert r.status_code == 422 and r.json()["field"] == "note"
    r = staff.post(f"/api/v1/volunteers/{v.id}/hours", json={"minutes": 2**64 + 1, "note": "加时"})
    assert r.status_code == 422 and r.json()["field"] == "minutes"
