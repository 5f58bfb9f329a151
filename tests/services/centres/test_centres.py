"""Service centres (8+X): hours that name the field in error, open-at across exceptions and public holidays, the
subsidy report on a hand-made year, one subsidy per centre and year, scope, and the public directory that needs
no sign-in and shows only public centres."""

from __future__ import annotations

import math
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import chinese_calendar
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from jiayuan.cases.calendar import calendar_for
from jiayuan.demo.generate import build_demo
from jiayuan.kit import hours
from jiayuan.kit.clock import local_today
from jiayuan.kit.errors import Conflict, Forbidden, Invalid, NotFound
from jiayuan.services.centres import service as centres
from jiayuan.services.centres.models import CentreException, CentreOpening, ServiceCentre
from tests.conftest import csrf_from, page_login
from tests.personas import COMMUNITY, PERSONAS
from tests.registry.helpers import principal

S = "/api/v1/services"
STREET = PERSONAS["street"].scope
OTHER_STREET = next(u.code for u in build_demo("small").units if u.level == "street" and u.code != STREET)
WEEKDAYS = {str(d): [["08:30", "12:00"], ["14:00", "17:30"]] for d in range(1, 6)}


def created(response: Any, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()


def refused(response: Any, status: int, field: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["field"] == field, response.text


def new_centre(api: Any, who: str = "street", **fields: Any) -> dict[str, Any]:
    body = {"unit_code": STREET, "kind_code": "culture", "name": f"文化服务中心{uuid.uuid4().hex[:6]}",
            "weekly_hours": WEEKDAYS, **fields}
    return created(api(who).post(f"{S}/centres", json=body))


def put(user: Any, url: str, **kw: Any) -> Any:
    return user.client.put(url, headers=user.headers, **kw)


def beijing(day: date, hhmm: str) -> datetime:
    """A moment given in Beijing time, as UTC (what the database and the clock hand over)."""
    h, m = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, h, m, tzinfo=UTC) - timedelta(hours=8)


# Hours.


@pytest.mark.parametrize(("week", "field"), [
    ({"1": [["08:30", "12:00"], ["11:00", "14:00"]]}, "weekly_hours.1[1]"),  # overlapping
    ({"2": [["12:00", "08:30"]]}, "weekly_hours.2[0]"),  # start after end
    ({"3": [["09:00", "09:00"]]}, "weekly_hours.3[0]"),  # empty interval
    ({"4": [["8:3", "12:00"]]}, "weekly_hours.4[0]"),  # not HH:MM
    ({"5": [["08:00", "24:30"]]}, "weekly_hours.5[0]"),  # no such time
    ({"6": [["08:30"]]}, "weekly_hours.6[0]"),  # not a pair
    ({"6": "08:30-12:00"}, "weekly_hours.6"),  # not a list
    ({"8": []}, "weekly_hours.8"),  # no such weekday
    ("Mon-Fri 8:30-17:30", "weekly_hours"),
])
def test_bad_hours_name_the_field(api: Any, week: Any, field: str) -> None:
    refused(api("street").post(f"{S}/centres", json={"unit_code": STREET, "kind_code": "health", "name": "卫生中心",
                                                     "weekly_hours": week}), 422, field)


def test_other_bad_fields_are_named(api: Any) -> None:
    base = {"unit_code": STREET, "kind_code": "health", "name": "卫生服务中心"}
    s = api("street")
    refused(s.post(f"{S}/centres", json={**base, "capacity": -1}), 422, "capacity")
    refused(s.post(f"{S}/centres", json={**base, "phone": "12345"}), 422, "phone")
    refused(s.post(f"{S}/centres", json={**base, "facilities": ["阅览室", "x" * 31]}), 422, "facilities[1]")
    refused(s.post(f"{S}/centres", json={**base, "kind_code": "casino"}), 422, "kind_code")
    refused(s.post(f"{S}/centres", json={**base, "unit_code": STREET + "001001"}), 422, "unit_code")  # a grid
    refused(s.post(f"{S}/centres", json={**base, "lat": 27.1}), 422, "lon")
    refused(s.post(f"{S}/centres", json={**base, "lat": 39.9, "lon": 116.4}), 422, "lat")  # Beijing
    first = new_centre(api, name="卫生服务中心", phone="(0796) 822 1234", facilities="诊室、药房，诊室")
    assert first["phone"] == "0796-8221234" and first["facilities"] == ["诊室", "药房"]
    assert first["weekly_hours"]["6"] == [] and first["weekly_hours"]["1"] == WEEKDAYS["1"]
    refused(s.post(f"{S}/centres", json=base), 409, "name")
    for phone, stored in [("13812345678", "13812345678"), ("010-62751234", "010-62751234"),
                          ("0796-8221234转801", "0796-8221234-801"), ("400-820-1234", "400-820-1234")]:
        assert centres.check_phone(phone) == stored


def test_hours_typed_on_a_form() -> None:
    assert hours.parse_day_text("14:00至17:30，8:30-12:00", "hours_1") == [["08:30", "12:00"], ["14:00", "17:30"]]
    assert hours.parse_day_text("  ", "hours_1") == []
    with pytest.raises(Invalid) as err:
        hours.parse_day_text("08:30-12:00, lunch", "hours_3")
    assert err.value.field == "hours_3[1]"
    with pytest.raises(Invalid) as err:
        hours.parse_day_text("08:30-12:00, 11:00-13:00", "hours_3")
    assert err.value.field == "hours_3[1]"


# Open at a moment.


def test_open_at_follows_the_week_exceptions_and_holidays(session: Session) -> None:
    cal = calendar_for(session)
    centre = ServiceCentre(id=uuid.uuid4(), district_code="360802", unit_code=STREET, kind_code="culture",
                           name="文化服务中心", weekly_hours=WEEKDAYS, active=True)
    wednesday, saturday, national_day = date(2025, 3, 5), date(2025, 3, 8), date(2025, 10, 1)
    assert centres.is_open_at(centre, beijing(wednesday, "08:30"))
    assert centres.is_open_at(centre, beijing(wednesday, "11:59"))
    assert not centres.is_open_at(centre, beijing(wednesday, "12:00"))  # the end is not inside
    assert not centres.is_open_at(centre, beijing(wednesday, "08:29"))
    assert not centres.is_open_at(centre, beijing(saturday, "10:00"))
    # 01:00 UTC is 09:00 in Beijing: the week is read in local time.
    assert centres.is_open_at(centre, datetime(2025, 3, 5, 1, 0, tzinfo=UTC))
    assert centres.is_open_at(centre, datetime(2025, 3, 5, 9, 0))  # naive is UTC: 17:00 in Beijing
    assert not centres.is_open_at(centre, datetime(2025, 3, 5, 10, 0, tzinfo=UTC))  # 18:00 in Beijing

    closed = CentreException(centre_id=centre.id, day=wednesday, closed=True, note="设备检修")
    other = CentreException(centre_id=centre.id, day=saturday, closed=False, hours=[["09:00", "11:00"]])
    elsewhere = CentreException(centre_id=uuid.uuid4(), day=wednesday, closed=True)
    assert not centres.is_open_at(centre, beijing(wednesday, "09:00"), [closed, other])
    assert centres.is_open_at(centre, beijing(wednesday, "09:00"), [elsewhere])  # another centre's day off
    assert centres.is_open_at(centre, beijing(saturday, "10:00"), [closed, other])
    assert not centres.is_open_at(centre, beijing(saturday, "11:00"), [other])

    # A public holiday closes the centre when the calendar is consulted, unless an exception opens it.
    assert chinese_calendar.is_holiday(national_day) and national_day.weekday() == 2
    assert centres.is_open_at(centre, beijing(national_day, "09:00"))
    assert not centres.is_open_at(centre, beijing(national_day, "09:00"), calendar=cal)
    opened = CentreException(centre_id=centre.id, day=national_day, closed=False, hours=[["09:00", "11:30"]])
    assert centres.is_open_at(centre, beijing(national_day, "09:00"), [opened], calendar=cal)
    centre.active = False
    assert not centres.is_open_at(centre, beijing(wednesday, "09:00"))


def test_hours_today_reads_exceptions_from_the_database(session: Session) -> None:
    street = principal(session, "street")
    a = centres.create_centre(session, street, unit_code=STREET, kind_code="fitness", name="健身中心",
                              weekly_hours={str(d): [["06:00", "21:00"]] for d in range(1, 8)})
    b = centres.create_centre(session, street, unit_code=STREET, kind_code="health", name="卫生中心",
                              weekly_hours={str(d): [["08:00", "17:00"]] for d in range(1, 8)})
    day = date(2025, 3, 5)
    centres.set_exception(session, street, b.id, day, closed=True, note="设备检修")
    today = centres.hours_today(session, [a, b], day)
    assert today[a.id].intervals == [["06:00", "21:00"]] and today[a.id].reason == "week"
    assert not today[b.id].is_open and today[b.id].note == "设备检修"
    holiday = centres.hours_today(session, [a], date(2025, 10, 1))[a.id]
    assert holiday.reason == "holiday" and not holiday.is_open and holiday.note == "国庆节"
    # The same day again replaces the exception: one per day.
    centres.set_exception(session, street, b.id, day, closed=False, hours=[["09:00", "11:00"]])
    assert centres.hours_today(session, [b], day)[b.id].intervals == [["09:00", "11:00"]]
    with pytest.raises(Invalid) as err:
        centres.set_exception(session, street, b.id, day, closed=False)
    assert err.value.field == "hours"


# The subsidy report.


def _scheduled(centre: ServiceCentre, year: int, session: Session) -> list[date]:
    """The centre's scheduled days, worked out here with chinese-calendar itself rather than the service."""
    exceptions = {e.day: e for e in centres.exceptions_between(session, [centre], date(year, 1, 1),
                                                               date(year, 12, 31)).values()}
    days, day = [], date(year, 1, 1)
    while day.year == year:
        e = exceptions.get(day)
        if e is not None:
            if not e.closed:
                days.append(day)
        elif str(day.isoweekday()) in WEEKDAYS and not chinese_calendar.is_holiday(day):
            days.append(day)
        day += timedelta(days=1)
    return days


def _open_on(session: Session, centre: ServiceCentre, days: list[date]) -> None:
    session.add_all(CentreOpening(district_code=centre.district_code, centre_id=centre.id, day=d,
                                  opened_at=beijing(d, "08:30")) for d in days)
    session.flush()


def test_subsidy_report_on_a_hand_made_year(session: Session) -> None:
    street, admin = principal(session, "street"), principal(session, "admin")
    make = lambda name, unit=STREET, who=street: centres.create_centre(
        session, who, unit_code=unit, kind_code="elderly_disability", name=name, weekly_hours=WEEKDAYS)
    good, poor, unpaid = make("居家养老服务中心"), make("托老所"), make("日间照料中心")
    far = make("外街道中心", OTHER_STREET, admin)
    # Exceptions: a closed weekday, a public holiday it opened, a Saturday with hours.
    centres.set_exception(session, street, good.id, date(2025, 3, 5), closed=True)
    centres.set_exception(session, street, good.id, date(2025, 10, 1), closed=False, hours=[["09:00", "11:30"]])
    centres.set_exception(session, street, good.id, date(2025, 3, 8), closed=False, hours=[["09:00", "11:30"]])

    weekdays = sum(1 for d in range(365) if (date(2025, 1, 1) + timedelta(d)).weekday() < 5)
    plain = _scheduled(poor, 2025, session)
    assert len(plain) < weekdays - 10  # the public holidays are not scheduled
    good_days = _scheduled(good, 2025, session)
    assert len(good_days) == len(plain) + 1 and date(2025, 10, 1) in good_days and date(2025, 3, 5) not in good_days
    k = math.ceil(0.95 * len(good_days))
    _open_on(session, good, good_days[:k])
    _open_on(session, poor, plain[: len(plain) // 2])
    _open_on(session, unpaid, plain)
    for c in (good, poor, far):
        centres.grant_subsidy(session, admin, c.id, year=2025, amount_fen=10_000_000)

    report = centres.subsidy_report(session, street, 2025, required_share=0.9)
    rows = {r.centre.name: r for r in report.rows}
    assert set(rows) == {"居家养老服务中心", "托老所", "日间照料中心"}  # the other street is not theirs
    assert report.calendar_known and report.end == date(2025, 12, 31)
    g, p, u = rows["居家养老服务中心"], rows["托老所"], rows["日间照料中心"]
    assert (g.scheduled_days, g.days_opened, g.subsidy.amount_fen) == (len(good_days), k, 10_000_000)
    assert g.share == pytest.approx(k / len(good_days)) and g.share >= 0.95 and g.open_as_required
    assert (p.scheduled_days, p.days_opened) == (len(plain), len(plain) // 2)
    assert p.share == pytest.approx(0.5, abs=0.01) and not p.open_as_required
    assert u.subsidy is None and u.open_as_required and u.scheduled_days == len(plain)
    assert report.total_fen == 20_000_000 and report.subsidised_open == 1

    everything = centres.subsidy_report(session, admin, 2025)
    assert {r.centre.name for r in everything.rows} >= {"外街道中心", "托老所"}
    # The current year counts up to today: 2 and 3 January, then 6–10 January (1 January is a holiday).
    early = centres.subsidy_report(session, street, 2025, today=date(2025, 1, 10))
    assert {r.centre.name: r.scheduled_days for r in early.rows}["托老所"] == 7
    with pytest.raises(Forbidden):
        centres.subsidy_report(session, principal(session, "community"), 2025)
    with pytest.raises(Conflict):
        centres.grant_subsidy(session, admin, good.id, year=2025, amount_fen=1)


def test_second_subsidy_in_a_year_is_409(api: Any) -> None:
    centre = new_centre(api)
    url = f"{S}/centres/{centre['id']}/subsidies"
    admin = api("admin")
    first = created(admin.post(url, json={"year": 2026, "amount_fen": 10_000_000, "note": "年度运行补贴"}))
    assert first["amount_fen"] == 10_000_000 and first["year"] == 2026
    refused(admin.post(url, json={"year": 2026, "amount_fen": 5_000_000}), 409, "year")
    refused(admin.post(url, json={"year": 2025, "amount_fen": 0}), 422, "amount_fen")
    refused(admin.post(url, json={"year": 1999, "amount_fen": 100}), 422, "year")
    refused(api("street").post(url, json={"year": 2025, "amount_fen": 100}), 403, "role")
    assert [s["year"] for s in admin.get(url).json()] == [2026]
    report = created(api("street").get(f"{S}/subsidies/report", params={"year": 2026}), 200)
    row = next(r for r in report["rows"] if r["centre_id"] == centre["id"])
    assert row["subsidy_fen"] == 10_000_000 and report["subsidised_fen"] >= 10_000_000
    assert api("community").get(f"{S}/subsidies/report").status_code == 403
    book = api("admin").get(f"{S}/subsidies/report.xlsx", params={"year": 2026})
    assert book.status_code == 200 and book.content[:2] == b"PK"


# Scope and roles.


def test_a_street_cannot_touch_another_streets_centre(api: Any) -> None:
    theirs = new_centre(api, "admin", unit_code=OTHER_STREET, is_public=False)
    s = api("street")
    url = f"{S}/centres/{theirs['id']}"
    refused(s.patch(url, json={"name": "改名"}), 404, "id")
    refused(put(s, f"{url}/exceptions/2026-10-01", json={"closed": True}), 404, "id")
    refused(s.post(f"{url}/openings", json={}), 404, "id")
    refused(s.get(url), 404, "id")  # not public either
    refused(s.post(f"{S}/centres", json={"unit_code": OTHER_STREET, "kind_code": "culture", "name": "越界"}), 404,
            "unit_code")
    assert theirs["id"] not in {c["id"] for c in s.get(f"{S}/centres", params={"all": "true"}).json()["items"]}
    # Community staff run their community's centres day to day, but do not add them.
    refused(api("community").post(f"{S}/centres", json={"unit_code": COMMUNITY, "kind_code": "culture",
                                                        "name": "社区文化室"}), 403, "role")
    ours = new_centre(api, unit_code=COMMUNITY)
    assert api("street").patch(f"{S}/centres/{ours['id']}", json={"capacity": 40}).json()["capacity"] == 40
    refused(api("other_community").patch(f"{S}/centres/{ours['id']}", json={"capacity": 1}), 404, "id")
    refused(api("community").patch(f"{S}/centres/{ours['id']}", json={"capacity": 1}), 403, "role")


def test_an_opening_is_recorded_once_a_day(api: Any) -> None:
    centre = new_centre(api, unit_code=COMMUNITY)
    url = f"{S}/centres/{centre['id']}/openings"
    c = api("community")
    first = created(c.post(url, json={}))
    assert first["day"] == local_today().isoformat()
    again = created(c.post(url), 200)
    assert again["opened_at"] == first["opened_at"]
    assert len(c.get(url).json()) == 1
    refused(c.post(url, json={"day": (local_today() + timedelta(days=1)).isoformat()}), 422, "day")
    refused(c.post(url, json={"day": (local_today() - timedelta(days=30)).isoformat()}), 422, "day")
    created(c.post(url, json={"day": (local_today() - timedelta(days=2)).isoformat()}))
    refused(api("admin").post(url, json={}), 403, "role")


def test_local_kinds_are_added_by_the_district(api: Any) -> None:
    body = {"code": "charity_supermarket", "name_zh": "爱心超市", "name_en": "Charity supermarket"}
    refused(api("street").post(f"{S}/centre-kinds", json=body), 403, "role")
    kind = created(api("admin").post(f"{S}/centre-kinds", json=body))
    assert kind["standard"] is False
    refused(api("admin").post(f"{S}/centre-kinds", json=body), 409, "code")
    refused(api("admin").post(f"{S}/centre-kinds", json={**body, "code": "Bad Code"}), 422, "code")
    kinds = api("admin").client.get(f"{S}/centre-kinds").json()
    assert sum(k["standard"] for k in kinds) == 8 and "charity_supermarket" in {k["code"] for k in kinds}
    assert new_centre(api, kind_code="charity_supermarket")["standard_kind"] is False


# The public directory.


def test_public_directory_needs_no_sign_in_and_shows_only_public_centres(api: Any, client: TestClient) -> None:
    today = local_today()
    shown = new_centre(api, name="公开的文化中心", address="文山路 1 号", phone="0796-8221234")
    hidden = new_centre(api, name="内部的值班室", is_public=False)
    closed = new_centre(api, name="已停用的中心")
    api("street").patch(f"{S}/centres/{closed['id']}", json={"active": False})
    resting = new_centre(api, name="今天休息的中心")
    s = api("street")
    put(s, f"{S}/centres/{shown['id']}/exceptions/{today.isoformat()}",
          json={"closed": False, "hours": [["09:00", "11:00"], ["14:30", "16:00"]]})
    put(s, f"{S}/centres/{resting['id']}/exceptions/{today.isoformat()}", json={"closed": True, "note": "设备检修"})

    listed = created(client.get(f"{S}/centres", params={"street": STREET}), 200)
    names = {c["name"] for c in listed["items"]}
    assert {"公开的文化中心", "今天休息的中心"} <= names and not names & {"内部的值班室", "已停用的中心"}
    item = next(c for c in listed["items"] if c["name"] == "公开的文化中心")
    assert item["today"] == {"day": today.isoformat(), "open": True, "hours": [["09:00", "11:00"], ["14:30", "16:00"]],
                             "reason": "exception", "note": None}
    assert item["contact_name"] is None and item["street_code"] == STREET and item["street_name"]
    assert client.get(f"{S}/centres", params={"kind": "culture"}).status_code == 200
    assert client.get(f"{S}/centres/{shown['id']}").status_code == 200
    refused(client.get(f"{S}/centres/{hidden['id']}"), 404, "id")
    refused(client.get(f"{S}/centres", params={"all": "true"}), 403, "all")
    refused(client.get(f"{S}/centres", params={"street": "3608"}), 422, "street")
    catalogue = created(client.get(f"{S}/catalogue"), 200)
    assert len(catalogue["groups"]) >= 10 and sum(len(g["items"]) for g in catalogue["groups"]) > 100

    page = client.get("/services/centres", params={"street": STREET})
    assert page.status_code == 200, page.text
    assert "公开的文化中心" in page.text and "内部的值班室" not in page.text and "已停用的中心" not in page.text
    shown_text = re.sub(r"<[^>]+>", "", page.text)
    assert "今日开放 09:00–11:00, 14:30–16:00" in shown_text
    assert "今日休息" in page.text and "设备检修" in page.text
    assert 'href="tel:0796-8221234"' in page.text
    page = client.get("/services/catalogue")
    assert page.status_code == 200 and "服务目录" in page.text


def test_staff_list_every_centre_of_their_scope(api: Any, session: Session) -> None:
    hidden = new_centre(api, name="内部的值班室", is_public=False, contact_name="王主任")
    items = api("street").get(f"{S}/centres", params={"all": "true"}).json()["items"]
    mine = next(c for c in items if c["id"] == hidden["id"])
    assert mine["contact_name"] == "王主任" and mine["is_public"] is False
    assert api("street").get(f"{S}/centres/{hidden['id']}").json()["contact_name"] == "王主任"
    with pytest.raises(NotFound):
        centres.get_public_centre(session, uuid.UUID(hidden["id"]))


# Staff pages.


def post_form(client: TestClient, page: str, target: str, **data: Any):
    return client.post(target, data={"csrf_token": csrf_from(client.get(page).text), **data}, follow_redirects=True)


def test_staff_pages_keep_a_centre(client: TestClient) -> None:
    assert page_login(client, PERSONAS["street"].username).status_code == 200
    listing = client.get("/services/centres/manage")
    assert listing.status_code == 200 and "新增服务中心" in listing.text
    form = {"name": "文化服务中心", "kind_code": "culture", "unit_code": STREET, "phone": "0796-8221234",
            "facilities": "阅览室、舞蹈室", "is_public": "1", "hours_1": "08:30-12:00, 14:00-17:30",
            "hours_3": "14:00-12:00"}
    bad = post_form(client, "/services/centres/new", "/services/centres/new", **form)
    assert bad.status_code == 422 and "开始时间须早于结束时间" in bad.text
    assert re.search(r'name="hours_3"[^>]*aria-invalid="true"', bad.text)
    assert 'value="阅览室、舞蹈室"' in bad.text  # what was typed comes back
    done = post_form(client, "/services/centres/new", "/services/centres/new", **{**form, "hours_3": "9:00-11:00"})
    assert done.status_code == 200 and "基本信息与每周开放时间" in done.text
    here = str(done.url)
    assert re.fullmatch(r".*/services/centres/[0-9a-f-]{36}", here)
    today = local_today()
    closed = post_form(client, here, here + "/exceptions", day=today.isoformat(), closed="1", note="设备检修")
    assert "今日休息" in closed.text and "设备检修" in closed.text
    bad_day = post_form(client, here, here + "/exceptions", day=today.isoformat(), closed="0", hours="")
    assert bad_day.status_code == 422 and "请填写当天的开放时间" in bad_day.text
    # Street staff record the opening of their street's centre; the district grants the subsidy.
    opened = post_form(client, here, here + "/openings")
    assert "已登记今日开放" in opened.text and "今日已登记开放" in opened.text
    assert "这一天已经登记过了" in post_form(client, here, here + "/openings").text
    assert "发放年度补贴" not in opened.text
    client.cookies.clear()
    assert page_login(client, PERSONAS["admin"].username).status_code == 200
    granted = post_form(client, here, here + "/subsidies", year=str(today.year), amount="10万", note="年度运行补贴")
    assert "¥100,000.00" in granted.text and "10万元" in granted.text
    twice = post_form(client, here, here + "/subsidies", year=str(today.year), amount="100000")
    assert twice.status_code == 409 and "该中心当年已发放过运行补贴" in twice.text
    report = client.get("/services/subsidies", params={"year": str(today.year)})
    assert report.status_code == 200 and "文化服务中心" in report.text and "¥100,000.00" in report.text
    assert f"/api/v1/services/subsidies/report.xlsx?year={today.year}" in report.text
    client.cookies.clear()
    assert page_login(client, PERSONAS["community"].username).status_code == 200
    assert client.get("/services/subsidies").status_code == 403
    assert client.get(here).status_code == 404  # a street centre is not the community's


def test_public_page_in_english(client: TestClient, api: Any) -> None:
    new_centre(api, name="Culture centre of the street")
    client.cookies.set("jiayuan_lang", "en")
    page = client.get("/services/centres")
    assert page.status_code == 200 and 'lang="en"' in page.text and "Service centres near you" in page.text
