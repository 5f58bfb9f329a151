"""Pages of houses (房), things (物) and organizations (组织): filtered lists that export to Excel, a compound
with its buildings and rooms, and the small forms that keep them up to date."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from jiayuan.accounts.service import Principal
from jiayuan.deps import DbSession, verify_csrf
from jiayuan.kit.errors import DomainError, Invalid, NotFound
from jiayuan.kit.identity import mask_phone
from jiayuan.page_kit import (
    PAGE_SIZE,
    PostedForm,
    field_date,
    field_float,
    field_int,
    field_text,
    field_uuid,
    flash,
    form_error,
    pages_of,
    path_id,
    query,
    see_other,
    status_of,
)
from jiayuan.registry.messages import MESSAGES
from jiayuan.registry.models import (
    ORGANIZATION_KINDS,
    ROOM_USES,
    THING_KINDS,
    THING_STATUSES,
    Organization,
    Thing,
)
from jiayuan.registry.places import houses, organizations, things
from jiayuan.registry.policy import Registrar
from jiayuan.registry.present import page_context, room_label
from jiayuan.units.options import grid_options, unit_code, unit_names, unit_options
from jiayuan.web import gettext_for, render

router = APIRouter(include_in_schema=False)


def _list_context(request: Request, session: Session, principal: Principal, total: int, page: int, pages: int,
                  filter_query: str) -> dict[str, Any]:
    return {**page_context(request), "total": total, "page": page, "pages": pages, "filter_query": filter_query,
            "units": unit_options(session, principal), "names": unit_names(session, principal),
            "grids": grid_options(session, principal)}


def _flag(value: str | None) -> bool | None:
    return {"true": True, "false": False}.get((value or "").strip().lower())


def _flag_text(value: bool | None) -> str:
    return "" if value is None else ("true" if value else "false")


# Compounds (小区), buildings and rooms.


def _compounds_page(request: Request, session: Session, principal: Principal, grid: str, without: bool | None,
                    page: str, values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                    status_code: int = 200) -> Response:
    counted = houses.list_compounds(session, principal, grid=grid or None, without_property=without, limit=0)[1]
    number, pages, offset = pages_of(counted, page)
    rows, total = houses.list_compounds(session, principal, grid=grid or None, without_property=without,
                                        limit=PAGE_SIZE, offset=offset)
    filter_query = query(grid=grid, without_property=_flag_text(without))
    return render(request, "registry/compounds.html", {
        **_list_context(request, session, principal, total, number, pages, filter_query), "rows": rows,
        "f": {"grid": grid, "without_property": without}, "values": values or {}, "errors": errors or {}},
        status_code=status_code)


@router.get("/registry/houses")
def compounds(request: Request, principal: Registrar, session: DbSession, grid: str | None = None,
              without_property: str | None = None, page: str = "1") -> Response:
    return _compounds_page(request, session, principal, unit_code(grid), _flag(without_property), page)


@router.post("/registry/houses", dependencies=[Depends(verify_csrf)])
def compound_create(request: Request, principal: Registrar, session: DbSession, form: PostedForm) -> Response:
    _ = gettext_for(request)
    values = {k: field_text(form, k, 200) for k in ("name", "grid_code", "address", "property_company")}
    try:
        with session.begin_nested():
            compound = houses.create_compound(session, principal, **values)
    except DomainError as exc:
        return _compounds_page(request, session, principal, "", None, "1", values,
                               form_error(request, exc, "compound", MESSAGES), status_of(exc))
    flash(request, _("Saved."))
    return see_other(f"/registry/houses/{compound.id}")


def _compound_page(request: Request, session: Session, principal: Principal, compound_id: Any,
                   error: dict[str, str] | None = None, values: dict[str, Any] | None = None,
                   status_code: int = 200) -> Response:
    compound = houses.get_compound(session, principal, compound_id)
    buildings, _n = houses.list_buildings(session, principal, compound_id=compound.id, limit=500)
    rooms = {b.id: houses.list_rooms(session, principal, building_id=b.id, limit=500)[0] for b in buildings}
    return render(request, "registry/compound.html", {
        **page_context(request), "compound": compound, "buildings": buildings, "rooms": rooms,
        "names": unit_names(session, principal), "uses": ROOM_USES, "error": error or {}, "values": values or {}},
        status_code=status_code)


@router.get("/registry/houses/{compound_id}")
def compound_view(compound_id: str, request: Request, principal: Registrar, session: DbSession) -> Response:
    return _compound_page(request, session, principal, path_id(compound_id))


@router.post("/registry/houses/{compound_id}/buildings", dependencies=[Depends(verify_csrf)])
def building_create(compound_id: str, request: Request, principal: Registrar, session: DbSession,
                    form: PostedForm) -> Response:
    _ = gettext_for(request)
    cid = path_id(compound_id)
    values = {k: field_text(form, k, 60) for k in ("name", "floors")}
    try:
        with session.begin_nested():
            houses.create_building(session, principal, compound_id=cid, name=values["name"],
                                   floors=field_int(form, "floors"))
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        return _compound_page(request, session, principal, cid, form_error(request, exc, "building", MESSAGES), values,
                              status_of(exc))
    flash(request, _("Saved."))
    return see_other(f"/registry/houses/{cid}#buildings")


@router.post("/registry/houses/{compound_id}/rooms", dependencies=[Depends(verify_csrf)])
def room_create(compound_id: str, request: Request, principal: Registrar, session: DbSession,
                form: PostedForm) -> Response:
    _ = gettext_for(request)
    cid = path_id(compound_id)
    houses.get_compound(session, principal, cid)
    values = {k: field_text(form, k, 40) for k in ("building_id", "entrance", "number", "use", "area")}
    try:
        building_id = field_uuid(form, "building_id")
        if building_id is None or houses.get_building(session, principal, building_id).compound_id != cid:
            raise Invalid("choose a building of this compound", field="building_id")
        with session.begin_nested():
            houses.put_room(session, principal, building_id=building_id, entrance=values["entrance"],
                            number=values["number"], use=values["use"], area=field_float(form, "area"))
    except DomainError as exc:
        return _compound_page(request, session, principal, cid, form_error(request, exc, "room", MESSAGES), values,
                              status_of(exc))
    flash(request, _("Saved."))
    return see_other(f"/registry/houses/{cid}#b-{building_id}")


@router.post("/registry/rooms/{room_id}/use", dependencies=[Depends(verify_csrf)])
def room_use(room_id: str, request: Request, principal: Registrar, session: DbSession,
             form: PostedForm) -> Response:
    """A room let out, vacated or turned into a shop: the most frequent change a worker makes to a house."""
    _ = gettext_for(request)
    room = houses.get_room(session, principal, path_id(room_id))
    building = houses.get_building(session, principal, room.building_id)
    back = f"/registry/houses/{building.compound_id}#b-{building.id}" if building.compound_id else (
        "/registry/rooms?" + query(building_id=str(building.id)))
    try:
        with session.begin_nested():
            houses.update_room(session, principal, room.id, use=field_text(form, "use", 20))
    except DomainError:
        flash(request, _("Choose a use."))
        return see_other(back)
    flash(request, _("Saved."))
    return see_other(back)


@router.get("/registry/rooms")
def rooms(request: Request, principal: Registrar, session: DbSession, grid: str | None = None,
          use: str | None = None, building_id: str | None = None, page: str = "1") -> Response:
    grid, use = unit_code(grid), use if use in ROOM_USES else ""
    building = None
    if building_id:
        building = houses.get_building(session, principal, path_id(building_id))
    filters = {"grid": grid or None, "use": use or None, "building_id": building.id if building else None}
    number, pages, offset = pages_of(houses.list_rooms(session, principal, **filters, limit=0)[1], page)
    rows, total = houses.list_rooms(session, principal, **filters, limit=PAGE_SIZE, offset=offset)
    addresses = houses.room_addresses(session, principal, [r.id for r in rows])
    filter_query = query(grid=grid, use=use, building_id=str(building.id) if building else "")
    return render(request, "registry/rooms.html", {
        **_list_context(request, session, principal, total, number, pages, filter_query),
        "rows": [(r, addresses.get(r.id, {})) for r in rows], "uses": ROOM_USES, "building": building,
        "f": {"grid": grid, "use": use}, "room_label": room_label})


# Things (物): facilities and components.


@router.get("/registry/things")
def things_list(request: Request, principal: Registrar, session: DbSession, grid: str | None = None,
                kind: str | None = None, status: str | None = None, page: str = "1") -> Response:
    grid, kind = unit_code(grid), kind if kind in THING_KINDS else ""
    status = status if status in THING_STATUSES else ""
    filters = {"grid": grid or None, "kind": kind or None, "status": status or None}
    number, pages, offset = pages_of(things.list_things(session, principal, **filters, limit=0)[1], page)
    rows, total = things.list_things(session, principal, **filters, limit=PAGE_SIZE, offset=offset)
    return render(request, "registry/things.html", {
        **_list_context(request, session, principal, total, number, pages, query(grid=grid, kind=kind,
                                                                                    status=status)),
        "rows": rows, "kinds": THING_KINDS, "statuses": THING_STATUSES,
        "f": {"grid": grid, "kind": kind, "status": status}})


def _thing_fields(form: Any) -> dict[str, Any]:
    return {k: field_text(form, k, 100) for k in ("kind", "grid_code", "lat", "lon", "code", "name", "status",
                                                  "owner", "maintainer", "installed_on")}


def _thing_page(request: Request, session: Session, principal: Principal, thing: Thing | None,
                values: dict[str, Any], error: dict[str, str] | None = None, status_code: int = 200) -> Response:
    return render(request, "registry/thing.html", {
        **page_context(request), "thing": thing, "values": values, "errors": error or {},
        "grids": grid_options(session, principal), "names": unit_names(session, principal),
        "kinds": THING_KINDS, "statuses": THING_STATUSES}, status_code=status_code)


def _thing_values(thing: Thing) -> dict[str, Any]:
    return {"kind": thing.kind, "grid_code": thing.grid_code, "lat": thing.lat, "lon": thing.lon,
            "code": thing.code, "name": thing.name, "status": thing.status, "owner": thing.owner,
            "maintainer": thing.maintainer, "installed_on": thing.installed_on}


def _thing_input(form: Any) -> dict[str, Any]:
    """The form as the service takes it; numbers and dates parsed here name their field when they fail."""
    data: dict[str, Any] = {k: field_text(form, k, 100) or None for k in ("kind", "grid_code", "code", "name",
                                                                          "owner", "maintainer")}
    data.update(lat=field_float(form, "lat"), lon=field_float(form, "lon"),
                installed_on=field_date(form, "installed_on"))
    return data


@router.get("/registry/things/new")
def thing_new(request: Request, principal: Registrar, session: DbSession) -> Response:
    grids = grid_options(session, principal)
    return _thing_page(request, session, principal, None, {
        "status": "ok", "grid_code": grids[0]["code"] if len(grids) == 1 else ""})


@router.post("/registry/things/new", dependencies=[Depends(verify_csrf)])
def thing_create(request: Request, principal: Registrar, session: DbSession, form: PostedForm) -> Response:
    _ = gettext_for(request)
    values = _thing_fields(form)
    try:
        data = {**_thing_input(form), "status": values["status"] or "ok"}
        with session.begin_nested():
            thing = things.create_thing(session, principal, **data)
    except DomainError as exc:
        return _thing_page(request, session, principal, None, values, form_error(request, exc, "thing", MESSAGES),
                           status_of(exc))
    flash(request, _("Saved."))
    return see_other(f"/registry/things/{thing.id}")


@router.get("/registry/things/{thing_id}")
def thing_view(thing_id: str, request: Request, principal: Registrar, session: DbSession) -> Response:
    thing = things.get_thing(session, principal, path_id(thing_id))
    return _thing_page(request, session, principal, thing, _thing_values(thing))


@router.post("/registry/things/{thing_id}", dependencies=[Depends(verify_csrf)])
def thing_edit(thing_id: str, request: Request, principal: Registrar, session: DbSession,
               form: PostedForm) -> Response:
    _ = gettext_for(request)
    thing = things.get_thing(session, principal, path_id(thing_id))
    values = _thing_fields(form)
    try:
        with session.begin_nested():
            things.update_thing(session, principal, thing.id, **_thing_input(form))
    except DomainError as exc:
        return _thing_page(request, session, principal, thing, values, form_error(request, exc, "thing", MESSAGES),
                           status_of(exc))
    flash(request, _("Saved."))
    return see_other(f"/registry/things/{thing.id}")


@router.post("/registry/things/{thing_id}/status", dependencies=[Depends(verify_csrf)])
def thing_status(thing_id: str, request: Request, principal: Registrar, session: DbSession,
                 form: PostedForm) -> Response:
    _ = gettext_for(request)
    thing = things.get_thing(session, principal, path_id(thing_id))
    try:
        with session.begin_nested():
            things.set_status(session, principal, thing.id, field_text(form, "status", 20))
    except DomainError as exc:
        return _thing_page(request, session, principal, thing, _thing_values(thing),
                           form_error(request, exc, "status", MESSAGES), status_of(exc))
    flash(request, _("Status changed."))
    return see_other(f"/registry/things/{thing.id}")


# Organizations (组织).


@router.get("/registry/organizations")
def organizations_list(request: Request, principal: Registrar, session: DbSession, grid: str | None = None,
                       kind: str | None = None, active: str | None = None, page: str = "1") -> Response:
    grid, kind, is_active = unit_code(grid), kind if kind in ORGANIZATION_KINDS else "", _flag(active)
    filters = {"grid": grid or None, "kind": kind or None, "active": is_active}
    number, pages, offset = pages_of(organizations.list_organizations(session, principal, **filters,
                                                                      limit=0)[1], page)
    rows, total = organizations.list_organizations(session, principal, **filters, limit=PAGE_SIZE, offset=offset)
    active_text = _flag_text(is_active)
    return render(request, "registry/organizations.html", {
        **_list_context(request, session, principal, total, number, pages,
                        query(grid=grid, kind=kind, active=active_text)),
        "rows": [(o, mask_phone(o.contact_phone) if o.contact_phone else "") for o in rows],
        "kinds": ORGANIZATION_KINDS, "f": {"grid": grid, "kind": kind, "active": active_text}})


def _org_fields(form: Any) -> dict[str, Any]:
    return {k: field_text(form, k, 200) for k in ("kind", "name", "grid_code", "credit_code", "address",
                                                  "contact_name", "contact_phone", "staff_count", "active")}


def _org_page(request: Request, session: Session, principal: Principal, org: Organization | None,
              values: dict[str, Any], error: dict[str, str] | None = None, status_code: int = 200) -> Response:
    return render(request, "registry/organization.html", {
        **page_context(request), "org": org, "values": values, "errors": error or {},
        "masked_phone": mask_phone(org.contact_phone) if org and org.contact_phone else "",
        "grids": grid_options(session, principal), "names": unit_names(session, principal),
        "kinds": ORGANIZATION_KINDS}, status_code=status_code)


def _org_input(form: Any, *, editing: bool) -> dict[str, Any]:
    data: dict[str, Any] = {k: field_text(form, k, 200) or None for k in ("kind", "name", "grid_code",
                                                                          "credit_code", "address",
                                                                          "contact_name")}
    data["staff_count"] = field_int(form, "staff_count")
    phone = field_text(form, "contact_phone", 40)
    # Editing, a blank phone keeps the one on record: the page never holds it to send back.
    if phone or not editing:
        data["contact_phone"] = phone or None
    if editing:
        data["active"] = bool(form.get("active"))
        if form.get("clear_phone"):
            data["contact_phone"] = None
    return data


@router.get("/registry/organizations/new")
def organization_new(request: Request, principal: Registrar, session: DbSession) -> Response:
    grids = grid_options(session, principal)
    only = grids[0]["code"] if len(grids) == 1 else ""
    return _org_page(request, session, principal, None, {"grid_code": only})


@router.post("/registry/organizations/new", dependencies=[Depends(verify_csrf)])
def organization_create(request: Request, principal: Registrar, session: DbSession, form: PostedForm) -> Response:
    _ = gettext_for(request)
    values = _org_fields(form)
    try:
        data = _org_input(form, editing=False)
        with session.begin_nested():
            org = organizations.create_organization(session, principal, **data)
    except DomainError as exc:
        return _org_page(request, session, principal, None, values, form_error(request, exc, "org", MESSAGES),
                         status_of(exc))
    flash(request, _("Saved."))
    return see_other(f"/registry/organizations/{org.id}")


@router.get("/registry/organizations/{org_id}")
def organization_view(org_id: str, request: Request, principal: Registrar, session: DbSession) -> Response:
    org = organizations.get_organization(session, principal, path_id(org_id))
    values = {"kind": org.kind, "name": org.name, "grid_code": org.grid_code, "credit_code": org.credit_code,
              "address": org.address, "contact_name": org.contact_name, "staff_count": org.staff_count,
              "active": org.active}
    return _org_page(request, session, principal, org, values)


@router.post("/registry/organizations/{org_id}", dependencies=[Depends(verify_csrf)])
def organization_edit(org_id: str, request: Request, principal: Registrar, session: DbSession,
                      form: PostedForm) -> Response:
    _ = gettext_for(request)
    org = organizations.get_organization(session, principal, path_id(org_id))
    values = {**_org_fields(form), "active": bool(form.get("active"))}
    try:
        data = _org_input(form, editing=True)
        with session.begin_nested():
            organizations.update_organization(session, principal, org.id, **data)
    except DomainError as exc:
        return _org_page(request, session, principal, org, values, form_error(request, exc, "org", MESSAGES),
                         status_of(exc))
    flash(request, _("Saved."))
    return see_other(f"/registry/organizations/{org.id}")
