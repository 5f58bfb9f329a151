"""Offers of an order to providers, one at a time (派单): the best candidate is asked and has a deadline; a decline
or the deadline passing asks the next; when nobody is left the order is unassigned and the 12343 operators are
alerted, and an operator may offer it to a provider of their choice. Acceptance is a compare-and-set."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from jiayuan.config import Settings, get_settings
from jiayuan.kit.db import Database, utcnow
from jiayuan.kit.errors import Conflict, DomainError, Invalid
from jiayuan.kit.i18n import TIMEZONE
from jiayuan.services.orders import matching as matching
from jiayuan.services.orders.models import OrderOffer, ServiceOrder
from jiayuan.services.orders.notices import alert_operators, tell_customer, tell_provider
from jiayuan.services.orders.service import (
    SYSTEM,
    Actor,
    Viewer,
    offer_of,
    offers_of,
    providers_by_ids,
    record_event,
)
from jiayuan.services.orders.workflow import (
    ACCEPTED,
    DECLINED,
    EXPIRED,
    OFFER_ACCEPTED,
    OFFERED,
    PENDING,
    QUEUED,
    UNASSIGNED,
    WITHDRAWN,
)
from jiayuan.services.providers.models import Provider, ProviderItem

log = logging.getLogger("jiayuan.services")


@dataclass(frozen=True)
class Rules:
    """The settings the order life cycle depends on."""

    offer_minutes: int = 15
    min_ratings: int = 5


def rules_from(settings: Settings | None = None) -> Rules:
    settings = settings or get_settings()
    return Rules(offer_minutes=settings.order_offer_minutes, min_ratings=settings.provider_min_ratings)


def state_of(order: ServiceOrder) -> dict[str, object]:
    """What a 409 carries: the order as it is now."""
    return {"status": order.status, "version": order.version,
            "provider_id": str(order.provider_id) if order.provider_id else None}


def start_offers(session: Session, order: ServiceOrder, now: datetime, rules: Rules) -> int:
    """Rank the candidates, give each a queued offer, and ask the best; returns how many candidates there were."""
    candidates = matching.rank_candidates(session, order.item_code, order.unit_code, order.window_start, now,
                                          rules.min_ratings)
    for rank, c in enumerate(candidates, start=1):
        session.add(OrderOffer(district_code=order.district_code, order_id=order.id, provider_id=c.provider.id,
                               rank=rank, score=round(c.score, 6), status=QUEUED))
    session.flush()
    offer_next(session, order, now, rules, before=None)
    return len(candidates)


def offer_next(session: Session, order: ServiceOrder, now: datetime, rules: Rules, *,
               before: str | None) -> OrderOffer | None:
    """Ask the best queued candidate that is still active; with none left the order is unassigned. The platform's
    matching does this, whoever's action led to it: the timeline names the system, not the resident who ordered or
    the provider who declined."""
    queued = list(session.scalars(select(OrderOffer).where(
        OrderOffer.district_code == order.district_code, OrderOffer.order_id == order.id,
        OrderOffer.status == QUEUED).order_by(OrderOffer.rank)))
    providers = providers_by_ids(session, {o.provider_id for o in queued})
    for offer in queued:
        provider = providers.get(offer.provider_id)
        if provider is None or provider.status != "active":
            offer.status = WITHDRAWN  # suspended or withdrawn since the ranking: not asked
            continue
        make_pending(session, order, offer, provider, SYSTEM, now, rules, before=before)
        return offer
    order.status = UNASSIGNED
    session.flush()
    record_event(session, order, SYSTEM, "unassigned", before, UNASSIGNED, at=now)
    alert_operators(session, order)
    tell_customer(session, order, "unassigned")
    return None


def make_pending(session: Session, order: ServiceOrder, offer: OrderOffer, provider: Provider, actor: Actor,
                 now: datetime, rules: Rules, *, before: str | None) -> None:
    offer.status = PENDING
    offer.offered_at = now
    offer.deadline_at = now + timedelta(minutes=rules.offer_minutes)
    offer.answered_at = None
    order.status = OFFERED
    order.offered_at = now
    session.flush()
    record_event(session, order, actor, "offer", before, OFFERED, note=provider.name, at=now)
    tell_provider(session, order, provider, "offer", minutes=rules.offer_minutes)


def _pending_offer(session: Session, viewer: Viewer, order: ServiceOrder, now: datetime) -> OrderOffer:
    assert viewer.provider is not None
    offer = offer_of(session, order, viewer.provider.id)
    if offer is None or offer.status != PENDING:
        raise Conflict("your company has no offer of this order waiting for an answer", field="action",
                       reason="offer_gone", details=state_of(order))
    if offer.deadline_at is not None and offer.deadline_at <= now:
        local = offer.deadline_at.astimezone(TIMEZONE).strftime("%H:%M")
        raise Conflict(f"the offer expired at {local}", field="action", reason="offer_gone", details=state_of(order))
    return offer


def accept(session: Session, viewer: Viewer, order: ServiceOrder, now: datetime, rules: Rules) -> ServiceOrder:
    """接单: the provider's offer must be pending and within its deadline, and the order still offered; the
    order's UPDATE checks its version, so of two acceptances at once exactly one wins."""
    assert viewer.provider is not None
    offer = _pending_offer(session, viewer, order, now)
    if order.status != OFFERED:
        raise Conflict(f"the order is {order.status}", field="action", details=state_of(order))
    price = session.scalar(select(ProviderItem.price_fen).where(
        ProviderItem.district_code == order.district_code, ProviderItem.provider_id == viewer.provider.id,
        ProviderItem.item_code == order.item_code))
    # The order first, alone: its version check (or, on PostgreSQL, the row lock it waits on) decides the race
    # before any offer row is touched.
    order.status = ACCEPTED
    order.provider_id = viewer.provider.id
    order.price_fen = price
    order.accepted_at = now
    session.flush()
    offer.status = OFFER_ACCEPTED
    offer.answered_at = now
    others = [o for o in offers_of(session, order) if o.id != offer.id and o.status in (PENDING, QUEUED)]
    asked = providers_by_ids(session, {o.provider_id for o in others if o.status == PENDING})
    for o in others:
        o.status = WITHDRAWN
    session.flush()
    record_event(session, order, viewer.actor, "accept", OFFERED, ACCEPTED, note=viewer.provider.name, at=now)
    for p in asked.values():
        tell_provider(session, order, p, "withdrawn")
    tell_customer(session, order, "accept", viewer.provider)
    return order


def decline(session: Session, viewer: Viewer, order: ServiceOrder, reason: str | None, now: datetime,
            rules: Rules) -> ServiceOrder:
    """拒单: the next candidate is asked at once."""
    assert viewer.provider is not None
    offer = _pending_offer(session, viewer, order, now)
    offer.status = DECLINED
    offer.answered_at = now
    note = viewer.provider.name + (f"：{reason}" if reason else "")
    record_event(session, order, viewer.actor, "decline", order.status, None, note=note, at=now)
    offer_next(session, order, now, rules, before=order.status)
    return order


def offer_to(session: Session, viewer: Viewer, order: ServiceOrder, provider_id: uuid.UUID | None,
             now: datetime, rules: Rules) -> ServiceOrder:
    """An operator offers an unassigned order to a provider of their choice (it must be active, offer the item
    and serve the order's area; its hours are the operator's judgement)."""
    if provider_id is None:
        raise Invalid("choose the provider to offer the order to", field="provider_id")
    provider = session.get(Provider, (order.district_code, provider_id))
    if provider is None:
        raise Invalid("no such provider in this district", field="provider_id")
    fit = matching.eligibility(session, provider, order)
    if provider.status != "active":
        raise Invalid(f"{provider.name} is {provider.status}, not active: it receives no orders",
                      field="provider_id")
    if not fit.offers_item:
        raise Invalid(f"{provider.name} does not offer item {order.item_code}", field="provider_id")
    if not fit.covers_area:
        raise Invalid(f"{provider.name} does not serve {order.unit_code}", field="provider_id")
    offer = offer_of(session, order, provider.id)
    if offer is None:
        rank = (session.scalar(select(func.max(OrderOffer.rank)).where(
            OrderOffer.district_code == order.district_code, OrderOffer.order_id == order.id)) or 0) + 1
        rating, count = matching.ratings_of(session, order.district_code, [provider.id], now).get(
            provider.id, (matching.DEFAULT_RATING, 0))
        load = matching.loads_of(session, order.district_code, [provider.id]).get(provider.id, 0)
        used = rating if count >= rules.min_ratings else matching.DEFAULT_RATING
        offer = OrderOffer(district_code=order.district_code, order_id=order.id, provider_id=provider.id,
                           rank=rank, score=round(matching.score(used, load), 6), status=QUEUED)
        session.add(offer)
    make_pending(session, order, offer, provider, viewer.actor, now, rules, before=UNASSIGNED)
    return order


def requeue_unasked(session: Session, order: ServiceOrder) -> int:
    """Candidates withdrawn when another accepted, and never asked, wait again (the holder cancelled)."""
    again = [o for o in offers_of(session, order) if o.status == WITHDRAWN and o.offered_at is None]
    for o in again:
        o.status = QUEUED
    session.flush()
    return len(again)


def expire_offers(db: Database, now: datetime | None = None, *, rules: Rules | None = None,
                  batch: int = 500) -> int:
    """The sweep (every minute on the worker): pending offers past their deadline expire and the next candidate
    is asked. Each offer in its own short transaction, so that a provider accepting at that very moment wins
    cleanly (the order's version check fails this side, and the offer is looked at again next time)."""
    now = now or utcnow()
    rules = rules or rules_from()
    with db.sessions() as session:
        due = list(session.execute(select(OrderOffer.district_code, OrderOffer.id).where(
            OrderOffer.status == PENDING, OrderOffer.deadline_at < now).order_by(OrderOffer.deadline_at)
            .limit(batch)))
    changed = 0
    for district, offer_id in due:
        try:
            with db.unit_of_work() as session:
                offer = session.get(OrderOffer, (district, offer_id))
                if offer is None or offer.status != PENDING or offer.deadline_at is None or offer.deadline_at >= now:
                    continue
                order = session.get(ServiceOrder, (district, offer.order_id))
                offer.status = EXPIRED
                if order is None or order.status != OFFERED:
                    continue  # nothing to move on: only the offer's state was stale
                provider = session.get(Provider, (district, offer.provider_id))
                record_event(session, order, SYSTEM, "expire", OFFERED, None,
                             note=provider.name if provider else None, at=now)
                offer_next(session, order, now, rules, before=OFFERED)
                changed += 1
        except (StaleDataError, DomainError) as exc:
            log.info("offer sweep skipped an offer: %s", type(exc).__name__)
    return changed
