"""Service centres (8+X 服务中心): the directory, weekly hours with exceptions, the days a centre opened, yearly
subsidies and the subsidy report of docs/services.md."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jiayuan.accounts.service import Principal
from jiayuan.cases import service as work_calendar
from jiayuan.cases.service import WorkCalendar
from jiayuan.kit import hours as weekly
from jiayuan.kit.clock import TIMEZONE, local_today
from jiayuan.kit.db import utcnow
from jiayuan.kit.errors import Conflict, Invalid, NotFound
from jiayuan.kit.scope import Scope
from jiayuan.kit.text import clean_text
from jiayuan.services.catalogue.models import CentreKind
from jiayuan.services.catalogue.service import get_centre_kind
from jiayuan.services.centres.models import CentreException, CentreOpening, CentreSubsidy, ServiceCentre
from jiayuan.services.centres.policy import (
    CENTRE_MANAGERS,
    CENTRE_STAFF,
    EXCEPTION_EDITORS,
    REPORT_READERS,
    SUBSIDY_GRANTORS,
    require_role,
)
from jiayuan.services.checks import check_phone, check_point, flag, unit_in_scope, whole_number
from jiayuan.units import service as units

CENTRE_UNIT_LENGTHS = (9, 12)  # a street, or a community under it
FIRST_YEAR = 2000
# An opening is recorded on the day, or caught up within a week: the log is what subsidies are judged on,
# so a year cannot be filled in after the fact.
LATE_RECORD_DAYS = 7
MAX_SUBSIDY_FEN = 2_000_000_000  # 20 million yuan: the column is a 32-bit integer
MAX_FACILITIES, MAX_FACILITY_LENGTH = 30, 30
_LIST_SEPARATORS = re.compile(r"[,，、;；\n]+")
DEFAULT_REQUIRED_SHARE = 0.9


# --- Reading ---------------------------------------------------------------------------------------------


def get_centre(session: Session, principal: Principal, centre_id: uuid.UUID | None) -> ServiceCentre:
    """A centre in the caller's scope; any other is a 404, whether it exists or not."""
    if centre_id is None:
        raise Invalid(field="id", reason="required")
    stmt = select(ServiceCentre).where(ServiceCentre.id == centre_id, principal.scope.where(ServiceCentre))
    if principal.scope.districts:
        stmt = stmt.where(ServiceCentre.district_code.in_(principal.scope.districts))
    centre = session.scalar(stmt)
    if centre is None:
        raise NotFound(f"no service centre {centre_id}", field="id")
    return centre


def _order(stmt: Any) -> Any:
    return stmt.outerjoin(CentreKind, CentreKind.code == ServiceCentre.kind_code).order_by(
        ServiceCentre.unit_code, CentreKind.sort, ServiceCentre.name, ServiceCentre.id)


def list_centres(session: Session, principal: Principal, *, unit: str | None = None, kind: str | None = None,
                 active_only: bool = False) -> list[ServiceCentre]:
    """The centres of the caller's scope (public or not), narrowed to a street or community and a kind."""
    stmt = select(ServiceCentre).where(principal.scope.where(ServiceCentre))
    if unit:
        stmt = stmt.where(Scope((units.check_code(unit, "unit"),)).where(ServiceCentre))
    if kind:
        stmt = stmt.where(ServiceCentre.kind_code == kind)
    if active_only:
        stmt = stmt.where(ServiceCentre.active)
    return list(session.scalars(_order(stmt)))


def public_centres(session: Session, district: str, *, street: str | None = None,
                   kind: str | None = None) -> list[ServiceCentre]:
    """What anyone may see without signing in: the district's active centres open to the public."""
    stmt = select(ServiceCentre).where(ServiceCentre.district_code == district, ServiceCentre.is_public,
                                       ServiceCentre.active)
    if street:
        code = units.check_code(street, "street")
        if len(code) != 9:
            raise Invalid("a street code has 9 digits", field="street")
        stmt = stmt.where(Scope((code,)).where(ServiceCentre))
    if kind:
        stmt = stmt.where(ServiceCentre.kind_code == kind)
    return list(session.scalars(_order(stmt)))


def get_public_centre(session: Session, centre_id: uuid.UUID) -> ServiceCentre:
    centre = session.scalar(select(ServiceCentre).where(ServiceCentre.id == centre_id, ServiceCentre.is_public,
                                                        ServiceCentre.active))
    if centre is None:
        raise NotFound(f"no service centre {centre_id}", field="id")
    return centre


# --- Writing ---------------------------------------------------------------------------------------------


def _centre_unit(session: Session, principal: Principal, code: Any) -> str:
    return unit_in_scope(session, principal, code, CENTRE_UNIT_LENGTHS,
                         "a centre belongs to a street (9 digits) or a community (12 digits)")


def _unique_name(session: Session, centre: ServiceCentre) -> None:
    other = session.scalar(select(ServiceCentre.id).where(
        ServiceCentre.district_code == centre.district_code, ServiceCentre.unit_code == centre.unit_code,
        ServiceCentre.name == centre.name))
    if other is not None and other != centre.id:
        raise Conflict("a centre of this name already exists in this unit", field="name")


def check_facilities(value: Any, field: str = "facilities") -> list[str] | None:
    """A list of short names (a reading room, a canteen…); text is split at commas and 、."""
    if value is None:
        return None
    if isinstance(value, str):
        value = _LIST_SEPARATORS.split(value)
    if not isinstance(value, (list, tuple)):
        raise Invalid("must be a list of short names", field=field)
    out: list[str] = []
    for i, item in enumerate(value):
        name = clean_text(item, f"{field}[{i}]", MAX_FACILITY_LENGTH)
        if name and name not in out:
            out.append(name)
    if len(out) > MAX_FACILITIES:
        raise Invalid(f"at most {MAX_FACILITIES} facilities", field=field)
    return out


def _set(centre: ServiceCentre, fields: Mapping[str, Any]) -> None:
    if "address" in fields:
        centre.address = clean_text(fields["address"], "address", 200)
    if "capacity" in fields:
        centre.capacity = whole_number(fields["capacity"], "capacity", maximum=100_000)
    if "facilities" in fields:
        centre.facilities = check_facilities(fields["facilities"])
    if "contact_name" in fields:
        centre.contact_name = clean_text(fields["contact_name"], "contact_name", 60)
    if "phone" in fields:
        centre.phone = check_phone(fields["phone"])
    if "is_public" in fields and fields["is_public"] is not None:
        centre.is_public = flag(fields["is_public"], "is_public")
    if "weekly_hours" in fields:
        centre.weekly_hours = weekly.parse_week(fields["weekly_hours"])
    if "description" in fields:
        centre.description = clean_text(fields["description"], "description", 2000)
    if "active" in fields and fields["active"] is not None:
        centre.active = flag(fields["active"], "active")


def create_centre(session: Session, principal: Principal, **fields: Any) -> ServiceCentre:
    """A centre of a street or community in the caller's scope (street staff of the street, or the district)."""
    require_role(principal, CENTRE_MANAGERS, "add service centres")
    unit = _centre_unit(session, principal, fields.get("unit_code"))
    kind = get_centre_kind(session, fields.get("kind_code"), field="kind_code")
    name = clean_text(fields.get("name"), "name", 100, required=True) or ""
    centre = ServiceCentre(district_code=unit[:6], unit_code=unit, kind_code=kind.code, name=name,
                           is_public=True, active=True)
    _unique_name(session, centre)
    _set(centre, fields)
    centre.lat, centre.lon = check_point(session, fields.get("lat"), fields.get("lon"), unit)
    session.add(centre)
    session.flush()
    return centre


def update_centre(session: Session, principal: Principal, centre_id: uuid.UUID, **changes: Any) -> ServiceCentre:
    centre = get_centre(session, principal, centre_id)
    require_role(principal, CENTRE_MANAGERS, "edit service centres")
    if "unit_code" in changes and changes["unit_code"] != centre.unit_code:
        unit = _centre_unit(session, principal, changes["unit_code"])
        if unit[:6] != centre.district_code:
            raise Invalid("a centre stays in its district", field="unit_code")
        centre.unit_code = unit
    if "kind_code" in changes:
        centre.kind_code = get_centre_kind(session, changes["kind_code"], field="kind_code").code
    if "name" in changes:
        centre.name = clean_text(changes["name"], "name", 100, required=True) or centre.name
    _unique_name(session, centre)
    _set(centre, changes)
    if "lat" in changes or "lon" in changes or "unit_code" in changes:
        lat, lon = (changes.get("lat"), changes.get("lon")) if ("lat" in changes or "lon" in changes) else (
            centre.lat, centre.lon)
        centre.lat, centre.lon = check_point(session, lat, lon, centre.unit_code)
    session.flush()
    return centre


# --- A day's hours: the week, exceptions and public holidays ----------------------------------------------


@dataclass(frozen=True)
class DayHours:
    """What a centre keeps on one day, and why: its week, an exception, a public holiday, or not in operation."""

    day: date
    intervals: list[list[str]]
    reason: str  # week | exception | holiday | inactive
    note: str | None = None

    @property
    def is_open(self) -> bool:
        return bool(self.intervals)


def is_public_holiday(cal: WorkCalendar, day: date) -> bool:
    """A day the working calendar takes off besides the ordinary weekend: a public holiday, or a weekday
    given off as part of one."""
    return cal.special.get(day) is False or (day.weekday() < 5 and not cal.is_workday(day))


def hours_on(centre: ServiceCentre, day: date, exception: CentreException | None = None, *,
             holiday: bool = False, holiday_note: str | None = None) -> DayHours:
    """An exception decides the day; else a public holiday closes it; else the week does."""
    if not centre.active:
        return DayHours(day, [], "inactive")
    if exception is not None:
        return DayHours(day, [] if exception.closed else [list(p) for p in exception.hours or ()], "exception",
                        exception.note)
    if holiday:
        return DayHours(day, [], "holiday", holiday_note)
    return DayHours(day, weekly.intervals_on(centre.weekly_hours, day), "week")


def local_time(moment: datetime) -> datetime:
    # Naive datetimes are UTC, as the database hands them back.
    return (moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment).astimezone(TIMEZONE)


def is_open_at(centre: ServiceCentre, moment: datetime, exceptions: Iterable[CentreException] = (),
               calendar: WorkCalendar | None = None) -> bool:
    """Whether the centre is open at `moment`: its week at local (Beijing) time, unless an exception of that
    day says otherwise; with a calendar, a public holiday without an exception is closed."""
    local = local_time(moment)
    day = local.date()
    exception = next((e for e in exceptions if e.day == day and e.centre_id == centre.id), None)
    holiday = calendar is not None and is_public_holiday(calendar, day)
    return weekly.covers(hours_on(centre, day, exception, holiday=holiday).intervals, local)


def exceptions_between(session: Session, centres: Iterable[ServiceCentre], start: date,
                       end: date) -> dict[tuple[uuid.UUID, date], CentreException]:
    centres = list(centres)
    if not centres:
        return {}
    rows = session.scalars(select(CentreException).where(
        CentreException.district_code.in_({c.district_code for c in centres}),
        CentreException.centre_id.in_([c.id for c in centres]), CentreException.day.between(start, end)))
    return {(e.centre_id, e.day): e for e in rows}


def holiday_note(session: Session, day: date) -> str | None:
    """The name the working calendar gives a day off (春节, 国庆节…), through its public functions."""
    return next((d.note for d in work_calendar.special_days(session, day.year) if d.day == day), None)


def hours_today(session: Session, centres: Iterable[ServiceCentre], today: date | None = None
                ) -> dict[uuid.UUID, DayHours]:
    """Each centre's hours for a day (today in Beijing by default): the "open today" of the public page."""
    centres = list(centres)
    today = today or local_today()
    exceptions = exceptions_between(session, centres, today, today)
    holiday = is_public_holiday(work_calendar.calendar_for(session), today)
    note = holiday_note(session, today) if holiday else None
    return {c.id: hours_on(c, today, exceptions.get((c.id, today)), holiday=holiday, holiday_note=note)
            for c in centres}


def open_now(session: Session, centre: ServiceCentre, moment: datetime | None = None) -> bool:
    moment = moment or utcnow()
    day = local_time(moment).date()
    exceptions = exceptions_between(session, [centre], day, day).values()
    return is_open_at(centre, moment, exceptions, work_calendar.calendar_for(session))


# --- Exceptions ------------------------------------------------------------------------------------------


def _check_day(value: Any, field: str = "day") -> date:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise Invalid("must be a date (YYYY-MM-DD)", field=field, reason="not_a_date")
    if not FIRST_YEAR <= value.year <= local_today().year + 2:
        raise Invalid(f"must be between {FIRST_YEAR} and two years ahead", field=field)
    return value


def set_exception(session: Session, principal: Principal, centre_id: uuid.UUID, day: Any, *, closed: Any = True,
                  hours: Any = None, note: Any = None) -> CentreException:
    """The hours of one day, other than the week's: closed (a holiday) or other intervals; one per day."""
    centre = get_centre(session, principal, centre_id)
    require_role(principal, EXCEPTION_EDITORS, "change a centre's hours")
    day = _check_day(day)
    closed = flag(closed, "closed")
    intervals = weekly.parse_intervals(hours, "hours")
    if closed and intervals:
        raise Invalid("a closed day has no hours", field="hours", reason="closed_with_hours")
    if not closed and not intervals:
        raise Invalid("give the day's hours, or mark it closed", field="hours", reason="hours_needed")
    note = clean_text(note, "note", 100)
    exception = session.scalar(select(CentreException).where(
        CentreException.district_code == centre.district_code, CentreException.centre_id == centre.id,
        CentreException.day == day))
    if exception is None:
        exception = CentreException(district_code=centre.district_code, centre_id=centre.id, day=day)
        session.add(exception)
    exception.closed, exception.hours, exception.note = closed, intervals or None, note
    session.flush()
    return exception


def remove_exception(session: Session, principal: Principal, centre_id: uuid.UUID, day: Any) -> None:
    centre = get_centre(session, principal, centre_id)
    require_role(principal, EXCEPTION_EDITORS, "change a centre's hours")
    exception = session.scalar(select(CentreException).where(
        CentreException.district_code == centre.district_code, CentreException.centre_id == centre.id,
        CentreException.day == _check_day(day)))
    if exception is None:
        raise NotFound("no exception on this day", field="day")
    session.delete(exception)
    session.flush()


def list_exceptions(session: Session, principal: Principal, centre_id: uuid.UUID, start: date | None = None,
                    end: date | None = None) -> list[CentreException]:
    centre = get_centre(session, principal, centre_id)
    stmt = select(CentreException).where(CentreException.district_code == centre.district_code,
                                         CentreException.centre_id == centre.id)
    if start:
        stmt = stmt.where(CentreException.day >= start)
    if end:
        stmt = stmt.where(CentreException.day <= end)
    return list(session.scalars(stmt.order_by(CentreException.day)))


# --- Openings: the days a centre actually opened -----------------------------------------------------------


def record_opening(session: Session, principal: Principal, centre_id: uuid.UUID, day: Any = None, *,
                   today: date | None = None) -> tuple[CentreOpening, bool]:
    """Record that the centre opened on a day (today by default); the same day again changes nothing.
    Returns the opening and whether it was new."""
    centre = get_centre(session, principal, centre_id)
    require_role(principal, CENTRE_STAFF, "record a centre's opening days")
    today = today or local_today()
    day = today if day is None else _check_day(day)
    if day > today:
        raise Invalid("a day that has not come yet", field="day", reason="future_day")
    if day < today - timedelta(days=LATE_RECORD_DAYS):
        raise Invalid(f"an opening is recorded within {LATE_RECORD_DAYS} days", field="day", reason="too_late",
                      days=LATE_RECORD_DAYS)
    if not centre.active:
        raise Conflict("the centre is not in operation", field="active")
    opening = _opening(session, centre, day)
    if opening is not None:
        return opening, False
    opening = CentreOpening(district_code=centre.district_code, centre_id=centre.id, day=day, opened_at=utcnow(),
                            recorded_by=principal.user_id)
    try:
        with session.begin_nested():
            session.add(opening)
            session.flush()
    except IntegrityError:  # the same day recorded at the same moment by someone else: theirs stands
        existing = _opening(session, centre, day)
        if existing is None:
            raise
        return existing, False
    return opening, True


def _opening(session: Session, centre: ServiceCentre, day: date) -> CentreOpening | None:
    return session.scalar(select(CentreOpening).where(
        CentreOpening.district_code == centre.district_code, CentreOpening.centre_id == centre.id,
        CentreOpening.day == day))


def list_openings(session: Session, principal: Principal, centre_id: uuid.UUID, start: date | None = None,
                  end: date | None = None) -> list[CentreOpening]:
    centre = get_centre(session, principal, centre_id)
    stmt = select(CentreOpening).where(CentreOpening.district_code == centre.district_code,
                                       CentreOpening.centre_id == centre.id)
    if start:
        stmt = stmt.where(CentreOpening.day >= start)
    if end:
        stmt = stmt.where(CentreOpening.day <= end)
    return list(session.scalars(stmt.order_by(CentreOpening.day.desc())))


def opened_today(session: Session, centres: Iterable[ServiceCentre], today: date | None = None) -> set[uuid.UUID]:
    centres = list(centres)
    if not centres:
        return set()
    today = today or local_today()
    return set(session.scalars(select(CentreOpening.centre_id).where(
        CentreOpening.district_code.in_({c.district_code for c in centres}),
        CentreOpening.centre_id.in_([c.id for c in centres]), CentreOpening.day == today)))


# --- Subsidies -------------------------------------------------------------------------------------------


def _check_year(value: Any, today: date, field: str = "year") -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not FIRST_YEAR <= value <= today.year + 1:
        raise Invalid(f"must be a year from {FIRST_YEAR} to {today.year + 1}", field=field)
    return value


def grant_subsidy(session: Session, principal: Principal, centre_id: uuid.UUID, *, year: Any, amount_fen: Any,
                  note: Any = None, granted_on: date | None = None) -> CentreSubsidy:
    """A year's operating subsidy (district admin): one per centre and year, in fen."""
    centre = get_centre(session, principal, centre_id)
    require_role(principal, SUBSIDY_GRANTORS, "grant subsidies")
    today = local_today()
    year = _check_year(year, today)
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or not 0 < amount_fen <= MAX_SUBSIDY_FEN:
        raise Invalid("must be a whole number of fen, more than 0 and at most 2,000,000,000", field="amount_fen")
    if session.scalar(select(CentreSubsidy.id).where(
            CentreSubsidy.district_code == centre.district_code, CentreSubsidy.centre_id == centre.id,
            CentreSubsidy.year == year)) is not None:
        raise Conflict(f"the centre already has its subsidy for {year}", field="year")
    subsidy = CentreSubsidy(district_code=centre.district_code, centre_id=centre.id, year=year,
                            amount_fen=amount_fen, granted_on=granted_on or today,
                            note=clean_text(note, "note", 200), granted_by=principal.user_id)
    session.add(subsidy)
    session.flush()
    return subsidy


def list_subsidies(session: Session, principal: Principal, centre_id: uuid.UUID) -> list[CentreSubsidy]:
    centre = get_centre(session, principal, centre_id)
    return list(session.scalars(select(CentreSubsidy).where(
        CentreSubsidy.district_code == centre.district_code, CentreSubsidy.centre_id == centre.id
    ).order_by(CentreSubsidy.year.desc())))


# --- The subsidy report ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportRow:
    centre: ServiceCentre
    subsidy: CentreSubsidy | None
    scheduled_days: int
    days_opened: int
    share: float | None  # None: no scheduled day
    open_as_required: bool


@dataclass
class SubsidyReport:
    year: int
    start: date
    end: date | None  # the last day counted; None when the year has not begun
    required_share: float
    calendar_known: bool  # False: the year's holidays are not in the working calendar (weekends only)
    rows: list[ReportRow] = field(default_factory=list)

    @property
    def subsidised(self) -> list[ReportRow]:
        return [r for r in self.rows if r.subsidy is not None]

    @property
    def total_fen(self) -> int:
        return sum(r.subsidy.amount_fen for r in self.subsidised if r.subsidy)

    @property
    def subsidised_open(self) -> int:
        return sum(r.open_as_required for r in self.subsidised)


def scheduled_days(centre: ServiceCentre, start: date, end: date | None,
                   exceptions: Mapping[date, CentreException], cal: WorkCalendar) -> int:
    """Days from start to end its week has hours and no closing exception, not public holidays unless an
    exception opens them (docs/services.md)."""
    if end is None or end < start:
        return 0
    count, day = 0, start
    while day <= end:
        exception = exceptions.get(day)
        if exception is not None:
            count += not exception.closed and bool(exception.hours)
        elif weekly.has_hours(centre.weekly_hours, day) and not is_public_holiday(cal, day):
            count += 1
        day += timedelta(days=1)
    return count


def subsidy_report(session: Session, principal: Principal, year: Any, *,
                   required_share: float = DEFAULT_REQUIRED_SHARE, today: date | None = None) -> SubsidyReport:
    """Per centre of the caller's scope: the year's subsidy (or none), scheduled days, days opened, their
    share and whether that is open as required; the current year counts up to today."""
    require_role(principal, REPORT_READERS, "read the subsidy report")
    today = today or local_today()
    year = _check_year(year, today)
    start = date(year, 1, 1)
    end = None if year > today.year else min(date(year, 12, 31), today)
    cal = work_calendar.calendar_for(session)
    report = SubsidyReport(year, start, end, required_share, year in cal.known_years)

    subsidies = {s.centre_id: s for s in session.scalars(
        select(CentreSubsidy).join(ServiceCentre, (ServiceCentre.district_code == CentreSubsidy.district_code)
                                   & (ServiceCentre.id == CentreSubsidy.centre_id))
        .where(principal.scope.where(ServiceCentre), CentreSubsidy.year == year))}
    centres = [c for c in list_centres(session, principal) if c.active or c.id in subsidies]
    if not centres:
        return report
    ids, districts = [c.id for c in centres], {c.district_code for c in centres}
    by_centre: dict[uuid.UUID, dict[date, CentreException]] = {c.id: {} for c in centres}
    opened: dict[uuid.UUID, int] = {}
    if end is not None:
        for e in session.scalars(select(CentreException).where(
                CentreException.district_code.in_(districts), CentreException.centre_id.in_(ids),
                CentreException.day.between(start, end))):
            by_centre[e.centre_id][e.day] = e
        opened = dict(session.execute(select(CentreOpening.centre_id, func.count()).where(
            CentreOpening.district_code.in_(districts), CentreOpening.centre_id.in_(ids),
            CentreOpening.day.between(start, end)).group_by(CentreOpening.centre_id)).all())
    for c in centres:
        scheduled = scheduled_days(c, start, end, by_centre[c.id], cal)
        days = opened.get(c.id, 0)
        share = days / scheduled if scheduled else None
        report.rows.append(ReportRow(c, subsidies.get(c.id), scheduled, days, share,
                                     share is not None and share >= required_share))
    return report
