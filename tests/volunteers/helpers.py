"""Shared steps of the volunteer and activity tests: principals of the personas, registry people and volunteer
profiles made through the services, and clean-up of what a concurrency test committed."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from jiayuan.accounts.models import User
from jiayuan.accounts.service import Principal, principal_of
from jiayuan.kit.db import utcnow
from jiayuan.registry.service import people
from jiayuan.registry.models import Person
from jiayuan.units.service import grids_of_user
from jiayuan.volunteers import service
from jiayuan.volunteers.models import Honour, HoursEntry, Opportunity, Signup, Volunteer
from tests.personas import GRID_A, PERSONAS

DISTRICT = "360802"
_serial = itertools.count(1)


def principal(session: Session, persona: str) -> Principal:
    user = session.scalar(select(User).where(User.username == PERSONAS[persona].username))
    return principal_of(user, grids_of_user(session, user.id))


def user_principal(session: Session, username: str) -> Principal:
    user = session.scalar(select(User).where(User.username == username))
    return principal_of(user, grids_of_user(session, user.id))


def make_person(session: Session, name: str | None = None, grid: str = GRID_A) -> Person:
    staff = principal(session, "community")
    return people.create_person(session, staff, {"name": name or f"志愿者{next(_serial)}", "grid_code": grid})


def make_volunteer(session: Session, *, team: str | None = "orange", username: str | None = None,
                   grid: str = GRID_A, **data: Any) -> Volunteer:
    """A volunteer of the persona community's staff, with an account when `username` is given."""
    person = make_person(session, grid=grid)
    extra = {"username": username, "password": "volunteer-pass-1"} if username else {}
    return service.create_volunteer(session, principal(session, "community"),
                                    {"person_id": person.id, "team_code": team, **extra, **data})


def credit(session: Session, volunteer: Volunteer, minutes: int, source_id: uuid.UUID | None = None,
           kind: str = "service") -> HoursEntry:
    return service.credit_hours(session, volunteer.id, volunteer.district_code, minutes, kind,
                                "test" if source_id else None, source_id)


def ledger_sum(session: Session, volunteer: Volunteer) -> int:
    rows = session.scalars(select(HoursEntry.minutes).where(HoursEntry.volunteer_id == volunteer.id)).all()
    return sum(rows)


def later(hours: float = 0, minutes: float = 0) -> datetime:
    return utcnow() + timedelta(hours=hours, minutes=minutes)


def remove_volunteers(session: Session, volunteer_ids: list[uuid.UUID]) -> None:
    """Delete committed volunteers and everything of theirs (for tests that commit)."""
    vols = list(session.scalars(select(Volunteer).where(Volunteer.id.in_(volunteer_ids))))
    session.execute(delete(Signup).where(Signup.volunteer_id.in_(volunteer_ids)))
    session.execute(delete(HoursEntry).where(HoursEntry.volunteer_id.in_(volunteer_ids)))
    session.execute(delete(Honour).where(Honour.volunteer_id.in_(volunteer_ids)))
    session.execute(delete(Volunteer).where(Volunteer.id.in_(volunteer_ids)))
    users = [v.user_id for v in vols if v.user_id]
    if users:
        session.execute(delete(User).where(User.id.in_(users)))
    session.execute(delete(Person).where(Person.id.in_([v.person_id for v in vols])))


def remove_opportunities(session: Session, ids: list[uuid.UUID]) -> None:
    session.execute(delete(Signup).where(Signup.opportunity_id.in_(ids)))
    session.execute(delete(Opportunity).where(Opportunity.id.in_(ids)))
