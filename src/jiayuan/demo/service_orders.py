"""Services demo data: months of 12343 service orders, simulated one by one as the platform would have run them.
Pure; called by ``demo.services.build_services`` with its own random stream."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from jiayuan.demo.generate import DISTRICT_CODE
from jiayuan.demo.registry_specs import Mobiles, Picker
from jiayuan.demo.services_specs import (
    MIN_RATINGS,
    OFFER_MINUTES,
    RATING_DAYS,
    RATING_THRESHOLD,
    OfferSpec,
    OrderEventSpec,
    OrderSpec,
    Scale,
    ServicesDemo,
    World,
    local_moment,
    open_at,
)
from jiayuan.kit.i18n import TIMEZONE


@dataclass
class _Life:
    """One order being simulated: its spec, offers and events."""

    order: OrderSpec
    offers: list[OfferSpec]
    events: list[OrderEventSpec]


class Orders:
    """Past orders, simulated one by one in the order they were placed: candidates ranked as the platform ranks
    them (rating over the last 90 days, 4.0 below five ratings, and current load), offers answered or left to
    expire, service, cancellation and rating, nothing after `now`; a provider's flag follows its ratings."""

    def __init__(self, cfg: Scale, w: World, rng: random.Random, out: ServicesDemo) -> None:
        self.cfg, self.w, self.rng, self.out = cfg, w, rng, out
        self.o = w.data["orders"]
        self.offering: dict[str, list[int]] = defaultdict(list)
        for i, p in enumerate(out.providers):
            if p.status == "active":
                for code in p.items:
                    self.offering[code].append(i)
        codes = sorted(self.offering)
        weights = self.o["group_weights"]
        self.item = Picker(codes, [weights.get(c[:2], 1) * rng.uniform(0.5, 1.5) for c in codes])
        self.ratings: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
        self.busy: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
        self.numbers: set[str] = set()
        self.mobile = Mobiles(w.vocab.registry["origins"]["mobile_prefixes"])
        self.operators = sorted(s.username for s in w.demo.staff if s.role == "hotline_operator")
        self.poor = [i for i, p in enumerate(out.providers) if p.poor]

    # -- the pieces of one order

    def rating_of(self, p: int, at: datetime) -> float:
        given = self.ratings.get(p)
        if not given or len(given) < MIN_RATINGS:
            return 4.0
        recent = [r for t, r in given if at - timedelta(days=RATING_DAYS) < t <= at]
        return sum(recent) / len(recent) if len(recent) >= MIN_RATINGS else 4.0

    def load_of(self, p: int, at: datetime) -> int:
        busy = self.busy.get(p)
        return sum(1 for s, e in busy if s <= at < e) if busy else 0

    def candidates(self, item: str, grid: str, start: datetime, at: datetime, poor_first: int | None,
                   ) -> list[tuple[int, float]]:
        """The first eight candidates, best first, with their scores (ties: the lower price, then the name)."""
        found = []
        units = {grid[:6], grid[:9], grid[:12], grid}
        for p in self.offering[item]:
            spec = self.out.providers[p]
            if units.isdisjoint(spec.areas):
                continue
            if not open_at(spec.weekly_hours, spec.round_the_clock, start):
                continue
            load = self.load_of(p, at)
            if poor_first is not None:  # everyone else is busy: the poor one is asked first
                load = 0 if p == poor_first else max(load, 2 + self.rng.randint(0, 2))
            found.append((p, round(0.6 * self.rating_of(p, at) / 5 + 0.4 / (1 + load), 6)))
        found.sort(key=lambda c: (-c[1], self.out.providers[c[0]].items[item] or 0, self.out.providers[c[0]].name))
        return found[:8]

    def number(self, created: datetime) -> str:
        day = created.astimezone(TIMEZONE).strftime("%y%m%d")
        while True:
            number = f"S{day}{self.rng.randrange(100_000):05d}"
            if number not in self.numbers:
                self.numbers.add(number)
                return number

    def who(self, order: OrderSpec) -> str:
        return f"operator:{order.operator}" if order.operator else f"resident:{order.contact_name}"

    def draw(self, created: datetime, poor_first: int | None, window_start: datetime | None,
             ) -> tuple[str, str, str, float, float, datetime]:
        """An item, a place and a time window for an order placed at `created`."""
        rng = self.rng
        item = rng.choice(sorted(self.out.providers[poor_first].items)) if poor_first is not None \
            else self.item(rng)
        address, lat, lon, grid = self.w.place(rng, DISTRICT_CODE)
        address += f"{rng.randint(1, 12)}栋{rng.randint(1, 3)}单元{rng.randint(1, 18)}{rng.randint(1, 4):02d}室"
        if window_start is None:
            day = (created + timedelta(hours=rng.uniform(2, 60))).astimezone(TIMEZONE).date()
            window_start = _round_up(max(local_moment(day, f"{rng.randint(8, 18):02d}:{rng.choice(('00', '30'))}"),
                                         created + timedelta(hours=1)))
        return item, grid, address, lat, lon, window_start

    # -- one order's life up to `now`

    def simulate(self, created: datetime, now: datetime, *, force: str | None = None,
                 poor_first: int | None = None, window_start: datetime | None = None) -> OrderSpec:
        rng = self.rng
        for _ in range(60):
            item, grid, address, lat, lon, start = self.draw(created, poor_first, window_start)
            cands = self.candidates(item, grid, start, created, poor_first)
            if poor_first is not None and cands and cands[0][0] == poor_first:
                break
            if poor_first is None and (force is None or cands):
                break
        else:
            poor_first = None
        channel = "hotline" if rng.random() < 0.55 else "resident"
        order = OrderSpec(
            self.number(created), item, channel, "offered", grid, address, lat, lon, start,
            start + timedelta(hours=rng.choice((1, 2, 2, 3, 4))), rng.choice(self.o["notes"]) or None,
            rng.choice(self.operators) if channel == "hotline" and self.operators else None,
            self.w.person(rng), self.mobile(rng), created, created)
        n = len(self.out.orders)
        life = _Life(order, [OfferSpec(n, p, rank, score, "queued") for rank, (p, score) in enumerate(cands, 1)],
                     [OrderEventSpec(n, created, self.who(order), "create", None, None)])
        self.run(life, n, now, force, poor_first)
        self.out.orders.append(order)
        self.out.offers.extend(life.offers)
        self.out.order_events.extend(life.events)
        return order

    def run(self, life: _Life, n: int, now: datetime, force: str | None, poor_first: int | None) -> None:
        rng, order, events, o = self.rng, life.order, life.events, self.o
        t = order.created_at
        cancel_at = None  # the caller calls it off before the service, sometimes
        if force is None and rng.random() < 0.09:
            cancel_at = t + (order.window_start - t) * rng.uniform(0.02, 0.9)
        caller = "operator" if order.operator else "resident"
        reasons = o["cancel_operator" if caller == "operator" else "cancel_resident"]
        before: str | None = None
        accepted = None
        for k, offer in enumerate(life.offers):
            provider = self.out.providers[offer.provider]
            offer.status, offer.offered_at = "pending", t
            offer.deadline_at = t + timedelta(minutes=OFFER_MINUTES)
            order.offered_at = order.updated_at = t
            events.append(OrderEventSpec(n, t, "system", "offer", before, "offered", provider.name))
            before = "offered"
            roll = rng.random()
            if force == "unassigned":
                answer = "decline" if roll < 0.7 else "expire"
            elif force in ("accepted", "in_service") or offer.provider == poor_first:
                answer = "accept"
            else:
                answer = "accept" if roll < 0.78 else "decline" if roll < 0.9 else "expire"
            answered = offer.deadline_at if answer == "expire" else t + timedelta(
                minutes=rng.uniform(0.5, OFFER_MINUTES - 0.5))
            if force == "offered" or answered > now:
                return  # still waiting for this provider's answer
            if cancel_at is not None and cancel_at < answered:
                offer.status = "withdrawn"
                for other in life.offers[k + 1:]:
                    other.status = "withdrawn"
                self.cancel(order, events, n, cancel_at, caller, rng.choice(reasons), "offered")
                return
            t = answered
            if answer == "expire":
                offer.status = "expired"
                events.append(OrderEventSpec(n, t, "system", "expire", "offered", None, provider.name))
                continue
            offer.answered_at = t
            if answer == "decline":
                offer.status = "declined"
                events.append(OrderEventSpec(n, t, f"provider:{offer.provider}", "decline", "offered", None,
                                             f"{provider.name}：{rng.choice(o['decline_notes'])}"))
                continue
            offer.status, accepted = "accepted", offer
            for other in life.offers[k + 1:]:
                other.status = "withdrawn"
            order.status, order.provider, order.accepted_at = "accepted", offer.provider, t
            order.price_fen, order.updated_at = provider.items.get(order.item_code), t
            events.append(OrderEventSpec(n, t, f"provider:{offer.provider}", "accept", "offered", "accepted",
                                         provider.name))
            break
        if accepted is None:
            order.status, order.updated_at = "unassigned", t
            events.append(OrderEventSpec(n, t, "system", "unassigned", before, "unassigned"))
            at = t + timedelta(minutes=rng.uniform(20, 240))
            if force is None and now - t > timedelta(days=2) and at <= now:
                # Nobody took it: an operator called back and closed it.
                self.cancel(order, events, n, at, "operator", rng.choice(o["cancel_operator"]), "unassigned")
            return
        p = accepted.provider
        if cancel_at is not None and t < cancel_at <= now:
            self.cancel(order, events, n, cancel_at, caller, rng.choice(reasons), "accepted")
            return
        start = order.window_start + timedelta(minutes=rng.uniform(0, 10) if force else rng.uniform(-10, 25))
        done = start + (order.window_end - order.window_start) * rng.uniform(0.5, 1.1)
        self.busy[p].append((t, done))
        if start > now:
            return  # accepted; the service is still to come
        order.status, order.started_at, order.updated_at = "in_service", start, start
        events.append(OrderEventSpec(n, start, f"provider:{p}", "start", "accepted", "in_service"))
        if done > now or force == "in_service":
            return
        order.status, order.completed_at, order.updated_at = "completed", done, done
        events.append(OrderEventSpec(n, done, f"provider:{p}", "complete", "in_service", "completed",
                                     rng.choice(o["complete_notes"])))
        rated = done + timedelta(hours=rng.uniform(0.5, 48))
        if rng.random() < 0.78 and rated <= now:
            self.rate(order, events, n, p, rated)

    def cancel(self, order: OrderSpec, events: list[OrderEventSpec], n: int, at: datetime, who: str, reason: str,
               before: str) -> None:
        order.status, order.cancelled_at, order.cancelled_by, order.cancel_reason = "cancelled", at, who, reason
        order.updated_at = at
        operator = order.operator or (self.operators[0] if self.operators else "")
        actor = f"operator:{operator}" if who == "operator" else f"resident:{order.contact_name}"
        events.append(OrderEventSpec(n, at, actor, "cancel", before, "cancelled", reason))

    def rate(self, order: OrderSpec, events: list[OrderEventSpec], n: int, p: int, at: datetime) -> None:
        rng = self.rng
        poor = self.out.providers[p].poor
        rating = rng.choices((1, 2, 3, 4, 5), (22, 33, 28, 12, 5) if poor else (1, 2, 7, 27, 63))[0]
        comments = self.o["poor_comments" if rating <= 2 else "fair_comments" if rating == 3 else "good_comments"]
        comment = rng.choice(comments) or None
        order.rating, order.rating_comment, order.rated_at, order.updated_at = rating, comment, at, at
        events.append(OrderEventSpec(n, at, self.who(order), "rate", "completed", "completed",
                                     f"{rating}★" + (f" {comment}" if comment else "")))
        self.ratings[p].append((at, rating))
        self.flag(p, at)

    def flag(self, p: int, at: datetime) -> None:
        """As after every rating: under the threshold with enough ratings in 90 days flags it; else clears."""
        spec = self.out.providers[p]
        recent = [r for t, r in self.ratings[p] if at - timedelta(days=RATING_DAYS) < t <= at]
        mean = sum(recent) / len(recent)
        if len(recent) >= MIN_RATINGS and mean < RATING_THRESHOLD:
            spec.flagged_at = spec.flagged_at or at
            spec.flag_reason = (f"近 {RATING_DAYS} 天平均评分 {mean:.2f}（{len(recent)} 次评价），"
                                f"低于 {RATING_THRESHOLD:g}")
        else:
            spec.flagged_at = spec.flag_reason = None

    # -- all of them

    def generate(self) -> None:
        cfg, rng, now = self.cfg, self.rng, self.w.now
        # More orders lately than long ago; office hours more than the night.
        hour = Picker(list(range(24)), [1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 14, 12, 8, 8, 12, 14, 14, 12, 10, 9, 7, 5, 3, 2])
        moments = []
        for _ in range(cfg.orders):
            day = (now - timedelta(days=cfg.order_days * rng.random() ** 1.3)).astimezone(TIMEZONE)
            moment = day.replace(hour=hour(rng), minute=rng.randrange(60), second=rng.randrange(60), microsecond=0)
            if moment < now - timedelta(hours=4):
                moments.append(moment)
        moments.sort()
        for moment in moments:
            first = rng.choice(self.poor) if self.poor and rng.random() < cfg.poor_share else None
            self.simulate(moment, now, poor_first=first)
        if not self.offering:
            return
        # Orders of the last hours in each open state, whatever the clock says.
        self.simulate(now - timedelta(minutes=rng.uniform(1, 8)), now, force="offered")
        self.simulate(now - timedelta(hours=rng.uniform(2.5, 3.5)), now, force="unassigned")
        self.simulate(now - timedelta(hours=rng.uniform(1, 2)), now, force="accepted",
                      window_start=_round_up(now + timedelta(hours=rng.uniform(3, 30))))
        self.simulate(now - timedelta(hours=rng.uniform(20, 30)), now, force="in_service",
                      window_start=_round_down(now - timedelta(minutes=rng.uniform(20, 50))))


def _round_up(moment: datetime) -> datetime:
    return _round_down(moment) + timedelta(minutes=30)


def _round_down(moment: datetime) -> datetime:
    return moment.replace(minute=0 if moment.minute < 30 else 30, second=0, microsecond=0)
