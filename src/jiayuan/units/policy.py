"""Who may see and do what with units: every signed-in person sees the units of their scope; staff see a grid's
workers; supervisors see the staffing of grids and assign workers; the district administrator imports boundaries."""

from __future__ import annotations

from jiayuan.accounts.roles import SUPERVISORS
from jiayuan.accounts.service import Principal
from jiayuan.deps import DistrictAdmin, Staff, Supervisor
from jiayuan.kit.errors import Forbidden

__all__ = ["DistrictAdmin", "Staff", "Supervisor", "may_keep_workers", "require_supervisor"]


def require_supervisor(principal: Principal) -> None:
    if principal.role not in SUPERVISORS:
        raise Forbidden("your role may not do this", field="role")


def may_keep_workers(principal: Principal, grid_code: str) -> bool:
    """Whether the caller adds and takes off the workers of this grid: a supervisor whose own scope holds it."""
    return principal.role in SUPERVISORS and principal.scope.covers(grid_code)
