"""Who may see and write which places: every read goes through the caller's scope (a record outside it is a 404,
before any other check), and a record is written only into a grid the caller covers."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy import Select, select
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
