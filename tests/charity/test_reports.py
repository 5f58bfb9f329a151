"""The reconciliation report on a hand-made April, every figure worked out by hand, and its Excel export.

March (before the period): the 1st issues allowance 50 (to 31 May) to households A and B, and disabled 20 (to
31 March) to B; 10 rice donated on the 5th; A redeems 2 rice (20 points) on the 10th.
  → opening on 1 April: points 120 − 20 = 100; rice 8, oil 0.
April: the 1st issues again 50 + 50 + 20 = 120 and writes off B's March disability lot (20, unspent); on the 3rd
6 oil and 4 rice are donated (goods worth 30 + 20 yuan) and 200 yuan in money; on the 4th 5 rice are bought; on
the 8th volunteer C converts 2 hours (20 points, C's household's first account); on the 10th B redeems 1 oil and
2 rice (50 points); on the 12th C redeems 2 rice (20 points); on the 20th a stock-take counts 12 rice (the ledger
says 13: 1 written off) and 6 oil (the ledger says 5: 1 found).
May (after it, must not count): the 1st issues and expires again; 3 rice donated on the 2nd.

Stock in April — rice: 8 + (4 + 5) − 4 − 1 = 12; oil: 0 + 6 − 1 − (−1) = 6.
Points in April: 100 + 120 + 20 − 70 − 20 = 150 = A 80 (30 left of March, 50 of April) + B 70 (April's 50 + 20;
March's 50 paid the redemption, oldest first) + C 0."""

from __future__ import annotations

import io
import uuid
from datetime import date

from openpyxl import load_workbook
from sqlalchemy.orm import Session

from jiayuan.charity import points, redeem, reports, stock
from jiayuan.volunteers import service as volunteers
from tests.charity.helpers import beijing, world

MARCH, APRIL, MAY = date(2026, 3, 1), date(2026, 4, 1), date(2026, 5, 1)


def test_a_hand_made_april_reconciles(session: Session) -> None:
    w = world(session)
    sid, who = w.supermarket.id, w.who
    a, b, c = w.households["allowance"], w.households["both"], w.households["none"]
    rice, oil = w.rice, w.oil

    def gift(item, quantity, day):
        stock.record_donation(session, who, sid, kind="goods", donor_name="爱心企业", item_id=item.id,
                              quantity=quantity, value_fen=quantity * 500, received_at=beijing(day))

    def take(household, lines, day):
        return redeem.redeem(session, who, sid, household.id,
                             [{"item_id": i.id, "quantity": q} for i, q in lines], now=beijing(day))

    # March.
    points.issue_month(session, sid, MARCH, now=beijing(MARCH, 0, 5))
    gift(rice, 10, date(2026, 3, 5))
    take(a, [(rice, 2)], date(2026, 3, 10))
    # April.
    points.issue_month(session, sid, APRIL, now=beijing(APRIL, 0, 5))
    assert points.expire_points(session, APRIL, now=beijing(APRIL, 0, 6)) == 1
    gift(oil, 6, date(2026, 4, 3))
    gift(rice, 4, date(2026, 4, 3))
    stock.record_donation(session, who, sid, kind="money", donor_name="李女士", value_fen=20_000,
                          received_at=beijing(date(2026, 4, 3)))
    purchase = stock.record_purchase(session, who, sid, item_id=rice.id, quantity=5)
    purchase.at = beijing(date(2026, 4, 4))
    volunteer = volunteers.create_volunteer(session, who, {"person_id": c.head_id})
    volunteers.credit_hours(session, volunteer.id, volunteer.district_code, 150, "service", "test", uuid.uuid4())
    points.convert_hours(session, who, volunteer.id, 2, now=beijing(date(2026, 4, 8)))
    take(b, [(oil, 1), (rice, 2)], date(2026, 4, 10))
    take(c, [(rice, 2)], date(2026, 4, 12))
    count, lines = stock.take_stock(session, who, sid, [{"item_id": rice.id, "counted": 12},
                                                        {"item_id": oil.id, "counted": 6}])
    assert {ln.item_id: ln.expected for ln in lines} == {rice.id: 13, oil.id: 5}
    _backdate_stocktake(session, count.id, beijing(date(2026, 4, 20)))
    # Per household, as the counter shows them at the end of April.
    for household, expected in ((a, 80), (b, 70), (c, 0)):
        account = points.account_of_household(session, w.supermarket.district_code, household.id)
        assert points.ledger_balance(session, account) == expected
    # May.
    points.issue_month(session, sid, MAY, now=beijing(MAY, 0, 5))
    points.expire_points(session, MAY, now=beijing(MAY, 0, 6))
    gift(rice, 3, date(2026, 5, 2))
    session.flush()

    r = reports.reconcile(session, who, sid, APRIL, date(2026, 4, 30))
    by = {s.item_id: s for s in r.stock}
    assert (by[rice.id].opening, by[rice.id].donated, by[rice.id].purchased, by[rice.id].given, by[rice.id].adjusted,
            by[rice.id].closing) == (8, 4, 5, 4, 1, 12)
    assert (by[oil.id].opening, by[oil.id].donated, by[oil.id].purchased, by[oil.id].given, by[oil.id].adjusted,
            by[oil.id].closing) == (0, 6, 0, 1, -1, 6)
    assert (by[rice.id].donations_received, by[rice.id].redemptions_given) == (4, 4)
    p = r.points
    assert (p.opening, p.issued, p.converted, p.spent, p.expired, p.closing) == (100, 120, 20, 70, 20, 150)
    assert (p.balances, p.accounts, p.redemptions, p.redemptions_points) == (150, 2, 2, 70)
    assert (r.goods_donations, r.goods_value_fen, r.money_donations, r.money_fen) == (2, 5000, 1, 20_000)
    assert r.balanced

    # From the very start: issued + converted − spent − expired = the balances.
    whole = reports.reconcile(session, who, sid, MARCH, date(2026, 4, 30))
    wp = whole.points
    assert wp.opening == 0 and wp.issued + wp.converted - wp.spent - wp.expired == wp.balances == 150
    assert {s.item_id: (s.received, s.given, s.adjusted, s.closing) for s in whole.stock} == {
        rice.id: (19, 6, 1, 12), oil.id: (6, 1, -1, 6)}

    book = load_workbook(io.BytesIO(reports.export_report(r)), read_only=True)
    assert book.sheetnames == ["概况", "库存", "积分"]
    stock_rows = [list(row) for row in book["库存"].iter_rows(values_only=True)]
    assert stock_rows[0][:3] == ["物品", "单位", "期初库存"]
    assert [rice.name, "袋", 8, 4, 5, 4, 1, 12, 4, 4, "平衡"] in stock_rows
    assert stock_rows[-1][0] == "合计" and stock_rows[-1][7] == 18
    point_rows = dict(row for row in book["积分"].iter_rows(min_row=2, values_only=True))
    assert (point_rows["发放"], point_rows["过期作废"], point_rows["各户余额合计"], point_rows["是否平衡"]) == (
        120, 20, 150, "平衡")


def _backdate_stocktake(session: Session, stocktake_id: uuid.UUID, at) -> None:
    """A stock-take is recorded when it is taken; the test moves it (and its entries) to the day it stands for."""
    from sqlalchemy import update

    from jiayuan.charity.models import StockEntry, Stocktake

    session.execute(update(Stocktake).where(Stocktake.id == stocktake_id).values(taken_at=at))
    session.execute(update(StockEntry).where(StockEntry.source_id == stocktake_id).values(at=at))


def test_a_period_must_be_a_period(session: Session) -> None:
    import pytest

    from jiayuan.kit.errors import Invalid

    w = world(session, rules=False)
    with pytest.raises(Invalid) as exc:
        reports.reconcile(session, w.who, w.supermarket.id, APRIL, MARCH)
    assert exc.value.field == "end"
