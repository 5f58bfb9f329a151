"""JSON routes of accounts: tokens, the caller, user administration."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.security import OAuth2PasswordRequestForm

from jiayuan.accounts import security, service
from jiayuan.accounts.policy import DistrictAdmin, Supervisor, check_new_scope
from jiayuan.accounts.schemas import MeRead, TokenRead, UserCreate, UserRead
from jiayuan.deps import AppSettings, CurrentPrincipal, DbSession, client_ip
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
    ip = client_ip(request)
    user = security.check_password(session, form.username, form.password, ip=ip)
    if security.needs_totp(user):
        if not totp:
            raise Unauthorized("this account signs in with a code as well: send it as `totp`", field="totp")
        security.check_code(session, user, totp, ip)
    elif security.must_set_up_totp(user, settings.require_totp_for_staff):
        raise Forbidden("set up two-factor sign-in on the sign-in page first", field="totp")
    security.signed_in(session, user, ip)
    return TokenRead(access_token=service.issue_token(settings.secret_key, user),
                     expires_in=settings.token_ttl_seconds)


@router.get("/auth/me", response_model=MeRead)
def me(principal: CurrentPrincipal) -> MeRead:
    return MeRead(id=principal.user_id, username=principal.username, full_name=principal.full_name,
                  role=principal.role.value, scope_code=principal.scope_code,
                  scope=list(principal.scope.prefixes), grids=list(principal.grids))


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
