"""Things (物): facilities and urban components (部件) — lamps, manhole covers, hydrants … — in their grid."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.accounts.service import Principal
from jiayuan.kit.errors import Conflict, Invalid
from jiayuan.kit.text import clean_text
from jiayuan.registry.models import THING_KINDS, THING_STATUSES, Thing
from jiayuan.registry.places.placing import one_of, page, place
from jiayuan.registry.places.policy import get_scoped, scoped_select


def _check_code(session: Session, district: str, code: str | None, own_id: uuid.UUID | None) -> str | None:
    code = clean_text(code, "code", 40)
    if code is None:
        return None
    # Checked across the whole district, not the caller's scope: the number is unique on the street.
    other = session.scalar(select(Thing.id).where(Thing.district_code == district, Thing.code == code))
    if other is not None and other != own_id:
        raise Conflict(f"component code {code} is already registered", field="code")
    return code


def create_thing(session: Session, principal: Principal, **fields: Any) -> Thing:
    kind = one_of(fields.get("kind"), THING_KINDS, "kind")
    grid = place(session, principal, fields.get("lat"), fields.get("lon"), fields.get("grid_code"))
    thing = Thing(district_code=grid[:6], grid_code=grid, kind=kind, lat=fields.get("lat"),
                  lon=fields.get("lon"), status=one_of(fields.get("status") or "ok", THING_STATUSES, "status"))
    thing.code = _check_code(session, grid[:6], fields.get("code"), None)
    _set(thing, fields)
    session.add(thing)
    session.flush()
    return thing


def _set(thing: Thing, fields: dict[str, Any]) -> None:
    if "name" in fields:
        thing.name = clean_text(fields["name"], "name", 100)
    if "owner" in fields:
        thing.owner = clean_text(fields["owner"], "owner", 100)
    if "maintainer" in fields:
        thing.maintainer = clean_text(fields["maintainer"], "maintainer", 100)
    if "installed_on" in fields:
        installed = fields["installed_on"]
        if installed is not None and (not isinstance(installed, date) or installed > date.today()):
            raise Invalid("must be a date, not in the future", field="installed_on")
        thing.installed_on = installed


def update_thing(session: Session, principal: Principal, thing_id: uuid.UUID, **changes: Any) -> Thing:
    thing = get_thing(session, principal, thing_id)
    if "kind" in changes:
        thing.kind = one_of(changes["kind"], THING_KINDS, "kind")
    if {"lat", "lon", "grid_code"} & changes.keys():
        lat, lon = changes.get("lat", thing.lat), changes.get("lon", thing.lon)
        given = changes.get("grid_code") or (None if lat is not None else thing.grid_code)
        thing.grid_code = place(session, principal, lat, lon, given)
        thing.lat, thing.lon = lat, lon
    if "code" in changes:
        thing.code = _check_code(session, thing.district_code, changes["code"], thing.id)
    if "status" in changes:
        set_status(session, principal, thing.id, changes["status"])
    _set(thing, changes)
    session.flush()
    return thing


def set_status(session: Session, principal: Principal, thing_id: uuid.UUID, status: Any) -> Thing:
    """Mark a facility ok, damaged, missing or removed (a case about it may change this)."""
    thing = get_thing(session, principal, thing_id)
    thing.status = one_of(status, THING_STATUSES, "status")
    session.flush()
    return thing


def thing_exists(session: Session, district: str, thing_id: uuid.UUID) -> bool:
    """Whether a facility is registered in the district (a case may point at it, whoever reports it)."""
    return session.scalar(select(Thing.id).where(Thing.district_code == district, Thing.id == thing_id)) is not None


def get_thing(session: Session, principal: Principal, thing_id: uuid.UUID) -> Thing:
    return get_scoped(session, principal, Thing, thing_id, "facility")


def list_things(session: Session, principal: Principal, *, grid: str | None = None, kind: str | None = None,
                status: str | None = None, limit: int = 50, offset: int = 0) -> tuple[list[Thing], int]:
    stmt = scoped_select(principal, Thing, grid)
    if kind is not None:
        stmt = stmt.where(Thing.kind == one_of(kind, THING_KINDS, "kind"))
    if status is not None:
        stmt = stmt.where(Thing.status == one_of(status, THING_STATUSES, "status"))
    return page(session, stmt, (Thing.grid_code, Thing.kind, Thing.id), limit, offset)
