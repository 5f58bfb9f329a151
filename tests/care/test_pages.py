"""The care pages as a browser sees them: the list with its alert badge, the profile with masked contacts, the
printable QR card, the volunteer's visit form that logs a visit and confirms it with the code, alerts, centres
and the day's attendance sheet."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.care import alerts, centres, profiles
from jiayuan.care.models import Visit
from jiayuan.notify.models import OutboxMessage
from jiayuan.notify.service import rendered
from tests.care.helpers import VOLUNTEER_PASSWORD, in_care, make_person, make_volunteer, paired, principal
from tests.conftest import csrf_from, page_login
from tests.personas import COMMUNITY, PERSONAS


def test_staff_pages_list_profile_card_alerts(session: Session, client) -> None:
    start = profiles.local_today() - timedelta(days=10)
    profile = in_care(session, started=start, name="独居李奶奶")
    profiles.add_contact(session, principal(session, "grid_a"), profile.id, name="李女儿", relation="女儿",
                         phone="13912345678")
    volunteer = make_volunteer(session)
    paired(session, profile, volunteer, started=start)
    alerts.raise_alerts(session, profiles.local_today())
    session.commit()
    page_login(client, PERSONAS["grid_a"].username)
    listing = client.get("/care")
    assert listing.status_code == 200 and "独居李奶奶" in listing.text and "care-alert" in listing.text
    assert 'href="/care/centres"' not in listing.text  # a grid worker runs no centre
    page = client.get(f"/care/people/{profile.id}")
    assert page.status_code == 200
    assert "*******5678" in page.text and "13912345678" not in page.text
    assert "李女儿" in page.text and "10 天未探访" in page.text
    card = client.get(f"/care/people/{profile.id}/card")
    assert card.status_code == 200 and "<svg" in card.text and card.headers["cache-control"] == "no-store"
    grouped = " ".join(profile.card_token[i:i + 4] for i in range(0, len(profile.card_token), 4))
    assert grouped in card.text
    assert "独居李奶奶" in client.get("/care/alerts").text
    assert client.get("/care/people/new").status_code == 200
    # Another grid's worker: not found.
    page_login(client, PERSONAS["grid_b"].username)
    assert client.get(f"/care/people/{profile.id}").status_code == 404
    assert "独居李奶奶" not in client.get("/care").text


def test_opening_care_from_the_page(session: Session, client) -> None:
    person = make_person(session, tags=("empty_nest",), name="空巢王爷爷")
    nobody = make_person(session, name="普通居民")
    session.commit()
    page_login(client, PERSONAS["grid_a"].username)
    assert "空巢王爷爷" in client.get("/care/people/new").text
    form = client.get(f"/care/people/open?person_id={person.id}")
    token = csrf_from(form.text)
    bad = client.post("/care/people/open", data={"csrf_token": token, "person_id": str(person.id), "level": "high",
                                                 "contact_name": "王儿子", "contact_phone": "123"})
    assert bad.status_code == 422 and "11位手机号" in bad.text
    r = client.post("/care/people/open", data={"csrf_token": token, "person_id": str(person.id), "level": "high",
                                               "needs": ["meals", "health"], "visit_interval_days": "5",
                                               "contact_name": "王儿子", "contact_phone": "13800001111"},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    assert "*******1111" in client.get(r.headers["location"]).text
    refused = client.post("/care/people/open", data={"csrf_token": token, "person_id": str(nobody.id),
                                                     "level": "low"})
    assert refused.status_code == 422 and "不属于关爱群体" in refused.text


def test_the_volunteer_logs_and_confirms_on_the_page(session: Session, client) -> None:
    profile = in_care(session, name="结对周大爷")
    volunteer = make_volunteer(session, username="care-page-vol")
    paired(session, profile, volunteer)
    session.commit()
    page_login(client, "care-page-vol", VOLUNTEER_PASSWORD)
    form = client.get("/care/visits/new")
    assert form.status_code == 200 and "结对周大爷" in form.text
    token = csrf_from(form.text)
    pairing_id = re.search(r'name="pairing_id" value="([^"]+)"', form.text).group(1)
    missing = client.post("/care/visits/new", data={"csrf_token": token, "pairing_id": pairing_id,
                                                    "duration": "60"})
    assert missing.status_code == 422 and "请选择服务内容" in missing.text
    r = client.post("/care/visits/new", data={"csrf_token": token, "pairing_id": pairing_id, "kind": "health",
                                              "duration": "30", "notes": "量血压"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    url = r.headers["location"]
    visit_id = url.rsplit("/", 1)[1]
    page = client.get(url)
    assert 'data-state="waiting"' in page.text and "*******8000" in page.text
    body = rendered(session.scalar(select(OutboxMessage).where(OutboxMessage.ref == f"care-visit/{visit_id}")))
    code = re.search(r"确认码是 (\d{4})", body).group(1)
    wrong = client.post(f"{url}/confirm", data={"csrf_token": token, "method": "code",
                                                "code": f"{(int(code) + 1) % 10000:04d}"})
    assert wrong.status_code == 422 and "还可尝试 4 次" in wrong.text
    ok = client.post(f"{url}/confirm", data={"csrf_token": token, "method": "code", "code": code})
    assert ok.status_code == 200 and 'data-state="confirmed"' in ok.text
    assert session.scalar(select(Visit.confirm_attempts).where(Visit.confirmed_at.is_not(None))) == 2
    # The volunteer sees the person's page, without the contacts or the card.
    own = client.get(f"/care/people/{profile.id}")
    assert own.status_code == 200 and "/card" not in own.text
    assert client.get(f"/care/people/{profile.id}/card").status_code == 403
    assert client.get("/care/alerts").status_code == 403


def test_centre_pages_and_the_attendance_sheet(session: Session, client) -> None:
    staff = principal(session, "community")
    profile = in_care(session, name="日照孙奶奶")
    centre = centres.create_centre(session, staff, {"unit_code": COMMUNITY, "kind": "day_care", "name": "幸福日照"})
    session.commit()
    page_login(client, PERSONAS["community"].username)
    assert 'href="/care/centres"' in client.get("/care").text  # the tab of those who run centres
    assert "幸福日照" in client.get("/care/centres").text
    page = client.get(f"/care/centres/{centre.id}")
    assert page.status_code == 200 and "日照孙奶奶" in page.text
    token = csrf_from(page.text)
    r = client.post(f"/care/centres/{centre.id}/enrol", data={"csrf_token": token,
                                                             "person_id": str(profile.person_id)},
                    follow_redirects=False)
    assert r.status_code == 303
    sheet = client.get(f"/care/centres/{centre.id}/attendance")
    assert "日照孙奶奶" in sheet.text and 'value="in"' in sheet.text
    r = client.post(f"/care/centres/{centre.id}/attendance", data={
        "csrf_token": token, "person_id": str(profile.person_id), "action": "in", "meals": "1",
        "day": profiles.local_today().isoformat()}, follow_redirects=False)
    assert r.status_code == 303
    again = client.post(f"/care/centres/{centre.id}/attendance", data={
        "csrf_token": token, "person_id": str(profile.person_id), "action": "in",
        "day": profiles.local_today().isoformat()})
    assert again.status_code == 409 and "今天已签到" in again.text
    figures = client.get("/care/centres/figures")
    assert figures.status_code == 200 and "幸福日照" in figures.text
    page_login(client, PERSONAS["grid_a"].username)
    assert client.get("/care/centres").status_code == 403
