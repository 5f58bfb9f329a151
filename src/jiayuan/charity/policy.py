"""Who may work at which charity supermarket (爱心慈善超市): the role sets and the checks of the charity modules."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from jiayuan.accounts.roles import COUNTER_DESK, DISTRICT_ADMINS, SUPERVISORS, Role
from jiayuan.accounts.service import Principal
from jiayuan.deps import require_role as role_gate
from jiayuan.kit.errors import Forbidden

# Who runs a supermarket: the staff of its community and of the units above it.
MANAGERS = SUPERVISORS
# Who may serve at its counter (find a household, redeem, take a donation): the managers and volunteers whose
# scope covers the community.
DESK = COUNTER_DESK
# Items and entitlement rules are the district's, shared by all its supermarkets.
DISTRICT_EDITORS = DISTRICT_ADMINS
# Their routes gate the role before anything else is read (a malformed path too), so that a refusal is audited.
DistrictEditor = Annotated[Principal, Depends(role_gate(*sorted(DISTRICT_EDITORS)))]


def require_role(principal: Principal, roles: frozenset[Role]) -> None:
    if principal.role not in roles:
        raise Forbidden("your role may not do this", field="role")


def require_at_supermarket(principal: Principal, *, desk: bool) -> None:
    """At a supermarket in the caller's scope: serving at the counter (`desk`, volunteers too), or running it."""
    if principal.role not in (DESK if desk else MANAGERS):
        raise Forbidden("your role may not do this at the supermarket", field="role")


def is_manager(principal: Principal) -> bool:
    return principal.role in MANAGERS


def is_district_editor(principal: Principal) -> bool:
    return principal.role in DISTRICT_EDITORS


def serves_at_counter(principal: Principal) -> bool:
    return principal.role in DESK


def may_convert_hours(principal: Principal, *, own: bool, community: str) -> bool:
    """Hours become points for the volunteer themself, or by staff of their household's community (or above)."""
    return own or (principal.role in MANAGERS and principal.scope.covers(community))
