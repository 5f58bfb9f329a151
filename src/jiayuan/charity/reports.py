"""Reconciliation of a supermarket over a period (local days, both included): the stock ledger per item and the
points ledger of its households, each balanced two ways — the flows against the closing sums, and the ledger
against the papers it was written from (donations received, redemptions given) — and its Excel export.

Stock, per item: opening + received − given − adjusted = on hand at the end, where received is donations and
purchases, given is redemptions and adjusted is what stock-takes wrote off (negative when they found more).
Points: opening + issued + converted − spent − expired = the sum of the households' balances at the end (from
an empty start: issued + converted − spent − expired = balances)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiayuan.accounts.service import Principal
from jiayuan.charity.models import (
    Account,
    Donation,
    Item,
    PointsEntry,
    Redemption,
    RedemptionLine,
    StockEntry,
)
from jiayuan.charity.service import check_day, day_start, get_supermarket
from jiayuan.kit import excel
from jiayuan.kit.errors import Invalid

MAX_DAYS = 3660


@dataclass
class StockLine:
    item_id: uuid.UUID
    name: str
    unit: str
    opening: int = 0
    donated: int = 0
    purchased: int = 0
    given: int = 0
    adjusted: int = 0  # written off by stock-takes (negative: found more than the ledger said)
    closing: int = 0  # the sum of the ledger at the end, read on its own
    donations_received: int = 0  # from the donations themselves
    redemptions_given: int = 0  # from the redemptions' lines

    @property
    def received(self) -> int:
        return self.donated + self.purchased

    @property
    def balanced(self) -> bool:
        return (self.opening + self.received - self.given - self.adjusted == self.closing
                and self.donated == self.donations_received and self.given == self.redemptions_given)


@dataclass
class PointsSummary:
    opening: int = 0
    issued: int = 0
    converted: int = 0
    spent: int = 0
    expired: int = 0
    adjusted: int = 0  # hand corrections (none are written today; counted should any appear)
    closing: int = 0  # the sum of the ledger at the end
    balances: int = 0  # the households' balances at the end, added up one by one
    accounts: int = 0  # households with an account holding points at the end
    redemptions_points: int = 0  # from the redemptions themselves
    redemptions: int = 0

    @property
    def balanced(self) -> bool:
        return (self.opening + self.issued + self.converted - self.spent - self.expired + self.adjusted
                == self.closing == self.balances and self.spent == self.redemptions_points)


@dataclass
class Report:
    supermarket_id: uuid.UUID
    name: str
    unit_code: str
    start: date
    end: date
    stock: list[StockLine] = field(default_factory=list)
    points: PointsSummary = field(default_factory=PointsSummary)
    goods_donations: int = 0
    goods_value_fen: int = 0
    money_donations: int = 0
    money_fen: int = 0

    @property
    def stock_balanced(self) -> bool:
        return all(line.balanced for line in self.stock)

    @property
    def balanced(self) -> bool:
        return self.stock_balanced and self.points.balanced

    def stock_total(self, attr: str) -> int:
        return sum(getattr(line, attr) for line in self.stock)


def check_period(start: Any, end: Any) -> tuple[date, date]:
    start, end = check_day(start, "start"), check_day(end, "end")
    if end < start:
        raise Invalid("the end is before the start", field="end", reason="end_before_start")
    if (end - start).days > MAX_DAYS:
        raise Invalid(f"at most {MAX_DAYS} days", field="end")
    return start, end


def reconcile(session: Session, principal: Principal, supermarket_id: uuid.UUID, start: Any, end: Any) -> Report:
    """The supermarket's report for [start, end] (local days)."""
    supermarket = get_supermarket(session, principal, supermarket_id, desk=True)
    start, end = check_period(start, end)
    since, until = day_start(start), day_start(end + timedelta(days=1))
    district, sid = supermarket.district_code, supermarket.id
    report = Report(sid, supermarket.name, supermarket.unit_code, start, end)

    # Stock: the ledger before, within and up to the end of the period, and the papers behind it.
    here = (StockEntry.district_code == district, StockEntry.supermarket_id == sid)
    lines: dict[uuid.UUID, StockLine] = {}
    items = {i.id: i for i in session.scalars(select(Item).where(Item.district_code == district))}

    def line(item_id: uuid.UUID) -> StockLine:
        if item_id not in lines:
            item = items[item_id]
            lines[item_id] = StockLine(item_id, item.name, item.unit)
        return lines[item_id]

    total = func.coalesce(func.sum(StockEntry.quantity), 0)
    for item_id, amount in session.execute(select(StockEntry.item_id, total).where(*here, StockEntry.at < since)
                                           .group_by(StockEntry.item_id)):
        line(item_id).opening = int(amount)
    for item_id, amount in session.execute(select(StockEntry.item_id, total).where(*here, StockEntry.at < until)
                                           .group_by(StockEntry.item_id)):
        line(item_id).closing = int(amount)
    for item_id, kind, amount in session.execute(
            select(StockEntry.item_id, StockEntry.kind, total)
            .where(*here, StockEntry.at >= since, StockEntry.at < until).group_by(StockEntry.item_id, StockEntry.kind)):
        row, amount = line(item_id), int(amount)
        if kind == "donation":
            row.donated += amount
        elif kind == "purchase":
            row.purchased += amount
        elif kind == "redemption":
            row.given -= amount
        else:
            row.adjusted -= amount
    donated = (Donation.district_code == district, Donation.supermarket_id == sid, Donation.received_at >= since,
               Donation.received_at < until)
    for item_id, amount in session.execute(select(Donation.item_id, func.sum(Donation.quantity))
                                           .where(*donated, Donation.kind == "goods").group_by(Donation.item_id)):
        line(item_id).donations_received = int(amount or 0)
    for kind, count, value in session.execute(select(Donation.kind, func.count(), func.sum(Donation.value_fen))
                                              .where(*donated).group_by(Donation.kind)):
        if kind == "goods":
            report.goods_donations, report.goods_value_fen = int(count), int(value or 0)
        else:
            report.money_donations, report.money_fen = int(count), int(value or 0)
    redeemed = (Redemption.district_code == district, Redemption.supermarket_id == sid, Redemption.at >= since,
                Redemption.at < until)
    for item_id, amount in session.execute(
            select(RedemptionLine.item_id, func.sum(RedemptionLine.quantity))
            .join(Redemption, (Redemption.district_code == RedemptionLine.district_code)
                  & (Redemption.id == RedemptionLine.redemption_id))
            .where(*redeemed).group_by(RedemptionLine.item_id)):
        line(item_id).redemptions_given = int(amount or 0)
    report.stock = sorted(lines.values(), key=lambda s: (s.name, s.unit))

    # Points of the households whose accounts are at this supermarket.
    p = report.points
    mine = (PointsEntry.district_code == district, Account.supermarket_id == sid)
    joined = select().select_from(PointsEntry).join(
        Account, (Account.district_code == PointsEntry.district_code) & (Account.id == PointsEntry.account_id))
    points = func.coalesce(func.sum(PointsEntry.points), 0)
    p.opening = int(session.scalar(joined.add_columns(points).where(*mine, PointsEntry.at < since)) or 0)
    p.closing = int(session.scalar(joined.add_columns(points).where(*mine, PointsEntry.at < until)) or 0)
    for kind, amount in session.execute(joined.add_columns(PointsEntry.kind, points)
                                        .where(*mine, PointsEntry.at >= since, PointsEntry.at < until)
                                        .group_by(PointsEntry.kind)):
        amount = int(amount)
        if kind == "issue":
            p.issued = amount
        elif kind == "conversion":
            p.converted = amount
        elif kind == "spend":
            p.spent = -amount
        elif kind == "expire":
            p.expired = -amount
        else:
            p.adjusted += amount
    balances = [int(b) for (b,) in session.execute(joined.add_columns(points).where(*mine, PointsEntry.at < until)
                                                   .group_by(PointsEntry.account_id))]
    p.balances, p.accounts = sum(balances), sum(1 for b in balances if b)
    p.redemptions, p.redemptions_points = (int(v or 0) for v in session.execute(
        select(func.count(), func.sum(Redemption.points)).where(*redeemed)).one())
    return report


# --- Excel ---------------------------------------------------------------------------------------------------

STOCK_COLUMNS = [excel.Column("name", "物品", width=18), excel.Column("unit", "单位", width=8),
                 excel.Column("opening", "期初库存"), excel.Column("donated", "捐赠入库"),
                 excel.Column("purchased", "采购入库"), excel.Column("given", "兑换发放"),
                 excel.Column("adjusted", "盘点核减"), excel.Column("closing", "期末库存"),
                 excel.Column("donations", "捐赠登记数量"), excel.Column("redemptions", "兑换单数量"),
                 excel.Column("balanced", "是否平衡")]
POINTS_COLUMNS = [excel.Column("what", "项目", width=24), excel.Column("points", "积分", width=14)]


def _yes(ok: bool) -> str:
    return "平衡" if ok else "不平衡"


def export_report(report: Report) -> bytes:
    """The report as a workbook: one sheet per ledger, and the period and donations on a first sheet."""
    p = report.points
    summary = [("超市", report.name), ("社区代码", report.unit_code),
               ("期间", f"{report.start.isoformat()} 至 {report.end.isoformat()}"),
               ("实物捐赠（笔）", report.goods_donations), ("实物捐赠价值（元）", report.goods_value_fen / 100),
               ("资金捐赠（笔）", report.money_donations), ("资金捐赠金额（元）", report.money_fen / 100),
               ("库存对账", _yes(report.stock_balanced)), ("积分对账", _yes(p.balanced))]
    stock_rows = [(s.name, s.unit, s.opening, s.donated, s.purchased, s.given, s.adjusted, s.closing,
                   s.donations_received, s.redemptions_given, _yes(s.balanced)) for s in report.stock]
    stock_rows.append(("合计", "", *(report.stock_total(a) for a in (
        "opening", "donated", "purchased", "given", "adjusted", "closing", "donations_received",
        "redemptions_given")), _yes(report.stock_balanced)))
    points_rows = [("期初余额", p.opening), ("发放", p.issued), ("志愿时长兑换", p.converted), ("兑换消费", p.spent),
                   ("过期作废", p.expired), ("人工调整", p.adjusted), ("期末余额（账）", p.closing),
                   ("各户余额合计", p.balances), ("有余额户数", p.accounts), ("兑换单数", p.redemptions),
                   ("兑换单积分合计", p.redemptions_points),
                   ("期初+发放+兑换时长−消费−过期+调整", p.opening + p.issued + p.converted - p.spent - p.expired
                    + p.adjusted), ("是否平衡", _yes(p.balanced))]
    return excel.write_book([
        ("概况", [excel.Column("what", "项目", width=20), excel.Column("value", "内容", width=36)], summary),
        ("库存", STOCK_COLUMNS, stock_rows),
        ("积分", POINTS_COLUMNS, points_rows),
    ])
