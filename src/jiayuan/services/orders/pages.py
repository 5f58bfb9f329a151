"""Pages of service orders for residents (order a service, my orders) and the order page every role shares,
with the forms of the actions open to the reader. The 12343 console and the provider workbench are in
desk.py."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any

from babel.dates import format_skeleton
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.convertors import Convertor, register_url_convertor
from starlette.datastructures import FormData

from jiayuan.accounts.roles import Role
from jiayuan.deps import AppSettings, CurrentPrincipal, DbSession, client_ip, verify_csrf
from jiayuan.kit.db import utcnow
from jiayuan.kit.errors import DomainError, Invalid
from jiayuan.kit.i18n import TIMEZONE
from jiayuan.kit.idempotency import REUSED
from jiayuan.page_kit import (
    N_,
    Messages,
    PostedForm,
    explain,
    field_text,
    flash,
    lenient_float,
    register_messages,
    see_other,
    status_of,
    take_flash,
)
from jiayuan.services.catalogue import service as catalogue
from jiayuan.services.orders import actions as order_actions
from jiayuan.services.orders import intake as ordering
from jiayuan.services.orders import matching as matching
from jiayuan.services.orders.offers import rules_from
from jiayuan.services.orders.policy import require_desk
from jiayuan.services.orders.service import OrderFilter, Viewer, get_order, list_orders, viewer_of
from jiayuan.services.orders.views import audit_unmasked, present, present_many
from jiayuan.units import service as units
from jiayuan.web import gettext_for, render, request_locale


class OrderNumber(Convertor[str]):
    """Order numbers: S + 11 digits (other /services/… pages stay free)."""

    regex = r"[Ss]\d{11}"

    def convert(self, value: str) -> str:
        return value.upper()

    def to_string(self, value: str) -> str:
        return str(value)


register_url_convertor("orderno", OrderNumber())

router = APIRouter(include_in_schema=False)

# Time slots a resident picks from (local time); "asap" is the next two hours.
SLOTS = (("08:00", "10:00"), ("10:00", "12:00"), ("12:00", "14:00"), ("14:00", "16:00"), ("16:00", "18:00"),
         ("18:00", "20:00"), ("20:00", "22:00"))
ASAP = "asap"
DAYS_AHEAD = 29  # the last slot of the last day still ends within 30 days


# Labels in the reader's language.


def labels(_: Any) -> dict[str, dict[str, str]]:
    return {
        "status": {"offered": _("Finding a provider"), "unassigned": _("Waiting for the hotline"),
                   "accepted": _("Provider on the way"), "in_service": _("In service"),
                   "completed": _("Service completed"), "cancelled": _("Order cancelled")},
        "offer": {"queued": _("Next in line"), "pending": _("Being asked"), "accepted": _("Took the order"),
                  "declined": _("Declined"), "expired": _("Did not answer in time"),
                  "withdrawn": _("No longer asked")},
        "action": {"create": _("Ordered"), "offer": _("Offered to a provider"), "accept": _("Provider accepted"),
                   "decline": _("Provider declined"), "expire": _("Provider did not answer in time"),
                   "unassigned": _("No provider accepted"), "start": _("Service started"),
                   "complete": _("Service completed"), "cancel": _("Cancelled"), "rate": _("Rated"),
                   "complain": _("Complaint filed")},
        "button": {"accept": _("Take the order"), "decline": _("Decline"), "start": _("Start the service"),
                   "complete": _("Service done"), "cancel": _("Cancel the order"), "rate": _("Send my rating"),
                   "complain": _("File a complaint"), "offer": _("Offer to this provider")},
        "cancelled_by": {"resident": _("by the resident"), "operator": _("by the 12343 operator"),
                         "provider": _("by the provider")},
        "stars": {"1": _("Very poor"), "2": _("Poor"), "3": _("Fair"), "4": _("Good"), "5": _("Excellent")},
    }


def money(fen: int | None) -> str:
    if fen is None:
        return ""
    return f"¥{fen / 100:,.2f}".replace(".00", "")


def window_text(locale: str, start: datetime, end: datetime) -> str:
    """"5月10日 周日 08:00–10:00" (or across days, both dates)."""
    a, b = start.astimezone(TIMEZONE), end.astimezone(TIMEZONE)
    day = format_skeleton("MMMEd", a.date(), locale=locale)
    if a.date() == b.date():
        return f"{day} {a:%H:%M}–{b:%H:%M}"
    return f"{day} {a:%H:%M} – {format_skeleton('MMMEd', b.date(), locale=locale)} {b:%H:%M}"


def page_context(request: Request) -> dict[str, Any]:
    _ = gettext_for(request)
    locale = request_locale(request)
    return {"OL": labels(_), "money": money, "window_text": lambda s, e: window_text(locale, s, e),
            "now": utcnow()}


# The order form: the catalogue by group, the place, the time window.


def item_groups(session: Session, locale: str) -> list[dict[str, Any]]:
    zh = locale == "zh_CN"
    groups: dict[str, dict[str, Any]] = {}
    for i in catalogue.list_items(session):
        name = i.name_zh if zh else i.name_en
        if i.parent_code is None:
            groups[i.code] = {"code": i.code, "name": name, "items": []}
        elif i.parent_code in groups:
            unit = i.unit_zh if zh else i.unit_en
            price = "" if i.price_max_fen is None else (
                f"{money(i.price_min_fen)}–{money(i.price_max_fen)}/{unit}" if i.price_max_fen else "")
            groups[i.parent_code]["items"].append({"code": i.code, "name": name, "price": price,
                                                   "welfare": i.public_welfare})
    return [g for g in groups.values() if g["items"]]


def day_choices(locale: str, _: Any, now: datetime) -> list[tuple[str, str]]:
    today = now.astimezone(TIMEZONE).date()
    out = []
    for n in range(DAYS_AHEAD + 1):
        day = today + timedelta(days=n)
        label = format_skeleton("MMMEd", day, locale=locale)
        if n == 0:
            label = _("Today, %(day)s") % {"day": label}
        elif n == 1:
            label = _("Tomorrow, %(day)s") % {"day": label}
        out.append((day.isoformat(), label))
    return out


def slot_value(start: str, end: str) -> str:
    return f"{start}-{end}"


def past_slots(now: datetime) -> list[str]:
    """Today's slots that have already begun (the page greys them out; the service refuses them anyway)."""
    local = now.astimezone(TIMEZONE).strftime("%H:%M")
    return [slot_value(s, e) for s, e in SLOTS if s <= local]


def window_from_form(form: FormData, now: datetime) -> tuple[datetime | None, datetime | None]:
    """The window chosen as a day and a slot (or "as soon as possible"); None where nothing usable was sent."""
    slot = field_text(form, "slot", 20)
    if slot == ASAP:
        start = (now + timedelta(minutes=15)).replace(second=0, microsecond=0)
        return start, start + timedelta(hours=2)
    try:
        day = date.fromisoformat(field_text(form, "day", 20))
        a, b = slot.split("-")
        start = datetime.combine(day, time.fromisoformat(a), TIMEZONE)
        end = datetime.combine(day, time.fromisoformat(b), TIMEZONE)
    except ValueError:
        return None, None
    return start, end


def _float(form: FormData, name: str) -> float | None:
    """A map pin's coordinate; a bad one (text, NaN, an infinity) is none, and the order then asks for a place."""
    return lenient_float(form, name)


def order_input(form: FormData, now: datetime) -> tuple[ordering.OrderInput, dict[str, Any]]:
    start, end = window_from_form(form, now)
    values = {k: field_text(form, k, 1200) for k in ("item", "address", "notes", "contact_name", "contact_phone",
                                                     "unit_code", "day", "slot", "idempotency_key")}
    values.update(lat=_float(form, "lat"), lon=_float(form, "lon"))
    data = ordering.OrderInput(
        item=values["item"], address=values["address"], window_start=start, window_end=end, lat=values["lat"],
        lon=values["lon"], unit_code=values["unit_code"] or None, notes=values["notes"] or None,
        contact_name=values["contact_name"] or None, contact_phone=values["contact_phone"] or None)
    return data, values


def _place(exc: DomainError, _: Any) -> tuple[str, str]:
    nearest = (exc.details or {}).get("nearest") if isinstance(exc.details, dict) else None
    if nearest:
        return "location", _("This place is outside the district (the nearest grid, %(name)s, is %(m)s m "
                             "away). Move the pin, or type the address instead.") % {
            "name": nearest.get("name"), "m": int(nearest.get("distance_m") or 0)}
    return "location", _("Put a pin on the map where the service is needed, or use your location.")


# A field's own words, whatever the reason (a missing value too).
KNOWN = {
    "item": N_("Please choose a service."),
    "contact_name": N_("Please enter the caller's name."),
    "contact_phone": N_("Enter a mobile number (11 digits) or a landline number."),
    "unit_code": N_("Choose the community or grid, or put a pin on the map."),
    "rating": N_("Choose from 1 to 5 stars."),
    "provider_id": N_("This provider cannot take the order: it must be active, offer the service and serve the "
                      "place."),
    "Idempotency-Key": N_("The form has expired; reload the page and try again."),
    "address": N_("Please enter the address."),
    "note": N_("Please give a reason."),
}
# Messages of the order forms by (field, reason); a message may stand beside another field of the form (the time
# window beside its slot, a conflict beside the action).
MESSAGES: Messages = register_messages({
    **{(field, "*"): message for field, message in KNOWN.items()},
    **{(field, "required"): message for field, message in KNOWN.items()},
    ("Idempotency-Key", "too_long"): KNOWN["Idempotency-Key"],
    ("Idempotency-Key", "idempotency_key_reused"): N_("This form was sent already, with other details. Look for "
                                                      "the order you placed; to order something else, send the "
                                                      "form again."),
    ("note", "complaint_needed"): N_("Please say what went wrong."),
    **{(field, "*"): _place for field in ("lat", "lon", "crs")},
    **{(field, reason): ("slot", message) for field in ("window_start", "window_end") for reason, message in (
        ("past", N_("That time has already passed: choose a later time.")),
        ("too_far", N_("Choose a time within the next 30 days.")),
        ("required", N_("Choose a day and a time.")),
        ("*", N_("The end must come after the start.")))},
    ("rating", "conflict"): N_("This order has been rated already."),
    ("*", "already_complained"): ("note", N_("A complaint about this order has already been filed.")),
    ("*", "nobody_to_complain"): ("note", N_("No provider has taken this order yet: there is nobody to complain "
                                             "about.")),
    ("*", "offer_gone"): ("action", N_("Too late: the offer has expired or the order was taken by someone else.")),
    ("*", "conflict"): ("action", N_("This order has just been changed by someone else; here it is as it is now.")),
    ("*", "forbidden"): ("action", N_("You may not do this on this order.")),
}, "/services/order", "/services/orders", "/services/my-orders", "/hotline/orders", "/provider")


def _district_outline(session: Session) -> dict | None:
    code = units.single_district(session)
    chain = units.chain_of(session, code) if code else []
    return chain[-1].geometry if chain else None


def order_form(request: Request, session: Session, values: dict[str, Any] | None = None,
               errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    _ = gettext_for(request)
    locale = request_locale(request)
    now = utcnow()
    values = dict(values or {})
    values.setdefault("idempotency_key", uuid.uuid4().hex)
    values.setdefault("slot", ASAP)
    return render(request, "services/orders/order_form.html", {
        **page_context(request), "values": values, "errors": errors or {},
        "groups": item_groups(session, locale), "days": day_choices(locale, _, now), "slots": SLOTS,
        "past_today": past_slots(now), "today": now.astimezone(TIMEZONE).date().isoformat(),
        "district_geometry": _district_outline(session)}, status_code=status_code)


def _resident(principal: Any) -> None:
    require_desk(principal, Role.resident)


@router.get("/services/order")
def order_page(request: Request, principal: CurrentPrincipal, session: DbSession) -> Response:
    if principal.role == Role.hotline_operator:
        return see_other("/hotline/orders")
    _resident(principal)
    return order_form(request, session, {"contact_name": principal.full_name})


@router.post("/services/order", dependencies=[Depends(verify_csrf)])
def order(request: Request, principal: CurrentPrincipal, session: DbSession, settings: AppSettings,
          form: PostedForm) -> Response:
    _resident(principal)
    data, values = order_input(form, utcnow())
    try:
        with session.begin_nested():
            placed = ordering.create_order(session, viewer_of(session, principal), data, rules=rules_from(settings),
                                           idempotency_key=values["idempotency_key"] or None)
    except DomainError as exc:
        field, message = explain(request, exc, MESSAGES)
        if exc.reason == REUSED:
            values.pop("idempotency_key", None)  # a new key: sending the form again places this order
        return order_form(request, session, values, {field: message}, status_of(exc))
    viewer = viewer_of(session, principal)
    return render(request, "services/orders/placed.html", {
        **page_context(request), "order": present(session, viewer, placed.order, request_locale(request))})


@router.get("/services/my-orders")
def my_orders(request: Request, principal: CurrentPrincipal, session: DbSession, page: str = "1") -> Response:
    if principal.role == Role.provider:
        return see_other("/provider")
    if principal.role == Role.hotline_operator:
        return see_other("/hotline/orders")
    _resident(principal)
    viewer = viewer_of(session, principal)
    number = max(int(page) if page.isdigit() else 1, 1)
    rows, total = list_orders(session, viewer, OrderFilter(), limit=20, offset=(number - 1) * 20)
    return render(request, "services/orders/my_orders.html", {
        **page_context(request), "orders": present_many(session, viewer, rows, request_locale(request)),
        "total": total, "page": number, "pages": max((total + 19) // 20, 1)})


# The order page, for everyone who may see the order, and its action forms.


def order_view(request: Request, session: Session, viewer: Viewer, number: str, *,
               error: dict[str, str] | None = None, values: dict[str, str] | None = None,
               status_code: int = 200) -> Response:
    locale = request_locale(request)
    order = get_order(session, viewer, number)
    view = present(session, viewer, order, locale, detail=True)
    audit_unmasked(session, viewer, [view], f"/services/orders/{view['number']}", client_ip(request))
    choices = []
    if "offer" in view["actions"]:
        choices = matching.offerable(session, order)
    return render(request, "services/orders/order.html", {
        **page_context(request), "order": view, "error": error or {}, "values": values or {},
        "flash": take_flash(request), "choices": choices, "role": viewer.role.value,
        "back": _back(request, viewer)}, status_code=status_code)


def _back(request: Request, viewer: Viewer) -> tuple[str, str]:
    _ = gettext_for(request)
    if viewer.role == Role.provider:
        return "/provider", _("Order desk")
    if viewer.role == Role.hotline_operator:
        return "/hotline/orders", _("12343 service orders")
    if viewer.role == Role.resident:
        return "/services/my-orders", _("My orders")
    return "/home", _("Home")


@router.get("/services/orders/{number:orderno}")
def order_detail(number: str, request: Request, principal: CurrentPrincipal, session: DbSession) -> Response:
    return order_view(request, session, viewer_of(session, principal), number)


def done_text(_: Any, action: str, viewer: Viewer, order: Any) -> str:
    """What the reader is told after a step, on the page they come back to."""
    if action == "cancel" and viewer.role == Role.provider:
        return _("You gave the order back; the next provider is asked.")
    if action == "complain":
        return _("Your complaint has been filed as case %(number)s.") % {"number": order.complaint_case}
    return {
        "accept": _("You took the order. Please come at the agreed time."),
        "decline": _("You declined the order; the next provider is asked."),
        "start": _("The service has started."),
        "complete": _("The service is marked as done."),
        "cancel": _("The order is cancelled."),
        "rate": _("Thank you for your rating."),
        "offer": _("The order has been offered to the provider."),
    }.get(action, "")


SAFE_NEXT = ("/provider", "/hotline/orders", "/services/my-orders", "/services/orders/")


@router.post("/services/orders/{number:orderno}/actions/{action}", dependencies=[Depends(verify_csrf)])
def order_action(number: str, action: str, request: Request, principal: CurrentPrincipal, session: DbSession,
                 settings: AppSettings, form: PostedForm) -> Response:
    _ = gettext_for(request)
    viewer = viewer_of(session, principal)
    values = {k: field_text(form, k, 4000) for k in ("note", "comment", "rating", "provider_id", "version")}
    rating = int(values["rating"]) if values["rating"].isdigit() else None
    version = int(values["version"]) if values["version"].isdigit() else None
    try:
        provider_id = uuid.UUID(values["provider_id"]) if values["provider_id"] else None
    except ValueError:
        provider_id = None
    data = order_actions.ActionInput(note=values["note"] or None, rating=rating, comment=values["comment"] or None,
                                     provider_id=provider_id, version=version)
    try:
        if action == "rate" and values["rating"] and rating is None:
            raise Invalid("a whole number of stars from 1 to 5", field="rating", reason="out_of_range", low=1, high=5)
        with session.begin_nested():
            order = order_actions.act(session, viewer, number, action, data, rules=rules_from(settings))
    except DomainError as exc:
        if exc.status_code == 404:
            raise
        field, message = explain(request, exc, MESSAGES)
        return order_view(request, session, viewer, number, status_code=status_of(exc), values=values,
                          error={"action": action, "field": field, "message": message})
    flash(request, done_text(_, action, viewer, order))
    target = field_text(form, "next", 200)
    if not target.startswith(SAFE_NEXT) or "//" in target:
        target = f"/services/orders/{number}"
    return see_other(target)

