"""Open311 clients and their API keys: issued once, stored hashed, revoked; and the district admin's page."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiayuan.accounts import service as accounts
from jiayuan.accounts.roles import Role
from jiayuan.accounts.service import Principal
from jiayuan.cases.models import Case, Open311Client
from jiayuan.deps import DbSession, client_ip, require_role, verify_csrf
from jiayuan.kit.db import utcnow
from jiayuan.kit.errors import Invalid, NotFound
from jiayuan.page_kit import N_, Messages, explain, see_other, status_of
from jiayuan.web import gettext_for, render

# A recognisable prefix lets secret scanners and people tell a leaked Jiayuan key from other strings.
KEY_PREFIX = "jy311_"
MAX_NAME = 100


MESSAGES: Messages = {
    ("name", "required"): N_("required"),
    ("name", "too_long"): N_("at most 100 characters"),
    ("name", "taken"): N_("a client with this name exists already"),
    ("name", "not_found"): N_("no Open311 client with this name"),
    ("name", "revoked"): N_("the key was revoked already"),
}


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_client(session: Session, name: str) -> tuple[Open311Client, str]:
    """A new client and its key; the key is returned this once and only its SHA-256 is kept."""
    name = (name or "").strip()
    if not name:
        raise Invalid("required", field="name", reason="required")
    if len(name) > MAX_NAME:
        raise Invalid("at most 100 characters", field="name", reason="too_long", limit=MAX_NAME)
    # Revoked clients keep their name: `keys revoke NAME` and the cases they posted still point to them.
    if session.scalar(select(Open311Client.id).where(Open311Client.name == name)) is not None:
        raise Invalid("a client with this name exists already", field="name", reason="taken")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    client = Open311Client(name=name, key_hash=hash_key(key), created_at=utcnow())
    session.add(client)
    session.flush()
    return client, key


def list_clients(session: Session) -> list[Open311Client]:
    return list(session.scalars(select(Open311Client).order_by(Open311Client.created_at.desc(),
                                                               Open311Client.name)))


def revoke_client(session: Session, *, name: str | None = None,
                  client_id: uuid.UUID | None = None) -> Open311Client:
    """Stop a client's key from working; its cases stay as they are."""
    stmt = select(Open311Client)
    stmt = stmt.where(Open311Client.id == client_id) if client_id else stmt.where(Open311Client.name == name)
    client = session.scalar(stmt)
    if client is None:
        raise NotFound("no Open311 client with this name", field="name")
    if client.revoked_at is not None:
        raise Invalid("the key was revoked already", field="name", reason="revoked")
    client.revoked_at = utcnow()
    session.flush()
    return client


def client_for_key(session: Session, key: str) -> Open311Client | None:
    """The active client a key belongs to; None for an unknown or revoked key."""
    return session.scalar(select(Open311Client).where(Open311Client.key_hash == hash_key(key),
                                                      Open311Client.revoked_at.is_(None)))


def case_counts(session: Session) -> dict[uuid.UUID, int]:
    return dict(session.execute(select(Case.open311_client_id, func.count()).where(
        Case.open311_client_id.is_not(None)).group_by(Case.open311_client_id)).all())


# The district administrator's page.

router = APIRouter(include_in_schema=False)
Admin = Annotated[Principal, Depends(require_role(Role.district_admin))]
# The page that shows a new key must not be kept by the browser or a proxy.
NO_STORE = {"Cache-Control": "no-store"}


def _page(request: Request, session: Session, status_code: int = 200, **extra: Any) -> Response:
    context = {"clients": list_clients(session), "counts": case_counts(session), **extra}
    return render(request, "cases/open311_keys.html", context, status_code=status_code, headers=NO_STORE)


@router.get("/admin/open311")
def keys_page(request: Request, principal: Admin, session: DbSession, revoked: str | None = None) -> Response:
    return _page(request, session, revoked=revoked)


@router.post("/admin/open311", dependencies=[Depends(verify_csrf)])
def create_key(request: Request, principal: Admin, session: DbSession,
               name: Annotated[str, Form()] = "") -> Response:
    _ = gettext_for(request)
    try:
        client, key = create_client(session, name)
    except Invalid as exc:
        return _page(request, session, status_of(exc), error=explain(request, exc, MESSAGES)[1], name=name)
    accounts.audit_for(session, principal, "open311_key_created", target=f"open311/{client.name}",
                       ip=client_ip(request))
    # Shown here once, not after a redirect: the key must never travel in a URL or sit in the session.
    return _page(request, session, new_key=key, new_name=client.name)


@router.post("/admin/open311/{client_id}/revoke", dependencies=[Depends(verify_csrf)])
def revoke_key(client_id: uuid.UUID, request: Request, principal: Admin, session: DbSession) -> Response:
    _ = gettext_for(request)
    try:
        client = revoke_client(session, client_id=client_id)
    except (Invalid, NotFound) as exc:
        return _page(request, session, status_of(exc), error=explain(request, exc, MESSAGES)[1])
    accounts.audit_for(session, principal, "open311_key_revoked", target=f"open311/{client.name}",
                       ip=client_ip(request))
    return see_other(f"/admin/open311?revoked={quote(client.name)}")
