"""The front door and each role's home page: tiles by role (face/nav.py) and the figures that need attention."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from jiayuan.accounts.roles import ASSIGNEES, FRONT_LINE, SUPERVISORS, Role
from jiayuan.care import service as care
from jiayuan.cases import calendar
from jiayuan.cases import views as cases_views
from jiayuan.deps import DbSession, OptionalPrincipal
from jiayuan.face import nav
from jiayuan.kit.clock import local_today
from jiayuan.units import service as units
from jiayuan.web import render

router = APIRouter(include_in_schema=False)


@router.get("/")
def root(principal: OptionalPrincipal) -> Response:
    return RedirectResponse("/home" if principal else "/login", status_code=303)


@router.get("/docs")
def api_docs(request: Request) -> Response:
    """The JSON API's reference: Swagger UI from node_modules, started by static/api-docs.js (no inline script)."""
    return render(request, "api_docs.html", {"openapi_url": request.app.openapi_url})


@router.get("/favicon.ico")
def favicon() -> Response:
    """Browsers ask for /favicon.ico before reading a page's icon link (and for the API's pages, which have none)."""
    return RedirectResponse("/static/favicon.svg", status_code=301)


@router.get("/home")
def home(request: Request, principal: OptionalPrincipal, session: DbSession) -> Response:
    if principal is None:
        return RedirectResponse("/login?next=/home", status_code=303)
    context: dict = {"tiles": nav.tiles(principal), "counts": units.count_units(session, principal.scope),
                     "scope_units": []}
    if principal.scope_code:
        context["scope_units"] = units.chain_of(session, principal.scope_code)
    if principal.role == Role.grid_worker:
        context["my_grids"] = [units.chain_of(session, code)[-1] for code in principal.grids]
    if principal.role in SUPERVISORS:
        context["unstaffed"] = len(units.grids_without_workers(session, principal.scope))
    if principal.role in ASSIGNEES:
        context["todo"] = cases_views.todo_count(session, principal)
    if principal.role == Role.district_admin:
        context["calendar_missing"] = calendar.unknown_years(session, local_today())
    if principal.role in FRONT_LINE:
        rows, total = care.list_alerts(session, principal, limit=5)  # people in care not visited in time
        context["care_alerts"] = {"rows": rows, "total": total}
    return render(request, "home.html", context)
