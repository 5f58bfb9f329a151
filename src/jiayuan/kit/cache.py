"""Versions of process caches: a row per cache, moved in the same transaction as the data it mirrors."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Generic, TypeVar

from sqlalchemy import String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from jiayuan.kit.db import Base, Local

T = TypeVar("T")


class CacheVersion(Local, Base):
    """A token per cache (the grid index, the working calendar) that processes compare before using theirs."""

    __tablename__ = "cache_versions"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    # A fresh random token on every change, not a counter: a rolled-back change followed by another must
    # not reproduce a token that some process cached while the first was in flight.
    token: Mapped[str] = mapped_column(String(36))


# session.info key of the versions read in the session's current transaction.
_SEEN = "jiayuan.cache_versions"


def bump(session: Session, name: str) -> None:
    """Invalidate every process's copy of cache `name`, in the caller's transaction."""
    token = str(uuid.uuid4())
    session.info.pop(_SEEN, None)  # this transaction must read its own change
    if session.execute(update(CacheVersion).where(CacheVersion.name == name).values(token=token)).rowcount == 0:
        session.add(CacheVersion(name=name, token=token))
        session.flush()


def current(session: Session, name: str) -> str:
    """The version token of cache `name`, as this transaction first saw it.

    Every version row is read in one query, once per transaction: a request that locates a point, reads the
    working calendar and names units checks all three caches with one round trip. A change another process
    commits meanwhile is seen by the next transaction, as if this one had started a moment earlier."""
    seen = session.info.get(_SEEN)
    transaction = session.get_transaction()
    if seen is not None and transaction is not None and seen[0] is transaction and name in seen[1]:
        return seen[1][name]
    tokens = {name: token for name, token in session.execute(select(CacheVersion.name, CacheVersion.token))}
    tokens.setdefault(name, "")
    session.info[_SEEN] = (session.get_transaction(), tokens)
    return tokens[name]


class ProcessCache(Generic[T]):
    """A value built from the database and kept in this process, per database, until its version row moves.

    Several processes may each hold one; every use checks the version (one primary-key read), so none of
    them serves a stale copy after another process changed the data."""

    def __init__(self, name: str, build: Callable[[Session], T]) -> None:
        self.name = name
        self.build = build
        self._held: dict[str, tuple[str, T]] = {}
        self._lock = threading.Lock()

    def get(self, session: Session) -> T:
        version = current(session, self.name)
        key = str(session.get_bind().engine.url)
        held = self._held.get(key)
        if held is None or held[0] != version:
            with self._lock:  # one build at a time; the others wait and take it
                held = self._held.get(key)
                if held is None or held[0] != version:
                    held = self._held[key] = (version, self.build(session))
        return held[1]
