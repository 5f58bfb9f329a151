"""Counters of attempts per subject and time window, counted atomically on both databases (OWASP ASVS 2.4.1).

A limit is a `Limit`: a name, how many attempts a window admits, and the window's length. `hit` adds one attempt
and returns the count in the current window in a single statement (an upsert with RETURNING), so that parallel
attempts cannot all read the same count and pass together: on PostgreSQL the row lock of the conflicting insert
serialises them, on SQLite the write lock every transaction takes (kit/db.py: BEGIN IMMEDIATE) does.

Subjects (an account, a source address, a phone number) are stored as blind indexes (HMAC), never as they are:
a table of phone numbers tried would be personal data of its own.

A hit counts in the caller's transaction. When the attempt is then refused and the request rolls back, the count
must survive: the caller commits after the hit and before it checks anything else (`hit_and_commit`).

To count only failures, count every attempt before checking it and take a success back (`forgive`): parallel
attempts are then still bounded by the limit, which counting after the check would not be.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Integer, String, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from jiayuan.kit.crypto import blind_index
from jiayuan.kit.db import Base, Local, UtcDateTime, utcnow
from jiayuan.kit.errors import DomainError


class ThrottleCounter(Local, Base):
    """Attempts of one subject against one limit in one window."""

    __tablename__ = "throttle_counters"

    # "<limit name>:<blind index of the subject>"
    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class Throttled(DomainError):
    """Too many attempts: a 429, with `details.retry_after` in seconds (the Retry-After header)."""

    status_code = 429
    code = "too_many_requests"
    default_reason = "throttled"


@dataclass(frozen=True)
class Limit:
    """At most `attempts` in every window of `window` (fixed windows, aligned on the epoch)."""

    name: str
    attempts: int
    window: timedelta

    def key(self, subject: str) -> str:
        return f"{self.name}:{blind_index(subject, context='throttle:' + self.name)[:64]}"

    def window_of(self, now: datetime) -> tuple[datetime, datetime]:
        """The start and the end of the window `now` falls in."""
        seconds = int(self.window.total_seconds())
        start = datetime.fromtimestamp(int(now.timestamp()) // seconds * seconds, tz=now.tzinfo)
        return start, start + self.window


@dataclass(frozen=True)
class Count:
    """Attempts so far in the window, and when the window ends."""

    count: int
    limit: Limit
    resets_at: datetime

    @property
    def over(self) -> bool:
        return self.count > self.limit.attempts

    def retry_after(self, now: datetime | None = None) -> int:
        return max(1, int((self.resets_at - (now or utcnow())).total_seconds()) + 1)


def hit(session: Session, limit: Limit, subject: str, *, now: datetime | None = None) -> Count:
    """Count one attempt of `subject` against `limit`, atomically; the count includes this one."""
    now = now or utcnow()
    start, end = limit.window_of(now)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(ThrottleCounter).values(key=limit.key(subject), window_start=start, count=1)
    statement = statement.on_conflict_do_update(
        index_elements=["key", "window_start"], set_={"count": ThrottleCounter.count + 1}
    ).returning(ThrottleCounter.count)
    return Count(session.execute(statement).scalar_one(), limit, end)


def refuse_when_over(count: Count, message: str, *, field: str, now: datetime | None = None) -> None:
    """Raise Throttled (429 with Retry-After) when `count` is past its limit."""
    if count.over:
        wait = count.retry_after(now)
        raise Throttled(message, field=field, details={"retry_after": wait}, minutes=-(-wait // 60))


def hit_and_commit(session: Session, limit: Limit, subject: str, *, now: datetime | None = None) -> Count:
    """`hit`, committed at once, so that the attempt stays counted when the request is then refused."""
    count = hit(session, limit, subject, now=now)
    session.commit()
    return count


def peek(session: Session, limit: Limit, subject: str, *, now: datetime | None = None) -> Count:
    """The count of the current window, without adding to it."""
    now = now or utcnow()
    start, end = limit.window_of(now)
    n = session.scalar(select(ThrottleCounter.count).where(ThrottleCounter.key == limit.key(subject),
                                                           ThrottleCounter.window_start == start))
    return Count(n or 0, limit, end)


def forgive(session: Session, limit: Limit, subject: str, *, now: datetime | None = None) -> None:
    """Take one attempt back from the window `now` falls in (pass the `now` of the hit): the attempt turned out
    to be one that does not count, such as a right password. Never below zero."""
    start, _end = limit.window_of(now or utcnow())
    session.execute(update(ThrottleCounter).where(
        ThrottleCounter.key == limit.key(subject), ThrottleCounter.window_start == start, ThrottleCounter.count > 0,
    ).values(count=ThrottleCounter.count - 1).execution_options(synchronize_session=False))


def reset(session: Session, limit: Limit, subject: str) -> None:
    """Forget the subject's attempts against `limit` (after a success that proves it, say)."""
    session.execute(delete(ThrottleCounter).where(ThrottleCounter.key == limit.key(subject)))


def purge(session: Session, *, older_than: timedelta = timedelta(days=2), now: datetime | None = None) -> int:
    """Drop windows that ended long ago (the worker's hourly sweep); returns how many rows went."""
    cutoff = (now or utcnow()) - older_than
    return session.execute(delete(ThrottleCounter).where(ThrottleCounter.window_start < cutoff)).rowcount or 0
