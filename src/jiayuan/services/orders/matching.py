"""Candidate providers for an order, ranked as docs/services.md says (候选服务商排序).

A candidate is an active provider offering the item, whose area covers the order's unit and whose hours (or round
the clock) cover the window's start. Score = 0.6 × rating / 5 + 0.4 / (1 + load); ties go to the lower price,
then the name.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from jiayuan.kit.i18n import TIMEZONE
from jiayuan.services.orders.models import ServiceOrder
from jiayuan.services.orders.workflow import LOADED
from jiayuan.services.providers.models import Provider, ProviderArea, ProviderItem

RATING_DAYS = 90
DEFAULT_RATING = 4.0  # while a provider has fewer ratings than the minimum
RATING_WEIGHT, LOAD_WEIGHT = 0.6, 0.4


@dataclass
class Candidate:
    provider: Provider
    price_fen: int | None
    rating: float  # the rating the score used (DEFAULT_RATING when too few)
    ratings: int
    load: int
    score: float


def area_codes(unit_code: str) -> list[str]:
    """The unit and every unit above it: a provider serving any of them serves this one."""
    return [unit_code[:n] for n in (6, 9, 12, 15) if len(unit_code) >= n]


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def open_at(weekly_hours: dict[str, Any] | None, moment: datetime) -> bool:
    """Whether a week of opening hours (ISO weekday → [[HH:MM, HH:MM], …], local time) covers `moment`."""
    local = moment.astimezone(TIMEZONE)
    minute = local.hour * 60 + local.minute
    for start, end in (weekly_hours or {}).get(str(local.isoweekday())) or []:
        try:
            if _minutes(start) <= minute < _minutes(end):
                return True
        except (ValueError, AttributeError):
            continue  # a malformed interval opens nothing
    return False


def covers_hours(provider: Provider, moment: datetime) -> bool:
    return bool(provider.round_the_clock) or open_at(provider.weekly_hours, moment)


def score(rating: float, load: int) -> float:
    return RATING_WEIGHT * rating / 5 + LOAD_WEIGHT / (1 + load)


def ratings_of(session: Session, district: str, provider_ids: list[uuid.UUID], now: datetime
               ) -> dict[uuid.UUID, tuple[float, int]]:
    """(mean rating, count) of each provider's orders rated in the last 90 days."""
    if not provider_ids:
        return {}
    rows = session.execute(select(ServiceOrder.provider_id, func.avg(ServiceOrder.rating), func.count())
                           .where(ServiceOrder.district_code == district,
                                  ServiceOrder.provider_id.in_(provider_ids), ServiceOrder.rating.is_not(None),
                                  ServiceOrder.rated_at >= now - timedelta(days=RATING_DAYS))
                           .group_by(ServiceOrder.provider_id))
    return {pid: (float(mean), int(n)) for pid, mean, n in rows}


def loads_of(session: Session, district: str, provider_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """How many orders each provider holds now (accepted or in service)."""
    if not provider_ids:
        return {}
    rows = session.execute(select(ServiceOrder.provider_id, func.count())
                           .where(ServiceOrder.district_code == district,
                                  ServiceOrder.provider_id.in_(provider_ids), ServiceOrder.status.in_(LOADED))
                           .group_by(ServiceOrder.provider_id))
    return {pid: int(n) for pid, n in rows}


def _offering(district: str, item_code: str, unit_code: str) -> Any:
    """Active providers offering the item whose area covers the unit, with their price."""
    return (select(Provider, ProviderItem.price_fen)
            .join(ProviderItem, and_(ProviderItem.district_code == Provider.district_code,
                                     ProviderItem.provider_id == Provider.id))
            .where(Provider.district_code == district, Provider.status == "active",
                   ProviderItem.item_code == item_code, ProviderItem.active,
                   select(ProviderArea.id).where(ProviderArea.district_code == Provider.district_code,
                                                 ProviderArea.provider_id == Provider.id,
                                                 ProviderArea.unit_code.in_(area_codes(unit_code))).exists()))


def rank_candidates(session: Session, item_code: str, unit_code: str, start: datetime, now: datetime,
                    min_ratings: int) -> list[Candidate]:
    """The candidates for an order of `item_code` in `unit_code` starting at `start`, best first."""
    district = unit_code[:6]
    rows = [(p, price) for p, price in session.execute(_offering(district, item_code, unit_code))
            if covers_hours(p, start)]
    ids = [p.id for p, _price in rows]
    ratings = ratings_of(session, district, ids, now)
    loads = loads_of(session, district, ids)
    out = []
    for provider, price in rows:
        mean, count = ratings.get(provider.id, (DEFAULT_RATING, 0))
        used = mean if count >= min_ratings else DEFAULT_RATING
        load = loads.get(provider.id, 0)
        out.append(Candidate(provider, price, used, count, load, score(used, load)))
    # Scores are compared rounded, so that 0.1 + 0.2 and 0.3 are a tie; a price quoted on site sorts last.
    out.sort(key=lambda c: (-round(c.score, 9), c.price_fen if c.price_fen is not None else math.inf,
                            c.provider.name, str(c.provider.id)))
    return out


@dataclass
class Eligibility:
    """Why a provider can or cannot take an order (the operator's choice of whom to offer it to)."""

    provider: Provider
    price_fen: int | None
    offers_item: bool
    covers_area: bool
    open_then: bool

    @property
    def ok(self) -> bool:
        return self.provider.status == "active" and self.offers_item and self.covers_area


def eligibility(session: Session, provider: Provider, order: ServiceOrder) -> Eligibility:
    item = session.scalar(select(ProviderItem).where(
        ProviderItem.district_code == provider.district_code, ProviderItem.provider_id == provider.id,
        ProviderItem.item_code == order.item_code, ProviderItem.active))
    covers = session.scalar(select(func.count()).select_from(ProviderArea).where(
        ProviderArea.district_code == provider.district_code, ProviderArea.provider_id == provider.id,
        ProviderArea.unit_code.in_(area_codes(order.unit_code)))) or 0
    return Eligibility(provider, item.price_fen if item else None, item is not None, covers > 0,
                       covers_hours(provider, order.window_start))


def offerable(session: Session, order: ServiceOrder) -> list[Eligibility]:
    """Active providers an operator may offer the order to (item and area fit), those open at the start first."""
    rows = session.execute(_offering(order.district_code, order.item_code, order.unit_code)
                           .order_by(Provider.name))
    out = [Eligibility(p, price, True, True, covers_hours(p, order.window_start)) for p, price in rows]
    out.sort(key=lambda e: (not e.open_then, e.provider.name))
    return out
