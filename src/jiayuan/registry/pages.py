"""Pages of the registry shared by its use cases — labels of the vocabularies, form reading, error messages by
field, unit choices — and the grid profile (网格画像) with its map. People are in people_pages.py; houses,
things and organizations in places_pages.py."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from jiayuan.accounts.roles import SUPERVISORS as DISPATCHERS
from jiayuan.accounts.roles import Role
from jiayuan.accounts.service import Principal
from jiayuan.deps import DbSession
from jiayuan.kit import i18n
from jiayuan.kit.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from jiayuan.kit.scope import Scope
from jiayuan.registry import houses, people, profile, things
from jiayuan.registry.places_api import Registrar
from jiayuan.units import service as units
from jiayuan.web import gettext_for, render, request_locale

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
MAP_POINTS = 1000
ROOM_OPTIONS = 500
UNIT_LENGTHS = (6, 9, 12, 15)

__all__ = ["Registrar", "router"]


# Labels: every vocabulary value of the registry in the reader's language.


def labels(_: Any) -> dict[str, dict[str, str]]:
    return {
        "residence": {"registered": _("Registered resident"), "floating": _("Floating resident"),
                      "foreign": _("Foreign resident"), "unsettled": _("Unsettled resident")},
        "tag": {"aged_60": _("Aged 60+"), "aged_80": _("Aged 80+"), "living_alone": _("Living alone"),
                "empty_nest": _("Empty nest"), "disabled": _("Disabled"),
                "allowance": _("Minimum living allowance"), "left_behind_child": _("Left-behind child"),
                "entitled": _("Entitled group"), "attention": _("Under attention")},
        "use": {"self_occupied": _("Self-occupied"), "rented": _("Rented out"), "vacant": _("Vacant"),
                "commercial": _("Commercial use")},
        "kind": {"street_lamp": _("Street lamp"), "manhole_cover": _("Manhole cover"),
                 "well": _("Inspection well"), "septic_tank": _("Septic tank"), "hydrant": _("Fire hydrant"),
                 "camera": _("Surveillance camera"), "anti_theft_door": _("Anti-theft door"),
                 "pocket_park": _("Pocket park"), "fitness_equipment": _("Fitness equipment"),
                 "other": _("Other facility")},
        "status": {"ok": _("In good order"), "damaged": _("Damaged"), "missing": _("Missing"),
                   "removed": _("Removed")},
        "org": {"enterprise": _("Enterprise"), "social_welfare": _("Social organization (welfare)"),
                "social_charity": _("Social organization (charity)"),
                "social_service": _("Social organization (services)"),
                "social_rights": _("Social organization (rights protection)"),
                "property_company": _("Property management company"),
                "homeowners_committee": _("Homeowners' committee")},
        "sex": {"male": _("Male"), "female": _("Female")},
        "level": {"district": _("District"), "street": _("Street"), "community": _("Community"),
                  "grid": _("Grid")},
    }


def page_context(request: Request) -> dict[str, Any]:
    """What every registry page uses: the labels and dates as the reader expects them."""
    _ = gettext_for(request)
    locale = request_locale(request)
    return {"RL": labels(_), "fmt_date": lambda v: i18n.fmt_date(v, locale),
            "flash": request.session.pop("flash", None)}


# Forms: fields are read by hand so that bad input comes back as a message by the field, not a JSON 422.


async def form_data(request: Request) -> AsyncIterator[FormData]:
    form = await request.form()
    try:
        yield form
    finally:
        await form.close()


PostedForm = Annotated[FormData, Depends(form_data)]


def field_text(form: FormData, name: str, limit: int = 2000) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def optional_text(form: FormData, name: str, limit: int = 2000) -> str | None:
    return field_text(form, name, limit) or None


def field_date(form: FormData, name: str) -> date | None:
    text = field_text(form, name, 20)
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Invalid("not a date", field=name) from None


def field_int(form: FormData, name: str) -> int | None:
    text = field_text(form, name, 20)
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise Invalid("must be a whole number", field=name) from None


def field_float(form: FormData, name: str) -> float | None:
    text = field_text(form, name, 30)
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise Invalid("must be a number", field=name) from None


def field_uuid(form: FormData, name: str) -> uuid.UUID | None:
    text = field_text(form, name, 40)
    if not text:
        return None
    try:
        return uuid.UUID(text)
    except ValueError:
        raise Invalid("no such record", field=name) from None


def path_id(value: str) -> uuid.UUID:
    """An id from a page's path: anything that is not one is a page that does not exist."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound("no such record", field="id") from None


def status_of(exc: DomainError) -> int:
    return exc.status_code if exc.status_code in (409, 422) else 422


# Errors: a domain error becomes a message by the form field it names.


def explain(request: Request, exc: DomainError) -> tuple[str, str]:
    """(form field, message in the reader's language) for an error raised by the registry services."""
    _ = gettext_for(request)
    field, message = exc.field or "form", exc.message or ""
    if isinstance(exc, Forbidden):
        return field, _("You may not do this.")
    if isinstance(exc, NotFound):
        return field, _("Choose one within your area.")
    if isinstance(exc, Conflict):
        conflicts = {
            "id_number": _("A person with this ID number is already registered in the district."),
            "credit_code": _("An organization with this credit code is already registered."),
            "code": _("A facility with this number is already registered."),
            "name": _("This name is already used here."),
            "number": _("Another room has this entrance and number."),
            "anonymized_at": _("This person has been anonymized; the record can no longer change."),
        }
        return field, conflicts.get(field, _("This conflicts with another record; reload and try again."))
    if message == "required" or message.endswith("is required"):
        return field, _("Required.")
    if message.startswith("at most ") and message.endswith(" characters"):
        return field, _("At most %(n)s characters.") % {"n": message.split()[2]}
    if field == "id_number":
        if "18 characters" in message:
            return field, _("An ID number has 18 characters.")
        if "17 digits" in message:
            return field, _("An ID number is 17 digits followed by a digit or X.")
        if "birth date" in message:
            return field, _("The birth date in this ID number is not possible.")
        return field, _("The last character does not match: a digit is probably mistyped.")
    if field == "credit_code":
        if "required" in message:
            return field, _("A credit code is required for this kind of organization.")
        if "18 characters" in message:
            return field, _("A credit code has 18 characters.")
        if "check character" in message:
            return field, _("The last character does not match: a character is probably mistyped.")
        return field, _("This is not a valid unified social credit code.")
    if field == "tag" and "age groups" in message:
        return field, _("Age groups follow from the birth date in the ID number; they are not added by hand.")
    if field == "to_grid" and "already lives" in message:
        return field, _("The person already lives there.")
    if field in ("room_id", "to_room_id") and "another grid" in message:
        return field, _("This room is in another grid.")
    if field == "reason":
        return field, _("Give a reason of at least %(n)s characters.") % {"n": people.MIN_REASON}
    known = {
        "name": _("Please enter the name."),
        "grid_code": _("Choose a grid in your area."),
        "to_grid": _("Choose the grid the person moves to."),
        "phone": _("Enter a mainland mobile number (11 digits)."),
        "contact_phone": _("Enter a mainland mobile number (11 digits)."),
        "residence_type": _("Choose a residence type."),
        "floating_expires_on": _("A floating resident is registered with an expiry date."),
        "starts_on": _("Enter a date."),
        "ends_on": _("The end date is before the start date."),
        "grade": _("Only a disability carries a grade."),
        "tag": _("Choose a group."),
        "relation": _("Give the relation to the head of the household (at most 20 characters)."),
        "household_id": _("Choose a household."),
        "room_id": _("Choose a room in your area."),
        "to_room_id": _("Choose a room in your area."),
        "building_id": _("Choose a building."),
        "kind": _("Choose a kind."),
        "status": _("Choose a status."),
        "use": _("Choose a use."),
        "area": _("A positive number of square metres."),
        "floors": _("A whole number from 1 to 200."),
        "staff_count": _("A whole number, 0 or more."),
        "installed_on": _("A date, not in the future."),
        "lat": _("Give a latitude and longitude inside the district, or neither."),
        "lon": _("Give a latitude and longitude inside the district, or neither."),
        "geometry": _("This is not a valid polygon."),
    }
    return field, known.get(field, _("This value is not accepted."))


def form_error(request: Request, exc: DomainError, form: str = "") -> dict[str, str]:
    """The error a page shows beside the field it names, in the form it came from."""
    field, message = explain(request, exc)
    return {"form": form, "field": field, "message": message, field: message}


# Units: which the caller may pick, and their names.


def unit_code(value: str | None) -> str:
    """A unit code from a query string; anything else is simply no filter (a page never fails on it)."""
    value = (value or "").strip()
    return value if value.isdigit() and len(value) in UNIT_LENGTHS else ""


def unit_options(session: Session, principal: Principal) -> list[dict[str, Any]]:
    """Units a list can be narrowed to: streets, communities and grids of the scope, indented by level."""
    return [{"code": u.code, "name": u.name, "depth": (len(u.code) - 9) // 3}
            for u in units.list_units(session, principal.scope) if u.level != "district"]


def grid_options(session: Session, principal: Principal) -> list[dict[str, Any]]:
    """The grids a record can be put in, grouped under their community's name."""
    names = unit_names(session, principal)
    return [{"code": u.code, "name": u.name, "community": names.get(u.parent_code or "", "")}
            for u in units.list_units(session, principal.scope, level="grid")]


def unit_names(session: Session, principal: Principal) -> dict[str, str]:
    return {u.code: u.name for u in units.list_units(session, principal.scope, with_ancestors=True)}


def district_grids(session: Session, principal: Principal) -> list[dict[str, Any]]:
    """Every grid of the caller's district: a person may move anywhere in it, even out of the caller's sight."""
    district = principal.scope.districts[0] if principal.scope.districts else ""
    if not district:
        return []
    everywhere = units.list_units(session, Scope((district,)))
    names = {u.code: u.name for u in everywhere}
    return [{"code": u.code, "name": u.name, "community": names.get(u.parent_code or "", "")}
            for u in everywhere if u.level == "grid"]


def room_label(address: dict[str, str] | None) -> str:
    if not address:
        return ""
    parts = [address["compound"], address["building"], address["entrance"], address["number"]]
    return " ".join(p for p in parts if p)


def room_options(session: Session, principal: Principal, grid: str | None = None
                 ) -> tuple[list[dict[str, Any]], bool]:
    """Rooms to choose from (in a grid, or in the whole scope), labelled by address; True when there were more
    than fit in one list."""
    rows, total = houses.list_rooms(session, principal, grid=grid, limit=ROOM_OPTIONS)
    addresses = houses.room_addresses(session, principal, [r.id for r in rows])
    options = sorted(({"id": str(r.id), "grid": r.grid_code, "label": room_label(addresses.get(r.id))}
                      for r in rows), key=lambda o: (o["grid"], o["label"]))
    return options, total > len(rows)


def query(**params: Any) -> str:
    """A query string of the filters that are set."""
    return urlencode({k: v for k, v in params.items() if v not in (None, "", False)})


def pages_of(total: int, page: str | int) -> tuple[int, int, int]:
    """(page, pages, offset) for a page number asked for by hand: never an error page."""
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    number = int(page) if str(page).isdigit() else 1
    number = min(max(number, 1), pages)
    return number, pages, (number - 1) * PAGE_SIZE


# The grid profile (网格画像).


def default_unit(principal: Principal) -> str:
    """A grid worker's own grid; anyone else's unit."""
    if principal.role == Role.grid_worker and principal.grids:
        return principal.grids[0]
    return principal.scope_code or ""


def cases_link(principal: Principal, code: str) -> str:
    """The case list behind the open-case count: the dispatchers' queue for the unit, or a worker's to-do."""
    if principal.role in DISPATCHERS:
        return "/workbench?" + query(tab="all", status="open", unit=code)
    return "/workbench"


def map_data(session: Session, principal: Principal, code: str, children: list[Any]) -> dict[str, Any]:
    """The unit's outline, its child units' outlines, and its facilities that have a place, as map points."""
    chain = units.chain_of(session, code)
    found, total = things.list_things(session, principal, grid=code, limit=MAP_POINTS)
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
    figures = profile.profile(session, principal, code)
    chain = units.chain_of(session, code)
    children = units.list_units(session, principal.scope, parent_code=code)
    per_child = profile.people_by_child(session, principal, code)
    own_grids = []
    if principal.role == Role.grid_worker and len(principal.grids) > 1:
        names = unit_names(session, principal)
        own_grids = [{"code": g, "name": names.get(g, g)} for g in principal.grids]
    return render(request, "registry/profile.html", {
        **page_context(request), "unit": chain[-1], "chain": chain, "figures": figures,
        "children": [{"code": c.code, "name": c.name, "level": c.level, "people": per_child.get(c.code, 0)}
                     for c in children],
        "covers": principal.scope.covers, "own_grids": own_grids, "cases_link": cases_link(principal, code),
        "map": map_data(session, principal, code, children), "query": query})
