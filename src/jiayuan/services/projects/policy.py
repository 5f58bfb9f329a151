"""Who may see and do what with special service projects and produce points: what a caller sees is their
scope's (a project elsewhere is a 404); the roles come from accounts/roles.py."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_

from jiayuan.accounts.roles import STAFF_ROLES, SUPERVISORS
from jiayuan.accounts.service import Principal
from jiayuan.services.policy import require_role

# Community, street and district staff run projects and produce points in their units (三社联动: the
# organization undertakes the project, the staff keep its record).
PROJECT_MANAGERS = SUPERVISORS
# Every staff role may read them: their beneficiaries are people in need, never shown to the public.
PROJECT_READERS = STAFF_ROLES


def visible(principal: Principal, model: Any) -> ColumnElement[bool]:
    """Rows of `model` (a project, a produce point) in the caller's scope, stated per district too."""
    clause = principal.scope.where(model)
    if principal.scope.districts:
        clause = and_(clause, model.district_code.in_(principal.scope.districts))
    return clause


__all__ = ["PROJECT_MANAGERS", "PROJECT_READERS", "require_role", "visible"]
