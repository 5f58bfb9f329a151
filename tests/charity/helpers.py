"""A small charity world made through the services: the supermarket of the personas' community, two items, the
allowance and disability rules, and households of grid A with and without entitled members."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiayuan.accounts.roles import Role
from jiayuan.accounts.service import Principal
from jiayuan.charity import service, stock
from jiayuan.charity.models import Item, PointsEntry, StockEntry, Supermarket
from jiayuan.kit.db import uuid7
from jiayuan.kit.scope import Scope
from jiayuan.registry.service import people
from tests.personas import COMMUNITY, GRID_A
from tests.registry.helpers import id_number

LONG_AGO = date(2020, 1, 1)


def staff(community: str = COMMUNITY, role: Role = Role.community_staff) -> Principal:
    """A principal of `role` scoped to `community`, without an account row (services need only the principal)."""
    return Principal(uuid7(), f"t-{role.value}", "测试员", role, community, Scope((community,)))


def beijing(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """A moment on a local day, as UTC."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


@dataclass
class Household:
    id: uuid.UUID
    head_id: uuid.UUID
    number: str
    head_name: str
    id_number: str | None = None


@dataclass
class World:
    who: Principal
    supermarket: Supermarket
    rice: Item
    oil: Item
    households: dict[str, Household] = field(default_factory=dict)


def household(session: Session, who: Principal, name: str, number: str, tags: dict[str, tuple[date, date | None]],
              *, grid: str = GRID_A, serial: int | None = None, members: int = 1,
              birth: str = "19800101") -> Household:
    """A household of `members` people in `grid`; the head holds `tags` (tag → (starts_on, ends_on))."""
    h = people.create_household(session, who, grid, number=number)
    number_id = id_number(serial, birth=birth) if serial is not None else None
    head = people.create_person(session, who, {"name": name, "grid_code": grid, "id_number": number_id})
    people.add_member(session, who, head.id, h.id, "户主", head=True)
    for i in range(1, members):
        other = people.create_person(session, who, {"name": f"{name}家属{i}", "grid_code": grid})
        people.add_member(session, who, other.id, h.id, "子女")
    for tag, (starts, ends) in tags.items():
        people.add_tag(session, who, head.id, tag, starts_on=starts, ends_on=ends)
    return Household(h.id, head.id, number, name, number_id)


def world(session: Session, *, rules: bool = True) -> World:
    who = staff()
    admin = staff("360802", Role.district_admin)
    supermarket = service.create_supermarket(session, who, unit_code=COMMUNITY, name="爱心超市", address="文化路1号")
    tag = uuid.uuid4().hex[:6]
    rice = service.create_item(session, who, name=f"大米{tag}", unit="袋", points=10, category="粮油")
    oil = service.create_item(session, who, name=f"食用油{tag}", unit="瓶", points=30, category="粮油")
    if rules:
        service.put_rule(session, admin, tag="allowance", points=50, valid_months=3)
        service.put_rule(session, admin, tag="disabled", points=20, valid_months=1)
    w = World(who, supermarket, rice, oil)
    w.households["allowance"] = household(session, who, "低保户甲", "9000001", {"allowance": (LONG_AGO, None)},
                                          serial=901, members=3)
    w.households["both"] = household(session, who, "双标户乙", "9000002",
                                     {"allowance": (LONG_AGO, None), "disabled": (LONG_AGO, None)}, serial=902)
    w.households["none"] = household(session, who, "普通户丙", "9000003", {}, serial=903)
    return w


def donate(session: Session, w: World, item: Item, quantity: int, **kw: object) -> None:
    stock.record_donation(session, w.who, w.supermarket.id, kind="goods", donor_name="爱心企业", item_id=item.id,
                          quantity=quantity, value_fen=quantity * 500, **kw)


def points_sum(session: Session, district: str, **where: object) -> int:
    stmt = select(func.coalesce(func.sum(PointsEntry.points), 0)).where(PointsEntry.district_code == district)
    for k, v in where.items():
        stmt = stmt.where(getattr(PointsEntry, k) == v)
    return int(session.scalar(stmt))


def stock_sum(session: Session, supermarket: Supermarket, item: Item) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(StockEntry.quantity), 0)).where(
        StockEntry.district_code == supermarket.district_code, StockEntry.supermarket_id == supermarket.id,
        StockEntry.item_id == item.id)))


def count(session: Session, model: type, **where: object) -> int:
    stmt = select(func.count()).select_from(model)
    for k, v in where.items():
        stmt = stmt.where(getattr(model, k) == v)
    return int(session.scalar(stmt))
