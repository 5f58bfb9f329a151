"""Pages of units: the map of the caller's scope, a unit's page, and grids nobody answers for."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from jiayuan.accounts import service as accounts
from jiayuan.deps import CurrentPrincipal, DbSession
from jiayuan.units import service
from jiayuan.units.policy import require_supervisor
from jiayuan.web import render

router = APIRouter(include_in_schema=False)


@router.get("/map")
def map_page(request: Request, principal: CurrentPrincipal, session: DbSession) -> Response:
    units = service.list_units(session, principal.scope, with_ancestors=True)
    children: dict[str | None, list] = {}
    for u in units:
        children.setdefault(u.parent_code, []).append(u)
    roots = [u for u in units if u.parent_code is None or u.parent_code not in {x.code for x in units}]
    return render(request, "units/map.html", {"roots": roots, "children": children,
                                              "grid_count": sum(1 for u in units if u.level == "grid")})


@router.get("/units/{code}")
def unit_page(code: str, request: Request, principal: CurrentPrincipal, session: DbSession) -> Response:
    unit = service.get_unit(session, principal.scope, code)
    chain = service.chain_of(session, code)
    children = service.list_units(session, principal.scope, parent_code=code)
    members = []
    if unit.level == "grid":
        rows = service.members_of(session, principal.scope, code)
        users = accounts.users_by_ids(session, [m.user_id for m in rows])
        members = [(m, users[m.user_id]) for m in rows if m.user_id in users]
    return render(request, "units/unit.html", {"unit": unit, "chain": chain, "children": children,
                                               "members": members})


@router.get("/grids/without-workers")
def without_workers(request: Request, principal: CurrentPrincipal, session: DbSession) -> Response:
    require_supervisor(principal)
    rows = service.grids_without_workers(session, principal.scope)
    return render(request, "units/without_workers.html", {"rows": rows})
