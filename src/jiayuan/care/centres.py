"""Home-care (居家养老) and day-care (日间照料) centres: enrolment, the daily check-in and check-out with meals
served, and the figures per period and centre (people served, attendance days, meals)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, distinct, func, or_, select
from sqlalchemy.orm import Session

from jiayuan.accounts.service import Principal
from jiayuan.care.models import CARE_CENTRE_KINDS, Attendance, CareCentre, Enrolment
from jiayuan.care.policy import require_centre_staff
from jiayuan.kit.clock import local_today
from jiayuan.kit.db import utcnow
from jiayuan.kit.errors import Conflict, Invalid, NotFound
from jiayuan.kit.i18n import TIMEZONE
from jiayuan.kit.scope import Scope
from jiayuan.kit.text import clean_text
from jiayuan.registry.models import Person
from jiayuan.registry.service import people
from jiayuan.units import service as units

MAX_MEALS = 3  # breakfast, lunch, supper
MAX_PERIOD_DAYS = 366
CLOCK_SLACK = timedelta(minutes=5)
_FIELDS = ("name", "kind", "address", "lat", "lon", "capacity", "serves_meals", "active")


def _check(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "name" in data:
        out["name"] = clean_text(data["name"], "name", 100, required=True)
    if "kind" in data:
        if data["kind"] not in CARE_CENTRE_KINDS:
            raise Invalid(f"kind must be one of {', '.join(CARE_CENTRE_KINDS)}", field="kind")
        out["kind"] = data["kind"]
    if "address" in data:
        out["address"] = clean_text(data["address"], "address", 200)
    if "capacity" in data:
        cap = data["capacity"]
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or not 1 <= cap <= 10_000):
            raise Invalid("capacity is a whole number from 1 to 10000", field="capacity")
        out["capacity"] = cap
    for flag in ("serves_meals", "active"):
        if flag in data:
            if not isinstance(data[flag], bool):
                raise Invalid("must be true or false", field=flag)
            out[flag] = data[flag]
    if "lat" in data or "lon" in data:
        lat, lon = data.get("lat"), data.get("lon")
        if (lat is None) != (lon is None):
            raise Invalid("give both latitude and longitude, or neither", field="lat" if lat is None else "lon")
        if lat is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise Invalid("not a position on the earth", field="lat")
        out["lat"], out["lon"] = lat, lon
    return out


def _unit(session: Session, principal: Principal, code: Any) -> str:
    code = units.check_code(code, "unit_code")
    if units.level_of(code) not in ("street", "community"):
        raise Invalid("a centre serves a community or a street", field="unit_code")
    if not principal.scope.covers(code):
        raise NotFound("no such unit in your scope", field="unit_code")
    if not units.unit_exists(session, code):
        raise Invalid("no such unit", field="unit_code")
    return code


def _name_free(session: Session, district: str, unit: str, name: str, centre_id: uuid.UUID | None = None) -> None:
    taken = session.scalar(select(CareCentre.id).where(CareCentre.district_code == district,
                                                       CareCentre.unit_code == unit, CareCentre.name == name))
    if taken is not None and taken != centre_id:
        raise Conflict("a centre of this name already serves this unit", field="name", reason="taken")


def create_centre(session: Session, principal: Principal, data: dict[str, Any]) -> CareCentre:
    require_centre_staff(principal)
    unit = _unit(session, principal, data.get("unit_code"))
    values = _check({"kind": data.get("kind"), "name": data.get("name"), "serves_meals": True, "active": True,
                     **{k: data[k] for k in _FIELDS if k in data}})
    _name_free(session, unit[:6], unit, values["name"])
    centre = CareCentre(district_code=unit[:6], unit_code=unit, **values)
    session.add(centre)
    session.flush()
    return centre


def get_centre(session: Session, principal: Principal, centre_id: uuid.UUID) -> CareCentre:
    require_centre_staff(principal)
    centre = session.scalar(select(CareCentre).where(principal.scope.where(CareCentre), CareCentre.id == centre_id))
    if centre is None:
        raise NotFound("no such centre", field="centre_id")
    return centre


def update_centre(session: Session, principal: Principal, centre_id: uuid.UUID, data: dict[str, Any]) -> CareCentre:
    centre = get_centre(session, principal, centre_id)
    values = _check({k: data[k] for k in _FIELDS if k in data})
    if "name" in values:
        _name_free(session, centre.district_code, centre.unit_code, values["name"], centre.id)
    for key, value in values.items():
        setattr(centre, key, value)
    session.flush()
    return centre


def list_centres(session: Session, principal: Principal, *, unit: str | None = None, kind: str | None = None,
                 active: bool | None = True) -> list[CareCentre]:
    require_centre_staff(principal)
    stmt = select(CareCentre).where(principal.scope.where(CareCentre))
    if unit:
        stmt = stmt.where(Scope((units.check_code(unit, "unit"),)).where(CareCentre))
    if kind:
        if kind not in CARE_CENTRE_KINDS:
            raise Invalid(f"kind must be one of {', '.join(CARE_CENTRE_KINDS)}", field="kind")
        stmt = stmt.where(CareCentre.kind == kind)
    if active is not None:
        stmt = stmt.where(CareCentre.active == active)
    return list(session.scalars(stmt.order_by(CareCentre.unit_code, CareCentre.kind, CareCentre.name)))


# --- Enrolment ------------------------------------------------------------------------------------------


def enrol(session: Session, principal: Principal, centre_id: uuid.UUID, person_id: uuid.UUID,
          enrolled_on: date | None = None) -> Enrolment:
    """Enrol a registry person of the caller's scope; one active enrolment per person and centre (409)."""
    centre = get_centre(session, principal, centre_id)
    if not centre.active:
        raise Conflict("this centre is closed", field="centre_id")
    person = people.get_person(session, principal, person_id)
    if person.district_code != centre.district_code:
        raise Invalid("the person lives in another district", field="person_id")
    if person.anonymized_at is not None:
        raise Conflict("this person has been anonymized", field="person_id", reason="anonymized")
    if _active_enrolment(session, centre, person.id) is not None:
        raise Conflict("this person is already enrolled here", field="person_id", reason="already_enrolled")
    if centre.capacity is not None and len(enrolments_of(session, principal, centre.id)) >= centre.capacity:
        raise Conflict(f"the centre is full ({centre.capacity} places)", field="capacity", reason="full",
                       limit=centre.capacity)
    row = Enrolment(district_code=centre.district_code, centre_id=centre.id, person_id=person.id,
                    enrolled_on=enrolled_on or local_today(), active=True)
    session.add(row)
    session.flush()
    return row


def _active_enrolment(session: Session, centre: CareCentre, person_id: uuid.UUID) -> Enrolment | None:
    return session.scalar(select(Enrolment).where(Enrolment.district_code == centre.district_code,
                                                  Enrolment.centre_id == centre.id, Enrolment.person_id == person_id,
                                                  Enrolment.active))


def leave(session: Session, principal: Principal, centre_id: uuid.UUID, enrolment_id: uuid.UUID,
          left_on: date | None = None) -> Enrolment:
    centre = get_centre(session, principal, centre_id)
    row = session.scalar(select(Enrolment).where(Enrolment.district_code == centre.district_code,
                                                 Enrolment.centre_id == centre.id, Enrolment.id == enrolment_id))
    if row is None:
        raise NotFound("no such enrolment", field="enrolment_id")
    if not row.active:
        raise Conflict("this person has already left", field="enrolment_id")
    left_on = left_on or local_today()
    if left_on < row.enrolled_on:
        raise Invalid("the leaving day is before the enrolment", field="left_on")
    row.active, row.left_on = False, left_on
    session.flush()
    return row


@dataclass
class EnrolmentRow:
    enrolment: Enrolment
    name: str


def enrolments_of(session: Session, principal: Principal, centre_id: uuid.UUID,
                  active: bool | None = True) -> list[EnrolmentRow]:
    centre = get_centre(session, principal, centre_id)
    stmt = (select(Enrolment, Person.name)
            .join(Person, and_(Person.district_code == Enrolment.district_code, Person.id == Enrolment.person_id))
            .where(Enrolment.district_code == centre.district_code, Enrolment.centre_id == centre.id))
    if active is not None:
        stmt = stmt.where(Enrolment.active == active)
    rows = session.execute(stmt.order_by(Person.name_initials, Person.name, Enrolment.id))
    return [EnrolmentRow(e, name) for e, name in rows]


# --- Attendance -----------------------------------------------------------------------------------------


def _moment(value: datetime | None, field: str) -> datetime:
    now = utcnow()
    if value is None:
        return now
    if value.tzinfo is None:
        value = value.replace(tzinfo=TIMEZONE)
    if value > now + CLOCK_SLACK:
        raise Invalid("cannot be in the future", field=field)
    return value


def _meals(centre: CareCentre, meals: Any) -> int:
    if isinstance(meals, bool) or not isinstance(meals, int) or not 0 <= meals <= MAX_MEALS:
        raise Invalid(f"meals is a whole number from 0 to {MAX_MEALS}", field="meals")
    if meals and not centre.serves_meals:
        raise Invalid("this centre serves no meals", field="meals")
    return meals


def _attendance(session: Session, centre: CareCentre, person_id: uuid.UUID, day: date) -> Attendance | None:
    return session.scalar(select(Attendance).where(
        Attendance.district_code == centre.district_code, Attendance.centre_id == centre.id,
        Attendance.person_id == person_id, Attendance.day == day))


def check_in(session: Session, principal: Principal, centre_id: uuid.UUID, person_id: uuid.UUID, *,
             at: datetime | None = None, meals: int = 0) -> Attendance:
    """The person arrives: one attendance row per person and day (a second check-in that day is 409); only
    people enrolled at the centre."""
    centre = get_centre(session, principal, centre_id)
    at = _moment(at, "at")
    day = at.astimezone(TIMEZONE).date()
    enrolment = _active_enrolment(session, centre, person_id)
    if enrolment is None or enrolment.enrolled_on > day:
        raise Conflict("this person is not enrolled at this centre", field="person_id", reason="not_enrolled")
    if _attendance(session, centre, person_id, day) is not None:
        raise Conflict("this person has already checked in today", field="person_id", reason="already_checked_in")
    row = Attendance(district_code=centre.district_code, centre_id=centre.id, person_id=person_id, day=day,
                     checked_in_at=at, meals=_meals(centre, meals), recorded_by=principal.user_id)
    session.add(row)
    session.flush()
    return row


def check_out(session: Session, principal: Principal, centre_id: uuid.UUID, person_id: uuid.UUID, *,
              day: date | None = None, at: datetime | None = None, meals: int | None = None) -> Attendance:
    """The person leaves, after their check-in; the meals served that day may be recorded with it."""
    centre = get_centre(session, principal, centre_id)
    at = _moment(at, "at")
    row = _attendance(session, centre, person_id, day or at.astimezone(TIMEZONE).date())
    if row is None:
        raise Conflict("this person has not checked in that day", field="person_id", reason="not_checked_in")
    if row.checked_out_at is not None:
        raise Conflict("this person has already checked out", field="person_id", reason="already_checked_out")
    if at <= row.checked_in_at:
        raise Invalid("the check-out is before the check-in", field="at")
    row.checked_out_at = at
    if meals is not None:
        row.meals = _meals(centre, meals)
    session.flush()
    return row


def record_meals(session: Session, principal: Principal, centre_id: uuid.UUID, person_id: uuid.UUID, day: date,
                 meals: int) -> Attendance:
    """Set the meals served to a person on a day they attended."""
    centre = get_centre(session, principal, centre_id)
    row = _attendance(session, centre, person_id, day)
    if row is None:
        raise Conflict("this person has not checked in that day", field="person_id", reason="not_checked_in")
    row.meals = _meals(centre, meals)
    session.flush()
    return row


@dataclass
class SheetRow:
    person_id: uuid.UUID
    name: str
    enrolment_id: uuid.UUID | None
    attendance: Attendance | None


def attendance_sheet(session: Session, principal: Principal, centre_id: uuid.UUID, day: date) -> list[SheetRow]:
    """The day's sheet: everyone enrolled on that day, with their attendance row if they came (and anyone who
    came and has left the centre since)."""
    centre = get_centre(session, principal, centre_id)
    enrolled = session.execute(
        select(Enrolment.id, Enrolment.person_id, Person.name)
        .join(Person, and_(Person.district_code == Enrolment.district_code, Person.id == Enrolment.person_id))
        .where(Enrolment.district_code == centre.district_code, Enrolment.centre_id == centre.id,
               Enrolment.enrolled_on <= day, or_(Enrolment.left_on.is_(None), Enrolment.left_on >= day)))
    rows: dict[uuid.UUID, SheetRow] = {}
    for enrolment_id, person_id, name in enrolled:
        rows.setdefault(person_id, SheetRow(person_id, name, enrolment_id, None))
    came = session.execute(
        select(Attendance, Person.name)
        .join(Person, and_(Person.district_code == Attendance.district_code, Person.id == Attendance.person_id))
        .where(Attendance.district_code == centre.district_code, Attendance.centre_id == centre.id,
               Attendance.day == day))
    for attendance, name in came:
        row = rows.setdefault(attendance.person_id, SheetRow(attendance.person_id, name, None, None))
        row.attendance = attendance
    return sorted(rows.values(), key=lambda r: r.name)


# --- Figures ----------------------------------------------------------------------------------------------


@dataclass
class CentreFigures:
    centre: CareCentre | None  # None: the total of all centres
    people_served: int  # distinct attendees
    attendance_days: int
    meals: int


def check_period(start: date, end: date) -> None:
    if end < start:
        raise Invalid("the end is before the start", field="end")
    if (end - start).days >= MAX_PERIOD_DAYS:
        raise Invalid(f"a period of at most {MAX_PERIOD_DAYS} days", field="end")


def figures(session: Session, principal: Principal, start: date, end: date, *, unit: str | None = None,
            centre_id: uuid.UUID | None = None) -> list[CentreFigures]:
    """Per centre of the caller's scope for the days start..end (both included): people served (distinct
    attendees), attendance days and meals; the last row is the total (people counted once across centres)."""
    check_period(start, end)
    centres = list_centres(session, principal, unit=unit, active=None)
    if centre_id is not None:
        centres = [c for c in centres if c.id == centre_id]
        if not centres:
            raise NotFound("no such centre", field="centre_id")
    if not centres:
        return [CentreFigures(None, 0, 0, 0)]
    in_period = and_(Attendance.district_code.in_({c.district_code for c in centres}),
                     Attendance.centre_id.in_([c.id for c in centres]), Attendance.day >= start,
                     Attendance.day <= end)
    per = {cid: (served, days, meals) for cid, served, days, meals in session.execute(
        select(Attendance.centre_id, func.count(distinct(Attendance.person_id)), func.count(),
               func.coalesce(func.sum(Attendance.meals), 0)).where(in_period).group_by(Attendance.centre_id))}
    served, days, meals = session.execute(
        select(func.count(distinct(Attendance.person_id)), func.count(),
               func.coalesce(func.sum(Attendance.meals), 0)).where(in_period)).one()
    out = [CentreFigures(c, *(int(x) for x in per.get(c.id, (0, 0, 0)))) for c in centres]
    out.append(CentreFigures(None, int(served), int(days), int(meals)))
    return out
