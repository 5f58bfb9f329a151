"""Roles (DESIGN.md §2) and the unit levels each may be scoped to."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    resident = "resident"
    grid_worker = "grid_worker"
    community_staff = "community_staff"
    street_staff = "street_staff"
    district_admin = "district_admin"
    department = "department"
    provider = "provider"
    volunteer = "volunteer"
    social_org = "social_org"
    hotline_operator = "hotline_operator"


# Code lengths a role's scope may have; an empty tuple means the role has no unit scope (own records only).
SCOPE_LENGTHS: dict[Role, tuple[int, ...]] = {
    Role.resident: (),
    Role.grid_worker: (15, 12),
    Role.community_staff: (12,),
    Role.street_staff: (9,),
    Role.district_admin: (6,),
    Role.department: (6,),
    Role.hotline_operator: (6,),
    Role.provider: (6, 9, 12),
    Role.volunteer: (6, 9, 12, 15),
    Role.social_org: (6, 9, 12),
}

# Role sets: each defined here once, under one name, and used by every domain's policy.py.
STAFF_ROLES = frozenset(
    {Role.grid_worker, Role.community_staff, Role.street_staff, Role.district_admin, Role.department,
     Role.hotline_operator}
)
# Roles that supervise units: they see the unit tree, the map and the staffing of grids; they dispatch cases and
# run the registry, care, charity, activities and projects of their unit.
SUPERVISORS = frozenset({Role.community_staff, Role.street_staff, Role.district_admin})
# Staff of a unit from the grid up: who works with residents' records in their units.
UNIT_STAFF = frozenset({Role.grid_worker, *SUPERVISORS})
# Staff of a unit below the district: who keeps a community's or a street's centre open day by day.
LOCAL_STAFF = frozenset({Role.community_staff, Role.street_staff})
# Staff above the community: who approves, runs the streets' centres and reads their reports.
UPPER_STAFF = frozenset({Role.street_staff, Role.district_admin})
# The district's own administration: configuration, status of providers, subsidies.
DISTRICT_ADMINS = frozenset({Role.district_admin})
# The district's desk for member providers: the administration and the 12343 operators who match orders.
DISTRICT_DESK = frozenset({Role.district_admin, Role.hotline_operator})
# Who serves at a charity supermarket's counter (find a household, redeem, take a donation): its staff and
# volunteers.
COUNTER_DESK = frozenset({*SUPERVISORS, Role.volunteer})
# Who speaks for a resident: the resident, or a 12343 operator on their behalf (report, order, rate, complain).
CALLERS = frozenset({Role.resident, Role.hotline_operator})
# Roles without a unit scope of their own in the case loop: they see only what they reported.
OWN_RECORDS_ONLY = frozenset({Role.resident, Role.provider, Role.volunteer, Role.social_org})
# Staff who read the records of their unit scope, the 12343 operators (scoped to the district) among them: service
# orders are seen by the staff of the units where they are needed and by the hotline that matches them.
SCOPED_STAFF = frozenset({*UNIT_STAFF, Role.hotline_operator})
# Who receives what residents report and sends it on: unit supervisors and the 12343 operators (accept, void,
# mark urgent, the dispatch queue and the hotline desk).
INTAKE_STAFF = frozenset({*SUPERVISORS, Role.hotline_operator})
# Who may be sent a case to handle: the unit staff and the district's departments.
HANDLERS = frozenset({*UNIT_STAFF, Role.department})
# Who has a to-do list of cases handed to them by name: grid workers and the district's departments.
ASSIGNEES = frozenset({Role.grid_worker, Role.department})
# The front line of a community: its grid workers and its staff, told first of people in care not visited in time.
FRONT_LINE = frozenset({Role.grid_worker, Role.community_staff})
