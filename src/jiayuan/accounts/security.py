"""Sign-in security: throttling of repeated failures, and two-factor sign-in with TOTP (RFC 6238).

Throttling is derived from the audit log, which records every attempt anyway: after MAX_FAILURES failed attempts
in a row (a wrong password or a wrong code; unknown user names too, so that a lock says nothing about whether a
name exists) the name is locked for LOCK_SECONDS, doubling with every further failure up to MAX_LOCK_SECONDS. A
success starts the count again. While locked, attempts are refused without looking at the password, and audited.
"""

from __future__ import annotations

import base64
import io
import math
from datetime import datetime, timedelta

import pyotp
import qrcode
import qrcode.image.svg
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.accounts import service
from jiayuan.accounts.models import NO_DISTRICT, AuditEntry, User
from jiayuan.accounts.roles import STAFF_ROLES, Role
from jiayuan.accounts.service import record
from jiayuan.kit.db import utcnow
from jiayuan.kit.errors import Conflict, DomainError, Invalid, Unauthorized

MAX_FAILURES = 5
LOCK_SECONDS = 60
MAX_LOCK_SECONDS = 3600
TOTP_ISSUER = "家园 Jiayuan"
ATTEMPTS = ("sign_in", "sign_in_failed")


class TooManyAttempts(DomainError):
    """The account is locked for a while after repeated failures."""

    status_code = 429
    code = "locked"


def district_of(user: User | None) -> str:
    return user.scope_code[:6] if user is not None and user.scope_code else NO_DISTRICT


def locked_until(session: Session, username: str, district: str, now: datetime | None = None) -> datetime | None:
    """When the lock on `username` ends, or None when it may try now."""
    now = now or utcnow()
    # The newest attempts, enough to reach the cap: past it every further failure locks for the maximum anyway.
    enough = MAX_FAILURES + math.ceil(math.log2(MAX_LOCK_SECONDS / LOCK_SECONDS)) + 1
    failures: list[datetime] = []
    for action, at in session.execute(
            select(AuditEntry.action, AuditEntry.at).where(
                AuditEntry.district_code == district, AuditEntry.actor == username, AuditEntry.action.in_(ATTEMPTS))
            .order_by(AuditEntry.at.desc()).limit(enough)):
        if action == "sign_in":
            break
        failures.append(at)
    if len(failures) < MAX_FAILURES:
        return None
    until = failures[0] + timedelta(seconds=lock_seconds(len(failures)))
    return until if until > now else None


def lock_seconds(failures: int) -> int:
    """How long `failures` failures in a row lock an account (0 below the threshold)."""
    if failures < MAX_FAILURES:
        return 0
    return min(LOCK_SECONDS * 2 ** (failures - MAX_FAILURES), MAX_LOCK_SECONDS)


def refuse_if_locked(session: Session, username: str, user: User | None, ip: str | None) -> None:
    until = locked_until(session, username, district_of(user))
    if until is None:
        return
    wait = max(1, math.ceil((until - utcnow()).total_seconds()))
    record(session, district_of(user), actor=username, actor_id=user.id if user else None, action="sign_in_locked",
           ip=ip, detail={"retry_after": wait})
    raise TooManyAttempts(f"too many failed sign-ins; try again in {math.ceil(wait / 60)} minutes",
                          field="password", details={"retry_after": wait})


def failed(session: Session, username: str, user: User | None, ip: str | None, step: str = "password") -> None:
    """Audit a failed attempt, and the lock it starts when it is the one that crosses the threshold."""
    district = district_of(user)
    record(session, district, actor=username, action="sign_in_failed", ip=ip, actor_id=user.id if user else None,
           detail={"step": step} if step != "password" else None)
    # This failure is not in the log yet (audit rows are written after the transaction): count it by hand.
    before = _failures_in_a_row(session, username, district)
    if before + 1 >= MAX_FAILURES:
        record(session, district, actor=username, action="account_locked", ip=ip,
               actor_id=user.id if user else None,
               detail={"failures": before + 1, "seconds": lock_seconds(before + 1)})


def _failures_in_a_row(session: Session, username: str, district: str) -> int:
    n = 0
    for (action,) in session.execute(
            select(AuditEntry.action).where(AuditEntry.district_code == district, AuditEntry.actor == username,
                                            AuditEntry.action.in_(ATTEMPTS))
            .order_by(AuditEntry.at.desc()).limit(MAX_FAILURES + 20)):
        if action == "sign_in":
            break
        n += 1
    return n


def check_password(session: Session, username: str, password: str, *, ip: str | None = None) -> User:
    """The first step of a sign-in: the user name and password, unless the name is locked. Every failure is
    audited; a success is not yet a sign-in (`signed_in`), as a second factor may follow."""
    username = (username or "").strip().lower()
    user = session.scalar(select(User).where(User.username == username))
    refuse_if_locked(session, username, user, ip)
    ok = service.check_password(user.password_hash if user else service.DUMMY_HASH, password) and user is not None
    if not ok or not user.is_active:
        failed(session, username, user, ip)
        raise Unauthorized("wrong user name or password", field="password")
    return user


def signed_in(session: Session, user: User, ip: str | None) -> None:
    """The last step of a sign-in (password, and the code when there is one): audited, and the count reset."""
    user.last_login_at = utcnow()
    record(session, district_of(user), actor=user.username, actor_id=user.id, action="sign_in", ip=ip)


# --- Two-factor sign-in ---------------------------------------------------------------------------------------


def needs_totp(user: User) -> bool:
    return user.totp_enabled_at is not None


def must_set_up_totp(user: User, required_for_staff: bool) -> bool:
    """Staff accounts must have a second factor when the district requires it (MLPS 2.0 level 3)."""
    return required_for_staff and Role(user.role) in STAFF_ROLES and user.totp_enabled_at is None


def start_totp(session: Session, user: User) -> str:
    """A new secret for the account (not in force until confirmed with a code); returns its otpauth:// URI."""
    if user.totp_enabled_at is not None:
        raise Conflict("two-factor sign-in is already set up; turn it off first", field="totp")
    user.totp_secret = pyotp.random_base32()
    session.flush()
    return provisioning_uri(user)


def provisioning_uri(user: User) -> str:
    if not user.totp_secret:
        raise Invalid("two-factor sign-in has not been started", field="totp")
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.username, issuer_name=TOTP_ISSUER)


def qr_svg(uri: str) -> str:
    """The URI as an SVG QR code, for authenticator apps to scan (as a data: URL, allowed by the CSP)."""
    buffer = io.BytesIO()
    qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8).save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _matching_step(user: User, code: str, now: datetime) -> int | None:
    """The time step the code belongs to (this one or a neighbour, for clock drift), if it is right and unused."""
    code = "".join(c for c in (code or "") if c.isdigit())
    if len(code) != 6 or not user.totp_secret:
        return None
    totp = pyotp.TOTP(user.totp_secret)
    step = int(now.timestamp()) // totp.interval
    for candidate in (step, step - 1, step + 1):
        if (user.totp_last_step is None or candidate > user.totp_last_step) and pyotp.utils.strings_equal(
                totp.generate_otp(candidate), code):
            return candidate
    return None


def check_code(session: Session, user: User, code: str, ip: str | None, now: datetime | None = None) -> None:
    """The second step of a sign-in; a wrong or reused code counts as a failed sign-in."""
    refuse_if_locked(session, user.username, user, ip)
    step = _matching_step(user, code, now or utcnow())
    if step is None:
        failed(session, user.username, user, ip, step="totp")
        raise Unauthorized("wrong or already used code", field="totp")
    user.totp_last_step = step
    session.flush()


def confirm_totp(session: Session, user: User, code: str, ip: str | None, now: datetime | None = None) -> None:
    """Put the started secret in force once the user shows a code from it (so that they really have it)."""
    step = _matching_step(user, code, now or utcnow())
    if step is None:
        raise Invalid("wrong code: check the time on your phone and type the six digits shown now", field="totp")
    user.totp_enabled_at, user.totp_last_step = utcnow(), step
    record(session, district_of(user), actor=user.username, actor_id=user.id, action="totp_enabled", ip=ip)
    session.flush()


def disable_totp(session: Session, user: User, code: str, ip: str | None, *, required: bool) -> None:
    if required and Role(user.role) in STAFF_ROLES:
        raise Conflict("two-factor sign-in is required for staff accounts", field="totp")
    check_code(session, user, code, ip)
    user.totp_secret = user.totp_enabled_at = user.totp_last_step = None
    record(session, district_of(user), actor=user.username, actor_id=user.id, action="totp_disabled", ip=ip)
    session.flush()


def reset_totp(session: Session, user: User, actor: str) -> None:
    """An administrator's reset for someone who lost their phone: they set it up again at the next sign-in."""
    user.totp_secret = user.totp_enabled_at = user.totp_last_step = None
    user.token_version += 1  # every session and token of the account ends
    record(session, district_of(user), actor=actor, action="totp_reset", target=user.username)
    session.flush()
