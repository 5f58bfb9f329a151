"""Pages of member providers (加盟企业) for the district: the list with its flags, the application form, a
provider's page (items and prices, area, hours, staff, status history and the status form) and performance."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from jiayuan.accounts.roles import Role
from jiayuan.accounts.passwords import PASSWORD_MESSAGES
from jiayuan.accounts.service import Principal
from jiayuan.deps import DbSession, ReadSession, require_role, verify_csrf
from jiayuan.kit import hours as weekly
from jiayuan.kit import i18n
from jiayuan.kit.db import utcnow
from jiayuan.kit.errors import DomainError, Forbidden, Invalid, NotFound
from jiayuan.kit.identity import mask_phone
from jiayuan.kit.scope import Scope
from jiayuan.kit.text import search_term
from jiayuan.page_kit import (
    N_,
    Messages,
    PostedForm,
    field_float,
    field_text,
    field_yuan,
    flash,
    form_error,
    pages_of,
    path_id,
    query,
    register_messages,
    see_other,
    status_of,
    take_flash,
)
from jiayuan.registry.service import organizations
from jiayuan.services.catalogue.service import list_items
from jiayuan.services.present import by_field, weekday_names
from jiayuan.services.providers import performance as performance
from jiayuan.services.providers import policy
from jiayuan.services.providers import service as service
from jiayuan.services.providers.models import PROVIDER_STATUSES, Provider
from jiayuan.units import service as units
from jiayuan.units.options import unit_code
from jiayuan.web import gettext_for, render, request_locale

router = APIRouter(include_in_schema=False)
# District staff, and a provider's own staff (who see only their provider); the services judge the rest.
Staff = Annotated[Principal, Depends(require_role(*policy.READERS, Role.provider))]
BASE = "/services/providers"
PAGE_SIZE = 50
FORM_FIELDS = ("name", "credit_code", "contact_name", "contact_phone", "service_phone", "address", "lat", "lon",
               "description")


def status_labels(_: Any) -> dict[str, str]:
    return {"applied": _("Applied"), "approved": _("Approved"), "active": _("In service"),
            "suspended": _("Service suspended"), "withdrawn": _("Withdrawn")}


def _context(request: Request) -> dict[str, Any]:
    _ = gettext_for(request)
    locale = request_locale(request)
    return {"PS": status_labels(_), "WD": weekday_names(_), "flash": take_flash(request),
            "fmt_date": lambda v: i18n.fmt_date(v, locale), "yuan": _yuan, "mask_phone": mask_phone,
            "fmt_hours": weekly.format_intervals, "zh": locale == "zh_CN"}


def _yuan(fen: int | None) -> str:
    return "" if fen is None else f"{Decimal(fen) / 100:,.2f}"


def _move_refused(exc: DomainError, _: Any) -> str:
    details = exc.details or {}
    labels = status_labels(_)
    return _("A provider cannot go from %(from)s to %(to)s.") % {
        "from": labels.get(details.get("from"), ""), "to": labels.get(details.get("to"), "")}


def _welfare_price(exc: DomainError, _: Any) -> tuple[str, str]:
    return "price", _("A public-welfare service costs at most %(price)s yuan.") % {
        "price": _yuan(exc.params.get("limit_fen"))}


# Messages of the provider forms by (field, reason); a record out of sight or a conflict reads alike on every
# field, before its own words.
MESSAGES: Messages = register_messages({
    **PASSWORD_MESSAGES,
    **by_field({
        "name": N_("Please enter the name."),
        "credit_code": N_("This is not a valid unified social credit code."),
        "contact_phone": N_("Enter a mainland mobile number (11 digits)."),
        "service_phone": N_("A landline with its area code (0796-8221234) or an 11-digit mobile number."),
        "lat": N_("Give a latitude and longitude, or neither."),
        "lon": N_("Give a latitude and longitude, or neither."),
        "item": N_("Choose an item of the catalogue."),
        "unit_code": N_("Choose a unit of the district."),
        "password": N_("At least 10 characters, not a common password."),
        "full_name": N_("Please enter the name."),
        "reason": N_("Give a reason."),
        "to": N_("Choose a status."),
        "username": N_("2–64 lower-case letters, digits, '.', '_' or '-'."),
        "weekly_hours": N_("Write each interval as 08:30-12:00, separated by commas; the start before the end, "
                           "not overlapping."),
        "price": N_("A price in yuan, 0 or more, with at most two decimals."),
    }, {"not_found": N_("Not found, or outside your scope"),
        "conflict": N_("Someone else changed this provider at the same moment; reload and try again.")}),
    ("credit_code", "credit_length"): N_("A credit code has 18 characters."),
    ("credit_code", "check_char"): N_("The last character does not match: a character is probably mistyped."),
    ("credit_code", "conflict"): N_("A provider with this credit code is already registered in the district."),
    ("to", "conflict"): _move_refused,
    ("username", "conflict"): N_("This user name is taken."),
    ("status", "conflict"): N_("The provider has withdrawn; this can no longer change."),
    ("weekly_hours", "hours_needed"): N_("Give the weekly hours, or tick round the clock."),
    ("price", "above_welfare_price"): _welfare_price,
}, "/services/providers")
# Fields named by the services, shown beside the form's own.
FIELDS = {"price_fen": "price", "items.price_fen": "price", **{f"weekly_hours.{d}": "weekly_hours" for d in
                                                              weekly.WEEKDAYS}}


def _errors(request: Request, exc: DomainError, form: str) -> dict[str, str]:
    return form_error(request, exc, form, MESSAGES, FIELDS)


def _week(form: FormData) -> dict[str, Any]:
    return {d: weekly.parse_day_text(field_text(form, f"hours_{d}", 200), f"weekly_hours.{d}")
            for d in weekly.WEEKDAYS}


def _form_values(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {k: field_text(form, k, 2000) for k in FORM_FIELDS}
    values["round_the_clock"] = form.get("round_the_clock") == "1"
    values["hours"] = {d: field_text(form, f"hours_{d}", 200) for d in weekly.WEEKDAYS}
    return values


def _fields(form: FormData, *, editing: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {k: field_text(form, k, 2000) or None for k in FORM_FIELDS if k not in ("lat", "lon")}
    fields["lat"], fields["lon"] = field_float(form, "lat"), field_float(form, "lon")
    fields["round_the_clock"] = form.get("round_the_clock") == "1"
    fields["weekly_hours"] = None if fields["round_the_clock"] else _week(form)
    if editing:
        if not fields["contact_phone"]:  # blank keeps the number on record (it is never shown whole)
            fields.pop("contact_phone")
        if form.get("clear_phone") == "1":
            fields["contact_phone"] = None
        version = field_text(form, "version", 12)
        fields["version"] = int(version) if version.isdigit() else None
    else:
        fields["reason"] = field_text(form, "reason", 500) or None
    return fields


def _district(principal: Principal) -> str:
    return principal.district_code


def _unit_names(session: Session, district: str) -> dict[str, str]:
    return {u.code: u.name for u in units.list_units(session, Scope((district,)))}


def _unit_options(session: Session, district: str) -> list[dict[str, Any]]:
    return [{"code": u.code, "name": u.name, "depth": (len(u.code) - 6) // 3}
            for u in units.list_units(session, Scope((district,)))]


def _catalogue(session: Session, request: Request) -> list[dict[str, Any]]:
    zh = request_locale(request) == "zh_CN"
    groups: list[dict[str, Any]] = []
    for entry in list_items(session):
        name = entry.name_zh if zh else entry.name_en
        if entry.parent_code is None:
            groups.append({"code": entry.code, "name": name, "items": []})
        elif groups:
            groups[-1]["items"].append({"code": entry.code, "name": name, "public_welfare": entry.public_welfare,
                                        "max": entry.price_max_fen, "unit": entry.unit_zh if zh else entry.unit_en})
    return groups


# --- The list -------------------------------------------------------------------------------------------


@router.get(BASE)
def provider_list(request: Request, principal: Staff, session: DbSession, status: str | None = None,
                  item: str | None = None, area: str | None = None, flagged: str | None = None, q: str | None = None,
                  page: str = "1") -> Response:
    if principal.role == Role.provider:
        return see_other(f"{BASE}/{service.provider_of(session, principal).id}")
    status = status if status in PROVIDER_STATUSES else ""
    item = item if item and item.isdigit() and len(item) in (2, 4) else ""
    area = unit_code(area)
    only_flagged = flagged == "1"
    q = search_term(q) or ""  # too long: a 422 page saying so, not a cut search
    f = service.ProviderFilter(status=status or None, item=item or None, area=area or None,
                               flagged=True if only_flagged else None, q=q or None)
    counted = service.list_providers(session, principal, f, limit=0)[1]
    number, pages, offset = pages_of(counted, page)
    rows, total = service.list_providers(session, principal, f, limit=PAGE_SIZE, offset=offset)
    district = _district(principal)
    ids = [p.id for p in rows]
    items = service.items_by_provider(session, district, ids)
    areas = service.areas_by_provider(session, district, ids)
    flagged_total = service.list_providers(session, principal, service.ProviderFilter(flagged=True), limit=0)[1]
    filter_query = query(status=status, item=item, area=area, flagged="1" if only_flagged else "", q=q)
    return render(request, "services/providers/list.html", {
        **_context(request), "rows": [(p, items[p.id], areas[p.id]) for p in rows], "total": total,
        "page": number, "pages": pages, "filter_query": filter_query, "flagged_total": flagged_total,
        "f": {"status": status, "item": item, "area": area, "flagged": only_flagged, "q": q},
        "statuses": PROVIDER_STATUSES, "catalogue": _catalogue(session, request),
        "units": _unit_options(session, district), "names": _unit_names(session, district),
        "can_edit": policy.may_edit(principal)})


# --- The application form and edits ---------------------------------------------------------------------


def _form_page(request: Request, principal: Principal, provider: Provider | None, values: dict[str, Any],
               errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    if not policy.may_edit(principal):
        raise Forbidden("only the district administrator may register providers", field="role")
    return render(request, "services/providers/form.html", {
        **_context(request), "provider": provider, "values": values, "errors": errors or {},
        "masked_phone": mask_phone(provider.contact_phone) if provider and provider.contact_phone else ""},
        status_code=status_code)


@router.get(f"{BASE}/new")
def provider_new(request: Request, principal: Staff) -> Response:
    return _form_page(request, principal, None, {"hours": {}})


@router.post(f"{BASE}/new", dependencies=[Depends(verify_csrf)])
def provider_create(request: Request, principal: Staff, session: DbSession, form: PostedForm) -> Response:
    _ = gettext_for(request)
    values = _form_values(form) | {"reason": field_text(form, "reason", 500)}
    try:
        with session.begin_nested():
            provider = service.create_provider(session, principal, **_fields(form, editing=False))
    except DomainError as exc:
        return _form_page(request, principal, None, values, _errors(request, exc, "provider"), status_of(exc))
    flash(request, _("The application is registered. Add its items, area and staff below."))
    return see_other(f"{BASE}/{provider.id}")


def _values_of(provider: Provider) -> dict[str, Any]:
    values: dict[str, Any] = {k: getattr(provider, k) for k in FORM_FIELDS if k != "contact_phone"}
    values["round_the_clock"] = provider.round_the_clock
    values["hours"] = {d: weekly.format_intervals((provider.weekly_hours or {}).get(d), ", ").replace("–", "-")
                       for d in weekly.WEEKDAYS}
    values["version"] = provider.version
    return values


@router.get(BASE + "/{provider_id}/edit")
def provider_edit_form(provider_id: str, request: Request, principal: Staff, session: DbSession) -> Response:
    provider = service.get_provider(session, principal, path_id(provider_id))
    return _form_page(request, principal, provider, _values_of(provider))


@router.post(BASE + "/{provider_id}/edit", dependencies=[Depends(verify_csrf)])
def provider_edit(provider_id: str, request: Request, principal: Staff, session: DbSession,
                  form: PostedForm) -> Response:
    _ = gettext_for(request)
    provider = service.get_provider(session, principal, path_id(provider_id))
    values = _form_values(form) | {"version": field_text(form, "version", 12)}
    try:
        with session.begin_nested():
            service.update_provider(session, principal, provider.id, **_fields(form, editing=True))
    except DomainError as exc:
        if isinstance(exc, NotFound):
            raise
        return _form_page(request, principal, provider, values, _errors(request, exc, "provider"),
                          status_of(exc))
    flash(request, _("Saved."))
    return see_other(f"{BASE}/{provider.id}")


# --- A provider's page ----------------------------------------------------------------------------------


def _provider_page(request: Request, session: Session, principal: Principal, provider_id: uuid.UUID,
                   errors: dict[str, str] | None = None, values: dict[str, Any] | None = None,
                   status_code: int = 200) -> Response:
    provider = service.get_provider(session, principal, provider_id)
    district = provider.district_code
    org = organizations.by_credit_code(session, district, provider.credit_code) if provider.organization_id else None
    today = utcnow().astimezone(i18n.TIMEZONE).date()
    start, end = performance.period(None, None, today)
    figures = performance.figures(session, district, start, end, [provider.id])[0]
    return render(request, "services/providers/detail.html", {
        **_context(request), "p": provider, "items": service.items_of(session, provider),
        "areas": service.areas_of(session, provider), "names": _unit_names(session, district),
        "staff": service.staff_of(session, provider), "history": service.history(session, provider),
        "next_statuses": service.TRANSITIONS.get(provider.status, ()), "organization": org,
        "catalogue": _catalogue(session, request), "units": _unit_options(session, district),
        "can_edit": policy.may_edit(principal), "errors": errors or {}, "values": values or {},
        "figures": figures, "is_staff_view": principal.role != Role.provider}, status_code=status_code)


@router.get(BASE + "/performance")
def performance_page(request: Request, principal: Staff, session: ReadSession, since: str | None = None,
                     until: str | None = None, sort: str | None = None, order: str | None = None,
                     status: str | None = None) -> Response:
    _ = gettext_for(request)
    if not policy.may_read(principal):
        raise Forbidden("your role may not read provider performance", field="role")
    today = utcnow().astimezone(i18n.TIMEZONE).date()
    error = None
    try:
        first, last = _date(since), _date(until)
        start, end = performance.period(first, last, today)
    except Invalid:
        error = _("Choose a first day on or before the last day.")
        start, end = performance.period(None, None, today)
    status = status if status in PROVIDER_STATUSES else ""
    sort = sort if sort in performance.SORTABLE else "mean_rating"
    descending = order != "asc"
    rows = performance.sort_figures(performance.district_figures(session, principal, start, end,
                                                                 status=status or None), sort, descending)
    first_day, last_day = start.date(), (end - timedelta(days=1)).date()  # local midnights
    chart = [{"name": f.name, "rating": round(f.mean_rating, 2) if f.mean_rating is not None else None,
              "completion": round(f.completion_rate * 100, 1) if f.completion_rate is not None else None}
             for f in rows if f.offers or f.ratings][:40]
    return render(request, "services/providers/performance.html", {
        **_context(request), "rows": rows, "since": first_day.isoformat(), "until": last_day.isoformat(),
        "sort": sort, "descending": descending, "status": status, "statuses": PROVIDER_STATUSES, "error": error,
        "chart": {"providers": chart, "rating": _("Mean rating"), "completion": _("Completion rate")},
        "sortable": performance.SORTABLE}, status_code=422 if error else 200)


def _date(value: str | None) -> date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid("not a date", field="since", reason="not_a_date") from None


@router.get(BASE + "/{provider_id}")
def provider_view(provider_id: str, request: Request, principal: Staff, session: DbSession) -> Response:
    return _provider_page(request, session, principal, path_id(provider_id))


def _act(request: Request, session: Session, principal: Principal, provider_id: str, form_name: str,
         values: dict[str, Any], action: Any, anchor: str) -> Response:
    """Run one change in a savepoint; on a refusal show the page again with the message by its form."""
    _ = gettext_for(request)
    pid = path_id(provider_id)
    service.get_provider(session, principal, pid)  # a provider out of sight is a 404 page, not a form error
    try:
        with session.begin_nested():
            action(pid)
    except DomainError as exc:
        if isinstance(exc, NotFound) and exc.field == "id":
            raise
        return _provider_page(request, session, principal, pid, _errors(request, exc, form_name), values,
                              status_of(exc))
    flash(request, _("Saved."))
    return see_other(f"{BASE}/{pid}#{anchor}")


@router.post(BASE + "/{provider_id}/status", dependencies=[Depends(verify_csrf)])
def status_change(provider_id: str, request: Request, principal: Staff, session: DbSession,
                  form: PostedForm) -> Response:
    to, reason = field_text(form, "to", 20), field_text(form, "reason", 500)
    version = field_text(form, "version", 12)
    return _act(request, session, principal, provider_id, "status", {"to": to, "reason": reason},
                lambda pid: service.change_status(session, principal, pid, to, reason,
                                                  version=int(version) if version.isdigit() else None), "status")


@router.post(BASE + "/{provider_id}/items", dependencies=[Depends(verify_csrf)])
def item_put(provider_id: str, request: Request, principal: Staff, session: DbSession,
             form: PostedForm) -> Response:
    item, price = field_text(form, "item", 4), field_text(form, "price", 20)
    return _act(request, session, principal, provider_id, "items", {"item": item, "price": price},
                lambda pid: service.put_item(session, principal, pid, item, field_yuan(form, "price")), "items")


@router.post(BASE + "/{provider_id}/items/{item}/delete", dependencies=[Depends(verify_csrf)])
def item_delete(provider_id: str, item: str, request: Request, principal: Staff, session: DbSession) -> Response:
    return _act(request, session, principal, provider_id, "items", {},
                lambda pid: service.remove_item(session, principal, pid, item), "items")


@router.post(BASE + "/{provider_id}/areas", dependencies=[Depends(verify_csrf)])
def area_add(provider_id: str, request: Request, principal: Staff, session: DbSession,
             form: PostedForm) -> Response:
    code = field_text(form, "unit_code", 15)
    return _act(request, session, principal, provider_id, "areas", {"unit_code": code},
                lambda pid: service.add_area(session, principal, pid, code), "areas")


@router.post(BASE + "/{provider_id}/areas/{code}/delete", dependencies=[Depends(verify_csrf)])
def area_delete(provider_id: str, code: str, request: Request, principal: Staff, session: DbSession) -> Response:
    return _act(request, session, principal, provider_id, "areas", {},
                lambda pid: service.remove_area(session, principal, pid, code), "areas")


@router.post(BASE + "/{provider_id}/staff", dependencies=[Depends(verify_csrf)])
def staff_add(provider_id: str, request: Request, principal: Staff, session: DbSession,
              form: PostedForm) -> Response:
    username, full_name = field_text(form, "username", 64), field_text(form, "full_name", 100)
    password = form.get("password") if isinstance(form.get("password"), str) else ""
    return _act(request, session, principal, provider_id, "staff", {"username": username, "full_name": full_name},
                lambda pid: service.add_staff(session, principal, pid, username=username, full_name=full_name,
                                              password=password), "staff")


@router.post(BASE + "/{provider_id}/staff/{user_id}/delete", dependencies=[Depends(verify_csrf)])
def staff_delete(provider_id: str, user_id: str, request: Request, principal: Staff, session: DbSession) -> Response:
    return _act(request, session, principal, provider_id, "staff", {},
                lambda pid: service.remove_staff(session, principal, pid, path_id(user_id)), "staff")
