"""Pages of accounts: sign-in and sign-out, and the language switch (the home page is the face's)."""

from __future__ import annotations

import secrets
import time
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from jiayuan.accounts import security
from jiayuan.accounts.models import User
from jiayuan.deps import AppSettings, DbSession, OptionalPrincipal, client_ip, verify_csrf
from jiayuan.kit import i18n
from jiayuan.kit.errors import Unauthorized
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
        user = security.check_password(session, username, password, ip=client_ip(request))
    except security.TooManyAttempts as exc:
        minutes = max(1, -(-exc.details["retry_after"] // 60))
        return render(request, "login.html", {"next": safe_next(next), "username": username, "error": _(
            "Too many failed sign-ins: this account is locked for %(minutes)s minutes.") % {"minutes": minutes}},
            status_code=429, headers={"Retry-After": str(exc.details["retry_after"])})
    except Unauthorized:
        return render(request, "login.html", {"next": safe_next(next), "username": username,
                                              "error": _("Wrong user name or password.")}, status_code=401)
    if security.needs_totp(user) or security.must_set_up_totp(user, settings.require_totp_for_staff):
        # Half signed in: the password was right, the second factor is still to come (within PENDING_SECONDS).
        request.session.clear()
        request.session.update({"pending_uid": str(user.id), "pending_at": int(time.time()),
                                "pending_next": safe_next(next), "csrf": secrets.token_urlsafe(32)})
        return RedirectResponse("/login/code" if security.needs_totp(user) else "/login/setup", status_code=303)
    security.signed_in(session, user, client_ip(request))
    start_session(request, user)
    return RedirectResponse(safe_next(next), status_code=303)


def start_session(request: Request, user: User) -> None:
    now = int(time.time())
    request.session.clear()
    request.session.update({"uid": str(user.id), "tv": user.token_version, "iat": now, "seen": now,
                            "csrf": secrets.token_urlsafe(32)})


@router.post("/logout", dependencies=[Depends(verify_csrf)])
def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/lang/{locale}")
def switch_language(locale: str, next: str | None = None) -> Response:
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(LANG_COOKIE, i18n.pick_locale(locale), max_age=365 * 24 * 3600, samesite="lax")
    return response
