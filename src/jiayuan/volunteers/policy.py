"""Who sees and keeps volunteers and their opportunities: the role sets, the scope filters and the checks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, false, or_

from jiayuan.accounts.roles import SUPERVISORS, UNIT_STAFF, Role
from jiayuan.accounts.service import Principal
from jiayuan.kit.errors import Forbidden
from jiayuan.kit.scope import Scope
from jiayuan.units import service as units
from jiayuan.volunteers.models import Opportunity, Volunteer

# Who reads volunteers (grid workers pair them with people in care) and who keeps them.
READERS = UNIT_STAFF
MANAGERS = SUPERVISORS


def ancestors_in_scope(scope: Scope) -> set[str]:
    return {a for p in scope.prefixes if p for a in units.ancestors_of(p)}


def visible(principal: Principal) -> Any:
    """Volunteers a reader sees: those serving a unit in their scope, and those serving a unit above it (a
    community's volunteers serve each of its grids); everyone else sees only their own profile."""
    own = Volunteer.user_id == principal.user_id
    if principal.role not in READERS:
        return own
    clauses = [own, principal.scope.where(Volunteer)]
    above = ancestors_in_scope(principal.scope)
    if above:
        clauses.append(and_(Volunteer.district_code.in_({c[:6] for c in above}), Volunteer.unit_code.in_(above)))
    return or_(*clauses)


def visible_opportunities(principal: Principal) -> Any:
    """Opportunities a caller sees: staff and volunteers, those of a unit in their scope or above it (a
    community's opportunity is open to the volunteers of its grids)."""
    if principal.role not in READERS and principal.role != Role.volunteer:
        return false()
    clauses = [principal.scope.where(Opportunity)]
    above = ancestors_in_scope(principal.scope)
    if above:
        clauses.append(and_(Opportunity.district_code.in_({c[:6] for c in above}),
                            Opportunity.unit_code.in_(above)))
    return or_(*clauses)


def is_reader(principal: Principal) -> bool:
    return principal.role in READERS


def is_manager(principal: Principal) -> bool:
    return principal.role in MANAGERS


def may_manage(principal: Principal, volunteer: Volunteer) -> bool:
    return principal.role in MANAGERS and principal.scope.covers(volunteer.unit_code)


def may_keep(principal: Principal, opportunity: Opportunity) -> bool:
    """Staff of the opportunity's unit (or above) change it and sign volunteers up to it."""
    return principal.role in MANAGERS and principal.scope.covers(opportunity.unit_code)


def may_act_for(principal: Principal, volunteer: Volunteer) -> bool:
    """The volunteer themself, or staff who keep them."""
    return volunteer.user_id == principal.user_id or may_manage(principal, volunteer)


def require_manager(principal: Principal) -> None:
    if principal.role not in MANAGERS:
        raise Forbidden("only community, street or district staff keep volunteers", field="role")


def require_reader(principal: Principal, message: str = "only staff list volunteers") -> None:
    if principal.role not in READERS:
        raise Forbidden(message, field="role")


def require_keeper(principal: Principal, opportunity: Opportunity) -> None:
    if not may_keep(principal, opportunity):
        raise Forbidden("only staff of the opportunity's unit may change it", field="role")
