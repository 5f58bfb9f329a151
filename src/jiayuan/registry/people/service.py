"""Use cases of people (人): register, tag, group into households, move, search, unmask, export, anonymize."""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from pypinyin import Style, lazy_pinyin
from sqlalchemy import and_, func, literal_column, or_, select, true, update
from sqlalchemy.orm import Session

from jiayuan.accounts import service as accounts
from jiayuan.accounts.service import Principal
from jiayuan.kit.crypto import blind_index
from jiayuan.kit.db import utcnow
from jiayuan.kit.errors import Conflict, Invalid, NotFound
from jiayuan.kit.identity import mask_id_number, mask_phone, parse_id_number, parse_mobile
from jiayuan.kit.scope import under
from jiayuan.kit.text import REASON_MIN_LETTERS, clean_text, meaningful_reason, search_term
from jiayuan.registry.models import (
    LONG_NAME,
    RESIDENCE_TYPES,
    TAGS,
    Building,
    Compound,
    Household,
    Person,
    PersonMove,
    PersonTag,
    Room,
    name_from,
)
from jiayuan.registry.people import erasure, lookups, policy
from jiayuan.registry.people.erasure import ANONYMIZED_NAME as ANONYMIZED_NAME
from jiayuan.registry.people.erasure import ERASE_HOOKS as ERASE_HOOKS
from jiayuan.registry.people.erasure import Erasure as Erasure
from jiayuan.units import service as units

ID_CONTEXT = "people.id_number"
PHONE_CONTEXT = "people.phone"
NAME_MAX = 60
# Age groups follow from the birth date, so they are computed when reading, never stored: a stored tag
# would go stale on the person's birthday.
DERIVED_TAGS = {"aged_60": 60, "aged_80": 80}
GRADED_TAGS = frozenset({"disabled"})
UNMASK_FIELDS = policy.UNMASKED_FIELDS
MIN_REASON = REASON_MIN_LETTERS
_INITIALS = re.compile(r"[A-Za-z]+")
# Called as hook(session, district, person_ids, to_grid) after people move to another grid (one by one, or in bulk by
# an import): other domains that keep rows about a person in that person's grid (care) register here, so that the
# registry need not know them.
MOVE_HOOKS: list[Callable[[Session, str, list[uuid.UUID], str], None]] = []


def moved(session: Session, district: str, person_ids: list[uuid.UUID], to_grid: str) -> None:
    """Tell the other domains that these people now live in `to_grid`."""
    for hook in MOVE_HOOKS:
        hook(session, district, person_ids, to_grid)


# --- Normalisation shared by writing and searching: blind indexes only match what was normalised alike ---


def id_number_index(normalised: str) -> str:
    return blind_index(normalised, context=ID_CONTEXT)


def phone_index(normalised: str) -> str:
    return blind_index(normalised, context=PHONE_CONTEXT)


def name_initials(name: str) -> str:
    """张三丰 → ZSF; Latin words keep their first letter (Tom Lee → TL); digits and punctuation are dropped."""
    letters = []
    for part in lazy_pinyin(name, style=Style.FIRST_LETTER, errors="default"):
        # Non-Han runs come back whole ("Tom Lee"): one letter per word, like the Han characters.
        letters.extend(word[0] for word in _INITIALS.findall(part))
    return "".join(letters).upper()[:30]


def _clean_name(value: Any) -> str:
    """A name as typed, full-width letters folded (the same rule as every text field, with NFKC)."""
    return clean_text(value, "name", NAME_MAX, required=True, nfkc=True) or ""


def age_on(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def aged_cutoff(on: date, years: int) -> date:
    """The latest birth date of someone who is `years` old or more on `on`."""
    # 29 February has no twin in most years: someone born then turns N on 1 March.
    try:
        return on.replace(year=on.year - years)
    except ValueError:
        return on.replace(year=on.year - years, month=2, day=28)


# --- Checks of what is written ------------------------------------------------------------------


def _check_grid(session: Session, principal: Principal, code: Any, field: str = "grid_code") -> str:
    code = units.check_code(code, field)
    if units.level_of(code) != "grid":
        raise Invalid("a person belongs to a grid (a 15-digit code)", field=field)
    if not principal.scope.covers(code):
        raise Invalid("this grid is outside your scope", field=field)
    if not units.unit_exists(session, code):
        raise Invalid("no such grid", field=field, reason="not_found")
    return code


def _check_room(session: Session, district: str, grid_code: str, room_id: uuid.UUID | None,
                field: str = "room_id") -> uuid.UUID | None:
    if room_id is None:
        return None
    room_grid = session.scalar(select(Room.grid_code).where(Room.district_code == district, Room.id == room_id))
    if room_grid is None:
        raise Invalid("no such room", field=field, reason="not_found")
    if room_grid != grid_code:
        raise Invalid("the room is in another grid", field=field, reason="other_grid")
    return room_id


# --- Create and update ---------------------------------------------------------------------------


def _set_id_number(session: Session, principal: Principal, person: Person, value: Any, district: str) -> None:
    if value is None or (isinstance(value, str) and not value.strip()):
        person.id_number = person.id_number_index = person.birth_date = person.sex = None
        return
    parsed = parse_id_number(value, field="id_number")
    index = id_number_index(parsed.value)
    if index == person.id_number_index:
        return  # the number the person already has: nothing is asked of the register
    # Whether a number is taken is what an exact look-up answers: a locked account may not ask it this way either.
    lookups.refuse_if_locked(session, principal, field="id_number", what="registration")
    others = Person.id != person.id if person.id is not None else true()  # a new person has no id until flushed
    taken = session.scalar(select(Person.id).where(
        Person.district_code == district, Person.id_number_index == index, others))
    if taken is not None:
        lookups.number_taken(session, principal)
        # Says nothing about who holds it, nor where: the caller may not be allowed to see that person.
        raise Conflict("a person with this ID number is already registered in the district", field="id_number")
    person.id_number, person.id_number_index = parsed.value, index
    person.birth_date, person.sex = parsed.birth_date, parsed.sex


def _set_phone(person: Person, value: Any) -> None:
    if value is None or (isinstance(value, str) and not value.strip()):
        person.phone = person.phone_index = None
        return
    phone = parse_mobile(value, field="phone")
    person.phone, person.phone_index = phone, phone_index(phone)


def _set_residence(person: Person, residence_type: Any, expires: date | None) -> None:
    if residence_type not in RESIDENCE_TYPES:
        raise Invalid(f"residence type must be one of {', '.join(RESIDENCE_TYPES)}", field="residence_type")
    if residence_type == "floating" and expires is None:
        raise Invalid("a floating resident is registered with an expiry date", field="floating_expires_on")
    person.residence_type = residence_type
    person.floating_expires_on = expires if residence_type == "floating" else None


def create_person(session: Session, principal: Principal, data: dict[str, Any]) -> Person:
    """Register a resident in a grid of the caller's scope. Every field is checked before anything is added."""
    name = _clean_name(data.get("name"))
    grid = _check_grid(session, principal, data.get("grid_code"))
    district = grid[:6]
    person = Person(district_code=district, grid_code=grid, name=name, name_initials=name_initials(name),
                    notes=data.get("notes"))
    _set_id_number(session, principal, person, data.get("id_number"), district)
    _set_phone(person, data.get("phone"))
    _set_residence(person, data.get("residence_type") or "registered", data.get("floating_expires_on"))
    person.room_id = _check_room(session, district, grid, data.get("room_id"))
    session.add(person)
    session.flush()
    accounts.audit_for(session, principal, "person_created", target=str(person.id))
    return person


def update_person(session: Session, principal: Principal, person_id: uuid.UUID, data: dict[str, Any]) -> Person:
    """Change the fields given in `data` (a PATCH: absent keys stay). The grid changes only by a move."""
    person = get_person(session, principal, person_id)
    if person.anonymized_at is not None:
        raise Conflict("this person has been anonymized", field="anonymized_at")
    if "name" in data:
        person.name = _clean_name(data["name"])
        person.name_initials = name_initials(person.name)
    if "id_number" in data:
        _set_id_number(session, principal, person, data["id_number"], person.district_code)
    if "phone" in data:
        _set_phone(person, data["phone"])
    if "residence_type" in data or "floating_expires_on" in data:
        _set_residence(person, data.get("residence_type") or person.residence_type,
                       data.get("floating_expires_on", person.floating_expires_on))
    if "room_id" in data:
        person.room_id = _check_room(session, person.district_code, person.grid_code, data["room_id"])
    if "notes" in data:
        person.notes = data["notes"]
    session.flush()
    return person


# --- Reading -------------------------------------------------------------------------------------


def get_person(session: Session, principal: Principal, person_id: uuid.UUID) -> Person:
    """A person in the caller's scope; outside it the person does not exist for them (404, never 403)."""
    person = session.scalar(select(Person).where(policy.visible(principal, Person), Person.id == person_id))
    if person is None:
        raise NotFound("no such person", field="id")
    return person


def tag_active(today: date) -> Any:
    """A tag in force on `today` (the profile counts by the same rule)."""
    return and_(or_(PersonTag.starts_on.is_(None), PersonTag.starts_on <= today),
                or_(PersonTag.ends_on.is_(None), PersonTag.ends_on >= today))


def _people_statement(session: Session, principal: Principal, *, grid: str | None, tag: str | None, residence_type: str | None,
                      q: str | None, today: date) -> Any:
    """The filtered people in the caller's scope; anonymized records are no longer anyone and stay out, as
    the grid profile leaves them out of its counts (its figures link to these lists)."""
    stmt = select(Person).where(policy.visible(principal, Person), Person.anonymized_at.is_(None))
    if grid is not None:
        units.check_code(grid, "grid")
        stmt = stmt.where(under(Person.grid_code, grid, Person.district_code))  # the grid or a unit above
    if residence_type is not None:
        if residence_type not in RESIDENCE_TYPES:
            raise Invalid(f"residence type must be one of {', '.join(RESIDENCE_TYPES)}", field="residence_type")
        stmt = stmt.where(Person.residence_type == residence_type)
    if tag is not None:
        if tag not in TAGS:
            raise Invalid(f"tag must be one of {', '.join(TAGS)}", field="tag")
        if tag in DERIVED_TAGS:
            stmt = stmt.where(Person.birth_date <= aged_cutoff(today, DERIVED_TAGS[tag]))
        else:
            # An uncorrelated IN: the tag's few thousand rows are read once through their index. (A correlated
            # EXISTS made SQLite scan them again for each of a district's 225,000 people.)
            stmt = stmt.where(Person.id.in_(select(PersonTag.person_id).where(
                policy.visible(principal, PersonTag), PersonTag.tag == tag, tag_active(today))))
    if q:
        stmt = stmt.where(_name_clause(session, principal, q))
    return stmt


def list_people(session: Session, principal: Principal, *, grid: str | None = None, tag: str | None = None,
                residence_type: str | None = None, q: str | None = None, limit: int = 50, offset: int = 0,
                today: date | None = None) -> list[Person]:
    """People in the caller's scope, filtered; `q` searches names and initials only (it travels in a URL)."""
    stmt = _people_statement(session, principal, grid=grid, tag=tag, residence_type=residence_type, q=q,
                             today=today or date.today())
    # In pinyin order, as a Chinese register is read (Unicode order would scatter the same surname).
    order = (Person.name_initials, Person.name, Person.id)
    return list(session.scalars(stmt.order_by(*order).limit(limit).offset(offset)))


def count_people(session: Session, principal: Principal, *, grid: str | None = None, tag: str | None = None,
                 residence_type: str | None = None, q: str | None = None, today: date | None = None) -> int:
    """How many people `list_people` would page through with the same filters."""
    stmt = _people_statement(session, principal, grid=grid, tag=tag, residence_type=residence_type, q=q,
                             today=today or date.today())
    return session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0


# The rooms of the compounds an address query matches are listed in the query up to this many (an index look-up
# each); beyond, they are a subquery.
MAX_LISTED_ROOMS = 5000


def _name_clause(session: Session, principal: Principal, q: str) -> Any:
    """A name, pinyin initials, or an address: the compound's name or street address the person lives at.

    A name matches where the query occurs in it: from its 1st, 2nd or 3rd character (every place in a name of up
    to three), or anywhere in a longer one (compound surnames, names of minorities and foreigners: a few in a
    hundred). Each arm of the OR has an index of its own (registry/models.py), and the rooms of matching
    compounds are found first, so that PostgreSQL combines index scans rather than reading every person of the
    district (bench/registry.py: 5,000,000 people)."""
    text = search_term(unicodedata.normalize("NFKC", q)) or ""  # bounded: every arm below is built from it
    clauses = [Person.name.startswith(text, autoescape=True),
               name_from(2).startswith(text, autoescape=True),
               name_from(3).startswith(text, autoescape=True),
               and_(func.length(Person.name) > literal_column(str(LONG_NAME)),
                    Person.name.contains(text, autoescape=True))]
    if text.isascii() and text.isalpha():
        clauses.append(Person.name_initials.startswith(text.upper(), autoescape=True))
    if len(text) >= 2:  # one character would match half the district's compounds
        rooms = (select(Room.id).join(Building, and_(Building.district_code == Room.district_code,
                                                     Building.id == Room.building_id))
                 .join(Compound, and_(Compound.district_code == Building.district_code,
                                      Compound.id == Building.compound_id))
                 .where(policy.visible(principal, Room),
                        or_(Compound.name.contains(text, autoescape=True),
                            Compound.address.contains(text, autoescape=True))))
        found = list(session.scalars(rooms.limit(MAX_LISTED_ROOMS + 1)))
        if len(found) > MAX_LISTED_ROOMS:  # a word in many addresses: the subquery, slower but whole
            clauses.append(Person.room_id.in_(rooms))
        elif found:
            clauses.append(Person.room_id.in_(found))
    return or_(*clauses)


def looks_personal(q: str) -> bool:
    """True for a query that could be an ID number or phone: such queries must not travel in a URL."""
    return sum(c.isdigit() for c in unicodedata.normalize("NFKC", q)) >= 6


def exact_kind(q: str) -> str | None:
    """"id_number" or "phone" when `q` is searched exactly (an audited look-up), else None (a name search)."""
    compact = re.sub(r"[\s-]+", "", unicodedata.normalize("NFKC", q or "").strip()).upper()
    if re.fullmatch(r"[0-9]{17}[0-9X]", compact):
        return "id_number"
    if re.fullmatch(r"\+?[0-9]{11,13}", compact):
        return "phone"
    return None


def search(session: Session, principal: Principal, q: str, limit: int = 20, *, reason: Any = None,
           ip: str | None = None) -> list[Person]:
    """By ID number or phone (exact, through the blind index), else by name, pinyin initials or address; in
    scope. An exact look-up needs a reason, is audited with it and counted when it finds no one (lookups.py)."""
    text = unicodedata.normalize("NFKC", q or "").strip()
    if not text:
        raise Invalid("Type something to search for", field="q")
    stmt = select(Person).where(policy.visible(principal, Person))
    kind = exact_kind(text)
    if kind is None:
        stmt = stmt.where(_name_clause(session, principal, text))
        return list(session.scalars(stmt.order_by(Person.name, Person.id).limit(limit)))
    why = lookups.reason_for(reason)
    lookups.refuse_if_locked(session, principal, field="q", what=kind)
    compact = re.sub(r"[\s-]+", "", text).upper()
    try:
        if kind == "id_number":
            stmt = stmt.where(Person.id_number_index == id_number_index(parse_id_number(compact, field="q").value))
        else:
            stmt = stmt.where(Person.phone_index == phone_index(parse_mobile(compact, field="q")))
    except Invalid:
        found: list[Person] = []  # a mistyped number matches no one; saying why would help guessing
    else:
        found = list(session.scalars(stmt.order_by(Person.name, Person.id).limit(limit)))
    lookups.found(session, principal, kind, why, [p.id for p in found], ip=ip)
    return found


def search_names(session: Session, principal: Principal, q: str, limit: int = 20) -> list[Person]:
    """By name, pinyin initials or address only, in scope: for a query that came in a URL, where a number finds no
    one (an exact look-up is posted, with a reason: `search`)."""
    text = unicodedata.normalize("NFKC", q or "").strip()
    if not text or looks_personal(text):
        return []
    stmt = select(Person).where(policy.visible(principal, Person), _name_clause(session, principal, text))
    return list(session.scalars(stmt.order_by(Person.name, Person.id).limit(limit)))


def tags_of(session: Session, people: Sequence[Person]) -> dict[uuid.UUID, list[PersonTag]]:
    if not people:
        return {}
    rows = session.scalars(select(PersonTag).where(
        PersonTag.district_code.in_({p.district_code for p in people}),
        PersonTag.person_id.in_([p.id for p in people])).order_by(PersonTag.starts_on))
    found: dict[uuid.UUID, list[PersonTag]] = {p.id: [] for p in people}
    for tag in rows:
        found[tag.person_id].append(tag)
    return found


def current_tags(person: Person, tags: Sequence[PersonTag], today: date | None = None) -> list[str]:
    """The groups a person is in today: stored tags in force plus the age groups from the birth date."""
    today = today or date.today()
    names = {t.tag for t in tags if (t.starts_on is None or t.starts_on <= today)
             and (t.ends_on is None or t.ends_on >= today)}
    if person.birth_date is not None:
        age = age_on(person.birth_date, today)
        names.update(tag for tag, years in DERIVED_TAGS.items() if age >= years)
    return [t for t in TAGS if t in names]


def moves_of(session: Session, principal: Principal, person_id: uuid.UUID) -> list[PersonMove]:
    person = get_person(session, principal, person_id)
    return list(session.scalars(select(PersonMove).where(
        PersonMove.district_code == person.district_code, PersonMove.person_id == person.id
    ).order_by(PersonMove.moved_at, PersonMove.id)))


def masked(person: Person) -> dict[str, str | None]:
    """The personal fields as every list and page shows them."""
    return {"id_number": mask_id_number(person.id_number) if person.id_number else None,
            "phone": mask_phone(person.phone) if person.phone else None}


def facts(person: Person, today: date | None = None) -> dict[str, Any]:
    """What every role that reads the register sees of a person's birth (policy.py): the sex, the age and the
    year of birth; the full birth date only in an unmasked view."""
    birth = person.birth_date
    return {"sex": person.sex, "age": age_on(birth, today or date.today()) if birth else None,
            "birth_year": birth.year if birth else None}


# --- Tags ----------------------------------------------------------------------------------------


def add_tag(session: Session, principal: Principal, person_id: uuid.UUID, tag: str, starts_on: date | None = None,
            ends_on: date | None = None, grade: str | None = None, note: str | None = None) -> PersonTag:
    person = get_person(session, principal, person_id)
    if tag not in TAGS:
        raise Invalid(f"tag must be one of {', '.join(TAGS)}", field="tag")
    if tag in DERIVED_TAGS:
        raise Invalid("age groups follow from the birth date in the ID number", field="tag", reason="derived_tag")
    if grade and tag not in GRADED_TAGS:
        raise Invalid("only a disability carries a grade", field="grade")
    if starts_on and ends_on and ends_on < starts_on:
        raise Invalid("the end date is before the start date", field="ends_on", reason="end_before_start")
    row = PersonTag(district_code=person.district_code, person_id=person.id, grid_code=person.grid_code, tag=tag,
                    grade=grade or None, starts_on=starts_on or date.today(), ends_on=ends_on, note=note)
    session.add(row)
    session.flush()
    return row


def end_tag(session: Session, principal: Principal, person_id: uuid.UUID, tag_id: uuid.UUID,
            ends_on: date | None = None) -> PersonTag:
    person = get_person(session, principal, person_id)
    row = session.scalar(select(PersonTag).where(PersonTag.district_code == person.district_code,
                                                 PersonTag.person_id == person.id, PersonTag.id == tag_id))
    if row is None:
        raise NotFound("no such tag", field="tag_id")
    ends_on = ends_on or date.today()
    if row.starts_on and ends_on < row.starts_on:
        raise Invalid("the end date is before the start date", field="ends_on", reason="end_before_start")
    row.ends_on = ends_on
    session.flush()
    return row


# --- Households ----------------------------------------------------------------------------------


def create_household(session: Session, principal: Principal, grid_code: str, number: str | None = None,
                     room_id: uuid.UUID | None = None) -> Household:
    grid = _check_grid(session, principal, grid_code)
    household = Household(district_code=grid[:6], grid_code=grid, number=number or None,
                          room_id=_check_room(session, grid[:6], grid, room_id))
    session.add(household)
    session.flush()
    return household


def get_household(session: Session, principal: Principal, household_id: uuid.UUID) -> Household:
    household = session.scalar(select(Household).where(policy.visible(principal, Household),
                                                       Household.id == household_id))
    if household is None:
        raise NotFound("no such household", field="household_id")
    return household


def add_member(session: Session, principal: Principal, person_id: uuid.UUID, household_id: uuid.UUID,
               relation: str, *, head: bool = False) -> Person:
    """Put a person into a household with their relation to the head (户主, 配偶, 子女 …); `head` makes them it."""
    person = get_person(session, principal, person_id)
    household = get_household(session, principal, household_id)
    if person.district_code != household.district_code:
        raise Invalid("the household is in another district", field="household_id")
    relation = (relation or "").strip()
    if not relation or len(relation) > 20:
        raise Invalid("the relation to the head is required (at most 20 characters)", field="relation")
    person.household_id, person.relation = household.id, relation
    if head:
        household.head_id = person.id
    session.flush()
    return person


def households_in(session: Session, principal: Principal, grid: str, limit: int = 300
                  ) -> list[tuple[Household, str | None]]:
    """The households of a grid in the caller's scope, each with its head's name, to choose one to join."""
    rows = session.execute(select(Household, Person.name).outerjoin(Person, and_(
        Person.district_code == Household.district_code, Person.id == Household.head_id)).where(
        policy.visible(principal, Household), Household.grid_code == grid).order_by(
        Person.name, Household.number, Household.id).limit(limit))
    return [(household, name) for household, name in rows]


def members_of(session: Session, principal: Principal, household_id: uuid.UUID) -> list[Person]:
    household = get_household(session, principal, household_id)
    return list(session.scalars(select(Person).where(
        Person.district_code == household.district_code, Person.household_id == household.id).order_by(Person.name)))


# --- Moves ---------------------------------------------------------------------------------------


def move_person(session: Session, principal: Principal, person_id: uuid.UUID, to_grid: str,
                to_room_id: uuid.UUID | None = None, note: str | None = None) -> PersonMove:
    """Record a move and re-home the person (and their tags) in the new grid.

    The person must be in the caller's scope; the new grid need only exist in the same district, because the
    worker who learns of a move-out is the old grid's, who cannot see the new grid.
    """
    person = get_person(session, principal, person_id)
    to_grid = units.check_code(to_grid, "to_grid")
    if units.level_of(to_grid) != "grid" or not units.unit_exists(session, to_grid):
        raise Invalid("no such grid", field="to_grid", reason="not_found")
    if to_grid[:6] != person.district_code:
        raise Invalid("moves between districts are a move-out and a new registration", field="to_grid")
    room = _check_room(session, person.district_code, to_grid, to_room_id, "to_room_id")
    if to_grid == person.grid_code and room == person.room_id:
        raise Invalid("the person already lives there", field="to_grid", reason="already_there")
    move = PersonMove(district_code=person.district_code, person_id=person.id, moved_at=utcnow(),
                      from_grid=person.grid_code, to_grid=to_grid, from_room_id=person.room_id, to_room_id=room,
                      actor_id=principal.user_id, note=(note or None))
    session.add(move)
    if to_grid != person.grid_code:
        session.execute(update(PersonTag).where(PersonTag.district_code == person.district_code,
                                                PersonTag.person_id == person.id).values(grid_code=to_grid))
    from_grid = person.grid_code
    person.grid_code, person.room_id = to_grid, room
    session.flush()
    if to_grid != from_grid:
        moved(session, person.district_code, [person.id], to_grid)
    return move


# --- Unmask, export, anonymize -------------------------------------------------------------------


def unmask(session: Session, principal: Principal, person_id: uuid.UUID, reason: str,
           fields: Sequence[str] = UNMASK_FIELDS) -> dict[str, Any]:
    """The plain values of `fields`, after writing who asked, for whom, when and why to the audit log."""
    person = get_person(session, principal, person_id)
    if not policy.may_unmask(principal):
        accounts.audit_for(session, principal, "unmask_refused", target=str(person.id))
        policy.require_unmasker(principal)
    why = meaningful_reason(reason)
    wanted = list(dict.fromkeys(fields))
    if not wanted or any(f not in UNMASK_FIELDS for f in wanted):
        raise Invalid(f"fields must be among {', '.join(UNMASK_FIELDS)}", field="fields")
    accounts.audit_for(session, principal, "person_unmasked", target=str(person.id),
                       detail={"reason": why, "fields": wanted})
    return {f: getattr(person, f) for f in wanted}


@dataclass
class PersonExport:
    person: Person
    tags: list[PersonTag]
    moves: list[PersonMove]
    household: Household | None


def export_person(session: Session, principal: Principal, person_id: uuid.UUID) -> PersonExport:
    """Everything held about one person (a data-subject request), unmasked; district admin only, audited."""
    policy.require_administrator(principal)
    person = get_person(session, principal, person_id)
    accounts.audit_for(session, principal, "person_exported", target=str(person.id))
    household = (session.scalar(select(Household).where(Household.district_code == person.district_code,
                                                        Household.id == person.household_id))
                 if person.household_id else None)
    return PersonExport(person=person, tags=tags_of(session, [person])[person.id],
                        moves=moves_of(session, principal, person.id), household=household)


def anonymize_person(session: Session, principal: Principal, person_id: uuid.UUID, reason: str) -> Person:
    """Erase who the person is on a lawful request, here and in every domain that holds data about them
    (registry/people/erasure.py); their tags, moves and the other domains' rows stay so that counts still add up."""
    policy.require_administrator(principal)
    why = meaningful_reason(reason)
    person = get_person(session, principal, person_id)
    if person.anonymized_at is not None:
        raise Conflict("this person is already anonymized", field="anonymized_at")
    # Here and in every other domain that keeps data about them (their hooks), in this one transaction.
    erased = erasure.erase(session, person)
    accounts.audit_for(session, principal, "person_anonymized", target=str(person.id),
                       detail={"reason": why, "erased": erased})
    return person
