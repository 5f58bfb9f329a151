"""The cases as other domains call them: reading the caller's cases by scope (one case by tracking number, its
timeline and photos, the one case filter), and the use cases other domains need — filing a case (intake), the
working-day calendar, the case categories, case photos and cases' part of erasing a person — re-exported from the
modules that hold them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from jiayuan.accounts.service import Principal
from jiayuan.cases.calendar import HOLIDAY_NAMES, WorkCalendar, calendar_for, special_days
from jiayuan.cases.categories import get_item as get_category
from jiayuan.cases.erasure import erase_person
from jiayuan.cases.intake import MAX_DESCRIPTION, CaseInput, report_case
from jiayuan.cases.photos import discard_photos, save_photos
from jiayuan.cases.models import Case, CaseEvent, CasePhoto, phone_key
from jiayuan.cases.policy import visible
from jiayuan.cases.workflow import FINAL, OPEN
from jiayuan.kit import throttle
from jiayuan.kit.db import utcnow
from jiayuan.kit.errors import Invalid, NotFound
from jiayuan.kit.identity import mask_free_text
from jiayuan.kit.scope import Scope, under
from jiayuan.kit.text import normalise_phone, search_term
from jiayuan.kit.throttle import Limit


def get_case(session: Session, principal: Principal, number: str, *, for_update: bool = False) -> Case:
    """A case the caller may see, by tracking number; anything else is a 404."""
    stmt = select(Case).where(Case.number == number, visible(principal))
    if principal.scope.districts:
        stmt = stmt.where(Case.district_code.in_(principal.scope.districts))
    if for_update:
        stmt = stmt.with_for_update()
    case = session.scalar(stmt)
    if case is None:
        raise NotFound(f"no case {number}", field="number")
    return case


@dataclass
class TrackingAttempt:
    """A look-up by tracking number and phone, counted before it is made; one that finds its case is taken back,
    so that only misses count (an address guessing numbers or phones is what the limit stops)."""

    limit: Limit
    source: str
    now: datetime

    def found(self, session: Session) -> None:
        throttle.forgive(session, self.limit, self.source, now=self.now)


def admit_tracking(session: Session, source: str | None, misses_per_hour: int) -> TrackingAttempt:
    """Count a look-up of the address and commit it (the request's own session); 429 past the limit."""
    attempt = TrackingAttempt(Limit("track.source", misses_per_hour, timedelta(hours=1)), source or "unknown",
                              utcnow())
    count = throttle.hit_and_commit(session, attempt.limit, attempt.source, now=attempt.now)
    throttle.refuse_when_over(count, "too many look-ups from this address; try again later", field="number",
                              now=attempt.now)
    return attempt


def track(session: Session, number: str, phone: str) -> Case:
    """A case found by its tracking number plus the phone it was reported with (no account needed)."""
    number, phone = (number or "").strip(), normalise_phone(phone) or ""
    if not number:
        raise Invalid("required", field="number")
    if not phone:
        raise Invalid("required", field="phone")
    case = session.scalar(select(Case).where(Case.number == number, Case.reporter_phone_index == phone_key(phone)))
    if case is None:
        # One message for both: it must not reveal whether a number exists.
        raise NotFound("no case with this tracking number and phone", field="number")
    return case


@dataclass
class CaseFilter:
    status: str | None = None  # a status, or "open" / "final"
    category: str | None = None
    unit: str | None = None
    assignee: uuid.UUID | None = None
    overdue: bool = False
    since: datetime | None = None
    until: datetime | None = None
    q: str | None = None  # a tracking number or words of the description


def matching(f: CaseFilter, *, in_address: bool = False) -> list[ColumnElement[bool]]:
    """The conditions of a filter: the one place where the case lists (API, my cases, the to-do, the queue)
    narrow the caller's cases. Words are looked for in the description, and in the address with `in_address`."""
    conds: list[ColumnElement[bool]] = []
    if f.status == "open":
        conds.append(Case.status.in_(OPEN))
    elif f.status == "final":
        conds.append(Case.status.in_(FINAL))
    elif f.status:
        conds.append(Case.status == f.status)
    if f.category:
        conds.append(Case.category_code.startswith(f.category) if len(f.category) == 2
                     else Case.category_code == f.category)
    if f.unit:
        conds.append(under(Case.origin_code, f.unit, Case.district_code))
    if f.assignee:
        conds.append(Case.assignee_id == f.assignee)
    if f.overdue:
        conds += [Case.status.in_(OPEN), Case.stage_due_at < func.now()]
    if f.since:
        conds.append(Case.reported_at >= f.since)
    if f.until:
        conds.append(Case.reported_at < f.until)
    q = search_term(f.q) or ""
    if q:
        if q.isdigit():
            conds.append(Case.number == q)
        elif in_address:
            conds.append(or_(Case.description.contains(q), Case.address.contains(q)))
        else:
            conds.append(Case.description.contains(q))
    return conds


def list_cases(session: Session, principal: Principal, f: CaseFilter, *, limit: int = 50, offset: int = 0,
               order: str = "due") -> tuple[list[Case], int]:
    stmt = select(Case).where(visible(principal), *matching(f))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    if order == "due":
        stmt = stmt.order_by(Case.stage_due_at.is_(None), Case.stage_due_at, Case.reported_at)
    else:
        stmt = stmt.order_by(Case.reported_at.desc())
    return list(session.scalars(stmt.limit(limit).offset(offset))), total


def by_phone(session: Session, principal: Principal, phone: str, *, limit: int = 20) -> list[Case]:
    """The caller's cases reported with this phone, newest first (the hotline's look-up)."""
    phone = normalise_phone(phone) or ""
    if not phone:
        return []
    return list(session.scalars(select(Case).where(visible(principal), Case.reporter_phone_index == phone_key(phone))
                                .order_by(Case.reported_at.desc()).limit(limit)))


def count_open(session: Session, unit: Scope) -> int:
    """Open cases that arose in the units of `unit` (a scope the caller covers whole): for profiles."""
    return session.scalar(select(func.count()).select_from(Case).where(unit.where(Case), Case.status.in_(OPEN))) or 0


def timeline(session: Session, case: Case) -> list[CaseEvent]:
    return list(session.scalars(select(CaseEvent).where(
        CaseEvent.district_code == case.district_code, CaseEvent.case_id == case.id).order_by(CaseEvent.at)))


def public_reply(event: CaseEvent) -> str | None:
    """The reply to the public staff wrote with a step, as it is published (tracking page, Open311 feed): phone
    and ID numbers masked in whatever form they were typed. A step's note is internal and never published."""
    reply = event.data.get("reply") if isinstance(event.data, dict) else None
    return mask_free_text(reply) if isinstance(reply, str) and reply.strip() else None


def photos_of(session: Session, case: Case) -> list[CasePhoto]:
    return list(session.scalars(select(CasePhoto).where(
        CasePhoto.district_code == case.district_code, CasePhoto.case_id == case.id).order_by(CasePhoto.created_at)))


__all__ = ["HOLIDAY_NAMES", "MAX_DESCRIPTION", "CaseInput", "WorkCalendar", "calendar_for", "discard_photos",
           "erase_person", "get_category", "report_case", "save_photos", "special_days"]
