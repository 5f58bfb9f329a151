"""Redemption at the counter: stock and points in one transaction, oldest lots first; beyond stock or beyond
points is 409 naming which, and nothing at all is written; a resubmitted redemption counts once."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.accounts.roles import Role
from jiayuan.charity import points, redeem, service
from jiayuan.charity.models import Account, PointsEntry, Redemption, RedemptionLine, StockEntry
from jiayuan.kit.errors import Conflict, Invalid, NotFound
from jiayuan.kit.i18n import TIMEZONE
from tests.charity.helpers import beijing, count, donate, household, points_sum, staff, stock_sum, world
from tests.personas import COMMUNITY, PERSONAS

TODAY = date(2026, 3, 10)


def ready(session: Session):
    """The world with March issued (allowance household: 50 points) and 5 rice, 2 oil on the shelves."""
    w = world(session)
    points.issue_month(session, w.supermarket.id, date(2026, 3, 1), now=beijing(date(2026, 3, 1), 0, 5))
    donate(session, w, w.rice, 5)
    donate(session, w, w.oil, 2)
    return w


def snapshot(session: Session) -> tuple[int, ...]:
    return (count(session, Redemption), count(session, RedemptionLine), count(session, StockEntry),
            count(session, PointsEntry))


def test_redeem_writes_stock_points_and_the_receipt(session: Session) -> None:
    w = ready(session)
    hid = w.households["allowance"].id
    redemption, created = redeem.redeem(session, w.who, w.supermarket.id, hid,
                                        [{"item_id": w.rice.id, "quantity": 2}, {"item_id": w.oil.id, "quantity": 1}],
                                        now=beijing(TODAY))
    assert created and redemption.points == 2 * 10 + 30
    assert stock_sum(session, w.supermarket, w.rice) == 3 and stock_sum(session, w.supermarket, w.oil) == 1
    account = session.scalar(select(Account).where(Account.household_id == hid))
    assert points.ledger_balance(session, account) == 0
    spends = session.scalars(select(PointsEntry).where(PointsEntry.account_id == account.id,
                                                       PointsEntry.kind == "spend")).all()
    assert [(s.points, s.source_id) for s in spends] == [(-50, redemption.id)]
    receipt = redeem.get_receipt(session, w.who, w.supermarket.id, redemption.id)
    assert sorted((ln.name, ln.quantity, ln.points) for ln in receipt.lines) == sorted(
        [(w.rice.name, 2, 20), (w.oil.name, 1, 30)])
    assert receipt.household.head_name == "低保户甲" and receipt.card == points.card_token(account)


def test_spends_draw_on_the_oldest_lots_first(session: Session) -> None:
    w = world(session)
    hid = w.households["both"].id  # allowance 50 (to May) and disabled 20 (to March) each month
    for month in (date(2026, 2, 1), date(2026, 3, 1)):
        points.issue_month(session, w.supermarket.id, month, now=beijing(month, 0, 5))
    donate(session, w, w.rice, 20)
    # February's disabled lot ended on 28 February: 50 (Feb) + 50 + 20 (March) = 120 spendable on 10 March.
    redeem.redeem(session, w.who, w.supermarket.id, hid, [{"item_id": w.rice.id, "quantity": 7}],
                  now=beijing(TODAY))
    account = session.scalar(select(Account).where(Account.household_id == hid))
    rest = {(lot.at.astimezone(TIMEZONE).month, lot.points): lot.remaining for lot in points.lots_of(session, account)}
    # 70: February's allowance lot (50) first, then 20 of March's lots, oldest issued first.
    # (Within one issue the lot that ends sooner was made first.)
    assert rest[(2, 50)] == 0 and rest[(2, 20)] == 20  # the expired one is never touched
    assert rest[(3, 20)] == 0 and rest[(3, 50)] == 50


def test_beyond_stock_is_409_naming_the_item_and_writes_nothing(session: Session) -> None:
    w = ready(session)
    hid = w.households["both"].id  # 70 points
    before = snapshot(session)
    with pytest.raises(Conflict) as exc:
        redeem.redeem(session, w.who, w.supermarket.id, hid,
                      [{"item_id": w.rice.id, "quantity": 1}, {"item_id": w.oil.id, "quantity": 3}],
                      now=beijing(TODAY))
    assert exc.value.field == "items" and w.oil.name in exc.value.message and w.rice.name not in exc.value.message
    assert exc.value.details["items"] == [{"item_id": str(w.oil.id), "name": w.oil.name, "unit": "瓶", "on_hand": 2,
                                           "asked": 3}]
    assert snapshot(session) == before


def test_beyond_points_is_409_naming_the_points_and_writes_nothing(session: Session) -> None:
    w = ready(session)
    hid = w.households["allowance"].id  # 50 points
    before = snapshot(session)
    with pytest.raises(Conflict) as exc:
        redeem.redeem(session, w.who, w.supermarket.id, hid, [{"item_id": w.oil.id, "quantity": 2}],
                      now=beijing(TODAY))
    assert exc.value.field == "points" and exc.value.details == {"points": {"balance": 50, "needed": 60}}
    assert "points" in exc.value.message
    # Both short: both named.
    with pytest.raises(Conflict) as both:
        redeem.redeem(session, w.who, w.supermarket.id, hid, [{"item_id": w.rice.id, "quantity": 6}],
                      now=beijing(TODAY))
    assert set(both.value.details) == {"items", "points"}
    # A household with no account at all has no points.
    with pytest.raises(Conflict) as none:
        redeem.redeem(session, w.who, w.supermarket.id, w.households["none"].id,
                      [{"item_id": w.rice.id, "quantity": 1}], now=beijing(TODAY))
    assert none.value.field == "points"
    assert snapshot(session) == before
    assert points_sum(session, w.supermarket.district_code, kind="spend") == 0


def test_a_resubmitted_redemption_counts_once(session: Session) -> None:
    w = ready(session)
    hid = w.households["allowance"].id
    key = f"red-{uuid.uuid4()}"
    lines = [{"item_id": w.rice.id, "quantity": 2}]
    first, created = redeem.redeem(session, w.who, w.supermarket.id, hid, lines, idempotency_key=key,
                                   now=beijing(TODAY))
    again, created_again = redeem.redeem(session, w.who, w.supermarket.id, hid, lines, idempotency_key=key,
                                         now=beijing(TODAY))
    assert created and not created_again and again.id == first.id
    assert stock_sum(session, w.supermarket, w.rice) == 3
    with pytest.raises(Invalid) as exc:
        redeem.redeem(session, w.who, w.supermarket.id, hid, [{"item_id": w.rice.id, "quantity": 1}],
                      idempotency_key=key, now=beijing(TODAY))
    assert (exc.value.field, exc.value.reason) == ("idempotency_key", "idempotency_key_reused")


def test_bad_lines_and_strangers(session: Session) -> None:
    w = ready(session)
    hid = w.households["allowance"].id
    for lines, field in (([], "lines"), ([{"item_id": w.rice.id, "quantity": 0}], "lines[0].quantity"),
                         ([{"item_id": uuid.uuid4(), "quantity": 1}], "lines[0].item_id"),
                         ([{"item_id": w.rice.id, "quantity": 1.5}], "lines[0].quantity")):
        with pytest.raises(Invalid) as exc:
            redeem.redeem(session, w.who, w.supermarket.id, hid, lines, now=beijing(TODAY))
        assert exc.value.field == field
    service.update_item(session, staff("360802", Role.district_admin), w.oil.id, {"active": False})
    with pytest.raises(Invalid) as inactive:
        redeem.redeem(session, w.who, w.supermarket.id, hid, [{"item_id": w.oil.id, "quantity": 1}],
                      now=beijing(TODAY))
    assert inactive.value.field == "lines[0].item_id"
    other = PERSONAS["other_community"].scope
    grid = other + "001"
    from jiayuan.units import service as units

    if units.unit_exists(session, grid):  # a household of another community is not served here
        stranger = household(session, staff(other), "外社区户", "9000099", {}, grid=grid)
        with pytest.raises(NotFound):
            redeem.redeem(session, w.who, w.supermarket.id, stranger.id, [{"item_id": w.rice.id, "quantity": 1}])
    with pytest.raises(NotFound):
        redeem.redeem(session, staff(other), w.supermarket.id, hid, [{"item_id": w.rice.id, "quantity": 1}])
    # A volunteer of the community serves at the counter.
    redeem.redeem(session, staff(COMMUNITY, Role.volunteer), w.supermarket.id, hid,
                  [{"item_id": w.rice.id, "quantity": 1}], now=beijing(TODAY))
