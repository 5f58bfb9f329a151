"""Reads of households (户) for other domains — the charity supermarket's counter and its monthly issue: find a
household in a unit by its head's name or its number (or, posted, a member's ID number), describe a few
households at once, and list the households of a unit with a member in given groups on a day. Each read is one
query; the caller has already decided that its user may work in `unit` (a code prefix)."""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import String, and_, func, literal, or_, select, union_all
from sqlalchemy.orm import Session, aliased

from jiayuan.kit.errors import Invalid
from jiayuan.kit.identity import parse_id_number
from jiayuan.kit.scope import under
from jiayuan.kit.text import search_term
from jiayuan.registry.models import TAGS, Building, Compound, Household, Person, PersonTag, Room
from jiayuan.accounts.service import Principal
from jiayuan.registry.people import lookups
from jiayuan.registry.people.service import DERIVED_TAGS, aged_cutoff, id_number_index, tag_active

_DIGITS = re.compile(r"[0-9]")


@dataclass(frozen=True)
class HouseholdCard:
    """What a desk needs to recognise a household: its number, head, address and size."""

    id: uuid.UUID
    district_code: str
    grid_code: str
    number: str | None
    head_name: str | None
    address: str
    members: int


def _in_unit(unit: str) -> Any:
    return under(Household.grid_code, unit, Household.district_code)


def _cards(session: Session, where: Any, limit: int | None = None) -> list[HouseholdCard]:
    head = aliased(Person)
    members = (select(func.count()).where(Person.district_code == Household.district_code,
                                         Person.household_id == Household.id, Person.anonymized_at.is_(None))
               .correlate(Household).scalar_subquery())
    stmt = (select(Household.id, Household.district_code, Household.grid_code, Household.number, head.name,
                   Compound.name, Building.name, Room.entrance, Room.number, members)
            .outerjoin(head, and_(head.district_code == Household.district_code, head.id == Household.head_id))
            .outerjoin(Room, and_(Room.district_code == Household.district_code, Room.id == Household.room_id))
            .outerjoin(Building, and_(Building.district_code == Room.district_code, Building.id == Room.building_id))
            .outerjoin(Compound, and_(Compound.district_code == Building.district_code,
                                      Compound.id == Building.compound_id))
            .where(where).order_by(head.name, Household.number, Household.id))
    if limit is not None:
        stmt = stmt.limit(limit)
    return [HouseholdCard(id=r[0], district_code=r[1], grid_code=r[2], number=r[3], head_name=r[4],
                          address=" ".join(p for p in (r[5], r[6], r[7], r[8]) if p), members=r[9] or 0)
            for r in session.execute(stmt)]


def find_households(session: Session, unit: str, q: str, limit: int = 20) -> list[HouseholdCard]:
    """Households of `unit` whose head's name (or its pinyin initials) contains `q`, or whose number is `q`."""
    text = search_term(unicodedata.normalize("NFKC", q or ""))
    if not text:
        raise Invalid("Type a name or a household number", field="q", reason="required")
    head = aliased(Person)
    clauses = [Household.number == text]
    if not text.isdigit():
        clauses.append(Household.head_id.in_(
            select(head.id).where(under(head.grid_code, unit, head.district_code),
                                  or_(head.name.contains(text, autoescape=True),
                                      *([head.name_initials.startswith(text.upper(), autoescape=True)]
                                        if text.isascii() and text.isalpha() else [])))))
    return _cards(session, and_(_in_unit(unit), or_(*clauses)), limit)


def household_by_id_number(session: Session, unit: str, id_number: str) -> HouseholdCard | None:
    """The household of `unit` a person with this citizen ID number belongs to (exact, through the blind index).
    The number must reach here in a request body, never in a URL."""
    try:
        number = parse_id_number(id_number.replace("\x00", ""), field="id_number").value
    except Invalid:
        return None  # a mistyped number matches no one
    member = select(Person.household_id).where(Person.district_code == unit[:6],
                                               Person.id_number_index == id_number_index(number))
    found = _cards(session, and_(_in_unit(unit), Household.id.in_(member)), 1)
    return found[0] if found else None


def look_up_household(session: Session, principal: Principal, unit: str, id_number: str, *, purpose: str,
                      ip: str | None = None) -> HouseholdCard | None:
    """`household_by_id_number` as the exact look-up of a person it is (lookups.py): refused while the account's
    look-ups are locked, audited with the desk's `purpose`, counted when it finds no one."""
    lookups.refuse_if_locked(session, principal, field="id_number", what="household")
    card = household_by_id_number(session, unit, id_number)
    lookups.found(session, principal, "id_number", purpose, [card.id] if card else [], ip=ip, kind="households")
    return card


def household_cards(session: Session, district: str, household_ids: Collection[uuid.UUID]
                    ) -> dict[uuid.UUID, HouseholdCard]:
    if not household_ids:
        return {}
    return {c.id: c for c in _cards(session, and_(Household.district_code == district,
                                                  Household.id.in_(list(household_ids))))}


def household_of_person(session: Session, district: str, person_id: uuid.UUID) -> HouseholdCard | None:
    member = select(Person.household_id).where(Person.district_code == district, Person.id == person_id)
    found = _cards(session, and_(Household.district_code == district, Household.id.in_(member)), 1)
    return found[0] if found else None


def households_with_tags(session: Session, unit: str, tags: Collection[str], on: date
                         ) -> dict[uuid.UUID, tuple[str, set[str]]]:
    """household id → (its grid, which of `tags` its members hold on `on`), for the households of `unit` with
    at least one such member. Stored tags count when in force that day; the age groups follow from birth dates.
    People who were anonymized are no longer anyone and count for nothing."""
    unknown = [t for t in tags if t not in TAGS]
    if unknown:
        raise Invalid(f"tag must be one of {', '.join(TAGS)}", field="tag")
    member = and_(Person.district_code == Household.district_code, Person.household_id == Household.id,
                  Person.anonymized_at.is_(None))
    parts = []
    stored = [t for t in tags if t not in DERIVED_TAGS]
    if stored:
        parts.append(select(Household.id, Household.grid_code, PersonTag.tag.label("tag"))
                     .join(Person, member)
                     .join(PersonTag, and_(PersonTag.district_code == Person.district_code,
                                           PersonTag.person_id == Person.id))
                     .where(_in_unit(unit), PersonTag.tag.in_(stored), tag_active(on)))
    for tag in (t for t in tags if t in DERIVED_TAGS):
        parts.append(select(Household.id, Household.grid_code, literal(tag, String(20)).label("tag"))
                     .join(Person, member)
                     .where(_in_unit(unit), Person.birth_date <= aged_cutoff(on, DERIVED_TAGS[tag])))
    if not parts:
        return {}
    found: dict[uuid.UUID, tuple[str, set[str]]] = {}
    stmt = union_all(*parts) if len(parts) > 1 else parts[0]
    for household_id, grid, tag in session.execute(stmt):
        found.setdefault(household_id, (grid, set()))[1].add(tag)
    return found


def looks_personal(q: str) -> bool:
    """Eleven digits or more could be an ID number or a phone, and must not travel in a URL (household numbers
    are shorter)."""
    return len(_DIGITS.findall(unicodedata.normalize("NFKC", q or ""))) >= 11
