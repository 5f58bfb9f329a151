"""Grid profile (网格画像): the registry's counts and the open cases of one unit — a grid, community, street or the
district — within the caller's scope. Counts only, never personal data. Stats reads them through the registry's and
the cases' services, so that the registry need not know cases."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from jiayuan.accounts.service import Principal
from jiayuan.cases import service as cases
from jiayuan.kit.clock import local_today
from jiayuan.kit.errors import NotFound
from jiayuan.kit.scope import Scope
from jiayuan.registry import service as registry
from jiayuan.units import service as units


def _covered(session: Session, principal: Principal, unit_code: str, *, exists: bool = True) -> str:
    """A unit the caller covers; any other unit is a 404, as if it did not exist."""
    code = units.check_code(unit_code, "unit_code")
    if not principal.scope.covers(code) or (exists and not units.unit_exists(session, code)):
        raise NotFound(f"no unit {code} in your scope", field="unit_code")
    return code


def profile(session: Session, principal: Principal, unit_code: str, *, today: date | None = None) -> dict:
    """The figures of one unit the caller covers."""
    code = _covered(session, principal, unit_code)
    figures = registry.unit_figures(session, code, today or local_today())
    # The caller covers the whole unit, so counting by where the cases arose matches what they can list.
    return {"unit_code": code, **figures, "open_cases": cases.count_open(session, Scope((code,)))}


def people_by_child(session: Session, principal: Principal, unit_code: str) -> dict[str, int]:
    """People (not anonymized) in each unit directly below `unit_code`, for the profile's table of child units."""
    return registry.people_by_child(session, _covered(session, principal, unit_code, exists=False))
