"""Changing credentials: a user changes their own password (the current one checked and throttled like a
sign-in); the district administrator resets an account's password or two-factor sign-in. Each ends every session
and token of the account (accounts/sessions.py); the caller starts the changer's own browser or token again."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.accounts import security, sessions
from jiayuan.accounts.models import User
from jiayuan.accounts.passwords import check_new_password
from jiayuan.accounts.service import Principal, audit_for, check_password, hash_password, record
from jiayuan.accounts.throttling import DEFAULT, SignInLimits, admit, district_of, failed, forgive
from jiayuan.kit.errors import Invalid, NotFound


def change_password(session: Session, user: User, current: str, new: str, *, ip: str | None,
                    limits: SignInLimits = DEFAULT, fields: tuple[str, str] = ("current_password", "new_password")
                    ) -> None:
    """Set a new password after checking the current one; a wrong current password counts as a failed sign-in
    (someone holding a stolen session must not be able to guess it, then lock the owner out)."""
    current_field, new_field = fields
    check_new_password(new, username=user.username, field=new_field)
    attempt = admit(session, user.username, user, ip, limits)
    if not isinstance(current, str) or not check_password(user.password_hash, current):
        failed(session, attempt, step="password_change")
        raise Invalid("not your current password", field=current_field, reason="wrong_password")
    forgive(session, attempt)
    user.password_hash = hash_password(new)
    sessions.sign_out_everywhere(session, user)
    record(session, district_of(user), actor=user.username, actor_id=user.id, action="password_changed", ip=ip)


def account_in_scope(session: Session, principal: Principal, username: str) -> User:
    """An account whose unit lies in the administrator's scope; any other name is a 404."""
    user = session.scalar(select(User).where(User.username == (username or "").strip().lower()))
    if user is None or not user.scope_code or not principal.scope.covers(user.scope_code):
        raise NotFound("no account of this name in your scope", field="username")
    return user


def reset_password(session: Session, principal: Principal, username: str, new: str, *, ip: str | None) -> User:
    """The administrator sets a new password (someone forgot theirs); the account's sessions and tokens end."""
    user = account_in_scope(session, principal, username)
    check_new_password(new, username=user.username)
    user.password_hash = hash_password(new)
    sessions.sign_out_everywhere(session, user)
    audit_for(session, principal, "password_reset", target=user.username, ip=ip)
    return user


def reset_totp(session: Session, principal: Principal, username: str, *, ip: str | None) -> User:
    """The administrator clears an account's two-factor sign-in (a lost phone); its sessions and tokens end."""
    user = account_in_scope(session, principal, username)
    security.reset_totp(session, user, actor=principal.username, actor_id=principal.user_id, ip=ip)
    return user
