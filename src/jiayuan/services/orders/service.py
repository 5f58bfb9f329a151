"""Reading service orders: who may see which (one place), one order by number, lists, the timeline and offers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from jiayuan.accounts.roles import Role
from jiayuan.kit.db import utcnow
from jiayuan.kit.errors import NotFound
from jiayuan.kit.text import search_term
from jiayuan.services.orders.models import OrderEvent, OrderOffer, ServiceOrder
from jiayuan.services.orders.policy import SYSTEM as SYSTEM  # who acts on an order, and the caller
from jiayuan.services.orders.policy import Actor as Actor
from jiayuan.services.orders.policy import Viewer as Viewer
from jiayuan.services.orders.policy import offered_to, visible
from jiayuan.services.orders.policy import viewer_of as viewer_of
from jiayuan.services.orders.workflow import OPEN, STATUSES
from jiayuan.services.providers.models import Provider, ProviderStaff


def get_order(session: Session, viewer: Viewer, number: str) -> ServiceOrder:
    """An order the caller may see, by number; anything else is a 404."""
    stmt = select(ServiceOrder).where(ServiceOrder.number == (number or "").strip().upper(), visible(viewer))
    order = session.scalar(stmt)
    if order is None:
        raise NotFound(f"no order {number}", field="number")
    return order


@dataclass
class OrderFilter:
    status: str | None = None  # a status, or "open"
    item: str | None = None  # a 4-digit item or a 2-digit group
    since: datetime | None = None
    q: str | None = None  # an order number


def list_orders(session: Session, viewer: Viewer, f: OrderFilter | None = None, *, limit: int = 50,
                offset: int = 0) -> tuple[list[ServiceOrder], int]:
    """The caller's orders, newest first. A provider's list is its work: offers waiting for its answer and
    orders it holds."""
    f = f or OrderFilter()
    stmt = select(ServiceOrder).where(visible(viewer))
    if viewer.role == Role.provider and viewer.provider is not None:
        pid = viewer.provider.id
        stmt = stmt.where(or_(ServiceOrder.provider_id == pid, offered_to(pid, pending_only=True)))
    if f.status == "open":
        stmt = stmt.where(ServiceOrder.status.in_(OPEN))
    elif f.status in STATUSES:
        stmt = stmt.where(ServiceOrder.status == f.status)
    if f.item:
        stmt = stmt.where(ServiceOrder.item_code.startswith(f.item) if len(f.item) == 2
                          else ServiceOrder.item_code == f.item)
    if f.since:
        stmt = stmt.where(ServiceOrder.created_at >= f.since)
    if q := search_term(f.q):
        stmt = stmt.where(ServiceOrder.number == q.upper())
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(ServiceOrder.created_at.desc(), ServiceOrder.id.desc())
                           .limit(limit).offset(offset))
    return list(rows), total


def timeline(session: Session, order: ServiceOrder) -> list[OrderEvent]:
    return list(session.scalars(select(OrderEvent).where(
        OrderEvent.district_code == order.district_code, OrderEvent.order_id == order.id)
        .order_by(OrderEvent.at, OrderEvent.id)))


def offers_of(session: Session, order: ServiceOrder) -> list[OrderOffer]:
    """Every candidate of the order, best first."""
    return list(session.scalars(select(OrderOffer).where(
        OrderOffer.district_code == order.district_code, OrderOffer.order_id == order.id)
        .order_by(OrderOffer.rank)))


def offer_of(session: Session, order: ServiceOrder, provider_id: uuid.UUID) -> OrderOffer | None:
    return session.scalar(select(OrderOffer).where(
        OrderOffer.district_code == order.district_code, OrderOffer.order_id == order.id,
        OrderOffer.provider_id == provider_id))


def record_event(session: Session, order: ServiceOrder, actor: Actor, action: str, before: str | None,
                 after: str | None, note: str | None = None, at: datetime | None = None) -> OrderEvent:
    event = OrderEvent(district_code=order.district_code, order_id=order.id, at=at or utcnow(),
                       actor_id=actor.user_id, actor_name=actor.name[:100], actor_role=actor.role, action=action,
                       from_status=before, to_status=after, note=note)
    session.add(event)
    return event


def providers_by_ids(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, Provider]:
    if not ids:
        return {}
    return {p.id: p for p in session.scalars(select(Provider).where(Provider.id.in_(ids)))}


def staff_of(session: Session, provider: Provider) -> list[uuid.UUID]:
    """The accounts that work for a provider: who hears of its offers."""
    return list(session.scalars(select(ProviderStaff.user_id).where(
        ProviderStaff.district_code == provider.district_code, ProviderStaff.provider_id == provider.id)))
