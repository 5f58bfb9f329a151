"""JSON routes of houses, things and organizations, under /api/v1/registry."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from jiayuan.deps import DbSession
from jiayuan.kit.errors import Invalid
from jiayuan.kit.pagination import Offset
from jiayuan.registry.places import houses, organizations, things
from jiayuan.registry.places.schemas import (
    BuildingCreate,
    BuildingList,
    BuildingRead,
    BuildingUpdate,
    CompoundCreate,
    CompoundList,
    CompoundRead,
    CompoundUpdate,
    OrganizationCreate,
    OrganizationList,
    OrganizationRead,
    OrganizationUpdate,
    RoomCreate,
    RoomList,
    RoomRead,
    RoomUpdate,
    ThingCreate,
    ThingList,
    ThingRead,
    ThingUpdate,
)
from jiayuan.registry.policy import Registrar

router = APIRouter(prefix="/api/v1/registry", tags=["registry"])
Limit = Annotated[int, Query(ge=1, le=500)]
Grid = Annotated[str | None, Query(description="a grid, community or street code")]


# Compounds.


@router.post("/compounds", response_model=CompoundRead, status_code=201)
def create_compound(body: CompoundCreate, principal: Registrar, session: DbSession) -> Any:
    return houses.create_compound(session, principal, **body.model_dump(exclude_unset=True))


@router.get("/compounds", response_model=CompoundList)
def list_compounds(principal: Registrar, session: DbSession, grid: Grid = None,
                   without_property: bool | None = None, limit: Limit = 50, offset: Offset = 0) -> Any:
    items, total = houses.list_compounds(session, principal, grid=grid, without_property=without_property,
                                         limit=limit, offset=offset)
    return {"total": total, "items": items}


@router.get("/compounds/{compound_id}", response_model=CompoundRead)
def get_compound(compound_id: uuid.UUID, principal: Registrar, session: DbSession) -> Any:
    return houses.get_compound(session, principal, compound_id)


@router.patch("/compounds/{compound_id}", response_model=CompoundRead)
def update_compound(compound_id: uuid.UUID, body: CompoundUpdate, principal: Registrar, session: DbSession) -> Any:
    return houses.update_compound(session, principal, compound_id, **body.model_dump(exclude_unset=True))


# Buildings.


@router.post("/buildings", response_model=BuildingRead, status_code=201)
def create_building(body: BuildingCreate, principal: Registrar, session: DbSession) -> Any:
    return houses.create_building(session, principal, **body.model_dump(exclude_unset=True))


@router.get("/buildings", response_model=BuildingList)
def list_buildings(principal: Registrar, session: DbSession, grid: Grid = None,
                   compound_id: uuid.UUID | None = None, limit: Limit = 50, offset: Offset = 0) -> Any:
    items, total = houses.list_buildings(session, principal, grid=grid, compound_id=compound_id,
                                         limit=limit, offset=offset)
    return {"total": total, "items": items}


@router.get("/buildings/{building_id}", response_model=BuildingRead)
def get_building(building_id: uuid.UUID, principal: Registrar, session: DbSession) -> Any:
    return houses.get_building(session, principal, building_id)


@router.patch("/buildings/{building_id}", response_model=BuildingRead)
def update_building(building_id: uuid.UUID, body: BuildingUpdate, principal: Registrar, session: DbSession) -> Any:
    return houses.update_building(session, principal, building_id, **body.model_dump(exclude_unset=True))


# Rooms.


@router.post("/rooms", response_model=RoomRead, status_code=201,
             responses={200: {"description": "the room at this address already existed and was updated"}})
def put_room(body: RoomCreate, principal: Registrar, session: DbSession, response: Response) -> Any:
    """A room by building_id, or by address path; the same room sent again is updated (200), not duplicated."""
    fields = body.model_dump(exclude_unset=True)
    if body.building_id is not None:
        for key in ("grid_code", "compound", "building"):
            fields.pop(key, None)
        room, created = houses.put_room(session, principal, **fields)
    else:
        if not body.building:
            raise Invalid("give building_id, or grid_code and building (and compound) names", field="building_id")
        room, created = houses.upsert_room_by_path(
            session, principal, grid_code=body.grid_code or "", compound=body.compound, building=body.building,
            entrance=body.entrance, number=body.number, use=body.use, area=body.area)
    if not created:
        response.status_code = 200
    return room


@router.get("/rooms", response_model=RoomList)
def list_rooms(principal: Registrar, session: DbSession, grid: Grid = None, building_id: uuid.UUID | None = None,
               use: str | None = None, limit: Limit = 50, offset: Offset = 0) -> Any:
    items, total = houses.list_rooms(session, principal, grid=grid, building_id=building_id, use=use,
                                     limit=limit, offset=offset)
    return {"total": total, "items": items}


@router.get("/rooms/{room_id}", response_model=RoomRead)
def get_room(room_id: uuid.UUID, principal: Registrar, session: DbSession) -> Any:
    return houses.get_room(session, principal, room_id)


@router.patch("/rooms/{room_id}", response_model=RoomRead)
def update_room(room_id: uuid.UUID, body: RoomUpdate, principal: Registrar, session: DbSession) -> Any:
    return houses.update_room(session, principal, room_id, **body.model_dump(exclude_unset=True))


# Things.


@router.post("/things", response_model=ThingRead, status_code=201)
def create_thing(body: ThingCreate, principal: Registrar, session: DbSession) -> Any:
    return things.create_thing(session, principal, **body.model_dump(exclude_unset=True))


@router.get("/things", response_model=ThingList)
def list_things(principal: Registrar, session: DbSession, grid: Grid = None, kind: str | None = None,
                status: str | None = None, limit: Limit = 50, offset: Offset = 0) -> Any:
    items, total = things.list_things(session, principal, grid=grid, kind=kind, status=status,
                                      limit=limit, offset=offset)
    return {"total": total, "items": items}


@router.get("/things/{thing_id}", response_model=ThingRead)
def get_thing(thing_id: uuid.UUID, principal: Registrar, session: DbSession) -> Any:
    return things.get_thing(session, principal, thing_id)


@router.patch("/things/{thing_id}", response_model=ThingRead)
def update_thing(thing_id: uuid.UUID, body: ThingUpdate, principal: Registrar, session: DbSession) -> Any:
    return things.update_thing(session, principal, thing_id, **body.model_dump(exclude_unset=True))


# Organizations.


@router.post("/organizations", response_model=OrganizationRead, status_code=201)
def create_organization(body: OrganizationCreate, principal: Registrar, session: DbSession) -> Any:
    return organizations.create_organization(session, principal, **body.model_dump(exclude_unset=True))


@router.get("/organizations", response_model=OrganizationList)
def list_organizations(principal: Registrar, session: DbSession, grid: Grid = None, kind: str | None = None,
                       active: bool | None = None, limit: Limit = 50, offset: Offset = 0) -> Any:
    items, total = organizations.list_organizations(session, principal, grid=grid, kind=kind, active=active,
                                                    limit=limit, offset=offset)
    return {"total": total, "items": items}


@router.get("/organizations/{org_id}", response_model=OrganizationRead)
def get_organization(org_id: uuid.UUID, principal: Registrar, session: DbSession) -> Any:
    return organizations.get_organization(session, principal, org_id)


@router.patch("/organizations/{org_id}", response_model=OrganizationRead)
def update_organization(org_id: uuid.UUID, body: OrganizationUpdate, principal: Registrar,
                        session: DbSession) -> Any:
    return organizations.update_organization(session, principal, org_id, **body.model_dump(exclude_unset=True))

