"""Moving an order through its life: one function checks the table, the caller and the order, then applies.

The order's UPDATE checks its version: when someone else moved the order between our read and our write, the
caller gets 409 with the order as it is now, never a half-done step."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from jiayuan.accounts.roles import Role
from jiayuan.cases import service as cases
from jiayuan.kit.db import utcnow
from jiayuan.kit.errors import Conflict, DomainError, Forbidden, Invalid
from jiayuan.services.orders import offers as offers
from jiayuan.services.orders.models import OrderOffer, ServiceOrder
from jiayuan.services.orders.notices import tell_customer, tell_provider
from jiayuan.services.orders.offers import Rules, state_of
from jiayuan.services.orders.service import (
    Viewer,
    get_order,
    offer_of,
    offers_of,
    providers_by_ids,
    record_event,
)
from jiayuan.services.orders.workflow import (
    ACCEPTED,
    CANCELLED,
    COMPLETED,
    HOLDER,
    IN_SERVICE,
    OFFERED,
    OFFEREE,
    OPERATOR,
    PENDING,
    QUEUED,
    RATINGS,
    TRANSITIONS,
    WITHDRAWN,
    Transition,
    actions_for_role,
)
from jiayuan.services.providers import performance as performance

MAX_REASON = 500
MAX_COMMENT = 500
COMPLAINT_CATEGORY = "2601"  # 服务投诉


@dataclass
class ActionInput:
    note: str | None = None  # the reason of a cancel or decline, the words of a complaint
    rating: int | None = None  # rate: 1–5
    comment: str | None = None  # rate
    provider_id: uuid.UUID | None = None  # offer: the provider an operator chose
    version: int | None = None  # the version the caller saw; a mismatch is a 409


def act(session: Session, viewer: Viewer, number: str, action: str, data: ActionInput, *, rules: Rules,
        now: datetime | None = None) -> ServiceOrder:
    """Fire `action` on an order the caller can see, as the caller."""
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise Invalid(f"unknown action; one of {', '.join(TRANSITIONS)}", field="action")
    now = now or utcnow()
    order = get_order(session, viewer, number)
    check(session, viewer, order, transition, data.version, now)
    try:
        with session.begin_nested():
            EFFECTS[action](session, viewer, order, data, now, rules)
            session.flush()
    except StaleDataError:
        # Someone else moved the order between our read and our write: say how it stands now.
        session.refresh(order)
        raise Conflict(f"the order was changed by someone else meanwhile; it is {order.status} now",
                       field="version", details=state_of(order)) from None
    return order


def check(session: Session, viewer: Viewer, order: ServiceOrder, t: Transition, version: int | None,
          now: datetime) -> None:
    """The state, the role and the caller's relation to the order; raises what is wrong first."""
    if version is not None and version != order.version:
        raise Conflict("the order was changed by someone else; reload it", field="version",
                       details=state_of(order))
    if viewer.role not in t.roles:
        raise Forbidden(f"a {viewer.role.value} may not {t.action} an order", field="action")
    if order.status not in t.sources:
        raise Conflict(f"cannot {t.action} an order that is {order.status}", field="action",
                       details=state_of(order))
    check_who(session, viewer, order, t, now)


def check_who(session: Session, viewer: Viewer, order: ServiceOrder, t: Transition, now: datetime) -> None:
    p = viewer.principal
    if t.who == OFFEREE:
        offer = offer_of(session, order, viewer.provider.id) if viewer.provider else None
        if offer is None or offer.status != PENDING:
            raise Conflict("your company has no offer of this order waiting for an answer", field="action",
                           reason="offer_gone", details=state_of(order))
        return
    if t.who == HOLDER:
        if viewer.provider is None or order.provider_id != viewer.provider.id:
            raise Forbidden("only the provider that accepted the order may do this", field="action")
        return
    if t.who == OPERATOR:
        if p.role != Role.hotline_operator or not p.scope.covers(order.unit_code):
            raise Forbidden("only a 12343 operator of the order's district may do this", field="action")
        return
    # ORDERER: the resident who ordered, an operator of the district; a provider only cancels what it holds.
    if p.role == Role.resident:
        if order.resident_id != p.user_id:
            raise Forbidden("only the resident who placed the order may do this", field="action")
    elif p.role == Role.hotline_operator:
        if not p.scope.covers(order.unit_code):
            raise Forbidden("only a 12343 operator of the order's district may do this", field="action")
        if t.action == "rate" and order.channel != "hotline":
            raise Forbidden("the resident who placed the order rates it", field="action")
    elif p.role == Role.provider and (viewer.provider is None or order.provider_id != viewer.provider.id
                                      or order.status != ACCEPTED):
        raise Forbidden("a provider may only cancel an order it has accepted and not started", field="action")
    if t.action == "rate" and order.rating is not None:
        raise Conflict("the order has been rated already", field="rating", details=state_of(order))
    if t.action == "complain":
        if order.complaint_case:
            raise Conflict(f"a complaint about this order was filed already: case {order.complaint_case}",
                           field="action", reason="already_complained", details=state_of(order))
        if order.provider_id is None:
            raise Conflict("no provider has taken this order: there is nobody to complain about",
                           field="action", reason="nobody_to_complain", details=state_of(order))


def available(session: Session, viewer: Viewer, order: ServiceOrder, now: datetime | None = None) -> list[str]:
    """The actions the caller may take on the order now (what the page offers and the service will accept)."""
    now = now or utcnow()
    out = []
    for action in actions_for_role(order.status, viewer.role):
        try:
            check_who(session, viewer, order, TRANSITIONS[action], now)
        except DomainError:
            continue
        out.append(action)
    return out


def _reason(data: ActionInput, what: str) -> str:
    reason = (data.note or "").strip()
    if not reason:
        raise Invalid(f"say why ({what})", field="note", reason="required")
    if len(reason) > MAX_REASON:
        raise Invalid(f"at most {MAX_REASON} characters", field="note", reason="too_long", limit=MAX_REASON)
    return reason


# The effects of each action.


def _accept(session, viewer, order, data, now, rules):  # noqa: ANN001, ANN202
    offers.accept(session, viewer, order, now, rules)


def _decline(session, viewer, order, data, now, rules):  # noqa: ANN001, ANN202
    reason = (data.note or "").strip()[:MAX_REASON] or None
    offers.decline(session, viewer, order, reason, now, rules)


def _offer(session, viewer, order, data, now, rules):  # noqa: ANN001, ANN202
    offers.offer_to(session, viewer, order, data.provider_id, now, rules)


def _start(session, viewer, order, data, now, rules):  # noqa: ANN001, ANN202
    order.status = IN_SERVICE
    order.started_at = now
    session.flush()
    record_event(session, order, viewer.actor, "start", ACCEPTED, IN_SERVICE, at=now)
    tell_customer(session, order, "start")


def _complete(session, viewer, order, data, now, rules):  # noqa: ANN001, ANN202
    order.status = COMPLETED
    order.completed_at = now
    session.flush()
    note = (data.note or "").strip()[:MAX_REASON] or None
    record_event(session, order, viewer.actor, "complete", IN_SERVICE, COMPLETED, note=note, at=now)
    tell_customer(session, order, "complete")


def _cancel(session, viewer, order, data, now, rules):  # noqa: ANN001, ANN202
    reason = _reason(data, "cancel")
    before = order.status
    if viewer.role == Role.provider:
        # The holder gives the order back: the order goes to the next candidate never asked, else unassigned.
        holder = viewer.provider
        order.provider_id = None
        order.price_fen = None
        order.accepted_at = None
        order.status = OFFERED
        session.flush()
        record_event(session, order, viewer.actor, "cancel", before, None, note=f"{holder.name}：{reason}", at=now)
        tell_customer(session, order, "provider_cancel", holder)
        offers.requeue_unasked(session, order)
        offers.offer_next(session, order, now, rules, before=ACCEPTED)
        return
    order.status = CANCELLED
    order.cancelled_at = now
    order.cancelled_by = "operator" if viewer.role == Role.hotline_operator else "resident"
    order.cancel_reason = reason
    session.flush()
    live: list[OrderOffer] = [o for o in offers_of(session, order) if o.status in (PENDING, QUEUED)]
    told = {o.provider_id for o in live if o.status == PENDING}
    if before == ACCEPTED and order.provider_id:
        told.add(order.provider_id)
    for o in live:
        o.status = WITHDRAWN
    record_event(session, order, viewer.actor, "cancel", before, CANCELLED, note=reason, at=now)
    for provider in providers_by_ids(session, told).values():
        tell_provider(session, order, provider, "cancel", reason=reason)
    if viewer.role == Role.hotline_operator:
        tell_customer(session, order, "cancel")  # the resident in-app, or the caller's confirmation by SMS


def _rate(session, viewer, order, data, now, rules):  # noqa: ANN001, ANN202
    rating = data.rating
    if isinstance(rating, bool) or not isinstance(rating, int) or rating not in RATINGS:
        raise Invalid("a whole number of stars from 1 to 5", field="rating")
    comment = (data.comment or "").strip() or None
    if comment and len(comment) > MAX_COMMENT:
        raise Invalid(f"at most {MAX_COMMENT} characters", field="comment", reason="too_long", limit=MAX_COMMENT)
    order.rating = rating
    order.rating_comment = comment
    order.rated_at = now
    session.flush()
    record_event(session, order, viewer.actor, "rate", COMPLETED, COMPLETED,
                 note=f"{rating}★" + (f" {comment}" if comment else ""), at=now)
    if order.provider_id is not None:
        performance.check_flag(session, order.provider_id, now)  # flags a provider whose mean fell too low


def _complain(session, viewer, order, data, now, rules):  # noqa: ANN001, ANN202
    """投诉: a case of category 2601 through the cases intake, linked both ways."""
    text = (data.note or "").strip()
    if not text:
        raise Invalid("say what went wrong", field="note", reason="complaint_needed")
    if len(text) > cases.MAX_DESCRIPTION - 40:
        raise Invalid(f"at most {cases.MAX_DESCRIPTION - 40} characters", field="note", reason="too_long",
                      limit=cases.MAX_DESCRIPTION - 40)
    p = viewer.principal
    attributes = {"service_order": order.number} if _category_has(session, "service_order") else {}
    data_in = cases.CaseInput(
        category=COMPLAINT_CATEGORY, description=f"服务订单 {order.number}：{text}", address=order.address,
        lat=order.lat, lon=order.lon, unit_code=None if order.lat is not None else order.unit_code,
        reporter_name=order.contact_name, reporter_phone=order.contact_phone, attributes=attributes)
    channel = "hotline" if p.role == Role.hotline_operator else "resident"
    case = cases.report_case(session, data_in, channel=channel, actor=p).case
    order.complaint_case = case.number
    session.flush()
    record_event(session, order, viewer.actor, "complain", order.status, order.status, note=text, at=now)


def _category_has(session: Session, attribute: str) -> bool:
    """Whether the complaint category asks for the order number (a database loaded before it did may not)."""

    category = cases.get_category(session, COMPLAINT_CATEGORY)
    return any(a.get("code") == attribute for a in category.attributes or [])


EFFECTS: dict[str, Any] = {
    "accept": _accept, "decline": _decline, "offer": _offer, "start": _start, "complete": _complete,
    "cancel": _cancel, "rate": _rate, "complain": _complain,
}
assert set(EFFECTS) == set(TRANSITIONS), "every transition needs its effect"
