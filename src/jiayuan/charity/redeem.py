"""Redemption at the counter (兑换): a household's points for items, in one transaction — or nothing.

The account row is locked first, then the items' stock rows in item order (SELECT … FOR UPDATE; SQLite's BEGIN
IMMEDIATE already serialises writers); stock and points are read under those locks, checked, and the
redemption, its lines, the stock entries and the points spends (oldest lots first) are written. Two desks
redeeming at once for the same household, or for the last bag of rice, wait for each other: the second reads
what the first wrote, and is refused (409, naming the item or the points) if too little is left."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.accounts.service import Principal
from jiayuan.charity import points as points_
from jiayuan.charity.models import Account, Item, PointsEntry, Redemption, RedemptionLine, Supermarket
from jiayuan.charity.service import MAX_QUANTITY, get_supermarket, whole
from jiayuan.charity.stock import add_entry, lock_stock, on_hand
from jiayuan.kit.clock import local_today
from jiayuan.kit.db import utcnow
from jiayuan.kit.errors import Conflict, Invalid, NotFound
from jiayuan.kit.idempotency import REUSED
from jiayuan.kit.text import clean_text
from jiayuan.registry.service import HouseholdCard
from jiayuan.registry.service import households as registry_households

MAX_LINES = 50


def _wanted(lines: Any) -> dict[uuid.UUID, int]:
    """item id → quantity, from [{"item_id", "quantity"}] (an item given twice is added up)."""
    if not isinstance(lines, list | tuple) or not lines:
        raise Invalid("choose at least one item", field="lines", reason="none_chosen")
    if len(lines) > MAX_LINES:
        raise Invalid(f"at most {MAX_LINES} items in one redemption", field="lines")
    wanted: dict[uuid.UUID, int] = {}
    for i, line in enumerate(lines):
        item_id, quantity = (line.get("item_id"), line.get("quantity")) if isinstance(line, dict) else line
        if not isinstance(item_id, uuid.UUID):
            raise Invalid("no such item", field=f"lines[{i}].item_id")
        wanted[item_id] = wanted.get(item_id, 0) + whole(quantity, f"lines[{i}].quantity", high=MAX_QUANTITY)
    return wanted


def _items(session: Session, district: str, wanted: dict[uuid.UUID, int]) -> dict[uuid.UUID, Item]:
    items = {i.id: i for i in session.scalars(select(Item).where(Item.district_code == district,
                                                                Item.id.in_(list(wanted))))}
    for i, item_id in enumerate(wanted):
        if item_id not in items:
            raise Invalid("no such item", field=f"lines[{i}].item_id")
        if not items[item_id].active:
            raise Invalid(f"{items[item_id].name} is no longer given out", field=f"lines[{i}].item_id")
    return items


def _household(session: Session, supermarket: Supermarket, household_id: uuid.UUID) -> HouseholdCard:
    card = registry_households.household_cards(session, supermarket.district_code, [household_id]).get(household_id)
    if card is None or not card.grid_code.startswith(supermarket.unit_code):
        raise NotFound("no such household in this community", field="household_id")
    return card


def _same(redemption: Redemption, lines: list[RedemptionLine], account: Account,
          wanted: dict[uuid.UUID, int]) -> bool:
    return redemption.account_id == account.id and {ln.item_id: ln.quantity for ln in lines} == wanted


def _by_key(session: Session, district: str, key: str) -> Redemption | None:
    return session.scalar(select(Redemption).where(Redemption.district_code == district,
                                                   Redemption.idempotency_key == key))


def redeem(session: Session, principal: Principal, supermarket_id: uuid.UUID, household_id: uuid.UUID, lines: Any,
           *, idempotency_key: Any = None, now: datetime | None = None) -> tuple[Redemption, bool]:
    """Give a household the items in `lines` for their points. Beyond stock or beyond points is 409 naming which
    (field "items" with each item short, or "points" with the balance and what was needed) and writes nothing.
    With an idempotency key a resubmitted redemption is done once: the same key returns the first (False), and
    the same key for other lines is 422 (idempotency_key_reused)."""
    supermarket = get_supermarket(session, principal, supermarket_id, desk=True)
    if not supermarket.active:
        raise Conflict("this supermarket is closed", field="supermarket_id", reason="closed")
    wanted = _wanted(lines)
    items = _items(session, supermarket.district_code, wanted)
    key = clean_text(idempotency_key, "idempotency_key", 120, nfkc=True)
    card = _household(session, supermarket, household_id)
    now = now or utcnow()
    today = local_today(now)
    district = supermarket.district_code
    account = points_.account_of_household(session, district, card.id)
    if account is None:
        needed = sum(items[i].points * q for i, q in wanted.items())
        raise Conflict(f"not enough points: the balance is 0, {needed} needed", field="points",
                       reason="not_enough", details={"points": {"balance": 0, "needed": needed}})
    if account.supermarket_id != supermarket.id:
        account = points_.ensure_account(session, supermarket, card)  # moved here from another community
    # 1. The account, then 2. the stock rows in item order: every writer takes them in this order.
    account = points_.lock_account(session, district, account.id)
    if key is not None and (earlier := _by_key(session, district, key)) is not None:
        earlier_lines = lines_of(session, earlier)
        if not _same(earlier, earlier_lines, account, wanted):
            raise Invalid("this idempotency key was used for another redemption", field="idempotency_key",
                           reason=REUSED)
        return earlier, False
    lock_stock(session, supermarket, wanted, create=False)
    held = on_hand(session, supermarket, wanted)
    short = [{"item_id": str(i), "name": items[i].name, "unit": items[i].unit, "on_hand": held.get(i, 0),
              "asked": q} for i, q in sorted(wanted.items()) if q > held.get(i, 0)]
    lots = points_.lots_of(session, account)
    balance = sum(lot.remaining for lot in lots if lot.remaining > 0 and lot.valid_on(today))
    needed = sum(items[i].points * q for i, q in wanted.items())
    if short or needed > balance:
        _refuse(short, balance, needed)
    redemption = Redemption(district_code=district, supermarket_id=supermarket.id, account_id=account.id, at=now,
                            points=needed, served_by=principal.user_id, idempotency_key=key)
    session.add(redemption)
    session.flush()
    session.add_all([RedemptionLine(district_code=district, redemption_id=redemption.id, item_id=i, quantity=q,
                                    points=items[i].points * q) for i, q in sorted(wanted.items())])
    for item_id, quantity in sorted(wanted.items()):
        add_entry(session, supermarket, item_id, -quantity, "redemption", source_id=redemption.id, actor=principal,
                  at=now)
    for lot, part in points_.draw(lots, needed, today):
        session.add(PointsEntry(district_code=district, account_id=account.id, at=now, points=-part, kind="spend",
                                lot_id=lot.id, source_type="redemption", source_id=redemption.id))
    session.flush()
    return redemption, True


def _refuse(short: list[dict[str, Any]], balance: int, needed: int) -> None:
    parts, details = [], {}
    if short:
        parts.append("not enough stock of " + ", ".join(
            f"{s['name']} ({s['on_hand']} {s['unit']} on hand, {s['asked']} asked)" for s in short))
        details["items"] = short
    if needed > balance:
        parts.append(f"not enough points: the balance is {balance}, {needed} needed")
        details["points"] = {"balance": balance, "needed": needed}
    raise Conflict("; ".join(parts), field="items" if short else "points", reason="not_enough", details=details)


# --- Receipts and history ------------------------------------------------------------------------------------


def lines_of(session: Session, redemption: Redemption) -> list[RedemptionLine]:
    return list(session.scalars(select(RedemptionLine).where(
        RedemptionLine.district_code == redemption.district_code, RedemptionLine.redemption_id == redemption.id)
        .order_by(RedemptionLine.item_id)))


@dataclass
class ReceiptLine:
    item_id: uuid.UUID
    name: str
    unit: str
    quantity: int
    points: int


@dataclass
class Receipt:
    redemption: Redemption
    supermarket: Supermarket
    household: HouseholdCard
    lines: list[ReceiptLine]
    balance: int  # what the household may spend now
    card: str  # the household's points card (see points.card_token)


def receipt_of(session: Session, supermarket: Supermarket, redemption: Redemption) -> Receipt:
    rows = session.execute(
        select(RedemptionLine, Item.name, Item.unit)
        .join(Item, (Item.district_code == RedemptionLine.district_code) & (Item.id == RedemptionLine.item_id))
        .where(RedemptionLine.district_code == redemption.district_code,
               RedemptionLine.redemption_id == redemption.id).order_by(Item.name))
    account = session.scalar(select(Account).where(Account.district_code == redemption.district_code,
                                                   Account.id == redemption.account_id))
    card = registry_households.household_cards(session, account.district_code, [account.household_id])
    balance = points_.spendable(session, account.district_code, [account.id], local_today())[account.id]
    return Receipt(redemption, supermarket, card[account.household_id],
                   [ReceiptLine(ln.item_id, name, unit, ln.quantity, ln.points) for ln, name, unit in rows], balance,
                   points_.card_token(account))


def get_receipt(session: Session, principal: Principal, supermarket_id: uuid.UUID, redemption_id: uuid.UUID
                ) -> Receipt:
    supermarket = get_supermarket(session, principal, supermarket_id, desk=True)
    redemption = session.scalar(select(Redemption).where(Redemption.district_code == supermarket.district_code,
                                                         Redemption.supermarket_id == supermarket.id,
                                                         Redemption.id == redemption_id))
    if redemption is None:
        raise NotFound("no such redemption", field="redemption_id")
    return receipt_of(session, supermarket, redemption)


def redemptions_of(session: Session, account: Account, limit: int = 20) -> list[tuple[Redemption, list[ReceiptLine]]]:
    """The household's latest redemptions with what they took."""
    found = list(session.scalars(select(Redemption).where(Redemption.district_code == account.district_code,
                                                          Redemption.account_id == account.id)
                                 .order_by(Redemption.at.desc()).limit(limit)))
    if not found:
        return []
    rows = session.execute(
        select(RedemptionLine, Item.name, Item.unit)
        .join(Item, (Item.district_code == RedemptionLine.district_code) & (Item.id == RedemptionLine.item_id))
        .where(RedemptionLine.district_code == account.district_code,
               RedemptionLine.redemption_id.in_([r.id for r in found])).order_by(Item.name))
    by: dict[uuid.UUID, list[ReceiptLine]] = {r.id: [] for r in found}
    for ln, name, unit in rows:
        by[ln.redemption_id].append(ReceiptLine(ln.item_id, name, unit, ln.quantity, ln.points))
    return [(r, by[r.id]) for r in found]
