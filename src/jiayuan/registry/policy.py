"""Who may keep the registry: the staff of units from the grid up, each within their units."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from jiayuan.accounts.roles import UNIT_STAFF
from jiayuan.accounts.service import Principal
from jiayuan.deps import require_role

# The registry is for the staff who keep it, each within their units; other roles with a district-wide scope
# (hotline, departments, providers) have no business browsing people, houses and organizations.
REGISTRARS = UNIT_STAFF
Registrar = Annotated[Principal, Depends(require_role(*sorted(REGISTRARS)))]
