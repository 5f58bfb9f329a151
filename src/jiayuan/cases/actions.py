"""Moving a case through its loop: one function checks the table, the caller and the case, then applies."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from jiayuan.accounts import service as accounts
from jiayuan.accounts.roles import STAFF_ROLES, Role
from jiayuan.accounts.service import Principal
from jiayuan.cases import notices, policy, service, timing
from jiayuan.cases.models import Case, CaseEvent, Category
from jiayuan.cases.workflow import (
    ESCALATE_TO,
    IN_PROGRESS,
    LEVEL_LENGTH,
    OPEN,
    RATINGS,
    REGISTERED,
    SUPERVISION_LEVELS,
    TRANSITIONS,
    Transition,
)
from jiayuan.kit.db import utcnow
from jiayuan.kit.errors import Conflict, Forbidden, Invalid
from jiayuan.units import service as units

REOPEN_DAYS = 7
MAX_NOTE = 2000


@dataclass
class ActionInput:
    note: str | None = None  # for staff (and the reporter's own case page); never published
    reply: str | None = None  # staff's reply to the public: the only text of theirs the public feed shows
    version: int | None = None  # the version the caller saw; a mismatch is a 409
    assignee: str | None = None  # dispatch: a user name (default: the grid lead or the department)
    hours: int | None = None  # request_extension
    level: str | None = None  # supervise: normal | yellow | red
    rating: str | None = None  # rate
    original: str | None = None  # merge: the tracking number of the case this one duplicates


@dataclass
class Actor:
    """Who acts: a signed-in principal, or the system (the overdue sweep), or a resident by number + phone."""

    user_id: uuid.UUID | None
    name: str
    role: Role | str
    principal: Principal | None = None


def actor_of(principal: Principal) -> Actor:
    return Actor(principal.user_id, principal.full_name, principal.role, principal)


SYSTEM = Actor(None, "系统", "system")


def act(session: Session, principal: Principal, number: str, action: str, data: ActionInput) -> Case:
    """Fire `action` on a case the caller can see, as the caller."""
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise Invalid(f"unknown action; one of {', '.join(TRANSITIONS)}", field="action")
    case = service.get_case(session, principal, number)
    check_state(case, transition, data.version)
    policy.require_role_for(principal, transition)
    policy.require_who(principal, case, transition)
    return apply(session, case, transition, data, actor_of(principal))


def check_state(case: Case, transition: Transition, version: int | None) -> None:
    if version is not None and version != case.version:
        raise Conflict("the case was changed by someone else; reload it", field="version",
                       details={"status": case.status, "version": case.version})
    if case.status not in transition.sources:
        raise Conflict(f"cannot {transition.action} a case that is {case.status}", field="action",
                       details={"status": case.status, "version": case.version})


def apply(session: Session, case: Case, t: Transition, data: ActionInput, actor: Actor) -> Case:
    """Apply a checked transition: its effects, the event on the timeline, notifications."""
    note = (data.note or "").strip() or None
    if t.needs_note and not note:
        raise Invalid(f"say why ({t.action})", field="note")
    if note and len(note) > MAX_NOTE:
        raise Invalid(f"at most {MAX_NOTE} characters", field="note", reason="too_long", limit=MAX_NOTE)
    reply = public_reply(data.reply, actor)
    now = utcnow()
    category = session.get(Category, case.category_code)
    before = case.status
    with session.no_autoflush:  # one UPDATE per action, so the version moves by exactly one
        extra = EFFECTS[t.action](session, case, category, data, actor, now) or {}
        if reply:
            extra = {**extra, "reply": reply}
        if t.target is not None and case.status == before:
            case.status = t.target
        if case.status != before or t.action == "escalate":
            _enter_stage(session, case, category, now)
    session.add(CaseEvent(district_code=case.district_code, case_id=case.id, at=now, actor_id=actor.user_id,
                          actor_name=actor.name, actor_role=str(getattr(actor.role, "value", actor.role)),
                          action=t.action, from_status=before, to_status=case.status, note=note,
                          data=extra or None))
    session.flush()  # with the version column: a concurrent change makes this a StaleDataError (409)
    notices.after(session, case, t.action, actor)
    return case


def public_reply(text: str | None, actor: Actor) -> str | None:
    """A reply to the public written with a step: staff only, at most MAX_NOTE characters. It is kept in the step's
    data as "reply" and published (masked) by the Open311 feed and the tracking page; the step's note is not."""
    reply = (text or "").strip() or None
    if reply is None:
        return None
    if actor.principal is None or actor.principal.role not in STAFF_ROLES:
        raise Forbidden("only staff reply to the public", field="reply")
    if "\x00" in reply:
        raise Invalid(field="reply", reason="nul")
    if len(reply) > MAX_NOTE:
        raise Invalid(f"at most {MAX_NOTE} characters", field="reply", reason="too_long", limit=MAX_NOTE)
    return reply


def _enter_stage(session: Session, case: Case, category: Category, now: datetime) -> None:
    case.stage_started_at = now
    case.stage_due_at = timing.stage_due(session, now, case.status, category, case.urgent, case.due_at)


# The effects of each action. They may change the status themselves (resume, rating that reopens).


def _accept(session, case, category, data, actor, now):  # noqa: ANN001, ANN202
    case.accepted_at = now
    case.response_hours = timing.hours_between(session, case.reported_at, now)


def _void(session, case, category, data, actor, now):  # noqa: ANN001, ANN202
    case.stage_due_at = None


def _merge(session, case, category, data, actor, now):  # noqa: ANN001, ANN202
    if not data.original:
        raise Invalid("the tracking number of the case this one duplicates", field="original")
    if actor.principal is None:
        raise Forbidden("staff only", field="action")
    original = service.get_case(session, actor.principal, data.original)
    if original.id == case.id or original.status not in OPEN or original.merged_into_id is not None:
        raise Invalid("must be another open case", field="original")
    case.merged_into_id = original.id
    case.stage_due_at = None
    session.add(CaseEvent(district_code=case.district_code, case_id=original.id, at=now, actor_id=actor.user_id,
                          actor_name=actor.name, actor_role=str(actor.role.value), action="merged_in",
                          data={"number": case.number}))
    return {"original": original.number}


def _register(session, case, category, data, actor, now):  # noqa: ANN001, ANN202
    case.registered_at = now
    case.due_at = timing.handling_due(session, now, category, case.urgent)


def _dispatch(session, case, category, data, actor, now):  # noqa: ANN001, ANN202
    assignee = None
    if data.assignee:
        user = accounts.user_by_username(session, data.assignee)
        if user is None or not policy.may_handle(user.role):
            raise Invalid("no staff account with this user name", field="assignee")
        if user.role == Role.department:
            case.level, case.department = "department", user.username
        elif user.scope_code and not user.scope_code.startswith(case.district_code):
            raise Invalid("the account works in another district", field="assignee")
        assignee = user.id
    elif case.level == "grid" and case.grid_code and len(case.unit_code) == 15:
        assignee = units.lead_of(session, case.unit_code)
    elif case.level == "department" and case.department:
        user = accounts.user_by_username(session, case.department)
        assignee = user.id if user else None
    case.assignee_id = assignee
    case.dispatched_at = now
    if case.due_at is None:
        case.due_at = timing.handling_due(session, now, category, case.urgent)
    return {"assignee": data.assignee} if data.assignee else None


def _return(session, case, category, data, actor, now):  # noqa: ANN001, ANN202
    case.assignee_id = None


def _nothing(session, case, category, data, actor, now):  # noqa: ANN001, ANN202
    return None


def _handle(session, case, category, data, actor, now):  # noqa: ANN001, ANN202
    case.handled_at = now
    case.handled_by = actor.user_id
    case.handling_hours = timing.hours_between(session, case.dispatched_at, now)
    case.handled_on_time = case.due_at is None or now <= case.due_at


def _close(session, case, category, data, actor, now):  # noqa: ANN001, ANN202
    case.closed_at = now
    case.closed_on_time = bool(case.handled_on_time) and (case.stage_due_at is None or now <= case.stage_due_at)


def _rework(session, case, category, data, actor, now):  # noqa: ANN001, ANN202
    case.rework_count += 1
    case.handled_on_time = None
    case.due_at = timing.handling_due(session, now, category, case.urgent)


def _request_extension(session, case, category, data, actor, now):  # noqa: ANN001, ANN202
    if not isinstance(data.hours, int) or not 1 <= data.hours <= 400:
        raise Invalid("working hours to add, 1 to 400", field="hours")
    if case.extension_requested_hours:
        raise Conflict("an extension is already waiting for approval", field="hours", reason="already_requested")
    case.extension_requested_hours = data.hours
    return {"hours": data.hours}


def _approve_extension(session, case, category, data, actor, now):  # noqa: ANN001, ANN202
    hours = case.extension_requested_hours
    if not hours:
        raise Conflict("no extension was requested", field="action")
    from jiayuan.cases import calendar

    case.due_at = calendar.calendar_for(session).due_at(case.due_at or now, hours, case.urgent)
    case.stage_due_at = case.due_at
    case.extension_requested_hours = None
    return {"hours": hours}


def _reject_extension(session, case, category, data, actor, now):  # noqa: ANN001, ANN202
    if not case.extension_requested_hours:
        raise Conflict("no extension was requested", field="action")
    case.extension_requested_hours = None


def _request_suspension(session, case, category, data, actor, now):  # noqa: ANN001, ANN202
    if case.suspension_requested:
        raise Conflict("a suspension is already waiting for approval", field="action")
    case.suspension_requested = True


def _approve_suspension(session, case, category, data, actor, now):  # noqa: ANN001, ANN202
    if not case.suspension_requested:
        raise Conflict("no suspension was requested", field="action")
    case.suspension_requested = False
    case.status_before_suspension = case.status


def _resume(session, case, category, data, actor, now):  # noqa: ANN001, ANN202
    case.status = case.status_before_suspension or IN_PROGRESS
    case.status_before_suspension = None
    # The clock starts again: the handling limit counts from now.
    case.due_at = timing.handling_due(session, now, category, case.urgent)


def _supervise(session, case, category, data, actor, now):  # noqa: ANN001, ANN202
    if data.level not in SUPERVISION_LEVELS:
        raise Invalid(f"one of {', '.join(SUPERVISION_LEVELS)}", field="level")
    case.supervision = data.level
    return {"level": data.level}


def _escalate(session, case, category, data, actor, now):  # noqa: ANN001, ANN202
    escalate(session, case, now)
    return {"to": case.unit_code, "level": case.level}


def escalate(session: Session, case: Case, now: datetime) -> None:
    """上报: hand the case to the next level up (grid → community → street → district)."""
    current = "grid" if case.level == "department" and len(case.unit_code) == 15 else case.level
    up = ESCALATE_TO.get(current)
    if up is None:
        raise Conflict(f"a case handled at {case.level} level cannot go higher", field="action",
                       reason="top_level", details={"status": case.status, "version": case.version})
    code = (case.grid_code or case.origin_code)
    case.level = up
    case.unit_code = code[:LEVEL_LENGTH[up]] if len(code) >= LEVEL_LENGTH[up] else case.district_code
    case.assignee_id = None
    case.department = None
    case.status = REGISTERED
    if case.registered_at is None:
        case.registered_at = now
    if case.accepted_at is None:
        case.accepted_at = now


def _mark_urgent(session, case, category, data, actor, now):  # noqa: ANN001, ANN202
    case.urgent = True


def _rate(session, case, category, data, actor, now):  # noqa: ANN001, ANN202
    if data.rating not in RATINGS:
        raise Invalid(f"one of {', '.join(RATINGS)}", field="rating")
    if case.rating is not None:
        raise Conflict("the case has been rated already", field="rating", reason="already_rated")
    case.rating = data.rating
    case.rating_comment = (data.note or "").strip()[:500] or None
    case.rated_at = now
    if data.rating == "dissatisfied" and case.closed_at and now - case.closed_at <= timedelta(days=REOPEN_DAYS):
        # 不满意 within 7 days reopens the case as rework, back to the same handler.
        case.status = IN_PROGRESS
        case.rework_count += 1
        case.closed_at = None
        case.closed_on_time = None
        case.handled_on_time = None
        case.due_at = timing.handling_due(session, now, category, case.urgent)
        return {"rating": data.rating, "reopened": True}
    return {"rating": data.rating}


EFFECTS: dict[str, Any] = {
    "accept": _accept, "void": _void, "merge": _merge, "register": _register, "dispatch": _dispatch,
    "return": _return, "start": _nothing, "handle": _handle, "check": _nothing, "close": _close,
    "rework": _rework, "request_extension": _request_extension, "approve_extension": _approve_extension,
    "reject_extension": _reject_extension, "request_suspension": _request_suspension,
    "approve_suspension": _approve_suspension, "resume": _resume, "supervise": _supervise,
    "escalate": _escalate, "mark_urgent": _mark_urgent, "rate": _rate,
}
assert set(EFFECTS) == set(TRANSITIONS), "every transition needs its effect"


def rate_by_phone(session: Session, number: str, phone: str, rating: str, comment: str | None) -> Case:
    """A resident without an account rates a closed case found by tracking number + phone."""
    case = service.track(session, number, phone)
    t = TRANSITIONS["rate"]
    check_state(case, t, None)
    return apply(session, case, t, ActionInput(rating=rating, note=comment), Actor(None, "居民", Role.resident))
