"""Request dependencies, as Annotated aliases: a route's signature declares what it needs."""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from jiayuan.accounts import service as accounts
from jiayuan.accounts import sessions
from jiayuan.accounts.models import User
from jiayuan.accounts.roles import DISTRICT_ADMINS, STAFF_ROLES, SUPERVISORS, Role
from jiayuan.accounts.service import Principal
from jiayuan.config import Settings
from jiayuan.kit.db import Database
from jiayuan.kit.errors import Forbidden, Unauthorized

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_db(request: Request) -> Iterator[Session]:
    """One unit of work per request: the route's services flush, this commits or rolls back.

    A refusal (Forbidden) of a signed-in caller that nothing recorded yet — a policy's check inside a use case
    rather than a route's role gate, or a page that caught it and answered 403 — is audited here as
    access_refused, written after the rollback like every audit entry: every 403 of a signed-in caller leaves a
    trace, whichever layer said no."""
    db: Database = request.app.state.db
    with db.unit_of_work() as session:
        try:
            yield session
        except Forbidden as exc:
            audit_refusal(request, session, exc)
            raise
        if getattr(request.state, "refused", False):  # a page that caught the refusal and showed it (web.render)
            audit_refusal(request, session)


def audit_refusal(request: Request, session: Session, exc: Forbidden | None = None) -> None:
    """Record that the signed-in caller was refused this request (once per request)."""
    principal = getattr(request.state, "principal", None)
    if principal is None or getattr(request.state, "refusal_audited", False):
        return
    if exc is not None and exc.field == "csrf_token":
        return  # a stale form, not an access: the page asks to reload it
    request.state.refusal_audited = True
    detail = {"method": request.method}
    if exc is not None and exc.field and exc.field != "role":
        detail["field"] = exc.field
    accounts.audit_for(session, principal, "access_refused", target=request.url.path[:200],
                       ip=client_ip(request), detail=detail)


AppSettings = Annotated[Settings, Depends(get_settings)]
# scope="function": commit before the response is sent, so that a failed commit is an error response.
DbSession = Annotated[Session, Depends(get_db, scope="function")]


def get_read_db(request: Request, primary: DbSession) -> Iterator[Session]:
    """A session on the replica for figures that only read; it never commits. Without a replica it is the
    request's own session: a second SQLite connection would wait on the write lock (BEGIN IMMEDIATE) that
    the request's first one holds until the response."""
    db: Database = request.app.state.db
    if db.replica_engine is db.engine:
        yield primary
        return
    with db.read_sessions() as session:
        yield session


ReadSession = Annotated[Session, Depends(get_read_db, scope="function")]

_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use (anonymous sessions too, for the sign-in form)."""
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


async def verify_csrf(request: Request) -> None:
    """Forms and cookie-authenticated API calls that change something must carry the session's token."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get("x-csrf-token")
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        sent = (await request.form()).get("csrf_token")
    expected = request.session.get("csrf")
    if not expected or not isinstance(sent, str) or not hmac.compare_digest(sent, expected):
        raise Forbidden("the form has expired or did not come from this site; reload the page and try again",
                        field="csrf_token")


def _session_principal(request: Request, session: Session, settings: Settings) -> Principal | None:
    """The account of the session cookie, checked against the server-side session (accounts/sessions.py)."""
    data = request.session
    key = data.get("sid")
    if not key:
        if "uid" in data:  # a cookie of the kind before server-side sessions: it opens nothing any more
            data.clear()
        return None
    resumed = sessions.resume(session, key, now=time.time(), max_age=settings.session_max_age_seconds,
                              idle=settings.session_idle_seconds)
    if resumed.principal is None:
        # Anonymous from here: public pages still show; pages that need an account say why it is asked for.
        data.clear()
        request.state.session_expired = resumed.expired
    return resumed.principal


def begin_session(request: Request, session: Session, user: User) -> None:
    """Sign this browser in as `user` with a new session (and a new CSRF token); the session it had ends."""
    if old := request.session.get("sid"):
        sessions.end(session, old)
    request.session.clear()
    request.session.update({"sid": sessions.start(session, user, now=time.time()),
                            "csrf": secrets.token_urlsafe(32)})


def end_session(request: Request, session: Session) -> None:
    """Sign this browser out, on the server: a copy of its cookie opens nothing either."""
    if key := request.session.get("sid"):
        sessions.end(session, key)
    request.session.clear()


def _resolve_principal(
    request: Request, session: DbSession, settings: AppSettings, token: Annotated[str | None, Depends(_bearer)]
) -> tuple[Principal | None, bool]:
    """The caller from a bearer token or the session cookie (sync: it queries the database in the
    threadpool, not on the event loop); and whether the cookie was what authenticated them."""
    if token:
        user_id, version = accounts.read_token(settings.secret_key, token, settings.token_ttl_seconds)
        return accounts.load_principal(session, user_id, version), False
    principal = _session_principal(request, session, settings)
    return principal, principal is not None


async def optional_principal(
    request: Request, resolved: Annotated[tuple[Principal | None, bool], Depends(_resolve_principal)]
) -> Principal | None:
    principal, via_cookie = resolved
    if via_cookie:
        # A cookie is sent by the browser whatever page made the request: changes need the CSRF token too.
        await verify_csrf(request)
    request.state.principal = principal
    return principal


async def current_principal(request: Request,
                            principal: Annotated[Principal | None, Depends(optional_principal)]) -> Principal:
    if principal is None:
        if getattr(request.state, "session_expired", False):
            raise Unauthorized("your session has expired; sign in again", field="session")
        raise Unauthorized("sign in first", field="token")
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_role(*roles: Role) -> Callable[..., Principal]:
    """A dependency that lets only `roles` through; a refusal is audited."""

    def check(request: Request, principal: CurrentPrincipal, session: DbSession) -> Principal:
        if principal.role not in roles:
            audit_refusal(request, session)
            raise Forbidden("your role may not do this", field="role")
        return principal

    return check


# The role gates most routes need, each from its set in accounts/roles.py.
DistrictAdmin = Annotated[Principal, Depends(require_role(*DISTRICT_ADMINS))]
Supervisor = Annotated[Principal, Depends(require_role(*SUPERVISORS))]
Staff = Annotated[Principal, Depends(require_role(*STAFF_ROLES))]
