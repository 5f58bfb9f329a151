"""Offers: one provider asked at a time; declines and the sweep's timeouts ask the next; nobody left makes the
order unassigned with the hotline alerted; an operator offers it to a provider of their choice; a provider giving
back an accepted order passes it on; and of two acceptances at once exactly one wins, on both databases."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from jiayuan.accounts.models import User
from jiayuan.kit.db import Database, is_postgres, utcnow
from jiayuan.kit.errors import Conflict
from jiayuan.notify.models import OutboxMessage
from jiayuan.services.orders import actions as order_actions
from jiayuan.services.orders import intake as ordering
from jiayuan.services.orders import offers as offers
from jiayuan.services.orders.models import OrderEvent, OrderOffer, ServiceOrder
from jiayuan.services.orders.offers import Rules, expire_offers
from jiayuan.services.providers.models import Provider
from tests.personas import GRID_A, GRID_B, PERSONAS
from tests.services.helpers import (
    act,
    as_user,
    make_provider,
    make_staff,
    place,
    quiet_other_providers,
    staff_of,
    viewer,
)


def _offers(db, number: str) -> list[tuple[str, str]]:  # noqa: ANN001
    """(provider name, offer status) of an order, best candidate first."""
    with db.sessions() as s:
        rows = s.execute(select(Provider.name, OrderOffer.status).join(
            Provider, (Provider.district_code == OrderOffer.district_code) & (Provider.id == OrderOffer.provider_id))
            .join(ServiceOrder, ServiceOrder.id == OrderOffer.order_id).where(ServiceOrder.number == number)
            .order_by(OrderOffer.rank))
        return [tuple(r) for r in rows]


def _order(db, number: str) -> ServiceOrder:  # noqa: ANN001
    with db.sessions() as s:
        return s.scalar(select(ServiceOrder).where(ServiceOrder.number == number))


@pytest.fixture
def three(session: Session) -> dict[str, Provider]:
    """Three providers of item 0201 in grid A, ranked 一, 二, 三 by price, each with one staff account."""
    quiet_other_providers(session)
    out = {name: make_provider(session, name, items={"0201": price}, staff=1)
           for name, price in (("一号水电", 7000), ("二号水电", 8000), ("三号水电", 9000))}
    session.commit()
    return out


def test_timeouts_and_declines_ask_the_next_until_nobody_is_left(api, client, db, session, three) -> None:  # noqa: ANN001
    number = place(api, "resident")["number"]
    assert _offers(db, number) == [("一号水电", "pending"), ("二号水电", "queued"), ("三号水电", "queued")]
    first_deadline = _order(db, number).offered_at + timedelta(minutes=15)

    # Nothing is due before the deadline; one minute after it, the first offer expires and the second is asked.
    assert expire_offers(db, now=first_deadline - timedelta(seconds=1)) == 0
    later = first_deadline + timedelta(minutes=1)
    assert expire_offers(db, now=later) == 1
    assert expire_offers(db, now=later) == 0  # once only
    assert _offers(db, number) == [("一号水电", "expired"), ("二号水电", "pending"), ("三号水电", "queued")]
    with db.sessions() as s:
        second = s.scalar(select(OrderOffer).where(OrderOffer.status == "pending"))
        assert second.offered_at == later and second.deadline_at == later + timedelta(minutes=15)
    # The first provider, too late, may not accept any more.
    one = as_user(client, staff_of(session, three["一号水电"])[0])
    late = act(one, number, "accept", 409)
    assert late["details"]["status"] == "offered"

    # The second declines with a reason: the third is asked at once.
    two = as_user(client, staff_of(session, three["二号水电"])[0])
    assert act(two, number, "decline", note="师傅都在外面")["status"] == "offered"
    assert _offers(db, number)[1:] == [("二号水电", "declined"), ("三号水电", "pending")]
    act(two, number, "decline", 409)  # answered already

    # The third lets its offer run out: the order is unassigned and the district's operators are alerted.
    with db.sessions() as s:
        third_deadline = s.scalar(select(OrderOffer.deadline_at).where(OrderOffer.status == "pending"))
    assert expire_offers(db, now=third_deadline + timedelta(seconds=1)) == 1
    order = _order(db, number)
    assert order.status == "unassigned"
    with db.sessions() as s:
        alerts = s.scalars(select(OutboxMessage).where(OutboxMessage.ref == number,
                                                       OutboxMessage.body.contains("请人工派单"))).all()
        # In the order they were written (the sweep ran with clocks set ahead, so `at` says otherwise).
        events = s.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id)).all()
    assert {str(m.user_id) for m in alerts} == {api("hotline").get("/api/v1/auth/me").json()["id"]}
    assert [(e.action, e.actor_role) for e in events] == [
        ("create", "resident"), ("offer", "system"), ("expire", "system"), ("offer", "system"),
        ("decline", "provider"), ("offer", "system"), ("expire", "system"), ("unassigned", "system")]
    listed = api("hotline").get("/api/v1/services/orders", params={"status": "unassigned"}).json()
    assert number in [o["number"] for o in listed["items"]]


def test_a_provider_that_declined_or_lost_sees_only_its_own_offer(api, client, db, session, three) -> None:  # noqa: ANN001
    """No resident's name or address, no competitor, no price, no rating or comment: only that it was asked, what
    it answered, and the order's state."""
    number = place(api, "resident", notes="门铃坏了，请敲门")["number"]
    one = as_user(client, staff_of(session, three["一号水电"])[0])
    two = as_user(client, staff_of(session, three["二号水电"])[0])
    act(one, number, "decline", note="师傅都在外面")
    act(two, number, "accept")
    act(two, number, "start")
    act(two, number, "complete", note="已更换水管")
    act(api("resident"), number, "rate", rating=2, comment="师傅迟到了一小时")
    r = one.get(f"/api/v1/services/orders/{number}")
    assert r.status_code == 200
    seen = r.json()
    for leak in ("居民甲", "二号水电", "师傅迟到了一小时", "文山路", "门铃坏了"):
        assert leak not in r.text, leak
    assert (seen["provider"], seen["price_fen"], seen["rating"], seen["rating_comment"]) == (None, None, None, None)
    assert (seen["contact_name"], seen["contact_phone"], seen["address"], seen["notes"]) == (None, None, None, None)
    assert seen["status"] == "completed" and seen["my_offer"]["status"] == "declined"
    assert [(e["action"], e["note"]) for e in seen["timeline"]] == [("decline", "一号水电：师傅都在外面")]
    # The one that took it still sees the whole of it.
    held = two.get(f"/api/v1/services/orders/{number}").json()
    assert held["contact_name"] == "居民甲" and held["rating_comment"] == "师傅迟到了一小时"
    # The page shows the declining provider no more than the API.
    from tests.conftest import page_login
    page_login(client, staff_of(session, three["一号水电"])[0].username)
    page = client.get(f"/services/orders/{number}")
    assert page.status_code == 200
    for leak in ("居民甲", "二号水电", "师傅迟到了一小时", "文山路"):
        assert leak not in page.text, leak


def test_the_operator_offers_an_unassigned_order_to_a_chosen_provider(api, client, db, session, three) -> None:  # noqa: ANN001
    number = place(api, "resident")["number"]
    with db.unit_of_work() as s:  # every candidate let it run out
        for _ in range(3):
            deadline = s.scalar(select(OrderOffer.deadline_at).where(OrderOffer.status == "pending"))
            if deadline:
                expire_offers(db, now=deadline + timedelta(seconds=1))
    assert _order(db, number).status == "unassigned"
    elsewhere = make_provider(session, "别格水电", areas=(GRID_B,))
    cleaning = make_provider(session, "只做保洁", items={"0101": 4000})
    stopped = make_provider(session, "停业水电", status="suspended")
    session.commit()
    operator = api("hotline")
    before = _offers(db, number)
    for provider, words in ((elsewhere, "does not serve"), (cleaning, "does not offer item 0201"),
                            (stopped, "not active")):
        r = act(operator, number, "offer", 422, provider_id=str(provider.id))
        assert r["field"] == "provider_id" and words in r["message"], r
    assert act(operator, number, "offer", 422)["field"] == "provider_id"
    assert _offers(db, number) == before and _order(db, number).status == "unassigned"  # nothing written
    # Nobody but the operator offers it.
    act(api("resident"), number, "offer", 403, provider_id=str(three["二号水电"].id))

    # The operator phoned 二号水电, which will come after all: its expired offer is asked again.
    offered = act(operator, number, "offer", provider_id=str(three["二号水电"].id))
    assert offered["status"] == "offered" and offered["waiting_for"] == "二号水电"
    two = as_user(client, staff_of(session, three["二号水电"])[0])
    assert act(two, number, "accept")["status"] == "accepted"
    # A provider never ranked can be chosen too: it gets an offer of its own, after the others.
    other = place(api, "hotline")["number"]
    newcomer = make_provider(session, "新来水电", items={"0201": 6000}, staff=1, status="suspended")
    session.commit()
    with db.unit_of_work() as s:
        for _ in range(3):
            deadline = s.scalar(select(OrderOffer.deadline_at).join(ServiceOrder, ServiceOrder.id == OrderOffer.order_id)
                                .where(OrderOffer.status == "pending", ServiceOrder.number == other))
            if deadline:
                expire_offers(db, now=deadline + timedelta(seconds=1))
        s.get(Provider, (newcomer.district_code, newcomer.id)).status = "active"
    act(operator, other, "offer", provider_id=str(newcomer.id))
    assert _offers(db, other)[-1] == ("新来水电", "pending")


def test_a_provider_giving_an_order_back_passes_it_to_the_next(api, client, db, session, three) -> None:  # noqa: ANN001
    number = place(api, "resident")["number"]
    one = as_user(client, staff_of(session, three["一号水电"])[0])
    act(one, number, "accept")
    assert _offers(db, number) == [("一号水电", "accepted"), ("二号水电", "withdrawn"), ("三号水电", "withdrawn")]
    assert act(one, number, "cancel", 422, note="")["field"] == "note"
    back = act(one, number, "cancel", note="师傅临时生病")
    assert back["status"] == "offered" and back["provider"] is None and back["cancelled_at"] is None
    # The holder's acceptance stays on record; the candidates never asked wait again, the best is asked.
    assert _offers(db, number) == [("一号水电", "accepted"), ("二号水电", "pending"), ("三号水电", "queued")]
    with db.sessions() as s:
        told = s.scalars(select(OutboxMessage.body).where(OutboxMessage.ref == number)).all()
    assert any("另找服务商" in b for b in told)
    act(one, number, "accept", 409)  # it gave the order back: no offer waits for it
    two = as_user(client, staff_of(session, three["二号水电"])[0])
    act(two, number, "accept")
    # Only the holder may give it back, and only before the service starts.
    act(one, number, "cancel", 403, note="想要回来")
    act(two, number, "start")
    act(two, number, "cancel", 409, note="不做了")


def test_a_provider_suspended_meanwhile_is_skipped(api, client, db, session, three) -> None:  # noqa: ANN001
    number = place(api, "resident")["number"]
    with db.unit_of_work() as s:
        s.get(Provider, ("360802", three["二号水电"].id)).status = "suspended"
    act(as_user(client, staff_of(session, three["一号水电"])[0]), number, "decline")
    assert _offers(db, number) == [("一号水电", "declined"), ("二号水电", "withdrawn"), ("三号水电", "pending")]


def test_the_resident_cancels_while_a_provider_is_asked(api, client, db, session, three) -> None:  # noqa: ANN001
    number = place(api, "resident")["number"]
    done = act(api("resident"), number, "cancel", note="邻居帮忙修好了")
    assert done["status"] == "cancelled" and done["actions"] == []  # no provider: nothing to complain about
    assert {s for _n, s in _offers(db, number)} == {"withdrawn"}
    assert expire_offers(db, now=utcnow() + timedelta(hours=1)) == 0
    act(as_user(client, staff_of(session, three["一号水电"])[0]), number, "accept", 409)
    # An operator cancels a caller's order the same way, and the caller keeps the reason.
    other = place(api, "hotline")["number"]
    assert act(api("hotline"), other, "cancel", note="来电人改约")["cancelled_by"] == "operator"


# Two acceptances at the same moment, in real transactions on the shared database (no per-test transaction
# may hold the lock): exactly one wins, the other gets 409 with the order as it now is.


@pytest.mark.parametrize("who", ["two providers", "two staff of one provider"])
def test_of_two_acceptances_at_once_exactly_one_wins(migrated: Database, who: str) -> None:
    tag = "并发" + ("甲" if who == "two providers" else "乙")
    with migrated.unit_of_work() as s:
        first = make_provider(s, f"{tag}一号", items={"0201": 7000}, areas=(GRID_A,), staff=2)
        second = make_provider(s, f"{tag}二号", items={"0201": 8000}, areas=(GRID_A,), staff=1)
        users = [u.username for u in staff_of(s, first)] + [u.username for u in staff_of(s, second)]
        ids = {first.id, second.id}
    number = None
    try:
        with migrated.unit_of_work() as s:
            resident = viewer(s, PERSONAS["resident"].username)
            start = utcnow() + timedelta(hours=3)
            lat_lon = _point(s)
            placed = ordering.create_order(s, resident, ordering.OrderInput(
                item="0201", address="并发测试", window_start=start, window_end=start + timedelta(hours=1),
                lat=lat_lon[0], lon=lat_lon[1]), rules=Rules())
            number = placed.order.number
            for o in s.scalars(select(OrderOffer).where(OrderOffer.order_id == placed.order.id)):
                # The first provider's offer is pending; in the race of two providers, the second's too (as if
                # an operator had asked it while the first was still pending). Anyone else's is out of the way.
                asked = o.provider_id == first.id or (o.provider_id == second.id and who == "two providers")
                o.status = "pending" if asked else "withdrawn"
                o.offered_at = utcnow() if asked else None
                o.deadline_at = utcnow() + timedelta(minutes=15) if asked else None
        racers = users[2:3] + users[:1] if who == "two providers" else users[:2]
        outcomes = _race(migrated, number, racers)
        assert sorted(o[0] for o in outcomes) == ["Conflict", "ok"], outcomes
        loser = next(o for o in outcomes if o[0] == "Conflict")
        assert loser[1]["status"] == "accepted", loser
        with migrated.sessions() as s:
            order = s.scalar(select(ServiceOrder).where(ServiceOrder.number == number))
            accepted = s.scalars(select(OrderOffer).where(OrderOffer.order_id == order.id,
                                                          OrderOffer.status == "accepted")).all()
            assert order.status == "accepted" and len(accepted) == 1 and accepted[0].provider_id == order.provider_id
            assert len(s.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id,
                                                          OrderEvent.action == "accept")).all()) == 1
    finally:
        with migrated.unit_of_work() as s:
            if number:
                s.execute(delete(OutboxMessage).where(OutboxMessage.ref == number))
                s.execute(delete(ServiceOrder).where(ServiceOrder.number == number))
            s.execute(delete(Provider).where(Provider.id.in_(ids)))
            s.execute(delete(User).where(User.username.in_(users)))


def _point(session: Session) -> tuple[float, float]:
    from shapely.geometry import shape

    from jiayuan.units import service as units

    p = shape(units.chain_of(session, GRID_A)[-1].geometry).representative_point()
    return p.y, p.x


def _race(db: Database, number: str, usernames: list[str]) -> list[tuple[str, dict]]:
    """Each user accepts in a thread of its own, with its own connection. On PostgreSQL both first read the order
    and their offer, then both write: the order's version decides. (SQLite serialises writers at BEGIN.)"""
    start = threading.Barrier(2)
    both_read = threading.Barrier(2, timeout=10) if is_postgres(db.engine) else None
    real_pending = offers._pending_offer
    outcomes: list[tuple[str, dict]] = []

    def pending_then_wait(*args, **kw):  # noqa: ANN002, ANN003, ANN202
        offer = real_pending(*args, **kw)
        if both_read is not None:
            both_read.wait()
        return offer

    def accept(username: str) -> None:
        with db.sessions() as s:
            v = viewer(s, username)
        start.wait()
        try:
            with db.unit_of_work() as s:
                order_actions.act(s, v, number, "accept", order_actions.ActionInput(), rules=Rules())
            outcomes.append(("ok", {}))
        except Conflict as exc:
            outcomes.append(("Conflict", exc.details))
        except Exception as exc:  # noqa: BLE001
            outcomes.append((type(exc).__name__, {"message": str(exc)}))

    offers._pending_offer = pending_then_wait
    try:
        threads = [threading.Thread(target=accept, args=(u,)) for u in usernames]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        offers._pending_offer = real_pending
    return outcomes


def test_after_an_acceptance_the_sweep_leaves_the_order_alone(api, client, db, session, three) -> None:  # noqa: ANN001
    number = place(api, "resident", contact_phone="13700001111")["number"]
    act(as_user(client, staff_of(session, three["一号水电"])[0]), number, "accept")
    assert expire_offers(db, now=utcnow() + timedelta(hours=1)) == 0
    assert _order(db, number).status == "accepted"
    # Another account of the same provider sees the order it holds, the customer's phone in full (audited).
    make_staff(session, three["一号水电"])
    session.commit()
    colleague = as_user(client, staff_of(session, three["一号水电"])[-1])
    seen = colleague.get(f"/api/v1/services/orders/{number}").json()
    assert seen["contact_phone"] == "13700001111" and seen["actions"] == ["start", "cancel"]
