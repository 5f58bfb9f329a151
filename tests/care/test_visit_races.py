"""Visits logged, confirmed and approved at the same moment, on SQLite and on PostgreSQL: of overlapping visits of
one volunteer sent together exactly one is kept, and a visit confirmed and approved together credits its minutes
once.

Each thread opens its own Database (engine, connection, transaction) on a scratch copy of the units-and-staff
database — not the rolled-back test transaction, which would make every thread share one connection and prove
nothing — and all are released together by a barrier. SQLite serialises writers at BEGIN IMMEDIATE; on PostgreSQL
the volunteer's row is locked (SELECT … FOR UPDATE) before the volunteer's visits are read."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from jiayuan.care import profiles, visits
from jiayuan.care.models import Visit
from jiayuan.kit.db import Database
from jiayuan.kit.errors import Conflict
from jiayuan.kit.i18n import TIMEZONE
from jiayuan.notify.models import OutboxMessage
from jiayuan.notify.service import rendered
from jiayuan.volunteers import service as volunteers
from tests.care.helpers import in_care, make_volunteer, paired, principal
from tests.conftest import UNITS_AND_STAFF
from tests.databases import backends, fresh_database

TIMEOUT = 120


@pytest.fixture(scope="module", params=backends())
def race(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A scratch database of the backend with a person in care of grid A and a volunteer paired with them."""
    with fresh_database(request.param, tmp_path_factory.mktemp("care-race"), UNITS_AND_STAFF,
                        "jiayuan_care_race") as url:
        db = Database(url)
        try:
            with db.unit_of_work() as session:
                start = profiles.local_today() - timedelta(days=10)
                profile = in_care(session, started=start)
                volunteer = make_volunteer(session)
                paired(session, profile, volunteer, started=start)
                ids = {"person": profile.person_id, "volunteer": volunteer.id, "district": volunteer.district_code}
            yield {"url": url, "db": db, **ids}
        finally:
            db.dispose()


def at_once(url: str, jobs: list[Callable[[Any], Any]]) -> list[Any]:
    """Each job in its own thread, on its own Database and transaction, all released together: its result, or
    the Conflict it raised."""
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def run(i: int, job: Callable[[Any], Any]) -> None:
        db = Database(url)
        try:
            barrier.wait(timeout=TIMEOUT)
            with db.unit_of_work() as session:
                results[i] = job(session)
        except BaseException as exc:  # noqa: BLE001 - judged below
            results[i] = exc
        finally:
            db.dispose()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a thread is still waiting: a lock was never released"
    unexpected = [r for r in results if isinstance(r, BaseException) and not isinstance(r, Conflict)]
    assert not unexpected, unexpected
    return results


def local(days_ago: int, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(profiles.local_today() - timedelta(days=days_ago), time(hour, minute), tzinfo=TIMEZONE)


def visit_job(race: dict[str, Any], begin: datetime, minutes: int) -> Callable[[Any], Any]:
    def job(session: Any) -> Any:
        return visits.log_visit(session, principal(session, "grid_a"), {
            "person_id": race["person"], "volunteer_id": race["volunteer"], "kind": "meals",
            "duration_minutes": minutes, "visited_at": begin}).visit.id
    return job


def test_overlapping_visits_sent_together_leave_one(race: dict[str, Any]) -> None:
    for days_ago in (2, 3, 4):  # three rounds, each of four visits that all overlap 10:30–10:45
        jobs = [visit_job(race, local(days_ago, 10, 0), 60), visit_job(race, local(days_ago, 10, 30), 30),
                visit_job(race, local(days_ago, 9, 45), 60), visit_job(race, local(days_ago, 10, 15), 45)]
        results = at_once(race["url"], jobs)
        kept = [r for r in results if not isinstance(r, Conflict)]
        refused = [r for r in results if isinstance(r, Conflict)]
        assert len(kept) == 1, results
        assert {(r.field, r.reason) for r in refused} == {("visited_at", "overlap")}
    with race["db"].sessions() as session:
        rows = session.execute(select(Visit.visited_at, Visit.duration_minutes).where(
            Visit.volunteer_id == race["volunteer"]).order_by(Visit.visited_at)).all()
        assert len(rows) == 3
        for (a, la), (b, _lb) in zip(rows, rows[1:], strict=False):
            assert a + timedelta(minutes=la) <= b  # no two overlap


def test_a_visit_confirmed_and_approved_together_is_credited_once(race: dict[str, Any]) -> None:
    with race["db"].unit_of_work() as session:
        visit_id = visit_job(race, local(1, 15), 40)(session)
    with race["db"].sessions() as session:
        body = rendered(session.scalar(select(OutboxMessage).where(OutboxMessage.ref == f"care-visit/{visit_id}")))
        code = re.search(r"确认码是 (\d{4})", body).group(1)
        before = volunteers.balance_minutes(session, race["district"], race["volunteer"])

    def confirm(session: Any) -> Any:
        check = visits.confirm_with_code(session, principal(session, "grid_a"), visit_id, code)
        assert check.confirmed
        return "confirmed"

    def approve(session: Any) -> Any:
        visits.approve_visit(session, principal(session, "community"), visit_id)
        return "approved"

    results = at_once(race["url"], [confirm, approve, approve])
    won = [r for r in results if not isinstance(r, Conflict)]
    assert len(won) == 1, results
    assert all(r.field == "visit_id" and r.reason in ("already_confirmed", "already_approved")
               for r in results if isinstance(r, Conflict))
    with race["db"].sessions() as session:
        assert volunteers.balance_minutes(session, race["district"], race["volunteer"]) == before + 40
        stored = session.scalar(select(Visit).where(Visit.id == visit_id))
        assert (stored.confirmed_at is None) != (stored.approved_at is None)  # one or the other, never both
        assert visits.state_of(stored) == won[0]
        assert session.scalar(select(func.count()).select_from(Visit).where(
            Visit.volunteer_id == race["volunteer"], Visit.credited_at.is_not(None))) == 1
