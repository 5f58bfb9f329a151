"""Case jobs: the overdue sweep escalates what has run out of time and tells the unit it now belongs to."""

from __future__ import annotations

import logging
from datetime import datetime

from huey import Huey, crontab
from sqlalchemy import and_, func, not_, or_, select
from sqlalchemy.orm.exc import StaleDataError

from jiayuan.accounts import service as accounts
from jiayuan.cases import actions, notices
from jiayuan.cases.models import Case
from jiayuan.cases.workflow import (
    ACCEPTED,
    CHECKING,
    DISPATCHED,
    ESCALATE_TO,
    HANDLED,
    IN_PROGRESS,
    REGISTERED,
    REPORTED,
    TRANSITIONS,
)
from jiayuan.config import get_settings
from jiayuan.kit.db import Database, utcnow
from jiayuan.kit.errors import DomainError
from jiayuan.kit.scope import Scope

log = logging.getLogger("jiayuan.cases")
WATCHED = (REPORTED, ACCEPTED, REGISTERED, DISPATCHED, IN_PROGRESS, HANDLED, CHECKING)
ESCALATABLE = TRANSITIONS["escalate"].sources
AUTO_NOTE = "超过时限，系统自动上报"
SUPERVISE_NOTE = "超过时限，系统红牌督办"


def sweep_overdue(db: Database, *, now: datetime | None = None, batch: int = 500) -> int:
    """Escalate overdue cases one level (grid → community → street → district); where a case cannot go
    higher, or its stage is not one that escalates, put it under red supervision. Returns how many changed.

    Each case in its own short transaction, so a user acting on a case at the same moment wins cleanly
    (the version check makes this sweep's write fail, and the case is looked at again next time)."""
    now = now or utcnow()
    with db.sessions() as session:
        due = list(session.execute(select(Case.district_code, Case.id).where(
            Case.status.in_(WATCHED), Case.stage_due_at < now,
            # Nothing left to do for these: red already, and they cannot be escalated.
            not_(and_(func.coalesce(Case.supervision, "") == "red",  # NULL-safe: most cases have none
                      or_(Case.level.not_in(tuple(ESCALATE_TO)), Case.status.not_in(tuple(ESCALATABLE))))),
        ).order_by(Case.stage_due_at).limit(batch)))
    changed = 0
    for district, case_id in due:
        try:
            with db.unit_of_work() as session:
                case = session.get(Case, (district, case_id))
                if case is None or case.stage_due_at is None or case.stage_due_at >= now:
                    continue
                if case.status in ESCALATABLE and case.level in ESCALATE_TO:
                    actions.apply(session, case, TRANSITIONS["escalate"], actions.ActionInput(note=AUTO_NOTE),
                                  actions.SYSTEM)
                    _tell_unit(session, case, f"案件 {case.number} 超时未办结，已自动上报至本级，请及时派遣。")
                else:
                    actions.apply(session, case, TRANSITIONS["supervise"],
                                  actions.ActionInput(level="red", note=SUPERVISE_NOTE), actions.SYSTEM)
                    # The stage keeps its due time: the light stays red until someone acts.
                changed += 1
        except (StaleDataError, DomainError) as exc:
            log.info("overdue sweep skipped a case: %s", type(exc).__name__)
    return changed


def _tell_unit(session, case: Case, body: str) -> None:  # noqa: ANN001
    """In-app notice to the staff whose unit is the one now answerable."""
    for user in accounts.list_users(session, Scope((case.unit_code,)), limit=50):
        if user.scope_code == case.unit_code:
            notices.queue_message(session, district_code=case.district_code, channel="inapp",
                                  recipient=str(user.id), user_id=user.id, body=body, ref=case.number)


def register(huey: Huey) -> None:
    """Register the sweep on `huey` (the worker calls this at start)."""

    @huey.periodic_task(crontab(minute="*"), name="cases.sweep_overdue")
    def sweep_every_minute() -> int:
        db = Database(get_settings().database_url)
        try:
            return sweep_overdue(db)
        finally:
            db.dispose()
