"""The charity supermarkets of the care demo (see demo.care): one per community, the district's items, entitlement
rules, donations in kind and money, purchases, stock-takes, the monthly issue of points in lots, redemptions at the
counter, expiry of what was not spent, and volunteers turning hours into points.

Each supermarket is simulated in time order, as its counter would have lived it, so that the ledgers are what the
services would have written: no entry makes stock or points negative, a spend draws on the oldest valid lot first,
an expiry writes off exactly the rest of its lot, and each lot, run and redemption adds up (docs/care.md).
"""

from __future__ import annotations

import heapq
import random
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from jiayuan.charity.models import (
    Account,
    Donation,
    EntitlementRule,
    IssueRun,
    Item,
    PointsEntry,
    Redemption,
    RedemptionLine,
    Stock,
    StockEntry,
    Stocktake,
    StocktakeLine,
    Supermarket,
)
from jiayuan.demo.care_world import Credit, Out, Vol, World, at, local_day, rint, sample

RESTOCK_BELOW, RESTOCK_TO = 30, 60  # the monthly purchase tops an item up to this many


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _month_end(month: date, valid_months: int) -> date:
    return _add_months(month, valid_months) - timedelta(days=1)


@dataclass(slots=True)
class _Lot:
    id: uuid.UUID
    at: datetime
    remaining: int
    expires: date | None


@dataclass
class _Market:
    id: uuid.UUID
    community: str
    on_hand: dict[int, int] = field(default_factory=dict)  # item index → quantity
    events: list[tuple[datetime, int, int, str, Any]] = field(default_factory=list)
    taken: int = 0  # a tie-breaker that keeps the event order stable

    def at(self, moment: datetime, order: int, kind: str, payload: Any = None) -> None:
        self.taken += 1
        self.events.append((moment, order, self.taken, kind, payload))


class _Charity:
    def __init__(self, w: World, data: dict[str, Any], cfg: dict[str, Any], vols: list[Vol], credits: list[Credit],
                 rng: random.Random, out: Out) -> None:
        self.w, self.data, self.cfg, self.vols, self.credits, self.rng, self.out = w, data, cfg, vols, credits, rng, out
        self.items: list[tuple[uuid.UUID, str, int, int]] = []  # id, name, points, value in fen
        self.accounts: dict[uuid.UUID, uuid.UUID] = {}  # household → account
        self.lots: dict[uuid.UUID, list[_Lot]] = {}  # account → its lots, oldest first
        self.markets: dict[str, _Market] = {}
        self.rate = data["charity"]["points_per_hour"]

    # Reference rows of the district: items and rules; a supermarket and its stock rows in every community.

    def setup(self) -> None:
        w, out = self.w, self.out
        self.indexes = list(range(len(self.data["charity"]["items"])))
        opened = at(w.first - timedelta(days=120), 600)
        for name, unit, points, category, value in self.data["charity"]["items"]:
            self.items.append((out.add(Item, name=name, unit=unit, points=points, category=category, active=True,
                                       created_at=opened, updated_at=opened), name, points, value))
        self.rules = [(tag, points, months) for tag, points, months in self.data["charity"]["rules"]]
        for tag, points, months in self.rules:
            out.add(EntitlementRule, tag=tag, points=points, valid_months=months, active=True, created_at=opened,
                    updated_at=opened)
        for c in w.communities:
            market = _Market(out.add(Supermarket, unit_code=c.code, name=f"{c.name}爱心慈善超市",
                                     address=f"{c.name}党群服务中心一楼", active=True, created_at=opened,
                                     updated_at=opened), c.code)
            self.markets[c.code] = market
            for item_id, *_ in self.items:
                out.add(Stock, supermarket_id=market.id, item_id=item_id)

    # What happens at each supermarket, as events.

    def schedule(self) -> None:
        w, rng, cfg = self.w, self.rng, self.cfg
        months = [_add_months(w.today.replace(day=1), -k) for k in range(cfg["points_months"] - 1, -1, -1)]
        self.first_month = months[0]
        stocked = at(months[0] - timedelta(days=10), 10 * 60)
        entitled = self.entitled()
        donors = self.data["charity"]["donors"]
        for code, market in self.markets.items():
            market.at(stocked, 0, "purchase", {i: rint(rng, RESTOCK_TO // 2, RESTOCK_TO) for i in range(len(self.items))})
            for _ in range(cfg["donations_per_supermarket"]):
                day = w.first + timedelta(days=rint(rng, 0, (w.today - w.first).days))
                moment = at(day, rint(rng, 9 * 60, 17 * 60))
                if moment <= w.now:
                    market.at(moment, 2, "donation", donors[int(rng.random() * len(donors))])
            month = _add_months(w.first.replace(day=1), 1)
            while month <= w.today:
                restock = at(month + timedelta(days=1), 10 * 60)
                if restock <= w.now:
                    market.at(restock, 1, "restock")
                if month.month % 3 == 0:
                    take = at(month + timedelta(days=24), 16 * 60)
                    if take <= w.now:
                        market.at(take, 3, "stocktake")
                month = _add_months(month, 1)
            households = entitled.get(code, {})
            for month in months:
                run = at(month, 2 * 60)
                if run > w.now:
                    continue
                market.at(run, 0, "issue", (month, households))
                days = ((_add_months(month, 1) - month).days if month != w.today.replace(day=1)
                        else (w.today - month).days + 1)
                for household in households:
                    if rng.random() < 0.45:
                        moment = at(month + timedelta(days=rint(rng, 0, days - 1)), rint(rng, 9 * 60, 17 * 60))
                        if moment <= w.now:
                            market.at(moment, 2, "redeem", household)
        self.conversions()

    def entitled(self) -> dict[str, dict[uuid.UUID, tuple[str, dict[str, date]]]]:
        """By community: households with a member holding a rule's tag, with their grid and each tag's first day."""
        tags = {tag for tag, _, _ in self.rules}
        out: dict[str, dict[uuid.UUID, tuple[str, dict[str, date]]]] = {}
        for p in self.w.people:
            if p.household is None:
                continue
            held = {t: since or self.w.first for t, (_g, since) in p.tags.items() if t in tags}
            if not held:
                continue
            community = out.setdefault(p.grid[:12], {})
            grid, have = community.get(p.household, (p.grid, {}))
            for t, since in held.items():
                have[t] = min(have.get(t, since), since)
            community[p.household] = (grid, have)
        return out

    def conversions(self) -> None:
        """About one active volunteer in twenty turned some whole hours into points for their household, when
        their balance had them: at most the district rule's hours a month (`hours_per_month`)."""
        w, rng = self.w, self.rng
        mine: dict[int, list[Credit]] = {}
        for c in self.credits:
            mine.setdefault(c.volunteer, []).append(c)
        for i, v in enumerate(self.vols):
            if not v.active or v.person.household is None or rng.random() >= 0.05:
                continue
            market = self.markets.get(v.person.grid[:12])
            if market is None:
                continue
            moment = at(w.today - timedelta(days=rint(rng, 3, 150)), rint(rng, 9 * 60, 17 * 60))
            balance = sum(c.minutes for c in mine.get(i, []) if c.at <= moment)
            hours = min(balance // 60, rint(rng, 5, 30), self.data["charity"]["hours_per_month"])
            if hours >= 1:
                market.at(moment, 2, "convert", (i, hours))

    # Running the events in time order.

    def account(self, market: _Market, household: uuid.UUID, grid: str) -> uuid.UUID:
        account = self.accounts.get(household)
        if account is None:
            account = self.accounts[household] = self.out.add(Account, household_id=household,
                                                              supermarket_id=market.id, grid_code=grid)
            self.lots[account] = []
        return account

    def stock(self, market: _Market, item: int, quantity: int, kind: str, moment: datetime,
              source: uuid.UUID | None) -> None:
        market.on_hand[item] = market.on_hand.get(item, 0) + quantity
        assert market.on_hand[item] >= 0
        self.out.add(StockEntry, supermarket_id=market.id, item_id=self.items[item][0], at=moment, quantity=quantity,
                     kind=kind, source_id=source, recorded_by=None)

    def run(self, market: _Market) -> None:
        rng, out = self.rng, self.out
        events = market.events
        heapq.heapify(events)
        households: dict[uuid.UUID, str] = {}
        while events:
            moment, _order, _n, kind, payload = heapq.heappop(events)
            if kind == "purchase":
                for item, quantity in sorted(payload.items()):
                    self.stock(market, item, quantity, "purchase", moment, None)
            elif kind == "restock":
                for item in range(len(self.items)):
                    held = market.on_hand.get(item, 0)
                    if held < RESTOCK_BELOW:
                        self.stock(market, item, RESTOCK_TO - held + rint(rng, 0, 10), "purchase", moment, None)
            elif kind == "donation":
                self.donate(market, moment, payload)
            elif kind == "stocktake":
                self.stocktake(market, moment)
            elif kind == "issue":
                month, entitled = payload
                self.issue(market, moment, month, entitled, households, events)
            elif kind == "redeem":
                if payload in self.accounts:
                    self.redeem(market, moment, self.accounts[payload])
            elif kind == "expire":
                account, lot = payload
                if lot.remaining > 0:
                    out.add(PointsEntry, account_id=account, at=moment, points=-lot.remaining, kind="expire",
                            lot_id=lot.id, expires_on=None, source_type=None, source_id=None, note=None)
                    lot.remaining = 0
            elif kind == "convert":
                self.convert(market, moment, *payload)

    def donate(self, market: _Market, moment: datetime, donor: str) -> None:
        rng = self.rng
        if rng.random() < 0.15:
            self.out.add(Donation, supermarket_id=market.id, donor_name=donor, kind="money", item_id=None,
                         quantity=None, value_fen=100 * rint(rng, 2, 50) * 100, received_at=moment, recorded_by=None,
                         note=None, idempotency_key=None)
            return
        item = int(rng.random() * len(self.items))
        item_id, _name, _points, value = self.items[item]
        quantity = rint(rng, 3, 20) if value >= 5000 else rint(rng, 10, 60)
        donation = self.out.add(Donation, supermarket_id=market.id, donor_name=donor, kind="goods", item_id=item_id,
                                quantity=quantity, value_fen=quantity * value, received_at=moment, recorded_by=None,
                                note=None, idempotency_key=None)
        self.stock(market, item, quantity, "donation", moment, donation)

    def stocktake(self, market: _Market, moment: datetime) -> None:
        """A count of every item: now and then one is missing (or one too many); the difference is adjusted."""
        rng, out = self.rng, self.out
        take = out.add(Stocktake, supermarket_id=market.id, taken_at=moment, taken_by=None, note="季度盘点")
        for item in range(len(self.items)):
            expected = market.on_hand.get(item, 0)
            counted = expected
            roll = rng.random()
            if roll < 0.06 and expected > 0:
                counted -= rint(rng, 1, min(2, expected))
            elif roll < 0.08:
                counted += 1
            out.add(StocktakeLine, stocktake_id=take, item_id=self.items[item][0], expected=expected, counted=counted)
            if counted != expected:
                self.stock(market, item, counted - expected, "adjustment", moment, take)

    def issue(self, market: _Market, moment: datetime, month: date,
              entitled: dict[uuid.UUID, tuple[str, dict[str, date]]], households: dict[uuid.UUID, str],
              events: list[tuple[datetime, int, int, str, Any]]) -> None:
        """The month's run: every household with a member holding a rule's tag on the 1st gets the sum of those
        rules' points, one lot per validity, expiring at the end of its last month (written off the day after)."""
        out = self.out
        run = out.add(IssueRun, supermarket_id=market.id, month=month, ran_at=moment, households=0, points=0)
        run_row = out.rows[IssueRun][-1]
        for household, (grid, tags) in sorted(entitled.items()):
            lots: dict[date, tuple[int, list[str]]] = {}
            for tag, points, months in self.rules:
                if tag in tags and tags[tag] <= month:
                    expires = _month_end(month, months)
                    total, names = lots.get(expires, (0, []))
                    lots[expires] = (total + points, [*names, tag])
            if not lots:
                continue
            account = self.account(market, household, grid)
            households[household] = grid
            for expires, (points, names) in sorted(lots.items()):
                lot_id = out.ids()
                out.add(PointsEntry, id=lot_id, account_id=account, at=moment, points=points, kind="issue",
                        lot_id=lot_id, expires_on=expires, source_type="issue_run", source_id=run,
                        note=f"{month:%Y-%m} {'+'.join(sorted(names))}")
                lot = _Lot(lot_id, moment, points, expires)
                self.lots[account].append(lot)
                written_off = at(expires + timedelta(days=1), 30)
                if written_off <= self.w.now:
                    market.taken += 1
                    heapq.heappush(events, (written_off, 0, market.taken, "expire", (account, lot)))
                run_row["points"] += points
            run_row["households"] += 1

    def redeem(self, market: _Market, moment: datetime, account: uuid.UUID) -> None:
        """A household at the counter: one to three items it has points for and the shelves hold, paid from its
        oldest valid lots."""
        rng, out = self.rng, self.out
        day = local_day(moment)
        lots = [lot for lot in self.lots[account] if lot.remaining > 0 and (lot.expires is None or lot.expires >= day)]
        balance = sum(lot.remaining for lot in lots)
        wanted: dict[int, int] = {}
        left = balance
        for item in sample(rng, self.indexes, 6):
            points = self.items[item][2]
            quantity = min(2 if rng.random() < 0.3 else 1, market.on_hand.get(item, 0), left // points)
            if quantity <= 0:
                continue
            wanted[item] = quantity
            left -= points * quantity
            if len(wanted) >= rint(rng, 1, 3):
                break
        if not wanted:
            return
        needed = balance - left
        redemption = out.add(Redemption, supermarket_id=market.id, account_id=account, at=moment, points=needed,
                             served_by=None, idempotency_key=None)
        for item, quantity in sorted(wanted.items(), key=lambda kv: self.items[kv[0]][0]):
            out.add(RedemptionLine, redemption_id=redemption, item_id=self.items[item][0], quantity=quantity,
                    points=self.items[item][2] * quantity)
            self.stock(market, item, -quantity, "redemption", moment, redemption)
        for lot in lots:  # oldest first: lots are kept in the order they were made
            if needed == 0:
                break
            part = min(lot.remaining, needed)
            lot.remaining -= part
            needed -= part
            out.add(PointsEntry, account_id=account, at=moment, points=-part, kind="spend", lot_id=lot.id,
                    expires_on=None, source_type="redemption", source_id=redemption, note=None)

    def convert(self, market: _Market, moment: datetime, volunteer: int, hours: int) -> None:
        """Whole hours of a volunteer's balance into a lot of points for their household (a debit of the hours
        and the lot, as charity.points.convert_hours writes them)."""
        v = self.vols[volunteer]
        account = self.account(market, v.person.household, v.person.grid)  # type: ignore[arg-type]
        points = hours * self.rate
        lot_id = self.out.ids()
        self.out.add(PointsEntry, id=lot_id, account_id=account, at=moment, points=points, kind="conversion",
                     lot_id=lot_id, expires_on=None, source_type="volunteer", source_id=v.id, note=f"{hours} h")
        self.lots[account].append(_Lot(lot_id, moment, points, None))
        self.credits.append(Credit(volunteer, moment, -hours * 60, "conversion", "charity_points", lot_id,
                                   f"{hours} h → {points} points"))


def charity(w: World, data: dict[str, Any], cfg: dict[str, Any], vols: list[Vol], credits: list[Credit],
            rng: random.Random, out: Out) -> None:
    c = _Charity(w, data, cfg, vols, credits, rng, out)
    c.setup()
    c.schedule()
    for code in sorted(c.markets):
        c.run(c.markets[code])
