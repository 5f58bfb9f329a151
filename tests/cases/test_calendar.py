"""The working-day calendar: holidays and make-up workdays, working hours, due times, traffic lights, the
schedule files and the district administrator's page."""

from __future__ import annotations

import io
import time as clock
from datetime import UTC, date, datetime, timedelta

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from sqlalchemy import delete, func, select

from jiayuan.cases import calendar
from jiayuan.cases.calendar import TZ, WorkCalendar, traffic_light
from jiayuan.cases.models import WorkCalendarDay, WorkCalendarYear
from jiayuan.kit.errors import Invalid
from tests.conftest import csrf_from, page_login


def bj(*args: int) -> datetime:
    """A moment in Beijing time."""
    return datetime(*args, tzinfo=TZ)


def _from_package() -> WorkCalendar:
    """The calendar built straight from chinese-calendar, independently of the seeding code."""
    special, years = {}, calendar.chinese_calendar_years()
    for year in years:
        day = date(year, 1, 1)
        while day.year == year:
            if chinese_calendar.is_workday(day) != (day.weekday() < 5):
                special[day] = chinese_calendar.is_workday(day)
            day += timedelta(days=1)
    return WorkCalendar(special, years)


CAL = _from_package()


# The arithmetic.


def test_a_case_reported_before_national_day_is_due_after_it(session) -> None:  # noqa: ANN001
    cal = calendar.calendar_for(session)
    # 2026: 1–7 October off; Thursday 8 and Friday 9 are ordinary workdays; Saturday 10 is a make-up workday.
    assert [cal.is_workday(date(2026, 10, d)) for d in range(1, 12)] == [False] * 7 + [True, True, True, False]
    start = bj(2026, 9, 30, 16, 0)  # Wednesday: 1.5 h left today
    # 1.5 h on the 30th, then 6.5 h of the 8th: 08:30–12:00 (3.5 h) and 14:00–17:00 (3 h).
    assert cal.add_working_hours(start, 8) == datetime(2026, 10, 8, 9, 0, tzinfo=UTC)  # 17:00 Beijing
    assert cal.add_working_hours(start, 8).tzinfo == UTC
    # 1.5 + 7 (the 8th) + 7 (the 9th) = 15.5 h; the last half hour is worked on make-up Saturday the 10th.
    assert cal.add_working_hours(start, 16) == bj(2026, 10, 10, 9, 0)
    assert cal.working_hours_between(start, bj(2026, 10, 10, 9, 0)) == 16
    # The seeded notes name the holiday and the make-up day.
    notes = {d.day: (d.is_workday, d.note) for d in calendar.special_days(session, 2026)}
    assert notes[date(2026, 10, 1)] == (False, "国庆节") and notes[date(2026, 10, 10)] == (True, "调休")
    assert date(2026, 10, 3) not in notes  # a Saturday off is no exception to the rule


def test_make_up_weekend_days_count_as_workdays() -> None:
    # Sunday 20 September 2026 is worked in exchange for National Day.
    assert CAL.is_workday(date(2026, 9, 20)) and not CAL.is_workday(date(2026, 9, 19))
    assert CAL.add_working_hours(bj(2026, 9, 18, 17, 0), 1) == bj(2026, 9, 20, 9, 0)
    assert CAL.working_hours_between(bj(2026, 9, 19, 0, 0), bj(2026, 9, 21, 0, 0)) == 7


def test_lunch_break_nights_and_weekends_are_not_counted() -> None:
    assert CAL.add_working_hours(bj(2026, 11, 25, 11, 0), 2) == bj(2026, 11, 25, 15, 0)
    assert CAL.add_working_hours(bj(2026, 11, 25, 11, 0), 1) == bj(2026, 11, 25, 12, 0)  # due at noon, not 14:00
    assert CAL.add_working_hours(bj(2026, 11, 25, 12, 30), 1) == bj(2026, 11, 25, 15, 0)
    assert CAL.add_working_hours(bj(2026, 11, 25, 6, 0), 1) == bj(2026, 11, 25, 9, 30)
    assert CAL.add_working_hours(bj(2026, 11, 27, 18, 0), 1) == bj(2026, 11, 30, 9, 30)  # Friday evening
    assert CAL.add_working_hours(bj(2026, 11, 25, 17, 0), 7) == bj(2026, 11, 26, 17, 0)
    assert CAL.working_hours_between(bj(2026, 11, 25, 11, 30), bj(2026, 11, 25, 14, 30)) == 1
    assert CAL.working_hours_between(bj(2026, 11, 25, 12, 0), bj(2026, 11, 25, 14, 0)) == 0
    assert CAL.working_hours_between(bj(2026, 11, 26), bj(2026, 11, 25)) == 0
    start = bj(2026, 11, 28, 22, 0)  # a Saturday night: no working hours ask for no time at all
    assert CAL.add_working_hours(start, 0) == start and CAL.add_working_hours(start, -3) == start
    # Naive datetimes (SQLite returns them) are UTC.
    assert CAL.add_working_hours(datetime(2026, 11, 25, 3, 0), 1) == bj(2026, 11, 25, 12, 0)


def test_urgent_cases_count_the_clock() -> None:
    start = bj(2026, 9, 30, 16, 0)
    assert CAL.due_at(start, 24, urgent=True) == bj(2026, 10, 1, 16, 0)
    assert CAL.due_at(start, 8, urgent=False) == bj(2026, 10, 8, 17, 0)


def test_any_year_any_amount_computes_quickly() -> None:
    for year in (1900, 1991, 2004, 2027, 2200):  # 1991: Asia/Shanghai had summer time; Beijing time did not
        start = bj(year, 7, 1, 9, 0)
        due = CAL.add_working_hours(start, 1000)
        assert CAL.working_hours_between(start, due) == pytest.approx(1000)
    assert CAL.add_working_hours(bj(2026, 1, 5), float("inf")).year == 9999
    assert CAL.add_working_hours(bj(2026, 1, 5), float("nan")) == bj(2026, 1, 5)
    t0 = clock.perf_counter()
    for i in range(1000):
        CAL.add_working_hours(bj(2026, 1, 5, 9, 0) + timedelta(hours=i), 1000)
    assert (clock.perf_counter() - t0) / 1000 < 0.0005  # well under a millisecond each


def test_unknown_years_count_weekends_only(session) -> None:  # noqa: ANN001
    cal = calendar.calendar_for(session)
    assert 2026 in cal.known_years and 2027 not in cal.known_years
    assert cal.is_workday(date(2027, 1, 1)) and cal.is_workday(date(2027, 10, 1))  # Fridays, holidays or not
    assert not cal.is_workday(date(2027, 1, 2)) and not cal.is_workday(date(2027, 1, 3))
    assert cal.add_working_hours(bj(2026, 12, 31, 17, 0), 1) == bj(2027, 1, 1, 9, 0)
    assert calendar.unknown_years(session, date(2026, 11, 30)) == []
    assert calendar.unknown_years(session, date(2026, 12, 1)) == [2027]  # warn a month ahead
    assert calendar.unknown_years(session, date(2027, 3, 1)) == [2027]


when = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC))


@settings(max_examples=300, deadline=None)
@given(start=when, hours=st.floats(min_value=0, max_value=3000, allow_nan=False), end=when)
def test_adding_and_measuring_are_inverse(start: datetime, hours: float, end: datetime) -> None:
    due = CAL.add_working_hours(start, hours)
    assert due >= start
    assert CAL.working_hours_between(start, due) == pytest.approx(hours, abs=1e-6)
    worked = CAL.working_hours_between(start, end)
    back = CAL.add_working_hours(start, worked)
    # The earliest moment with that much work done: the end itself, or the close of the last working period.
    assert back <= max(start, end) and CAL.working_hours_between(back, end) == pytest.approx(0, abs=1e-6)
    assert CAL.working_hours_between(start, back) == pytest.approx(worked, abs=1e-6)


@settings(max_examples=40, deadline=None)
@given(start=st.datetimes(min_value=datetime(2026, 9, 1), max_value=datetime(2027, 1, 31)),
       minutes=st.integers(min_value=0, max_value=6 * 24 * 60))
def test_working_hours_agree_with_counting_minute_by_minute(start: datetime, minutes: int) -> None:
    start = start.replace(second=0, microsecond=0, tzinfo=TZ)
    worked, moment = 0, start
    for _ in range(minutes):
        if CAL.is_workday(moment.date()) and any(a <= moment.time() < b for a, b in calendar.WORKING_PERIODS):
            worked += 1
        moment += timedelta(minutes=1)
    assert CAL.working_hours_between(start, moment) == pytest.approx(worked / 60, abs=1e-9)


@pytest.mark.parametrize(("used", "light"), [(7.9, "green"), (8.0, "yellow"), (10.0, "yellow"), (10.1, "red")])
def test_traffic_light_thresholds(used: float, light: str) -> None:
    started = bj(2026, 11, 23, 8, 30)  # Monday
    due = CAL.add_working_hours(started, 10)  # a limit of 10 working hours: 79 %, 80 %, 100 %, 101 %
    assert traffic_light(started, due, CAL.add_working_hours(started, used), CAL) == light


def test_traffic_light_of_a_limit_of_nothing() -> None:
    at = bj(2026, 11, 23, 10, 0)
    assert traffic_light(at, at, at, CAL) == "yellow"
    assert traffic_light(at, at - timedelta(hours=1), at - timedelta(hours=2), CAL) == "yellow"
    assert traffic_light(at, at, at + timedelta(seconds=1), CAL) == "red"
    # Overdue is red even when no working time has passed since (a Friday evening limit, seen on Saturday).
    assert traffic_light(bj(2026, 11, 27, 9), bj(2026, 11, 27, 17, 30), bj(2026, 11, 28, 10), CAL) == "red"


# Data: seeding, the administrator's years, the cache.


def test_seeding_is_idempotent_and_never_overwrites_an_entered_year(session) -> None:  # noqa: ANN001
    years = calendar.chinese_calendar_years()
    assert years.start == 2004 and years.stop - 1 == max(d.year for d in chinese_calendar.holidays)
    assert calendar.seed_from_chinese_calendar(session) == 0  # `jiayuan init` (conftest) seeded already
    session.execute(delete(WorkCalendarDay))
    session.execute(delete(WorkCalendarYear))
    calendar.set_year(session, 2026, [(date(2026, 10, 12), False, "台风停工")], source="page admin")
    inserted = calendar.seed_from_chinese_calendar(session)
    expected = sum(1 for y in years if y != 2026 for d in _days(y)
                   if chinese_calendar.is_workday(d) != (d.weekday() < 5))
    assert inserted == expected > 20 * 10
    assert calendar.seed_from_chinese_calendar(session) == 0
    assert session.scalar(select(func.count()).select_from(WorkCalendarDay)) == expected + 1
    assert [(d.day, d.note) for d in calendar.special_days(session, 2026)] == [(date(2026, 10, 12), "台风停工")]
    assert session.get(WorkCalendarYear, 2026).source == "page admin"
    assert session.get(WorkCalendarYear, 2025).source == "chinese-calendar"
    cal = calendar.calendar_for(session)
    assert cal.is_workday(date(2026, 10, 1)) and not cal.is_workday(date(2026, 10, 12))
    assert not cal.is_workday(date(2025, 10, 1)) and cal.known_years == frozenset(years)


def _days(year: int) -> list[date]:
    return [date(year, 1, 1) + timedelta(days=i) for i in range((date(year + 1, 1, 1) - date(year, 1, 1)).days)]


def test_an_entered_year_is_respected_and_the_cache_rebuilds(session) -> None:  # noqa: ANN001
    before = calendar.calendar_for(session)
    assert calendar.calendar_for(session) is before  # cached while nothing moves
    assert before.is_workday(date(2027, 10, 1))
    rows = [(date(2027, 10, d), False, "国庆节") for d in (1, 4, 5, 6, 7)] + [(date(2027, 9, 26), True, "调休")]
    assert calendar.set_year(session, 2027, rows, source="page admin") == 6
    cal = calendar.calendar_for(session)
    assert cal is not before and 2027 in cal.known_years
    assert not cal.is_workday(date(2027, 10, 1)) and cal.is_workday(date(2027, 9, 26))
    # Thursday 30 September 16:00: 1.5 h, then nothing until Friday 8 October.
    assert cal.add_working_hours(bj(2027, 9, 30, 16, 0), 8) == bj(2027, 10, 8, 17, 0)
    assert calendar.unknown_years(session, date(2027, 5, 1)) == []
    calendar.set_year(session, 2027, [], source="page admin")  # replaced, not merged
    assert calendar.calendar_for(session).is_workday(date(2027, 10, 1))


@pytest.mark.parametrize(("rows", "field"), [
    ([(date(2027, 1, 1), False, None), (date(2026, 12, 31), False, None)], "rows[1].date"),
    ([(date(2027, 1, 1), False, None), (date(2027, 2, 1), False, None), (date(2027, 1, 1), True, None)],
     "rows[2].date"),
    ([(date(2027, 1, 1), False, "节" * 61)], "rows[0].note"),
])
def test_set_year_names_the_bad_row(session, rows, field) -> None:  # noqa: ANN001
    with pytest.raises(Invalid) as caught:
        calendar.set_year(session, 2027, rows, source="test")
    assert caught.value.field == field
    assert session.get(WorkCalendarYear, 2027) is None
    with pytest.raises(Invalid, match="between") as caught:
        calendar.set_year(session, 1899, [], source="test")
    assert caught.value.field == "year"


# Schedule files.

GOOD = "date,type,note\n2027-01-01,holiday,元旦\n2027/2/6,班,调休\n2027年2月8日,休,春节\n\n2027-02-09,holiday,\n"


def test_csv_with_or_without_bom_header_and_either_spelling() -> None:
    expected = [(date(2027, 1, 1), False, "元旦"), (date(2027, 2, 6), True, "调休"),
                (date(2027, 2, 8), False, "春节"), (date(2027, 2, 9), False, None)]
    assert calendar.parse_schedule(GOOD.encode(), "a.csv") == expected
    assert calendar.parse_schedule(b"\xef\xbb\xbf" + GOOD.encode(), "a.csv", year=2027) == expected
    assert calendar.parse_schedule(GOOD.split("\n", 1)[1].encode(), "a.csv") == expected  # no header
    assert calendar.parse_schedule(GOOD.replace("date,type,note", "日期,类型,备注").encode("gb18030"),
                                   "a.csv") == expected  # as Excel saves "CSV" on Chinese Windows
    assert calendar.parse_schedule("note,date,type\n国庆节,2027-10-01,holiday\n".encode(), "x.csv") == [
        (date(2027, 10, 1), False, "国庆节")]


@pytest.mark.parametrize(("text", "year", "field"), [
    ("date,type,note\n2027-01-01,holiday,元旦\n2027-02-30,holiday,春节\n", None, "row 3: date"),
    ("date,type,note\n2027-01-01,holiday,元旦\n\n2027-02-10,rest,春节\n", None, "row 4: type"),
    ("2027-01-01,holiday\nnot a date,holiday\n", None, "row 2: date"),
    ("date,type,note\n2028-01-01,holiday,元旦\n", 2027, "row 2: date"),
    ("date,type,note\n2027-01-01,holiday,元旦\n2027-01-01,workday,\n", 2027, "row 3: date"),
    ("date,note\n2027-01-01,元旦\n", None, "row 1: header"),
])
def test_a_bad_csv_row_is_named(text: str, year: int | None, field: str) -> None:
    with pytest.raises(Invalid) as caught:
        calendar.parse_schedule(text.encode(), "bad.csv", year=year)
    assert caught.value.field == field


def _xlsx(rows: list[tuple]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def test_xlsx_schedule_and_its_bad_row() -> None:
    good = _xlsx([("date", "type", "note"), (datetime(2027, 10, 1), "休", "国庆节"), ("2027-10-09", "班", None)])
    assert calendar.parse_schedule(good, "2027.xlsx", year=2027) == [
        (date(2027, 10, 1), False, "国庆节"), (date(2027, 10, 9), True, None)]
    bad = _xlsx([("date", "type", "note"), (datetime(2027, 10, 1), "休", None), (datetime(2027, 10, 2), None, None)])
    with pytest.raises(Invalid) as caught:
        calendar.parse_schedule(bad, "2027.xlsx")
    assert caught.value.field == "row 3: type"
    for data, name in ((b"not a zip", "2027.xlsx"), (b"\xd0\xcf\x11\xe0", "2027.xls"), (b"\xff\xfe\x00", "a.csv")):
        with pytest.raises(Invalid) as caught:
            calendar.parse_schedule(data, name)
        assert caught.value.field == "file"


# The page and the home warning.

UPLOAD = "date,type,note\n2027-10-01,holiday,国庆节\n2027-09-26,workday,调休\n"


def test_the_calendar_page_is_for_district_admins_only(client, personas) -> None:  # noqa: ANN001
    assert client.get("/admin/calendar", follow_redirects=False).status_code == 303
    page_login(client, personas["street"].username)
    assert client.get("/admin/calendar").status_code == 403
    token = csrf_from(client.get("/home").text)
    r = client.post("/admin/calendar/2027", data={"csrf_token": token, "schedule": UPLOAD})
    assert r.status_code == 403


def test_admin_uploads_a_schedule_and_sees_its_days(client, session) -> None:  # noqa: ANN001
    page_login(client, "admin")
    page = client.get("/admin/calendar?year=2027")
    assert page.status_code == 200 and "2027 年尚无官方安排" in page.text and "chinese-calendar" in page.text
    r = client.post("/admin/calendar/2027", data={"csrf_token": csrf_from(page.text)},
                    files={"file": ("2027.csv", UPLOAD.encode("utf-8-sig"), "text/csv")})
    assert r.status_code == 200 and r.url.path == "/admin/calendar"
    assert "已保存 2027 年的 2 个特殊日期" in r.text
    assert "2027-10-01" in r.text and "国庆节" in r.text and "2027-09-26" in r.text and "尚无官方安排" not in r.text
    cal = calendar.calendar_for(session)
    assert not cal.is_workday(date(2027, 10, 1)) and cal.is_workday(date(2027, 9, 26))
    # The textarea replaces the year in turn.
    r = client.post("/admin/calendar/2027", data={"csrf_token": csrf_from(r.text),
                                                  "schedule": "2027-05-03,休,劳动节"})
    assert r.status_code == 200 and "劳动节" in r.text and "国庆节" not in r.text
    # Without the form's token, nothing changes.
    assert client.post("/admin/calendar/2027", data={"schedule": UPLOAD}).status_code == 403


def test_a_bad_upload_names_the_row_and_stores_nothing(client, session) -> None:  # noqa: ANN001
    page_login(client, "admin")
    token = csrf_from(client.get("/admin/calendar?year=2027").text)
    bad = "date,type,note\n2027-10-01,holiday,国庆节\n2027-10-32,holiday,国庆节\n"
    r = client.post("/admin/calendar/2027", data={"csrf_token": token},
                    files={"file": ("2027.csv", bad.encode(), "text/csv")})
    assert r.status_code == 422 and "第 3 行（日期）" in r.text and "不是日期" in r.text
    r = client.post("/admin/calendar/2027", data={"csrf_token": token, "schedule": "2026-10-01,休,国庆节"})
    assert r.status_code == 422 and "第 1 行（日期）" in r.text and "日期不在该年份内" in r.text
    r = client.post("/admin/calendar/2027", data={"csrf_token": token, "schedule": " "})
    assert r.status_code == 422 and "请选择文件或粘贴安排" in r.text
    assert 2027 not in calendar.calendar_for(session).known_years
    client.get("/lang/en")
    r = client.post("/admin/calendar/2027", data={"csrf_token": token},
                    files={"file": ("2027.csv", bad.encode(), "text/csv")})
    assert "Row 3 (Date): not a date" in r.text


def test_home_warns_the_admin_of_a_year_without_schedule(client, personas, monkeypatch) -> None:  # noqa: ANN001
    from jiayuan.face import pages as face_pages

    monkeypatch.setattr(face_pages, "local_today", lambda: date(2026, 12, 10))
    page_login(client, personas["community"].username)
    assert "节假日安排尚未录入" not in client.get("/home").text
    client.cookies.clear()
    home = page_login(client, "admin")
    assert "2027 年的节假日安排尚未录入，时限暂按周末计算" in home.text
    assert 'href="/admin/calendar?year=2027"' in home.text
    client.post("/admin/calendar/2027", data={"csrf_token": csrf_from(home.text), "schedule": UPLOAD})
    home = client.get("/home").text
    assert "节假日安排尚未录入" not in home and 'href="/admin/calendar"' in home


def test_cli_imports_and_shows_a_year(tmp_path) -> None:  # noqa: ANN001
    from tests.cli import ok, run_cli, said

    url = f"sqlite:///{tmp_path}/cli.db"
    assert "holiday and make-up workdays" in ok(run_cli(url, "init")).stdout
    assert "2026-10-01 四 休 国庆节" in ok(run_cli(url, "calendar", "show", "2026")).stdout
    (tmp_path / "2027.csv").write_text(UPLOAD, encoding="utf-8")
    assert "2027: 2 holidays" in ok(run_cli(url, "calendar", "import", "2027", str(tmp_path / "2027.csv"))).stdout
    (tmp_path / "bad.csv").write_text(UPLOAD + "2027-10-02,rest,\n", encoding="utf-8")
    bad = run_cli(url, "calendar", "import", "2027", str(tmp_path / "bad.csv"))
    assert bad.returncode == 2 and said(bad) == "error: row 4: type: must be holiday or workday (休 or 班)"
    shown = ok(run_cli(url, "calendar", "show", "2027")).stdout
    assert "from file 2027.csv" in shown and "2027-09-26 日 班 调休" in shown and "2027-10-02" not in shown
