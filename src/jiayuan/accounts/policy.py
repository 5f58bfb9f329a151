"""Who may see and do what with accounts: supervisors list the accounts of their scope; the district
administrator creates them, within the district."""

from __future__ import annotations

from jiayuan.accounts.service import Principal
from jiayuan.deps import DistrictAdmin, Supervisor
from jiayuan.kit.errors import Forbidden

__all__ = ["DistrictAdmin", "Supervisor", "check_new_scope"]


def check_new_scope(principal: Principal, scope: str | None) -> None:
    """An account is made only within the creator's own scope."""
    if scope and not principal.scope.covers(scope):
        raise Forbidden("the scope lies outside yours", field="scope")
