"""Care centres: enrolment (one active per person and centre), the day's check-in and check-out with meals, and
figures per period and centre checked against hand-made attendance."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy.orm import Session

from jiayuan.care import centres
from jiayuan.care.models import Attendance
from jiayuan.kit.errors import Conflict, Forbidden, Invalid, NotFound
from jiayuan.kit.i18n import TIMEZONE
from tests.care.helpers import make_person, principal
from tests.personas import COMMUNITY


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=TIMEZONE)


def test_enrolment_check_in_and_out(session: Session, api) -> None:
    staff = principal(session, "community")
    person = make_person(session, tags=("empty_nest",))
    session.commit()
    r = api("community").post("/api/v1/care/centres", json={"unit_code": COMMUNITY, "kind": "day_care",
                                                            "name": "文山日间照料中心", "capacity": 30})
    assert r.status_code == 201, r.text
    centre = r.json()["id"]
    assert api("community").post("/api/v1/care/centres", json={
        "unit_code": COMMUNITY, "kind": "day_care", "name": "文山日间照料中心"}).status_code == 409
    r = api("community").post(f"/api/v1/care/centres/{centre}/enrolments", json={"person_id": str(person.id)})
    assert r.status_code == 201, r.text
    assert api("community").post(f"/api/v1/care/centres/{centre}/enrolments",
                                 json={"person_id": str(person.id)}).status_code == 409
    r = api("community").post(f"/api/v1/care/centres/{centre}/attendance/check-in",
                              json={"person_id": str(person.id), "meals": 1})
    assert r.status_code == 201, r.text
    again = api("community").post(f"/api/v1/care/centres/{centre}/attendance/check-in",
                                  json={"person_id": str(person.id)})
    assert again.status_code == 409
    checked_in = datetime.fromisoformat(r.json()["checked_in_at"])
    early = api("community").post(f"/api/v1/care/centres/{centre}/attendance/check-out", json={
        "person_id": str(person.id), "at": (checked_in - timedelta(minutes=1)).isoformat()})
    assert early.status_code == 422 and early.json()["field"] == "at"
    out = api("community").post(f"/api/v1/care/centres/{centre}/attendance/check-out",
                                json={"person_id": str(person.id), "meals": 2,
                                      "at": (checked_in + timedelta(seconds=1)).isoformat()})
    assert out.status_code == 200, out.text
    assert out.json()["meals"] == 2 and out.json()["checked_out_at"]
    assert api("community").post(f"/api/v1/care/centres/{centre}/attendance/check-out",
                                 json={"person_id": str(person.id)}).status_code == 409
    sheet = api("community").get(f"/api/v1/care/centres/{centre}/attendance").json()
    assert [row["attendance"]["meals"] for row in sheet] == [2]
    # Not enrolled: no check-in.
    stranger = make_person(session)
    session.commit()
    assert api("community").post(f"/api/v1/care/centres/{centre}/attendance/check-in",
                                  json={"person_id": str(stranger.id)}).status_code == 409
    # Scope: another community's staff do not see the centre; grid workers do not run centres.
    assert api("other_community").get(f"/api/v1/care/centres/{centre}").status_code == 404
    assert api("grid_a").get("/api/v1/care/centres").status_code == 403
    with pytest.raises(Forbidden):
        centres.list_centres(session, principal(session, "grid_a"))
    assert staff.scope.covers(COMMUNITY)


def test_a_centre_without_meals_refuses_meals(session: Session) -> None:
    staff = principal(session, "community")
    centre = centres.create_centre(session, staff, {"unit_code": COMMUNITY, "kind": "home_care",
                                                    "name": "居家养老服务站", "serves_meals": False})
    person = make_person(session)
    centres.enrol(session, staff, centre.id, person.id)
    with pytest.raises(Invalid) as refused:
        centres.check_in(session, staff, centre.id, person.id, meals=1)
    assert refused.value.field == "meals"
    with pytest.raises(NotFound):
        centres.get_centre(session, principal(session, "other_community"), centre.id)


def test_figures_match_hand_made_attendance(session: Session, api) -> None:
    """Two centres, three people; attendance written by hand for March 2026:
    centre A: p1 on 2, 3, 4 (1 meal each), p2 on 3 (2 meals); centre B: p1 on 5 (0 meals), p3 on 31 (1 meal);
    and rows outside the period (28 Feb, 1 Apr) that must not count."""
    staff = principal(session, "community")
    a = centres.create_centre(session, staff, {"unit_code": COMMUNITY, "kind": "day_care", "name": "日照A"})
    b = centres.create_centre(session, staff, {"unit_code": COMMUNITY, "kind": "home_care", "name": "居家B"})
    p1, p2, p3 = (make_person(session) for _ in range(3))
    for centre, person in ((a, p1), (a, p2), (b, p1), (b, p3)):
        centres.enrol(session, staff, centre.id, person.id, date(2026, 1, 1))
    rows = [(a, p1, date(2026, 3, 2), 1), (a, p1, date(2026, 3, 3), 1), (a, p1, date(2026, 3, 4), 1),
            (a, p2, date(2026, 3, 3), 2), (b, p1, date(2026, 3, 5), 0), (b, p3, date(2026, 3, 31), 1),
            (a, p2, date(2026, 2, 28), 3), (b, p3, date(2026, 4, 1), 3)]
    for centre, person, day, meals in rows:
        session.add(Attendance(district_code="360802", centre_id=centre.id, person_id=person.id, day=day,
                               checked_in_at=at(day, 8), checked_out_at=at(day, 16), meals=meals))
    session.commit()
    r = api("community").get("/api/v1/care/centres/figures?start=2026-03-01&end=2026-03-31")
    assert r.status_code == 200, r.text
    body = r.json()
    per = {c["name"]: (c["people_served"], c["attendance_days"], c["meals"]) for c in body["centres"]}
    assert per == {"日照A": (2, 4, 5), "居家B": (2, 2, 1)}
    total = body["total"]
    assert (total["people_served"], total["attendance_days"], total["meals"]) == (3, 6, 6)
    one = api("community").get(f"/api/v1/care/centres/figures?start=2026-03-03&end=2026-03-03&centre_id={a.id}")
    assert [(c["people_served"], c["attendance_days"], c["meals"]) for c in one.json()["centres"]] == [(2, 2, 3)]
    assert api("community").get("/api/v1/care/centres/figures?start=2026-03-31&end=2026-03-01").status_code == 422
    assert api("other_community").get("/api/v1/care/centres/figures?start=2026-03-01&end=2026-03-31"
                                      ).json()["total"]["attendance_days"] == 0


def test_enrolment_is_one_active_per_person_and_centre(session: Session) -> None:
    staff = principal(session, "community")
    centre = centres.create_centre(session, staff, {"unit_code": COMMUNITY, "kind": "day_care", "name": "日照C"})
    person = make_person(session)
    first = centres.enrol(session, staff, centre.id, person.id, date(2026, 1, 5))
    with pytest.raises(Conflict):
        centres.enrol(session, staff, centre.id, person.id)
    centres.leave(session, staff, centre.id, first.id, date(2026, 2, 1))
    assert centres.enrol(session, staff, centre.id, person.id).active
    sheet = centres.attendance_sheet(session, staff, centre.id, date(2026, 1, 20))
    assert [r.enrolment_id for r in sheet] == [first.id]
