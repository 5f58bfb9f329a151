"""Pages of units: the map of the caller's scope, a unit's page (a grid's workers, added and taken off by the
supervisors of its area), and grids nobody answers for."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from jiayuan.accounts import service as accounts
from jiayuan.accounts.service import Principal
from jiayuan.deps import CurrentPrincipal, DbSession
from jiayuan.page_kit import (
    N_,
    Messages,
    PostedForm,
    Refused,
    attempt,
    field_text,
    flash,
    path_id,
    register_messages,
    see_other,
    take_flash,
)
from jiayuan.units import service
from jiayuan.units.policy import may_keep_workers, require_supervisor
from jiayuan.web import gettext_for, render

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


MESSAGES: Messages = register_messages({
    ("username", "no_worker"): N_("No grid worker with this user name in your area."),
    ("username", "*"): N_("Enter the user name of a grid worker."),
    ("is_lead", "*"): N_("Name another lead first: a grid always has one."),
    ("user_id", "conflict"): N_("Name another lead before taking this one off the grid."),
    ("user_id", "*"): N_("This worker is not on the grid any more."),
}, "/units")


def _unit_page(request: Request, session: Session, principal: Principal, code: str,
               errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
               status_code: int = 200) -> Response:
    unit = service.get_unit(session, principal.scope, code)
    chain = service.chain_of(session, code)
    children = service.list_units(session, principal.scope, parent_code=code)
    members = []
    if unit.level == "grid":
        rows = service.members_of(session, principal.scope, code)
        users = accounts.users_by_ids(session, [m.user_id for m in rows])
        members = [(m, users[m.user_id]) for m in rows if m.user_id in users]
    # Supervisors keep the workers of the grids of their own scope (not of a grid they only see as an ancestor).
    staffing = unit.level == "grid" and may_keep_workers(principal, code)
    return render(request, "units/unit.html", {
        "unit": unit, "chain": chain, "children": children, "members": members, "staffing": staffing,
        "errors": errors or {}, "values": values or {}, "flash": take_flash(request)}, status_code=status_code)


@router.get("/units/{code}")
def unit_page(code: str, request: Request, principal: CurrentPrincipal, session: DbSession) -> Response:
    return _unit_page(request, session, principal, code)


@router.post("/units/{code}/workers")
def add_worker(code: str, request: Request, principal: CurrentPrincipal, session: DbSession,
               form: PostedForm) -> Response:
    """Make a grid worker of the caller's scope a worker, or the lead, of this grid (supervisors)."""
    require_supervisor(principal)
    values = {"username": field_text(form, "username", 64), "is_lead": "1" if form.get("is_lead") else ""}
    done = attempt(request, session, lambda: service.add_worker(session, principal, code, values["username"],
                                                                is_lead=bool(values["is_lead"])),
                   form="add", messages=MESSAGES)
    if isinstance(done, Refused):
        return _unit_page(request, session, principal, code, done.errors, values, done.status)
    flash(request, gettext_for(request)("%(name)s now works on this grid.") % {"name": values["username"]})
    return see_other(f"/units/{code}")


@router.post("/units/{code}/workers/{user_id}/remove")
def remove_worker(code: str, user_id: str, request: Request, principal: CurrentPrincipal, session: DbSession,
                  form: PostedForm) -> Response:
    """Take a worker off this grid (supervisors); the lead only once another is named."""
    require_supervisor(principal)
    uid = path_id(user_id)
    done = attempt(request, session, lambda: service.remove_worker(session, principal, code, uid),
                   form="remove", messages=MESSAGES)
    if isinstance(done, Refused):
        return _unit_page(request, session, principal, code, done.errors, None, done.status)
    flash(request, gettext_for(request)("The worker is off this grid."))
    return see_other(f"/units/{code}")


@router.get("/grids/without-workers")
def without_workers(request: Request, principal: CurrentPrincipal, session: DbSession) -> Response:
    require_supervisor(principal)
    rows = service.grids_without_workers(session, principal.scope)
    return render(request, "units/without_workers.html", {"rows": rows})
