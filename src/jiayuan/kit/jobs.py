"""The background queue (huey): SQLite under var/ by default, Redis at scale; jobs sent only after commit."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey
from sqlalchemy import event
from sqlalchemy.orm import Session

from jiayuan.config import get_settings


@lru_cache
def queue() -> Huey:
    settings = get_settings()
    if settings.queue_backend == "redis":
        return RedisHuey("jiayuan", url=settings.redis_url)
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("jiayuan", filename=str(settings.var_dir / "queue.db"))


def after_commit(session: Session, send: Callable[[], Any]) -> None:
    """Enqueue when (and only if) the session's transaction commits: a rolled-back request sends nothing."""
    if not session.info.get("jobs_hooked"):
        event.listen(session, "after_commit", _send_pending)
        event.listen(session, "after_soft_rollback", _drop_pending)
        session.info["jobs_hooked"] = True
    session.info.setdefault("after_commit", []).append(send)


def _send_pending(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: the transaction may still roll back
        return
    for send in session.info.pop("after_commit", []):
        send()


def _drop_pending(session: Session, previous_transaction: Any) -> None:
    if not previous_transaction.nested:
        session.info.pop("after_commit", None)
