"""Helpers shared by houses, things and organizations: which grid a record goes in (by its point), pages, choices."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from jiayuan.accounts.service import Principal
from jiayuan.kit.errors import Invalid, NotFound
from jiayuan.registry.places.policy import writable_grid
from jiayuan.units import service as units

T = TypeVar("T")


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
        raise Invalid(exc.message, field="lat", details=exc.details, reason=exc.reason, **exc.params) from None
    if grid_code and grid_code != found:
        raise Invalid(f"the point lies in grid {found}, not {grid_code}", field="grid_code")
    if not principal.scope.covers(found):
        raise NotFound("the point lies in a grid outside your scope", field="lat")
    return found


def page(session: Session, stmt: Select[tuple[T]], order: Any, limit: int, offset: int) -> tuple[list[T], int]:
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    return list(session.scalars(stmt.order_by(*order).limit(limit).offset(offset))), total


def one_of(value: Any, allowed: tuple[str, ...], field: str) -> str:
    if value not in allowed:
        raise Invalid(f"must be one of {', '.join(allowed)}", field=field, reason="not_a_choice")
    return value
