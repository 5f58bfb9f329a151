"""Versions of process caches: a row per cache, moved in the same transaction as the data it mirrors."""

from __future__ import annotations

import uuid

from sqlalchemy import String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from jiayuan.kit.db import Base, Local


class CacheVersion(Local, Base):
    """A token per cache (the grid index, the working calendar) that processes compare before using theirs."""

    __tablename__ = "cache_versions"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    # A fresh random token on every change, not a counter: a rolled-back change followed by another must
    # not reproduce a token that some process cached while the first was in flight.
    token: Mapped[str] = mapped_column(String(36))


def bump(session: Session, name: str) -> None:
    """Invalidate every process's copy of cache `name`, in the caller's transaction."""
    token = str(uuid.uuid4())
    if session.execute(update(CacheVersion).where(CacheVersion.name == name).values(token=token)).rowcount == 0:
        session.add(CacheVersion(name=name, token=token))
        session.flush()


def current(session: Session, name: str) -> str:
    return session.scalar(select(CacheVersion.token).where(CacheVersion.name == name)) or ""
