"""Who sees figures: the care figures are read by the staff of units, from the grid up; the grid profile by the
registry's staff (registry.policy.Registrar)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from jiayuan.accounts.roles import UNIT_STAFF
from jiayuan.accounts.service import Principal
from jiayuan.deps import require_role
from jiayuan.registry.policy import Registrar

Staff = Annotated[Principal, Depends(require_role(*UNIT_STAFF))]

__all__ = ["Registrar", "Staff"]
