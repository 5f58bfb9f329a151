"""Staff pages of service orders: the 12343 console (an order for a caller, its candidates and live state, the
unassigned orders to offer by hand) and the provider's workbench (offers with their countdown, the orders it
holds)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from jiayuan.accounts.roles import Role
from jiayuan.deps import AppSettings, CurrentPrincipal, DbSession, client_ip, verify_csrf
from jiayuan.kit.db import utcnow
from jiayuan.kit.errors import DomainError
from jiayuan.kit.i18n import TIMEZONE
from jiayuan.kit.idempotency import REUSED
from jiayuan.page_kit import PostedForm, explain, status_of, take_flash
from jiayuan.services.orders import intake as ordering
from jiayuan.services.orders import matching as matching
from jiayuan.services.orders.offers import rules_from
from jiayuan.services.orders.pages import (
    ASAP,
    MESSAGES,
    SLOTS,
    day_choices,
    item_groups,
    order_input,
    page_context,
    past_slots,
)
from jiayuan.services.orders.policy import require_desk
from jiayuan.services.orders.service import OrderFilter, Viewer, get_order, list_orders, viewer_of
from jiayuan.services.orders.views import audit_unmasked, present, present_many
from jiayuan.units import service as units
from jiayuan.web import gettext_for, render, request_locale

router = APIRouter(include_in_schema=False)
OPEN_LIMIT = 50


def _operator(session: Session, principal: Any) -> Viewer:
    require_desk(principal, Role.hotline_operator)
    return viewer_of(session, principal)


def _provider(session: Session, principal: Any) -> Viewer:
    require_desk(principal, Role.provider)
    return viewer_of(session, principal)


# The 12343 console.


def _console(request: Request, session: Session, viewer: Viewer, values: dict[str, Any] | None = None,
             errors: dict[str, str] | None = None, status_code: int = 200, **extra: Any) -> Response:
    _ = gettext_for(request)
    locale = request_locale(request)
    now = utcnow()
    values = dict(values or {})
    values.setdefault("idempotency_key", uuid.uuid4().hex)
    values.setdefault("slot", ASAP)
    picker = [u for u in units.list_units(session, viewer.principal.scope) if u.level in ("community", "grid")]
    unassigned, _n = list_orders(session, viewer, OrderFilter(status="unassigned"), limit=OPEN_LIMIT)
    active, _m = list_orders(session, viewer, OrderFilter(status="open"), limit=OPEN_LIMIT)
    choices = {o.number: matching.offerable(session, o) for o in unassigned}
    return render(request, "services/orders/hotline.html", {
        **page_context(request), "values": values, "errors": errors or {}, "units": picker,
        "groups": item_groups(session, locale), "days": day_choices(locale, _, now), "slots": SLOTS,
        "past_today": past_slots(now), "today": now.astimezone(TIMEZONE).date().isoformat(),
        "unassigned": present_many(session, viewer, unassigned, locale), "choices": choices,
        "active": [v for v in present_many(session, viewer, active, locale) if v["status"] != "unassigned"],
        "flash": take_flash(request), **extra}, status_code=status_code)


@router.get("/hotline/orders")
def console(request: Request, principal: CurrentPrincipal, session: DbSession) -> Response:
    return _console(request, session, _operator(session, principal))


@router.post("/hotline/orders", dependencies=[Depends(verify_csrf)])
def console_order(request: Request, principal: CurrentPrincipal, session: DbSession, settings: AppSettings,
                  form: PostedForm) -> Response:
    viewer = _operator(session, principal)
    data, values = order_input(form, utcnow())
    try:
        with session.begin_nested():
            placed = ordering.create_order(session, viewer, data, rules=rules_from(settings),
                                           idempotency_key=values["idempotency_key"] or None)
    except DomainError as exc:
        field, message = explain(request, exc, MESSAGES)
        if field == "location":
            field = "unit_code"
        if exc.reason == REUSED:
            values.pop("idempotency_key", None)  # a new key: sending the form again places this order
        return _console(request, session, viewer, values, {field: message}, status_of(exc))
    locale = request_locale(request)
    created = present(session, viewer, placed.order, locale, detail=True)
    earlier = [o for o in ordering.orders_by_phone(session, viewer, data.contact_phone or "")
               if o.number != placed.order.number]
    return _console(request, session, viewer, created=created,
                    earlier=present_many(session, viewer, earlier, locale))


@router.get("/hotline/orders/{number:orderno}/state")
def console_state(number: str, request: Request, principal: CurrentPrincipal, session: DbSession) -> Response:
    """The live state of one order (polled by the console while the operator is on the phone)."""
    viewer = _operator(session, principal)
    view = present(session, viewer, get_order(session, viewer, number), request_locale(request), detail=True)
    return render(request, "services/orders/_state.html", {**page_context(request), "order": view})


# The provider's workbench.


def _desk_context(request: Request, session: Session, viewer: Viewer) -> dict[str, Any]:
    locale = request_locale(request)
    rows, _n = list_orders(session, viewer, OrderFilter(status="open"), limit=200)
    views = present_many(session, viewer, rows, locale)
    offers = sorted((v for v in views if v["my_offer"] and v["my_offer"]["status"] == "pending"),
                    key=lambda v: v["my_offer"]["deadline_at"])
    held = sorted((v for v in views if v["provider"] and viewer.provider
                   and v["provider"]["id"] == str(viewer.provider.id) and v["status"] in ("accepted", "in_service")),
                  key=lambda v: v["window_start"])
    done, _d = list_orders(session, viewer, OrderFilter(status="completed"), limit=10)
    audit_unmasked(session, viewer, held, "/provider", client_ip(request))
    return {**page_context(request), "offers": offers, "held": held,
            "done": present_many(session, viewer, done, locale), "provider": viewer.provider}


@router.get("/provider")
def desk(request: Request, principal: CurrentPrincipal, session: DbSession) -> Response:
    viewer = _provider(session, principal)
    return render(request, "services/orders/provider.html", {
        **_desk_context(request, session, viewer), "flash": take_flash(request)})


@router.get("/provider/offers")
def desk_offers(request: Request, principal: CurrentPrincipal, session: DbSession) -> Response:
    """The offers waiting for the provider (polled by the workbench, so a new offer shows without a reload)."""
    viewer = _provider(session, principal)
    return render(request, "services/orders/_offers.html", _desk_context(request, session, viewer))
