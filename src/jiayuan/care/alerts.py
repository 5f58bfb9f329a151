"""Not visited in time: the sweep that raises an alert for each person living alone (or with an interval of their
own) whose last visit is more than N days ago, tells the grid's lead and the community staff, and the lists of
open alerts on the workbenches. Only visits that count — confirmed by the person or approved by staff — are
visits here: one merely logged neither holds an alert back nor resolves it; its confirmation or approval resolves
the alert (visits.confirm_with_code, confirm_with_card, approve_visit)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jiayuan.accounts import service as accounts
from jiayuan.accounts.roles import Role
from jiayuan.accounts.service import Principal
from jiayuan.care.models import CareAlert, CareProfile, Visit
from jiayuan.care.policy import is_staff, require_alert_reader
from jiayuan.config import get_settings
from jiayuan.kit.clock import local_today
from jiayuan.kit.db import Database
from jiayuan.kit.i18n import TIMEZONE
from jiayuan.kit.scope import Scope
from jiayuan.notify.service import queue_message
from jiayuan.registry.models import Person, PersonTag
from jiayuan.registry.service import tag_active
from jiayuan.units import service as units

log = logging.getLogger("jiayuan.care")
ALERT_TEXT = "【关爱提醒】{name}已 {days} 天未被探访（{since}），请尽快安排志愿者或网格员上门。"
SINCE_VISIT = "上次探访 {day}"
SINCE_START = "自 {day} 纳入关爱以来尚无探访"


@dataclass
class Due:
    profile: CareProfile
    name: str
    last_visit_at: datetime | None
    days: int


def interval_of(profile: CareProfile, default_days: int) -> int:
    return profile.visit_interval_days or default_days


def due_profiles(session: Session, today: date, default_days: int) -> list[Due]:
    """Active profiles of people living alone, or with an interval of their own, whose last visit that counts
    (confirmed or approved; or, never visited, their start) lies on a day D with today > D + N: someone visited on
    D alerts on D + N + 1."""
    last = (select(Visit.district_code, Visit.person_id, func.max(Visit.visited_at).label("at"))
            .where(or_(Visit.confirmed_at.is_not(None), Visit.approved_at.is_not(None)))
            .group_by(Visit.district_code, Visit.person_id).subquery())
    alone = (select(PersonTag.id).where(PersonTag.district_code == CareProfile.district_code,
                                        PersonTag.person_id == CareProfile.person_id,
                                        PersonTag.tag == "living_alone", tag_active(today)).exists())
    open_alert = (select(CareAlert.id).where(CareAlert.district_code == CareProfile.district_code,
                                             CareAlert.person_id == CareProfile.person_id, CareAlert.open).exists())
    stmt = (select(CareProfile, Person.name, last.c.at)
            .join(Person, and_(Person.district_code == CareProfile.district_code,
                               Person.id == CareProfile.person_id))
            .outerjoin(last, and_(last.c.district_code == CareProfile.district_code,
                                  last.c.person_id == CareProfile.person_id))
            .where(CareProfile.ended_on.is_(None), CareProfile.started_on <= today,
                   or_(CareProfile.visit_interval_days.is_not(None), alone), ~open_alert,
                   Person.anonymized_at.is_(None))
            .order_by(CareProfile.district_code, CareProfile.id))
    due = []
    for profile, name, last_at in session.execute(stmt):
        n = interval_of(profile, default_days)
        since = last_at.astimezone(TIMEZONE).date() if last_at is not None else profile.started_on
        days = (today - since).days
        if days > n:
            due.append(Due(profile, name, last_at, days))
    return due


def _recipients(session: Session, grid: str, cache: dict[str, list[uuid.UUID]]) -> list[uuid.UUID]:
    """The grid's lead and the community's staff (users scoped to the community itself)."""
    if grid not in cache:
        community = grid[:12]
        found: list[uuid.UUID] = []
        lead = units.lead_of(session, grid)
        if lead is not None:
            found.append(lead)
        for user in accounts.list_users(session, Scope((community,)), role=Role.community_staff.value, limit=50):
            if user.scope_code == community and user.is_active and user.id not in found:
                found.append(user.id)
        cache[grid] = found
    return cache[grid]


def raise_alerts_in(session: Session, today: date, default_days: int | None = None) -> list[CareAlert]:
    """Raise the alerts due on `today` in the caller's transaction; each in a savepoint, so that an alert raised
    at the same moment by another worker (the unique index on open alerts) is skipped, not an error."""
    default_days = default_days or get_settings().care_visit_days
    raised: list[CareAlert] = []
    recipients: dict[str, list[uuid.UUID]] = {}
    for due in due_profiles(session, today, default_days):
        profile = due.profile
        alert = CareAlert(district_code=profile.district_code, person_id=profile.person_id,
                          grid_code=profile.grid_code, raised_on=today, last_visit_at=due.last_visit_at,
                          days_without_visit=due.days, open=True)
        try:
            with session.begin_nested():
                session.add(alert)
        except IntegrityError:
            log.info("care alert for %s already raised elsewhere", profile.id)
            continue
        since = (SINCE_VISIT.format(day=due.last_visit_at.astimezone(TIMEZONE).date().isoformat())
                 if due.last_visit_at else SINCE_START.format(day=profile.started_on.isoformat()))
        body = ALERT_TEXT.format(name=due.name, days=due.days, since=since)
        for user_id in _recipients(session, profile.grid_code, recipients):
            queue_message(session, district_code=profile.district_code, channel="inapp", recipient=str(user_id),
                          user_id=user_id, body=body, ref=f"care/{profile.id}")
        raised.append(alert)
    session.flush()
    return raised


def raise_alerts(db: Database | Session, today: date | None = None, *, default_days: int | None = None) -> int:
    """The daily sweep (the worker runs it every hour; running it again raises nothing twice). Returns how many
    alerts were raised. Given a session, works in its transaction; given a Database, in one of its own."""
    today = today or local_today()
    if isinstance(db, Session):
        return len(raise_alerts_in(db, today, default_days))
    with db.unit_of_work() as session:
        return len(raise_alerts_in(session, today, default_days))


# --- Reading ---------------------------------------------------------------------------------------------


@dataclass
class AlertRow:
    alert: CareAlert
    name: str
    profile_id: uuid.UUID | None


def _alerts_statement(principal: Principal, *, open_only: bool, unit: str | None) -> Any:
    require_alert_reader(principal)
    stmt = (select(CareAlert, Person.name, CareProfile.id)
            .join(Person, and_(Person.district_code == CareAlert.district_code, Person.id == CareAlert.person_id))
            .outerjoin(CareProfile, and_(CareProfile.district_code == CareAlert.district_code,
                                         CareProfile.person_id == CareAlert.person_id))
            .where(principal.scope.where(CareAlert)))
    if open_only:
        stmt = stmt.where(CareAlert.open)
    if unit:
        stmt = stmt.where(Scope((units.check_code(unit, "unit"),)).where(CareAlert))
    return stmt


def list_alerts(session: Session, principal: Principal, *, open_only: bool = True, unit: str | None = None,
                limit: int = 50, offset: int = 0) -> tuple[list[AlertRow], int]:
    """Alerts in the caller's scope, the longest without a visit first; (page, total)."""
    stmt = _alerts_statement(principal, open_only=open_only, unit=unit)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = session.execute(stmt.order_by(CareAlert.open.desc(), CareAlert.days_without_visit.desc(),
                                         CareAlert.raised_on, CareAlert.id).limit(limit).offset(offset))
    return [AlertRow(a, name, pid) for a, name, pid in rows], total


def open_count(session: Session, principal: Principal) -> int:
    if not is_staff(principal):
        return 0
    return session.scalar(select(func.count()).select_from(CareAlert).where(
        principal.scope.where(CareAlert), CareAlert.open)) or 0
