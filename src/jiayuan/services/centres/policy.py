"""Who may do what with service centres (DESIGN.md §2: street staff run the street's service centres). Checked
after the centre was found in the caller's scope (services.centres.service.get_centre), so that a centre elsewhere
is a 404 before any 403."""

from __future__ import annotations

from jiayuan.accounts.roles import DISTRICT_ADMINS, LOCAL_STAFF, STAFF_ROLES, SUPERVISORS, UPPER_STAFF
from jiayuan.accounts.service import Principal
from jiayuan.services.policy import require_role

# The staff pages of centres: every supervisor of a unit (the services judge each action).
CENTRE_DESK = SUPERVISORS
# Add and edit centres: street staff and the district.
CENTRE_MANAGERS = UPPER_STAFF
# Change a centre's hours for a day (exceptions): the supervisors of its unit.
EXCEPTION_EDITORS = SUPERVISORS
# Record the days a centre opened: the staff on the spot, of the community or the street.
CENTRE_STAFF = LOCAL_STAFF
# Grant yearly subsidies and add kinds of centre: the district.
SUBSIDY_GRANTORS = DISTRICT_ADMINS
# Read the subsidy report: street staff and the district.
REPORT_READERS = UPPER_STAFF


def is_staff(principal: Principal | None) -> bool:
    """Staff read every centre of their scope, with its contact person; anyone else the public ones."""
    return principal is not None and principal.role in STAFF_ROLES


def may_manage(principal: Principal) -> bool:
    return principal.role in CENTRE_MANAGERS


def may_record_openings(principal: Principal) -> bool:
    return principal.role in CENTRE_STAFF


def may_grant_subsidies(principal: Principal) -> bool:
    return principal.role in SUBSIDY_GRANTORS


__all__ = ["CENTRE_DESK", "CENTRE_MANAGERS", "CENTRE_STAFF", "EXCEPTION_EDITORS", "REPORT_READERS",
           "SUBSIDY_GRANTORS", "is_staff", "may_grant_subsidies", "may_manage", "may_record_openings", "require_role"]
