"""charity/policy.py: who runs a supermarket, who serves at its counter, who edits the district's items and rules."""

from __future__ import annotations

import pytest

from jiayuan.accounts.roles import Role
from jiayuan.charity import policy
from jiayuan.kit.errors import Forbidden
from jiayuan.kit.scope import Scope


class _P:
    def __init__(self, role: Role, scope: str = "360802001001") -> None:
        self.role, self.scope = role, Scope((scope,))


def test_the_role_sets() -> None:
    assert policy.MANAGERS == {Role.community_staff, Role.street_staff, Role.district_admin}
    assert policy.DESK == policy.MANAGERS | {Role.volunteer}
    assert policy.DISTRICT_EDITORS == {Role.district_admin}


def test_the_checks() -> None:
    volunteer, staff = _P(Role.volunteer), _P(Role.community_staff)
    policy.require_at_supermarket(volunteer, desk=True)  # type: ignore[arg-type]
    with pytest.raises(Forbidden):
        policy.require_at_supermarket(volunteer, desk=False)  # type: ignore[arg-type]
    with pytest.raises(Forbidden):
        policy.require_role(_P(Role.grid_worker), policy.DESK)  # type: ignore[arg-type]
    assert policy.may_convert_hours(staff, own=False, community="360802001001")  # type: ignore[arg-type]
    assert not policy.may_convert_hours(staff, own=False, community="360802001002")  # type: ignore[arg-type]
    assert policy.may_convert_hours(volunteer, own=True, community="360802001002")  # type: ignore[arg-type]
