"""Charity jobs: the monthly issue of points at every open supermarket, and the expiry of lots past their last day.

Both are idempotent, so the worker runs them every hour rather than once at midnight of the 1st: the first run
in a month (00:05 Beijing time on the 1st when the worker is up) issues the month, later runs find it done; a
worker that was down on the 1st catches up when it comes back. Each supermarket is its own transaction, so one
that fails does not hold back the others."""

from __future__ import annotations

import logging
from datetime import datetime

from huey import Huey, crontab
from sqlalchemy import exists, select

from jiayuan.charity import points
from jiayuan.charity.models import IssueRun, Supermarket
from jiayuan.charity.service import month_start
from jiayuan.config import get_settings
from jiayuan.kit.clock import local_today
from jiayuan.kit.db import Database, utcnow
from jiayuan.kit.errors import DomainError

log = logging.getLogger("jiayuan.charity")


def issue_due(db: Database, *, now: datetime | None = None) -> int:
    """Issue this month's points at every open supermarket that has not had them. Returns how many ran."""
    now = now or utcnow()
    month = month_start(local_today(now))
    with db.sessions() as session:
        done = exists().where(IssueRun.district_code == Supermarket.district_code,
                              IssueRun.supermarket_id == Supermarket.id, IssueRun.month == month)
        due = list(session.execute(select(Supermarket.district_code, Supermarket.id).where(
            Supermarket.active.is_(True), ~done).order_by(Supermarket.unit_code)))
    ran = 0
    for district, supermarket_id in due:
        try:
            with db.unit_of_work() as session:
                _run, created = points.issue_month(session, supermarket_id, month, district=district, now=now)
                ran += created
        except DomainError as exc:
            log.warning("charity issue skipped a supermarket: %s", exc.message)
    return ran


def expire_due(db: Database, *, now: datetime | None = None) -> int:
    """Write off what is left of the lots whose last day has passed. Returns how many lots."""
    with db.unit_of_work() as session:
        return points.expire_points(session, local_today(now or utcnow()), now=now)


def register(huey: Huey) -> None:
    """Register the hourly issue and expiry on `huey` (the worker calls this at start)."""

    @huey.periodic_task(crontab(minute="5"), name="charity.issue_and_expire")
    def issue_and_expire() -> tuple[int, int]:
        db = Database(get_settings().database_url)
        try:
            return issue_due(db), expire_due(db)
        finally:
            db.dispose()
