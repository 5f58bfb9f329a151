"""Pages of accounts: sign-in and sign-out (sessions kept on the server, accounts/sessions.py), two-factor
sign-in (the code after the password, setting it up at sign-in when the district requires it for staff or by choice
on the account page, turning it off), changing one's password, and the language switch. The home page is the
face's."""

from __future__ import annotations

import secrets
import time
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from jiayuan.accounts import credentials, security
from jiayuan.accounts.models import User
from jiayuan.accounts.passwords import MIN_LENGTH, PASSWORD_MESSAGES
from jiayuan.accounts.roles import STAFF_ROLES
from jiayuan.accounts.throttling import SignInLimits
from jiayuan.deps import (
    AppSettings,
    CurrentPrincipal,
    DbSession,
    OptionalPrincipal,
    begin_session,
    client_ip,
    end_session,
    verify_csrf,
)
from jiayuan.kit import i18n
from jiayuan.kit.errors import DomainError, Invalid, Unauthorized
from jiayuan.page_kit import N_, Messages, explain, register_messages
from jiayuan.web import LANG_COOKIE, gettext_for, render

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Only paths of this site: an open redirect would let a phishing link borrow our sign-in page."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/home"
    return target


@router.get("/login")
def login_page(request: Request, principal: OptionalPrincipal, next: str | None = None) -> Response:
    if principal:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login.html", {"next": safe_next(next)})


@router.post("/login", dependencies=[Depends(verify_csrf)])
def login(request: Request, session: DbSession, settings: AppSettings, username: Annotated[str, Form()] = "",
          password: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/home") -> Response:
    _ = gettext_for(request)
    try:
        user = security.check_password(session, username, password, ip=client_ip(request),
                                       limits=SignInLimits.of(settings))
    except security.TooManyAttempts as exc:
        return render(request, "login.html", {"next": safe_next(next), "username": username,
                                              "error": _message(request, exc)},
                      status_code=429, headers={"Retry-After": str(exc.details["retry_after"])})
    except Unauthorized:
        return render(request, "login.html", {"next": safe_next(next), "username": username,
                                              "error": _("Wrong user name or password.")}, status_code=401)
    if security.needs_totp(user) or security.must_set_up_totp(user, settings.require_totp_for_staff):
        # Half signed in: the password was right, the second factor is still to come (within PENDING_SECONDS). A
        # session this browser had ends here, not just its cookie.
        end_session(request, session)
        request.session.update({"pending_uid": str(user.id), "pending_at": int(time.time()),
                                "pending_next": safe_next(next), "csrf": secrets.token_urlsafe(32)})
        return RedirectResponse("/login/code" if security.needs_totp(user) else "/login/setup", status_code=303)
    security.signed_in(session, user, client_ip(request), SignInLimits.of(settings))
    begin_session(request, session, user)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout", dependencies=[Depends(verify_csrf)])
def logout(request: Request, session: DbSession) -> Response:
    end_session(request, session)
    return RedirectResponse("/login", status_code=303)


@router.get("/lang/{locale}")
def switch_language(locale: str, next: str | None = None) -> Response:
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(LANG_COOKIE, i18n.pick_locale(locale), max_age=365 * 24 * 3600, samesite="lax")
    return response


# --- Two-factor sign-in ---------------------------------------------------------------------------------------

PENDING_SECONDS = 300  # between the password and the code


def _pending(request: Request, session: DbSession) -> User | None:
    """The account whose password was just given, while the second step is still open."""
    uid, at = request.session.get("pending_uid"), request.session.get("pending_at", 0)
    if not uid or time.time() - at > PENDING_SECONDS:
        return None
    user = session.get(User, uuid.UUID(uid))
    return user if user is not None and user.is_active else None


def _finish(request: Request, session: DbSession, settings: AppSettings, user: User) -> Response:
    target = request.session.get("pending_next", "/home")
    security.signed_in(session, user, client_ip(request), SignInLimits.of(settings))
    begin_session(request, session, user)
    return RedirectResponse(target, status_code=303)


def _message(request: Request, exc: DomainError) -> str:
    _ = gettext_for(request)
    if isinstance(exc, security.TooManyAttempts):
        return _("Too many failed sign-ins: signing in to this account from here is locked for %(minutes)s "
                 "minutes.") % {"minutes": max(1, -(-exc.details["retry_after"] // 60))}
    return explain(request, exc, MESSAGES)[1]


MESSAGES: Messages = register_messages({
    ("totp", "*"): N_("Wrong code. Type the six digits your authenticator app shows now."),
    **PASSWORD_MESSAGES,
    ("password", "*"): N_("Wrong user name or password."),
    ("current", "wrong_password"): N_("This is not your current password."),
    ("repeat", "*"): N_("The two new passwords are not the same."),
}, "/account")


@router.get("/login/code")
def code_page(request: Request, session: DbSession) -> Response:
    if _pending(request, session) is None:
        return RedirectResponse("/login", status_code=303)
    return render(request, "accounts/code.html")


@router.post("/login/code", dependencies=[Depends(verify_csrf)])
def code_submit(request: Request, session: DbSession, settings: AppSettings,
                code: Annotated[str, Form()] = "") -> Response:
    user = _pending(request, session)
    if user is None or not security.needs_totp(user):
        return RedirectResponse("/login", status_code=303)
    try:
        security.check_code(session, user, code, client_ip(request), limits=SignInLimits.of(settings))
    except DomainError as exc:
        return render(request, "accounts/code.html", {"error": _message(request, exc)}, status_code=exc.status_code)
    return _finish(request, session, settings, user)


def _setup_context(user: User) -> dict:
    uri = security.provisioning_uri(user)
    return {"qr": security.qr_svg(uri), "secret": user.totp_secret, "uri": uri}


@router.get("/login/setup")
def setup_page(request: Request, session: DbSession) -> Response:
    """Required set-up of a staff account that has no second factor yet."""
    user = _pending(request, session)
    if user is None:
        return RedirectResponse("/login", status_code=303)
    if not user.totp_secret:
        security.start_totp(session, user)
    return render(request, "accounts/totp_setup.html", {**_setup_context(user), "action": "/login/setup",
                                                        "required": True})


@router.post("/login/setup", dependencies=[Depends(verify_csrf)])
def setup_submit(request: Request, session: DbSession, settings: AppSettings,
                 code: Annotated[str, Form()] = "") -> Response:
    user = _pending(request, session)
    if user is None or not user.totp_secret:
        return RedirectResponse("/login", status_code=303)
    try:
        security.confirm_totp(session, user, code, client_ip(request))
    except DomainError as exc:
        return render(request, "accounts/totp_setup.html", {
            **_setup_context(user), "action": "/login/setup", "required": True,
            "error": _message(request, exc)}, status_code=exc.status_code)
    return _finish(request, session, settings, user)


@router.get("/account/security")
def account_page(request: Request, principal: CurrentPrincipal, session: DbSession,
                 settings: AppSettings) -> Response:
    user = session.get(User, principal.user_id)
    context = {"user": user, "required": security.must_set_up_totp(user, settings.require_totp_for_staff)
               or (settings.require_totp_for_staff and user.totp_enabled_at is not None
                   and principal.role in STAFF_ROLES)}
    if user.totp_enabled_at is None and user.totp_secret:
        context.update(_setup_context(user))
    return render(request, "accounts/security.html", context, headers={"Cache-Control": "no-store"})


@router.post("/account/security/start", dependencies=[Depends(verify_csrf)])
def account_start(principal: CurrentPrincipal, session: DbSession) -> Response:
    security.start_totp(session, session.get(User, principal.user_id))
    return RedirectResponse("/account/security", status_code=303)


@router.post("/account/security/confirm", dependencies=[Depends(verify_csrf)])
def account_confirm(request: Request, principal: CurrentPrincipal, session: DbSession, settings: AppSettings,
                    code: Annotated[str, Form()] = "") -> Response:
    user = session.get(User, principal.user_id)
    try:
        security.confirm_totp(session, user, code, client_ip(request))
    except DomainError as exc:
        return render(request, "accounts/security.html", {
            "user": user, "required": False, **_setup_context(user), "error": _message(request, exc)},
            status_code=exc.status_code)
    return RedirectResponse("/account/security", status_code=303)


@router.post("/account/security/disable", dependencies=[Depends(verify_csrf)])
def account_disable(request: Request, principal: CurrentPrincipal, session: DbSession, settings: AppSettings,
                    code: Annotated[str, Form()] = "") -> Response:
    user = session.get(User, principal.user_id)
    try:
        security.disable_totp(session, user, code, client_ip(request), required=settings.require_totp_for_staff,
                              limits=SignInLimits.of(settings))
    except DomainError as exc:
        return render(request, "accounts/security.html", {"user": user, "required": False,
                                                          "error": _message(request, exc)},
                      status_code=exc.status_code)
    return RedirectResponse("/account/security", status_code=303)


# --- Changing one's password ----------------------------------------------------------------------------------


@router.get("/account/password")
def password_page(request: Request, principal: CurrentPrincipal) -> Response:
    return render(request, "accounts/password.html", {"min_length": MIN_LENGTH},
                  headers={"Cache-Control": "no-store"})


@router.post("/account/password", dependencies=[Depends(verify_csrf)])
def password_submit(request: Request, principal: CurrentPrincipal, session: DbSession, settings: AppSettings,
                    current: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
                    repeat: Annotated[str, Form()] = "") -> Response:
    """Every other browser and token of the account is signed out; this browser stays signed in, with a new
    session."""
    user = session.get(User, principal.user_id)
    try:
        if password != repeat:
            raise Invalid("the two new passwords differ", field="repeat", reason="mismatch")
        credentials.change_password(session, user, current, password, ip=client_ip(request),
                                    limits=SignInLimits.of(settings), fields=("current", "password"))
    except DomainError as exc:
        field, message = explain(request, exc, MESSAGES)
        return render(request, "accounts/password.html", {"min_length": MIN_LENGTH, "errors": {field: message}},
                      status_code=exc.status_code, headers={"Cache-Control": "no-store"})
    begin_session(request, session, user)
    return render(request, "accounts/password.html", {"min_length": MIN_LENGTH, "changed": True},
                  headers={"Cache-Control": "no-store"})
