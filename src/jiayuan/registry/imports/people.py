"""Importing people (人): every row checked with the API's rules, people matched by ID number through the blind
index, households by 户号 within a grid, rooms by address path; looked up and written in chunks, never row by row."""

from __future__ import annotations

import unicodedata
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.orm import Session

from jiayuan.accounts.service import Principal
from jiayuan.kit.db import utcnow, uuid7
from jiayuan.kit.excel import N_
from jiayuan.kit.identity import IdNumber, parse_id_number, parse_mobile
from jiayuan.registry.imports.columns import HEAD, RESIDENCE_LABELS, TAG_LABELS
from jiayuan.registry.imports.common import (
    Errors,
    FirstSeen,
    ImportResult,
    Progress,
    Row,
    CHUNK,
    Transactions,
    analyze,
    chunks,
    finish,
    read_rows,
    write,
    write_chunk,
)
from jiayuan.registry.models import Building, Compound, Household, Person, PersonMove, PersonTag, Room
from jiayuan.registry.people import lookups
from jiayuan.registry.people import service as people
from jiayuan.units import service as units

Address = tuple[str, str, str, str, str]  # grid, compound ("" when none), building, entrance ("" when none), room


@dataclass(slots=True)
class _Row:
    row: int
    name: str
    id_number: IdNumber
    id_index: str
    phone: str | None
    grid: str
    residence_type: str | None  # None: blank, "registered" for someone new, unchanged for someone known
    expires: date | None
    address: Address | None
    household: str | None
    relation: str | None
    tags: tuple[str, ...]
    notes: str | None
    room_id: uuid.UUID | None = None
    person_id: uuid.UUID | None = None
    current: dict[str, Any] | None = None  # the stored person, when known


def _id_number(text: str) -> IdNumber:
    return parse_id_number(text, field="id_number")


def _mobile(text: str) -> str:
    return parse_mobile(text, field="phone")


def _parse(row: Row, principal: Principal, grids: set[str]) -> _Row | None:
    name = row.text("name", people.NAME_MAX, required=True)
    name = unicodedata.normalize("NFKC", name) if name else name  # as the API normalises a name
    raw = row.values.get("id_number")
    ident = None
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        # Excel keeps 15 significant digits of a number: an ID number typed into a number cell has lost its end.
        row.fail("id_number", N_("the ID number was stored as a number and lost digits; format the column as text"))
    else:
        ident = row.validated("id_number", _id_number, required=True)
    phone = row.validated("phone", _mobile)
    grid = row.grid("grid_code", principal, grids)
    residence = row.choice("residence_type", RESIDENCE_LABELS)
    expires = row.date("floating_expires_on")
    if residence == "floating" and expires is None and row.ok:
        row.fail("floating_expires_on", N_("a floating resident is registered with an expiry date"))
    compound, building = row.text("compound", 100), row.text("building", 60)
    entrance, room = row.text("entrance", 20), row.text("room", 20)
    address = None
    if compound or building or entrance or room:
        for key, value in (("building", building), ("room", room)):
            if not value:
                row.fail(key, N_("an address needs the building and the room number"))
        if grid and building and room:
            address = (grid, compound or "", building, entrance or "", room)
    household, relation = row.text("household_number", 30), row.text("relation", 20)
    if household and not relation:
        row.fail("relation", N_("required with the household number"))
    if relation and not household:
        row.fail("household_number", N_("required with the relation to the head"))
    tags = row.choices("tags", TAG_LABELS)
    if any(t in people.DERIVED_TAGS for t in tags):
        row.fail("tags", N_("age groups follow from the birth date in the ID number"))
    notes = row.text("notes", 500)
    if not row.ok or name is None or ident is None or grid is None:
        return None
    return _Row(row=row.number, name=name, id_number=ident, id_index=people.id_number_index(ident.value),
                phone=phone, grid=grid, residence_type=residence,
                expires=expires if residence == "floating" else None, address=address, household=household,
                relation=relation, tags=tags, notes=notes)


def import_people(tx: Transactions, principal: Principal, rows: Iterable[tuple[int, dict[str, Any]]], *,
                  mode: str = "all_or_nothing", progress: Progress | None = None,
                  total: int | None = None) -> ImportResult:
    """Check every row, then (unless an error stops an all-or-nothing import) create, update or leave alone
    each person. Re-importing the same rows changes nothing and counts them unchanged: so does running an import
    again that stopped part way (each chunk of people is written whole, with their tags and moves)."""
    result, errors = ImportResult("people", mode), Errors()
    with tx() as session:
        grids = set(units.grid_codes(session, principal.scope))
    same_id, same_head = FirstSeen(), FirstSeen()
    found: list[_Row] = []
    for number, values in read_rows(rows, progress, total):
        result.total += 1
        row = Row(number, values, errors)
        p = _parse(row, principal, grids)
        if p is None:
            continue
        if not same_id.check(row, "id_number", (p.grid[:6], p.id_index), N_("the same ID number as row %(row)s")):
            continue
        if p.relation == HEAD and not same_head.check(row, "relation", (p.grid, p.household),
                                                      N_("the household already has its head in row %(row)s")):
            continue
        found.append(p)

    _find_rooms(tx, found, errors)
    _find_people(tx, principal, found, errors)
    households = _find_households(tx, found)
    _check_heads(found, households, errors)
    valid = [p for p in found if p.row not in errors.rows]
    result.valid = len(valid)
    if errors.count and mode != "valid_only":
        return finish(result, errors)
    _write(tx, principal, valid, households, result, progress)
    return finish(result, errors)


# Look-ups: one query per chunk of keys.


def _by_district(items: Iterable[_Row]) -> dict[str, list[_Row]]:
    groups: dict[str, list[_Row]] = defaultdict(list)
    for p in items:
        groups[p.grid[:6]].append(p)
    return groups


def room_paths(session: Session, district: str, grids: Sequence[str]) -> dict[Address, uuid.UUID]:
    """Every room of `grids` by its address path (grid, compound, building, entrance, number)."""
    paths: dict[Address, uuid.UUID] = {}
    for part in chunks(sorted(grids)):
        stmt = (select(Room.id, Room.grid_code, Compound.name, Building.name, Room.entrance, Room.number)
                .join(Building, and_(Building.district_code == Room.district_code, Building.id == Room.building_id))
                .outerjoin(Compound, and_(Compound.district_code == Building.district_code,
                                          Compound.id == Building.compound_id))
                .where(Room.district_code == district, Room.grid_code.in_(part)))
        for room_id, grid, compound, building, entrance, number in session.execute(stmt):
            paths[(grid, compound or "", building, entrance or "", number)] = room_id
    return paths


def _find_rooms(tx: Transactions, found: list[_Row], errors: Errors) -> None:
    for district, group in _by_district(p for p in found if p.address).items():
        paths: dict[Address, uuid.UUID] = {}
        for part in chunks(sorted({p.grid for p in group})):
            with tx() as session:
                paths.update(room_paths(session, district, part))
        for p in group:
            p.room_id = paths.get(p.address)  # type: ignore[arg-type]
            if p.room_id is None:
                errors.add(p.row, "room", N_("no room at this address in the grid: import it with the houses "
                                             "template first"))


_PERSON_COLUMNS = (Person.id, Person.grid_code, Person.name, Person.phone, Person.residence_type,
                   Person.floating_expires_on, Person.household_id, Person.relation, Person.room_id, Person.notes,
                   Person.id_number_index)


def _find_people(tx: Transactions, principal: Principal, found: list[_Row], errors: Errors) -> None:
    outside: list[_Row] = []
    for district, group in _by_district(found).items():
        by_index = {p.id_index: p for p in group}
        for part in chunks(list(by_index)):
            with tx() as session:
                known = session.execute(select(*_PERSON_COLUMNS).where(
                    Person.district_code == district, Person.id_number_index.in_(part))).all()
            for r in known:
                p = by_index[r.id_number_index]
                if not principal.scope.covers(r.grid_code):
                    outside.append(p)
                    continue
                p.person_id, p.current = r.id, r._asdict()
    if outside:
        # As the API's 409: the person exists, and who holds the record is not the importer's to see. Each such row
        # answers "is this number registered?": audited and counted like an exact look-up (people/lookups.py), and
        # a file with more of them than the account has left is refused whole (429).
        with tx() as session:
            lookups.number_taken(session, principal, rows=len(outside), via="import")
        for p in outside:
            errors.add(p.row, "id_number", N_("a person with this ID number is registered outside your scope"))


@dataclass(slots=True)
class _Household:
    id: uuid.UUID
    head_id: uuid.UUID | None
    room_id: uuid.UUID | None
    new: bool = False
    changed: bool = False


def _find_households(tx: Transactions, found: list[_Row]) -> dict[tuple[str, str], _Household]:
    households: dict[tuple[str, str], _Household] = {}
    for district, group in _by_district(p for p in found if p.household).items():
        wanted = {(p.grid, p.household) for p in group}
        numbers = sorted({n for _, n in wanted})
        for part in chunks(numbers):
            with tx() as session:
                rows = session.execute(select(Household.id, Household.grid_code, Household.number,
                                              Household.head_id, Household.room_id)
                                       .where(Household.district_code == district, Household.number.in_(part))
                                       .order_by(Household.id)).all()
            for r in rows:
                key = (r.grid_code, r.number)
                if key in wanted and key not in households:  # the oldest, should the register hold two
                    households[key] = _Household(r.id, r.head_id, r.room_id)
    return households


def _check_heads(found: list[_Row], households: dict[tuple[str, str], _Household], errors: Errors) -> None:
    """A household has one head: a new head in the file needs the old one to be given another relation."""
    relation_of = {p.person_id: p.relation for p in found if p.person_id}
    for p in found:
        if p.relation != HEAD or p.row in errors.rows:
            continue
        h = households.get((p.grid, p.household))  # type: ignore[arg-type]
        if h and h.head_id and h.head_id != p.person_id and relation_of.get(h.head_id, HEAD) == HEAD:
            errors.add(p.row, "relation", N_("the household already has another head; give that person another "
                                             "relation in the same file"))


def _active_tags(tx: Transactions, district: str, ids: list[uuid.UUID]) -> dict[uuid.UUID, set[str]]:
    today = date.today()
    tags: dict[uuid.UUID, set[str]] = defaultdict(set)
    for part in chunks(ids):
        with tx() as session:
            rows = session.execute(select(PersonTag.person_id, PersonTag.tag).where(
                PersonTag.district_code == district, PersonTag.person_id.in_(part),
                or_(PersonTag.starts_on.is_(None), PersonTag.starts_on <= today),
                or_(PersonTag.ends_on.is_(None), PersonTag.ends_on >= today))).all()
        for person_id, tag in rows:
            tags[person_id].add(tag)
    return tags


# Writing: a thousand rows at a time, each thousand in a transaction of its own.

# After which chunk of people the planner's statistics are refreshed (see common.analyze): while a first import fills
# an empty district the tables grow from nothing, so early and then less and less often.
_ANALYZE_AFTER = frozenset({1, 4, 16, 64, 256})


@dataclass(slots=True)
class _Plan:
    """What one row writes: the person (new or changed), their new tags, their move to another grid."""

    district: str
    insert: dict[str, Any] | None = None
    update: dict[str, Any] | None = None
    tags: list[dict[str, Any]] | None = None
    move: dict[str, Any] | None = None
    grid: str = ""


def _write(tx: Transactions, principal: Principal, valid: list[_Row], households: dict[tuple[str, str], _Household],
           result: ImportResult, progress: Progress | None) -> None:
    """Households first (without their heads), then the people a thousand at a time — each thousand with their tags,
    their moves and what other domains do when people move, in one transaction — then the households' heads. An
    import stopped part way leaves whole chunks behind, and running it again completes it without duplicating."""
    now, today = utcnow(), date.today()
    actor = principal.user_id if principal.user_id.int else None
    for p in valid:
        if p.person_id is None:
            p.person_id = uuid7()
    # Households: found by 户号, or made; the head is the row that says 户主.
    for p in valid:
        if not p.household:
            continue
        key = (p.grid, p.household)
        h = households.get(key)
        if h is None:
            h = households[key] = _Household(uuid7(), None, None, new=True)
        if p.relation == HEAD and h.head_id != p.person_id:
            h.head_id = p.person_id
            h.room_id = p.room_id or h.room_id
            h.changed = True
        if h.room_id is None and p.room_id is not None:
            h.room_id = p.room_id
            h.changed = True
    by_key = {(p.grid, p.household): p.grid[:6] for p in valid if p.household}
    new_households = [{"district_code": by_key[k], "id": h.id, "grid_code": k[0], "number": k[1],
                       "room_id": h.room_id, "head_id": None, "created_at": now, "updated_at": now}
                      for k, h in households.items() if h.new and k in by_key]
    # The heads are set once their people are written (a head pointing at nobody would stop a second run).
    heads = [{"district_code": by_key[k], "id": h.id, "head_id": h.head_id, "room_id": h.room_id, "updated_at": now}
             for k, h in households.items() if k in by_key and (h.head_id is not None if h.new else h.changed)]

    existing_tags: dict[uuid.UUID, set[str]] = {}
    for district, group in _by_district(p for p in valid if p.current).items():
        existing_tags.update(_active_tags(tx, district, [p.person_id for p in group]))  # type: ignore[misc]

    plans: list[_Plan] = []
    initials: dict[str, str] = {}  # pinyin initials take 40 µs a name; names repeat
    for p in valid:
        district = p.grid[:6]
        household_id = households[(p.grid, p.household)].id if p.household else None  # type: ignore[index]
        plan = _Plan(district, grid=p.grid)
        if p.current is None:
            if p.name not in initials:
                initials[p.name] = people.name_initials(p.name)
            plan.insert = _new_row(p, household_id, initials[p.name], now)
            result.created += 1
            new_tags = list(p.tags)
        else:
            cur = p.current
            change = _changes(p, cur, household_id)
            if p.grid != cur["grid_code"]:
                change.update(grid_code=p.grid, room_id=p.room_id)
                plan.move = {"district_code": district, "id": uuid7(), "person_id": p.person_id, "moved_at": now,
                             "from_grid": cur["grid_code"], "to_grid": p.grid, "from_room_id": cur["room_id"],
                             "to_room_id": p.room_id, "actor_id": actor, "note": "导入"}
            new_tags = [t for t in p.tags if t not in existing_tags.get(p.person_id, set())]  # type: ignore[arg-type]
            if change:
                plan.update = {"district_code": district, "id": p.person_id, **change, "updated_at": now}
            if change or new_tags:
                result.updated += 1
            else:
                result.unchanged += 1
        plan.tags = [{"district_code": district, "id": uuid7(), "person_id": p.person_id, "grid_code": p.grid,
                      "tag": tag, "grade": None, "starts_on": today, "ends_on": None, "note": None}
                     for tag in new_tags]
        if plan.insert or plan.update or plan.tags or plan.move:
            plans.append(plan)

    steps = len(new_households) + len(plans) + len(heads)
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        if progress and n:
            progress("write", done, steps)

    # Households before people (people point at them).
    write(tx, [(insert(Household), new_households)], None)
    advance(len(new_households))
    for number, part in enumerate(chunks(plans), 1):
        with tx() as session:
            _write_people(session, part)
            if number in _ANALYZE_AFTER and len(plans) >= CHUNK:
                for table in ("people", "person_tags"):
                    analyze(session, table)
        advance(len(part))
    write(tx, [(update(Household), heads)], None)
    advance(len(heads))
    result.written = steps > 0


def _write_people(session: Session, part: Sequence[_Plan]) -> None:
    """One chunk of people, with their tags and moves, in the session's transaction."""
    write_chunk(session, insert(Person), [plan.insert for plan in part if plan.insert])
    write_chunk(session, update(Person), [plan.update for plan in part if plan.update])
    write_chunk(session, insert(PersonTag), [tag for plan in part for tag in plan.tags or ()])
    moves = [plan for plan in part if plan.move]
    write_chunk(session, insert(PersonMove), [plan.move for plan in moves])  # type: ignore[misc]
    moved: dict[tuple[str, str], list[uuid.UUID]] = defaultdict(list)
    for plan in moves:
        moved[(plan.district, plan.grid)].append(plan.move["person_id"])  # type: ignore[index]
    for (district, grid), ids in moved.items():
        session.execute(update(PersonTag).where(PersonTag.district_code == district,
                                                PersonTag.person_id.in_(ids)).values(grid_code=grid))
        people.moved(session, district, ids, grid)


def _new_row(p: _Row, household_id: uuid.UUID | None, initials: str, now: Any) -> dict[str, Any]:
    return {"district_code": p.grid[:6], "id": p.person_id, "grid_code": p.grid, "name": p.name,
            "name_initials": initials, "id_number": p.id_number.value, "id_number_index": p.id_index,
            "phone": p.phone, "phone_index": people.phone_index(p.phone) if p.phone else None,
            "birth_date": p.id_number.birth_date, "sex": p.id_number.sex,
            "residence_type": p.residence_type or "registered", "floating_expires_on": p.expires,
            "household_id": household_id, "relation": p.relation if household_id else None,
            "room_id": p.room_id, "notes": p.notes, "anonymized_at": None, "created_at": now, "updated_at": now}


def _changes(p: _Row, cur: dict[str, Any], household_id: uuid.UUID | None) -> dict[str, Any]:
    """What the row changes about a known person; a blank cell keeps what is stored."""
    change: dict[str, Any] = {}
    if p.name != cur["name"]:
        change.update(name=p.name, name_initials=people.name_initials(p.name))
    if p.phone and p.phone != cur["phone"]:
        change.update(phone=p.phone, phone_index=people.phone_index(p.phone))
    if p.residence_type and p.residence_type != cur["residence_type"]:
        change["residence_type"] = p.residence_type
    residence = p.residence_type or cur["residence_type"]
    expires = p.expires if residence == "floating" else None
    if residence == "floating" and expires is None:
        expires = cur["floating_expires_on"]
    if expires != cur["floating_expires_on"]:
        change["floating_expires_on"] = expires
    if p.room_id and p.room_id != cur["room_id"]:
        change["room_id"] = p.room_id
    if household_id and (household_id != cur["household_id"] or p.relation != cur["relation"]):
        change.update(household_id=household_id, relation=p.relation)
    if p.notes and p.notes != cur["notes"]:
        change["notes"] = p.notes
    return change
