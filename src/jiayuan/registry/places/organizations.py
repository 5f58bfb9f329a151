"""Organizations (组织): enterprises, social organizations, property companies, homeowners' committees."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.accounts.service import Principal
from jiayuan.kit.errors import Conflict, Invalid
from jiayuan.kit.identity import parse_credit_code, parse_mobile
from jiayuan.kit.text import clean_text
from jiayuan.registry.models import ORGANIZATION_KINDS, Organization
from jiayuan.registry.places.placing import one_of, page
from jiayuan.registry.places.policy import get_scoped, scoped_select, writable_grid

# A homeowners' committee (业主委员会) often has no credit code of its own; every other kind is registered.
CREDIT_CODE_OPTIONAL = frozenset({"homeowners_committee"})


def _credit_code(session: Session, district: str, kind: str, value: Any, own_id: uuid.UUID | None) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if kind in CREDIT_CODE_OPTIONAL:
            return None
        raise Invalid("required for this kind of organization", field="credit_code", reason="required")
    if not isinstance(value, str):
        raise Invalid("must be text", field="credit_code", reason="not_text")
    code = parse_credit_code(value, field="credit_code").value
    # Checked across the district, not the caller's scope: a code names one organization wherever it sits.
    other = session.scalar(select(Organization.id).where(
        Organization.district_code == district, Organization.credit_code == code))
    if other is not None and other != own_id:
        raise Conflict("an organization with this credit code is already registered", field="credit_code")
    return code


def by_credit_code(session: Session, district: str, value: str) -> Organization | None:
    """The organization holding a credit code in a district, whoever asks (imports match on it)."""
    code = parse_credit_code(value, field="credit_code").value
    return session.scalar(select(Organization).where(
        Organization.district_code == district, Organization.credit_code == code))


def in_district(session: Session, district: str, org_id: uuid.UUID | None) -> Organization | None:
    """An organization of a district by id, whoever asks: a project or provider may be run by one anywhere in
    the district, outside the caller's own units (only its name is shown)."""
    if org_id is None:
        return None
    return session.scalar(select(Organization).where(
        Organization.district_code == district, Organization.id == org_id))


def create_organization(session: Session, principal: Principal, **fields: Any) -> Organization:
    kind = one_of(fields.get("kind"), ORGANIZATION_KINDS, "kind")
    name = clean_text(fields.get("name"), "name", 120, required=True) or ""
    grid = writable_grid(session, principal, fields.get("grid_code"))
    org = Organization(district_code=grid[:6], grid_code=grid, kind=kind, name=name)
    org.credit_code = _credit_code(session, grid[:6], kind, fields.get("credit_code"), None)
    _set(org, fields)
    session.add(org)
    session.flush()
    return org


def _set(org: Organization, fields: dict[str, Any]) -> None:
    if "address" in fields:
        org.address = clean_text(fields["address"], "address", 200)
    if "contact_name" in fields:
        org.contact_name = clean_text(fields["contact_name"], "contact_name", 60)
    if "contact_phone" in fields:
        phone = fields["contact_phone"]
        # Stored as 11 digits; the column encrypts it, and readers see it through mask_phone.
        org.contact_phone = parse_mobile(phone, field="contact_phone") if phone else None
    if "staff_count" in fields:
        staff = fields["staff_count"]
        if staff is not None and (not isinstance(staff, int) or isinstance(staff, bool) or staff < 0):
            raise Invalid("must be a whole number, 0 or more", field="staff_count")
        org.staff_count = staff
    if "active" in fields and fields["active"] is not None:
        org.active = bool(fields["active"])


def update_organization(session: Session, principal: Principal, org_id: uuid.UUID, **changes: Any) -> Organization:
    org = get_organization(session, principal, org_id)
    if "kind" in changes:
        org.kind = one_of(changes["kind"], ORGANIZATION_KINDS, "kind")
    if "name" in changes:
        org.name = clean_text(changes["name"], "name", 120, required=True) or org.name
    if "grid_code" in changes:
        org.grid_code = writable_grid(session, principal, changes["grid_code"])
    if "credit_code" in changes or "kind" in changes:
        org.credit_code = _credit_code(session, org.district_code, org.kind,
                                       changes.get("credit_code", org.credit_code), org.id)
    _set(org, changes)
    session.flush()
    return org


def get_organization(session: Session, principal: Principal, org_id: uuid.UUID) -> Organization:
    return get_scoped(session, principal, Organization, org_id, "organization")


def list_organizations(session: Session, principal: Principal, *, grid: str | None = None,
                       kind: str | None = None, active: bool | None = None, limit: int = 50,
                       offset: int = 0) -> tuple[list[Organization], int]:
    """Organizations in scope; `active` True or False keeps only those in or out of operation (the grid
    profile counts the active ones)."""
    stmt = scoped_select(principal, Organization, grid)
    if kind is not None:
        stmt = stmt.where(Organization.kind == one_of(kind, ORGANIZATION_KINDS, "kind"))
    if active is not None:
        stmt = stmt.where(Organization.active.is_(active))
    return page(session, stmt, (Organization.grid_code, Organization.name), limit, offset)
