"""Intake when the database fails (503 with Retry-After, nothing half-written) and when a retry races the request
it repeats (the same case, never a conflict). Found by `make chaos` (bench/chaos.py), kept here as fast tests."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi.testclient import TestClient
from sqlalchemy import event, func, select, text

from jiayuan.app import create_app
from jiayuan.cases.models import Case
from jiayuan.kit.db import Database
from jiayuan.notify.models import OutboxMessage
from tests.cases.helpers import point_in
from tests.personas import GRID_A


def _count(db, model) -> int:  # noqa: ANN001
    with db.sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


@contextmanager
def failing(engine, table: str, error: Exception) -> Iterator[None]:  # noqa: ANN001
    """Every INSERT into `table` fails with the driver's own error, as when the server goes away mid-request."""

    def fail(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        if statement.lstrip().upper().startswith(f"INSERT INTO {table.upper()} "):
            raise error

    event.listen(engine, "before_cursor_execute", fail)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", fail)


def test_a_database_failure_mid_intake_is_a_retriable_503(api, db) -> None:  # noqa: ANN001
    """The case is inserted, then the outbox insert fails (the server restarting): 503 with Retry-After and the
    error body, the whole transaction undone, and the retry with the same key makes the case once."""
    lat, lon = point_in(api, GRID_A)
    body = {"category": "1101", "description": "暴露垃圾", "lat": lat, "lon": lon, "reporter_phone": "13900001111"}
    headers = {"Idempotency-Key": f"outage-{uuid.uuid4().hex}"}
    cases, messages = _count(db, Case), _count(db, OutboxMessage)
    # A message that is no disconnect, so that SQLAlchemy keeps the test's connection (and its rollback).
    dbapi = db.engine.dialect.loaded_dbapi
    with failing(db.engine, "outbox", dbapi.OperationalError("canceling statement due to lock timeout")):
        r = api("hotline").post("/api/v1/cases", json=body, headers=headers)
    assert r.status_code == 503, r.text
    assert r.headers["Retry-After"] == "2"
    assert r.json()["error"] == "unavailable" and r.json()["details"] == {"retry_after": 2}
    assert (_count(db, Case), _count(db, OutboxMessage)) == (cases, messages)

    again = api("hotline").post("/api/v1/cases", json=body, headers=headers)
    assert again.status_code == 201 and again.json()["replayed"] is False
    assert (_count(db, Case), _count(db, OutboxMessage)) == (cases + 1, messages + 2)


def test_a_database_that_does_not_answer_is_a_retriable_503(api, settings, database_url,  # noqa: ANN001
                                                            tmp_path) -> None:
    """The server is down (connection refused; for SQLite, a file that cannot be opened): every request that
    needs the database, the token check included, answers 503 with Retry-After — JSON and Open311 alike."""
    token = api("hotline").headers
    down = ("postgresql://postgres@127.0.0.1:1/down" if database_url.startswith("postgresql")
            else f"sqlite:///{tmp_path}")  # a directory: "unable to open database file"
    nowhere = Database(down)
    try:
        with TestClient(create_app(settings, db=nowhere)) as client:
            r = client.post("/api/v1/cases", headers={**token, "Idempotency-Key": "down-1"},
                            json={"category": "1101", "description": "暴露垃圾", "unit_code": GRID_A})
            assert r.status_code == 503, r.text
            assert r.headers["Retry-After"] == "2" and r.json()["error"] == "unavailable"
            spec = client.post("/open311/v2/requests.json?api_key=k", json={"service_code": "1101"})
            assert spec.status_code == 503 and spec.headers["Retry-After"] == "2"
            assert spec.json()[0]["code"] == 503
            assert client.get("/healthz").status_code == 503
    finally:
        nowhere.dispose()


def test_a_retry_racing_its_first_request_gets_the_same_case(migrated) -> None:  # noqa: ANN001
    """A client times out and retries while its first request is still writing. The retry waits for it (on
    PostgreSQL at the unique key, on SQLite at the write lock) and answers with its case as a replay, not a 409.
    (Real transactions on the shared database: no per-test transaction may hold the lock.)"""
    from shapely.geometry import shape

    from jiayuan.accounts.models import User
    from jiayuan.accounts.service import principal_of
    from jiayuan.cases import intake
    from jiayuan.kit.scope import Scope
    from jiayuan.units.service import get_unit

    with migrated.unit_of_work() as s:
        point = shape(get_unit(s, Scope.everything(), GRID_A).geometry).representative_point()
        hotline = principal_of(s.scalar(select(User).where(User.username == "hotline1")))
    data = intake.CaseInput(category="1502", description="超时重试", lat=point.y, lon=point.x)
    key = f"race-{uuid.uuid4().hex}"
    outcome: dict[str, object] = {}

    def retry() -> None:
        try:
            with migrated.unit_of_work() as s:
                again = intake.report_case(s, data, channel="api", actor=hotline, idempotency_key=key)
                outcome.update(number=again.case.number, replayed=again.replayed)
        except Exception as exc:  # noqa: BLE001 - the failure is the finding
            outcome["error"] = repr(exc)

    first = migrated.sessions()
    number = None
    try:
        number = intake.report_case(first, data, channel="api", actor=hotline, idempotency_key=key).case.number
        thread = threading.Thread(target=retry)
        thread.start()
        _wait_until_blocked(migrated)
        first.commit()
        thread.join(30)
        assert outcome == {"number": number, "replayed": True}
    finally:
        first.close()
        with migrated.unit_of_work() as s:
            for case in s.scalars(select(Case).where(Case.idempotency_key == f"hotline1:{key}")):
                s.delete(case)


def _wait_until_blocked(db: Database, seconds: float = 10) -> None:
    """Until the retry waits on the first request's lock (PostgreSQL); SQLite cannot tell, so a short pause."""
    if db.engine.dialect.name != "postgresql":
        time.sleep(0.5)
        return
    end = time.monotonic() + seconds
    with db.engine.connect() as conn:
        while time.monotonic() < end:
            waiting = conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                        "AND wait_event_type = 'Lock'")).scalar()
            if waiting:
                return
            conn.rollback()
            time.sleep(0.05)
    raise AssertionError("the retry never waited for the first request")
