"""Who may see and do what with units: every signed-in person sees the units of their scope; staff see a grid's
workers; supervisors see the staffing of grids and assign workers; the district administrator imports boundaries."""

from __future__ import annotations

from jiayuan.accounts.roles import SUPERVISORS
from jiayuan.accounts.service import Principal
from jiayuan.deps import DistrictAdmin, Staff, Supervisor
from jiayuan.kit.errors import Forbidden

__all__ = ["DistrictAdmin", "Staff", "Supervisor", "require_supervisor"]


def require_supervisor(principal: Principal) -> None:
    if principal.role not in SUPERVISORS:
        raise Forbidden("your role may not do this", field="role")
