"""Who may see and do what with people's records: unmasking by role, the administrator's acts."""

from __future__ import annotations

from sqlalchemy.orm import Session

from jiayuan.accounts.service import principal_of, user_by_username
from jiayuan.registry.people import policy
from tests.personas import PERSONAS


def test_may_unmask_roles(session: Session) -> None:
    allowed = {name: policy.may_unmask(principal_of(user_by_username(session, p.username)))
               for name, p in PERSONAS.items()}
    assert allowed == {"grid_a": False, "grid_b": False, "community": True, "other_community": True,
                       "street": True, "admin": True, "hotline": False, "department": False, "resident": False}


def test_only_the_district_administrator_administers(session: Session) -> None:
    allowed = {name: policy.may_administer(principal_of(user_by_username(session, p.username)))
               for name, p in PERSONAS.items()}
    assert {name for name, ok in allowed.items() if ok} == {"admin"}
