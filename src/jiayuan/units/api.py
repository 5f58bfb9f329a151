"""JSON routes of units: the hierarchy, GeoJSON import and export, point in grid, grid workers."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Response

from jiayuan.accounts import service as accounts
from jiayuan.accounts.service import Principal
from jiayuan.deps import CurrentPrincipal, DbSession
from jiayuan.kit.bodies import IMPORT, body_limit
from jiayuan.kit.errors import Invalid
from jiayuan.kit.numbers import Finite
from jiayuan.units import service
from jiayuan.units.policy import DistrictAdmin as Admin
from jiayuan.units.policy import Staff, Supervisor
from jiayuan.units.schemas import (
    ImportRead,
    LocateRead,
    MemberAssign,
    MemberRead,
    StaffingRead,
    UnitDetail,
    UnitRead,
)

router = APIRouter(prefix="/api/v1", tags=["units"])
GEOJSON = "application/geo+json"


@router.get("/units", response_model=list[UnitRead])
def list_units(principal: CurrentPrincipal, session: DbSession,
               level: Literal["district", "street", "community", "grid"] | None = None,
               parent: str | None = Query(default=None, description="children of this unit code")) -> list[Any]:
    """The units in the caller's scope (and their ancestors when no filter is given)."""
    if parent is not None:
        service.check_code(parent, "parent")
    return service.list_units(session, principal.scope, level=level, parent_code=parent,
                              with_ancestors=True)


@router.get("/units/export", responses={200: {"content": {GEOJSON: {}}}})
def export_units(principal: CurrentPrincipal, session: DbSession) -> Response:
    """One GeoJSON FeatureCollection: a Feature for every unit of every level in the caller's scope."""
    body = json.dumps(service.export_units(session, principal.scope), ensure_ascii=False)
    return Response(body, media_type=GEOJSON)


@router.post("/units/import", response_model=ImportRead)
@body_limit(IMPORT)
def import_units(principal: Admin, session: DbSession,
                 collection: Annotated[dict[str, Any], Body(description="a GeoJSON FeatureCollection")]) -> Any:
    """Create or update units from a FeatureCollection; all of it or nothing."""
    result = service.import_units(session, collection, scope=principal.scope)
    return ImportRead(created=result.created, updated=result.updated)


@router.get("/units/locate", response_model=LocateRead)
def locate(session: DbSession,
           lat: Annotated[Finite, Query(description="latitude")],
           lon: Annotated[Finite, Query(description="longitude")],
           crs: Annotated[str, Query(description="wgs84 (default) or gcj02 (Amap, Tencent)")] = "wgs84") -> Any:
    """The grid a point lies in and its chain up to the district; 404 naming the nearest grid if none."""
    found = service.locate(session, lat, lon, crs)
    return LocateRead(lat=found.lat, lon=found.lon, grid=UnitRead.model_validate(found.chain[-1]),
                      chain=[UnitRead.model_validate(u) for u in found.chain])


@router.get("/grids/without-workers", response_model=list[StaffingRead])
def grids_without_workers(principal: Supervisor, session: DbSession) -> list[StaffingRead]:
    """Grids in the caller's scope with no worker, or no lead (网格长)."""
    return [StaffingRead(grid=UnitRead.model_validate(s.grid), workers=s.workers, has_lead=s.has_lead)
            for s in service.grids_without_workers(session, principal.scope)]


@router.get("/units/{code}", response_model=UnitDetail)
def get_unit(code: str, principal: CurrentPrincipal, session: DbSession) -> UnitDetail:
    unit = service.get_unit(session, principal.scope, code)
    chain = service.chain_of(session, code)[:-1]
    children = service.list_units(session, principal.scope, parent_code=code)
    return UnitDetail(code=unit.code, name=unit.name, level=unit.level, parent_code=unit.parent_code,
                      geometry=unit.geometry, chain=[UnitRead.model_validate(u) for u in chain],
                      children=[UnitRead.model_validate(u) for u in children])


@router.get("/units/{code}/workers", response_model=list[MemberRead])
def list_workers(code: str, principal: Staff, session: DbSession) -> list[MemberRead]:
    """The grid's workers: staff only (their user names are what they sign in with)."""
    return _members(session, principal, code)


@router.post("/units/{code}/workers", response_model=list[MemberRead])
def assign_worker(code: str, body: MemberAssign, principal: Supervisor, session: DbSession) -> list[MemberRead]:
    """Make a grid worker's account of your scope a worker, or the lead, of this grid of your scope (a grid
    outside it is a 404; an account outside it, like an unknown one, a 422 on username). Audited."""
    service.add_worker(session, principal, code, body.username, is_lead=body.is_lead)
    return _members(session, principal, code)


@router.delete("/units/{code}/workers/{user_id}", response_model=list[MemberRead])
def remove_worker(code: str, user_id: uuid.UUID, principal: Supervisor, session: DbSession) -> list[MemberRead]:
    """Take a worker off this grid of your scope; the lead only once another is named (409), or when alone.
    Audited. Answers the grid's workers left."""
    service.remove_worker(session, principal, code, user_id)
    return _members(session, principal, code)


def _members(session: DbSession, principal: Principal, code: str) -> list[MemberRead]:
    members = service.members_of(session, principal.scope, code)
    users = accounts.users_by_ids(session, [m.user_id for m in members])
    return [MemberRead(user_id=m.user_id, username=users[m.user_id].username,
                       full_name=users[m.user_id].full_name, is_lead=m.is_lead)
            for m in members if m.user_id in users]
