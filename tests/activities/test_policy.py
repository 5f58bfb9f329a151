"""activities/policy.py: who organizes an activity, and which staff see every activity of their area."""

from __future__ import annotations

import pytest

from jiayuan.accounts.roles import Role
from jiayuan.activities import policy
from jiayuan.activities.models import Activity
from jiayuan.kit.errors import Forbidden
from jiayuan.kit.scope import Scope


class _P:
    def __init__(self, role: Role, scope: str = "360802001001") -> None:
        self.role, self.scope = role, Scope((scope,))


def test_the_role_sets_and_checks() -> None:
    assert policy.ORGANIZERS == {Role.community_staff, Role.street_staff, Role.district_admin}
    assert policy.STAFF == policy.ORGANIZERS | {Role.grid_worker}
    here = Activity(unit_code="360802001001")
    assert policy.is_organizer(_P(Role.community_staff), here)  # type: ignore[arg-type]
    assert not policy.is_organizer(_P(Role.community_staff, "360802001002"), here)  # type: ignore[arg-type]
    assert not policy.is_organizer(_P(Role.grid_worker, "360802001001001"), here)  # type: ignore[arg-type]
    assert not policy.is_organizer(None, here)
    with pytest.raises(Forbidden):
        policy.require_organizer_role(_P(Role.grid_worker))  # type: ignore[arg-type]
    policy.require_staff(_P(Role.grid_worker), "staff only")  # type: ignore[arg-type]
    with pytest.raises(Forbidden):
        policy.require_staff(_P(Role.resident), "staff only")  # type: ignore[arg-type]
