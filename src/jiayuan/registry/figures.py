"""The registry's grouped figures for one unit (a grid, community, street or the district): people by residence
type and group, households, rooms by use, facilities by kind and status, organizations by kind. Counts only, never
personal data; the grid profile (stats.grid_profile) reads them after checking the caller's scope."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

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
from jiayuan.registry.people import service as people_service


def _grouped(session: Session, stmt: Any, keys: tuple[str, ...]) -> dict[str, int]:
    """Every key of the vocabulary, zero when absent, from one grouped query."""
    counts = dict.fromkeys(keys, 0)
    for key, n in session.execute(stmt):
        counts[key] = counts.get(key, 0) + n
    return counts


def unit_figures(session: Session, code: str, today: date) -> dict[str, Any]:
    """The figures of the unit `code` and everything under it (the caller has checked that it may see them)."""
    unit = Scope((code,))

    living = (unit.where(Person), Person.anonymized_at.is_(None))
    people = _grouped(session, select(Person.residence_type, func.count()).where(*living)
                      .group_by(Person.residence_type), RESIDENCE_TYPES)
    # Counted by the same rules as the people list filters them (its links drill down to it): a stored tag
    # while it is in force, once per person however often recorded; an age group from the birth date.
    tags = _grouped(session, select(PersonTag.tag, func.count(Person.id.distinct())).join(
        Person, and_(Person.district_code == PersonTag.district_code, Person.id == PersonTag.person_id)).where(
        *living, people_service.tag_active(today), PersonTag.tag.not_in(tuple(people_service.DERIVED_TAGS)),
    ).group_by(PersonTag.tag), TAGS)
    for tag, years in people_service.DERIVED_TAGS.items():
        tags[tag] = session.scalar(select(func.count()).select_from(Person).where(
            *living, Person.birth_date <= people_service.aged_cutoff(today, years))) or 0
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

    return {
        "people": {"total": sum(people.values()), "by_residence_type": people, "by_tag": tags},
        "households": households,
        "rooms": {"total": sum(rooms.values()), "by_use": rooms},
        "things": {"total": sum(things_by_kind.values()), "by_kind": things_by_kind, "by_status": things_by_status},
        "organizations": {"total": sum(organizations.values()), "by_kind": organizations},
    }


def people_by_child(session: Session, code: str) -> dict[str, int]:
    """People (not anonymized) in each unit directly below `code` — a community's grids, a street's
    communities — for the profile's table of child units; one grouped query over the unit's grids."""
    child_length = {6: 9, 9: 12, 12: 15}.get(len(code))
    if child_length is None:
        return {}
    counts: dict[str, int] = {}
    for grid, n in session.execute(select(Person.grid_code, func.count()).where(
            Scope((code,)).where(Person), Person.anonymized_at.is_(None)).group_by(Person.grid_code)):
        counts[grid[:child_length]] = counts.get(grid[:child_length], 0) + n
    return counts
