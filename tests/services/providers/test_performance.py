"""Provider performance on orders and offers written by hand into their tables (the expected figures worked out
below), grouped SQL whatever the number of providers, the flag rule at and around the threshold and the minimum
count, and the routes and page that show them."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.orm import Session

from jiayuan.services.providers import performance as performance
from jiayuan.services.providers import service as providers
from jiayuan.services.providers.models import Provider
from tests.conftest import page_login
from tests.personas import PERSONAS
from tests.services.provider_helpers import DISTRICT, P, application, offer, order, principal

MARCH = datetime(2025, 3, 10, 2, 0, tzinfo=UTC)  # 10:00 in Ji'an
FEBRUARY = datetime(2025, 2, 20, 2, 0, tzinfo=UTC)
SINCE, UNTIL = date(2025, 3, 1), date(2025, 3, 31)


def make_provider(session: Session, status: str = "active", name: str | None = None) -> Provider:
    p = providers.create_provider(session, principal(session, "admin"),
                                  **application(name=name or f"测试服务商{uuid.uuid4().hex[:6]}"))
    p.status = status
    session.flush()
    return p


@pytest.fixture
def book(session: Session) -> dict[str, Provider]:
    """Three providers and eleven orders. P's offers answered: o1 accepted (6 min), o2 accepted (10), o3 declined,
    o4 expired, o5 accepted (20), o6 accepted (4, then P gave the order back); o7 waits for P's answer; o8 has P
    only queued (never asked); o9 lies outside the period. Q: o3 accepted (2 min), o4 declined, o6 and o8 pending,
    o10 accepted (5) and then cancelled by an operator. R has nothing."""
    p, q, r = (make_provider(session, name=n) for n in ("测试甲家政", "测试乙维修", "测试丙搬家"))
    t = MARCH
    o1 = order(session, created=t, status="completed", provider_id=p.id, rating=5)
    offer(session, o1, p.id, "accepted", offered_at=t, minutes=6)
    o2 = order(session, created=t, status="completed", provider_id=p.id, rating=3, complaint="C2503100001")
    offer(session, o2, p.id, "accepted", offered_at=t, minutes=10)
    o3 = order(session, created=t, status="in_service", provider_id=q.id, complaint="C2503100002")
    offer(session, o3, p.id, "declined", offered_at=t, minutes=3)
    offer(session, o3, q.id, "accepted", rank=2, offered_at=t + timedelta(minutes=3), minutes=2)
    o4 = order(session, created=t, status="unassigned")
    offer(session, o4, p.id, "expired", offered_at=t, minutes=15)
    offer(session, o4, q.id, "declined", rank=2, offered_at=t + timedelta(minutes=15), minutes=1)
    o5 = order(session, created=t, status="cancelled", provider_id=p.id, cancelled_by="resident")
    offer(session, o5, p.id, "accepted", offered_at=t, minutes=20)
    o6 = order(session, created=t, status="offered")  # P gave it back: its offer stays accepted
    offer(session, o6, p.id, "accepted", offered_at=t, minutes=4)
    offer(session, o6, q.id, "pending", rank=2, offered_at=t + timedelta(hours=1))
    o7 = order(session, created=t, status="offered")
    offer(session, o7, p.id, "pending", offered_at=t)
    o8 = order(session, created=t, status="offered")
    offer(session, o8, q.id, "pending", offered_at=t)
    offer(session, o8, p.id, "queued", rank=2)
    o9 = order(session, created=FEBRUARY, status="completed", provider_id=p.id, rating=1, complaint="C2502200001")
    offer(session, o9, p.id, "accepted", offered_at=FEBRUARY, minutes=1)
    o10 = order(session, created=t, status="cancelled", provider_id=q.id, cancelled_by="operator")
    offer(session, o10, q.id, "accepted", offered_at=t, minutes=5)
    # An order of the last day, at 23:30 Beijing time (15:30 UTC), is in the period; one at 00:10 the next day is not.
    o11 = order(session, created=datetime(2025, 3, 31, 15, 30, tzinfo=UTC), status="offered")
    offer(session, o11, r.id, "pending", offered_at=o11.created_at)
    o12 = order(session, created=datetime(2025, 3, 31, 16, 10, tzinfo=UTC), status="offered")
    offer(session, o12, r.id, "pending", offered_at=o12.created_at)
    return {"P": p, "Q": q, "R": r}


def test_figures_worked_out_by_hand(session: Session, book: dict[str, Provider]) -> None:
    start, end = performance.period(SINCE, UNTIL, date(2025, 4, 1))
    got = {f.provider_id: f for f in performance.figures(session, DISTRICT, start, end)}
    p, q, r = (got[book[k].id] for k in "PQR")
    # P: made 7 offers (o1–o7; o8 only queued, o9 outside); 6 answered or expired, 4 of them accepted.
    assert (p.offers, p.answered, p.accepted) == (7, 6, 4)
    assert p.acceptance_rate == pytest.approx(4 / 6)
    assert p.minutes_to_accept == pytest.approx((6 + 10 + 20 + 4) / 4)  # 10 minutes
    # Accepted o1, o2, o5, o6; the resident cancelled o5; o1 and o2 completed: 2 of 3.
    assert (p.completable, p.completed) == (3, 2) and p.completion_rate == pytest.approx(2 / 3)
    assert (p.mean_rating, p.ratings, p.complaints) == (pytest.approx(4.0), 2, 1)
    # Q: o3 accepted, o4 declined, o6 and o8 pending, o10 accepted; o10 cancelled by an operator; o3 in service.
    assert (q.offers, q.answered, q.accepted) == (5, 3, 2)
    assert q.acceptance_rate == pytest.approx(2 / 3) and q.minutes_to_accept == pytest.approx(3.5)
    assert (q.completable, q.completed, q.completion_rate) == (1, 0, 0.0)
    assert (q.mean_rating, q.ratings, q.complaints) == (None, 0, 1)
    # R: one offer on the period's last evening, nothing answered.
    assert (r.offers, r.answered, r.acceptance_rate, r.minutes_to_accept, r.completion_rate) == (1, 0, None, None,
                                                                                                   None)
    # February alone: P's o9.
    feb = performance.figures(session, DISTRICT, *performance.period(date(2025, 2, 1), date(2025, 2, 28),
                                                                       date(2025, 4, 1)), [book["P"].id])[0]
    assert (feb.offers, feb.accepted, feb.mean_rating, feb.complaints) == (1, 1, 1.0, 1)
    assert feb.minutes_to_accept == pytest.approx(1.0)


def test_three_queries_whatever_the_number_of_providers(session: Session, book: dict[str, Provider]) -> None:
    for _ in range(5):
        make_provider(session)
    start, end = performance.period(SINCE, UNTIL, date(2025, 4, 1))
    statements: list[str] = []
    conn = session.connection()

    def listen(*args: Any) -> None:
        statements.append(args[2])

    event.listen(conn, "before_cursor_execute", listen)
    try:
        rows = performance.figures(session, DISTRICT, start, end)
    finally:
        event.remove(conn, "before_cursor_execute", listen)
    assert len(rows) >= 8 and len(statements) == 3


def test_sorting_puts_providers_without_the_figure_last(session: Session, book: dict[str, Provider]) -> None:
    start, end = performance.period(SINCE, UNTIL, date(2025, 4, 1))
    rows = [f for f in performance.figures(session, DISTRICT, start, end) if f.provider_id in
            {b.id for b in book.values()}]
    # P and Q both accepted 2 of 3 answered offers: the tie goes by name; R has no rate and comes last.
    assert [f.name for f in performance.sort_figures(rows, "acceptance_rate")] == [
        "测试乙维修", "测试甲家政", "测试丙搬家"]
    assert [f.name for f in performance.sort_figures(rows, "minutes_to_accept", descending=False)] == [
        "测试乙维修", "测试甲家政", "测试丙搬家"]


def test_a_period_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(Exception) as err:
        performance.period(date(2025, 3, 2), date(2025, 3, 1), date(2025, 4, 1))
    assert getattr(err.value, "field", None) == "since"
    start, end = performance.period(None, None, date(2025, 4, 1))
    assert (end - start).days == 30


# --- The flag ------------------------------------------------------------------------------------------------


NOW = datetime(2025, 6, 30, 4, 0, tzinfo=UTC)


def rate(session: Session, provider: Provider, ratings: list[int], *, days_ago: float = 1) -> None:
    for stars in ratings:
        order(session, created=NOW - timedelta(days=days_ago + 1), status="completed", provider_id=provider.id,
              rating=stars, rated_at=NOW - timedelta(days=days_ago))


@pytest.mark.parametrize(("ratings", "flagged"), [
    ([3, 3, 3, 3], False),  # under the threshold, but 4 ratings: fewer than the minimum of 5
    ([3, 3, 3, 3, 3], True),  # 5 ratings, mean 3.0: flagged at exactly the minimum count
    ([3, 4, 3, 4, 3, 4], False),  # mean 3.5 = the threshold: not under it
    ([3, 4, 3, 4, 3, 4, 3], True),  # mean 24 / 7 = 3.43
    ([4, 4, 4, 4, 3], False),  # mean 3.8
    ([1, 5, 5, 5, 5], False),  # mean 4.2
])
def test_the_flag_at_and_around_the_threshold(session: Session, ratings: list[int], flagged: bool) -> None:
    p = make_provider(session)
    version = p.version
    rate(session, p, ratings)
    assert performance.check_flag(session, p.id, NOW, threshold=3.5, min_ratings=5) is flagged
    session.refresh(p)
    assert (p.flagged_at is not None) is flagged and (p.flag_reason is not None) is flagged
    if flagged:
        assert p.flagged_at == NOW and "3.5" in p.flag_reason
    assert p.version == version  # the flag leaves the version to status changes


def test_the_flag_reads_its_settings_by_default(session: Session) -> None:
    p = make_provider(session)
    rate(session, p, [3, 3, 3, 3, 3])  # JIAYUAN_PROVIDER_RATING_THRESHOLD 3.5, JIAYUAN_PROVIDER_MIN_RATINGS 5
    assert performance.check_flag(session, p.id, NOW) is True
    q = make_provider(session)
    rate(session, q, [1, 1, 1, 1])
    assert performance.check_flag(session, q.id, NOW) is False


def test_only_the_last_90_days_count(session: Session) -> None:
    p = make_provider(session)
    rate(session, p, [1, 1, 1, 1, 1], days_ago=90)  # exactly 90 days ago: out
    rate(session, p, [5])
    assert performance.check_flag(session, p.id, NOW, threshold=3.5, min_ratings=5) is False
    rate(session, p, [1, 1, 1, 1], days_ago=89.9)  # 5 ratings inside the window, mean 9 / 5 = 1.8
    assert performance.check_flag(session, p.id, NOW, threshold=3.5, min_ratings=5) is True


def test_a_flag_stays_from_its_first_day_and_clears_when_the_mean_recovers(session: Session) -> None:
    p = make_provider(session)
    rate(session, p, [2, 2, 2, 2, 2])
    assert performance.check_flag(session, p.id, NOW - timedelta(hours=1), threshold=3.5, min_ratings=5)
    rate(session, p, [3])
    assert performance.check_flag(session, p.id, NOW, threshold=3.5, min_ratings=5)
    session.refresh(p)
    assert p.flagged_at == NOW - timedelta(hours=1) and "2.17" in p.flag_reason  # 13 / 6
    rate(session, p, [5, 5, 5, 5, 5, 5])  # 43 / 12 = 3.58
    assert performance.check_flag(session, p.id, NOW, threshold=3.5, min_ratings=5) is False
    session.refresh(p)
    assert p.flagged_at is None and p.flag_reason is None
    assert performance.check_flag(session, uuid.uuid4(), NOW) is False  # no such provider: nothing to do


def test_suspending_a_flagged_provider_ends_the_prompt(session: Session) -> None:
    p = make_provider(session)
    rate(session, p, [1, 1, 1, 1, 1])
    performance.check_flag(session, p.id, NOW, threshold=3.5, min_ratings=5)
    session.refresh(p)
    assert p.flagged_at is not None
    providers.change_status(session, principal(session, "admin"), p.id, "suspended", "评分过低，暂停整改")
    assert p.flagged_at is None and p.status == "suspended"


# --- Routes and page -------------------------------------------------------------------------------------------


def test_the_performance_routes(api: Any, client: TestClient, session: Session, book: dict[str, Provider]) -> None:
    session.commit()
    params = {"since": "2025-03-01", "until": "2025-03-31"}
    r = api("admin").get(f"{P}/performance", params={**params, "sort": "offers"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["since"], body["until"]) == ("2025-03-01", "2025-03-31")
    mine = {f["provider_id"]: f for f in body["items"]}
    p = mine[str(book["P"].id)]
    assert (p["offers"], p["accepted"], p["completed"], p["ratings"], p["complaints"]) == (7, 4, 2, 2, 1)
    assert p["minutes_to_accept"] == pytest.approx(10.0) and p["mean_rating"] == pytest.approx(4.0)
    assert api("hotline").get(f"{P}/performance", params=params).status_code == 200
    assert api("street").get(f"{P}/performance", params=params).status_code == 403
    bad = api("admin").get(f"{P}/performance", params={"since": "2025-03-31", "until": "2025-03-01"})
    assert bad.status_code == 422 and bad.json()["field"] == "since"
    one = api("admin").get(f"{P}/{book['Q'].id}/performance", params=params).json()
    assert one["items"][0]["acceptance_rate"] == pytest.approx(2 / 3)
    # A provider's staff read their own figures, not another's.
    r = api("admin").post(f"{P}/{book['P'].id}/staff", json={"username": "perf.staff", "full_name": "甲",
                                                              "password": "secret-123"})
    assert r.status_code == 201
    token = client.post("/api/v1/auth/token", data={"username": "perf.staff", "password": "secret-123"})
    staff = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert client.get(f"{P}/{book['P'].id}/performance", params=params, headers=staff).status_code == 200
    assert client.get(f"{P}/{book['Q'].id}/performance", params=params, headers=staff).status_code == 404
    assert client.get(f"{P}/performance", params=params, headers=staff).status_code == 403


def test_the_performance_page(client: TestClient, session: Session, book: dict[str, Provider]) -> None:
    session.commit()
    assert page_login(client, PERSONAS["admin"].username).status_code == 200
    r = client.get("/services/providers/performance",
                   params={"since": "2025-03-01", "until": "2025-03-31", "sort": "completion_rate"})
    assert r.status_code == 200
    assert f'href="/services/providers/{book["P"].id}"' in r.text and 'id="chart-providers"' in r.text
    assert r.text.index("测试甲家政") < r.text.index("测试乙维修")  # 67 % before 0 %
    bad = client.get("/services/providers/performance", params={"since": "2025-03-31", "until": "2025-03-01"})
    assert bad.status_code == 422
