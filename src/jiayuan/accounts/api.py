"""JSON routes of accounts: tokens, the caller and their password, user administration (accounts, and the
administrator's resets of a password or of two-factor sign-in)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.security import OAuth2PasswordRequestForm

from jiayuan.accounts import credentials, security, service
from jiayuan.accounts.models import User
from jiayuan.accounts.policy import DistrictAdmin, Supervisor, check_new_scope
from jiayuan.accounts.schemas import MeRead, PasswordChange, PasswordReset, TokenRead, UserCreate, UserRead
from jiayuan.accounts.throttling import SignInLimits
from jiayuan.deps import AppSettings, CurrentPrincipal, DbSession, begin_session, client_ip
from jiayuan.kit.errors import Forbidden, Unauthorized
from jiayuan.kit.pagination import Offset

router = APIRouter(prefix="/api/v1", tags=["accounts"])


@router.post("/auth/token", response_model=TokenRead,
             responses={429: {"description": "too many failed sign-ins: locked for details.retry_after seconds"}})
def issue_token(form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request, session: DbSession,
                settings: AppSettings,
                totp: Annotated[str | None, Form(description="the 6-digit code, for accounts with two-factor "
                                                               "sign-in")] = None) -> TokenRead:
    """Exchange a user name and password (and the code of two-factor sign-in) for a bearer token (OAuth2
    password flow)."""
    ip, limits = client_ip(request), SignInLimits.of(settings)
    user = security.check_password(session, form.username, form.password, ip=ip, limits=limits)
    if security.needs_totp(user):
        if not totp:
            raise Unauthorized("this account signs in with a code as well: send it as `totp`", field="totp")
        security.check_code(session, user, totp, ip, limits=limits)
    elif security.must_set_up_totp(user, settings.require_totp_for_staff):
        raise Forbidden("set up two-factor sign-in on the sign-in page first", field="totp")
    security.signed_in(session, user, ip, limits)
    return TokenRead(access_token=service.issue_token(settings.secret_key, user),
                     expires_in=settings.token_ttl_seconds)


@router.get("/auth/me", response_model=MeRead)
def me(principal: CurrentPrincipal) -> MeRead:
    return MeRead(id=principal.user_id, username=principal.username, full_name=principal.full_name,
                  role=principal.role.value, scope_code=principal.scope_code,
                  scope=list(principal.scope.prefixes), grids=list(principal.grids))


@router.post("/auth/password", response_model=TokenRead,
             responses={429: {"description": "too many wrong passwords: locked for details.retry_after seconds"}})
def change_password(body: PasswordChange, request: Request, principal: CurrentPrincipal, session: DbSession,
                    settings: AppSettings) -> TokenRead:
    """Change the caller's password. Every session and token of the account ends; the answer is a new token (and a
    browser that called with its cookie gets a new session)."""
    user = session.get(User, principal.user_id)
    credentials.change_password(session, user, body.current_password, body.new_password, ip=client_ip(request),
                                limits=SignInLimits.of(settings))
    if request.session.get("sid"):
        begin_session(request, session, user)
    return TokenRead(access_token=service.issue_token(settings.secret_key, user),
                     expires_in=settings.token_ttl_seconds)


@router.get("/users", response_model=list[UserRead])
def list_users(principal: Supervisor, session: DbSession, role: str | None = None, limit: int = 200,
               offset: Offset = 0) -> list[UserRead]:
    users = service.list_users(session, principal.scope, role=role, limit=min(max(limit, 1), 1000),
                               offset=offset)
    return [UserRead.model_validate(u) for u in users]


@router.post("/users", response_model=UserRead, status_code=201)
def create_user(body: UserCreate, principal: DistrictAdmin, session: DbSession) -> UserRead:
    check_new_scope(principal, body.scope)
    user = service.create_user(session, username=body.username, full_name=body.full_name, role=body.role,
                               scope_code=body.scope, password=body.password,
                               check_unit=True)
    return UserRead.model_validate(user)


@router.post("/users/{username}/password", response_model=UserRead)
def reset_password(username: str, body: PasswordReset, request: Request, principal: DistrictAdmin,
                   session: DbSession) -> UserRead:
    """Set a new password for an account of the district (someone forgot theirs): its sessions and tokens end."""
    return UserRead.model_validate(credentials.reset_password(session, principal, username, body.password,
                                                              ip=client_ip(request)))


@router.post("/users/{username}/reset-totp", response_model=UserRead)
def reset_totp(username: str, request: Request, principal: DistrictAdmin, session: DbSession) -> UserRead:
    """Clear an account's two-factor sign-in (a lost phone): it sets it up again at the next sign-in, and its
    sessions and tokens end."""
    return UserRead.model_validate(credentials.reset_totp(session, principal, username, ip=client_ip(request)))
