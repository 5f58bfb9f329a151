"""Units as a page offers them: a unit code read from a query string, and the units, grids and names a caller may
choose from, indented by level."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from jiayuan.accounts.service import Principal
from jiayuan.kit.scope import Scope
from jiayuan.units import service as units

UNIT_LENGTHS = (6, 9, 12, 15)


def unit_code(value: str | None) -> str:
    """A unit code from a query string; anything else is simply no filter (a page never fails on it)."""
    value = (value or "").strip()
    return value if value.isdigit() and len(value) in UNIT_LENGTHS else ""


def unit_options(session: Session, principal: Principal) -> list[dict[str, Any]]:
    """Units a list can be narrowed to: streets, communities and grids of the scope, indented by level."""
    return [{"code": u.code, "name": u.name, "depth": (len(u.code) - 9) // 3}
            for u in units.list_units(session, principal.scope) if u.level != "district"]


def grid_options(session: Session, principal: Principal) -> list[dict[str, Any]]:
    """The grids a record can be put in, grouped under their community's name."""
    names = unit_names(session, principal)
    return [{"code": u.code, "name": u.name, "community": names.get(u.parent_code or "", "")}
            for u in units.list_units(session, principal.scope, level="grid")]


def unit_names(session: Session, principal: Principal) -> dict[str, str]:
    return {u.code: u.name for u in units.list_units(session, principal.scope, with_ancestors=True)}


def district_grids(session: Session, principal: Principal) -> list[dict[str, Any]]:
    """Every grid of the caller's district: a person may move anywhere in it, even out of the caller's sight."""
    district = principal.scope.districts[0] if principal.scope.districts else ""
    if not district:
        return []
    everywhere = units.list_units(session, Scope((district,)))
    names = {u.code: u.name for u in everywhere}
    return [{"code": u.code, "name": u.name, "community": names.get(u.parent_code or "", "")}
            for u in everywhere if u.level == "grid"]
