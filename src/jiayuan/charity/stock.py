"""Stock of a supermarket: donations (in kind and in money), purchases, the append-only stock ledger per item and
stock-takes that turn each counted difference into one adjustment entry.

Every write of a stock entry first locks the item's `charity_stock` row (SELECT … FOR UPDATE; on SQLite the
transaction's BEGIN IMMEDIATE serialises writers already), so that on hand read after the lock is the truth until
the entry is written: a stock-take never misses a donation written at the same moment, and a redemption never
gives the last item twice. Rows are always locked in item order, so two writers cannot wait on each other."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jiayuan.accounts.service import Principal
from jiayuan.charity.models import Donation, Item, Stock, StockEntry, Stocktake, StocktakeLine, Supermarket
from jiayuan.charity.service import FIRST_DAY, MAX_QUANTITY, get_item, get_supermarket, whole
from jiayuan.kit.db import utcnow
from jiayuan.kit.errors import Conflict, Invalid
from jiayuan.kit.idempotency import REUSED
from jiayuan.kit.text import clean_text

ANONYMOUS_DONOR = "爱心人士"  # how a donor who gives no name is written, as the supermarkets' boards say
MAX_VALUE_FEN = 100_000_000  # one million yuan
MAX_LINES = 200


# --- The ledger ----------------------------------------------------------------------------------------------


def lock_stock(session: Session, supermarket: Supermarket, item_ids: Iterable[uuid.UUID], *,
               create: bool) -> dict[uuid.UUID, Stock]:
    """The stock rows of these items, locked in item order; with `create`, rows missing are made first (an item
    a supermarket never had). Without it a missing row is simply absent: nothing of that item is on hand."""
    ids = sorted(set(item_ids))
    if not ids:
        return {}
    where = (Stock.district_code == supermarket.district_code, Stock.supermarket_id == supermarket.id)
    if create:
        have = set(session.scalars(select(Stock.item_id).where(*where, Stock.item_id.in_(ids))))
        for item_id in ids:
            if item_id in have:
                continue
            try:
                with session.begin_nested():
                    session.add(Stock(district_code=supermarket.district_code, supermarket_id=supermarket.id,
                                      item_id=item_id))
            except IntegrityError:
                pass  # made by a writer at the same moment; locked below all the same
    rows = session.scalars(select(Stock).where(*where, Stock.item_id.in_(ids)).order_by(Stock.item_id)
                           .with_for_update())
    return {row.item_id: row for row in rows}


def on_hand(session: Session, supermarket: Supermarket, item_ids: Iterable[uuid.UUID] | None = None
            ) -> dict[uuid.UUID, int]:
    """item id → quantity on hand (the sum of its entries) at this supermarket."""
    stmt = (select(StockEntry.item_id, func.sum(StockEntry.quantity))
            .where(StockEntry.district_code == supermarket.district_code,
                   StockEntry.supermarket_id == supermarket.id).group_by(StockEntry.item_id))
    if item_ids is not None:
        stmt = stmt.where(StockEntry.item_id.in_(list(set(item_ids))))
    return {item_id: int(total or 0) for item_id, total in session.execute(stmt)}


def add_entry(session: Session, supermarket: Supermarket, item_id: uuid.UUID, quantity: int, kind: str, *,
              source_id: uuid.UUID | None, actor: Principal | None, at: datetime | None = None) -> StockEntry:
    """Append one movement; the caller holds the item's stock row locked and has checked on hand stays ≥ 0."""
    entry = StockEntry(district_code=supermarket.district_code, supermarket_id=supermarket.id, item_id=item_id,
                       quantity=quantity, kind=kind, source_id=source_id, at=at or utcnow(),
                       recorded_by=actor.user_id if actor else None)
    session.add(entry)
    return entry


@dataclass
class Level:
    item: Item
    on_hand: int


def stock_levels(session: Session, principal: Principal, supermarket_id: uuid.UUID, *,
                 include_empty: bool = True) -> list[Level]:
    """Every active item of the district with what this supermarket has of it (and inactive ones still held)."""
    supermarket = get_supermarket(session, principal, supermarket_id, desk=True)
    held = on_hand(session, supermarket)
    items = session.scalars(select(Item).where(Item.district_code == supermarket.district_code)
                            .order_by(Item.category, Item.name, Item.unit))
    levels = [Level(item, held.get(item.id, 0)) for item in items if item.active or held.get(item.id, 0)]
    return [lv for lv in levels if include_empty or lv.on_hand > 0]


@dataclass
class LedgerRow:
    entry: StockEntry
    item_name: str
    item_unit: str


def stock_ledger(session: Session, principal: Principal, supermarket_id: uuid.UUID, *,
                 item_id: uuid.UUID | None = None, limit: int = 100, offset: int = 0) -> tuple[list[LedgerRow], int]:
    """The supermarket's stock entries, newest first (of one item if given), and how many there are."""
    supermarket = get_supermarket(session, principal, supermarket_id, desk=True)
    where = [StockEntry.district_code == supermarket.district_code, StockEntry.supermarket_id == supermarket.id]
    if item_id is not None:
        where.append(StockEntry.item_id == item_id)
    total = session.scalar(select(func.count()).select_from(StockEntry).where(*where)) or 0
    rows = session.execute(
        select(StockEntry, Item.name, Item.unit)
        .join(Item, (Item.district_code == StockEntry.district_code) & (Item.id == StockEntry.item_id))
        .where(*where).order_by(StockEntry.at.desc(), StockEntry.id.desc()).limit(limit).offset(offset))
    return [LedgerRow(e, name, unit) for e, name, unit in rows], total


# --- Donations and purchases ---------------------------------------------------------------------------------


def _same_donation(d: Donation, supermarket: Supermarket, fields: dict[str, Any]) -> bool:
    return (d.supermarket_id == supermarket.id and d.kind == fields["kind"] and d.item_id == fields["item_id"]
            and d.quantity == fields["quantity"] and d.value_fen == fields["value_fen"]
            and d.donor_name == fields["donor_name"])


def _by_key(session: Session, district: str, key: str) -> Donation | None:
    return session.scalar(select(Donation).where(Donation.district_code == district,
                                                 Donation.idempotency_key == key))


def record_donation(session: Session, principal: Principal, supermarket_id: uuid.UUID, *, kind: Any,
                    donor_name: Any = None, item_id: uuid.UUID | None = None, quantity: Any = None,
                    value_fen: Any = 0, note: Any = None, received_at: datetime | None = None,
                    idempotency_key: Any = None) -> tuple[Donation, bool]:
    """A gift received at the desk: goods (an item and quantity, with their value) add a stock entry; money is
    recorded for the report. With an idempotency key a retried donation is recorded once: the same key again
    returns the first (False: not created anew), a key reused for a different gift is 422 (idempotency_key_reused)."""
    supermarket = get_supermarket(session, principal, supermarket_id, desk=True)
    if not supermarket.active:
        raise Conflict("this supermarket is closed", field="supermarket_id", reason="closed")
    if kind not in ("goods", "money"):
        raise Invalid("kind must be goods or money", field="kind")
    fields: dict[str, Any] = {"kind": kind,
                              "donor_name": clean_text(donor_name, "donor_name", 100, nfkc=True)
                              or ANONYMOUS_DONOR}
    if kind == "goods":
        if item_id is None:
            raise Invalid("item_id is required", field="item_id", reason="required")
        item = get_item(session, supermarket.district_code, item_id)
        if not item.active:
            raise Invalid("this item is no longer given out", field="item_id")
        fields.update(item_id=item.id, quantity=whole(quantity, "quantity"),
                      value_fen=whole(value_fen, "value_fen", low=0, high=MAX_VALUE_FEN))
    else:
        if item_id is not None or quantity is not None:
            raise Invalid("a gift of money has no item or quantity", field="item_id")
        fields.update(item_id=None, quantity=None, value_fen=whole(value_fen, "value_fen", high=MAX_VALUE_FEN))
    now = utcnow()
    if received_at is not None and received_at > now:
        raise Invalid("the time received is in the future", field="received_at")
    if received_at is not None and received_at.date() < FIRST_DAY:
        raise Invalid(f"must be after {FIRST_DAY.isoformat()}", field="received_at")
    key = clean_text(idempotency_key, "idempotency_key", 120, nfkc=True)
    if key is not None and (earlier := _by_key(session, supermarket.district_code, key)) is not None:
        return _replayed(earlier, supermarket, fields)
    if kind == "goods":
        lock_stock(session, supermarket, [fields["item_id"]], create=True)
    donation = Donation(district_code=supermarket.district_code, supermarket_id=supermarket.id,
                        received_at=received_at or now, recorded_by=principal.user_id,
                        note=clean_text(note, "note", 200, nfkc=True), idempotency_key=key, **fields)
    try:
        with session.begin_nested():
            session.add(donation)
    except IntegrityError:  # the same key at the same moment: the other one was recorded
        earlier = _by_key(session, supermarket.district_code, key) if key else None
        if earlier is None:
            raise
        return _replayed(earlier, supermarket, fields)
    if kind == "goods":
        add_entry(session, supermarket, donation.item_id, donation.quantity, "donation", source_id=donation.id,
                  actor=principal, at=donation.received_at)
    session.flush()
    return donation, True


def _replayed(earlier: Donation, supermarket: Supermarket, fields: dict[str, Any]) -> tuple[Donation, bool]:
    if not _same_donation(earlier, supermarket, fields):
        raise Invalid("this idempotency key was used for another donation", field="idempotency_key",
                       reason=REUSED)
    return earlier, False


def list_donations(session: Session, principal: Principal, supermarket_id: uuid.UUID, *, limit: int = 100,
                   offset: int = 0) -> list[tuple[Donation, str | None]]:
    """Donations, newest first, each with its item's name."""
    supermarket = get_supermarket(session, principal, supermarket_id, desk=True)
    rows = session.execute(
        select(Donation, Item.name).outerjoin(Item, (Item.district_code == Donation.district_code)
                                              & (Item.id == Donation.item_id))
        .where(Donation.district_code == supermarket.district_code, Donation.supermarket_id == supermarket.id)
        .order_by(Donation.received_at.desc(), Donation.id.desc()).limit(limit).offset(offset))
    return [(d, name) for d, name in rows]


def record_purchase(session: Session, principal: Principal, supermarket_id: uuid.UUID, *, item_id: uuid.UUID,
                    quantity: Any) -> StockEntry:
    """Goods bought (with money given) and put on the shelves."""
    supermarket = get_supermarket(session, principal, supermarket_id)
    item = get_item(session, supermarket.district_code, item_id)
    amount = whole(quantity, "quantity")
    lock_stock(session, supermarket, [item.id], create=True)
    entry = add_entry(session, supermarket, item.id, amount, "purchase", source_id=None, actor=principal)
    session.flush()
    return entry


# --- Stock-takes ---------------------------------------------------------------------------------------------


def _count_lines(lines: Any) -> dict[uuid.UUID, int]:
    if not isinstance(lines, list | tuple) or not lines:
        raise Invalid("count at least one item", field="lines", reason="none_counted")
    if len(lines) > MAX_LINES:
        raise Invalid(f"at most {MAX_LINES} items in one stock-take", field="lines")
    counted: dict[uuid.UUID, int] = {}
    for i, line in enumerate(lines):
        item_id, number = (line.get("item_id"), line.get("counted")) if isinstance(line, dict) else line
        if not isinstance(item_id, uuid.UUID):
            raise Invalid("no such item", field=f"lines[{i}].item_id")
        if item_id in counted:
            raise Invalid("this item is counted twice", field=f"lines[{i}].item_id")
        counted[item_id] = whole(number, f"lines[{i}].counted", low=0, high=MAX_QUANTITY)
    return counted


def take_stock(session: Session, principal: Principal, supermarket_id: uuid.UUID, lines: Any, *,
               note: Any = None) -> tuple[Stocktake, list[StocktakeLine]]:
    """Record what was counted on the shelves: each item's difference from the ledger becomes one adjustment
    entry, so that on hand equals the count afterwards. Items not counted are left as they are."""
    supermarket = get_supermarket(session, principal, supermarket_id)
    counted = _count_lines(lines)
    items = {i.id: i for i in session.scalars(select(Item).where(Item.district_code == supermarket.district_code,
                                                                Item.id.in_(list(counted))))}
    for i, item_id in enumerate(counted):
        if item_id not in items:
            raise Invalid("no such item", field=f"lines[{i}].item_id")
    lock_stock(session, supermarket, counted, create=True)
    expected = on_hand(session, supermarket, counted)
    take = Stocktake(district_code=supermarket.district_code, supermarket_id=supermarket.id, taken_at=utcnow(),
                     taken_by=principal.user_id, note=clean_text(note, "note", 2000, nfkc=True))
    session.add(take)
    session.flush()
    rows = []
    for item_id in sorted(counted):
        line = StocktakeLine(district_code=take.district_code, stocktake_id=take.id, item_id=item_id,
                             expected=expected.get(item_id, 0), counted=counted[item_id])
        rows.append(line)
        if line.counted != line.expected:
            add_entry(session, supermarket, item_id, line.counted - line.expected, "adjustment",
                      source_id=take.id, actor=principal, at=take.taken_at)
    session.add_all(rows)
    session.flush()
    return take, rows


def list_stocktakes(session: Session, principal: Principal, supermarket_id: uuid.UUID, limit: int = 20
                    ) -> list[tuple[Stocktake, int, int]]:
    """Recent stock-takes with how many items were counted and how many differed."""
    supermarket = get_supermarket(session, principal, supermarket_id, desk=True)
    differed = func.sum(func.abs(StocktakeLine.counted - StocktakeLine.expected))
    rows = session.execute(
        select(Stocktake, func.count(StocktakeLine.id), func.coalesce(differed, 0))
        .outerjoin(StocktakeLine, (StocktakeLine.district_code == Stocktake.district_code)
                   & (StocktakeLine.stocktake_id == Stocktake.id))
        .where(Stocktake.district_code == supermarket.district_code, Stocktake.supermarket_id == supermarket.id)
        .group_by(Stocktake.district_code, Stocktake.id).order_by(Stocktake.taken_at.desc()).limit(limit))
    return [(t, int(n), int(d)) for t, n, d in rows]
