"""Shared steps of the care tests: principals of the personas, registry people in care groups, volunteers with
accounts, profiles and pairings made through the services."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.accounts.models import User
from jiayuan.accounts.service import Principal, principal_of
from jiayuan.care import profiles
from jiayuan.care.models import CareProfile, Pairing
from jiayuan.kit.identity import id_check_char
from jiayuan.registry.service import people
from jiayuan.registry.models import Person
from jiayuan.units.service import grids_of_user
from jiayuan.volunteers import service as volunteers
from jiayuan.volunteers.models import Volunteer
from tests.personas import GRID_A, PERSONAS

DISTRICT = "360802"
VOLUNTEER_PASSWORD = "volunteer-pass-1"
_serial = itertools.count(1)


def principal(session: Session, persona: str) -> Principal:
    user = session.scalar(select(User).where(User.username == PERSONAS[persona].username))
    return principal_of(user, grids_of_user(session, user.id))


def user_principal(session: Session, username: str) -> Principal:
    user = session.scalar(select(User).where(User.username == username))
    return principal_of(user, grids_of_user(session, user.id))


def id_number(birth: str) -> str:
    first17 = f"{DISTRICT}{birth}{next(_serial) % 1000:03d}"
    return first17 + id_check_char(first17)


def make_person(session: Session, *, name: str | None = None, grid: str = GRID_A, tags: tuple[str, ...] = (),
                phone: str | None = "13800138000", birth: str | None = None,
                tag_start: date | None = None) -> Person:
    """A resident of `grid` registered by the community's staff, with the care groups `tags`."""
    staff = principal(session, "community")
    data: dict[str, Any] = {"name": name or f"老人{next(_serial)}", "grid_code": grid, "phone": phone}
    if birth:
        data["id_number"] = id_number(birth)
    person = people.create_person(session, staff, data)
    for tag in tags:
        people.add_tag(session, staff, person.id, tag, starts_on=tag_start or date(2020, 1, 1))
    return person


def make_volunteer(session: Session, *, username: str | None = None, grid: str = GRID_A) -> Volunteer:
    """A volunteer of the community, with an account (role volunteer) when `username` is given."""
    person = make_person(session, name=f"义工{next(_serial)}", grid=grid, phone=None)
    extra = {"username": username, "password": VOLUNTEER_PASSWORD} if username else {}
    return volunteers.create_volunteer(session, principal(session, "community"),
                                       {"person_id": person.id, **extra})


def in_care(session: Session, *, tags: tuple[str, ...] = ("living_alone",), started: date | None = None,
            persona: str = "grid_a", **person: Any) -> CareProfile:
    """A person living alone (by default) of grid A with an open care profile."""
    who = make_person(session, tags=tags, **person)
    return profiles.open_profile(session, principal(session, persona), who.id, today=started)


def paired(session: Session, profile: CareProfile, volunteer: Volunteer, started: date | None = None) -> Pairing:
    return profiles.pair(session, principal(session, "community"), profile.id, volunteer.id, started)
