"""Opportunities (what volunteers are wanted for) and sign-ups: a slot while one is free, else the waitlist; a
cancellation moves the first of the waitlist up; check-in from 30 minutes before the start; check-out credits the
minutes once (docs/care.md).

Every change to an opportunity's sign-ups first locks the opportunity's row (SELECT … FOR UPDATE; on SQLite the
write lock taken at BEGIN IMMEDIATE) and then bumps its version, so two volunteers racing for the last slot are
served one after the other: exactly one gets it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from jiayuan.accounts import service as accounts
from jiayuan.accounts.service import Principal
from jiayuan.kit.db import utcnow
from jiayuan.kit.errors import Conflict, Forbidden, Invalid, NotFound
from jiayuan.kit.scope import under
from jiayuan.kit.text import clean_text
from jiayuan.kit.waitlist import Waitlist
from jiayuan.notify.service import queue_message
from jiayuan.volunteers import policy, service
from jiayuan.volunteers.models import HoursEntry, Opportunity, Signup, Volunteer
from jiayuan.volunteers.teams import check_team

CHECKIN_OPENS = timedelta(minutes=30)
HOLDS_SLOT = ("signed_up", "checked_in", "checked_out", "no_show")
ACTIVE = (*HOLDS_SLOT, "waitlisted")
TITLE_MAX = 120
PLACE_MAX = 200
DESCRIPTION_MAX = 4000
MAX_SLOTS = 10_000
MAX_LENGTH = timedelta(days=31)
FIRST_YEAR, LAST_YEAR = 2000, 2100
PROMOTED_TEXT = "【家园】您报名的志愿服务“{title}”已有空位，您已从候补转为正式报名，请按时参加。"


def _now(now: datetime | None) -> datetime:
    return now or utcnow()


# --- Reading -------------------------------------------------------------------------------------


def get_opportunity(session: Session, principal: Principal, opportunity_id: uuid.UUID) -> Opportunity:
    if not isinstance(opportunity_id, uuid.UUID):
        raise NotFound("no such opportunity", field="opportunity_id")
    found = session.scalar(select(Opportunity).where(Opportunity.id == opportunity_id, policy.visible_opportunities(principal)))
    if found is None:
        raise NotFound("no such opportunity", field="opportunity_id")
    return found


def list_opportunities(session: Session, principal: Principal, *, upcoming: bool = True, team: str | None = None,
                       limit: int = 200, offset: int = 0, now: datetime | None = None) -> list[Opportunity]:
    stmt = select(Opportunity).where(policy.visible_opportunities(principal))
    if team is not None:
        team = service.check_team_code(team)
    if upcoming:
        stmt = stmt.where(Opportunity.ends_at >= _now(now), Opportunity.cancelled_at.is_(None))
    if team:
        stmt = stmt.where(Opportunity.team_code == team)
    order = Opportunity.starts_at if upcoming else Opportunity.starts_at.desc()
    return list(session.scalars(stmt.order_by(order, Opportunity.id).limit(limit).offset(offset)))


def for_activity(session: Session, district: str, activity_id: uuid.UUID) -> Opportunity | None:
    """The opportunity that staffs a community activity (system use by the activities domain, no scope)."""
    return session.scalar(select(Opportunity).where(Opportunity.district_code == district,
                                                    Opportunity.activity_id == activity_id))


@dataclass
class Counts:
    taken: int = 0
    waitlisted: int = 0


def counts_of(session: Session, opportunities: list[Opportunity]) -> dict[uuid.UUID, Counts]:
    """Slots taken and places on the waitlist of each opportunity, in one query."""
    ids = [o.id for o in opportunities]
    out = {i: Counts() for i in ids}
    if not ids:
        return out
    rows = session.execute(select(Signup.opportunity_id, Signup.status, func.count())
                           .where(Signup.district_code.in_({o.district_code for o in opportunities}),
                                  Signup.opportunity_id.in_(ids), Signup.status.in_(ACTIVE))
                           .group_by(Signup.opportunity_id, Signup.status))
    for oid, status, n in rows:
        if status == "waitlisted":
            out[oid].waitlisted += n
        else:
            out[oid].taken += n
    return out


def signups_of(session: Session, opportunity: Opportunity) -> list[Signup]:
    """Every sign-up of an opportunity: slots first, then the waitlist in its order, then cancellations."""
    rows = session.scalars(select(Signup).where(Signup.district_code == opportunity.district_code,
                                                Signup.opportunity_id == opportunity.id)
                           .order_by(Signup.signed_up_at, Signup.id))
    rank = {"waitlisted": 1, "cancelled": 2}
    return sorted(rows, key=lambda s: rank.get(s.status, 0))


def signups_of_volunteer(session: Session, volunteer: Volunteer, *, active_only: bool = True
                         ) -> list[tuple[Signup, Opportunity]]:
    stmt = (select(Signup, Opportunity)
            .join(Opportunity, and_(Opportunity.district_code == Signup.district_code,
                                    Opportunity.id == Signup.opportunity_id))
            .where(Signup.district_code == volunteer.district_code, Signup.volunteer_id == volunteer.id))
    if active_only:
        stmt = stmt.where(Signup.status != "cancelled")
    return [(s, o) for s, o in session.execute(stmt.order_by(Opportunity.starts_at.desc()))]


def get_signup(session: Session, principal: Principal, signup_id: uuid.UUID
               ) -> tuple[Signup, Opportunity, Volunteer]:
    """A sign-up the caller may act on: their own, or of a volunteer they see as staff."""
    signup = session.scalar(select(Signup).where(Signup.id == signup_id)) if isinstance(
        signup_id, uuid.UUID) else None
    if signup is None:
        raise NotFound("no such sign-up", field="signup_id")
    try:
        volunteer = service.get_volunteer(session, principal, signup.volunteer_id)
    except NotFound:
        raise NotFound("no such sign-up", field="signup_id") from None
    opportunity = session.get(Opportunity, (signup.district_code, signup.opportunity_id))
    assert opportunity is not None  # the foreign key
    return signup, opportunity, volunteer


# --- Keeping opportunities -----------------------------------------------------------------------


def check_times(starts_at: Any, ends_at: Any, max_length: timedelta = MAX_LENGTH) -> tuple[datetime, datetime]:
    for field, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if not isinstance(value, datetime):
            raise Invalid("required: a date and time", field=field, reason="no_time")
        if value.tzinfo is None:
            raise Invalid("give the time zone (e.g. +08:00)", field=field)
        if not FIRST_YEAR <= value.year <= LAST_YEAR:
            raise Invalid(f"a year from {FIRST_YEAR} to {LAST_YEAR}", field=field)
    if ends_at <= starts_at:
        raise Invalid("must be after the start", field="ends_at", reason="end_before_start")
    if ends_at - starts_at > max_length:
        raise Invalid(f"at most {max_length.days} days after the start", field="ends_at")
    return starts_at, ends_at


def check_slots(value: Any, field: str = "slots") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid("required: a whole number, at least 1", field=field)
    if value < 1:
        raise Invalid("at least 1", field=field, reason="too_small")
    if value > MAX_SLOTS:
        raise Invalid(f"at most {MAX_SLOTS}", field=field)
    return value


def create_opportunity(session: Session, principal: Principal, data: dict[str, Any]) -> Opportunity:
    """What, where, when and how many, for a unit in the caller's scope."""
    policy.require_manager(principal)
    unit = service.serving_unit(session, principal, data.get("unit_code") or principal.scope_code)
    starts_at, ends_at = check_times(data.get("starts_at"), data.get("ends_at"))
    activity_id = data.get("activity_id")
    if activity_id is not None and not isinstance(activity_id, uuid.UUID):
        raise Invalid("must be an id", field="activity_id")
    opportunity = Opportunity(
        district_code=unit[:6], unit_code=unit, title=clean_text(data.get("title"), "title", TITLE_MAX, required=True),
        description=clean_text(data.get("description"), "description", DESCRIPTION_MAX),
        place=clean_text(data.get("place"), "place", PLACE_MAX), team_code=check_team(session, data.get("team_code")),
        starts_at=starts_at, ends_at=ends_at, slots=check_slots(data.get("slots")), activity_id=activity_id)
    session.add(opportunity)
    session.flush()
    accounts.audit_for(session, principal, "opportunity_created", target=str(opportunity.id))
    return opportunity


# The slots of an opportunity held by its sign-ups, with the waitlist (kit/waitlist.py: row lock, count, promote).
SLOTS: Waitlist[Opportunity, Signup] = Waitlist(
    parent=Opportunity, child=Signup, parent_key="opportunity_id", queued_at="signed_up_at", holds=HOLDS_SLOT,
    seated="signed_up", capacity=lambda o: o.slots)


def _lock(session: Session, opportunity: Opportunity) -> Opportunity:
    """The opportunity's row, locked for the rest of the transaction and read afresh."""
    return SLOTS.lock(session, opportunity)


def update_opportunity(session: Session, principal: Principal, opportunity_id: uuid.UUID,
                       data: dict[str, Any]) -> Opportunity:
    """Change fields (a PATCH). Fewer slots never drop anyone who holds one; more slots move the waitlist up."""
    opportunity = get_opportunity(session, principal, opportunity_id)
    policy.require_keeper(principal, opportunity)
    opportunity = _lock(session, opportunity)
    version = data.get("version")
    if version is not None and version != opportunity.version:
        raise Conflict("the opportunity was changed by someone else; reload it", field="version",
                       details={"version": opportunity.version})
    if opportunity.cancelled_at is not None:
        raise Conflict("the opportunity is cancelled", field="cancelled_at", reason="cancelled")
    for key, limit in (("title", TITLE_MAX), ("description", DESCRIPTION_MAX), ("place", PLACE_MAX)):
        if key in data:
            setattr(opportunity, key, clean_text(data[key], key, limit, required=key == "title"))
    if "team_code" in data:
        opportunity.team_code = check_team(session, data["team_code"])
    if "starts_at" in data or "ends_at" in data:
        opportunity.starts_at, opportunity.ends_at = check_times(data.get("starts_at", opportunity.starts_at),
                                                                 data.get("ends_at", opportunity.ends_at))
    if "slots" in data:
        opportunity.slots = check_slots(data["slots"])
    opportunity.updated_at = utcnow()
    session.flush()
    _fill_from_waitlist(session, opportunity)
    return opportunity


def cancel_opportunity(session: Session, principal: Principal, opportunity_id: uuid.UUID) -> Opportunity:
    opportunity = get_opportunity(session, principal, opportunity_id)
    policy.require_keeper(principal, opportunity)
    opportunity = _lock(session, opportunity)
    if opportunity.cancelled_at is None:
        opportunity.cancelled_at = utcnow()
        session.flush()
        accounts.audit_for(session, principal, "opportunity_cancelled", target=str(opportunity.id))
    return opportunity


# --- Sign-up, cancellation, waitlist -------------------------------------------------------------


def same_branch(a: str, b: str) -> bool:
    return a.startswith(b) or b.startswith(a)


def _acting_volunteer(session: Session, principal: Principal, volunteer_id: uuid.UUID | None) -> Volunteer:
    """The volunteer a sign-up is for: the caller's own profile, or (staff) a volunteer they keep."""
    if volunteer_id is None:
        return service.volunteer_of(session, principal)  # type: ignore[return-value]
    volunteer = service.get_volunteer(session, principal, volunteer_id)
    if not policy.may_act_for(principal, volunteer):
        raise Forbidden("only the volunteer or staff of their unit may do this", field="volunteer_id",
                        reason="not_theirs")
    return volunteer


def _may_act(session: Session, principal: Principal, volunteer: Volunteer) -> None:
    if not policy.may_act_for(principal, volunteer):
        raise Forbidden("only the volunteer or staff of their unit may do this", field="signup_id",
                        reason="not_theirs")


def sign_up(session: Session, principal: Principal, opportunity_id: uuid.UUID,
            volunteer_id: uuid.UUID | None = None, *, now: datetime | None = None) -> Signup:
    """A slot while one is free, else a place at the end of the waitlist. A second sign-up is 409."""
    volunteer = _acting_volunteer(session, principal, volunteer_id)
    opportunity = session.scalar(select(Opportunity).where(
        Opportunity.district_code == volunteer.district_code, Opportunity.id == opportunity_id)) if isinstance(
        opportunity_id, uuid.UUID) else None
    if opportunity is None or not same_branch(opportunity.unit_code, volunteer.unit_code):
        raise NotFound("no such opportunity for this volunteer", field="opportunity_id", reason="not_open_to")
    if not volunteer.active:
        raise Conflict("the volunteer's profile is inactive", field="volunteer_id", reason="inactive")
    opportunity = _lock(session, opportunity)
    moment = _now(now)
    if opportunity.cancelled_at is not None:
        raise Conflict("the opportunity is cancelled", field="opportunity_id", reason="cancelled")
    if opportunity.ends_at <= moment:
        raise Conflict("the opportunity is over", field="opportunity_id", reason="over")
    signup = session.scalar(select(Signup).where(Signup.district_code == opportunity.district_code,
                                                 Signup.opportunity_id == opportunity.id,
                                                 Signup.volunteer_id == volunteer.id))
    if signup is not None and signup.status != "cancelled":
        raise Conflict("already signed up", field="opportunity_id", reason="already",
                       details={"signup_id": str(signup.id), "status": signup.status})
    status = SLOTS.place(session, opportunity)
    if signup is None:
        signup = Signup(district_code=opportunity.district_code, opportunity_id=opportunity.id,
                        volunteer_id=volunteer.id)
        session.add(signup)
    # Signing up again after a cancellation goes to the end of the queue.
    signup.status, signup.signed_up_at = status, moment
    signup.checked_in_at = signup.checked_out_at = None
    opportunity.updated_at = moment  # bumps the version: the sign-up list changed
    session.flush()
    return signup


def cancel_signup(session: Session, principal: Principal, signup_id: uuid.UUID) -> Signup:
    """Give up a slot or a waitlist place; the first of the waitlist moves into a freed slot (and is told)."""
    signup, opportunity, volunteer = get_signup(session, principal, signup_id)
    _may_act(session, principal, volunteer)
    opportunity = _lock(session, opportunity)
    session.refresh(signup)
    if signup.status == "cancelled":
        return signup
    if signup.status not in ("signed_up", "waitlisted"):
        raise Conflict(f"cannot cancel a sign-up that is {signup.status}", field="status",
                       details={"status": signup.status})
    signup.status = "cancelled"
    opportunity.updated_at = utcnow()
    session.flush()
    _fill_from_waitlist(session, opportunity)
    return signup


def _fill_from_waitlist(session: Session, opportunity: Opportunity) -> list[Signup]:
    """Move the first of the waitlist into each free slot (the opportunity's row is locked by the caller)."""
    if opportunity.cancelled_at is not None or opportunity.ends_at <= utcnow():
        return []

    def tell(signup: Signup) -> None:
        volunteer = session.get(Volunteer, (signup.district_code, signup.volunteer_id))
        if volunteer is not None and volunteer.user_id is not None:
            queue_message(session, district_code=opportunity.district_code, channel="inapp",
                          recipient=str(volunteer.user_id), user_id=volunteer.user_id,
                          body=PROMOTED_TEXT.format(title=opportunity.title), ref=f"opportunity:{opportunity.id}"[:60])

    return SLOTS.promote(session, opportunity, tell)


# --- Check-in and check-out ----------------------------------------------------------------------


def check_in(session: Session, principal: Principal, signup_id: uuid.UUID, *, now: datetime | None = None
             ) -> Signup:
    """From 30 minutes before the start until the end; only with a slot. A repeated check-in changes nothing."""
    signup, opportunity, volunteer = get_signup(session, principal, signup_id)
    _may_act(session, principal, volunteer)
    opportunity = _lock(session, opportunity)
    session.refresh(signup)
    moment = _now(now)
    if signup.status in ("checked_in", "checked_out"):
        return signup
    if signup.status != "signed_up":
        raise Conflict(f"cannot check in a sign-up that is {signup.status}", field="status",
                       details={"status": signup.status})
    if opportunity.cancelled_at is not None:
        raise Conflict("the opportunity is cancelled", field="opportunity_id", reason="cancelled")
    if moment < opportunity.starts_at - CHECKIN_OPENS:
        raise Conflict("check-in opens 30 minutes before the start", field="checked_in_at", reason="too_early",
                       details={"opens_at": (opportunity.starts_at - CHECKIN_OPENS).isoformat()})
    if moment > opportunity.ends_at:
        raise Conflict("the opportunity is over", field="checked_in_at", reason="over")
    signup.status, signup.checked_in_at = "checked_in", moment
    session.flush()
    return signup


def length_minutes(opportunity: Opportunity) -> int:
    return int((opportunity.ends_at - opportunity.starts_at).total_seconds() // 60)


def served_minutes(signup: Signup, opportunity: Opportunity) -> int:
    """The minutes between check-in and check-out, capped at the opportunity's length."""
    if signup.checked_in_at is None or signup.checked_out_at is None:
        return 0
    spent = int((signup.checked_out_at - signup.checked_in_at).total_seconds() // 60)
    return max(0, min(spent, length_minutes(opportunity)))


def check_out(session: Session, principal: Principal, signup_id: uuid.UUID, *, now: datetime | None = None
              ) -> tuple[Signup, HoursEntry | None]:
    """Check out and credit the minutes served (source "signup", so once). A repeated check-out returns the
    first one's result. An opportunity that staffs a community activity credits nothing here: closing the
    activity's attendance credits its length (source "activity"), and the same work must not count twice."""
    signup, opportunity, volunteer = get_signup(session, principal, signup_id)
    _may_act(session, principal, volunteer)
    opportunity = _lock(session, opportunity)
    session.refresh(signup)
    if signup.status == "checked_out":
        return signup, _signup_entry(session, signup)
    if signup.status != "checked_in":
        raise Conflict(f"check in first (the sign-up is {signup.status})", field="status",
                       details={"status": signup.status})
    moment = _now(now)
    assert signup.checked_in_at is not None
    signup.status, signup.checked_out_at = "checked_out", max(moment, signup.checked_in_at)
    session.flush()
    minutes = served_minutes(signup, opportunity)
    entry = None
    if minutes > 0 and opportunity.activity_id is None:
        entry = service.credit_hours(session, volunteer.id, volunteer.district_code, minutes, "service", "signup",
                                     signup.id, note=opportunity.title[:200], actor=principal)
    return signup, entry


def _signup_entry(session: Session, signup: Signup) -> HoursEntry | None:
    return session.scalar(select(HoursEntry).where(
        HoursEntry.district_code == signup.district_code, HoursEntry.volunteer_id == signup.volunteer_id,
        HoursEntry.source_type == "signup", HoursEntry.source_id == signup.id))


def staffed(session: Session, opportunity: Opportunity) -> list[Signup]:
    """Sign-ups that were checked in (the volunteers who staffed it)."""
    return list(session.scalars(select(Signup).where(
        Signup.district_code == opportunity.district_code, Signup.opportunity_id == opportunity.id,
        Signup.checked_in_at.is_not(None), Signup.status.in_(("checked_in", "checked_out")))
        .order_by(Signup.checked_in_at)))


def open_to(session: Session, volunteer: Volunteer, *, now: datetime | None = None, limit: int = 50
            ) -> list[Opportunity]:
    """Upcoming opportunities of the volunteer's unit, above it or below it, that they have not joined."""
    joined = select(Signup.opportunity_id).where(Signup.district_code == volunteer.district_code,
                                                 Signup.volunteer_id == volunteer.id,
                                                 Signup.status != "cancelled")
    code = volunteer.unit_code
    above = [c for c in (code[:6], code[:9], code[:12]) if len(c) < len(code)]
    stmt = select(Opportunity).where(
        Opportunity.district_code == volunteer.district_code,
        or_(under(Opportunity.unit_code, code), Opportunity.unit_code.in_(above)),
        Opportunity.cancelled_at.is_(None), Opportunity.ends_at > _now(now), Opportunity.id.not_in(joined))
    return list(session.scalars(stmt.order_by(Opportunity.starts_at, Opportunity.id).limit(limit)))
