"""Who may see and do what with member providers: district staff see the district's providers (a provider's unit
is the district that admitted it), a provider's staff their own; the district administrator keeps them. A provider
out of sight is a 404 before any 403. The role sets come from accounts/roles.py."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, select
from sqlalchemy.orm import Session

from jiayuan.accounts.roles import DISTRICT_ADMINS, DISTRICT_DESK, Role
from jiayuan.accounts.service import Principal
from jiayuan.kit.errors import Forbidden
from jiayuan.services.providers.models import Provider, ProviderStaff

# Apply, edit, move the status, items, areas, staff: the district administrator.
EDITORS = DISTRICT_ADMINS
# District staff who read every provider of the district and its performance: the admin, and the 12343
# operators who offer orders.
READERS = DISTRICT_DESK


def provider_of(session: Session, principal: Principal) -> Provider:
    """The provider a staff account (role provider) works for; Forbidden when it works for none."""
    if principal.role != Role.provider:
        raise Forbidden("only a provider's staff account works for a provider", field="role")
    provider = session.scalar(
        select(Provider).join(ProviderStaff, and_(ProviderStaff.district_code == Provider.district_code,
                                                  ProviderStaff.provider_id == Provider.id))
        .where(ProviderStaff.district_code == principal.district_code, ProviderStaff.user_id == principal.user_id))
    if provider is None:
        raise Forbidden("this account is not on the staff of any provider", field="role")
    return provider


def visible(session: Session, principal: Principal) -> ColumnElement[bool]:
    """The providers a caller may see: district staff the district's, a provider's staff their own, anyone else
    none."""
    if principal.role in READERS and principal.scope.prefixes:
        return principal.scope.where(Provider)
    if principal.role == Role.provider:
        try:
            own = provider_of(session, principal)
        except Forbidden:
            return false()
        return and_(Provider.district_code == own.district_code, Provider.id == own.id)
    return false()


def may_edit(principal: Principal) -> bool:
    return principal.role in EDITORS


def may_read(principal: Principal) -> bool:
    """Lists and performance of the whole district."""
    return principal.role in READERS


def may_list(principal: Principal) -> bool:
    return may_read(principal) or principal.role == Role.provider


def require_editor(principal: Principal, what: str) -> str:
    """The district the administrator keeps; Forbidden for anyone else."""
    if not may_edit(principal) or not principal.scope_code:
        raise Forbidden(f"only the district administrator may {what}", field="role")
    return principal.district_code


def require_reader(principal: Principal, what: str) -> str:
    if not may_read(principal) or not principal.scope_code:
        raise Forbidden(f"your role may not {what}", field="role")
    return principal.district_code
