"""Helpers shared by houses, things and organizations: which grid a record goes in, scoped reads, pages."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from jiayuan.accounts.service import Principal
from jiayuan.kit.errors import Invalid, NotFound
from jiayuan.kit.scope import Scope
from jiayuan.units import service as units

T = TypeVar("T")
GRID_LENGTH = 15


def writable_grid(session: Session, principal: Principal, code: Any, field: str = "grid_code") -> str:
    """A grid the caller covers: a grid elsewhere is a 404, as if it did not exist (scope before existence)."""
    code = units.check_code(code, field)
    if not principal.scope.covers(code):
        raise NotFound(f"no grid {code} in your scope", field=field)
    if len(code) != GRID_LENGTH:
        raise Invalid(f"{code} is not a grid (15 digits)", field=field)
    if not units.unit_exists(session, code):
        raise Invalid(f"unknown grid {code}", field=field)
    return code


def place(session: Session, principal: Principal, lat: float | None, lon: float | None,
          grid_code: str | None) -> str:
    """The grid of a record: found from its point when it has one (and it must agree with a given grid_code)."""
    if (lat is None) != (lon is None):
        raise Invalid("give both latitude and longitude, or neither", field="lat" if lat is None else "lon")
    if lat is None or lon is None:
        if not grid_code:
            raise Invalid("required (or give lat and lon)", field="grid_code")
        return writable_grid(session, principal, grid_code)
    try:
        found = units.locate(session, lat, lon).chain[-1].code
    except NotFound as exc:
        # For a record, a point outside every grid is bad input, not a missing resource.
        raise Invalid(exc.message, field="lat", details=exc.details) from None
    if grid_code and grid_code != found:
        raise Invalid(f"the point lies in grid {found}, not {grid_code}", field="grid_code")
    if not principal.scope.covers(found):
        raise NotFound("the point lies in a grid outside your scope", field="lat")
    return found


def get_scoped(session: Session, principal: Principal, model: type[T], row_id: uuid.UUID | None, label: str,
               field: str = "id") -> T:
    """One row by id, read through the caller's scope: anything outside it is a 404."""
    if row_id is None:
        raise Invalid("required", field=field, reason="required")
    stmt = select(model).where(model.id == row_id, principal.scope.where(model))  # type: ignore[attr-defined]
    if principal.scope.districts:
        stmt = stmt.where(model.district_code.in_(principal.scope.districts))  # type: ignore[attr-defined]
    row = session.scalar(stmt)
    if row is None:
        raise NotFound(f"no {label} {row_id}", field=field)
    return row


def scoped_select(principal: Principal, model: type[T], unit: str | None) -> Select[tuple[T]]:
    """Rows in the caller's scope, narrowed to a unit (grid, community, street) when one is given."""
    stmt = select(model).where(principal.scope.where(model))  # type: ignore[attr-defined]
    if unit:
        stmt = stmt.where(Scope((units.check_code(unit, "grid"),)).where(model))
    return stmt


def page(session: Session, stmt: Select[tuple[T]], order: Any, limit: int, offset: int) -> tuple[list[T], int]:
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    return list(session.scalars(stmt.order_by(*order).limit(limit).offset(offset))), total


def one_of(value: Any, allowed: tuple[str, ...], field: str) -> str:
    if value not in allowed:
        raise Invalid(f"must be one of {', '.join(allowed)}", field=field, reason="not_a_choice")
    return value
