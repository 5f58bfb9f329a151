"""Who sees and organizes community activities: the role sets, the scope filters and the checks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, false, or_

from jiayuan.accounts.roles import SUPERVISORS, UNIT_STAFF
from jiayuan.accounts.service import Principal
from jiayuan.activities.models import Activity, Series
from jiayuan.kit.errors import Forbidden
from jiayuan.units import service as units

# Who organizes activities: the staff of a community and of the units above it.
ORGANIZERS = SUPERVISORS
# Staff who see every activity in their area and register the people they look after (grid workers too).
STAFF = UNIT_STAFF


def _above(principal: Principal) -> set[str]:
    return {a for p in principal.scope.prefixes if p for a in units.ancestors_of(p)}


def staff_visible(principal: Principal) -> Any:
    """Activities staff see: of a unit in their scope, or above it (the street's festival, to a community)."""
    if principal.role not in STAFF:
        return false()
    clauses = [principal.scope.where(Activity)]
    above = _above(principal)
    if above:
        clauses.append(and_(Activity.district_code.in_({c[:6] for c in above}), Activity.unit_code.in_(above)))
    return or_(*clauses)


def staff_series(principal: Principal) -> Any:
    """Series staff see: of a unit in their scope, or above it."""
    if principal.role not in STAFF:
        return false()
    clauses = [principal.scope.where(Series)]
    above = _above(principal)
    if above:
        clauses.append(and_(Series.district_code.in_({c[:6] for c in above}), Series.unit_code.in_(above)))
    return or_(*clauses)


def is_staff(principal: Principal | None) -> bool:
    return principal is not None and principal.role in STAFF


def may_organize(principal: Principal | None) -> bool:
    """Organizers at all (the pages offer "new activity")."""
    return principal is not None and principal.role in ORGANIZERS


def is_organizer(principal: Principal | None, activity: Activity) -> bool:
    """The staff whose scope covers the activity's unit organize it."""
    return may_organize(principal) and principal is not None and principal.scope.covers(activity.unit_code)


def require_organizer_role(principal: Principal) -> None:
    if principal.role not in ORGANIZERS:
        raise Forbidden("only community, street or district staff organize activities", field="role")


def require_staff(principal: Principal, message: str, field: str = "role") -> None:
    if principal.role not in STAFF:
        raise Forbidden(message, field=field)
