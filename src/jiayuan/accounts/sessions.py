"""Server-side sessions of signed-in browsers (OWASP ASVS 7.x): the cookie carries a random key, the
`user_sessions` table its hash. A session is made at each sign-in (a new key every time: a key planted before the
sign-in never becomes a signed-in one), checked on every request (idle and absolute expiry, the account active and
its token version unchanged), touched at most once a minute, and deleted when its browser signs out. A password
change, a reset of two-factor sign-in or of the password, and disabling the account end every session of the
account and, by bumping its token version, every bearer token too (`sign_out_everywhere`)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, or_
from sqlalchemy.orm import Session

from jiayuan.accounts.models import User, UserSession
from jiayuan.accounts.roles import Role
from jiayuan.accounts.service import UNITS, Principal, principal_of

# `seen_at` is written when it is older than this: a request a minute at most writes, not every one.
TOUCH_EVERY = timedelta(minutes=1)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _moment(now: float) -> datetime:
    return datetime.fromtimestamp(now, UTC)


def start(session: Session, user: User, *, now: float) -> str:
    """A new session of `user`; returns the key its cookie carries (never stored as it is)."""
    key = secrets.token_urlsafe(32)
    at = _moment(now)
    session.add(UserSession(key_hash=_hash(key), user_id=user.id, token_version=user.token_version, created_at=at,
                            seen_at=at))
    session.flush()
    return key


def end(session: Session, key: str) -> None:
    """Sign one browser out: its key opens nothing from now on."""
    session.execute(delete(UserSession).where(UserSession.key_hash == _hash(key)))


def sign_out_everywhere(session: Session, user: User) -> None:
    """End every session and bearer token of the account (a password change, a reset, disabling)."""
    user.token_version += 1
    session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    session.flush()


@dataclass(frozen=True)
class Resumed:
    principal: Principal | None
    expired: bool = False  # it ended by idling or by age (rather than being signed out or unknown)


def resume(session: Session, key: str, *, now: float, max_age: int, idle: int) -> Resumed:
    """The account a session key belongs to, if the session still holds; an expired or revoked one is deleted."""
    row = session.get(UserSession, _hash(key))
    if row is None:
        return Resumed(None)
    moment = _moment(now)
    if moment - row.created_at > timedelta(seconds=max_age) or moment - row.seen_at > timedelta(seconds=idle):
        session.delete(row)
        return Resumed(None, expired=True)
    user = session.get(User, row.user_id)
    if user is None or not user.is_active or user.token_version != row.token_version:
        session.delete(row)
        return Resumed(None)
    if moment - row.seen_at >= TOUCH_EVERY:
        row.seen_at = moment
    grids = UNITS.grids_of_user(session, user.id) if user.role == Role.grid_worker else ()
    return Resumed(principal_of(user, grids))


def purge(session: Session, *, max_age: int, idle: int, now: datetime) -> int:
    """Delete sessions that have expired (the worker's hourly sweep); returns how many went."""
    result = session.execute(delete(UserSession).where(or_(
        UserSession.created_at < now - timedelta(seconds=max_age),
        UserSession.seen_at < now - timedelta(seconds=idle))))
    return result.rowcount or 0
