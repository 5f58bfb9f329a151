"""Hours only for confirmed work (issue 12, item 3): a visit credits its volunteer's hours when the person confirms it
(the code read out, or their card) or the grid's worker or the community's staff approve it — never when it is
merely logged; overlapping visits of one volunteer, more than the hours of a day and visits backdated beyond the
limit (or in the future) are refused, naming the field; an unconfirmed visit neither holds a not-visited alert back
nor clears it, and its confirmation later does."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.accounts.models import AuditEntry
from jiayuan.care import alerts, profiles, visits
from jiayuan.care.models import CareAlert, Visit
from jiayuan.kit.i18n import TIMEZONE
from jiayuan.volunteers import service as volunteers
from tests.care.helpers import in_care, make_volunteer, paired, principal
from tests.care.test_visits import sent_code, volunteer_api
from tests.conftest import page_login
from tests.personas import PERSONAS

N = 7  # JIAYUAN_CARE_VISIT_DAYS


def at(days_ago: int, hour: int, minute: int = 0) -> str:
    """A local time `days_ago` days before today, as the API takes it."""
    day = profiles.local_today() - timedelta(days=days_ago)
    return datetime.combine(day, time(hour, minute), tzinfo=TIMEZONE).isoformat()


@pytest.fixture
def pair_of(session: Session, client):
    """A person living alone in grid A and a volunteer with an account, paired since ten days ago."""
    start = profiles.local_today() - timedelta(days=10)
    profile = in_care(session, started=start)
    volunteer = make_volunteer(session, username="hours-vol")
    paired(session, profile, volunteer, started=start)
    session.commit()
    return profile, volunteer, volunteer_api(client, "hours-vol")


def balance(session: Session, volunteer) -> int:  # noqa: ANN001
    return volunteers.balance_minutes(session, volunteer.district_code, volunteer.id)


def log(vol, profile, minutes: int = 60, **extra):  # noqa: ANN001, ANN201
    return vol.post("/api/v1/care/visits", json={"person_id": str(profile.person_id), "kind": "meals",
                                                 "duration_minutes": minutes, **extra})


# --- Credited only when confirmed or approved --------------------------------------------------------------


def test_a_logged_visit_credits_nothing_until_the_person_confirms_it(session: Session, pair_of) -> None:
    profile, volunteer, vol = pair_of
    r = log(vol, profile, 45)
    assert r.status_code == 201, r.text
    body = r.json()
    assert balance(session, volunteer) == 0  # merely logged: nothing credited
    assert body["state"] == "pending" and body["credited_at"] is None
    # The code read out confirms it: now its minutes are credited, once.
    r = vol.post(f"/api/v1/care/visits/{body['id']}/confirm", json={"code": sent_code(session, body["id"])})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "confirmed" and r.json()["credited_at"]
    assert balance(session, volunteer) == 45
    assert vol.post(f"/api/v1/care/visits/{body['id']}/confirm", json={"code": "0000"}).status_code == 409
    assert balance(session, volunteer) == 45
    # The card confirms another.
    other = log(vol, profile, 30, visited_at=at(2, 10)).json()["id"]
    assert balance(session, volunteer) == 45
    r = vol.post(f"/api/v1/care/visits/{other}/confirm", json={"card_token": profile.card_token})
    assert r.status_code == 200 and r.json()["state"] == "confirmed"
    assert balance(session, volunteer) == 75


def test_staff_logging_for_a_volunteer_credits_nothing_either(session: Session, api, pair_of) -> None:
    profile, volunteer, _vol = pair_of
    r = api("grid_a").post("/api/v1/care/visits", json={"person_id": str(profile.person_id),
                                                        "volunteer_id": str(volunteer.id), "kind": "health",
                                                        "duration_minutes": 60})
    assert r.status_code == 201 and r.json()["state"] == "pending"
    assert balance(session, volunteer) == 0


def test_staff_of_the_grid_or_community_approve_a_visit_once(session: Session, api, pair_of) -> None:
    profile, volunteer, vol = pair_of
    visit = log(vol, profile, 90).json()["id"]
    assert balance(session, volunteer) == 0
    url = f"/api/v1/care/visits/{visit}/approve"
    # Only the front line approves: street and district staff, the volunteer themself and others may not (403);
    # a grid worker of another grid does not see the visit (404).
    for who in ("street", "admin", "resident"):
        assert api(who).post(url).status_code == 403, who
    assert vol.post(url).status_code == 403
    assert api("grid_b").post(url).status_code == 404
    assert balance(session, volunteer) == 0
    r = api("grid_a").post(url)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "approved" and r.json()["approved_at"] and r.json()["credited_at"]
    assert balance(session, volunteer) == 90
    # Once: approving again, or confirming an approved visit, is 409 and credits nothing more.
    again = api("community").post(url)
    assert again.status_code == 409 and again.json()["field"] == "visit_id"
    assert vol.post(f"/api/v1/care/visits/{visit}/confirm", json={"code": sent_code(session, visit)}
                    ).status_code == 409
    assert balance(session, volunteer) == 90
    grid_worker = principal(session, "grid_a")
    [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "care_visit_approved",
                                                       AuditEntry.target == visit))
    assert entry.actor_id == grid_worker.user_id and entry.detail["minutes"] == 90
    stored = session.scalar(select(Visit).where(Visit.id == uuid.UUID(visit)))
    assert stored.approved_by == grid_worker.user_id
    # Community staff approve too.
    second = log(vol, profile, 30, visited_at=at(1, 9)).json()["id"]
    assert api("community").post(f"/api/v1/care/visits/{second}/approve").status_code == 200
    assert balance(session, volunteer) == 120


def test_the_states_are_listed_and_shown_in_chinese(session: Session, api, client, pair_of) -> None:
    profile, volunteer, vol = pair_of
    pending = log(vol, profile, 30, visited_at=at(3, 9)).json()["id"]
    confirmed = log(vol, profile, 30, visited_at=at(3, 11)).json()["id"]
    vol.post(f"/api/v1/care/visits/{confirmed}/confirm", json={"card_token": profile.card_token})
    approved = log(vol, profile, 30, visited_at=at(3, 13)).json()["id"]
    api("grid_a").post(f"/api/v1/care/visits/{approved}/approve")
    listed = {s: {v["id"] for v in api("grid_a").get(f"/api/v1/care/visits?state={s}").json()["items"]}
              for s in ("pending", "confirmed", "approved")}
    assert listed == {"pending": {pending}, "confirmed": {confirmed}, "approved": {approved}}
    assert api("grid_a").get("/api/v1/care/visits?state=maybe").json()["field"] == "state"
    page_login(client, PERSONAS["grid_a"].username)
    html = client.get(f"/care/people/{profile.id}").text
    assert "待确认" in html and "已确认" in html and "已审核" in html
    waiting = client.get("/care/visits").text
    assert pending in waiting and confirmed not in waiting and "审核通过" in waiting
    assert "待确认" in client.get(f"/care/visits/{pending}").text


def test_the_approve_button_on_the_visit_page(session: Session, client, pair_of) -> None:
    profile, volunteer, vol = pair_of
    visit = log(vol, profile, 60).json()["id"]
    page_login(client, PERSONAS["grid_a"].username)
    page = client.get(f"/care/visits/{visit}")
    assert f'action="/care/visits/{visit}/approve"' in page.text
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    r = client.post(f"/care/visits/{visit}/approve", data={"csrf_token": token}, follow_redirects=True)
    assert r.status_code == 200 and "已审核" in r.text
    assert f'action="/care/visits/{visit}/approve"' not in r.text
    assert balance(session, volunteer) == 60


# --- Refused: overlaps, the hours of a day, backdated and future visits ---------------------------------------


def test_overlapping_visits_of_one_volunteer_are_refused(session: Session, api, pair_of) -> None:
    profile, volunteer, vol = pair_of
    assert log(vol, profile, 60, visited_at=at(2, 10)).status_code == 201
    for start, minutes in (((2, 10, 30), 60), ((2, 9, 30), 45), ((2, 10, 15), 15), ((2, 9, 0), 180)):
        r = log(vol, profile, minutes, visited_at=at(*start))
        assert r.status_code == 409, (start, r.text)
        assert r.json()["field"] == "visited_at" and r.json()["reason"] == "overlap"
    # Back to back is not an overlap; staff logging for the volunteer are refused alike.
    assert log(vol, profile, 30, visited_at=at(2, 11)).status_code == 201
    assert log(vol, profile, 30, visited_at=at(2, 9, 30)).status_code == 201
    r = api("grid_a").post("/api/v1/care/visits", json={
        "person_id": str(profile.person_id), "volunteer_id": str(volunteer.id), "kind": "other",
        "duration_minutes": 20, "visited_at": at(2, 11, 10)})
    assert r.status_code == 409 and r.json()["field"] == "visited_at"
    # Another volunteer may visit the same person at the same time.
    other = make_volunteer(session)
    paired(session, profile, other, started=profiles.local_today() - timedelta(days=10))
    session.commit()
    r = api("grid_a").post("/api/v1/care/visits", json={
        "person_id": str(profile.person_id), "volunteer_id": str(other.id), "kind": "other",
        "duration_minutes": 20, "visited_at": at(2, 10, 10)})
    assert r.status_code == 201, r.text
    assert session.scalar(select(Visit.id).where(Visit.volunteer_id == volunteer.id).limit(1)) is not None


def test_more_than_the_hours_of_a_day_is_refused(session: Session, pair_of) -> None:
    profile, _volunteer, vol = pair_of
    r = log(vol, profile, 601, visited_at=at(3, 0, 30))  # one visit: at most 10 hours
    assert r.status_code == 422 and r.json()["field"] == "duration_minutes"
    assert log(vol, profile, 600, visited_at=at(3, 0, 30)).status_code == 201  # 00:30–10:30
    # 12 hours a day (JIAYUAN_CARE_VISIT_DAY_HOURS): 600 + 150 is over, 600 + 120 is the whole day's share.
    r = log(vol, profile, 150, visited_at=at(3, 11))
    assert r.status_code == 409 and r.json()["field"] == "duration_minutes" and r.json()["reason"] == "day_total"
    assert r.json()["details"]["logged_minutes"] == 600
    assert log(vol, profile, 120, visited_at=at(3, 11)).status_code == 201
    r = log(vol, profile, 5, visited_at=at(3, 20))
    assert r.status_code == 409 and r.json()["reason"] == "day_total"
    # A visit across midnight counts its minutes on each day: 23:30–00:30 puts 30 minutes on the full day.
    r = log(vol, profile, 60, visited_at=at(4, 23, 30))
    assert r.status_code == 409 and r.json()["field"] == "duration_minutes"
    assert log(vol, profile, 60, visited_at=at(2, 23, 30)).status_code == 201


def test_backdated_beyond_the_limit_or_in_the_future_is_refused(session: Session, pair_of) -> None:
    profile, _volunteer, vol = pair_of
    r = log(vol, profile, 30, visited_at=at(8, 10))  # JIAYUAN_CARE_VISIT_BACKDATE_DAYS = 7
    assert r.status_code == 422 and r.json()["field"] == "visited_at" and r.json()["reason"] == "too_old"
    assert log(vol, profile, 30, visited_at=at(6, 10)).status_code == 201
    # Not ended yet, or later still: in the future.
    soon = (datetime.now(TIMEZONE) - timedelta(minutes=20)).isoformat()
    r = log(vol, profile, 60, visited_at=soon)
    assert r.status_code == 422 and r.json()["field"] == "visited_at" and r.json()["reason"] == "in_future"
    r = log(vol, profile, 30, visited_at="2999-01-01T10:00:00+08:00")
    assert r.status_code == 422 and r.json()["field"] == "visited_at"
    # Without a time the visit has just ended: logged at once after a visit of an hour.
    body = log(vol, profile, 60).json()
    began = datetime.fromisoformat(body["visited_at"])
    assert timedelta(minutes=59) < datetime.now(TIMEZONE) - began < timedelta(minutes=62)


def test_the_visit_form_names_the_field_in_chinese(session: Session, client, pair_of) -> None:
    profile, volunteer, vol = pair_of
    log(vol, profile, 60, visited_at=at(2, 10))
    page_login(client, PERSONAS["grid_a"].username)
    form = client.get("/care/visits/new").text
    token = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    pairing = profiles.list_pairings(session, principal(session, "grid_a"), active=True)
    pairing_id = next(r.pairing.id for r in pairing if r.pairing.volunteer_id == volunteer.id)
    when = at(2, 10, 30)[:16]
    r = client.post("/care/visits/new", data={"csrf_token": token, "pairing_id": str(pairing_id), "kind": "meals",
                                              "duration": "60", "visited_at": when})
    assert r.status_code == 409 and "这位志愿者在这段时间已登记了另一次探访" in r.text
    r = client.post("/care/visits/new", data={"csrf_token": token, "pairing_id": str(pairing_id), "kind": "meals",
                                              "duration": "60", "visited_at": at(9, 10)[:16]})
    assert r.status_code == 422 and "超过 7 天的探访不能再登记" in r.text


# --- Alerts: only a confirmed or approved visit counts ------------------------------------------------------


def test_an_unconfirmed_visit_does_not_clear_the_alert_its_confirmation_does(session: Session) -> None:
    today = profiles.local_today()
    profile = in_care(session, started=today - timedelta(days=N + 5))
    volunteer = make_volunteer(session)
    paired(session, profile, volunteer, started=today - timedelta(days=N + 5))
    staff = principal(session, "grid_a")
    assert alerts.raise_alerts(session, today) == 1  # never visited since the start of care
    logged = visits.log_visit(session, staff, {"person_id": profile.person_id, "volunteer_id": volunteer.id,
                                               "kind": "meals", "duration_minutes": 30})
    open_now = list(session.scalars(select(CareAlert).where(CareAlert.person_id == profile.person_id,
                                                            CareAlert.open)))
    assert len(open_now) == 1  # merely logged: the alert stays open
    visits.approve_visit(session, staff, logged.visit.id)
    assert not session.scalar(select(CareAlert.id).where(CareAlert.person_id == profile.person_id, CareAlert.open))


def test_the_sweep_counts_only_confirmed_or_approved_visits(session: Session) -> None:
    today = profiles.local_today()
    profile = in_care(session, started=today - timedelta(days=30))
    volunteer = make_volunteer(session)
    paired(session, profile, volunteer, started=today - timedelta(days=30))
    staff = principal(session, "grid_a")
    # A visit four days ago, never confirmed: the person has still not been visited, so the alert is raised.
    four_days_ago = datetime.combine(today - timedelta(days=4), time(10), tzinfo=TIMEZONE)
    logged = visits.log_visit(session, staff, {"person_id": profile.person_id, "volunteer_id": volunteer.id,
                                               "kind": "meals", "duration_minutes": 30, "visited_at": four_days_ago})
    assert alerts.raise_alerts(session, today) == 1
    [alert] = session.scalars(select(CareAlert).where(CareAlert.person_id == profile.person_id, CareAlert.open))
    assert alert.last_visit_at is None
    # Approved now, it counts from its own day: the alert clears, and the sweep raises nothing until D + N + 1.
    visits.approve_visit(session, staff, logged.visit.id)
    assert not session.scalar(select(CareAlert.id).where(CareAlert.person_id == profile.person_id, CareAlert.open))
    assert alerts.raise_alerts(session, today) == 0
    assert alerts.raise_alerts(session, today + timedelta(days=N - 4)) == 0
    assert alerts.raise_alerts(session, today + timedelta(days=N - 3)) == 1


def test_the_volunteers_pages_show_work_awaiting_confirmation(session: Session, client, api, pair_of) -> None:
    profile, volunteer, vol = pair_of
    visit = log(vol, profile, 45).json()["id"]
    page_login(client, PERSONAS["community"].username)
    html = client.get(f"/volunteers/{volunteer.id}").text
    assert "待确认" in html and f"/care/visits/{visit}" in html
    api("community").post(f"/api/v1/care/visits/{visit}/approve")
    html = client.get(f"/volunteers/{volunteer.id}").text
    assert f"/care/visits/{visit}" not in html
