"""The worker's charity job: the month's issue at every open supermarket (once, however often it runs) and the
expiry; and that the worker registers it."""

from __future__ import annotations

from datetime import date, datetime

from huey import MemoryHuey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiayuan.charity import tasks
from jiayuan.charity.models import IssueRun, PointsEntry
from tests.charity.helpers import beijing, world


def test_the_hourly_job_issues_each_month_once_and_expires(db, session: Session) -> None:
    w = world(session)
    session.commit()
    january = beijing(date(2026, 1, 1), 0, 5)
    assert tasks.issue_due(db, now=january) == 1
    assert tasks.issue_due(db, now=beijing(date(2026, 1, 1), 1, 5)) == 0  # the next hour: done already
    runs = session.scalars(select(IssueRun).where(IssueRun.supermarket_id == w.supermarket.id)).all()
    assert [(r.month, r.households, r.points) for r in runs] == [(date(2026, 1, 1), 2, 50 + 70)]
    # On 1 February the disability lot of January (valid one month) is written off, and February issued.
    february = beijing(date(2026, 2, 1), 0, 5)
    assert tasks.expire_due(db, now=february) == 1
    assert tasks.issue_due(db, now=february) == 1
    assert session.scalar(select(func.sum(PointsEntry.points)).where(PointsEntry.kind == "expire")) == -20
    assert tasks.expire_due(db, now=february) == 0


def test_the_worker_registers_the_job() -> None:
    huey = MemoryHuey("test", immediate=True)
    tasks.register(huey)
    # Five past every hour (huey reads its crontab in UTC: 00:05 Beijing time is among them).
    assert [t.name for t in huey.read_periodic(datetime(2026, 1, 1, 16, 5))] == ["charity.issue_and_expire"]
    assert [t.name for t in huey.read_periodic(datetime(2026, 1, 1, 16, 6))] == []
