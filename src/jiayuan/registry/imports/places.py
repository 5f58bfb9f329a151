"""Importing houses (rooms by address path), facilities (by their code) and organizations (by credit code):
every row checked with the API's rules, existing records looked up and written in chunks."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update

from jiayuan.accounts.service import Principal
from jiayuan.kit.db import utcnow, uuid7
from jiayuan.kit.excel import N_
from jiayuan.kit.identity import parse_credit_code, parse_mobile
from jiayuan.registry.imports.columns import (
    ORGANIZATION_KIND_LABELS,
    ROOM_USE_LABELS,
    THING_KIND_LABELS,
    THING_STATUS_LABELS,
)
from jiayuan.registry.imports.common import (
    Errors,
    FirstSeen,
    ImportResult,
    Progress,
    Row,
    Transactions,
    chunks,
    finish,
    read_rows,
    write,
)
from jiayuan.registry.models import Building, Compound, Organization, Room, Thing
from jiayuan.registry.places.organizations import CREDIT_CODE_OPTIONAL
from jiayuan.units import service as units

Rows = Iterable[tuple[int, dict[str, Any]]]


def _grouped(items: Iterable[Any]) -> dict[str, list[Any]]:
    groups: dict[str, list[Any]] = defaultdict(list)
    for item in items:
        groups[item.grid[:6]].append(item)
    return groups


def _stamp(row: dict[str, Any], now: Any) -> dict[str, Any]:
    return {**row, "created_at": now, "updated_at": now}


# Houses (房): a row is a room at an address path; its compound and building are made when missing.


@dataclass(slots=True)
class _Room:
    row: int
    grid: str
    compound: str  # "" when the building stands alone
    building: str
    entrance: str
    number: str
    use: str
    area: float | None
    floors: int | None


def import_houses(tx: Transactions, principal: Principal, rows: Rows, *, mode: str = "all_or_nothing",
                  progress: Progress | None = None, total: int | None = None) -> ImportResult:
    result, errors = ImportResult("houses", mode), Errors()
    with tx() as session:
        grids = set(units.grid_codes(session, principal.scope))
    same_room = FirstSeen()
    floors_of: dict[tuple[str, str, str], tuple[int, int]] = {}
    found: list[_Room] = []
    for number, values in read_rows(rows, progress, total):
        result.total += 1
        row = Row(number, values, errors)
        grid = row.grid("grid_code", principal, grids)
        compound, building = row.text("compound", 100), row.text("building", 60, required=True)
        entrance, room = row.text("entrance", 20), row.text("number", 20, required=True)
        use = row.choice("use", ROOM_USE_LABELS, required=True)
        area = row.decimal("area", 0, 100_000)
        if area is not None and not 0 < area < 100_000:
            row.fail("area", N_("must be a positive number of square metres"))
        floors = row.integer("floors", 1, 200)
        if not row.ok or grid is None or building is None or room is None or use is None:
            continue
        if not same_room.check(row, "number", (grid, compound or "", building, entrance or "", room),
                               N_("the same room as row %(row)s")):
            continue
        if floors is not None:
            key = (grid, compound or "", building)
            first = floors_of.setdefault(key, (floors, number))
            if first[0] != floors:
                row.fail("floors", N_("the same building has another number of floors in row %(row)s"), row=first[1])
                continue
        found.append(_Room(number, grid, compound or "", building, entrance or "", room, use, area, floors))
    result.valid = len(found)
    if errors.count and mode != "valid_only":
        return finish(result, errors)

    now = utcnow()
    new_compounds, new_buildings, new_rooms, building_changes, room_changes = [], [], [], [], []
    for district, group in _grouped(found).items():
        in_grids = sorted({r.grid for r in group})
        compounds: dict[tuple[str, str], uuid.UUID] = {}
        buildings: dict[tuple[str, uuid.UUID | None, str], dict[str, Any]] = {}
        rooms: dict[tuple[uuid.UUID, str, str], Any] = {}
        for part in chunks(in_grids):
            with tx() as session:
                _known_places(session, district, part, compounds, buildings, rooms)
        for r in group:
            compound_id = None
            if r.compound:
                compound_id = compounds.get((r.grid, r.compound))
                if compound_id is None:
                    compound_id = compounds[(r.grid, r.compound)] = uuid7()
                    new_compounds.append(_stamp({"district_code": district, "id": compound_id, "grid_code": r.grid,
                                                 "name": r.compound, "address": None, "property_company": None,
                                                 "lat": None, "lon": None, "geometry": None}, now))
            home = buildings.get((r.grid, compound_id, r.building))
            building_changed = False
            if home is None:
                home = buildings[(r.grid, compound_id, r.building)] = {"id": uuid7(), "floors": r.floors,
                                                                      "update": None}
                new_buildings.append(_stamp({"district_code": district, "id": home["id"],
                                             "compound_id": compound_id, "grid_code": r.grid, "name": r.building,
                                             "floors": r.floors, "lat": None, "lon": None}, now))
            elif r.floors is not None and r.floors != home["floors"]:
                home["floors"], building_changed = r.floors, True
                if home["update"] is None:
                    home["update"] = {"district_code": district, "id": home["id"], "updated_at": now}
                    building_changes.append(home["update"])
                home["update"]["floors"] = r.floors
            known = rooms.get((home["id"], r.entrance, r.number))
            if known is None:
                new_rooms.append(_stamp({"district_code": district, "id": uuid7(), "building_id": home["id"],
                                         "grid_code": r.grid, "entrance": r.entrance, "number": r.number,
                                         "use": r.use, "area": r.area}, now))
                result.created += 1
                continue
            change = {k: v for k, v in (("use", r.use), ("area", r.area))
                      if v is not None and getattr(known, k) != v}
            if change:
                room_changes.append({"district_code": district, "id": known.id, **change, "updated_at": now})
            if change or building_changed:
                result.updated += 1
            else:
                result.unchanged += 1
    result.written = write(tx, [(insert(Compound), new_compounds), (insert(Building), new_buildings),
                                (update(Building), building_changes), (insert(Room), new_rooms),
                                (update(Room), room_changes)], progress)
    return finish(result, errors)


def _known_places(session: Any, district: str, grids: Sequence[str], compounds: dict[tuple[str, str], uuid.UUID],
                  buildings: dict[tuple[str, uuid.UUID | None, str], dict[str, Any]],
                  rooms: dict[tuple[uuid.UUID, str, str], Any]) -> None:
    """The compounds, buildings and rooms of `grids`, by the keys an address path names them with."""
    for c in session.execute(select(Compound.id, Compound.grid_code, Compound.name).where(
            Compound.district_code == district, Compound.grid_code.in_(grids))):
        compounds[(c.grid_code, c.name)] = c.id
    for b in session.execute(select(Building.id, Building.grid_code, Building.compound_id, Building.name,
                                    Building.floors).where(Building.district_code == district,
                                                           Building.grid_code.in_(grids))):
        buildings[(b.grid_code, b.compound_id, b.name)] = {"id": b.id, "floors": b.floors, "update": None}
    for r in session.execute(select(Room.id, Room.building_id, Room.entrance, Room.number, Room.use,
                                    Room.area).where(Room.district_code == district, Room.grid_code.in_(grids))):
        rooms[(r.building_id, r.entrance, r.number)] = r


# Facilities (物): matched by their code, unique in the district.


@dataclass(slots=True)
class _Thing:
    row: int
    grid: str
    fields: dict[str, Any]


def _mobile(text: str) -> str:
    return parse_mobile(text, field="contact_phone")


def _credit(text: str) -> str:
    return parse_credit_code(text, field="credit_code").value


def import_facilities(tx: Transactions, principal: Principal, rows: Rows, *, mode: str = "all_or_nothing",
                      progress: Progress | None = None, total: int | None = None) -> ImportResult:
    result, errors = ImportResult("facilities", mode), Errors()
    with tx() as session:
        grids = set(units.grid_codes(session, principal.scope))
    index = None
    same_code = FirstSeen()
    found: list[_Thing] = []
    for number, values in read_rows(rows, progress, total):
        result.total += 1
        row = Row(number, values, errors)
        kind = row.choice("kind", THING_KIND_LABELS, required=True)
        code = row.text("code", 40, required=True)
        grid = row.grid("grid_code", principal, grids, required=False)
        lat, lon = row.decimal("lat", -90, 90), row.decimal("lon", -180, 180)
        if row.given("lat") != row.given("lon"):
            row.fail("lon" if row.given("lat") else "lat", N_("give both latitude and longitude, or neither"))
        elif lat is not None and lon is not None:
            if index is None:
                with tx() as session:
                    index = units.grid_index(session)
            located = index.locate(lat, lon)
            if located is None:
                row.fail("lat", N_("the point lies outside every grid"))
            elif grid is not None and grid != located:
                row.fail("grid_code", N_("the point lies in another grid than this grid code"))
            elif not principal.scope.covers(located):
                row.fail("lat", N_("the point lies in a grid outside your scope"))
            else:
                grid = located
        elif grid is None and not row.given("grid_code"):
            row.fail("grid_code", N_("required (or give the latitude and longitude)"))
        status = row.choice("status", THING_STATUS_LABELS)
        fields = {"kind": kind, "code": code, "name": row.text("name", 100), "lat": lat, "lon": lon,
                  "status": status, "owner": row.text("owner", 100), "maintainer": row.text("maintainer", 100),
                  "installed_on": row.date("installed_on", not_future=True)}
        if not row.ok or grid is None:
            continue
        if not same_code.check(row, "code", (grid[:6], code), N_("the same facility code as row %(row)s")):
            continue
        found.append(_Thing(number, grid, fields))

    known: dict[tuple[str, str], Any] = {}
    for district, group in _grouped(found).items():
        for part in chunks(sorted({t.fields["code"] for t in group})):
            with tx() as session:
                found_things = session.execute(select(Thing.id, Thing.grid_code, Thing.kind, Thing.code, Thing.name,
                                                      Thing.lat, Thing.lon, Thing.status, Thing.owner,
                                                      Thing.maintainer, Thing.installed_on).where(
                    Thing.district_code == district, Thing.code.in_(part))).all()
            for t in found_things:
                known[(district, t.code)] = t
    for t in found:
        k = known.get((t.grid[:6], t.fields["code"]))
        if k is not None and not principal.scope.covers(k.grid_code):
            errors.add(t.row, "code", N_("a facility with this code is registered outside your scope"))
    valid = [t for t in found if t.row not in errors.rows]
    result.valid = len(valid)
    if errors.count and mode != "valid_only":
        return finish(result, errors)

    now = utcnow()
    inserts, updates = [], []
    for t in valid:
        district = t.grid[:6]
        k = known.get((district, t.fields["code"]))
        if k is None:
            inserts.append(_stamp({"district_code": district, "id": uuid7(), "grid_code": t.grid,
                                   **t.fields, "status": t.fields["status"] or "ok"}, now))
            result.created += 1
            continue
        change = {f: v for f, v in t.fields.items() if v is not None and getattr(k, f) != v}
        if t.grid != k.grid_code:
            change["grid_code"] = t.grid
            if t.fields["lat"] is None:  # moved by grid code alone: the old point lies elsewhere
                change.update(lat=None, lon=None)
        if change:
            updates.append({"district_code": district, "id": k.id, **change, "updated_at": now})
            result.updated += 1
        else:
            result.unchanged += 1
    result.written = write(tx, [(insert(Thing), inserts), (update(Thing), updates)], progress)
    return finish(result, errors)


# Organizations (组织): by credit code; a homeowners' committee without one by grid and name.


@dataclass(slots=True)
class _Org:
    row: int
    grid: str
    fields: dict[str, Any]


def import_organizations(tx: Transactions, principal: Principal, rows: Rows, *, mode: str = "all_or_nothing",
                         progress: Progress | None = None, total: int | None = None) -> ImportResult:
    result, errors = ImportResult("organizations", mode), Errors()
    with tx() as session:
        grids = set(units.grid_codes(session, principal.scope))
    same_code, same_name = FirstSeen(), FirstSeen()
    found: list[_Org] = []
    for number, values in read_rows(rows, progress, total):
        result.total += 1
        row = Row(number, values, errors)
        name = row.text("name", 120, required=True)
        kind = row.choice("kind", ORGANIZATION_KIND_LABELS, required=True)
        credit = row.validated("credit_code", _credit)
        if kind and not row.given("credit_code") and kind not in CREDIT_CODE_OPTIONAL:
            row.fail("credit_code", N_("required for this kind of organization"))
        grid = row.grid("grid_code", principal, grids)
        fields = {"name": name, "kind": kind, "credit_code": credit, "address": row.text("address", 200),
                  "contact_name": row.text("contact_name", 60),
                  "contact_phone": row.validated("contact_phone", _mobile),
                  "staff_count": row.integer("staff_count", 0, 10_000_000)}
        if not row.ok or grid is None:
            continue
        if credit and not same_code.check(row, "credit_code", (grid[:6], credit),
                                          N_("the same credit code as row %(row)s")):
            continue
        if not credit and not same_name.check(row, "name", (grid, kind, name),
                                              N_("the same organization as row %(row)s")):
            continue
        found.append(_Org(number, grid, fields))

    known: dict[tuple[str, Any], Any] = {}
    columns = (Organization.id, Organization.grid_code, Organization.name, Organization.kind,
               Organization.credit_code, Organization.address, Organization.contact_name,
               Organization.contact_phone, Organization.staff_count)
    for district, group in _grouped(found).items():
        for part in chunks(sorted({o.fields["credit_code"] for o in group if o.fields["credit_code"]})):
            with tx() as session:
                by_code = session.execute(select(*columns).where(Organization.district_code == district,
                                                                 Organization.credit_code.in_(part))).all()
            for o in by_code:
                known[(district, o.credit_code)] = o
        for part in chunks(sorted({o.grid for o in group if not o.fields["credit_code"]})):
            with tx() as session:
                by_name = session.execute(select(*columns).where(
                    Organization.district_code == district, Organization.grid_code.in_(part),
                    Organization.credit_code.is_(None)).order_by(Organization.id)).all()
            for o in by_name:
                known.setdefault((district, (o.grid_code, o.kind, o.name)), o)
    for o in found:
        k = known.get(_org_key(o))
        if k is not None and not principal.scope.covers(k.grid_code):
            errors.add(o.row, "credit_code", N_("an organization with this credit code is registered outside "
                                                "your scope"))
    valid = [o for o in found if o.row not in errors.rows]
    result.valid = len(valid)
    if errors.count and mode != "valid_only":
        return finish(result, errors)

    now = utcnow()
    inserts, updates = [], []
    for o in valid:
        district = o.grid[:6]
        k = known.get(_org_key(o))
        if k is None:
            inserts.append(_stamp({"district_code": district, "id": uuid7(), "grid_code": o.grid, **o.fields,
                                   "active": True}, now))
            result.created += 1
            continue
        change = {f: v for f, v in o.fields.items() if v is not None and getattr(k, f) != v}
        if o.grid != k.grid_code:
            change["grid_code"] = o.grid
        if change:
            updates.append({"district_code": district, "id": k.id, **change, "updated_at": now})
            result.updated += 1
        else:
            result.unchanged += 1
    result.written = write(tx, [(insert(Organization), inserts), (update(Organization), updates)], progress)
    return finish(result, errors)


def _org_key(o: _Org) -> tuple[str, Any]:
    code = o.fields["credit_code"]
    return (o.grid[:6], code) if code else (o.grid[:6], (o.grid, o.fields["kind"], o.fields["name"]))
