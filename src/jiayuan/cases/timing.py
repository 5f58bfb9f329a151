"""Time limits of a case's stages, in working hours on the district's calendar (calendar hours when urgent)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from jiayuan.cases import calendar
from jiayuan.cases.models import Category
from jiayuan.cases.workflow import ACCEPTED, CHECKING, DISPATCHED, HANDLED, IN_PROGRESS, REGISTERED, REPORTED

# Working hours each stage may take before it is overdue (handling takes the category's own limit).
STAGE_HOURS = {REPORTED: 2, ACCEPTED: 2, REGISTERED: 2, HANDLED: 8, CHECKING: 8}
URGENT_STAGE_HOURS = {REPORTED: 0.5, ACCEPTED: 0.5, REGISTERED: 0.5, HANDLED: 2, CHECKING: 2}


def handling_due(session: Session, start: datetime, category: Category, urgent: bool) -> datetime:
    return calendar.calendar_for(session).due_at(start, category.time_limit_hours, urgent)


def stage_due(session: Session, start: datetime, status: str, category: Category, urgent: bool,
              handling_due_at: datetime | None = None) -> datetime | None:
    """When the stage the case has just entered is overdue; None for states without a limit."""
    if status in (DISPATCHED, IN_PROGRESS):
        return handling_due_at or handling_due(session, start, category, urgent)
    hours = (URGENT_STAGE_HOURS if urgent else STAGE_HOURS).get(status)
    if hours is None:
        return None
    return calendar.calendar_for(session).due_at(start, hours, urgent)


def hours_between(session: Session, start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round(calendar.calendar_for(session).working_hours_between(start, end), 2)


def light(session: Session, started: datetime | None, due: datetime | None, now: datetime, *, urgent: bool = False,
          cal: calendar.WorkCalendar | None = None) -> str | None:
    """green / yellow / red: under 80 %, 80–100 %, over 100 % of the stage's time used (pass `cal` when
    colouring a list, so that the calendar's version is checked once, not per row)."""
    if started is None or due is None:
        return None
    return calendar.traffic_light(started, due, now, cal or calendar.calendar_for(session), urgent=urgent)
