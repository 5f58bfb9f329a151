"""Grid profile (网格画像): counts of people, households, houses, facilities, organizations and open cases
for one unit — a grid, community, street or the district — within the caller's scope. Counts only, never
personal data."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from jiayuan.accounts.service import Principal
from jiayuan.cases.models import Case
from jiayuan.cases.workflow import OPEN
from jiayuan.kit.errors import NotFound
from jiayuan.kit.scope import Scope
from jiayuan.registry.models import (
    ORGANIZATION_KINDS,
    RESIDENCE_TYPES,
    ROOM_USES,
    TAGS,
    THING_KINDS,
    THING_STATUSES,
    Household,
    Organization,
    Person,
    PersonTag,
    Room,
    Thing,
)
from jiayuan.units import service as units


def _grouped(session: Session, stmt: Any, keys: tuple[str, ...]) -> dict[str, int]:
    """Every key of the vocabulary, zero when absent, from one grouped query."""
    counts = dict.fromkeys(keys, 0)
    for key, n in session.execute(stmt):
        counts[key] = counts.get(key, 0) + n
    return counts


def profile(session: Session, principal: Principal, unit_code: str, *, today: date | None = None) -> dict:
    """The figures of one unit the caller covers; any other unit is a 404, as if it did not exist."""
    code = units.check_code(unit_code, "unit_code")
    if not principal.scope.covers(code) or not units.unit_exists(session, code):
        raise NotFound(f"no unit {code} in your scope", field="unit_code")
    unit = Scope((code,))
    today = today or date.today()

    people = _grouped(session, select(Person.residence_type, func.count()).where(
        unit.where(Person), Person.anonymized_at.is_(None)).group_by(Person.residence_type), RESIDENCE_TYPES)
    # A tag counts while it is in force; a person is counted once per tag even if it was recorded twice.
    tags = _grouped(session, select(PersonTag.tag, func.count(PersonTag.person_id.distinct())).where(
        unit.where(PersonTag),
        or_(PersonTag.starts_on.is_(None), PersonTag.starts_on <= today),
        or_(PersonTag.ends_on.is_(None), PersonTag.ends_on >= today),
    ).group_by(PersonTag.tag), TAGS)
    households = session.scalar(select(func.count()).select_from(Household).where(unit.where(Household))) or 0
    rooms = _grouped(session, select(Room.use, func.count()).where(unit.where(Room)).group_by(Room.use),
                     ROOM_USES)

    things_by_kind = dict.fromkeys(THING_KINDS, 0)
    things_by_status = dict.fromkeys(THING_STATUSES, 0)
    for kind, status, n in session.execute(select(Thing.kind, Thing.status, func.count()).where(
            unit.where(Thing)).group_by(Thing.kind, Thing.status)):
        things_by_kind[kind] = things_by_kind.get(kind, 0) + n
        things_by_status[status] = things_by_status.get(status, 0) + n

    organizations = _grouped(session, select(Organization.kind, func.count()).where(
        unit.where(Organization), Organization.active.is_(True)).group_by(Organization.kind), ORGANIZATION_KINDS)
    # The caller covers the whole unit, so counting by where the cases arose matches what they can list.
    open_cases = session.scalar(select(func.count()).select_from(Case).where(
        unit.where(Case), Case.status.in_(OPEN))) or 0

    return {
        "unit_code": code,
        "people": {"total": sum(people.values()), "by_residence_type": people, "by_tag": tags},
        "households": households,
        "rooms": {"total": sum(rooms.values()), "by_use": rooms},
        "things": {"total": sum(things_by_kind.values()), "by_kind": things_by_kind, "by_status": things_by_status},
        "organizations": {"total": sum(organizations.values()), "by_kind": organizations},
        "open_cases": open_cases,
    }
