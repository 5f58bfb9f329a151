"""Notify jobs: the worker claims outbox messages with a compare-and-set update and sends each one once; and the
hourly sweep of spent throttle counters (kit/throttle.py: sign-ins, tracking, SMS limits) and expired sessions."""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, cast

from huey import Huey, crontab
from sqlalchemy import ColumnElement, CursorResult, Row, and_, false, or_, select, update

from jiayuan.accounts import sessions
from jiayuan.config import get_settings
from jiayuan.kit import throttle
from jiayuan.kit.db import Database, utcnow
from jiayuan.notify.models import OutboxMessage as M
from jiayuan.notify.senders import Sender, configured_senders, scrub
from jiayuan.notify.service import rendered

logger = logging.getLogger("jiayuan.notify")

# A claim older than this belongs to a worker that died mid-send; the message is taken again.
STALE_AFTER = timedelta(minutes=5)
# 2^attempts minutes, capped so that a large max_attempts cannot overflow a datetime.
BACKOFF_CAP = timedelta(days=1)
TICK_SECONDS = 15
LAST_ERROR_MAX = 300
# One drain stops after this many batches so that a flood cannot hold a worker thread indefinitely.
MAX_ROUNDS = 50


def backoff(attempts: int) -> timedelta:
    """How long after a claim a message that failed `attempts` times waits before the next try."""
    return min(timedelta(minutes=2 ** min(attempts, 20)), BACKOFF_CAP)


@dataclass
class Round:
    """What one call of the delivery loop did."""

    candidates: int = 0
    claimed: int = 0
    sent: int = 0
    failed: int = 0  # attempts that raised, whether retried later or given up


def deliver_pending(
    db: Database,
    *,
    batch: int = 100,
    max_attempts: int = 5,
    now: datetime | None = None,
    senders: Mapping[str, Sender] | None = None,
) -> int:
    """Send up to `batch` due messages; returns how many were sent.

    Safe to run in several workers at once: a message is sent only by the worker whose compare-and-set
    claim changed its row. Delivery is at least once, not exactly once, in one case only: a worker that
    stops after its sender succeeded but before recording it leaves the message to be sent again after
    STALE_AFTER. `now` fixes the clock (tests); `senders` overrides the configured sender of a channel.
    """
    return deliver_round(db, batch=batch, max_attempts=max_attempts, now=now, senders=senders).sent


def deliver_round(
    db: Database,
    *,
    batch: int = 100,
    max_attempts: int = 5,
    now: datetime | None = None,
    senders: Mapping[str, Sender] | None = None,
) -> Round:
    if batch < 1 or max_attempts < 1:
        raise ValueError("batch and max_attempts must be at least 1")
    clock = _clock(now)
    start = clock()
    with db.sessions() as s:
        candidates = s.execute(
            select(M.district_code, M.id, M.channel, M.status, M.claimed_at, M.attempts)
            .where(_due(start, max_attempts))
            .order_by(M.created_at)
            .limit(batch)
        ).all()
        abandoned = s.execute(
            select(M.district_code, M.id, M.channel, M.status, M.claimed_at, M.attempts)
            .where(M.status == "sending", M.attempts >= max_attempts, M.claimed_at <= start - STALE_AFTER)
            .limit(batch)
        ).all()
        s.commit()  # end the read at once: on SQLite it holds the write lock

    for row in abandoned:
        _give_up_abandoned(db, row, max_attempts)

    result = Round(candidates=len(candidates))
    if not candidates:
        return result
    # Resolve senders before claiming anything: a misconfigured sender must not strand claimed messages.
    resolved = dict(senders or {})
    missing = tuple({row.channel for row in candidates} - resolved.keys())
    if missing:
        resolved.update(configured_senders(channels=missing))

    for row in candidates:
        message = _claim(db, row, clock())
        if message is None:
            continue  # another worker claimed it first
        result.claimed += 1
        if _send(db, message, resolved.get(message.channel), max_attempts, clock):
            result.sent += 1
        else:
            result.failed += 1
    return result


def drain(db: Database, *, batch: int = 100, max_attempts: int = 5,
          senders: Mapping[str, Sender] | None = None) -> int:
    """Deliver batch after batch until no full batch is left (or MAX_ROUNDS); returns how many were sent."""
    senders = {**configured_senders(), **(senders or {})}
    sent = 0
    for _ in range(MAX_ROUNDS):
        result = deliver_round(db, batch=batch, max_attempts=max_attempts, senders=senders)
        sent += result.sent
        if result.candidates < batch:
            break
    if sent:
        logger.info("notify: %d messages sent", sent)
    return sent


def deliver_outbox() -> int:
    """One drain against the configured database, with an engine of its own (never a request's session)."""
    db = Database(get_settings().database_url)
    try:
        return drain(db)
    finally:
        db.dispose()


def purge_spent(db: Database, settings: Any = None, *, now: datetime | None = None) -> tuple[int, int]:
    """Delete throttle windows that ended long ago and sessions that have expired; returns how many of each."""
    settings = settings or get_settings()
    now = now or utcnow()
    with db.unit_of_work() as s:
        counters = throttle.purge(s, now=now)
        ended = sessions.purge(s, max_age=settings.session_max_age_seconds, idle=settings.session_idle_seconds,
                               now=now)
    if counters or ended:
        logger.info("purged %d throttle counters and %d expired sessions", counters, ended)
    return counters, ended


class NotifyTasks(NamedTuple):
    every_minute: Any  # huey periodic task: drains, then schedules the drains of the rest of the minute
    drain: Any  # huey task: one drain
    purge: Any  # huey periodic task, hourly: spent throttle counters and expired sessions


_registered: weakref.WeakKeyDictionary[Huey, NotifyTasks] = weakref.WeakKeyDictionary()


def register(huey: Huey) -> NotifyTasks:
    """Register the outbox jobs on `huey` (the worker calls this at start); registering twice is harmless."""
    if huey in _registered:
        return _registered[huey]

    @huey.task(name="notify.drain_outbox")
    def drain_outbox() -> int:
        return deliver_outbox()

    # Cron cannot say "every 15 seconds": the minute's run schedules three more drains rather than sleeping,
    # so no worker thread is held for the whole minute and the worker still stops promptly. A drain that
    # runs late (worker busy or down) expires instead of piling up; overlapping drains are safe (claims).
    @huey.periodic_task(crontab(minute="*"), name="notify.deliver_outbox")
    def deliver_outbox_every_minute() -> int:
        for delay in range(TICK_SECONDS, 60, TICK_SECONDS):
            drain_outbox.schedule(delay=delay, expires=delay + TICK_SECONDS)
        return deliver_outbox()

    @huey.periodic_task(crontab(minute="41"), name="notify.purge_spent")
    def purge_spent_hourly() -> tuple[int, int]:
        db = Database(get_settings().database_url)
        try:
            return purge_spent(db)
        finally:
            db.dispose()

    _registered[huey] = tasks = NotifyTasks(deliver_outbox_every_minute, drain_outbox, purge_spent_hourly)
    return tasks


def _clock(now: datetime | None) -> Callable[[], datetime]:
    if now is None:
        return utcnow
    fixed = now if now.tzinfo else now.replace(tzinfo=UTC)
    return lambda: fixed


def _due(now: datetime, max_attempts: int) -> ColumnElement[bool]:
    """Pending and past its back-off, or claimed by a worker that has been silent for STALE_AFTER."""
    # One term per attempt count keeps the back-off in plain comparisons that SQLite and PostgreSQL share.
    pending = and_(M.status == "pending", or_(
        M.claimed_at.is_(None),
        *(and_(M.attempts == k, M.claimed_at <= now - backoff(k)) for k in range(max_attempts)),
    ))
    stale = and_(M.status == "sending", or_(
        *(and_(M.attempts == k, M.claimed_at <= now - max(STALE_AFTER, backoff(k)))
          for k in range(1, max_attempts)),
    )) if max_attempts > 1 else false()
    return and_(M.attempts < max_attempts, or_(pending, stale))


def _same_state(row: Row[Any]) -> ColumnElement[bool]:
    """The row still as this worker read it: the compare of compare-and-set."""
    return and_(
        M.district_code == row.district_code, M.id == row.id, M.status == row.status,
        M.attempts == row.attempts,
        M.claimed_at.is_(None) if row.claimed_at is None else M.claimed_at == row.claimed_at,
    )


def _claim(db: Database, row: Row[Any], now: datetime) -> M | None:
    """Take one message in a short transaction of its own; None when another worker changed it first."""
    with db.sessions() as s:
        result = cast(CursorResult[Any], s.execute(
            update(M).where(_same_state(row))
            .values(status="sending", claimed_at=now, attempts=M.attempts + 1)
            .execution_options(synchronize_session=False)
        ))
        if result.rowcount != 1:
            s.rollback()
            return None
        message = s.scalars(select(M).where(M.district_code == row.district_code, M.id == row.id)).one()
        s.commit()  # the claim is visible to every other worker before anything is sent
        return message


def _send(db: Database, message: M, sender: Sender | None, max_attempts: int,
          clock: Callable[[], datetime]) -> bool:
    outgoing = _outgoing(message)
    try:
        if sender is None:
            raise LookupError(f"no sender for channel {message.channel!r}")
        sender.send(outgoing)
    except Exception as exc:  # noqa: BLE001 - any failure of a sender is a failed attempt, retried later
        error = _describe(exc, outgoing)
        final = message.attempts >= max_attempts
        # A message given up on no longer needs its secret either.
        _finish(db, message, {"status": "failed" if final else "pending", "last_error": error,
                              **({"secret": None} if final else {})})
        logger.warning("notify %s message %s: attempt %d of %d failed%s: %s", message.channel, message.id,
                       message.attempts, max_attempts, ", giving up" if final else "", error)
        return False
    # Sent: the secret has done its work and is dropped, so that the outbox (and any backup of it) holds no code.
    if not _finish(db, message, {"status": "sent", "sent_at": clock(), "last_error": None, "secret": None}):
        logger.warning("notify message %s was sent but its claim had been taken over", message.id)
    return True


def _outgoing(message: M) -> M:
    """What the sender is given: a copy of the claimed row, in no session, with its secret put into the text. The
    text with the secret is never written back: the table keeps the body with its mark, and the secret only until
    the message is sent."""
    if message.secret is None:
        return message
    copy = M(**{c.key: getattr(message, c.key) for c in M.__table__.columns})
    copy.body = rendered(message)
    return copy


def _finish(db: Database, message: M, values: dict[str, Any]) -> bool:
    """Record the outcome, only while this worker's claim still holds."""
    with db.sessions() as s:
        result = cast(CursorResult[Any], s.execute(
            update(M).where(
                M.district_code == message.district_code, M.id == message.id, M.status == "sending",
                M.attempts == message.attempts, M.claimed_at == message.claimed_at,
            ).values(**values).execution_options(synchronize_session=False)
        ))
        s.commit()
        return result.rowcount == 1


def _give_up_abandoned(db: Database, row: Row[Any], max_attempts: int) -> None:
    """A message whose last allowed attempt died with its worker: failed, not 'sending' for ever."""
    with db.sessions() as s:
        result = cast(CursorResult[Any], s.execute(
            update(M).where(_same_state(row))
            .values(status="failed", secret=None,
                    last_error=f"worker stopped while sending; gave up after {max_attempts} attempts")
            .execution_options(synchronize_session=False)
        ))
        s.commit()
    if result.rowcount == 1:
        logger.warning("notify %s message %s: abandoned while sending, marked failed", row.channel, row.id)


def _describe(exc: Exception, message: M) -> str:
    """The error for `last_error`: its type and text, scrubbed of the message's personal data, truncated."""
    text = f"{type(exc).__name__}: {scrub(str(exc), message)}"
    return text if len(text) <= LAST_ERROR_MAX else text[: LAST_ERROR_MAX - 1] + "…"
