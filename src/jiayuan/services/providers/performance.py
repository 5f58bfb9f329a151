"""Provider performance (服务商绩效): the figures of docs/services.md per provider and period, computed by grouped
SQL over service_orders and service_order_offers, and the rule that flags a provider for suspension.

Per provider, over the orders created in the period:
  offers            offers made to it (offered_at set: pending, or answered, expired or withdrawn since)
  acceptance rate   accepted / (accepted + declined + expired)
  time to accept    mean minutes from an offer to its acceptance
  completion rate   completed / accepted, leaving out orders the resident or an operator cancelled
  mean rating       mean of the ratings (1–5) of its orders, with their count
  complaints        its orders that opened a complaint case
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Float, and_, case, cast, extract, func, select, update
from sqlalchemy.orm import Session

from jiayuan.accounts.service import Principal
from jiayuan.config import get_settings
from jiayuan.kit.errors import Invalid
from jiayuan.kit.i18n import TIMEZONE
from jiayuan.services.orders.models import OrderOffer, ServiceOrder
from jiayuan.services.providers import policy
from jiayuan.services.providers import service as service
from jiayuan.services.providers.models import Provider

RATING_DAYS = 90  # the flag looks at the ratings of the last 90 days (as the ranking does)
ANSWERED = ("accepted", "declined", "expired")
CUSTOMER_CANCELLERS = ("resident", "operator")
MAX_PERIOD_DAYS = 3 * 366
DEFAULT_PERIOD_DAYS = 30
# Figures a table can be sorted by; None (no data) always sorts last.
SORTABLE = ("name", "offers", "acceptance_rate", "minutes_to_accept", "completion_rate", "mean_rating", "ratings",
            "complaints")


@dataclass
class Figures:
    provider_id: uuid.UUID
    name: str
    status: str
    flagged: bool
    offers: int = 0
    answered: int = 0  # accepted, declined or expired
    accepted: int = 0
    acceptance_rate: float | None = None
    minutes_to_accept: float | None = None
    completable: int = 0  # accepted orders not cancelled by the resident or an operator
    completed: int = 0
    completion_rate: float | None = None
    mean_rating: float | None = None
    ratings: int = 0
    complaints: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def period(since: date | None, until: date | None, today: date) -> tuple[datetime, datetime]:
    """Whole local days (Beijing time) from `since` to `until` inclusive, as the UTC interval [start, end);
    by default the last 30 days up to today."""
    until = until or today
    since = since or until - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
    if since > until:
        raise Invalid("the period starts after it ends", field="since")
    if (until - since).days > MAX_PERIOD_DAYS:
        raise Invalid(f"at most {MAX_PERIOD_DAYS} days", field="since")
    start = datetime.combine(since, time.min, TIMEZONE)
    end = datetime.combine(until + timedelta(days=1), time.min, TIMEZONE)
    return start, end


def _seconds(session: Session, start: Any, end: Any) -> Any:
    """end − start in seconds, in the database's own dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def _count(cond: Any) -> Any:
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def figures(session: Session, district: str, start: datetime, end: datetime,
            provider_ids: Collection[uuid.UUID] | None = None, *, status: str | None = None) -> list[Figures]:
    """The figures of every provider of a district (or of those given) for orders created in [start, end):
    three queries whatever the number of providers — the providers, their offers, their orders."""
    stmt = select(Provider.id, Provider.name, Provider.status, Provider.flagged_at).where(
        Provider.district_code == district)
    if provider_ids is not None:
        stmt = stmt.where(Provider.id.in_(list(provider_ids)))
    if status is not None:
        stmt = stmt.where(Provider.status == status)
    out = {pid: Figures(pid, name, st, flagged is not None)
           for pid, name, st, flagged in session.execute(stmt.order_by(Provider.name, Provider.id))}
    if not out:
        return []
    ids = list(out)
    o, so = OrderOffer, ServiceOrder
    accepted = o.status == "accepted"
    customer_cancelled = and_(so.status == "cancelled", so.cancelled_by.in_(CUSTOMER_CANCELLERS))
    wait = case((and_(accepted, o.offered_at.is_not(None), o.answered_at.is_not(None)),
                 _seconds(session, o.offered_at, o.answered_at)), else_=None)
    offers = session.execute(
        select(o.provider_id,
               _count(o.offered_at.is_not(None)),
               _count(o.status.in_(ANSWERED)),
               _count(accepted),
               func.avg(cast(wait, Float)),
               _count(and_(accepted, ~customer_cancelled)),
               _count(and_(accepted, so.status == "completed", so.provider_id == o.provider_id)))
        .join(so, and_(so.district_code == o.district_code, so.id == o.order_id))
        .where(o.district_code == district, o.provider_id.in_(ids), so.created_at >= start, so.created_at < end)
        .group_by(o.provider_id))
    for pid, made, answered, acc, seconds, completable, completed in offers:
        f = out[pid]
        f.offers, f.answered, f.accepted = int(made), int(answered), int(acc)
        f.completable, f.completed = int(completable), int(completed)
        f.minutes_to_accept = None if seconds is None else float(seconds) / 60
    orders = session.execute(
        select(so.provider_id, func.avg(cast(so.rating, Float)), func.count(so.rating),
               _count(so.complaint_case.is_not(None)))
        .where(so.district_code == district, so.provider_id.in_(ids), so.created_at >= start, so.created_at < end)
        .group_by(so.provider_id))
    for pid, mean, n, complaints in orders:
        f = out[pid]
        f.mean_rating = None if mean is None or not n else float(mean)
        f.ratings, f.complaints = int(n), int(complaints)
    for f in out.values():
        f.acceptance_rate = _rate(f.accepted, f.answered)
        f.completion_rate = _rate(f.completed, f.completable)
    return list(out.values())


def sort_figures(rows: list[Figures], key: str | None, descending: bool = True) -> list[Figures]:
    """Sorted by one figure, the providers without it last whichever way; by name otherwise."""
    if key not in SORTABLE or key == "name":
        return sorted(rows, key=lambda f: f.name, reverse=key == "name" and descending)
    have = [f for f in rows if getattr(f, key) is not None]
    none = [f for f in rows if getattr(f, key) is None]
    have.sort(key=lambda f: (getattr(f, key), f.name) if not descending else (-getattr(f, key), f.name))
    return have + sorted(none, key=lambda f: f.name)


def _reader(principal: Principal) -> str:
    return policy.require_reader(principal, "read provider performance")


def district_figures(session: Session, principal: Principal, start: datetime, end: datetime, *,
                     status: str | None = None) -> list[Figures]:
    """Every provider of the caller's district (district staff)."""
    return figures(session, _reader(principal), start, end, status=status)


def provider_figures(session: Session, principal: Principal, provider_id: uuid.UUID, start: datetime,
                     end: datetime) -> Figures:
    """One provider the caller may see (district staff, or the provider's own staff)."""
    provider = service.get_provider(session, principal, provider_id)
    return figures(session, provider.district_code, start, end, [provider.id])[0]


# --- The flag -------------------------------------------------------------------------------------------


def recent_rating(session: Session, district: str, provider_id: uuid.UUID, now: datetime
                  ) -> tuple[float | None, int]:
    """(mean, count) of the provider's ratings given in the last 90 days."""
    mean, n = session.execute(
        select(func.avg(cast(ServiceOrder.rating, Float)), func.count(ServiceOrder.rating)).where(
            ServiceOrder.district_code == district, ServiceOrder.provider_id == provider_id,
            ServiceOrder.rating.is_not(None), ServiceOrder.rated_at > now - timedelta(days=RATING_DAYS),
            ServiceOrder.rated_at <= now)).one()
    return (None if mean is None else float(mean)), int(n or 0)


def check_flag(session: Session, provider_id: uuid.UUID, now: datetime, *, threshold: float | None = None,
               min_ratings: int | None = None) -> bool:
    """After each rating: a provider whose mean rating over the last 90 days is under the threshold, with at least
    the minimum number of ratings, is flagged for suspension (flagged_at, flag_reason); one that no longer is,
    is cleared. Returns whether it is flagged now. The decision to suspend stays with the district's staff.

    The flag is written with a plain UPDATE that leaves the version alone: it must not make a status change
    made at the same moment fail, nor fail because of one."""
    if threshold is None or min_ratings is None:
        settings = get_settings()
        threshold = settings.provider_rating_threshold if threshold is None else threshold
        min_ratings = settings.provider_min_ratings if min_ratings is None else min_ratings
    row = session.execute(select(Provider.district_code, Provider.flagged_at, Provider.flag_reason)
                          .where(Provider.id == provider_id)).first()
    if row is None:
        return False
    district, flagged_at, old_reason = row
    mean, n = recent_rating(session, district, provider_id, now)
    flag = mean is not None and n >= min_ratings and mean < threshold
    if flag:
        # Data, like the reasons staff type: in the district's language.
        reason = f"近 {RATING_DAYS} 天平均评分 {mean:.2f}（{n} 次评价），低于 {threshold:g}"
        values: dict[str, Any] = {"flag_reason": reason[:200]}
        if flagged_at is None:
            values["flagged_at"] = now
        if values.get("flag_reason") == old_reason and "flagged_at" not in values:
            return True
    else:
        if flagged_at is None and old_reason is None:
            return False
        values = {"flagged_at": None, "flag_reason": None}
    session.execute(update(Provider).where(Provider.district_code == district, Provider.id == provider_id)
                    .values(**values).execution_options(synchronize_session="fetch"))
    return flag
