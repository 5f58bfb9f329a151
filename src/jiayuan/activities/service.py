"""Use cases of community activities: events with capacity and a waitlist, registration by residents or by staff
for registry people, QR check-in and the attendance list, closing attendance (which credits the volunteers who
staffed a volunteer-run activity) and series with their figures (docs/care.md).

Every change to an activity's registrations first locks the activity's row (SELECT … FOR UPDATE; SQLite holds the
write lock from BEGIN IMMEDIATE) and bumps its version, so concurrent registrations never exceed the capacity.
"""

from __future__ import annotations

import secrets
import string
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from jiayuan.accounts import service as accounts
from jiayuan.accounts.roles import Role
from jiayuan.accounts.service import Principal
from jiayuan.activities import policy
from jiayuan.activities.erasure import erase_person as erase_person  # registered by jiayuan/hooks.py
from jiayuan.activities.models import ACTIVITY_KINDS, Activity, Registration, Series
from jiayuan.kit.db import utcnow
from jiayuan.kit.errors import Conflict, Forbidden, Invalid, NotFound
from jiayuan.kit.figures import Figure, Within
from jiayuan.kit.scope import Scope
from jiayuan.kit.text import clean_text
from jiayuan.kit.waitlist import Waitlist
from jiayuan.notify.service import queue_message
from jiayuan.registry.service import organizations, people
from jiayuan.units import service as units
from jiayuan.volunteers import opportunities as opps
from jiayuan.volunteers import service as volunteers
from jiayuan.volunteers.models import HoursEntry

HOLDS_PLACE = ("registered", "attended")
CHECKIN_OPENS = timedelta(minutes=30)
TITLE_MAX = 120
ORGANIZER_MAX = 120
PLACE_MAX = 200
DESCRIPTION_MAX = 4000
NAME_MAX = 60
MAX_CAPACITY = 100_000
MAX_LENGTH = timedelta(days=31)
TOKEN_CHARS = frozenset(string.ascii_letters + string.digits + "-_")  # secrets.token_urlsafe
PROMOTED_TEXT = "【家园】您候补的活动“{title}”已有名额，您已转为正式报名，请按时参加。"
CANCELLED_TEXT = "【家园】您报名的活动“{title}”已取消。"


def _now(now: datetime | None) -> datetime:
    return now or utcnow()


# --- Reading -------------------------------------------------------------------------------------


def get_activity(session: Session, principal: Principal | None, activity_id: uuid.UUID) -> Activity:
    """A public activity for anyone; another only for staff who see it or someone registered for it."""
    if not isinstance(activity_id, uuid.UUID):
        raise NotFound("no such activity", field="activity_id")
    activity = session.scalar(select(Activity).where(Activity.id == activity_id))
    if activity is None:
        raise NotFound("no such activity", field="activity_id")
    if activity.public:
        return activity
    if principal is not None:
        if session.scalar(select(Activity.id).where(Activity.id == activity.id, policy.staff_visible(principal))):
            return activity
        if _own_registration(session, principal, activity) is not None:
            return activity
    raise NotFound("no such activity", field="activity_id")


def get_managed(session: Session, principal: Principal, activity_id: uuid.UUID) -> Activity:
    """An activity the caller organizes: staff whose scope covers its unit."""
    activity = get_activity(session, principal, activity_id)
    if not policy.is_organizer(principal, activity):
        if policy.may_organize(principal) and session.scalar(select(Activity.id).where(
                Activity.id == activity.id, policy.staff_visible(principal))):
            raise Forbidden("only staff of the unit holding the activity may do this", field="role")
        raise NotFound("no such activity", field="activity_id")
    return activity


def public_activities(session: Session, *, district: str | None = None, unit: str | None = None,
                      series_id: uuid.UUID | None = None, upcoming: bool = True, kind: str | None = None,
                      limit: int = 100, offset: int = 0, now: datetime | None = None) -> list[Activity]:
    """Public activities for anyone, no sign-in: upcoming ones soonest first, or past ones latest first."""
    stmt = select(Activity).where(Activity.public.is_(True), Activity.cancelled_at.is_(None))
    if district:
        stmt = stmt.where(Activity.district_code == check_district(district))
    if unit:
        code = units.check_code(unit, "unit")
        stmt = stmt.where(Scope((code,)).where(Activity))
    if series_id:
        stmt = stmt.where(Activity.series_id == series_id)
    if kind:
        stmt = stmt.where(Activity.kind == check_kind(kind))
    moment = _now(now)
    stmt = stmt.where(Activity.ends_at >= moment) if upcoming else stmt.where(Activity.ends_at < moment)
    order = (Activity.starts_at,) if upcoming else (Activity.starts_at.desc(),)
    return list(session.scalars(stmt.order_by(*order, Activity.id).limit(limit).offset(offset)))


def staff_activities(session: Session, principal: Principal, *, upcoming: bool | None = None,
                     series_id: uuid.UUID | None = None, limit: int = 200, offset: int = 0,
                     now: datetime | None = None) -> list[Activity]:
    policy.require_staff(principal, "only staff list every activity")
    stmt = select(Activity).where(policy.staff_visible(principal))
    if series_id:
        stmt = stmt.where(Activity.series_id == series_id)
    if upcoming is not None:
        moment = _now(now)
        stmt = stmt.where(Activity.ends_at >= moment) if upcoming else stmt.where(Activity.ends_at < moment)
    order = Activity.starts_at if upcoming else Activity.starts_at.desc()
    return list(session.scalars(stmt.order_by(order, Activity.id).limit(limit).offset(offset)))


@dataclass
class Counts:
    registered: int = 0  # holding a place: registered or attended
    waitlisted: int = 0
    attended: int = 0


def counts_of(session: Session, activities: list[Activity]) -> dict[uuid.UUID, Counts]:
    ids = [a.id for a in activities]
    out = {i: Counts() for i in ids}
    if not ids:
        return out
    rows = session.execute(select(Registration.activity_id, Registration.status, func.count())
                           .where(Registration.district_code.in_({a.district_code for a in activities}),
                                  Registration.activity_id.in_(ids), Registration.status != "cancelled")
                           .group_by(Registration.activity_id, Registration.status))
    for aid, status, n in rows:
        if status == "waitlisted":
            out[aid].waitlisted += n
        else:
            out[aid].registered += n
            if status == "attended":
                out[aid].attended += n
    return out


def registrations_of(session: Session, activity: Activity) -> list[Registration]:
    """The list: places first (in order of registration), then the waitlist in its order, then cancellations."""
    rows = session.scalars(select(Registration).where(Registration.district_code == activity.district_code,
                                                      Registration.activity_id == activity.id)
                           .order_by(Registration.registered_at, Registration.id))
    rank = {"waitlisted": 1, "cancelled": 2}
    return sorted(rows, key=lambda r: rank.get(r.status, 0))


def _own_registration(session: Session, principal: Principal, activity: Activity) -> Registration | None:
    return session.scalar(select(Registration).where(Registration.district_code == activity.district_code,
                                                     Registration.activity_id == activity.id,
                                                     Registration.user_id == principal.user_id))


def own_registration(session: Session, principal: Principal | None, activity: Activity) -> Registration | None:
    return None if principal is None else _own_registration(session, principal, activity)


def my_registrations(session: Session, principal: Principal, *, limit: int = 100
                     ) -> list[tuple[Registration, Activity]]:
    rows = session.execute(select(Registration, Activity).join(Activity, and_(
        Activity.district_code == Registration.district_code, Activity.id == Registration.activity_id))
        .where(Registration.user_id == principal.user_id, Registration.status != "cancelled")
        .order_by(Activity.starts_at.desc()).limit(limit))
    return [(r, a) for r, a in rows]


# --- Keeping activities --------------------------------------------------------------------------


def _times(starts_at: Any, ends_at: Any) -> tuple[datetime, datetime]:
    return opps.check_times(starts_at, ends_at, MAX_LENGTH)


def check_kind(kind: Any) -> str:
    if kind not in ACTIVITY_KINDS:
        raise Invalid(f"must be one of {', '.join(ACTIVITY_KINDS)}", field="kind")
    return kind


def check_district(code: Any) -> str:
    if not isinstance(code, str) or not code.isascii() or not code.isdigit() or len(code) != 6:
        raise Invalid("a district code has 6 digits", field="district")
    return code


def _capacity(value: Any) -> int | None:
    if value is None:
        return None  # no limit
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid("a whole number, at least 1 (leave it out for no limit)", field="capacity",
                      reason="not_whole_number")
    if value < 1:
        raise Invalid("at least 1 (leave it out for no limit)", field="capacity")
    if value > MAX_CAPACITY:
        raise Invalid(f"at most {MAX_CAPACITY}", field="capacity")
    return value


def _bool(value: Any, name: str, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise Invalid("must be true or false", field=name)
    return value


def _unit(session: Session, principal: Principal, code: Any) -> str:
    code = units.check_code(code, "unit_code")
    if not principal.scope.covers(code):
        raise NotFound(f"no unit {code} in your scope", field="unit_code")
    if not units.unit_exists(session, code):
        raise Invalid(f"unknown unit {code}", field="unit_code")
    return code


def _series_for(session: Session, principal: Principal, series_id: Any, district: str) -> uuid.UUID | None:
    if series_id is None:
        return None
    if not isinstance(series_id, uuid.UUID):
        raise Invalid("must be an id", field="series_id")
    series = session.scalar(select(Series).where(Series.district_code == district, Series.id == series_id,
                                                 or_(policy.staff_series(principal))))
    if series is None:
        raise Invalid("no such series in your scope", field="series_id")
    return series.id


def create_activity(session: Session, principal: Principal, data: dict[str, Any]) -> Activity:
    """An activity of a unit in the caller's scope. A volunteer-run one gets an opportunity with
    `volunteer_slots` slots at the same time and place, which volunteers sign up to."""
    policy.require_organizer_role(principal)
    unit = _unit(session, principal, data.get("unit_code") or principal.scope_code)
    district = unit[:6]
    kind = check_kind(data.get("kind") or "other")
    starts_at, ends_at = _times(data.get("starts_at"), data.get("ends_at"))
    org_id = data.get("organization_id")
    if org_id is not None and (not isinstance(org_id, uuid.UUID)
                               or organizations.in_district(session, district, org_id) is None):
        raise Invalid("no such organization in the district", field="organization_id")
    volunteer_run = _bool(data.get("volunteer_run"), "volunteer_run", False)
    if volunteer_run and data.get("volunteer_slots") is None:
        raise Invalid("how many volunteers are wanted (at least 1)", field="volunteer_slots", reason="no_slots")
    activity = Activity(
        district_code=district, unit_code=unit, series_id=_series_for(session, principal, data.get("series_id"),
                                                                      district),
        kind=kind, title=clean_text(data.get("title"), "title", TITLE_MAX, required=True),
        description=clean_text(data.get("description"), "description", DESCRIPTION_MAX),
        organizer=clean_text(data.get("organizer"), "organizer", ORGANIZER_MAX, required=True),
        organization_id=org_id, place=clean_text(data.get("place"), "place", PLACE_MAX, required=True),
        starts_at=starts_at, ends_at=ends_at, capacity=_capacity(data.get("capacity")),
        public=_bool(data.get("public"), "public", True), volunteer_run=volunteer_run,
        checkin_token=secrets.token_urlsafe(24))
    session.add(activity)
    session.flush()
    if volunteer_run:
        opps.create_opportunity(session, principal, {
            "unit_code": unit, "title": activity.title, "description": activity.description, "place": activity.place,
            "team_code": data.get("volunteer_team"), "starts_at": starts_at, "ends_at": ends_at,
            "slots": opps.check_slots(data.get("volunteer_slots"), "volunteer_slots"), "activity_id": activity.id})
    accounts.audit_for(session, principal, "activity_created", target=str(activity.id))
    return activity


# The places of an activity held by its registrations, with the waitlist (kit/waitlist.py: row lock, count,
# promote); no capacity is no limit.
PLACES: Waitlist[Activity, Registration] = Waitlist(
    parent=Activity, child=Registration, parent_key="activity_id", queued_at="registered_at", holds=HOLDS_PLACE,
    seated="registered", capacity=lambda a: a.capacity)


def _lock(session: Session, activity: Activity) -> Activity:
    return PLACES.lock(session, activity)


def update_activity(session: Session, principal: Principal, activity_id: uuid.UUID,
                    data: dict[str, Any]) -> Activity:
    """Change fields (a PATCH). A larger capacity moves the waitlist up; a smaller one never drops a place."""
    activity = _lock(session, get_managed(session, principal, activity_id))
    version = data.get("version")
    if version is not None and version != activity.version:
        raise Conflict("the activity was changed by someone else; reload it", field="version",
                       details={"version": activity.version})
    if activity.cancelled_at is not None:
        raise Conflict("the activity is cancelled", field="cancelled_at", reason="cancelled")
    for key, limit in (("title", TITLE_MAX), ("organizer", ORGANIZER_MAX), ("place", PLACE_MAX),
                       ("description", DESCRIPTION_MAX)):
        if key in data:
            setattr(activity, key, clean_text(data[key], key, limit, required=key != "description"))
    if "kind" in data:
        activity.kind = check_kind(data["kind"])
    if "starts_at" in data or "ends_at" in data:
        activity.starts_at, activity.ends_at = _times(data.get("starts_at", activity.starts_at),
                                                      data.get("ends_at", activity.ends_at))
    if "capacity" in data:
        activity.capacity = _capacity(data["capacity"])
    if "public" in data:
        activity.public = _bool(data["public"], "public", activity.public)
    if "series_id" in data:
        activity.series_id = _series_for(session, principal, data["series_id"], activity.district_code)
    activity.updated_at = utcnow()
    session.flush()
    opportunity = opps.for_activity(session, activity.district_code, activity.id)
    if opportunity is not None and ("starts_at" in data or "ends_at" in data or "title" in data):
        opps.update_opportunity(session, principal, opportunity.id, {
            "starts_at": activity.starts_at, "ends_at": activity.ends_at, "title": activity.title})
    _fill_from_waitlist(session, activity)
    return activity


def cancel_activity(session: Session, principal: Principal, activity_id: uuid.UUID) -> Activity:
    activity = _lock(session, get_managed(session, principal, activity_id))
    if activity.cancelled_at is not None:
        return activity
    activity.cancelled_at = utcnow()
    session.flush()
    for reg in registrations_of(session, activity):
        if reg.status != "cancelled" and reg.user_id is not None:
            queue_message(session, district_code=activity.district_code, channel="inapp", recipient=str(reg.user_id),
                          user_id=reg.user_id, body=CANCELLED_TEXT.format(title=activity.title),
                          ref=f"activity:{activity.id}")
    opportunity = opps.for_activity(session, activity.district_code, activity.id)
    if opportunity is not None:
        opps.cancel_opportunity(session, principal, opportunity.id)
    accounts.audit_for(session, principal, "activity_cancelled", target=str(activity.id))
    return activity


# --- Registration --------------------------------------------------------------------------------


def register(session: Session, principal: Principal, activity_id: uuid.UUID, person_id: uuid.UUID | None = None,
             *, now: datetime | None = None) -> Registration:
    """Register the caller (their own account), or — staff — a registry person in their scope. A place while
    there is room, else the end of the waitlist; a second registration is 409."""
    activity = get_activity(session, principal, activity_id)
    if person_id is None:
        if not activity.public and not policy.is_organizer(principal, activity):
            raise NotFound("no such activity", field="activity_id")
        who = {"user_id": principal.user_id, "name": principal.full_name[:NAME_MAX]}
        mine = Registration.user_id == principal.user_id
    else:
        policy.require_staff(principal, "only staff register someone else", "person_id")
        if not isinstance(person_id, uuid.UUID):
            raise Invalid("must be an id", field="person_id")
        try:
            person = people.get_person(session, principal, person_id)
        except NotFound:
            raise NotFound("no such person in your scope", field="person_id") from None
        if person.district_code != activity.district_code:
            raise Invalid("the person lives in another district", field="person_id")
        who = {"person_id": person.id, "name": person.name[:NAME_MAX]}
        mine = Registration.person_id == person.id
    activity = _lock(session, activity)
    moment = _now(now)
    if activity.cancelled_at is not None:
        raise Conflict("the activity is cancelled", field="activity_id", reason="cancelled")
    if activity.starts_at <= moment:
        raise Conflict("registration closed when the activity began", field="activity_id", reason="closed")
    reg = session.scalar(select(Registration).where(Registration.district_code == activity.district_code,
                                                    Registration.activity_id == activity.id, mine))
    if reg is not None and reg.status != "cancelled":
        raise Conflict("already registered", field="activity_id", reason="already",
                       details={"registration_id": str(reg.id), "status": reg.status})
    status = PLACES.place(session, activity)
    if reg is None:
        reg = Registration(district_code=activity.district_code, activity_id=activity.id, **who)
        session.add(reg)
    reg.status, reg.registered_at, reg.checked_in_at = status, moment, None
    reg.registered_by = principal.user_id if person_id is not None else None
    activity.updated_at = moment  # bumps the version: the list changed
    session.flush()
    return reg


def get_registration(session: Session, principal: Principal, registration_id: uuid.UUID
                     ) -> tuple[Registration, Activity]:
    """A registration the caller may act on: their own, or one of an activity they organize."""
    reg = session.scalar(select(Registration).where(Registration.id == registration_id)) if isinstance(
        registration_id, uuid.UUID) else None
    if reg is None:
        raise NotFound("no such registration", field="registration_id")
    activity = session.get(Activity, (reg.district_code, reg.activity_id))
    assert activity is not None
    if reg.user_id == principal.user_id or policy.is_organizer(principal, activity):
        return reg, activity
    if reg.person_id is not None and principal.role == Role.grid_worker:
        try:
            people.get_person(session, principal, reg.person_id)
            return reg, activity
        except NotFound:
            pass
    raise NotFound("no such registration", field="registration_id")


def cancel_registration(session: Session, principal: Principal, registration_id: uuid.UUID) -> Registration:
    """Give up a place or a waitlist place; the first of the waitlist moves up (and is told)."""
    reg, activity = get_registration(session, principal, registration_id)
    activity = _lock(session, activity)
    session.refresh(reg)
    if reg.status == "cancelled":
        return reg
    if reg.status == "attended":
        raise Conflict("already checked in: attendance cannot be cancelled", field="status", reason="attended",
                       details={"status": reg.status})
    reg.status = "cancelled"
    activity.updated_at = utcnow()
    session.flush()
    _fill_from_waitlist(session, activity)
    return reg


def _fill_from_waitlist(session: Session, activity: Activity) -> list[Registration]:
    if activity.cancelled_at is not None or activity.ends_at <= utcnow():
        return []

    def tell(reg: Registration) -> None:
        if reg.user_id is not None:
            queue_message(session, district_code=activity.district_code, channel="inapp", recipient=str(reg.user_id),
                          user_id=reg.user_id, body=PROMOTED_TEXT.format(title=activity.title),
                          ref=f"activity:{activity.id}")

    return PLACES.promote(session, activity, tell)


# --- Check-in and attendance ---------------------------------------------------------------------


def by_token(session: Session, token: Any) -> Activity:
    if not isinstance(token, str) or not 10 <= len(token) <= 40 or not TOKEN_CHARS.issuperset(token):
        raise NotFound("no activity has this check-in code", field="token", reason="no_token")
    activity = session.scalar(select(Activity).where(Activity.checkin_token == token))
    if activity is None:
        raise NotFound("no activity has this check-in code", field="token", reason="no_token")
    return activity


def check_in_by_token(session: Session, principal: Principal, token: str, *, now: datetime | None = None
                      ) -> tuple[Registration, Activity, bool]:
    """The scan of the QR code at the door, with one's own account: checks the caller in (from 30 minutes before
    the start to the end). Someone not registered comes in while there is room. Returns (registration, activity,
    whether this scan checked them in — a repeated scan changes nothing)."""
    activity = _lock(session, by_token(session, token))
    moment = _now(now)
    if activity.cancelled_at is not None:
        raise Conflict("the activity is cancelled", field="token", reason="cancelled")
    if moment < activity.starts_at - CHECKIN_OPENS:
        raise Conflict("check-in opens 30 minutes before the start", field="token", reason="too_early",
                       details={"opens_at": (activity.starts_at - CHECKIN_OPENS).isoformat()})
    if moment > activity.ends_at:
        raise Conflict("the activity is over", field="token", reason="over")
    reg = _own_registration(session, principal, activity)
    if reg is not None and reg.status == "attended":
        return reg, activity, False
    if reg is not None and reg.status == "waitlisted":
        raise Conflict("you are on the waitlist: there is no place for you yet", field="status", reason="waitlisted",
                       details={"status": reg.status})
    if reg is None or reg.status == "cancelled":
        if not activity.public:
            raise Conflict("you are not on the list of this activity", field="token", reason="not_listed")
        if not PLACES.has_room(session, activity):
            raise Conflict("the activity is full", field="capacity", reason="full")
        if reg is None:
            reg = Registration(district_code=activity.district_code, activity_id=activity.id,
                               user_id=principal.user_id, name=principal.full_name[:NAME_MAX])
            session.add(reg)
        reg.registered_at = moment
    reg.status, reg.checked_in_at = "attended", moment
    activity.updated_at = moment
    session.flush()
    return reg, activity, True


def tick(session: Session, principal: Principal, registration_id: uuid.UUID, attended: bool, *,
         now: datetime | None = None) -> Registration:
    """Staff tick the list: attended, or (a mistake) back to registered. The waitlist cannot be ticked."""
    reg, activity = get_registration(session, principal, registration_id)
    if not policy.is_organizer(principal, activity):
        raise Forbidden("only the activity's staff tick the attendance list", field="role")
    if not isinstance(attended, bool):
        raise Invalid("must be true or false", field="attended")
    activity = _lock(session, activity)
    session.refresh(reg)
    if activity.cancelled_at is not None:
        raise Conflict("the activity is cancelled", field="activity_id", reason="cancelled")
    if attended and reg.status == "registered":
        moment = _now(now)
        if moment < activity.starts_at - CHECKIN_OPENS:
            raise Conflict("check-in opens 30 minutes before the start", field="attended", reason="too_early")
        reg.status, reg.checked_in_at = "attended", moment
    elif not attended and reg.status == "attended":
        reg.status, reg.checked_in_at = "registered", None
    elif reg.status in ("waitlisted", "cancelled"):
        raise Conflict(f"cannot tick a registration that is {reg.status}", field="status",
                       details={"status": reg.status})
    activity.updated_at = utcnow()
    session.flush()
    return reg


@dataclass
class Closed:
    attended: int
    credited: list[HoursEntry] = field(default_factory=list)  # entries made by this close
    already: int = 0  # volunteers credited by an earlier close


def length_minutes(activity: Activity) -> int:
    return int((activity.ends_at - activity.starts_at).total_seconds() // 60)


def close_attendance(session: Session, principal: Principal, activity_id: uuid.UUID, *,
                     now: datetime | None = None) -> Closed:
    """After the end: credit each volunteer who staffed a volunteer-run activity (signed up to its opportunity and
    checked in) with the activity's length, source "activity" — once: closing again credits only volunteers not
    credited before."""
    activity = _lock(session, get_managed(session, principal, activity_id))
    if activity.cancelled_at is not None:
        raise Conflict("the activity is cancelled", field="activity_id", reason="cancelled")
    if _now(now) < activity.ends_at:
        raise Conflict("attendance closes after the activity ends", field="ends_at", reason="not_ended",
                       details={"ends_at": activity.ends_at.isoformat()})
    result = Closed(attended=counts_of(session, [activity])[activity.id].attended)
    opportunity = opps.for_activity(session, activity.district_code, activity.id)
    if not activity.volunteer_run or opportunity is None:
        return result
    minutes = length_minutes(activity)
    for signup in opps.staffed(session, opportunity):
        before = session.scalar(select(HoursEntry.id).where(
            HoursEntry.district_code == activity.district_code, HoursEntry.volunteer_id == signup.volunteer_id,
            HoursEntry.source_type == "activity", HoursEntry.source_id == activity.id))
        if before is not None:
            result.already += 1
            continue
        result.credited.append(volunteers.credit_hours(
            session, signup.volunteer_id, activity.district_code, minutes, "activity", "activity", activity.id,
            note=activity.title[:200], actor=principal))
    accounts.audit_for(session, principal, "activity_attendance_closed", target=str(activity.id),
                       detail={"credited": len(result.credited)})
    return result


def credited_for(session: Session, activity: Activity) -> list[HoursEntry]:
    return list(session.scalars(select(HoursEntry).where(
        HoursEntry.district_code == activity.district_code, HoursEntry.source_type == "activity",
        HoursEntry.source_id == activity.id).order_by(HoursEntry.at)))


# --- Series --------------------------------------------------------------------------------------


def create_series(session: Session, principal: Principal, data: dict[str, Any]) -> Series:
    policy.require_organizer_role(principal)
    unit = _unit(session, principal, data.get("unit_code") or principal.scope_code)
    name = clean_text(data.get("name"), "name", 120, required=True)
    starts_on, ends_on = data.get("starts_on"), data.get("ends_on")
    for key, value in (("starts_on", starts_on), ("ends_on", ends_on)):
        if value is not None and not isinstance(value, date):
            raise Invalid("must be a date", field=key)
        if value is not None and not opps.FIRST_YEAR <= value.year <= opps.LAST_YEAR:
            raise Invalid(f"a year from {opps.FIRST_YEAR} to {opps.LAST_YEAR}", field=key)
    if starts_on and ends_on and ends_on < starts_on:
        raise Invalid("must not be before the first day", field="ends_on")
    if session.scalar(select(Series.id).where(Series.district_code == unit[:6], Series.unit_code == unit,
                                              Series.name == name)) is not None:
        raise Conflict("a series of this name already exists here", field="name", reason="exists")
    series = Series(district_code=unit[:6], unit_code=unit, name=name,
                    description=clean_text(data.get("description"), "description", DESCRIPTION_MAX),
                    starts_on=starts_on, ends_on=ends_on)
    session.add(series)
    session.flush()
    return series


def get_series(session: Session, series_id: uuid.UUID) -> Series:
    """A series is public: its name and figures are what a festival announces."""
    series = session.scalar(select(Series).where(Series.id == series_id)) if isinstance(
        series_id, uuid.UUID) else None
    if series is None:
        raise NotFound("no such series", field="series_id")
    return series


def list_series(session: Session, *, district: str | None = None, limit: int = 200) -> list[Series]:
    stmt = select(Series)
    if district:
        stmt = stmt.where(Series.district_code == check_district(district))
    return list(session.scalars(stmt.order_by(Series.starts_on.desc(), Series.name).limit(limit)))


@dataclass
class SeriesFigures:
    shows: int  # activities of the series that are not cancelled
    held: int  # of which have begun
    participants: int  # people checked in, over every show
    registered: int  # places taken, over every show


def series_figures(session: Session, series: Series, *, now: datetime | None = None) -> SeriesFigures:
    moment = _now(now)
    shows = select(Activity.id).where(Activity.district_code == series.district_code,
                                      Activity.series_id == series.id, Activity.cancelled_at.is_(None))
    n_shows = session.scalar(select(func.count()).select_from(shows.subquery())) or 0
    held = session.scalar(select(func.count()).select_from(
        shows.where(Activity.starts_at <= moment).subquery())) or 0
    counted = dict(session.execute(select(Registration.status, func.count()).where(
        Registration.district_code == series.district_code, Registration.activity_id.in_(shows),
        Registration.status.in_(HOLDS_PLACE)).group_by(Registration.status)).all())
    attended = int(counted.get("attended", 0))
    return SeriesFigures(shows=n_shows, held=held, participants=attended,
                         registered=attended + int(counted.get("registered", 0)))


# --- Figures for stats ---------------------------------------------------------------------------


def figures(session: Session, within: Within, since: datetime, until: datetime) -> list[Figure]:
    """Activities held (started in [since, until), not cancelled) and their participants (checked in), by unit
    and kind. `within` selects the unit (kit/figures.py); the caller ends `until` at now, so that an activity
    still to come is not counted as held."""
    attended = or_(Registration.checked_in_at.is_not(None), Registration.status == "attended")
    rows = session.execute(
        select(Activity.unit_code, Activity.kind, func.count(Activity.id.distinct()),
               func.count(Registration.id).filter(attended))
        .outerjoin(Registration, and_(Registration.district_code == Activity.district_code,
                                      Registration.activity_id == Activity.id))
        .where(within(Activity.unit_code, Activity.district_code), Activity.cancelled_at.is_(None),
               Activity.starts_at >= since, Activity.starts_at < until)
        .group_by(Activity.unit_code, Activity.kind))
    out: list[Figure] = []
    for unit, kind, held, participants in rows:
        out += [Figure(unit, "activities.held", held), Figure(unit, "activities.participants", participants),
                Figure(unit, f"activities.kind.{kind}.held", held),
                Figure(unit, f"activities.kind.{kind}.participants", participants)]
    return out
