"""Who may see which service orders, and who works which desk: a resident their own orders; a provider those
offered to it or held by it; staff and the 12343 operators those of their scope. An order out of sight is a 404.
Who may fire which step of an order is the workflow's table (workflow.py), checked in actions.py."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, exists, false, or_, select
from sqlalchemy.orm import Session

from jiayuan.accounts.roles import OWN_RECORDS_ONLY, SCOPED_STAFF, Role
from jiayuan.accounts.service import Principal
from jiayuan.kit.errors import Forbidden
from jiayuan.services.orders.models import OrderOffer, ServiceOrder
from jiayuan.services.orders.workflow import PENDING
from jiayuan.services.providers import service as providers
from jiayuan.services.providers.models import Provider


@dataclass(frozen=True)
class Actor:
    """Who acts on an order: a signed-in principal, or the system (the offer sweep)."""

    user_id: uuid.UUID | None
    name: str
    role: str


SYSTEM = Actor(None, "系统", "system")


@dataclass(frozen=True)
class Viewer:
    """The caller, with the provider they work for when they are provider staff."""

    principal: Principal
    provider: Provider | None = None

    @property
    def role(self) -> Role:
        return self.principal.role

    @property
    def actor(self) -> Actor:
        return Actor(self.principal.user_id, self.principal.full_name, self.principal.role.value)


def viewer_of(session: Session, principal: Principal) -> Viewer:
    """The caller as the order services see them; provider staff with their provider (Forbidden if none)."""
    if principal.role == Role.provider:
        return Viewer(principal, providers.provider_of(session, principal))
    return Viewer(principal)


def offered_to(provider_id: uuid.UUID, *, pending_only: bool = False) -> ColumnElement[bool]:
    """Orders offered to the provider (or only those it has still to answer)."""
    cond = [OrderOffer.district_code == ServiceOrder.district_code, OrderOffer.order_id == ServiceOrder.id,
            OrderOffer.provider_id == provider_id]
    cond.append(OrderOffer.status == PENDING if pending_only else OrderOffer.offered_at.is_not(None))
    return exists(select(OrderOffer.id).where(*cond))


def visible(viewer: Viewer) -> ColumnElement[bool]:
    """The orders a caller may see: a resident their own; a provider those offered to it or held by it; staff
    and operators those of their scope."""
    p = viewer.principal
    if p.role == Role.resident:
        return ServiceOrder.resident_id == p.user_id
    if p.role == Role.provider and viewer.provider is not None:
        pid = viewer.provider.id
        return and_(ServiceOrder.district_code == viewer.provider.district_code,
                    or_(ServiceOrder.provider_id == pid, offered_to(pid)))
    if p.role in SCOPED_STAFF and p.scope.prefixes:
        return p.scope.where(ServiceOrder)
    return false()


def sees_every_offer(viewer: Viewer) -> bool:
    """Operators and staff see every candidate of an order with its rank, score and answer; a resident none and a
    provider only its own offer."""
    return viewer.role not in OWN_RECORDS_ONLY


def require_desk(principal: Principal, role: Role) -> None:
    """The pages of one desk (the resident's order form, the 12343 console, the provider's workbench) are for
    that role alone."""
    if principal.role != role:
        raise Forbidden("your role may not do this", field="role")
