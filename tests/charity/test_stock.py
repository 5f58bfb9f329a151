"""Supermarkets, donations and the stock ledger: one supermarket per community, donations in kind add stock and
money does not, a retried donation counts once, stock-takes turn differences into adjustments, and who may do
what where."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.orm import Session

from jiayuan.accounts.roles import Role
from jiayuan.charity import service, stock
from jiayuan.charity.models import Donation, StockEntry, Stocktake
from jiayuan.kit.errors import Conflict, Forbidden, Invalid, NotFound
from tests.charity.helpers import count, donate, staff, stock_sum, world
from tests.personas import COMMUNITY, GRID_A, PERSONAS


def test_one_supermarket_per_community(session: Session) -> None:
    w = world(session)
    with pytest.raises(Conflict) as exc:
        service.create_supermarket(session, w.who, unit_code=COMMUNITY, name="第二个")
    assert exc.value.field == "unit_code"
    with pytest.raises(Invalid) as bad:
        service.create_supermarket(session, w.who, unit_code=GRID_A, name="网格超市")
    assert bad.value.field == "unit_code"  # a grid is not a community
    other = PERSONAS["other_community"].scope
    with pytest.raises(Invalid):  # outside the caller's scope
        service.create_supermarket(session, w.who, unit_code=other, name="别人的")
    with pytest.raises(Forbidden):
        service.create_supermarket(session, staff(COMMUNITY, Role.volunteer), unit_code=other, name="志愿者开的")


def test_goods_add_stock_money_does_not(session: Session) -> None:
    w = world(session)
    donate(session, w, w.rice, 12)
    money, created = stock.record_donation(session, w.who, w.supermarket.id, kind="money", donor_name="",
                                           value_fen=50_000)
    assert created and money.donor_name == "爱心人士"  # no name given: the anonymous donor
    assert stock_sum(session, w.supermarket, w.rice) == 12
    assert count(session, StockEntry, supermarket_id=w.supermarket.id) == 1
    levels = {lv.item.id: lv.on_hand for lv in stock.stock_levels(session, w.who, w.supermarket.id)}
    assert levels[w.rice.id] == 12 and levels[w.oil.id] == 0


@pytest.mark.parametrize(("fields", "field"), [
    ({"kind": "goods", "quantity": 1}, "item_id"),
    ({"kind": "goods", "item": True, "quantity": 0}, "quantity"),
    ({"kind": "goods", "item": True, "quantity": "3"}, "quantity"),
    ({"kind": "goods", "item": True, "quantity": 2, "value_fen": -1}, "value_fen"),
    ({"kind": "money", "value_fen": 0}, "value_fen"),
    ({"kind": "money", "value_fen": 100, "quantity": 2}, "item_id"),
    ({"kind": "time", "value_fen": 100}, "kind"),
])
def test_bad_donations_name_the_field(session: Session, fields: dict, field: str) -> None:
    w = world(session)
    fields = dict(fields)  # the parameters are shared by both databases' runs
    if fields.pop("item", False):
        fields["item_id"] = w.rice.id
    with pytest.raises(Invalid) as exc:
        stock.record_donation(session, w.who, w.supermarket.id, **fields)
    assert exc.value.field == field
    assert count(session, Donation) == 0 and count(session, StockEntry) == 0


def test_a_retried_donation_counts_once(session: Session) -> None:
    w = world(session)
    key = f"don-{uuid.uuid4()}"
    first, created = stock.record_donation(session, w.who, w.supermarket.id, kind="goods", donor_name="王先生",
                                           item_id=w.rice.id, quantity=5, value_fen=2500, idempotency_key=key)
    again, created_again = stock.record_donation(session, w.who, w.supermarket.id, kind="goods",
                                                 donor_name="王先生", item_id=w.rice.id, quantity=5, value_fen=2500,
                                                 idempotency_key=key)
    assert created and not created_again and again.id == first.id
    assert stock_sum(session, w.supermarket, w.rice) == 5
    with pytest.raises(Invalid) as exc:  # the same key for another gift is a mistake, not a retry
        stock.record_donation(session, w.who, w.supermarket.id, kind="goods", donor_name="王先生",
                              item_id=w.rice.id, quantity=6, value_fen=3000, idempotency_key=key)
    assert (exc.value.field, exc.value.reason) == ("idempotency_key", "idempotency_key_reused")


def test_stocktake_turns_each_difference_into_one_adjustment(session: Session) -> None:
    w = world(session)
    donate(session, w, w.rice, 10)
    donate(session, w, w.oil, 4)
    take, lines = stock.take_stock(session, w.who, w.supermarket.id,
                                   [{"item_id": w.rice.id, "counted": 8}, {"item_id": w.oil.id, "counted": 4}],
                                   note="月底盘点")
    by_item = {ln.item_id: ln for ln in lines}
    assert (by_item[w.rice.id].expected, by_item[w.rice.id].counted) == (10, 8)
    assert (by_item[w.oil.id].expected, by_item[w.oil.id].counted) == (4, 4)
    adjustments = session.query(StockEntry).filter_by(kind="adjustment", source_id=take.id).all()
    assert [(a.item_id, a.quantity) for a in adjustments] == [(w.rice.id, -2)]  # none for oil: it matched
    assert stock_sum(session, w.supermarket, w.rice) == 8
    # A surplus found is a positive adjustment.
    stock.take_stock(session, w.who, w.supermarket.id, [{"item_id": w.rice.id, "counted": 9}])
    assert stock_sum(session, w.supermarket, w.rice) == 9
    assert count(session, Stocktake, supermarket_id=w.supermarket.id) == 2
    rows = stock.list_stocktakes(session, w.who, w.supermarket.id)
    assert [(n, d) for _, n, d in rows] == [(1, 1), (2, 2)]


@pytest.mark.parametrize(("lines", "field"), [
    ([], "lines"),
    ([{"item_id": "x", "counted": 1}], "lines[0].item_id"),
    ([{"item_id": None, "counted": -1}], "lines[0].item_id"),
    ("rice", "lines"),
])
def test_bad_stocktakes_name_the_field(session: Session, lines: object, field: str) -> None:
    w = world(session)
    with pytest.raises(Invalid) as exc:
        stock.take_stock(session, w.who, w.supermarket.id, lines)
    assert exc.value.field == field


def test_stocktake_lines_checked(session: Session) -> None:
    w = world(session)
    for lines, field in (([{"item_id": w.rice.id, "counted": -1}], "lines[0].counted"),
                         ([{"item_id": w.rice.id, "counted": 1}, {"item_id": w.rice.id, "counted": 2}],
                          "lines[1].item_id"),
                         ([{"item_id": uuid.uuid4(), "counted": 1}], "lines[0].item_id")):
        with pytest.raises(Invalid) as exc:
            stock.take_stock(session, w.who, w.supermarket.id, lines)
        assert exc.value.field == field
    assert count(session, Stocktake) == 0


def test_who_may_do_what(session: Session) -> None:
    w = world(session)
    sid = w.supermarket.id
    volunteer = staff(COMMUNITY, Role.volunteer)
    stock.record_donation(session, volunteer, sid, kind="money", value_fen=100)  # the desk takes donations
    with pytest.raises(Forbidden):  # but counting the shelves is the staff's
        stock.take_stock(session, volunteer, sid, [{"item_id": w.rice.id, "counted": 0}])
    street = staff(COMMUNITY[:9], Role.street_staff)
    stock.take_stock(session, street, sid, [{"item_id": w.rice.id, "counted": 0}])
    for outsider in (staff(PERSONAS["other_community"].scope), staff(GRID_A, Role.grid_worker)):
        with pytest.raises(NotFound):  # outside the scope the supermarket does not exist
            stock.stock_levels(session, outsider, sid)
    with pytest.raises(Forbidden):  # items' prices are the district's
        service.update_item(session, w.who, w.rice.id, {"points": 1})
    assert service.update_item(session, staff("360802", Role.district_admin), w.rice.id, {"points": 12}).points == 12
