"""The check every sub-domain of services shares: a role refused after the record was found in scope (a record
elsewhere is a 404 before any 403). The role sets come from accounts/roles.py; each sub-domain's policy.py says
which set may do what."""

from __future__ import annotations

from collections.abc import Collection

from jiayuan.accounts.roles import Role
from jiayuan.accounts.service import Principal
from jiayuan.kit.errors import Forbidden


def require_role(principal: Principal, roles: Collection[Role], what: str) -> None:
    if principal.role not in roles:
        raise Forbidden(f"your role may not {what}", field="role")
