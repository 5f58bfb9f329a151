"""The working-day calendar: holidays and make-up workdays, working hours, due times and traffic lights."""

from __future__ import annotations

import csv
import io
import re
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta, timezone
from itertools import accumulate
from typing import Literal

import chinese_calendar
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from jiayuan.cases.models import WorkCalendarDay, WorkCalendarYear
from jiayuan.kit import cache
from jiayuan.kit.db import utcnow
from jiayuan.kit.errors import Invalid

# Beijing time as a fixed UTC+8: the tz database's Asia/Shanghai has summer time in 1986–1991 and local mean
# time before 1901, which would make some working days longer or shorter than 7 hours.
TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
WORKING_PERIODS = ((time(8, 30), time(12, 0)), (time(14, 0), time(17, 30)))
MIN_YEAR, MAX_YEAR = 1900, 2200
CACHE_NAME = "calendar"
SOURCE_PACKAGE = "chinese-calendar"
MAX_ROWS = 1000
Rows = list[tuple[date, bool, str | None]]
Light = Literal["green", "yellow", "red"]

_US_HOUR = 3_600_000_000
_PERIODS = tuple(((s.hour * 60 + s.minute) * 60_000_000, (e.hour * 60 + e.minute) * 60_000_000)
                 for s, e in WORKING_PERIODS)
DAY_US = sum(e - s for s, e in _PERIODS)
HOURS_PER_DAY = DAY_US / _US_HOUR
_MAX_ORDINAL = date.max.toordinal() - 1
_FAR_FUTURE = datetime(9999, 12, 30, tzinfo=UTC)
# chinese-calendar names holidays in English; notes are shown to Chinese staff.
HOLIDAY_NAMES = {"New Year's Day": "元旦", "Spring Festival": "春节", "Tomb-sweeping Day": "清明节",
                 "Labour Day": "劳动节", "Dragon Boat Festival": "端午节", "National Day": "国庆节",
                 "Mid-autumn Festival": "中秋节", "Anti-Fascist 70th Day": "抗战胜利70周年纪念日"}
MAKE_UP_NOTE = "调休"


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone-aware columns; they were stored in UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _local(value: datetime) -> datetime:
    try:
        return _utc(value).astimezone(TZ)
    except OverflowError:  # within 8 hours of datetime.max: UTC is near enough
        return _utc(value)


def add_calendar_hours(start: datetime, hours: float) -> datetime:
    """Urgent cases count every hour of the clock."""
    if not hours > 0:  # also NaN
        return _utc(start)
    try:
        return _utc(start) + timedelta(hours=min(hours, 1e7))
    except OverflowError:
        return _FAR_FUTURE


class WorkCalendar:
    """Which days are worked: Monday–Friday, except the special days of the official schedules."""

    def __init__(self, special: Mapping[date, bool], known_years: Iterable[int] = ()) -> None:
        self.special = dict(special)
        self.known_years = frozenset(known_years)
        days = sorted(self.special)
        self._ordinals = [d.toordinal() for d in days]
        # How many workdays the special days before each position add to (or take from) the Mon–Fri count:
        # with it, counting the workdays before any day is a formula and a bisection, never a loop over days.
        self._shift = list(accumulate((int(self.special[d]) - int(d.weekday() < 5) for d in days), initial=0))

    def is_workday(self, day: date) -> bool:
        flag = self.special.get(day)
        return flag if flag is not None else day.weekday() < 5

    def _workdays_before(self, ordinal: int) -> int:
        n = ordinal - 1  # days since Monday 0001-01-01
        return n // 7 * 5 + min(n % 7, 5) + self._shift[bisect_left(self._ordinals, ordinal)]

    def _worked(self, moment: datetime) -> int:
        """Working microseconds from the epoch up to `moment`."""
        local = _local(moment)
        day = local.date()
        total = self._workdays_before(day.toordinal()) * DAY_US
        if self.is_workday(day):
            t = ((local.hour * 60 + local.minute) * 60 + local.second) * 1_000_000 + local.microsecond
            total += sum(min(max(t - s, 0), e - s) for s, e in _PERIODS)
        return total

    def working_hours_between(self, a: datetime, b: datetime) -> float:
        if _utc(b) <= _utc(a):
            return 0.0
        return (self._worked(b) - self._worked(a)) / _US_HOUR

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """The first moment at which `hours` of working time have passed since `start` (UTC)."""
        if not hours > 0:  # also NaN
            return _utc(start)
        amount = round(min(hours, 1e8) * _US_HOUR)
        if amount == 0:
            return _utc(start)
        target = self._worked(start) + amount
        whole, rest = divmod(target, DAY_US)
        # The answer lies on the workday preceded by `before` workdays; a count that ends exactly at a
        # day's close (17:30) is due then, not at the next morning's opening.
        before, offset = (whole, rest) if rest else (whole - 1, DAY_US)
        lo = _local(start).date().toordinal()
        hi = min(lo + (before + 1 - self._workdays_before(lo)) * 7 // 5 + 16, _MAX_ORDINAL)
        while self._workdays_before(hi + 1) <= before:  # more holidays than guessed: widen, bounded
            if hi >= _MAX_ORDINAL:
                return _FAR_FUTURE
            hi = min(lo + 2 * (hi - lo) + 1, _MAX_ORDINAL)
        while lo < hi:
            mid = (lo + hi) // 2
            if self._workdays_before(mid + 1) > before:
                hi = mid
            else:
                lo = mid + 1
        for s, e in _PERIODS:
            if offset <= e - s:
                break
            offset -= e - s
        local = datetime.combine(date.fromordinal(lo), time(), TZ) + timedelta(microseconds=s + offset)
        return local.astimezone(UTC)

    def due_at(self, start: datetime, hours: float, urgent: bool = False) -> datetime:
        """Due time of a limit: working hours, or hours of the clock for urgent cases."""
        return add_calendar_hours(start, hours) if urgent else self.add_working_hours(start, hours)


def traffic_light(started: datetime, due: datetime, now: datetime, cal: WorkCalendar,
                  urgent: bool = False) -> Light:
    """Green under 80 % of the limit used, yellow from 80 % to 100 %, red past it."""
    started, due, now = _utc(started), _utc(due), _utc(now)
    if now > due:
        return "red"

    def used(a: datetime, b: datetime) -> float:
        return max((b - a).total_seconds(), 0.0) / 3600 if urgent else cal.working_hours_between(a, b)

    total = used(started, due)
    if total <= 0:  # no working time was given: due at once, but not late until past it
        return "yellow"
    fraction = used(started, now) / total
    return "green" if fraction < 0.8 else "yellow" if fraction <= 1.0 else "red"


# Loading and caching.


def _load(session: Session) -> WorkCalendar:
    special = {day: workday for day, workday in session.execute(
        select(WorkCalendarDay.day, WorkCalendarDay.is_workday))}
    return WorkCalendar(special, session.scalars(select(WorkCalendarYear.year)).all())


_calendars = cache.ProcessCache(CACHE_NAME, _load)


def calendar_for(session: Session) -> WorkCalendar:
    """The calendar of this database, rebuilt when its version row has moved."""
    return _calendars.get(session)


def known_years(session: Session) -> list[WorkCalendarYear]:
    """Years with an official schedule, newest first."""
    return list(session.scalars(select(WorkCalendarYear).order_by(WorkCalendarYear.year.desc())))


def special_days(session: Session, year: int) -> list[WorkCalendarDay]:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise Invalid(f"must be between {MIN_YEAR} and {MAX_YEAR}", field="year")
    return list(session.scalars(select(WorkCalendarDay).where(
        WorkCalendarDay.day.between(date(year, 1, 1), date(year, 12, 31))).order_by(WorkCalendarDay.day)))


def unknown_years(session: Session, today: date) -> list[int]:
    """This year, and next year from December on, when their official schedule is not entered."""
    known = calendar_for(session).known_years
    wanted = [today.year, today.year + 1] if today.month == 12 else [today.year]
    return [y for y in wanted if y not in known]


def chinese_calendar_years() -> range:
    """The years the installed chinese-calendar knows: it raises NotImplementedError past its data."""
    year = first = 2004
    while year <= MAX_YEAR:
        try:
            chinese_calendar.is_workday(date(year, 6, 1))
        except NotImplementedError:
            break
        year += 1
    return range(first, year)


def seed_from_chinese_calendar(session: Session) -> int:
    """Load every year chinese-calendar knows and the database does not; an entered year is never touched."""
    have = set(session.scalars(select(WorkCalendarYear.year)))
    years = [y for y in chinese_calendar_years() if y not in have]
    if not years:
        return 0
    present = set(session.scalars(select(WorkCalendarDay.day).where(
        WorkCalendarDay.day.between(date(years[0], 1, 1), date(years[-1], 12, 31)))))
    rows = []
    for year in years:
        day = date(year, 1, 1)
        while day.year == year:
            off, name = chinese_calendar.get_holiday_detail(day)
            if day not in present and off == (day.weekday() < 5):  # only days that break the Mon–Fri rule
                note = HOLIDAY_NAMES.get(name, name or "节假日") if off else MAKE_UP_NOTE
                rows.append({"day": day, "is_workday": not off, "note": note[:60]})
            day += timedelta(days=1)
    if rows:
        session.execute(insert(WorkCalendarDay), rows)
    now = utcnow()
    session.execute(insert(WorkCalendarYear),
                    [{"year": y, "source": SOURCE_PACKAGE, "loaded_at": now} for y in years])
    cache.bump(session, CACHE_NAME)
    return len(rows)


def set_year(session: Session, year: int, rows: Rows, source: str) -> int:
    """Replace the special days of `year` with `rows` and mark the year known."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise Invalid(f"must be between {MIN_YEAR} and {MAX_YEAR}", field="year", reason="out_of_range",
                      low=MIN_YEAR, high=MAX_YEAR)
    seen: set[date] = set()
    for i, (day, _, note) in enumerate(rows):
        if day.year != year:
            raise Invalid(f"{day.isoformat()} is not in {year}", field=f"rows[{i}].date", reason="wrong_year")
        if day in seen:
            raise Invalid(f"{day.isoformat()} is listed twice", field=f"rows[{i}].date", reason="twice")
        if note and len(note) > 60:
            raise Invalid("must be at most 60 characters", field=f"rows[{i}].note", reason="too_long", limit=60)
        seen.add(day)
    session.execute(delete(WorkCalendarDay).where(WorkCalendarDay.day.between(date(year, 1, 1), date(year, 12, 31))))
    if rows:
        session.execute(insert(WorkCalendarDay),
                        [{"day": d, "is_workday": bool(w), "note": n or None} for d, w, n in rows])
    entry = session.get(WorkCalendarYear, year)
    if entry is None:
        session.add(WorkCalendarYear(year=year, source=source[:40], loaded_at=utcnow()))
    else:
        entry.source, entry.loaded_at = source[:40], utcnow()
    session.flush()
    cache.bump(session, CACHE_NAME)
    return len(rows)


# Schedules from files.

_TYPES = {"holiday": False, "休": False, "假": False, "放假": False, "off": False,
          "workday": True, "班": True, "上班": True, "work": True}
_HEADERS = {"date": "date", "日期": "date", "type": "type", "类型": "type", "note": "note", "备注": "note"}
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")


def _bad(row: int, column: str, message: str, reason: str) -> Invalid:
    return Invalid(message, field=f"row {row}: {column}", details={"row": row, "column": column}, reason=reason)


def _table(data: bytes, filename: str) -> Iterable[tuple[int, list[object]]]:
    if filename.lower().endswith(".xls"):
        raise Invalid("save the workbook as .xlsx or .csv", field="file", reason="xls")
    if filename.lower().endswith(".xlsx") or data[:4] == b"PK\x03\x04":
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
            book.close()
        except Exception:  # noqa: BLE001 - openpyxl raises many kinds for a file that is not a workbook
            raise Invalid("not an Excel .xlsx workbook", field="file", reason="not_a_workbook") from None
        return enumerate(rows, 1)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:  # Excel on Chinese Windows saves "CSV" in GB18030
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise Invalid("the file is not UTF-8 text", field="file", reason="not_utf8") from None
    reader = csv.reader(io.StringIO(text))
    return ((reader.line_num, list(r)) for r in reader)


def _as_date(raw: object) -> date | None:
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    m = _DATE.fullmatch(str(raw))
    try:
        return date(*map(int, m.groups())) if m else None
    except ValueError:  # 2027-02-30
        return None


def parse_schedule(data: bytes, filename: str, year: int | None = None) -> Rows:
    """Rows of `date,type,note` (type holiday/workday or 休/班) from CSV or .xlsx; the header is optional.

    With `year`, a date outside it or listed twice is refused here, naming the row of the file."""
    columns = {"date": 0, "type": 1, "note": 2}
    rows: Rows = []
    seen: set[date] = set()
    first = True
    for number, cells in _table(data, filename):
        cells = ["" if c is None else c.strip() if isinstance(c, str) else c for c in cells]
        if not any(c != "" for c in cells):
            continue
        if first and isinstance(cells[0], str) and cells[0].lower() in _HEADERS:
            names = [_HEADERS.get(str(c).lower(), "") for c in cells]
            if "date" not in names or "type" not in names:
                raise _bad(number, "header", "the header must name the columns date, type and note", "bad_header")
            # Without a note column, -1 picks the padding added to each row below.
            columns = {n: names.index(n) if n in names else -1 for n in ("date", "type", "note")}
            first = False
            continue
        first = False
        if len(rows) >= MAX_ROWS:
            raise Invalid("too many rows (at most 1000)", field="file", reason="too_many", limit=MAX_ROWS)
        cells = [*cells, "", "", ""]  # short rows read as empty cells
        day = _as_date(cells[columns["date"]])
        if day is None:
            raise _bad(number, "date", "not a date; write it as YYYY-MM-DD", "not_a_date")
        if year is not None and day.year != year:
            raise _bad(number, "date", "the date is not in this year", "wrong_year")
        if day in seen:
            raise _bad(number, "date", "the date is listed twice", "twice")
        kind = _TYPES.get(str(cells[columns["type"]]).lower())
        if kind is None:
            raise _bad(number, "type", "must be holiday or workday (休 or 班)", "not_a_choice")
        note = str(cells[columns["note"]]).strip() or None
        if note and len(note) > 60:
            raise _bad(number, "note", "must be at most 60 characters", "too_long")
        seen.add(day)
        rows.append((day, kind, note))
    return rows
