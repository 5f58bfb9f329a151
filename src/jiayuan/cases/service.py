"""Reading cases: the caller's cases by scope, one case by tracking number, its timeline and photos."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.orm import Session

from jiayuan.accounts.roles import Role
from jiayuan.accounts.service import Principal
from jiayuan.cases import intake
from jiayuan.cases.models import Case, CaseEvent, CasePhoto
from jiayuan.cases.workflow import FINAL, OPEN, OWN_REPORTS_ONLY
from jiayuan.kit.errors import Invalid, NotFound
from jiayuan.kit.scope import Scope


def visible(principal: Principal) -> ColumnElement[bool]:
    """The cases a caller may see: by the scope of where they arose, plus any case assigned to them (a worker
    dispatched to help outside their grid); a department sees what was transferred to it; a resident sees
    their own reports, and so do providers, volunteers and social organizations: their scopes say where they
    serve, not that the district's cases are theirs to read."""
    if principal.role in OWN_REPORTS_ONLY:
        return Case.reporter_id == principal.user_id
    if principal.role == Role.department:
        return and_(Case.district_code.in_(principal.scope.districts), Case.department == principal.username)
    if not principal.scope.prefixes:
        return false()
    if principal.role == Role.grid_worker:
        # The assignee branch names the district as well (a worker is only ever dispatched inside it, and
        # get_case keeps to it anyway): so each side of the OR has an index that starts with district_code,
        # and PostgreSQL combines the two instead of scanning every case of the district.
        mine = and_(Case.district_code.in_(principal.scope.districts), Case.assignee_id == principal.user_id)
        return or_(principal.scope.where(Case), mine)
    return principal.scope.where(Case)


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


def track(session: Session, number: str, phone: str) -> Case:
    """A case found by its tracking number plus the phone it was reported with (no account needed)."""
    number, phone = (number or "").strip(), intake.normalise_phone(phone) or ""
    if not number:
        raise Invalid("required", field="number")
    if not phone:
        raise Invalid("required", field="phone")
    case = session.scalar(select(Case).where(Case.number == number, Case.reporter_phone_index == intake.phone_key(phone)))
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


def list_cases(session: Session, principal: Principal, f: CaseFilter, *, limit: int = 50, offset: int = 0,
               order: str = "due") -> tuple[list[Case], int]:
    stmt = select(Case).where(visible(principal))
    if f.status == "open":
        stmt = stmt.where(Case.status.in_(OPEN))
    elif f.status == "final":
        stmt = stmt.where(Case.status.in_(FINAL))
    elif f.status:
        stmt = stmt.where(Case.status == f.status)
    if f.category:
        stmt = stmt.where(Case.category_code.startswith(f.category) if len(f.category) == 2
                          else Case.category_code == f.category)
    if f.unit:
        stmt = stmt.where(Case.district_code == f.unit[:6], Case.origin_code >= f.unit,
                          Case.origin_code < f.unit + ":")
    if f.assignee:
        stmt = stmt.where(Case.assignee_id == f.assignee)
    if f.overdue:
        stmt = stmt.where(Case.status.in_(OPEN), Case.stage_due_at < func.now())
    if f.since:
        stmt = stmt.where(Case.reported_at >= f.since)
    if f.until:
        stmt = stmt.where(Case.reported_at < f.until)
    if f.q:
        q = f.q.strip()
        stmt = stmt.where(Case.number == q) if q.isdigit() else stmt.where(Case.description.contains(q))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    if order == "due":
        stmt = stmt.order_by(Case.stage_due_at.is_(None), Case.stage_due_at, Case.reported_at)
    else:
        stmt = stmt.order_by(Case.reported_at.desc())
    return list(session.scalars(stmt.limit(limit).offset(offset))), total


def count_open(session: Session, unit: Scope) -> int:
    """Open cases that arose in the units of `unit` (a scope the caller covers whole): for profiles."""
    return session.scalar(select(func.count()).select_from(Case).where(unit.where(Case), Case.status.in_(OPEN))) or 0


def timeline(session: Session, case: Case) -> list[CaseEvent]:
    return list(session.scalars(select(CaseEvent).where(
        CaseEvent.district_code == case.district_code, CaseEvent.case_id == case.id).order_by(CaseEvent.at)))


def photos_of(session: Session, case: Case) -> list[CasePhoto]:
    return list(session.scalars(select(CasePhoto).where(
        CasePhoto.district_code == case.district_code, CasePhoto.case_id == case.id).order_by(CasePhoto.created_at)))


def merged_into(session: Session, case: Case) -> list[Case]:
    """Cases merged into this one as duplicates (their reporters hear when it closes)."""
    return list(session.scalars(select(Case).where(Case.district_code == case.district_code,
                                                   Case.merged_into_id == case.id)))
