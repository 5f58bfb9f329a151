"""Use cases of accounts: create users, sign in, issue and read tokens, resolve scopes, audit."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiayuan.accounts.models import NO_DISTRICT, AuditEntry, User
from jiayuan.accounts.passwords import check_new_password
from jiayuan.accounts.roles import SCOPE_LENGTHS, Role
from jiayuan.kit.db import defer_write, utcnow
from jiayuan.kit.errors import Conflict, Invalid, Unauthorized
from jiayuan.kit.scope import Scope

_hasher = PasswordHasher()
# Verified against when the user name is unknown, so that a wrong name costs as long as a wrong password.
DUMMY_HASH = _hasher.hash("not-a-password")
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.\-]{1,63}$")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class Principal:
    """The signed-in caller: the account and the scope every query of theirs is filtered by."""

    user_id: uuid.UUID
    username: str
    full_name: str
    role: Role
    scope_code: str | None
    scope: Scope
    grids: tuple[str, ...] = field(default=())

    @property
    def district_code(self) -> str:
        return self.scope_code[:6] if self.scope_code else NO_DISTRICT


def validate_new_user(username: str, role: str, scope_code: str | None) -> tuple[str, Role]:
    """The user name normalised and the role parsed; the scope's length must fit the role."""
    username = username.strip().lower()
    if not USERNAME_RE.match(username):
        raise Invalid("2–64 lower-case letters, digits, '.', '_' or '-'", field="username")
    try:
        role_ = Role(role)
    except ValueError:
        raise Invalid(f"unknown role; one of {', '.join(r.value for r in Role)}", field="role") from None
    lengths = SCOPE_LENGTHS[role_]
    if lengths:
        if not scope_code or not scope_code.isdigit() or len(scope_code) not in lengths:
            digits = " or ".join(str(n) for n in lengths)
            raise Invalid(f"a {role_.value} needs a unit code of {digits} digits", field="scope")
    elif scope_code:
        raise Invalid(f"a {role_.value} has no unit scope", field="scope")
    return username, role_


def create_user(
    session: Session,
    *,
    username: str,
    full_name: str,
    role: str,
    scope_code: str | None,
    password: str | None = None,
    password_hash: str | None = None,
    check_unit: bool = False,
) -> User:
    """Create an account from a password (or an already made hash, for bulk loads). With `check_unit` (the API,
    the CLI, the providers' and volunteers' accounts) the scope must be a unit of the hierarchy."""
    username, role_ = validate_new_user(username, role, scope_code)
    if password_hash is None:
        password_hash = hash_password(check_new_password(password, username=username))
    if scope_code and check_unit and UNITS.unit_exists is not None and not UNITS.unit_exists(session, scope_code):
        raise Invalid(f"unknown unit code {scope_code}", field="scope")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"user name {username} is taken", field="username")
    user = User(username=username, full_name=full_name.strip() or username, role=role_.value,
                scope_code=scope_code or None, password_hash=password_hash)
    session.add(user)
    session.flush()
    return user


def record(
    session: Session,
    district_code: str,
    *,
    actor: str,
    action: str,
    actor_id: uuid.UUID | None = None,
    target: str | None = None,
    ip: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Audit an action. The entry is written after the caller's transaction, in one of its own, so that
    refused actions are recorded even though their transaction rolls back."""
    defer_write(session, AuditEntry(district_code=district_code, actor=actor, actor_id=actor_id,
                                    action=action, target=target, ip=ip, detail=detail, at=utcnow()))


def audit_for(session: Session, principal: Principal, action: str, **kw: Any) -> None:
    record(session, principal.district_code, actor=principal.username, actor_id=principal.user_id,
           action=action, **kw)


# Tokens: signed, time-limited, revoked by bumping the account's token_version.


def _serializer(secret: str, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=f"jiayuan.{purpose}")


def issue_token(secret: str, user: User) -> str:
    return _serializer(secret, "api-token").dumps({"u": str(user.id), "v": user.token_version})


def read_token(secret: str, token: str, max_age: int) -> tuple[uuid.UUID, int]:
    try:
        data = _serializer(secret, "api-token").loads(token, max_age=max_age)
    except SignatureExpired:
        raise Unauthorized("the token has expired; request a new one", field="token") from None
    except BadSignature:
        raise Unauthorized("the token is not valid", field="token") from None
    return uuid.UUID(data["u"]), int(data["v"])


@dataclass
class UnitDirectory:
    """What accounts asks of the unit hierarchy, which lies above it (units owns the grids and their workers):
    the grids a worker is assigned to, and whether a unit code exists. Wired at start-up (jiayuan.hooks)."""

    grids_of_user: Callable[[Session, uuid.UUID], tuple[str, ...]] = lambda _session, _user_id: ()
    unit_exists: Callable[[Session, str], bool] | None = None


UNITS = UnitDirectory()


def use_units(grids_of_user: Callable[[Session, uuid.UUID], tuple[str, ...]],
              unit_exists: Callable[[Session, str], bool]) -> None:
    UNITS.grids_of_user, UNITS.unit_exists = grids_of_user, unit_exists


def load_principal(session: Session, user_id: uuid.UUID, token_version: int) -> Principal:
    """The account behind a token or session, with its scope (a grid worker's is their grids)."""
    user = session.get(User, user_id)
    if user is None or not user.is_active or user.token_version != token_version:
        raise Unauthorized("signed out: sign in again", field="token")
    return principal_of(user, UNITS.grids_of_user(session, user.id) if user.role == Role.grid_worker else ())


def principal_of(user: User, grids: tuple[str, ...] = ()) -> Principal:
    role = Role(user.role)
    if role == Role.grid_worker:
        # A grid worker's scope is the grids they are on, and nothing once taken off the last: not their account's
        # unit, which may be a whole community (docs/architecture.md).
        prefixes = tuple(sorted(set(grids)))
    elif user.scope_code:
        prefixes = (user.scope_code,)
    else:
        prefixes = ()
    return Principal(user.id, user.username, user.full_name, role, user.scope_code, Scope(prefixes), grids)


def user_by_id(session: Session, user_id: uuid.UUID) -> User | None:
    """One account by id, from the session's identity map when it is already loaded."""
    return session.get(User, user_id)


def users_by_ids(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, User]:
    if not ids:
        return {}
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))}


def user_by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username.strip().lower()))


def list_users(session: Session, scope: Scope, *, role: str | None = None, limit: int = 200,
               offset: int = 0) -> list[User]:
    """Accounts whose scope lies inside the caller's (a user's scope code is their unit)."""
    stmt = select(User).where(User.scope_code.is_not(None), scope.clause(User.scope_code, func.substr(
        User.scope_code, 1, 6)))
    if role:
        stmt = stmt.where(User.role == role)
    return list(session.scalars(stmt.order_by(User.username).limit(limit).offset(offset)))


def anonymize_user(session: Session, user_id: uuid.UUID, name: str) -> bool:
    """Close an account whose holder was erased (the registry's anonymisation): no name or user name of theirs
    kept, signed out everywhere, never to sign in again. The row stays: audit entries and ledgers point at it."""
    user = session.get(User, user_id)
    if user is None:
        return False
    user.full_name, user.username = name, f"erased-{user.id.hex[:20]}"
    user.is_active, user.token_version = False, user.token_version + 1
    user.totp_secret = user.totp_enabled_at = user.totp_last_step = None
    session.flush()
    return True
