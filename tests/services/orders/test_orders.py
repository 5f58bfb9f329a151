"""Service orders (12343): placing, ranking the candidates, the life cycle through the API, rating once,
complaints that open a linked case, and bad input refused whole with the reason."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from jiayuan.cases.models import Case
from jiayuan.kit.db import utcnow
from jiayuan.kit.i18n import TIMEZONE
from jiayuan.notify.models import OutboxMessage
from jiayuan.services.orders import intake as ordering
from jiayuan.services.orders import matching as matching
from jiayuan.services.orders.models import OrderEvent, OrderOffer, ServiceOrder
from jiayuan.services.providers.models import Provider
from tests.personas import COMMUNITY, GRID_A, GRID_B
from tests.services.helpers import (
    act,
    as_user,
    hold,
    make_provider,
    place,
    quiet_other_providers,
    rated_history,
    staff_of,
    window,
)

WEEKDAYS_9_TO_5 = {str(d): [["09:00", "17:00"]] for d in range(1, 6)}


def _count(session: Session, model) -> int:  # noqa: ANN001
    return session.scalar(select(func.count()).select_from(model)) or 0


def _next(weekday: int, hhmm: str) -> datetime:
    """The next local `weekday` (1 = Monday) at `hhmm`, at least a day ahead."""
    day = datetime.now(TIMEZONE).date() + timedelta(days=1)
    while day.isoweekday() != weekday:
        day += timedelta(days=1)
    h, m = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, h, m, tzinfo=TIMEZONE)


# Ranking.


def test_candidates_are_ranked_by_rating_and_load_then_price_then_name(session: Session) -> None:
    quiet_other_providers(session)
    best = make_provider(session, "金牌水电", items={"0201": 12000})  # rating 5.0 over 5 ratings → 1.0
    rated_history(session, best, [5, 5, 5, 5, 5])
    make_provider(session, "便民水电", items={"0201": 8000}, areas=(GRID_A[:9],))  # the street: 0.88
    few = make_provider(session, "新开水电", items={"0201": 9000})  # 3 ratings of 1: too few, counts as 4.0
    rated_history(session, few, [1, 1, 1])
    make_provider(session, "安心水电", items={"0201": 10000}, areas=(GRID_A[:6],))  # the district: 0.88
    make_provider(session, "爱家水电", items={"0201": 10000})  # same score and price: the name decides
    busy = make_provider(session, "忙碌水电", items={"0201": 5000})  # load 1 → 0.48 + 0.2
    hold(session, busy)
    poor = make_provider(session, "差评水电", items={"0201": 5000})  # 2.0 over 5 → 0.24 + 0.4
    rated_history(session, poor, [2, 2, 2, 2, 2])
    old = make_provider(session, "旧账水电", items={"0201": 5000})  # bad ratings older than 90 days don't count
    rated_history(session, old, [1, 1, 1, 1, 1], days_ago=120)
    weekdays = make_provider(session, "工作日水电", items={"0201": 7000}, hours=WEEKDAYS_9_TO_5)
    # Not candidates: another grid, another item, suspended, closed at the start.
    make_provider(session, "别格水电", areas=(GRID_B,))
    make_provider(session, "只做保洁", items={"0101": 4000})
    make_provider(session, "停业水电", status="suspended")
    make_provider(session, "夜里不开", items={"0201": 1000}, hours=WEEKDAYS_9_TO_5)

    monday_10 = _next(1, "10:00")
    ranked = matching.rank_candidates(session, "0201", GRID_A, monday_10, utcnow(), min_ratings=5)
    names = [c.provider.name for c in ranked]
    assert "夜里不开" in names  # open on a Monday morning…
    saturday_10 = _next(6, "10:00")
    ranked = matching.rank_candidates(session, "0201", GRID_A, saturday_10, utcnow(), min_ratings=5)
    names = [c.provider.name for c in ranked]
    # …but not on a Saturday, nor the other weekday-only provider.
    # Ties at 0.88 go to the lower price (5000 < 8000 < 9000 < 10000), then the name (安 before 爱).
    assert names == ["金牌水电", "旧账水电", "便民水电", "新开水电", "安心水电", "爱家水电", "忙碌水电", "差评水电"]
    by_name = {c.provider.name: c for c in ranked}
    assert by_name["金牌水电"].score == pytest.approx(1.0)
    assert by_name["便民水电"].score == pytest.approx(0.88) == by_name["新开水电"].score
    assert (by_name["新开水电"].rating, by_name["新开水电"].ratings) == (4.0, 3)
    assert by_name["忙碌水电"].load == 1 and by_name["忙碌水电"].score == pytest.approx(0.68)
    assert by_name["差评水电"].score == pytest.approx(0.64)
    assert weekdays.name not in names
    in_b = [c.provider.name for c in matching.rank_candidates(session, "0201", GRID_B, saturday_10, utcnow(), 5)]
    assert "别格水电" in in_b and "便民水电" in in_b and "金牌水电" not in in_b
    # A community picked by the operator: only providers serving it (or above) cover it.
    assert "金牌水电" not in [c.provider.name for c in matching.rank_candidates(
        session, "0201", COMMUNITY, saturday_10, utcnow(), 5)]
    assert "便民水电" in [c.provider.name for c in matching.rank_candidates(
        session, "0201", COMMUNITY, saturday_10, utcnow(), 5)]


def test_placing_an_order_offers_it_to_the_best_candidate(api, session: Session) -> None:  # noqa: ANN001
    quiet_other_providers(session)
    second = make_provider(session, "二号水电", items={"0201": 9000}, staff=1)
    first = make_provider(session, "一号水电", items={"0201": 8000}, staff=1)
    order = place(api, "resident")
    assert order["number"].startswith("S") and len(order["number"]) == 12
    assert order["status"] == "offered" and order["candidates"] == 2 and order["replayed"] is False
    assert order["place_name"].endswith("网格") or order["unit_code"] == GRID_A
    assert order["unit_code"] == GRID_A and order["contact_name"] == "居民甲"
    assert [e["action"] for e in order["timeline"]] == ["create", "offer"]
    assert order["timeline"][1]["note"] is None  # a resident is not told which provider was asked
    offers = session.scalars(select(OrderOffer).order_by(OrderOffer.rank)).all()
    assert [(o.provider_id, o.rank, o.status) for o in offers] == [(first.id, 1, "pending"), (second.id, 2, "queued")]
    assert offers[0].deadline_at - offers[0].offered_at == timedelta(minutes=15)
    # The first provider's staff hear of it in-app.
    told = session.scalars(select(OutboxMessage).where(OutboxMessage.ref == order["number"])).all()
    assert {m.user_id for m in told} == {staff_of(session, first)[0].id}
    # The operator sees the candidates with their rank, score and state.
    seen = api("hotline").get(f"/api/v1/services/orders/{order['number']}").json()
    assert [(o["provider_name"], o["status"]) for o in seen["offers"]] == [("一号水电", "pending"),
                                                                           ("二号水电", "queued")]
    assert seen["waiting_for"] == "一号水电" and seen["contact_phone"] is None
    # The platform's matching offered it, not the resident who ordered (nor, later, a provider who declines).
    assert [(e["action"], e["actor_role"]) for e in seen["timeline"]] == [("create", "resident"), ("offer", "system")]
    assert seen["timeline"][1]["actor_name"] == "系统"


def test_the_whole_life_of_an_order(api, client, session: Session) -> None:  # noqa: ANN001
    quiet_other_providers(session)
    provider = make_provider(session, "一号水电", items={"0201": 8000}, staff=1)
    other = make_provider(session, "二号水电", items={"0201": 9000}, staff=1)
    worker = as_user(client, staff_of(session, provider)[0])
    order = place(api, "resident", contact_phone="13700001111")
    number = order["number"]

    # The provider sees the offer waiting, with the address but the phone masked until it accepts.
    waiting = worker.get("/api/v1/services/orders").json()
    assert waiting["total"] == 1 and waiting["items"][0]["my_offer"]["status"] == "pending"
    assert waiting["items"][0]["contact_phone"] == "*******1111" and waiting["items"][0]["actions"] == [
        "accept", "decline"]
    accepted = act(worker, number, "accept")
    assert accepted["status"] == "accepted" and accepted["provider"]["name"] == "一号水电"
    assert accepted["price_fen"] == 8000 and accepted["contact_phone"] == "13700001111"
    assert set(accepted["actions"]) == {"start", "cancel"}
    # The other candidate's offer is withdrawn: it never sees the order.
    assert as_user(client, staff_of(session, other)[0]).get(f"/api/v1/services/orders/{number}").status_code == 404
    # The resident is told in-app who comes.
    resident_msgs = session.scalars(select(OutboxMessage).where(OutboxMessage.ref == number,
                                                                OutboxMessage.user_id.is_not(None))).all()
    assert any("已由 一号水电 接单" in m.body for m in resident_msgs)

    act(worker, number, "start")
    # Nobody rates or cancels an order in service; a resident cannot complete it.
    act(api("resident"), number, "rate", 409, rating=5)
    act(api("resident"), number, "cancel", 409, note="不要了")
    act(api("resident"), number, "complete", 403)
    done = act(worker, number, "complete", note="已更换水管")
    assert done["status"] == "completed" and done["completed_at"]

    rated = act(api("resident"), number, "rate", rating=4, comment="师傅很准时")
    assert (rated["rating"], rated["rating_comment"]) == (4, "师傅很准时") and "rate" not in rated["actions"]
    again = act(api("resident"), number, "rate", 409, rating=5)
    assert again["field"] == "rating" and again["details"]["status"] == "completed"
    assert [e["action"] for e in rated["timeline"]] == ["create", "offer", "accept", "start", "complete", "rate"]
    mine = api("resident").get("/api/v1/services/orders").json()
    assert [o["number"] for o in mine["items"]] == [number]


def test_the_hotline_orders_for_a_caller_who_is_told_by_sms(api, client, session: Session) -> None:  # noqa: ANN001
    quiet_other_providers(session)
    provider = make_provider(session, "一号水电", areas=(GRID_A[:12],), staff=1)
    order = place(api, "hotline", grid=GRID_A)
    assert order["channel"] == "hotline" and order["contact_phone"] == "*******2222"
    act(as_user(client, staff_of(session, provider)[0]), order["number"], "accept")
    sms = session.scalars(select(OutboxMessage).where(OutboxMessage.ref == order["number"],
                                                      OutboxMessage.channel == "sms")).all()
    assert len(sms) == 1 and sms[0].recipient == "13911112222" and "接单" in sms[0].body
    # The caller's phone is not kept in the clear, and found again through its blind index.
    raw = session.execute(text("SELECT contact_phone, contact_phone_index FROM service_orders")).one()
    assert "13911112222" not in "".join(raw)
    assert session.scalar(select(ServiceOrder.number).where(
        ServiceOrder.contact_phone_index == ordering.phone_key("13911112222"))) == order["number"]
    # The resident does not see a hotline order; another district's … the operator sees it, a grid worker of B not.
    assert api("resident").get(f"/api/v1/services/orders/{order['number']}").status_code == 404
    assert api("grid_b").get(f"/api/v1/services/orders/{order['number']}").status_code == 404
    assert api("grid_a").get(f"/api/v1/services/orders/{order['number']}").status_code == 200


def test_an_idempotent_retry_returns_the_first_order(api, session: Session) -> None:  # noqa: ANN001
    quiet_other_providers(session)
    make_provider(session, "一号水电")
    key, when = {"Idempotency-Key": "order-7c1f"}, window()  # a retry sends the very same request
    first = place(api, "resident", headers=key, **when)
    again = place(api, "resident", headers=key, expect=200, **when)
    assert again["number"] == first["number"] and again["replayed"] is True and again["candidates"] == 1
    assert _count(session, ServiceOrder) == 1 and _count(session, OrderOffer) == 1
    other = place(api, "resident", headers={"Idempotency-Key": "order-other"})
    assert other["number"] != first["number"]


def test_the_same_idempotency_key_with_another_order_is_refused(api, session: Session) -> None:  # noqa: ANN001
    quiet_other_providers(session)
    make_provider(session, "一号水电")
    key = {"Idempotency-Key": "order-5e0a"}
    first = place(api, "hotline", headers=key)
    for change in ({"notes": "卫生间也漏水"}, {"contact_phone": "13911113333"}, {"address": "文山路 14 号"}):
        r = api("hotline").post("/api/v1/services/orders", json={
            "item": "0201", "address": "文山路 12 号 3 栋 401", "notes": "厨房水管漏水", "unit_code": GRID_A,
            "contact_name": "刘阿姨", "contact_phone": "13911112222", **_window_of(first), **change}, headers=key)
        assert r.status_code == 422, r.text
        assert (r.json()["field"], r.json()["reason"]) == ("Idempotency-Key", "idempotency_key_reused")
        assert first["number"] not in r.text
    assert _count(session, ServiceOrder) == 1
    # The same request again is still the retry it always was.
    again = api("hotline").post("/api/v1/services/orders", json={
        "item": "0201", "address": "文山路 12 号 3 栋 401", "notes": "厨房水管漏水", "unit_code": GRID_A,
        "contact_name": "刘阿姨", "contact_phone": "13911112222", **_window_of(first)}, headers=key)
    assert again.status_code == 200 and again.json()["number"] == first["number"]


def _window_of(order: dict) -> dict[str, str]:
    return {"window_start": order["window_start"], "window_end": order["window_end"]}


def test_an_address_no_provider_serves_is_unassigned_and_the_hotline_alerted(api, session: Session) -> None:  # noqa: ANN001
    quiet_other_providers(session)
    make_provider(session, "别格水电", areas=(GRID_B,))
    order = place(api, "resident", grid=GRID_A)
    assert order["status"] == "unassigned" and order["candidates"] == 0
    alerts = session.scalars(select(OutboxMessage).where(OutboxMessage.ref == order["number"])).all()
    operator = api("hotline").get("/api/v1/auth/me").json()["id"]
    assert operator in {str(m.user_id) for m in alerts}
    assert any("12343 热线会为您安排" in m.body for m in alerts)  # the resident knows too


# Bad input: a 4xx naming the field and why, and nothing written.


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"item": "9999"}, "item", "unknown service item"),
    ({"item": "02"}, "item", "unknown service item"),
    ({"address": "  "}, "address", "required"),
    ({**window(hours_ahead=-1)}, "window_start", "in the future"),
    ({**window(hours_ahead=2, length=-1)}, "window_end", "after it starts"),
    ({**window(hours_ahead=24 * 31)}, "window_end", "within 30 days"),
    ({"lat": 10.0, "lon": 10.0}, "lat", "outside"),
    ({"lat": None, "lon": None}, "lat", "pin"),
    ({"lat": None, "lon": None, "unit_code": GRID_A}, "unit_code", "only the hotline"),
    ({"contact_phone": "12345"}, "contact_phone", "mobile"),
])
def test_bad_orders_are_refused_with_the_reason(api, session: Session, change, field, words) -> None:  # noqa: ANN001
    make_provider(session, "一号水电")
    before = (_count(session, ServiceOrder), _count(session, OrderEvent), _count(session, OutboxMessage))
    r = place(api, "resident", expect=422, **change)
    assert r["field"] == field and words in r["message"], r
    assert (_count(session, ServiceOrder), _count(session, OrderEvent), _count(session, OutboxMessage)) == before


@pytest.mark.parametrize(("change", "field"), [
    ({"contact_name": ""}, "contact_name"),
    ({"contact_phone": None}, "contact_phone"),
    ({"unit_code": None}, "unit_code"),
    ({"unit_code": GRID_A[:9]}, "unit_code"),  # a street is too coarse: a grid or community
])
def test_the_hotline_must_say_who_calls_and_where(api, change, field) -> None:  # noqa: ANN001
    assert place(api, "hotline", expect=422, **change)["field"] == field


def test_staff_and_providers_do_not_place_orders(api, client, session: Session) -> None:  # noqa: ANN001
    provider = make_provider(session, "一号水电", staff=1)
    assert place(api, "community", expect=403)["field"] == "role"
    r = as_user(client, staff_of(session, provider)[0]).post("/api/v1/services/orders", json={
        "item": "0201", "address": "x", **window(), "unit_code": GRID_A})
    assert r.status_code == 403


# Complaints.


def test_a_complaint_opens_a_case_linked_both_ways(api, client, session: Session) -> None:  # noqa: ANN001
    quiet_other_providers(session)
    provider = make_provider(session, "一号水电", staff=1)
    number = place(api, "resident")["number"]
    act(api("resident"), number, "complain", 409, note="还没人接单")  # nobody to complain about yet
    act(as_user(client, staff_of(session, provider)[0]), number, "accept")
    done = act(api("resident"), number, "complain", note="师傅迟到两个小时，态度很差")
    case_number = done["complaint_case"]
    assert case_number and "complain" not in done["actions"]
    case = session.scalar(select(Case).where(Case.number == case_number))
    assert case.category_code == "2601" and case.channel == "resident"
    assert case.attributes == {"service_order": number} and number in case.description
    assert case.reporter_id is not None and case.grid_code == GRID_A
    # The resident follows the case like any report of theirs.
    assert api("resident").get(f"/api/v1/cases/{case_number}").json()["category"] == "2601"
    again = act(api("resident"), number, "complain", 409, note="再投诉一次")
    assert case_number in again["message"]
    assert _count(session, Case) == 1


def test_the_hotline_complains_for_a_caller_who_can_track_it_by_phone(api, client, session: Session) -> None:  # noqa: ANN001
    quiet_other_providers(session)
    provider = make_provider(session, "一号水电", staff=1)
    number = place(api, "hotline")["number"]
    worker = as_user(client, staff_of(session, provider)[0])
    act(worker, number, "accept")
    act(worker, number, "start")
    act(api("hotline"), number, "complain", 422, note="  ")  # says nothing: refused, no case
    done = act(api("hotline"), number, "complain", note="来电人反映服务费比约定的高")
    tracked = client.post("/api/v1/cases/track", json={"number": done["complaint_case"], "phone": "13911112222"})
    assert tracked.status_code == 200 and tracked.json()["category_name"] == "服务投诉"


# Rating.


def test_ratings_only_once_only_completed_only_by_whom_ordered(api, client, session: Session) -> None:  # noqa: ANN001
    quiet_other_providers(session)
    provider = make_provider(session, "一号水电", staff=1)
    worker = as_user(client, staff_of(session, provider)[0])
    mine = place(api, "resident")["number"]
    act(api("resident"), mine, "rate", 409, rating=5)  # not completed
    for action in ("accept", "start", "complete"):
        act(worker, mine, action)
    assert act(api("resident"), mine, "rate", 422, rating=6)["field"] == "rating"
    assert act(api("resident"), mine, "rate", 422, rating=None)["field"] == "rating"
    act(api("hotline"), mine, "rate", 403, rating=5)  # the resident rates their own order
    act(worker, mine, "rate", 403, rating=5)
    act(api("resident"), mine, "rate", rating=5)
    # A caller's order is rated by the operator on the caller's behalf.
    theirs = place(api, "hotline")["number"]
    for action in ("accept", "start", "complete"):
        act(worker, theirs, action)
    assert act(api("hotline"), theirs, "rate", rating=2, comment="来电人说态度一般")["rating"] == 2


def test_a_rating_that_sinks_the_mean_flags_the_provider(api, client, session: Session) -> None:  # noqa: ANN001
    """After each rating services.performance looks at the provider: four earlier ratings of 1 and this one make
    five under the threshold, and the provider is flagged for the district to consider suspending it."""
    quiet_other_providers(session)
    provider = make_provider(session, "一号水电", staff=1)
    rated_history(session, provider, [1, 1, 1, 1])
    worker = as_user(client, staff_of(session, provider)[0])
    number = place(api, "resident")["number"]
    for action in ("accept", "start", "complete"):
        act(worker, number, action)
    assert session.scalar(select(Provider.flagged_at).where(Provider.id == provider.id)) is None
    act(api("resident"), number, "rate", rating=1, comment="没修好")
    session.expire_all()
    flagged = session.get(Provider, (provider.district_code, provider.id))
    assert flagged.flagged_at is not None and "5 次评价" in flagged.flag_reason


# Cancellation.


def test_the_resident_cancels_with_a_reason_and_the_provider_is_told(api, client, session: Session) -> None:  # noqa: ANN001
    quiet_other_providers(session)
    provider = make_provider(session, "一号水电", staff=1)
    make_provider(session, "二号水电", items={"0201": 9000})
    worker = as_user(client, staff_of(session, provider)[0])
    number = place(api, "resident")["number"]
    act(worker, number, "accept")
    act(api("resident"), number, "cancel", 422, note="")
    done = act(api("resident"), number, "cancel", note="自己修好了")
    assert (done["status"], done["cancelled_by"], done["cancel_reason"]) == ("cancelled", "resident", "自己修好了")
    assert done["actions"] == ["complain"]
    told = session.scalars(select(OutboxMessage).where(OutboxMessage.ref == number,
                                                       OutboxMessage.body.contains("已被取消"))).all()
    assert {m.user_id for m in told} == {staff_of(session, provider)[0].id}
    act(worker, number, "start", 409)
    assert set(session.scalars(select(OrderOffer.status))) == {"accepted", "withdrawn"}


def test_actions_out_of_turn_say_the_state(api, client, session: Session) -> None:  # noqa: ANN001
    quiet_other_providers(session)
    provider = make_provider(session, "一号水电", staff=1)
    worker = as_user(client, staff_of(session, provider)[0])
    order = place(api, "resident")
    number = order["number"]
    assert act(worker, number, "start", 409)["details"]["status"] == "offered"
    assert act(worker, number, "fly", 422)["field"] == "action"
    stale = act(worker, number, "accept", 409, version=99)
    assert stale["field"] == "version" and stale["details"]["version"] == order["version"]
    act(api("hotline"), number, "offer", 409, provider_id=str(provider.id))  # not unassigned


def test_a_retry_racing_its_first_request_gets_the_same_order(migrated) -> None:  # noqa: ANN001
    """An operator's client times out and retries while its first request is still writing. The retry waits for
    it (on PostgreSQL at the unique key, on SQLite at the write lock) and answers with its order as a replay, not
    a 409. (Real transactions on the shared database: no per-test transaction may hold the lock.)"""
    import threading
    import uuid

    from jiayuan.accounts.models import User
    from jiayuan.accounts.service import principal_of
    from jiayuan.services.orders.offers import rules_from
    from jiayuan.services.orders.service import viewer_of
    from tests.cases.test_outages import _wait_until_blocked

    start = utcnow() + timedelta(hours=3)
    data = ordering.OrderInput(item="0201", address="文山路 12 号", window_start=start,
                               window_end=start + timedelta(hours=2), unit_code=GRID_A, contact_name="刘阿姨",
                               contact_phone="13911112222")
    key = f"race-{uuid.uuid4().hex}"
    outcome: dict[str, object] = {}

    def place_in(session: Session) -> ordering.Placed:
        viewer = viewer_of(session, principal_of(session.scalar(select(User).where(User.username == "hotline1"))))
        return ordering.create_order(session, viewer, data, rules=rules_from(), idempotency_key=key)

    def retry() -> None:
        try:
            with migrated.unit_of_work() as s:
                again = place_in(s)
                outcome.update(number=again.order.number, replayed=again.replayed)
        except Exception as exc:  # noqa: BLE001 - the failure is the finding
            outcome["error"] = repr(exc)

    first = migrated.sessions()
    try:
        number = place_in(first).order.number
        thread = threading.Thread(target=retry)
        thread.start()
        _wait_until_blocked(migrated)
        first.commit()
        thread.join(30)
        assert outcome == {"number": number, "replayed": True}
    finally:
        first.close()
        with migrated.unit_of_work() as s:
            for order in s.scalars(select(ServiceOrder).where(ServiceOrder.idempotency_key == f"hotline1:{key}")):
                for model in (OrderEvent, OrderOffer):
                    s.execute(model.__table__.delete().where(model.order_id == order.id))
                s.execute(OutboxMessage.__table__.delete().where(OutboxMessage.ref == order.number))
                s.delete(order)
