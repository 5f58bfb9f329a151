"""Seats with a waitlist: a parent row (an activity, a volunteer opportunity) with a number of seats, held by child
rows (registrations, sign-ups) that either hold a seat or wait in line; a freed seat goes to the first in line.

Every change to the seats first locks the parent's row (SELECT … FOR UPDATE on PostgreSQL; on SQLite the write lock
taken at BEGIN IMMEDIATE) and reads it afresh, so two callers racing for the last seat are served one after the
other: exactly one gets it. The domain keeps its own rules (who may, when, what to tell whom); this holds the
mechanism once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

P = TypeVar("P")
C = TypeVar("C")


@dataclass(frozen=True)
class Waitlist(Generic[P, C]):
    """The seats of `parent` rows held by `child` rows. Both are keyed by (district_code, id); the child names its
    parent in `parent_key` and its place in line in `queued_at`."""

    parent: type[P]
    child: type[C]
    parent_key: str  # the child's column holding the parent's id ("activity_id")
    queued_at: str  # the child's column ordering the line ("registered_at")
    holds: tuple[str, ...]  # statuses that hold a seat
    seated: str  # the status of a seat given now ("registered", "signed_up")
    capacity: Callable[[P], int | None]  # the parent's number of seats; None is no limit
    waiting: str = "waitlisted"

    def _of(self, parent: Any) -> list[Any]:
        child: Any = self.child
        return [child.district_code == parent.district_code, getattr(child, self.parent_key) == parent.id]

    def lock(self, session: Session, parent: P) -> P:
        """The parent's row, locked for the rest of the transaction and read afresh."""
        model: Any = self.parent
        row: Any = parent
        locked = session.scalar(select(model).where(model.district_code == row.district_code, model.id == row.id)
                                .with_for_update().execution_options(populate_existing=True))
        assert locked is not None
        return locked

    def taken(self, session: Session, parent: P) -> int:
        """Seats held now."""
        child: Any = self.child
        return session.scalar(select(func.count()).select_from(child).where(
            *self._of(parent), child.status.in_(self.holds))) or 0

    def has_room(self, session: Session, parent: P) -> bool:
        seats = self.capacity(parent)
        return seats is None or self.taken(session, parent) < seats

    def place(self, session: Session, parent: P) -> str:
        """The status a newcomer gets (the parent locked by the caller): a seat while one is free, else the line."""
        return self.seated if self.has_room(session, parent) else self.waiting

    def promote(self, session: Session, parent: P, told: Callable[[C], None] | None = None) -> list[C]:
        """Move the first in line into each free seat (the parent locked by the caller); `told` is called for each
        one moved up (to let them know)."""
        child: Any = self.child
        stmt = select(child).where(*self._of(parent), child.status == self.waiting).order_by(
            getattr(child, self.queued_at), child.id)
        seats = self.capacity(parent)
        if seats is not None:
            free = seats - self.taken(session, parent)
            if free <= 0:
                return []
            stmt = stmt.limit(free)
        promoted = list(session.scalars(stmt))
        for row in promoted:
            row.status = self.seated
            if told is not None:
                told(row)
        session.flush()
        return promoted
