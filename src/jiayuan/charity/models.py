"""Tables of the charity supermarket (爱心慈善超市), one per community: donations, the stock ledger, stock-takes,
points for entitled households (issued monthly by a rule per registry tag, with expiry), redemptions at the counter.

Both ledgers are append-only. Stock: every receipt (+), gift (−) and stock-take adjustment (±) is a row of
`charity_stock_entries`. Points: every issue (+), spend (−), expiry (−) and conversion of volunteer hours (+) is a
row of `charity_points`; points come in lots (each issue or conversion is a lot, its own id as `lot_id`) and a spend
or expiry names the lot it draws on, oldest first, so that what expires is exactly what was not spent. The
`charity_accounts` and `charity_stock` rows hold no balance: they are what a redemption locks (SELECT … FOR UPDATE),
so that two redemptions at once cannot both spend the same points or the last item.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Boolean, Date, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from jiayuan.kit.db import Base, CodeString, Tenant, Timestamped, UtcDateTime, tenant_fk, utcnow

STOCK_KINDS = ("donation", "redemption", "adjustment", "purchase")
POINT_KINDS = ("issue", "spend", "expire", "conversion", "adjustment")


class Supermarket(Tenant, Timestamped, Base):
    """The charity supermarket of a community."""

    __tablename__ = "charity_supermarkets"
    __scope_column__ = "unit_code"

    unit_code: Mapped[str] = mapped_column(CodeString)  # the community
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (UniqueConstraint("district_code", "unit_code"),)


class Item(Tenant, Timestamped, Base):
    """Something the supermarkets give out, with its price in points (per district)."""

    __tablename__ = "charity_items"

    name: Mapped[str] = mapped_column(String(100))
    unit: Mapped[str] = mapped_column(String(10))  # 袋, 瓶, 件 …
    points: Mapped[int] = mapped_column(Integer)
    category: Mapped[str | None] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (UniqueConstraint("district_code", "name", "unit"),)


class Stock(Tenant, Base):
    """The lock row of one item in one supermarket (no balance: on hand is the sum of its entries)."""

    __tablename__ = "charity_stock"

    supermarket_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    item_id: Mapped[uuid.UUID] = mapped_column(Uuid)

    __table_args__ = (
        tenant_fk(["supermarket_id"], "charity_supermarkets"),
        tenant_fk(["item_id"], "charity_items"),
        UniqueConstraint("district_code", "supermarket_id", "item_id"),
    )


class Donation(Tenant, Base):
    """A gift to a supermarket: in kind (an item and quantity, with its value) or in money."""

    __tablename__ = "charity_donations"

    supermarket_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    donor_name: Mapped[str] = mapped_column(String(100))  # a person, a company, or 爱心人士 (anonymous)
    kind: Mapped[str] = mapped_column(String(6))  # goods | money
    item_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    quantity: Mapped[int | None] = mapped_column(Integer)
    value_fen: Mapped[int] = mapped_column(Integer)  # the goods' value, or the money given
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    note: Mapped[str | None] = mapped_column(String(200))
    idempotency_key: Mapped[str | None] = mapped_column(String(120))

    __table_args__ = (
        tenant_fk(["supermarket_id"], "charity_supermarkets"),
        tenant_fk(["item_id"], "charity_items"),
        UniqueConstraint("district_code", "idempotency_key"),
        Index("ix_charity_donations_district_code_supermarket_id_received_at", "district_code", "supermarket_id",
              "received_at"),
    )


class StockEntry(Tenant, Base):
    """One movement of stock (+ in, − out). Never updated."""

    __tablename__ = "charity_stock_entries"

    supermarket_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    item_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    quantity: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(12))
    source_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # the donation, redemption or stock-take
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)

    __table_args__ = (
        tenant_fk(["supermarket_id"], "charity_supermarkets"),
        tenant_fk(["item_id"], "charity_items"),
        Index("ix_charity_stock_entries_district_code_supermarket_id_item_id", "district_code", "supermarket_id",
              "item_id"),
    )


class Stocktake(Tenant, Base):
    """A count of the shelves: each line's difference from the ledger becomes an adjustment entry."""

    __tablename__ = "charity_stocktakes"

    supermarket_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    taken_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    taken_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (tenant_fk(["supermarket_id"], "charity_supermarkets"),)


class StocktakeLine(Tenant, Base):
    __tablename__ = "charity_stocktake_lines"

    stocktake_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    item_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    expected: Mapped[int] = mapped_column(Integer)  # on hand by the ledger at the count
    counted: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        tenant_fk(["stocktake_id"], "charity_stocktakes", ondelete="CASCADE"),
        tenant_fk(["item_id"], "charity_items"),
        UniqueConstraint("district_code", "stocktake_id", "item_id"),
    )


class EntitlementRule(Tenant, Timestamped, Base):
    """Households with a member holding `tag` receive `points` each month, valid for `valid_months`."""

    __tablename__ = "charity_rules"

    tag: Mapped[str] = mapped_column(String(20))
    points: Mapped[int] = mapped_column(Integer)
    valid_months: Mapped[int] = mapped_column(Integer, default=3)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (UniqueConstraint("district_code", "tag"),)


class Account(Tenant, Base):
    """The points account of a registry household at its community's supermarket (the lock row; no balance)."""

    __tablename__ = "charity_accounts"
    __scope_column__ = "grid_code"

    household_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    supermarket_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    grid_code: Mapped[str] = mapped_column(CodeString)  # the household's grid, for scope

    __table_args__ = (
        tenant_fk(["household_id"], "households"),
        tenant_fk(["supermarket_id"], "charity_supermarkets"),
        UniqueConstraint("district_code", "household_id"),
    )


class IssueRun(Tenant, Base):
    """A month's issue of points at a supermarket: recorded once, so that running it again gives nothing twice."""

    __tablename__ = "charity_issue_runs"

    supermarket_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    month: Mapped[date] = mapped_column(Date)  # the first day of the month
    ran_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    households: Mapped[int] = mapped_column(Integer, default=0)
    points: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        tenant_fk(["supermarket_id"], "charity_supermarkets"),
        UniqueConstraint("district_code", "supermarket_id", "month"),
    )


class PointsEntry(Tenant, Base):
    """One movement of a household's points. Issues and conversions open a lot; spends and expiries draw on one."""

    __tablename__ = "charity_points"

    account_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    points: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(12))
    lot_id: Mapped[uuid.UUID] = mapped_column(Uuid)  # the issue or conversion entry this belongs to
    expires_on: Mapped[date | None] = mapped_column(Date)  # on lots
    source_type: Mapped[str | None] = mapped_column(String(20))  # issue_run, redemption, volunteer_hours …
    source_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    note: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        tenant_fk(["account_id"], "charity_accounts"),
        Index("ix_charity_points_district_code_account_id_lot_id", "district_code", "account_id", "lot_id"),
        Index("ix_charity_points_district_code_kind_expires_on", "district_code", "kind", "expires_on"),
    )


class Redemption(Tenant, Base):
    """Points exchanged for items at the counter, in one transaction with its stock and points entries."""

    __tablename__ = "charity_redemptions"

    supermarket_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    points: Mapped[int] = mapped_column(Integer)
    served_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    idempotency_key: Mapped[str | None] = mapped_column(String(120))

    __table_args__ = (
        tenant_fk(["supermarket_id"], "charity_supermarkets"),
        tenant_fk(["account_id"], "charity_accounts"),
        UniqueConstraint("district_code", "idempotency_key"),
    )


class RedemptionLine(Tenant, Base):
    __tablename__ = "charity_redemption_lines"

    redemption_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    item_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    quantity: Mapped[int] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(Integer)  # for the line: quantity × the item's points then

    __table_args__ = (
        tenant_fk(["redemption_id"], "charity_redemptions", ondelete="CASCADE"),
        tenant_fk(["item_id"], "charity_items"),
    )
