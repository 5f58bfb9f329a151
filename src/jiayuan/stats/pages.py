"""The grid profile page (网格画像, /registry): a unit's counts with links down to the lists behind them, its child
units and a map of its facilities."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from jiayuan.accounts.roles import SUPERVISORS, Role
from jiayuan.accounts.service import Principal
from jiayuan.deps import DbSession
from jiayuan.kit.errors import NotFound
from jiayuan.page_kit import query
from jiayuan.registry import service as registry
from jiayuan.registry.policy import Registrar
from jiayuan.registry.present import page_context
from jiayuan.stats import grid_profile
from jiayuan.units import service as units
from jiayuan.units.options import unit_code, unit_names
from jiayuan.web import render

router = APIRouter(include_in_schema=False)
MAP_POINTS = 1000


def default_unit(principal: Principal) -> str:
    """A grid worker's own grid; anyone else's unit."""
    if principal.role == Role.grid_worker and principal.grids:
        return principal.grids[0]
    return principal.scope_code or ""


def cases_link(principal: Principal, code: str) -> str:
    """The case list behind the open-case count: the dispatchers' queue for the unit, or a worker's to-do."""
    if principal.role in SUPERVISORS:  # the roles that dispatch cases
        return "/workbench?" + query(tab="all", status="open", unit=code)
    return "/workbench"


def map_data(session: Session, principal: Principal, code: str, children: list[Any]) -> dict[str, Any]:
    """The unit's outline, its child units' outlines, and its facilities that have a place, as map points."""
    chain = units.chain_of(session, code)
    found, total = registry.list_things(session, principal, grid=code, limit=MAP_POINTS)
    points = [{"lat": t.lat, "lon": t.lon, "kind": t.kind, "status": t.status, "name": t.name or t.code or "",
               "id": str(t.id)} for t in found if t.lat is not None and t.lon is not None]
    return {"unit": chain[-1].geometry if chain else None,
            "children": [{"code": c.code, "name": c.name, "geometry": c.geometry}
                         for c in children if c.geometry],
            "points": points, "capped": total > len(found)}


@router.get("/registry")
def profile_page(request: Request, principal: Registrar, session: DbSession, unit: str | None = None) -> Response:
    code = unit_code(unit) if unit else default_unit(principal)
    if not code:
        raise NotFound("no such unit", field="unit")
    figures = grid_profile.profile(session, principal, code)
    chain = units.chain_of(session, code)
    children = units.list_units(session, principal.scope, parent_code=code)
    per_child = grid_profile.people_by_child(session, principal, code)
    own_grids = []
    if principal.role == Role.grid_worker and len(principal.grids) > 1:
        names = unit_names(session, principal)
        own_grids = [{"code": g, "name": names.get(g, g)} for g in principal.grids]
    return render(request, "stats/grid_profile.html", {
        **page_context(request), "unit": chain[-1], "chain": chain, "figures": figures,
        "children": [{"code": c.code, "name": c.name, "level": c.level, "people": per_child.get(c.code, 0)}
                     for c in children],
        "covers": principal.scope.covers, "own_grids": own_grids, "cases_link": cases_link(principal, code),
        "map": map_data(session, principal, code, children), "query": query})
