"""The worker's hourly sweep (notify/tasks.py): throttle windows that ended long ago and expired sessions go; the
current ones stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from huey import MemoryHuey
from sqlalchemy import select

from jiayuan.accounts.models import User, UserSession
from jiayuan.kit.throttle import Limit, ThrottleCounter, hit, peek
from jiayuan.notify.tasks import purge_spent, register

LIMIT = Limit("purge-test", 5, timedelta(minutes=15))


def test_spent_counters_and_expired_sessions_are_purged(db, settings) -> None:  # noqa: ANN001
    now = datetime.now(UTC)
    with db.sessions() as s:
        user = s.scalar(select(User).where(User.username == "admin"))
        hit(s, LIMIT, "old", now=now - timedelta(days=3))
        hit(s, LIMIT, "current", now=now)
        for key, age in (("idle", timedelta(hours=3)), ("fresh", timedelta(minutes=5))):
            s.add(UserSession(key_hash=key, user_id=user.id, token_version=user.token_version,
                              created_at=now - age, seen_at=now - age))
        s.commit()
    counters, ended = purge_spent(db, settings, now=now)
    assert counters >= 1 and ended >= 1
    with db.sessions() as s:
        assert peek(s, LIMIT, "old", now=now - timedelta(days=3)).count == 0
        assert peek(s, LIMIT, "current", now=now).count == 1
        assert {k for k in s.scalars(select(UserSession.key_hash))} >= {"fresh"}
        assert s.get(UserSession, "idle") is None
        assert s.scalar(select(ThrottleCounter.count).where(ThrottleCounter.key == LIMIT.key("current"))) == 1


def test_the_sweep_is_registered_hourly() -> None:
    huey = MemoryHuey("test-purge", immediate=True)
    tasks = register(huey)
    due = {t.name for t in huey.read_periodic(datetime(2026, 12, 1, 10, 41))}
    assert "notify.purge_spent" in due and tasks.purge is not None
    assert "notify.purge_spent" not in {t.name for t in huey.read_periodic(datetime(2026, 12, 1, 10, 42))}
