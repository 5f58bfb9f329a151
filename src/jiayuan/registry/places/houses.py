"""Houses (房): compounds (小区), buildings (楼栋) and rooms (房屋) by entrance (单元), each in its grid."""

from __future__ import annotations

import uuid
from typing import Any

from shapely.geometry import mapping, shape
from shapely.validation import explain_validity
from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from jiayuan.accounts.service import Principal
from jiayuan.kit.errors import Conflict, Invalid
from jiayuan.kit.text import clean_text
from jiayuan.registry.models import ROOM_USES, Building, Compound, Room
from jiayuan.registry.places.placing import one_of, page, place
from jiayuan.registry.places.policy import get_scoped, scoped_select

# Compounds.


def _polygon(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    try:
        geom = shape(value)
    except Exception as exc:  # noqa: BLE001 - shapely raises several kinds for bad GeoJSON
        raise Invalid(f"not a GeoJSON geometry: {exc}", field="geometry") from None
    if geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty:
        raise Invalid(f"must be a Polygon or MultiPolygon, not {geom.geom_type}", field="geometry")
    if not geom.is_valid:
        raise Invalid(f"invalid polygon: {explain_validity(geom)}", field="geometry")
    minx, miny, maxx, maxy = geom.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise Invalid("coordinates must be WGS-84 longitude, latitude", field="geometry")
    return dict(mapping(geom))


def _compound_named(session: Session, district: str, grid: str, name: str) -> Compound | None:
    return session.scalar(select(Compound).where(
        Compound.district_code == district, Compound.grid_code == grid, Compound.name == name))


def create_compound(session: Session, principal: Principal, **fields: Any) -> Compound:
    grid = place(session, principal, fields.get("lat"), fields.get("lon"), fields.get("grid_code"))
    name = clean_text(fields.get("name"), "name", 100, required=True)
    assert name is not None
    if _compound_named(session, grid[:6], grid, name):
        raise Conflict(f"a compound named {name} is already in this grid", field="name")
    compound = Compound(district_code=grid[:6], grid_code=grid, name=name)
    _set_compound(compound, fields)
    session.add(compound)
    session.flush()
    return compound


def _set_compound(compound: Compound, fields: dict[str, Any]) -> None:
    if "address" in fields:
        compound.address = clean_text(fields["address"], "address", 200)
    if "property_company" in fields:
        # None or blank: 无物业小区, a compound with no property management.
        compound.property_company = clean_text(fields["property_company"], "property_company", 100)
    if "lat" in fields or "lon" in fields:
        compound.lat, compound.lon = fields.get("lat"), fields.get("lon")
    if "geometry" in fields:
        compound.geometry = _polygon(fields["geometry"])


def update_compound(session: Session, principal: Principal, compound_id: uuid.UUID, **changes: Any) -> Compound:
    compound = get_compound(session, principal, compound_id)
    if {"lat", "lon", "grid_code"} & changes.keys():
        lat, lon = changes.get("lat", compound.lat), changes.get("lon", compound.lon)
        grid = place(session, principal, lat, lon, changes.get("grid_code") or (None if lat is not None
                                                                                  else compound.grid_code))
        changes = {**changes, "lat": lat, "lon": lon}
        if grid != compound.grid_code:
            _move_compound(session, compound, grid)
    if "name" in changes:
        name = clean_text(changes["name"], "name", 100, required=True)
        other = _compound_named(session, compound.district_code, compound.grid_code, name or "")
        if other is not None and other.id != compound.id:
            raise Conflict(f"a compound named {name} is already in this grid", field="name")
        compound.name = name or compound.name
    _set_compound(compound, changes)
    session.flush()
    return compound


def _move_compound(session: Session, compound: Compound, grid: str) -> None:
    # Buildings and rooms live where their compound is: they move with it, or scope would split them.
    if _compound_named(session, compound.district_code, grid, compound.name):
        raise Conflict(f"a compound named {compound.name} is already in grid {grid}", field="name")
    compound.grid_code = grid
    buildings = select(Building.id).where(Building.district_code == compound.district_code,
                                          Building.compound_id == compound.id)
    session.execute(update(Building).where(Building.district_code == compound.district_code,
                                           Building.compound_id == compound.id).values(grid_code=grid))
    session.execute(update(Room).where(Room.district_code == compound.district_code,
                                       Room.building_id.in_(buildings)).values(grid_code=grid))


def get_compound(session: Session, principal: Principal, compound_id: uuid.UUID) -> Compound:
    return get_scoped(session, principal, Compound, compound_id, "compound")


def list_compounds(session: Session, principal: Principal, *, grid: str | None = None,
                   without_property: bool | None = None, limit: int = 50, offset: int = 0,
                   ) -> tuple[list[Compound], int]:
    stmt = scoped_select(principal, Compound, grid)
    if without_property is not None:
        col = Compound.property_company
        stmt = stmt.where(col.is_(None) if without_property else col.is_not(None))
    return page(session, stmt, (Compound.grid_code, Compound.name), limit, offset)


# Buildings.


def _building_named(session: Session, district: str, grid: str, compound_id: uuid.UUID | None,
                    name: str) -> Building | None:
    stmt = select(Building).where(Building.district_code == district, Building.name == name)
    # Standalone buildings (no compound) are told apart by grid: the table's unique key ignores NULLs.
    stmt = stmt.where(Building.compound_id == compound_id) if compound_id else stmt.where(
        Building.compound_id.is_(None), Building.grid_code == grid)
    return session.scalar(stmt)


def create_building(session: Session, principal: Principal, **fields: Any) -> Building:
    compound_id = fields.get("compound_id")
    if compound_id is not None:
        compound = get_scoped(session, principal, Compound, compound_id, "compound", "compound_id")
        grid = compound.grid_code
        if fields.get("grid_code") and fields["grid_code"] != grid:
            raise Invalid(f"the compound lies in grid {grid}", field="grid_code")
    else:
        grid = place(session, principal, fields.get("lat"), fields.get("lon"), fields.get("grid_code"))
    name = clean_text(fields.get("name"), "name", 60, required=True) or ""
    if _building_named(session, grid[:6], grid, compound_id, name):
        raise Conflict(f"building {name} already exists here", field="name")
    building = Building(district_code=grid[:6], grid_code=grid, compound_id=compound_id, name=name)
    _set_building(building, fields)
    session.add(building)
    session.flush()
    return building


def _set_building(building: Building, fields: dict[str, Any]) -> None:
    if "floors" in fields:
        floors = fields["floors"]
        if floors is not None and (not isinstance(floors, int) or not 1 <= floors <= 200):
            raise Invalid("must be a whole number from 1 to 200", field="floors")
        building.floors = floors
    for axis, bound in (("lat", 90), ("lon", 180)):
        if axis in fields:
            value = fields[axis]
            if value is not None and not -bound <= value <= bound:
                raise Invalid(f"must be between -{bound} and {bound}", field=axis)
            setattr(building, axis, value)


def update_building(session: Session, principal: Principal, building_id: uuid.UUID, **changes: Any) -> Building:
    building = get_building(session, principal, building_id)
    if "name" in changes:
        name = clean_text(changes["name"], "name", 60, required=True) or ""
        other = _building_named(session, building.district_code, building.grid_code, building.compound_id, name)
        if other is not None and other.id != building.id:
            raise Conflict(f"building {name} already exists here", field="name")
        building.name = name
    _set_building(building, changes)
    session.flush()
    return building


def get_building(session: Session, principal: Principal, building_id: uuid.UUID) -> Building:
    return get_scoped(session, principal, Building, building_id, "building")


def list_buildings(session: Session, principal: Principal, *, grid: str | None = None,
                   compound_id: uuid.UUID | None = None, limit: int = 50, offset: int = 0,
                   ) -> tuple[list[Building], int]:
    stmt = scoped_select(principal, Building, grid)
    if compound_id is not None:
        stmt = stmt.where(Building.compound_id == compound_id)
    return page(session, stmt, (Building.grid_code, Building.name), limit, offset)


# Rooms.


def _room_at(session: Session, building: Building, entrance: str, number: str) -> Room | None:
    return session.scalar(select(Room).where(
        Room.district_code == building.district_code, Room.building_id == building.id,
        Room.entrance == entrance, Room.number == number))


def put_room(session: Session, principal: Principal, **fields: Any) -> tuple[Room, bool]:
    """Create a room, or update the one at the same building, entrance and number; True when created."""
    building = get_scoped(session, principal, Building, fields.get("building_id"), "building", "building_id")
    entrance = clean_text(fields.get("entrance"), "entrance", 20) or ""
    number = clean_text(fields.get("number"), "number", 20, required=True) or ""
    room = _room_at(session, building, entrance, number)
    created = room is None
    if room is None:
        if "use" not in fields:
            raise Invalid("required", field="use", reason="required")
        room = Room(district_code=building.district_code, grid_code=building.grid_code, building_id=building.id,
                    entrance=entrance, number=number)
        session.add(room)
    _set_room(room, fields)
    session.flush()
    return room, created


def _set_room(room: Room, fields: dict[str, Any]) -> None:
    if "use" in fields:
        room.use = one_of(fields["use"], ROOM_USES, "use")
    if "area" in fields:
        area = fields["area"]
        if area is not None and not 0 < area < 100_000:
            raise Invalid("must be a positive number of square metres", field="area")
        room.area = area


def upsert_room_by_path(session: Session, principal: Principal, *, grid_code: str, building: str, number: str,
                        compound: str | None = None, entrance: str | None = None, use: str | None = None,
                        area: float | None = None, floors: int | None = None) -> tuple[Room, bool]:
    """The room at an address path (compound, building, entrance, number in a grid), made or updated:
    importing the same houses twice must not duplicate them. True when the room was created."""
    compound_name = clean_text(compound, "compound", 100)
    building_name = clean_text(building, "building", 60, required=True) or ""
    if compound_name:
        grid = place(session, principal, None, None, grid_code)
        found = _compound_named(session, grid[:6], grid, compound_name)
        compound_id = (found or create_compound(session, principal, grid_code=grid, name=compound_name)).id
    else:
        grid, compound_id = place(session, principal, None, None, grid_code), None
    home = _building_named(session, grid[:6], grid, compound_id, building_name)
    if home is None:
        home = create_building(session, principal, compound_id=compound_id, grid_code=grid, name=building_name,
                               floors=floors)
    elif floors is not None:
        _set_building(home, {"floors": floors})
    fields: dict[str, Any] = {"building_id": home.id, "entrance": entrance, "number": number}
    fields.update({k: v for k, v in (("use", use), ("area", area)) if v is not None})
    return put_room(session, principal, **fields)


def update_room(session: Session, principal: Principal, room_id: uuid.UUID, **changes: Any) -> Room:
    room = get_room(session, principal, room_id)
    if "entrance" in changes or "number" in changes:
        entrance = clean_text(changes.get("entrance", room.entrance), "entrance", 20) or ""
        number = clean_text(changes.get("number", room.number), "number", 20, required=True) or ""
        other = session.scalar(select(Room.id).where(
            Room.district_code == room.district_code, Room.building_id == room.building_id,
            Room.entrance == entrance, Room.number == number, Room.id != room.id))
        if other is not None:
            raise Conflict("another room has this entrance and number", field="number")
        room.entrance, room.number = entrance, number
    _set_room(room, changes)
    session.flush()
    return room


def get_room(session: Session, principal: Principal, room_id: uuid.UUID) -> Room:
    return get_scoped(session, principal, Room, room_id, "room")


def list_rooms(session: Session, principal: Principal, *, grid: str | None = None,
               building_id: uuid.UUID | None = None, use: str | None = None, limit: int = 50, offset: int = 0,
               ) -> tuple[list[Room], int]:
    stmt = scoped_select(principal, Room, grid)
    if building_id is not None:
        stmt = stmt.where(Room.building_id == building_id)
    if use is not None:
        stmt = stmt.where(Room.use == one_of(use, ROOM_USES, "use"))
    return page(session, stmt, (Room.grid_code, Room.building_id, Room.entrance, Room.number), limit, offset)


def room_addresses(session: Session, principal: Principal, room_ids: Any) -> dict[uuid.UUID, dict[str, str]]:
    """Where each room is — compound, building, entrance, number — for lists and pages, in one query; rooms
    outside the caller's scope are left out."""
    ids = {r for r in room_ids if r is not None}
    if not ids:
        return {}
    rows = session.execute(
        select(Room.id, Room.entrance, Room.number, Building.name, Compound.name, Compound.id)
        .join(Building, and_(Building.district_code == Room.district_code, Building.id == Room.building_id))
        .outerjoin(Compound, and_(Compound.district_code == Building.district_code,
                                  Compound.id == Building.compound_id))
        .where(principal.scope.where(Room), Room.id.in_(ids)))
    return {rid: {"compound": compound or "", "building": building, "entrance": entrance or "", "number": number,
                  "compound_id": str(compound_id) if compound_id else ""}
            for rid, entrance, number, building, compound, compound_id in rows}
