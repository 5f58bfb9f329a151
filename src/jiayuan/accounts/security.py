"""Sign-in security: the password and code steps of a sign-in, throttled per account and address
(accounts/throttling.py), and two-factor sign-in with TOTP (RFC 6238)."""

from __future__ import annotations

import base64
import io
import uuid
from datetime import datetime

import pyotp
import qrcode
import qrcode.image.svg
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.accounts import service, sessions
from jiayuan.accounts.models import User
from jiayuan.accounts.roles import STAFF_ROLES, Role
from jiayuan.accounts.service import record
from jiayuan.accounts.throttling import DEFAULT, SignInLimits, TooManyAttempts, admit, district_of, failed, forgive
from jiayuan.accounts.throttling import signed_in as _restart_count
from jiayuan.kit.db import utcnow
from jiayuan.kit.errors import Conflict, Invalid, Unauthorized

__all__ = ["TooManyAttempts", "check_code", "check_password", "district_of", "signed_in"]
TOTP_ISSUER = "家园 Jiayuan"


def check_password(session: Session, username: str, password: str, *, ip: str | None = None,
                   limits: SignInLimits = DEFAULT) -> User:
    """The first step of a sign-in: the user name and password, unless a limit is reached (429, without looking
    at the password). Every failure is audited; a success is not yet a sign-in (`signed_in`), as a second factor
    may follow. The attempt is counted and committed before the password is checked (Argon2 runs outside the
    transaction, so SQLite's write lock is not held while it hashes)."""
    username = (username or "").strip().lower()
    user = session.scalar(select(User).where(User.username == username))
    attempt = admit(session, username, user, ip, limits)
    ok = service.check_password(user.password_hash if user else service.DUMMY_HASH, password) and user is not None
    if not ok or not user.is_active:
        failed(session, attempt)
        raise Unauthorized("wrong user name or password", field="password")
    forgive(session, attempt)
    return user


def signed_in(session: Session, user: User, ip: str | None, limits: SignInLimits = DEFAULT) -> None:
    """The last step of a sign-in (password, and the code when there is one): audited, and the count of this
    account at this address starts again."""
    user.last_login_at = utcnow()
    _restart_count(session, user.username, ip, limits)
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


def check_code(session: Session, user: User, code: str, ip: str | None, now: datetime | None = None,
               limits: SignInLimits = DEFAULT) -> None:
    """The second step of a sign-in; a wrong or reused code counts as a failed sign-in, against the same limits as
    a wrong password (counted before the code is checked)."""
    attempt = admit(session, user.username, user, ip, limits)
    step = _matching_step(user, code, now or utcnow())
    if step is None:
        failed(session, attempt, step="totp")
        raise Unauthorized("wrong or already used code", field="totp")
    forgive(session, attempt)
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


def disable_totp(session: Session, user: User, code: str, ip: str | None, *, required: bool,
                 limits: SignInLimits = DEFAULT) -> None:
    if required and Role(user.role) in STAFF_ROLES:
        raise Conflict("two-factor sign-in is required for staff accounts", field="totp")
    check_code(session, user, code, ip, limits=limits)
    user.totp_secret = user.totp_enabled_at = user.totp_last_step = None
    record(session, district_of(user), actor=user.username, actor_id=user.id, action="totp_disabled", ip=ip)
    session.flush()


def reset_totp(session: Session, user: User, actor: str, actor_id: uuid.UUID | None = None,
               ip: str | None = None) -> None:
    """An administrator's reset for someone who lost their phone: they set it up again at the next sign-in, and
    every session and token of the account ends (a phone that was lost may still hold a signed-in browser)."""
    user.totp_secret = user.totp_enabled_at = user.totp_last_step = None
    sessions.sign_out_everywhere(session, user)
    record(session, district_of(user), actor=actor, actor_id=actor_id, action="totp_reset", target=user.username,
           ip=ip)
    session.flush()
