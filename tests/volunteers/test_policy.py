"""volunteers/policy.py: who reads and keeps volunteers, and who acts for one."""

from __future__ import annotations

import uuid

import pytest

from jiayuan.accounts.roles import Role
from jiayuan.kit.errors import Forbidden
from jiayuan.kit.scope import Scope
from jiayuan.volunteers import policy
from jiayuan.volunteers.models import Volunteer


class _P:
    def __init__(self, role: Role, scope: str = "360802001001", user_id: uuid.UUID | None = None) -> None:
        self.role, self.scope, self.user_id = role, Scope((scope,)), user_id or uuid.uuid4()


def test_the_role_sets_and_checks() -> None:
    assert policy.READERS == policy.MANAGERS | {Role.grid_worker}
    me = uuid.uuid4()
    volunteer = Volunteer(unit_code="360802001001", user_id=me)
    assert policy.may_act_for(_P(Role.volunteer, "360802001001001", me), volunteer)  # type: ignore[arg-type]
    assert policy.may_act_for(_P(Role.community_staff), volunteer)  # type: ignore[arg-type]
    assert not policy.may_act_for(_P(Role.community_staff, "360802001002"), volunteer)  # type: ignore[arg-type]
    assert not policy.may_manage(_P(Role.grid_worker, "360802001001001"), volunteer)  # type: ignore[arg-type]
    with pytest.raises(Forbidden):
        policy.require_manager(_P(Role.grid_worker))  # type: ignore[arg-type]
    with pytest.raises(Forbidden):
        policy.require_reader(_P(Role.volunteer))  # type: ignore[arg-type]
