"""An order as its caller may see it: names instead of codes, the phone masked unless it is theirs to call, the
actions open to them; providers see the address only of offers waiting for them and orders they hold, and of an
order that is not theirs (declined, expired, taken by another) only their own offer and its state: no resident's
name, no competitor, no price, rating or comment."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.accounts import service as accounts
from jiayuan.accounts.roles import Role
from jiayuan.kit.identity import mask_phone
from jiayuan.services.catalogue.models import ServiceItem
from jiayuan.services.orders.actions import available
from jiayuan.services.orders.models import OrderOffer, ServiceOrder
from jiayuan.services.orders.policy import sees_every_offer
from jiayuan.services.orders.service import Viewer, offers_of, providers_by_ids, staff_of, timeline
from jiayuan.services.orders.workflow import PENDING
from jiayuan.units import service as units

# Events whose note names a provider: a resident reads "a provider was asked", not which one said no.
PROVIDER_NOTES = frozenset({"offer", "decline", "expire"})


def item_names(session: Session, codes: set[str]) -> dict[str, ServiceItem]:
    """Items and their groups by code."""
    codes = codes | {c[:2] for c in codes}
    if not codes:
        return {}
    return {i.code: i for i in session.scalars(select(ServiceItem).where(ServiceItem.code.in_(codes)))}


def unit_names(session: Session, codes: set[str]) -> dict[str, str]:
    out = {}
    for code in codes:
        chain = units.chain_of(session, code)
        out[code] = " / ".join(u.name for u in chain[1:]) if chain else code
    return out


def _my_offers(session: Session, viewer: Viewer, orders: list[ServiceOrder]) -> dict[uuid.UUID, OrderOffer]:
    if viewer.provider is None or not orders:
        return {}
    rows = session.scalars(select(OrderOffer).where(
        OrderOffer.district_code == viewer.provider.district_code, OrderOffer.provider_id == viewer.provider.id,
        OrderOffer.order_id.in_([o.id for o in orders])))
    return {o.order_id: o for o in rows}


def _pending(session: Session, orders: list[ServiceOrder]) -> dict[uuid.UUID, OrderOffer]:
    ids = [o.id for o in orders if o.status == "offered"]
    if not ids:
        return {}
    rows = session.scalars(select(OrderOffer).where(OrderOffer.order_id.in_(ids), OrderOffer.status == PENDING))
    return {o.order_id: o for o in rows}


def present_many(session: Session, viewer: Viewer, orders: list[ServiceOrder], locale: str = "zh_CN",
                 now: datetime | None = None) -> list[dict[str, Any]]:
    zh = locale == "zh_CN"
    items = item_names(session, {o.item_code for o in orders})
    places = unit_names(session, {o.unit_code for o in orders})
    pending = _pending(session, orders)
    mine = _my_offers(session, viewer, orders)
    providers = providers_by_ids(session, {o.provider_id for o in orders if o.provider_id}
                                 | {o.provider_id for o in pending.values()})
    out = []
    for order in orders:
        item = items.get(order.item_code)
        group = items.get(order.item_code[:2])
        provider = providers.get(order.provider_id) if order.provider_id else None
        waiting = pending.get(order.id)
        my_offer = mine.get(order.id)
        holder = viewer.provider is not None and order.provider_id == viewer.provider.id
        is_provider = viewer.role == Role.provider
        # A provider sees where and whom only while the offer waits for it, or once the order is its own.
        shows_place = not is_provider or holder or (my_offer is not None and my_offer.status == PENDING)
        # A provider whose order it is not (it declined, let the offer expire, or another took it) sees its own
        # offer and the order's state, nothing of the winner, the price, the rating or what was said about it.
        outsider = is_provider and not holder
        own = viewer.role == Role.resident and order.resident_id == viewer.principal.user_id
        phone = None
        if order.contact_phone and shows_place:
            phone = order.contact_phone if (own or holder) else mask_phone(order.contact_phone)
        view: dict[str, Any] = {
            "number": order.number, "status": order.status, "channel": order.channel,
            "item": order.item_code, "item_name": (item.name_zh if zh else item.name_en) if item else order.item_code,
            "group_name": (group.name_zh if zh else group.name_en) if group else "",
            "price_unit": (item.unit_zh if zh else item.unit_en) if item else None,
            "unit_code": order.unit_code, "place_name": places.get(order.unit_code, order.unit_code),
            "address": order.address if shows_place else None,
            "lat": order.lat if shows_place else None, "lon": order.lon if shows_place else None,
            "window_start": order.window_start, "window_end": order.window_end,
            "notes": order.notes if shows_place else None,
            "contact_name": order.contact_name if shows_place else None, "contact_phone": phone,
            "contact_phone_unmasked": bool(phone) and (own or holder),
            "provider": {"id": str(provider.id), "name": provider.name, "service_phone": provider.service_phone}
            if provider and not outsider else None,
            "price_fen": None if outsider else order.price_fen, "created_at": order.created_at,
            "offered_at": order.offered_at, "accepted_at": order.accepted_at, "started_at": order.started_at,
            "completed_at": order.completed_at, "cancelled_at": order.cancelled_at, "cancelled_by": order.cancelled_by,
            "cancel_reason": None if outsider else order.cancel_reason,
            "rating": None if outsider else order.rating,
            "rating_comment": None if outsider else order.rating_comment,
            "rated_at": None if outsider else order.rated_at,
            "complaint_case": None if outsider else order.complaint_case, "version": order.version,
            "waiting_until": waiting.deadline_at if waiting else None,
            "my_offer": {"status": my_offer.status, "offered_at": my_offer.offered_at,
                         "deadline_at": my_offer.deadline_at} if my_offer else None,
            "actions": available(session, viewer, order, now),
        }
        if viewer.role != Role.resident and not is_provider and waiting is not None:
            asked = providers.get(waiting.provider_id)
            view["waiting_for"] = asked.name if asked else None
        out.append(view)
    return out


def present(session: Session, viewer: Viewer, order: ServiceOrder, locale: str = "zh_CN", *,
            detail: bool = False) -> dict[str, Any]:
    view = present_many(session, viewer, [order], locale)[0]
    if not detail:
        return view
    events = timeline(session, order)
    resident = viewer.role == Role.resident
    if viewer.role == Role.provider and (viewer.provider is None or order.provider_id != viewer.provider.id):
        # Not its order: only the answers its own staff gave (a decline, an order taken and given back), not who
        # ordered, nor the offers that followed theirs (an offer's note names the provider asked next).
        own = set(staff_of(session, viewer.provider)) if viewer.provider is not None else set()
        events = [e for e in events if e.actor_id in own and e.action not in ("offer", "expire")]
    view["timeline"] = [{
        "at": e.at, "action": e.action, "from_status": e.from_status, "to_status": e.to_status,
        "actor_name": e.actor_name, "actor_role": e.actor_role,
        "note": None if resident and e.action in PROVIDER_NOTES else e.note} for e in events]
    # Operators and staff see every candidate with its rank, score and answer; a provider only its own offer.
    if sees_every_offer(viewer):
        offers = offers_of(session, order)
        names = providers_by_ids(session, {o.provider_id for o in offers})
        view["offers"] = [{
            "provider_id": str(o.provider_id), "provider_name": names[o.provider_id].name
            if o.provider_id in names else "", "rank": o.rank, "score": o.score, "status": o.status,
            "offered_at": o.offered_at, "deadline_at": o.deadline_at, "answered_at": o.answered_at,
        } for o in offers]
    else:
        view["offers"] = []
    return view


def audit_unmasked(session: Session, viewer: Viewer, views: list[dict[str, Any]], target: str,
                   ip: str | None = None) -> None:
    """A provider reading its customers' phones in full is recorded (a resident reading their own is not)."""
    shown = [v["number"] for v in views if v.get("contact_phone_unmasked") and viewer.role == Role.provider]
    if shown:
        accounts.audit_for(session, viewer.principal, "order_contact_viewed", target=target, ip=ip,
                           detail={"orders": shown[:50]})

