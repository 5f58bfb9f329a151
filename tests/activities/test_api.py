"""The activities API: the public list without sign-in, registration with capacity and waitlist, cancellation,
QR check-in, the attendance list and its close crediting volunteers once, series figures; bad input names the
field."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from jiayuan.accounts.service import create_user
from jiayuan.activities.models import Activity
from jiayuan.demo.load import DEMO_PASSWORD
from jiayuan.kit.db import utcnow
from jiayuan.volunteers import opportunities as opps
from tests.conftest import api_token
from tests.personas import COMMUNITY
from tests.volunteers.helpers import make_person, make_volunteer, principal


def _activity(api, starts_in_hours: float = 24, hours: float = 2, **extra):
    start = utcnow() + timedelta(hours=starts_in_hours)
    body = {"unit_code": COMMUNITY, "kind": "festival", "title": "中秋晚会", "organizer": "社区居委会",
            "place": "社区广场", "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=hours)).isoformat(),
            **extra}
    return api("community").post("/api/v1/activities", json=body)


def _resident(client, session: Session) -> dict:
    user = create_user(session, username=f"res-{uuid.uuid4().hex[:8]}", full_name="居民乙", role="resident",
                       scope_code=None, password=DEMO_PASSWORD)
    session.commit()
    return {"Authorization": f"Bearer {api_token(client, user.username)}"}


def test_public_activities_are_listed_without_sign_in(api, client) -> None:
    public = _activity(api, capacity=100).json()
    hidden = _activity(api, public=False).json()
    listed = {a["id"]: a for a in client.get("/api/v1/activities").json()}
    assert public["id"] in listed and hidden["id"] not in listed
    assert listed[public["id"]]["places_left"] == 100 and listed[public["id"]]["checkin_url"] is None
    assert client.get(f"/api/v1/activities/{hidden['id']}").status_code == 404
    assert public["checkin_url"].endswith(f"/activities/checkin/{public['checkin_url'].rsplit('/', 1)[1]}")
    staff = {a["id"] for a in api("community").get("/api/v1/activities", params={"staff": True}).json()}
    assert {public["id"], hidden["id"]} <= staff


def test_bad_activities_name_the_field(api) -> None:
    for extra, field in (({"capacity": 0}, "capacity"), ({"kind": "party"}, "kind"), ({"organizer": ""}, "organizer"),
                         ({"volunteer_run": True}, "volunteer_slots"), ({"unit_code": "999"}, "unit_code")):
        r = _activity(api, **extra)
        assert r.status_code == 422 and r.json()["field"] == field, (extra, r.text)
    assert _activity(api, hours=0).json()["field"] == "ends_at"
    assert api("resident").post("/api/v1/activities", json={"title": "x", "organizer": "y", "place": "z",
                                                            "starts_at": utcnow().isoformat(),
                                                            "ends_at": utcnow().isoformat()}).status_code == 403


def test_registration_capacity_waitlist_and_cancellation(api, client, session: Session) -> None:
    a = _activity(api, capacity=1).json()
    first = api("resident").post(f"/api/v1/activities/{a['id']}/registrations")
    assert first.status_code == 201 and first.json()["status"] == "registered"
    other = _resident(client, session)
    second = client.post(f"/api/v1/activities/{a['id']}/registrations", headers=other)
    assert second.status_code == 201 and second.json()["status"] == "waitlisted"
    dup = client.post(f"/api/v1/activities/{a['id']}/registrations", headers=other)
    assert dup.status_code == 409 and dup.json()["field"] == "activity_id"
    seen = client.get(f"/api/v1/activities/{a['id']}", headers=other).json()
    assert seen["places_left"] == 0 and seen["my_registration"]["status"] == "waitlisted"
    assert api("resident").post(f"/api/v1/activities/registrations/{first.json()['id']}/cancel").json()[
        "status"] == "cancelled"
    assert client.get(f"/api/v1/activities/{a['id']}", headers=other).json()["my_registration"]["status"] == (
        "registered")
    # Someone else's registration does not exist for a resident.
    assert client.post(f"/api/v1/activities/registrations/{first.json()['id']}/cancel",
                       headers=other).status_code == 404


def test_staff_register_a_person_and_tick_the_list(api, session: Session) -> None:
    person = make_person(session, "王大爷")
    session.commit()
    a = _activity(api, starts_in_hours=0.2).json()
    reg = api("community").post(f"/api/v1/activities/{a['id']}/registrations", json={"person_id": str(person.id)})
    assert reg.status_code == 201 and reg.json()["name"] == "王大爷" and reg.json()["by_staff"]
    ticked = api("community").post(f"/api/v1/activities/registrations/{reg.json()['id']}/attendance",
                                   json={"attended": True})
    assert ticked.json()["status"] == "attended"
    sheet = api("community").get(f"/api/v1/activities/{a['id']}/attendance").json()
    assert sheet["attended"] == 1 and sheet["registrations"][0]["name"] == "王大爷"
    assert api("resident").get(f"/api/v1/activities/{a['id']}/attendance").status_code == 404
    assert api("other_community").get(f"/api/v1/activities/{a['id']}/attendance").status_code == 404
    bad = api("community").post(f"/api/v1/activities/registrations/{reg.json()['id']}/attendance", json={})
    assert bad.status_code == 422 and bad.json()["field"] == "attended"


def test_qr_check_in(api, client, session: Session) -> None:
    a = _activity(api, starts_in_hours=0.1, capacity=10).json()
    token = a["checkin_url"].rsplit("/", 1)[1]
    done = api("resident").post(f"/api/v1/activities/checkin/{token}")
    assert done.status_code == 200 and done.json()["checked_in_now"] and done.json()["registration"]["status"] == (
        "attended")
    assert not api("resident").post(f"/api/v1/activities/checkin/{token}").json()["checked_in_now"]
    assert client.post(f"/api/v1/activities/checkin/{token}").status_code == 401
    assert api("resident").post("/api/v1/activities/checkin/not-a-token-of-anything").status_code == 404
    later = _activity(api, starts_in_hours=5).json()
    early = api("resident").post(f"/api/v1/activities/checkin/{later['checkin_url'].rsplit('/', 1)[1]}")
    assert early.status_code == 409 and early.json()["field"] == "token"


def test_closing_a_volunteer_run_activity_credits_its_volunteers_once(api, session: Session) -> None:
    a = _activity(api, starts_in_hours=0.25, hours=3, kind="volunteer", volunteer_run=True, volunteer_slots=3).json()
    assert a["opportunity_id"]
    staff = principal(session, "community")
    v = make_volunteer(session)
    up = opps.sign_up(session, staff, uuid.UUID(a["opportunity_id"]), v.id)
    opps.check_in(session, staff, up.id)  # check-in opens 30 minutes before the start
    session.commit()
    refused = api("community").post(f"/api/v1/activities/{a['id']}/attendance/close")
    assert refused.status_code == 409 and refused.json()["field"] == "ends_at"
    # The evening is over.
    session.execute(update(Activity).where(Activity.id == uuid.UUID(a["id"])).values(
        starts_at=utcnow() - timedelta(hours=4), ends_at=utcnow() - timedelta(hours=1)))
    session.commit()
    first = api("community").post(f"/api/v1/activities/{a['id']}/attendance/close").json()
    assert [(e["volunteer_id"], e["minutes"], e["source_type"]) for e in first["credited"]] == [
        (str(v.id), 180, "activity")]
    second = api("community").post(f"/api/v1/activities/{a['id']}/attendance/close").json()
    assert second["credited"] == [] and second["already_credited"] == 1
    assert api("community").get(f"/api/v1/volunteers/{v.id}/hours").json()["balance_minutes"] == 180
    assert len(api("community").get(f"/api/v1/activities/{a['id']}/attendance").json()["credited"]) == 1


def test_series_figures(api) -> None:
    s = api("community").post("/api/v1/activities/series", json={"unit_code": COMMUNITY,
                                                                  "name": f"艺术节{uuid.uuid4().hex[:4]}"}).json()
    shows = [_activity(api, starts_in_hours=0.1, series_id=s["id"]).json() for _ in range(2)]
    for show in shows:
        api("resident").post(f"/api/v1/activities/checkin/{show['checkin_url'].rsplit('/', 1)[1]}")
    figures = api("resident").get(f"/api/v1/activities/series/{s['id']}").json()
    assert (figures["shows"], figures["participants"]) == (2, 2)
    dup = api("community").post("/api/v1/activities/series", json={"unit_code": COMMUNITY, "name": s["name"]})
    assert dup.status_code == 409 and dup.json()["field"] == "name"


def test_hostile_values_are_a_4xx_on_both_databases(api, client) -> None:
    for extra, field in (({"title": "a\x00b"}, "title"), ({"organizer": "长" * 3000}, "organizer"),
                         ({"capacity": 2**64 + 1}, "capacity"), ({"starts_at": "0001-01-01T00:00:00Z"}, "starts_at"),
                         ({"kind": "a\x00b"}, "kind")):
        r = _activity(api, **extra)
        assert r.status_code == 422 and r.json()["field"] == field, (extra, r.text)
    assert client.get("/api/v1/activities", params={"kind": "a\x00b"}).json()["field"] == "kind"
    assert client.get("/api/v1/activities", params={"district": "长" * 10}).json()["field"] == "district"
    assert client.get("/api/v1/activities/series", params={"district": "a\x00b"}).status_code == 422
    assert api("resident").post("/api/v1/activities/checkin/abc%00defghijkl").status_code == 404
    r = api("community").post("/api/v1/activities/series", json={"name": "节", "starts_on": "0001-01-01"})
    assert r.status_code == 422 and r.json()["field"] == "starts_on"
