"""Who may see and do what with people's records: scope filters, unmasking, the administrator's acts."""

from __future__ import annotations

from typing import Any

from jiayuan.accounts.roles import DISTRICT_ADMINS, SUPERVISORS
from jiayuan.accounts.service import Principal
from jiayuan.kit.errors import Forbidden
from jiayuan.registry.models import Person

# Seeing a whole ID number or phone: supervisors of units, not grid workers nor the hotline.
UNMASKERS = SUPERVISORS
# Exporting everything held on a person and anonymizing them: the district's administrator alone.
ADMINISTRATORS = DISTRICT_ADMINS


def visible(principal: Principal, model: Any = Person) -> Any:
    """The people (or their tags, households, moves) the caller may see: those of the units in their scope."""
    return principal.scope.where(model)


def may_unmask(principal: Principal) -> bool:
    return principal.role in UNMASKERS


def require_unmasker(principal: Principal) -> None:
    if not may_unmask(principal):
        raise Forbidden("your role may not see unmasked personal data", field="role")


def may_administer(principal: Principal) -> bool:
    return principal.role in ADMINISTRATORS


def require_administrator(principal: Principal) -> None:
    if not may_administer(principal):
        raise Forbidden("only the district administrator may do this", field="role")
