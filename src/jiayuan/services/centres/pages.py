"""Pages of service centres: the public directory by street with today's hours and a map, the staff's pages to
keep a centre (details and week, exceptions, today's opening, subsidies) and the subsidy report with its Excel
export. The public catalogue is in catalogue/pages.py; projects and produce points in projects/pages.py."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from jiayuan.accounts.roles import Role
from jiayuan.accounts.service import Principal
from jiayuan.deps import AppSettings, DbSession, OptionalPrincipal, require_role, verify_csrf
from jiayuan.kit import hours as weekly
from jiayuan.kit.clock import local_today
from jiayuan.kit.errors import Invalid, NotFound
from jiayuan.kit.scope import Scope
from jiayuan.page_kit import (
    N_,
    Messages,
    PostedForm,
    Refused,
    attempt,
    field_float,
    field_int,
    field_text,
    field_yuan,
    flash,
    path_id,
    query,
    register_messages,
    see_other,
)
from jiayuan.services.catalogue import service as catalogue
from jiayuan.services.centres import policy, views
from jiayuan.services.centres import service as service
from jiayuan.services.centres.models import ServiceCentre
from jiayuan.services.present import DAY_FIELDS, base_context, by_field, hours_messages, unit_choices
from jiayuan.units import service as units
from jiayuan.units.options import unit_code
from jiayuan.web import gettext_for, render, request_locale

router = APIRouter(include_in_schema=False)
CentreDesk = Annotated[Principal, Depends(require_role(*policy.CENTRE_DESK))]
ReportDesk = Annotated[Principal, Depends(require_role(*policy.REPORT_READERS))]
REPORT_YEARS = 6
RECENT_OPENINGS = 14

# Messages of the centre forms by (field, reason); a record out of sight or a conflict reads alike on every field.
MESSAGES: Messages = register_messages({
    **by_field({
        "name": N_("Please enter the name."),
        "unit_code": N_("Choose a street or community in your area."),
        "kind_code": N_("Choose a kind."),
        "capacity": N_("A whole number, 0 or more."),
        "phone": N_("Enter a landline with its area code (0796-8221234) or an 11-digit mobile number."),
        "facilities": N_("Separate facilities with commas; each at most 30 characters."),
        "lat": N_("Give a latitude and longitude inside the unit, or neither."),
        "lon": N_("Give a latitude and longitude inside the unit, or neither."),
        "day": N_("Enter a date."),
        "amount_fen": N_("Enter an amount in yuan, more than 0."),
        "year": N_("Choose a year."),
    }, {"not_found": N_("Choose one within your area."),
        "conflict": N_("This conflicts with another record; reload and try again.")}),
    **hours_messages("hours", *DAY_FIELDS),
    ("day", "future_day"): N_("Choose a day within the past week."),
    ("day", "too_late"): N_("Choose a day within the past week."),
    ("name", "conflict"): N_("This name is already used here."),
    ("year", "conflict"): N_("This centre already has its subsidy for that year."),
    ("active", "conflict"): N_("The centre is not in operation."),
}, "/services/centres", "/services/subsidies")


# The public directory (no sign-in): mobile first, large type.


@router.get("/services/centres")
def public_directory(request: Request, session: DbSession, settings: AppSettings, principal: OptionalPrincipal,
                     street: str | None = None, kind: str | None = None) -> Response:
    locale = request_locale(request)
    street = unit_code(street)
    street = street if len(street) == 9 else ""
    district = street[:6] if street else units.single_district(session)
    streets = units.list_units(session, Scope((district,)), level="street") if district else []
    kinds = catalogue.list_centre_kinds(session)
    kind = kind if kind in {k.code for k in kinds} else ""
    found = service.public_centres(session, district, street=street or None, kind=kind or None) if district else []
    items = views.centre_dicts(session, found, staff=False, locale=locale)
    by_street: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        by_street.setdefault(item["street_code"], []).append(item)
    map_points = [{"id": str(i["id"]), "lat": i["lat"], "lon": i["lon"], "name": i["name"],
                   "kind": i["kind_name"], "open": i["today"]["open"],
                   "hours": weekly.format_intervals(i["today"]["hours"])}
                  for i in items if i["lat"] is not None and i["lon"] is not None]
    outlines = [{"code": s.code, "name": s.name, "geometry": s.geometry} for s in streets
                if s.geometry and (not street or s.code == street)]
    return render(request, "services/centres.html", {
        **base_context(request), "streets": streets, "street": street, "kinds": kinds, "kind": kind,
        "kind_names": views.kind_names(session, locale), "by_street": by_street, "total": len(items),
        "today": local_today(), "map": {"points": map_points, "outlines": outlines},
        "tile_url": settings.tile_url, "tile_attribution": settings.tile_attribution})


# Staff: the centres of my scope.


@router.get("/services/centres/manage")
def manage_list(request: Request, principal: CentreDesk, session: DbSession, unit: str | None = None,
                kind: str | None = None) -> Response:
    locale = request_locale(request)
    unit = unit_code(unit)
    kinds = catalogue.list_centre_kinds(session)
    kind = kind if kind in {k.code for k in kinds} else ""
    found = service.list_centres(session, principal, unit=unit or None, kind=kind or None)
    items = views.centre_dicts(session, found, staff=True, locale=locale)
    return render(request, "services/manage.html", {
        **base_context(request), "items": items, "opened": service.opened_today(session, found),
        "units": unit_choices(session, principal, (9, 12)), "unit": unit, "kinds": kinds, "kind": kind,
        "can_add": policy.may_manage(principal)})


def _typed(form: FormData) -> dict[str, Any]:
    """The centre form as typed, to show again beside an error."""
    names = ("name", "kind_code", "unit_code", "address", "lat", "lon", "capacity", "facilities", "contact_name",
             "phone", "description")
    values: dict[str, Any] = {n: field_text(form, n, 2000) for n in names}
    values.update({f"hours_{d}": field_text(form, f"hours_{d}", 200) for d in weekly.WEEKDAYS})
    values["is_public"] = form.get("is_public") == "1"
    values["active"] = form.get("active") == "1"
    return values


def _fields(form: FormData, values: dict[str, Any]) -> dict[str, Any]:
    """The fields for the service; a number or a day's hours that cannot be read names its field."""
    fields: dict[str, Any] = {n: values[n] or None for n in ("name", "kind_code", "unit_code", "address",
                                                            "contact_name", "phone", "description")}
    fields["facilities"] = values["facilities"] or None
    fields["capacity"] = field_int(form, "capacity")
    fields["lat"], fields["lon"] = field_float(form, "lat"), field_float(form, "lon")
    fields["weekly_hours"] = {d: weekly.parse_day_text(values[f"hours_{d}"], f"hours_{d}") for d in weekly.WEEKDAYS}
    fields["is_public"] = values["is_public"]
    return fields


def _form_page(request: Request, session: Session, principal: Principal, values: dict[str, Any],
               errors: dict[str, str], centre: ServiceCentre | None = None, status_code: int = 200) -> Response:
    return render(request, "services/centre_form.html", {
        **base_context(request), "centre": centre, "values": values, "errors": errors,
        "units": unit_choices(session, principal, (9, 12)), "kinds": catalogue.list_centre_kinds(session),
        "kind_names": views.kind_names(session, request_locale(request))}, status_code=status_code)


def centre_values(centre: ServiceCentre) -> dict[str, Any]:
    values: dict[str, Any] = {k: getattr(centre, k) for k in (
        "name", "kind_code", "unit_code", "address", "lat", "lon", "capacity", "contact_name", "phone",
        "description", "is_public", "active")}
    values["facilities"] = "、".join(centre.facilities or [])
    for d in weekly.WEEKDAYS:
        values[f"hours_{d}"] = weekly.format_intervals((centre.weekly_hours or {}).get(d), ", ").replace("–", "-")
    return values


@router.get("/services/centres/new")
def new_centre(request: Request, principal: CentreDesk, session: DbSession) -> Response:
    policy.require_role(principal, policy.CENTRE_MANAGERS, "add service centres")
    values = {"is_public": True, "unit_code": principal.scope_code if principal.role == Role.street_staff else "",
              **{f"hours_{d}": "08:30-12:00, 14:00-17:30" for d in "12345"}}
    return _form_page(request, session, principal, values, {})


@router.post("/services/centres/new", dependencies=[Depends(verify_csrf)])
def create_centre(request: Request, principal: CentreDesk, session: DbSession, form: PostedForm) -> Response:
    _ = gettext_for(request)
    values = _typed(form)
    centre = attempt(request, session, lambda: service.create_centre(session, principal, **_fields(form, values)),
                     form="centre", messages=MESSAGES)
    if isinstance(centre, Refused):
        return _form_page(request, session, principal, values, centre.errors, status_code=centre.status)
    flash(request, _("Saved."))
    return see_other(f"/services/centres/{centre.id}")


def _centre_page(request: Request, session: Session, principal: Principal, centre: ServiceCentre,
                 errors: dict[str, str] | None = None, values: dict[str, Any] | None = None,
                 status_code: int = 200) -> Response:
    locale = request_locale(request)
    today = local_today()
    item = views.centre_dicts(session, [centre], staff=True, locale=locale)[0]
    return render(request, "services/centre.html", {
        **base_context(request), "centre": centre, "item": item, "today": today,
        "exceptions": service.list_exceptions(session, principal, centre.id, today - timedelta(days=7)),
        "openings": service.list_openings(session, principal, centre.id, today - timedelta(days=RECENT_OPENINGS)),
        "opened_today": centre.id in service.opened_today(session, [centre], today),
        "subsidies": service.list_subsidies(session, principal, centre.id),
        "can_edit": policy.may_manage(principal),
        "can_record": policy.may_record_openings(principal),
        "can_grant": policy.may_grant_subsidies(principal),
        "units": unit_choices(session, principal, (9, 12)), "kinds": catalogue.list_centre_kinds(session),
        "kind_names": views.kind_names(session, locale), "errors": errors or {},
        "values": values or centre_values(centre), "this_year": today.year}, status_code=status_code)


@router.get("/services/centres/{centre_id}")
def centre_page(centre_id: str, request: Request, principal: CentreDesk, session: DbSession) -> Response:
    return _centre_page(request, session, principal, service.get_centre(session, principal, path_id(centre_id)))


@router.post("/services/centres/{centre_id}", dependencies=[Depends(verify_csrf)])
def update_centre(centre_id: str, request: Request, principal: CentreDesk, session: DbSession,
                  form: PostedForm) -> Response:
    _ = gettext_for(request)
    centre = service.get_centre(session, principal, path_id(centre_id))
    values = _typed(form)
    done = attempt(request, session, lambda: service.update_centre(
        session, principal, centre.id, **_fields(form, values), active=values["active"]),
        form="centre", messages=MESSAGES)
    if isinstance(done, Refused):
        session.refresh(centre)
        return _centre_page(request, session, principal, centre, done.errors, values, done.status)
    flash(request, _("Saved."))
    return see_other(f"/services/centres/{centre.id}")


def _day(form: FormData, name: str = "day") -> date:
    text = field_text(form, name, 20)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise Invalid("must be a date (YYYY-MM-DD)", field=name, reason="not_a_date") from None


@router.post("/services/centres/{centre_id}/exceptions", dependencies=[Depends(verify_csrf)])
def set_exception(centre_id: str, request: Request, principal: CentreDesk, session: DbSession,
                  form: PostedForm) -> Response:
    _ = gettext_for(request)
    centre = service.get_centre(session, principal, path_id(centre_id))
    closed = form.get("closed") != "0"
    done = attempt(request, session, lambda: service.set_exception(
        session, principal, centre.id, _day(form), closed=closed,
        hours=weekly.parse_day_text(field_text(form, "hours", 200), "hours"),
        note=field_text(form, "note", 200) or None), form="exception", messages=MESSAGES)
    if isinstance(done, Refused):
        values = {**centre_values(centre), "ex_day": field_text(form, "day", 20), "ex_closed": closed,
                  "ex_hours": field_text(form, "hours", 200), "ex_note": field_text(form, "note", 200)}
        return _centre_page(request, session, principal, centre, done.errors, values, done.status)
    flash(request, _("Saved."))
    return see_other(f"/services/centres/{centre.id}#exceptions")


@router.post("/services/centres/{centre_id}/exceptions/{day}/delete", dependencies=[Depends(verify_csrf)])
def remove_exception(centre_id: str, day: str, request: Request, principal: CentreDesk,
                     session: DbSession) -> Response:
    _ = gettext_for(request)
    centre = service.get_centre(session, principal, path_id(centre_id))
    try:
        on = date.fromisoformat(day)
    except ValueError:
        raise NotFound("no such day", field="day") from None
    service.remove_exception(session, principal, centre.id, on)
    flash(request, _("Removed."))
    return see_other(f"/services/centres/{centre.id}#exceptions")


@router.post("/services/centres/{centre_id}/openings", dependencies=[Depends(verify_csrf)])
def record_opening(centre_id: str, request: Request, principal: CentreDesk, session: DbSession,
                   form: PostedForm) -> Response:
    _ = gettext_for(request)
    centre = service.get_centre(session, principal, path_id(centre_id))
    done = attempt(request, session, lambda: service.record_opening(
        session, principal, centre.id, _day(form) if field_text(form, "day", 20) else None),
        form="opening", messages=MESSAGES)
    if isinstance(done, Refused):
        return _centre_page(request, session, principal, centre, done.errors, status_code=done.status)
    _opening, created = done
    flash(request, _("Opening recorded.") if created else _("This day was already recorded."))
    return see_other(f"/services/centres/{centre.id}")


@router.post("/services/centres/{centre_id}/subsidies", dependencies=[Depends(verify_csrf)])
def grant_subsidy(centre_id: str, request: Request, principal: CentreDesk, session: DbSession,
                  form: PostedForm) -> Response:
    _ = gettext_for(request)
    centre = service.get_centre(session, principal, path_id(centre_id))
    done = attempt(request, session, lambda: service.grant_subsidy(
        session, principal, centre.id, year=field_int(form, "year"),
        amount_fen=field_yuan(form, "amount", field="amount_fen", positive=True),
        note=field_text(form, "note", 200) or None), form="subsidy", messages=MESSAGES)
    if isinstance(done, Refused):
        values = {**centre_values(centre), "sub_year": field_text(form, "year", 10),
                  "sub_amount": field_text(form, "amount", 40), "sub_note": field_text(form, "note", 200)}
        return _centre_page(request, session, principal, centre, done.errors, values, done.status)
    flash(request, _("Subsidy granted."))
    return see_other(f"/services/centres/{centre.id}#subsidies")


# The subsidy report.


@router.get("/services/subsidies")
def subsidy_report(request: Request, principal: ReportDesk, session: DbSession, settings: AppSettings,
                   year: str | None = None) -> Response:
    today = local_today()
    years = list(range(today.year + 1, today.year - REPORT_YEARS, -1))
    chosen = int(year) if year and year.isdigit() and int(year) in years else today.year
    report = service.subsidy_report(session, principal, chosen,
                                    required_share=settings.centre_required_open_share)
    rows = views.report_rows(session, report, request_locale(request))
    by_street: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_street.setdefault(row["street_name"] or row["unit_code"][:9], []).append(row)
    return render(request, "services/subsidies.html", {
        **base_context(request), "report": report, "by_street": by_street, "years": years, "year": chosen,
        "export": "/api/v1/services/subsidies/report.xlsx?" + query(year=str(chosen))})

