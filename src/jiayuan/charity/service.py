"""The charity supermarket (爱心慈善超市): who may work at which supermarket, the supermarkets (one per
community), the district's items and its entitlement rules. The ledgers are in stock.py (donations, stock,
stock-takes) and points.py (accounts, monthly issue, expiry, conversion of volunteer hours); the counter in
redeem.py; the reconciliation in reports.py; its part of erasing a person in erasure.py."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jiayuan.accounts import service as accounts
from jiayuan.accounts.service import Principal
from jiayuan.charity import policy
from jiayuan.charity.erasure import erase_person as erase_person  # registered by jiayuan/hooks.py
from jiayuan.charity.models import (
    Account,
    Donation,
    EntitlementRule,
    Item,
    PointsEntry,
    Redemption,
    Supermarket,
)
from jiayuan.kit.errors import Conflict, Invalid, NotFound
from jiayuan.kit.figures import Figure, Within
from jiayuan.kit.i18n import TIMEZONE
from jiayuan.kit.scope import under
from jiayuan.kit.text import clean_text
from jiayuan.registry.models import TAGS
from jiayuan.units import service as units

MAX_POINTS = 100_000
MAX_QUANTITY = 100_000
# Finding a household at the counter by a member's ID number is an exact look-up of a person (registry/people/
# lookups.py): audited with this purpose, the member being at the counter, and counted when it finds no one.
COUNTER_PURPOSE = "慈善超市柜台：凭到场家庭成员的身份证号查找其家庭"
# The first and last days the ledgers deal in: a typing mistake outside them is named, not overflowed.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2999, 12, 31)


# --- Days: "a day" is a local calendar day (Asia/Shanghai); the database keeps UTC --------------------------


def day_start(day: date) -> datetime:
    """The first moment of a local day, in UTC."""
    return datetime.combine(day, time(0), tzinfo=TIMEZONE).astimezone(UTC)


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    """The first of the month `months` after `day`'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_end(month: date, valid_months: int = 1) -> date:
    """The last day of the `valid_months`-th month counting `month` as the first."""
    return add_months(month, valid_months) - timedelta(days=1)


# --- Checks of input shared by the modules --------------------------------------------------------------------


def check_day(value: Any, field: str) -> date:
    if not isinstance(value, date):
        raise Invalid("not a date", field=field, reason="not_a_date")
    if not FIRST_DAY <= value <= LAST_DAY:
        raise Invalid(f"must be between {FIRST_DAY.isoformat()} and {LAST_DAY.isoformat()}", field=field,
                      reason="out_of_range", low=FIRST_DAY.isoformat(), high=LAST_DAY.isoformat())
    return value


def whole(value: Any, field: str, *, low: int = 1, high: int = MAX_QUANTITY) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid("must be a whole number", field=field, reason="not_whole_number")
    if not low <= value <= high:
        raise Invalid(f"must be between {low} and {high}", field=field, reason="out_of_range", low=low,
                      high=high)
    return value


# --- Access ---------------------------------------------------------------------------------------------------


def get_supermarket(session: Session, principal: Principal, supermarket_id: uuid.UUID, *,
                    desk: bool = False) -> Supermarket:
    """A supermarket in the caller's scope (else 404), if their role may do this there (else 403).
    `desk`: serving at the counter, which volunteers may do too."""
    supermarket = session.scalar(select(Supermarket).where(principal.scope.where(Supermarket),
                                                           Supermarket.id == supermarket_id))
    if supermarket is None:
        raise NotFound("no such supermarket", field="supermarket_id")
    policy.require_at_supermarket(principal, desk=desk)
    return supermarket


# --- Supermarkets ---------------------------------------------------------------------------------------------


def list_supermarkets(session: Session, principal: Principal) -> list[Supermarket]:
    """The supermarkets in the caller's scope (a resident has none)."""
    if not policy.serves_at_counter(principal):
        return []
    return list(session.scalars(select(Supermarket).where(principal.scope.where(Supermarket))
                                .order_by(Supermarket.unit_code)))


def supermarket_of_community(session: Session, district: str, community: str) -> Supermarket | None:
    return session.scalar(select(Supermarket).where(Supermarket.district_code == district,
                                                    Supermarket.unit_code == community))


def create_supermarket(session: Session, principal: Principal, *, unit_code: Any, name: Any,
                       address: Any = None) -> Supermarket:
    """Open the supermarket of a community in the caller's scope; a community has one (a second is 409)."""
    policy.require_role(principal, policy.MANAGERS)
    code = units.check_code(unit_code, "unit_code")
    if units.level_of(code) != "community":
        raise Invalid("a supermarket belongs to a community (a 12-digit code)", field="unit_code",
                      reason="not_a_community")
    if not principal.scope.covers(code):
        raise Invalid("this community is outside your scope", field="unit_code", reason="outside_scope")
    if not units.unit_exists(session, code):
        raise Invalid("no such community", field="unit_code")
    row = Supermarket(district_code=code[:6], unit_code=code,
                      name=clean_text(name, "name", 100, nfkc=True, required=True),
                      address=clean_text(address, "address", 200, nfkc=True), active=True)
    if supermarket_of_community(session, code[:6], code) is not None:
        raise Conflict("this community has a charity supermarket already", field="unit_code",
                       reason="supermarket_exists")
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # opened by someone else at the same moment
        raise Conflict("this community has a charity supermarket already", field="unit_code",
                       reason="supermarket_exists") from None
    accounts.audit_for(session, principal, "charity_supermarket_opened", target=str(row.id))
    return row


def update_supermarket(session: Session, principal: Principal, supermarket_id: uuid.UUID,
                       changes: dict[str, Any]) -> Supermarket:
    supermarket = get_supermarket(session, principal, supermarket_id)
    if "name" in changes:
        supermarket.name = clean_text(changes["name"], "name", 100, nfkc=True, required=True)
    if "address" in changes:
        supermarket.address = clean_text(changes["address"], "address", 200, nfkc=True)
    if "active" in changes:
        if not isinstance(changes["active"], bool):
            raise Invalid("must be true or false", field="active")
        supermarket.active = changes["active"]
    session.flush()
    return supermarket


# --- Items (the district's) -----------------------------------------------------------------------------------


def list_items(session: Session, principal: Principal, *, active_only: bool = False) -> list[Item]:
    policy.require_role(principal, policy.DESK)
    stmt = select(Item).where(Item.district_code == principal.district_code)
    if active_only:
        stmt = stmt.where(Item.active.is_(True))
    return list(session.scalars(stmt.order_by(Item.category, Item.name, Item.unit)))


def get_item(session: Session, district: str, item_id: uuid.UUID, field: str = "item_id") -> Item:
    item = session.scalar(select(Item).where(Item.district_code == district, Item.id == item_id))
    if item is None:
        raise Invalid("no such item", field=field)
    return item


def _item_taken(session: Session, district: str, name: str, unit: str, other: uuid.UUID | None) -> bool:
    stmt = select(Item.id).where(Item.district_code == district, Item.name == name, Item.unit == unit)
    if other is not None:
        stmt = stmt.where(Item.id != other)
    return session.scalar(stmt) is not None


def create_item(session: Session, principal: Principal, *, name: Any, unit: Any, points: Any,
                category: Any = None) -> Item:
    """A new kind of goods for the district's supermarkets (staff add one when a donation of it arrives)."""
    policy.require_role(principal, policy.MANAGERS)
    district = principal.district_code
    item = Item(district_code=district, name=clean_text(name, "name", 100, nfkc=True, required=True),
                unit=clean_text(unit, "unit", 10, nfkc=True, required=True),
                points=whole(points, "points", high=MAX_POINTS),
                category=clean_text(category, "category", 40, nfkc=True), active=True)
    if _item_taken(session, district, item.name, item.unit, None):
        raise Conflict("an item with this name and unit exists already", field="name", reason="item_exists")
    try:
        with session.begin_nested():
            session.add(item)
    except IntegrityError:
        raise Conflict("an item with this name and unit exists already", field="name", reason="item_exists") from None
    return item


def update_item(session: Session, principal: Principal, item_id: uuid.UUID, changes: dict[str, Any]) -> Item:
    """Its price and name are the whole district's: only the district administrator changes them."""
    policy.require_role(principal, policy.DISTRICT_EDITORS)
    item = session.scalar(select(Item).where(Item.district_code == principal.district_code, Item.id == item_id))
    if item is None:
        raise NotFound("no such item", field="item_id")
    if "name" in changes:
        item.name = clean_text(changes["name"], "name", 100, nfkc=True, required=True)
    if "unit" in changes:
        item.unit = clean_text(changes["unit"], "unit", 10, nfkc=True, required=True)
    if "points" in changes:
        item.points = whole(changes["points"], "points", high=MAX_POINTS)
    if "category" in changes:
        item.category = clean_text(changes["category"], "category", 40, nfkc=True)
    if "active" in changes:
        if not isinstance(changes["active"], bool):
            raise Invalid("must be true or false", field="active")
        item.active = changes["active"]
    if _item_taken(session, item.district_code, item.name, item.unit, item.id):
        raise Conflict("an item with this name and unit exists already", field="name", reason="item_exists")
    session.flush()
    return item


# --- Entitlement rules (the district's): households with a member holding `tag` get `points` a month ----------


def list_rules(session: Session, principal: Principal) -> list[EntitlementRule]:
    policy.require_role(principal, policy.DESK)
    return list(session.scalars(select(EntitlementRule).where(
        EntitlementRule.district_code == principal.district_code).order_by(EntitlementRule.tag)))


def put_rule(session: Session, principal: Principal, *, tag: Any, points: Any, valid_months: Any = 3,
             active: Any = True) -> EntitlementRule:
    """Set the rule of a registry tag (one per tag and district): create it, or change it from next issue on."""
    policy.require_role(principal, policy.DISTRICT_EDITORS)
    if tag not in TAGS:
        raise Invalid(f"tag must be one of {', '.join(TAGS)}", field="tag")
    points = whole(points, "points", high=MAX_POINTS)
    valid_months = whole(valid_months, "valid_months", high=24)
    if not isinstance(active, bool):
        raise Invalid("must be true or false", field="active")
    district = principal.district_code
    rule = session.scalar(select(EntitlementRule).where(EntitlementRule.district_code == district,
                                                        EntitlementRule.tag == tag))
    if rule is None:
        rule = EntitlementRule(district_code=district, tag=tag)
        session.add(rule)
    rule.points, rule.valid_months, rule.active = points, valid_months, active
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict("this rule was changed by someone else at the same moment; reload", field="tag") from None
    accounts.audit_for(session, principal, "charity_rule_set", target=tag,
                       detail={"points": points, "valid_months": valid_months, "active": active})
    return rule


# --- Figures for stats ----------------------------------------------------------------------------------------

# How each kind of points entry is reported: issues and conversions add, spends and expiries take away.
POINT_FIGURES = {"issue": "points.issued", "conversion": "points.converted", "spend": "points.spent",
                 "expire": "points.expired", "adjustment": "points.adjusted"}
NEGATIVE = frozenset({"spend", "expire"})


def figures(session: Session, within: Within, since: datetime, until: datetime) -> list[Figure]:
    """Donations in [since, until) to the supermarkets of the unit's communities; the points of the households
    living in it (by their account's grid) and their redemptions. `within` selects the unit (kit/figures.py)."""
    out: list[Figure] = []
    rows = session.execute(
        select(Supermarket.unit_code, Donation.kind, func.count(), func.sum(Donation.value_fen),
               func.sum(Donation.quantity))
        .join(Supermarket, and_(Supermarket.district_code == Donation.district_code,
                                Supermarket.id == Donation.supermarket_id))
        .where(within(Supermarket.unit_code, Supermarket.district_code), Donation.received_at >= since,
               Donation.received_at < until)
        .group_by(Supermarket.unit_code, Donation.kind))
    for unit, kind, n, value, quantity in rows:
        out.append(Figure(unit, "donations.count", n))
        if kind == "money":
            out += [Figure(unit, "donations.money", n), Figure(unit, "donations.money_fen", value)]
        else:
            out += [Figure(unit, "donations.goods", n), Figure(unit, "donations.goods_value_fen", value),
                    Figure(unit, "donations.goods_quantity", quantity)]
    account = and_(Account.district_code == PointsEntry.district_code, Account.id == PointsEntry.account_id)
    points = session.execute(
        select(Account.grid_code, PointsEntry.kind, func.sum(PointsEntry.points))
        .join(Account, account)
        .where(within(Account.grid_code, Account.district_code), PointsEntry.at >= since, PointsEntry.at < until)
        .group_by(Account.grid_code, PointsEntry.kind))
    for grid, kind, total in points:
        if kind in POINT_FIGURES:
            out.append(Figure(grid, POINT_FIGURES[kind], -total if kind in NEGATIVE else total))
    redemptions = session.execute(
        select(Account.grid_code, func.count(), func.count(Redemption.account_id.distinct()))
        .join(Account, and_(Account.district_code == Redemption.district_code, Account.id == Redemption.account_id))
        .where(within(Account.grid_code, Account.district_code), Redemption.at >= since, Redemption.at < until)
        .group_by(Account.grid_code))
    # A household has one account, in one grid: distinct accounts per grid add up exactly.
    for grid, n, households in redemptions:
        out += [Figure(grid, "points.redemptions", n), Figure(grid, "points.households_redeeming", households)]
    return out


def supermarkets_under(session: Session, code: str) -> dict[str, uuid.UUID]:
    """The charity supermarket of each community under the unit `code` (or above it, for a grid): community →
    id, for the links to their lists (no scope: the caller has already been allowed to see the unit)."""
    community = code[:12] if len(code) >= 12 else code
    return dict(session.execute(select(Supermarket.unit_code, Supermarket.id).where(
        under(Supermarket.unit_code, community, Supermarket.district_code))).all())
