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

STAFF_ROLES = frozenset(
    {Role.grid_worker, Role.community_staff, Role.street_staff, Role.district_admin, Role.department,
     Role.hotline_operator}
)
# Roles that supervise units: they see the unit tree, the map and the staffing of grids.
SUPERVISORS = frozenset({Role.community_staff, Role.street_staff, Role.district_admin})
