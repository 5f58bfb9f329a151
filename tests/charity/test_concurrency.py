"""The ledgers stay right when desks and the worker act at the same moment, on SQLite and on PostgreSQL.

Each thread opens its own Database (engine, connection, transaction) on a scratch database of its own — not the
rolled-back test transaction, which would make every thread share one connection and prove nothing — and all are
released together by a barrier. SQLite serialises writers at BEGIN IMMEDIATE; on PostgreSQL the account and stock
rows are locked (SELECT … FOR UPDATE) in a fixed order."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from jiayuan.accounts.roles import Role
from jiayuan.charity import points, redeem, reports, service, stock
from jiayuan.charity.models import Account, Donation, IssueRun, PointsEntry, Redemption, StockEntry
from jiayuan.demo.load import load_demo
from jiayuan.kit.clock import local_today
from jiayuan.kit.db import Database
from jiayuan.kit.errors import Conflict
from jiayuan.kit.migrate import upgrade
from jiayuan.reference import load_reference_data
from tests.charity.helpers import donate, staff, world
from tests.databases import backends, scratch_postgres

THIS_MONTH = service.month_start(local_today())
JANUARY = date(THIS_MONTH.year, 1, 1)
THREADS_TIMEOUT = 120


@pytest.fixture(scope="module", params=backends())
def race(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A scratch database of the backend, migrated, with the demo's units and the charity world committed:
    allowance 100 a month (3 months), disabled 20 (1 month); 6 rice (10 points) and 3 oil (30 points)."""
    if request.param == "sqlite":
        url = f"sqlite:///{Path(tmp_path_factory.mktemp('race')) / 'race.db'}"
        yield from _world(url)
        return
    with scratch_postgres("jiayuan_charity_race") as url:
        yield from _world(url)


def _world(url: str) -> Iterator[dict[str, Any]]:
    db = Database(url)
    try:
        upgrade(db.engine)
        with db.unit_of_work() as session:
            load_reference_data(session)
            load_demo(session, "small", with_cases=False, with_registry=False, with_services=False)
        with db.unit_of_work() as session:
            w = world(session)
            admin = staff("360802", Role.district_admin)
            service.put_rule(session, admin, tag="allowance", points=100, valid_months=3)
            donate(session, w, w.rice, 6)
            donate(session, w, w.oil, 3)
            ids = {"sid": w.supermarket.id, "district": w.supermarket.district_code, "rice": w.rice.id,
                   "oil": w.oil.id, "a": w.households["allowance"].id, "b": w.households["both"].id, "who": w.who}
        yield {"url": url, "db": db, **ids}
    finally:
        db.dispose()


def at_once(url: str, jobs: list[Callable[[Any], Any]]) -> list[Any]:
    """Run each job in its own thread, on its own Database and transaction, all released together. Returns each
    job's result, or the DomainError it raised."""
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def run(i: int, job: Callable[[Any], Any]) -> None:
        db = Database(url)
        try:
            barrier.wait(timeout=THREADS_TIMEOUT)
            with db.unit_of_work() as session:
                results[i] = job(session)
        except Conflict as exc:
            results[i] = exc
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            results[i] = exc
        finally:
            db.dispose()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(THREADS_TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a thread is still waiting: a lock was never released"
    unexpected = [r for r in results if isinstance(r, BaseException) and not isinstance(r, Conflict)]
    assert not unexpected, unexpected
    return results


def total(session: Any, column: Any, *where: Any) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(column), 0)).where(*where)))


def test_issue_and_expiry_at_the_same_moment_happen_once(race: dict[str, Any]) -> None:
    sid = race["sid"]
    issued = at_once(race["url"], [lambda s: points.issue_month(s, sid, THIS_MONTH)] * 3
                     + [lambda s: points.issue_month(s, sid, JANUARY)] * 3)
    assert sorted(created for _run, created in issued) == [False, False, False, False, True, True]
    expired = at_once(race["url"], [lambda s: points.expire_points(s, local_today())] * 3)
    with race["db"].sessions() as session:
        runs = session.scalars(select(IssueRun).where(IssueRun.supermarket_id == sid)).all()
        assert sorted(r.month for r in runs) == sorted({JANUARY, THIS_MONTH})
        issue_entries = session.scalar(select(func.count()).select_from(PointsEntry).where(PointsEntry.kind == "issue"))
        # January and this month: A gets 100, B gets 100 and 20, as one lot per validity.
        assert issue_entries == 3 * len(runs)
        # January's lots are past their last day (unless this is January): written off once, whole.
        if THIS_MONTH != JANUARY:
            assert sum(expired) == 3
            assert total(session, PointsEntry.points, PointsEntry.kind == "expire") == -220
        else:
            assert sum(expired) == 0


def test_redemptions_and_donations_at_the_same_moment_reconcile(race: dict[str, Any]) -> None:
    """Household A (100 points) tries [1 rice + 1 oil] (40) four times, and twice more with one idempotency key;
    household B (120) tries [1 oil + 2 rice] (50) three times; a desk donates 4 rice twice with one key. There
    are 3 oil: exactly 3 redemptions can succeed whatever the order (A can afford 2, B 2), no household goes
    below zero, no item below zero, the donation counts once, and the reports balance."""
    sid, who, rice, oil, a, b = (race[k] for k in ("sid", "who", "rice", "oil", "a", "b"))
    with race["db"].unit_of_work() as session:
        points.issue_month(session, sid, THIS_MONTH)
    with race["db"].sessions() as session:
        accounts = {h: session.scalar(select(Account).where(Account.household_id == h)) for h in (a, b)}
        before = {h: points.spendable(session, race["district"], [acc.id], local_today())[acc.id]
                  for h, acc in accounts.items()}
    assert before == {a: 100, b: 120}
    key_a, key_gift = f"same-{uuid.uuid4()}", f"gift-{uuid.uuid4()}"

    def take(household: uuid.UUID, lines: list[tuple[uuid.UUID, int]], key: str | None = None) -> Callable:
        return lambda s: redeem.redeem(s, who, sid, household, [{"item_id": i, "quantity": q} for i, q in lines],
                                       idempotency_key=key)

    def gift(s: Any) -> Any:
        return stock.record_donation(s, who, sid, kind="goods", donor_name="爱心企业", item_id=rice, quantity=4,
                                     value_fen=2000, idempotency_key=key_gift)

    jobs = ([take(a, [(rice, 1), (oil, 1)])] * 4 + [take(a, [(rice, 1), (oil, 1)], key_a)] * 2
            + [take(b, [(oil, 1), (rice, 2)])] * 3 + [gift, gift])
    results = at_once(race["url"], jobs)

    redeemed = [r for r in results[:9] if not isinstance(r, Conflict)]
    refusals = [r for r in results[:9] if isinstance(r, Conflict)]
    assert all(r.field in ("items", "points") for r in refusals), [r.message for r in refusals]
    ids = {red.id for red, _created in redeemed}
    keyed = [r for r in results[4:6] if not isinstance(r, Conflict)]
    assert len({red.id for red, _ in keyed}) <= 1  # one key, one redemption
    assert len(ids) == 3  # the 3 oil, never a fourth
    gifts = results[9:]
    assert sorted(created for _d, created in gifts) == [False, True] and gifts[0][0].id == gifts[1][0].id

    with race["db"].sessions() as session:
        reds = session.scalars(select(Redemption).where(Redemption.supermarket_id == sid)).all()
        assert {r.id for r in reds} == ids
        spent_by = {h: sum(r.points for r in reds if r.account_id == accounts[h].id) for h in (a, b)}
        n_a, n_b = spent_by[a] // 40, spent_by[b] // 50
        assert n_a <= 2 and n_b <= 2 and n_a + n_b == 3 and spent_by[a] % 40 == 0 and spent_by[b] % 50 == 0
        for h in (a, b):
            account = accounts[h]
            spends = total(session, PointsEntry.points, PointsEntry.account_id == account.id,
                           PointsEntry.kind == "spend")
            assert -spends == spent_by[h]  # no lost or doubled points
            left = points.spendable(session, race["district"], [account.id], local_today())[account.id]
            assert left == before[h] - spent_by[h] >= 0
            # No lot went below zero either.
            assert all(lot.remaining >= 0 for lot in points.lots_of(session, account))
        here = StockEntry.supermarket_id == sid
        gift_rows = session.scalars(select(Donation).where(Donation.idempotency_key == key_gift)).all()
        assert len(gift_rows) == 1
        assert total(session, StockEntry.quantity, here, StockEntry.item_id == oil) == 3 - 3 == 0
        assert total(session, StockEntry.quantity, here, StockEntry.item_id == rice) == 6 + 4 - (n_a + 2 * n_b) >= 0
        report = reports.reconcile(session, staff(), sid, JANUARY, local_today())
        assert report.balanced, report
        assert report.points.spent == sum(spent_by.values())


def test_conversions_at_the_same_moment_stay_within_the_months_cap(race: dict[str, Any]) -> None:
    """Three desks convert 8 hours of one volunteer at once: the district rule allows 20 hours a month, so exactly
    two conversions go through, whatever the order, and the third is refused whole (the volunteer's row is locked
    before the month's conversions are counted)."""
    from jiayuan.volunteers import service as volunteers
    from tests.charity.helpers import household

    who = race["who"]
    with race["db"].unit_of_work() as session:
        home = household(session, who, "志愿者户", "9100077", {})
        volunteer = volunteers.create_volunteer(session, who, {"person_id": home.head_id})
        volunteers.credit_hours(session, volunteer.id, volunteer.district_code, 40 * 60, "service", "test",
                                uuid.uuid4())
        vid, district = volunteer.id, volunteer.district_code
    results = at_once(race["url"], [lambda s: points.convert_hours(s, who, vid, 8)] * 3)
    done = [r for r in results if not isinstance(r, Conflict)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(done) == 2 and len(refused) == 1, results
    assert (refused[0].field, refused[0].reason, refused[0].details["left_hours"]) == ("hours", "monthly_cap", 4)
    with race["db"].sessions() as session:
        assert volunteers.balance_minutes(session, district, vid) == (40 - 16) * 60
        assert total(session, PointsEntry.points, PointsEntry.kind == "conversion",
                     PointsEntry.source_id == vid) == 16 * 10
