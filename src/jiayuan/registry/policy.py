"""Who may keep the registry: the staff of units from the grid up, each within their units."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from jiayuan.accounts.roles import UNIT_STAFF
from jiayuan.accounts.service import Principal
from jiayuan.deps import require_role
from jiayuan.registry.people.policy import ADMINISTRATORS

# The registry is for the staff who keep it, each within their units; other roles with a district-wide scope
# (hotline, departments, providers) have no business browsing people, houses and organizations.
REGISTRARS = UNIT_STAFF
Registrar = Annotated[Principal, Depends(require_role(*sorted(REGISTRARS)))]
# The administrator's acts on a person (export everything, anonymize) gated at the route as well as in the use
# case: a refusal is then audited before the path is even read, a malformed one included.
Administrator = Annotated[Principal, Depends(require_role(*sorted(ADMINISTRATORS)))]
