"""Pages of activities and volunteers, in Chinese by default: the public list and 报名 through sign-in, the
resident's QR check-in, the staff's QR page, attendance sheet and series; the volunteer's own page and a
certificate."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.activities import service
from jiayuan.activities.models import Registration
from jiayuan.kit.db import utcnow
from jiayuan.volunteers import opportunities as opps
from tests.conftest import csrf_from, page_login
from tests.personas import COMMUNITY, PERSONAS
from tests.volunteers.helpers import credit, make_volunteer, principal


def _activity(session: Session, starts_in: float = 24, **data):
    start = utcnow() + timedelta(hours=starts_in)
    made = service.create_activity(session, principal(session, "community"), {
        "unit_code": COMMUNITY, "kind": "lecture", "title": "防诈骗讲座", "organizer": "社区民警",
        "place": "居委会二楼", "starts_at": start, "ends_at": start + timedelta(hours=1), "capacity": 30, **data})
    session.commit()
    return made


def test_public_list_and_registering_through_sign_in(client, session: Session) -> None:
    a = _activity(session)
    listed = client.get("/activities")
    assert listed.status_code == 200 and "防诈骗讲座" in listed.text and "社区活动" in listed.text
    page = client.get(f"/activities/{a.id}")
    assert "登录后报名" in page.text and f"/login?next=/activities/{a.id}" in page.text
    page_login(client, PERSONAS["resident"].username)
    page = client.get(f"/activities/{a.id}")
    assert "报名" in page.text
    r = client.post(f"/activities/{a.id}/register", data={"csrf_token": csrf_from(page.text)},
                    follow_redirects=True)
    assert r.status_code == 200 and "已报名" in r.text and "取消报名" in r.text


def test_a_scan_opens_a_page_whose_button_checks_a_signed_in_resident_in(client, session: Session) -> None:
    a = _activity(session, starts_in=0.1)
    url = f"/activities/checkin/{a.checkin_token}"
    anonymous = client.get(url, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == f"/login?next={url}"
    page_login(client, PERSONAS["resident"].username)
    # Opening what the QR code points at (or a link to it, a preview, a prefetch) changes nothing.
    for _ in range(2):
        page = client.get(url)
        assert page.status_code == 200 and "我要签到" in page.text and "签到成功" not in page.text
    session.expire_all()
    assert session.scalars(select(Registration).where(Registration.activity_id == a.id)).all() == []
    # The button posts, with the session's CSRF token; without it nothing happens either.
    forged = client.post(url, data={})
    assert forged.status_code == 403
    done = client.post(url, data={"csrf_token": csrf_from(page.text)})
    assert done.status_code == 200 and "签到成功" in done.text
    session.expire_all()
    assert [r.status for r in session.scalars(select(Registration).where(Registration.activity_id == a.id))] == [
        "attended"]
    again = client.get(url)
    assert "已经签到" in again.text and "我要签到" not in again.text
    assert "已经签到" in client.post(url, data={"csrf_token": csrf_from(page.text)}).text
    assert client.get("/activities/checkin/no-such-token-here").status_code == 404


def test_staff_pages_qr_attendance_series(client, session: Session) -> None:
    s = service.create_series(session, principal(session, "community"), {"unit_code": COMMUNITY,
                                                                          "name": f"艺术节{uuid.uuid4().hex[:4]}"})
    a = _activity(session, series_id=s.id, volunteer_run=True, volunteer_slots=2)
    page_login(client, PERSONAS["community"].username)
    qr = client.get(f"/activities/{a.id}/qr")
    assert qr.status_code == 200 and "<svg" in qr.text and a.checkin_token in qr.text
    sheet = client.get(f"/activities/{a.id}/attendance")
    assert sheet.status_code == 200 and "签到表" in sheet.text and "志愿者" in sheet.text
    assert client.get("/activities/manage").status_code == 200
    assert s.name in client.get(f"/activities/series/{s.id}").text
    form = client.get("/activities/new")
    assert "需要志愿者人数" in form.text  # the count's label; "Volunteers wanted" is the volunteer's list of needs
    r = client.post("/activities/new", data={"csrf_token": csrf_from(form.text), "kind": "culture", "title": "书法课",
                                             "organizer": "老年大学", "place": "活动室", "starts_at": "2030-05-01T09:00",
                                             "ends_at": "2030-05-01T08:00", "unit_code": COMMUNITY, "public": "1"})
    assert r.status_code == 422 and "field-error" in r.text


def test_a_resident_cannot_open_staff_pages(client, session: Session) -> None:
    a = _activity(session)
    page_login(client, PERSONAS["resident"].username)
    assert client.get(f"/activities/{a.id}/attendance").status_code == 403
    assert client.get("/volunteers").status_code == 403


def test_the_volunteer_page_on_a_phone(client, session: Session) -> None:
    username = f"vol-{uuid.uuid4().hex[:8]}"
    v = make_volunteer(session, username=username)
    credit(session, v, 100 * 60, uuid.uuid4())
    staff = principal(session, "community")
    start = utcnow() + timedelta(minutes=10)
    o = opps.create_opportunity(session, staff, {"unit_code": COMMUNITY, "title": "助老送餐", "starts_at": start,
                                                 "ends_at": start + timedelta(hours=1), "slots": 1})
    session.commit()
    page_login(client, username, "volunteer-pass-1")
    me = client.get("/volunteers/me")
    assert "<h2>志愿服务招募</h2>" in me.text and "需要志愿者人数" not in me.text
    assert me.status_code == 200 and "助老送餐" in me.text and "100" in me.text and "荣誉" in me.text
    r = client.post(f"/volunteers/me/opportunities/{o.id}/signup", data={"csrf_token": csrf_from(me.text)},
                    follow_redirects=True)
    assert "报名成功" in r.text and "签到" in r.text
    up = opps.signups_of_volunteer(session, v)[0][0]
    r = client.post(f"/volunteers/signups/{up.id}/checkin", data={"csrf_token": csrf_from(r.text)},
                    follow_redirects=True)
    assert "签退" in r.text
    honour_link = r.text.split("/volunteers/honours/")[1].split('"')[0]
    cert = client.get(f"/volunteers/honours/{honour_link}")
    assert cert.status_code == 200 and "荣誉证书" in cert.text and "ZY360802" in cert.text


def test_staff_volunteer_pages(client, session: Session) -> None:
    v = make_volunteer(session, team="cyan")
    session.commit()
    page_login(client, PERSONAS["community"].username)
    listed = client.get("/volunteers")
    assert listed.status_code == 200 and "青色（文体）" in listed.text
    assert client.get(f"/volunteers/{v.id}").status_code == 200
    assert client.get("/volunteers/opportunities").status_code == 200
    assert client.get("/volunteers/new?q=志愿").status_code == 200
    form = client.get("/volunteers/opportunities/new")
    r = client.post("/volunteers/opportunities/new", data={
        "csrf_token": csrf_from(form.text), "title": "巡逻", "starts_at": "2030-01-01T09:00",
        "ends_at": "2030-01-01T11:00", "slots": "2", "unit_code": COMMUNITY}, follow_redirects=True)
    assert r.status_code == 200 and "巡逻" in r.text and "报名名单" in r.text
