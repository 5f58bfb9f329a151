"""Attempt counters: parallel attempts are each counted once, on both databases; windows end; subjects are not
stored as they are."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select

from jiayuan.kit.db import Database
from jiayuan.kit.throttle import Limit, ThrottleCounter, hit, hit_and_commit, peek, purge, reset


@pytest.fixture
def limit(migrated: Database) -> Iterator[Limit]:
    """A limit of its own (a unique name), its rows deleted afterwards: the test commits for real."""
    made = Limit(f"t{uuid.uuid4().hex[:8]}", attempts=5, window=timedelta(minutes=10))
    yield made
    with migrated.unit_of_work() as s:
        s.execute(delete(ThrottleCounter).where(ThrottleCounter.key.like(f"{made.name}:%")))


def test_parallel_attempts_are_each_counted_once(migrated: Database, limit: Limit) -> None:
    """Twelve threads hit at once: the counts they see are 1..12, each once (no two read the same count), so that
    at most `attempts` of them can pass the limit whatever the interleaving."""
    start, seen, errors = threading.Barrier(12), [], []

    def attempt() -> None:
        try:
            start.wait()
            with migrated.unit_of_work() as s:
                seen.append(hit(s, limit, "worker-7").count)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=attempt) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert sorted(seen) == list(range(1, 13))
    assert sum(1 for n in seen if n <= limit.attempts) == limit.attempts
    with migrated.unit_of_work() as s:
        assert peek(s, limit, "worker-7").over
        assert not peek(s, limit, "worker-8").over


def test_a_committed_hit_survives_the_refusal_that_follows(migrated: Database, limit: Limit) -> None:
    with pytest.raises(RuntimeError), migrated.unit_of_work() as s:
        hit_and_commit(s, limit, "someone")
        raise RuntimeError("refused")
    with migrated.unit_of_work() as s:
        assert peek(s, limit, "someone").count == 1
        reset(s, limit, "someone")
    with migrated.unit_of_work() as s:
        assert peek(s, limit, "someone").count == 0


def test_windows_end_and_old_ones_are_purged(migrated: Database, limit: Limit) -> None:
    then = datetime(2026, 3, 2, 9, 3, tzinfo=UTC)
    with migrated.unit_of_work() as s:
        for _ in range(6):
            count = hit(s, limit, "13800138000", now=then)
        assert count.over and count.resets_at == datetime(2026, 3, 2, 9, 10, tzinfo=UTC)
        assert count.retry_after(then) == 7 * 60 + 1
        assert peek(s, limit, "13800138000", now=then + timedelta(minutes=7)).count == 0
        keys = s.scalars(select(ThrottleCounter.key).where(ThrottleCounter.key.like(f"{limit.name}:%"))).all()
        assert keys and not any("13800138000" in k for k in keys)
        assert purge(s, now=then + timedelta(days=3)) >= 1
        assert peek(s, limit, "13800138000", now=then).count == 0
