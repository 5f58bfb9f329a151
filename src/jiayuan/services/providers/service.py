"""Member providers (加盟企业) of the 12343 hotline: the application, its status by district staff with a reason
(docs/services.md), the items it offers at its price, its service area, and its staff accounts."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from jiayuan.accounts import service as accounts
from jiayuan.accounts.models import User
from jiayuan.accounts.roles import Role
from jiayuan.accounts.service import Principal
from jiayuan.kit import hours as weekly
from jiayuan.kit.db import utcnow
from jiayuan.kit.errors import Conflict, Forbidden, Invalid, NotFound
from jiayuan.kit.identity import parse_credit_code, parse_mobile
from jiayuan.kit.scope import strictly_under
from jiayuan.kit.text import clean_text, search_term
from jiayuan.registry.service import organizations
from jiayuan.services.catalogue.models import ServiceItem
from jiayuan.services.catalogue.service import get_item
from jiayuan.services.checks import check_phone
from jiayuan.services.providers.models import (
    PROVIDER_STATUSES,
    Provider,
    ProviderArea,
    ProviderEvent,
    ProviderItem,
    ProviderStaff,
)
from jiayuan.services.providers.policy import may_list, require_editor, visible
from jiayuan.services.providers.policy import provider_of as provider_of  # the provider of a staff account
from jiayuan.units import service as units

APPLIED, APPROVED, ACTIVE, SUSPENDED, WITHDRAWN = PROVIDER_STATUSES
# The table of docs/services.md: from → the statuses it may move to. Withdrawn is the end.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    APPLIED: (APPROVED, WITHDRAWN),
    APPROVED: (ACTIVE, WITHDRAWN),
    ACTIVE: (SUSPENDED, WITHDRAWN),
    SUSPENDED: (ACTIVE, WITHDRAWN),
    WITHDRAWN: (),
}
# A decision on the provider ends the flag's prompt (docs/services.md: "the decision stays with staff").
CLEARS_FLAG = frozenset({SUSPENDED, WITHDRAWN})

MAX_REASON = 500
MAX_ITEMS = 200
MAX_AREAS = 500
MAX_DESCRIPTION = 2000


# --- Who sees which provider ------------------------------------------------------------------------------


def get_provider(session: Session, principal: Principal, provider_id: uuid.UUID | None) -> Provider:
    """A provider the caller may see; any other is a 404, whether it exists or not."""
    if provider_id is None:
        raise Invalid(field="id", reason="required")
    provider = session.scalar(select(Provider).where(Provider.id == provider_id, visible(session, principal)))
    if provider is None:
        raise NotFound(f"no provider {provider_id}", field="id")
    return provider


def _editable(session: Session, principal: Principal, provider_id: uuid.UUID | None,
              what: str = "change providers") -> Provider:
    """Found in scope first (404), then the role (403)."""
    provider = get_provider(session, principal, provider_id)
    require_editor(principal, what)
    return provider


def serves(provider_area_codes: Iterable[str], unit_code: str) -> bool:
    """Whether a provider with these area units serves a unit: an area covers itself and everything under it."""
    return any(unit_code.startswith(code) for code in provider_area_codes)


# --- Lists ------------------------------------------------------------------------------------------------


@dataclass
class ProviderFilter:
    status: str | None = None
    item: str | None = None  # a 4-digit item or a 2-digit group
    area: str | None = None  # a unit: providers serving it or part of it
    flagged: bool | None = None
    q: str | None = None  # part of the name, or the whole credit code


def _filtered(stmt: Any, f: ProviderFilter) -> Any:
    if f.status is not None:
        if f.status not in PROVIDER_STATUSES:
            raise Invalid(f"must be one of {', '.join(PROVIDER_STATUSES)}", field="status")
        stmt = stmt.where(Provider.status == f.status)
    if f.item:
        if not (f.item.isdigit() and len(f.item) in (2, 4)):
            raise Invalid("a 4-digit item or a 2-digit group of the catalogue", field="item")
        cond = ProviderItem.item_code.startswith(f.item) if len(f.item) == 2 else ProviderItem.item_code == f.item
        stmt = stmt.where(select(ProviderItem.id).where(
            ProviderItem.district_code == Provider.district_code, ProviderItem.provider_id == Provider.id,
            ProviderItem.active.is_(True), cond).exists())
    if f.area:
        code = units.check_code(f.area, "area")
        # Serves the unit (an area at or above it) or part of it (an area below it).
        above = [code[:n] for n in (6, 9, 12, 15) if n <= len(code)]
        stmt = stmt.where(select(ProviderArea.id).where(
            ProviderArea.district_code == Provider.district_code, ProviderArea.provider_id == Provider.id,
            or_(ProviderArea.unit_code.in_(above),
                strictly_under(ProviderArea.unit_code, code))).exists())
    if f.flagged is not None:
        stmt = stmt.where(Provider.flagged_at.is_not(None) if f.flagged else Provider.flagged_at.is_(None))
    if q := search_term(f.q):
        stmt = stmt.where(or_(Provider.name.contains(q, autoescape=True), Provider.credit_code == q.upper()))
    return stmt


def list_providers(session: Session, principal: Principal, f: ProviderFilter | None = None, *, limit: int = 50,
                   offset: int = 0) -> tuple[list[Provider], int]:
    """The district's providers for its staff (a provider's staff: their own), flagged ones first, then by name."""
    if not may_list(principal):
        raise Forbidden("your role may not list providers", field="role")
    stmt = _filtered(select(Provider).where(visible(session, principal)), f or ProviderFilter())
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    if limit <= 0:
        return [], total
    rows = session.scalars(stmt.order_by(Provider.flagged_at.is_(None), Provider.name, Provider.id)
                           .limit(limit).offset(offset))
    return list(rows), total


def public_providers(session: Session, district: str, f: ProviderFilter | None = None, *, limit: int = 50,
                     offset: int = 0) -> tuple[list[Provider], int]:
    """The active providers of a district, for anyone: the directory residents and other staff read."""
    f = f or ProviderFilter()
    f = ProviderFilter(status=None, item=f.item, area=f.area, q=f.q)
    stmt = _filtered(select(Provider).where(Provider.district_code == district, Provider.status == ACTIVE), f)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = session.scalars(stmt.order_by(Provider.name, Provider.id).limit(limit).offset(offset))
    return list(rows), total


# --- Items, areas and staff of many providers at once (lists and exports) ---------------------------------


@dataclass(frozen=True)
class OfferedItem:
    code: str
    name_zh: str
    name_en: str
    unit_zh: str | None
    unit_en: str | None
    price_fen: int | None
    public_welfare: bool
    active: bool


def items_by_provider(session: Session, district: str, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[OfferedItem]]:
    out: dict[uuid.UUID, list[OfferedItem]] = {i: [] for i in ids}
    if not ids:
        return out
    rows = session.execute(
        select(ProviderItem.provider_id, ProviderItem.price_fen, ProviderItem.active, ServiceItem)
        .join(ServiceItem, ServiceItem.code == ProviderItem.item_code)
        .where(ProviderItem.district_code == district, ProviderItem.provider_id.in_(ids))
        .order_by(ServiceItem.sort, ServiceItem.code))
    for pid, price, active, item in rows:
        out[pid].append(OfferedItem(item.code, item.name_zh, item.name_en, item.unit_zh, item.unit_en, price,
                                    bool(item.public_welfare), bool(active)))
    return out


def areas_by_provider(session: Session, district: str, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    out: dict[uuid.UUID, list[str]] = {i: [] for i in ids}
    if not ids:
        return out
    rows = session.execute(select(ProviderArea.provider_id, ProviderArea.unit_code).where(
        ProviderArea.district_code == district, ProviderArea.provider_id.in_(ids)).order_by(ProviderArea.unit_code))
    for pid, code in rows:
        out[pid].append(code)
    return out


def items_of(session: Session, provider: Provider) -> list[OfferedItem]:
    return items_by_provider(session, provider.district_code, [provider.id])[provider.id]


def areas_of(session: Session, provider: Provider) -> list[str]:
    return areas_by_provider(session, provider.district_code, [provider.id])[provider.id]


def staff_of(session: Session, provider: Provider) -> list[User]:
    return list(session.scalars(select(User).join(ProviderStaff, ProviderStaff.user_id == User.id).where(
        ProviderStaff.district_code == provider.district_code, ProviderStaff.provider_id == provider.id)
        .order_by(User.username)))


def history(session: Session, provider: Provider) -> list[ProviderEvent]:
    """Its status steps, oldest first."""
    return list(session.scalars(select(ProviderEvent).where(
        ProviderEvent.district_code == provider.district_code, ProviderEvent.provider_id == provider.id)
        .order_by(ProviderEvent.at, ProviderEvent.id)))


# --- Application and edits --------------------------------------------------------------------------------


def _credit_code(session: Session, district: str, value: Any, own_id: uuid.UUID | None) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise Invalid(field="credit_code", reason="required")
    if not isinstance(value, str):
        raise Invalid(field="credit_code", reason="not_text")
    code = parse_credit_code(value, field="credit_code").value
    other = session.scalar(select(Provider.id).where(Provider.district_code == district,
                                                     Provider.credit_code == code))
    if other is not None and other != own_id:
        raise Conflict("a provider with this credit code is already registered in the district",
                       field="credit_code")
    return code


def _coordinate(value: Any, field: str, limit: float) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not -limit <= value <= limit:
        raise Invalid(f"must be a number from {-limit:g} to {limit:g}", field=field)
    return float(value)


def _apply_fields(session: Session, provider: Provider, fields: dict[str, Any]) -> None:
    """Checks and sets the fields given (an edit sends only what changes); each error names its field."""
    if "name" in fields:
        provider.name = clean_text(fields["name"], "name", 120, required=True) or provider.name
    if "contact_name" in fields:
        provider.contact_name = clean_text(fields["contact_name"], "contact_name", 60)
    if "contact_phone" in fields:
        phone = fields["contact_phone"]
        if phone is not None and not isinstance(phone, str):
            raise Invalid(field="contact_phone", reason="not_text")
        # A person's mobile: stored as 11 digits in an encrypted column, shown masked.
        provider.contact_phone = parse_mobile(phone, field="contact_phone") if phone and phone.strip() else None
    if "service_phone" in fields:
        provider.service_phone = check_phone(fields["service_phone"], "service_phone")
    if "address" in fields:
        provider.address = clean_text(fields["address"], "address", 200)
    if "lat" in fields or "lon" in fields:
        lat, lon = fields.get("lat", provider.lat), fields.get("lon", provider.lon)
        if (lat is None) != (lon is None):
            raise Invalid("give both latitude and longitude, or neither", field="lat" if lat is None else "lon")
        provider.lat = None if lat is None else _coordinate(lat, "lat", 90)
        provider.lon = None if lon is None else _coordinate(lon, "lon", 180)
    if "description" in fields:
        provider.description = clean_text(fields["description"], "description", MAX_DESCRIPTION)
    if "round_the_clock" in fields or "weekly_hours" in fields:
        allday = fields.get("round_the_clock", provider.round_the_clock)
        if not isinstance(allday, bool):
            raise Invalid("must be true or false", field="round_the_clock")
        week = weekly.parse_week(fields.get("weekly_hours", provider.weekly_hours), "weekly_hours")
        if allday:
            week = None  # round the clock: a week would say nothing more
        elif week is None or not any(week.values()):
            raise Invalid("give the weekly hours, or say it works round the clock", field="weekly_hours",
                          reason="hours_needed")
        provider.round_the_clock, provider.weekly_hours = allday, week


def _record(session: Session, provider: Provider, principal: Principal, before: str | None, after: str,
            reason: str | None, now: datetime) -> ProviderEvent:
    event = ProviderEvent(district_code=provider.district_code, provider_id=provider.id, at=now,
                          actor_id=principal.user_id, actor_name=principal.full_name, from_status=before,
                          to_status=after, reason=reason)
    session.add(event)
    return event


def _link_organization(session: Session, provider: Provider) -> None:
    """The registry's record of the same enterprise, found by its credit code (None when it has none)."""
    org = organizations.by_credit_code(session, provider.district_code, provider.credit_code)
    provider.organization_id = org.id if org is not None else None


def create_provider(session: Session, principal: Principal, **fields: Any) -> Provider:
    """申请加盟: a provider in status applied, with its items and area when given."""
    district = require_editor(principal, "register providers")
    provider = Provider(district_code=district, unit_code=district, status=APPLIED, round_the_clock=False)
    provider.name = clean_text(fields.get("name"), "name", 120, required=True) or ""
    provider.credit_code = _credit_code(session, district, fields.get("credit_code"), None)
    _apply_fields(session, provider, {k: v for k, v in fields.items() if k not in ("name", "credit_code")}
                  | {"round_the_clock": fields.get("round_the_clock", False),
                     "weekly_hours": fields.get("weekly_hours")})
    reason = clean_text(fields.get("reason"), "reason", MAX_REASON)
    _link_organization(session, provider)
    session.add(provider)
    session.flush()
    _record(session, provider, principal, None, APPLIED, reason, utcnow())
    if fields.get("items") is not None:
        _replace_items(session, provider, fields["items"])
    if fields.get("areas") is not None:
        _replace_areas(session, provider, fields["areas"])
    session.flush()
    accounts.audit_for(session, principal, "provider_create", target=str(provider.id))
    return provider


def _check_version(provider: Provider, version: Any) -> None:
    if version is None:
        return
    if isinstance(version, bool) or not isinstance(version, int):
        raise Invalid("must be a whole number", field="version")
    if version != provider.version:
        raise Conflict("someone else changed this provider since you read it; reload it", field="version",
                       details={"status": provider.status, "version": provider.version})


def _flush_versioned(session: Session) -> None:
    """The UPDATE checks the version it read: of two changes at once, the second finds it moved."""
    try:
        session.flush()
    except StaleDataError:
        # The session is spent (its transaction rolls back): nothing more can be read from it here.
        raise Conflict("someone else changed this provider at the same moment; reload it",
                       field="version") from None


def update_provider(session: Session, principal: Principal, provider_id: uuid.UUID, **changes: Any) -> Provider:
    """Edits by the district admin; the status moves only through change_status."""
    provider = _editable(session, principal, provider_id)
    _check_version(provider, changes.pop("version", None))
    if "status" in changes:
        raise Invalid("the status changes through POST …/status, with a reason", field="status")
    if "credit_code" in changes:
        provider.credit_code = _credit_code(session, provider.district_code, changes["credit_code"], provider.id)
        _link_organization(session, provider)
    _apply_fields(session, provider, changes)
    _flush_versioned(session)
    return provider


def change_status(session: Session, principal: Principal, provider_id: uuid.UUID, to: Any, reason: Any, *,
                  version: int | None = None, now: datetime | None = None) -> Provider:
    """One step of the status table of docs/services.md, by the district admin, with a reason; kept in
    provider_events. A step not in the table is a 409 naming both ends."""
    provider = _editable(session, principal, provider_id, "change a provider's status")
    if to not in PROVIDER_STATUSES:
        raise Invalid(f"must be one of {', '.join(PROVIDER_STATUSES)}", field="to")
    why = clean_text(reason, "reason", MAX_REASON, required=True)
    _check_version(provider, version)
    before = provider.status
    if to not in TRANSITIONS.get(before, ()):
        allowed = TRANSITIONS.get(before, ())
        raise Conflict(f"a provider cannot go from {before} to {to}"
                       + (f"; from {before} only to {', '.join(allowed)}" if allowed else f"; {before} is final"),
                       field="to", details={"from": before, "to": to, "allowed": list(allowed),
                                            "version": provider.version})
    now = now or utcnow()
    provider.status = to
    if to in CLEARS_FLAG:
        provider.flagged_at, provider.flag_reason = None, None
    _flush_versioned(session)
    _record(session, provider, principal, before, to, why, now)
    session.flush()
    accounts.audit_for(session, principal, "provider_status", target=str(provider.id),
                       detail={"from": before, "to": to})
    return provider


def _not_withdrawn(provider: Provider) -> None:
    if provider.status == WITHDRAWN:
        raise Conflict("the provider has withdrawn: its items, area and staff no longer change", field="status")


# --- Items at a price -------------------------------------------------------------------------------------


def _price(item: ServiceItem, value: Any, field: str) -> int | None:
    if value is None:
        if item.public_welfare:
            raise Invalid("a public-welfare item needs its price (0 when free)", field=field)
        return None  # quoted on site
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > 2_000_000_000:
        raise Invalid("a price in fen: a whole number, 0 or more", field=field)
    if item.public_welfare and item.price_max_fen is not None and value > item.price_max_fen:
        raise Invalid(f"item {item.code} is a public-welfare service: at most {item.price_max_fen} fen",
                      field=field, reason="above_welfare_price", limit_fen=item.price_max_fen)
    return value


def _upsert_item(session: Session, provider: Provider, code: Any, price: Any, field: str = "item",
                 price_field: str = "price_fen") -> ProviderItem:
    item = get_item(session, code, field)
    price_fen = _price(item, price, price_field)
    row = session.scalar(select(ProviderItem).where(
        ProviderItem.district_code == provider.district_code, ProviderItem.provider_id == provider.id,
        ProviderItem.item_code == item.code))
    if row is None:
        row = ProviderItem(district_code=provider.district_code, provider_id=provider.id, item_code=item.code)
        session.add(row)
    row.price_fen, row.active = price_fen, True
    return row


def _replace_items(session: Session, provider: Provider, entries: Any) -> None:
    if not isinstance(entries, list):
        raise Invalid("must be a list of {item, price_fen}", field="items")
    if len(entries) > MAX_ITEMS:
        raise Invalid(f"at most {MAX_ITEMS} items", field="items")
    seen: set[str] = set()
    wanted: list[tuple[str, Any, int]] = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise Invalid("must be an object {item, price_fen}", field=f"items[{i}]")
        code = entry.get("item")
        if not isinstance(code, str):
            raise Invalid("a 4-digit code from the catalogue", field=f"items[{i}].item")
        if code in seen:
            raise Invalid(f"item {code} is listed twice", field=f"items[{i}].item")
        seen.add(code)
        wanted.append((code, entry.get("price_fen"), i))
    session.execute(delete(ProviderItem).where(
        ProviderItem.district_code == provider.district_code, ProviderItem.provider_id == provider.id,
        ProviderItem.item_code.not_in(seen) if seen else ProviderItem.id.is_not(None)))
    for code, price, i in wanted:
        _upsert_item(session, provider, code, price, f"items[{i}].item", f"items[{i}].price_fen")
    session.flush()


def set_items(session: Session, principal: Principal, provider_id: uuid.UUID, entries: Any) -> list[OfferedItem]:
    """The whole list of items it offers, replacing the one before."""
    provider = _editable(session, principal, provider_id)
    _not_withdrawn(provider)
    _replace_items(session, provider, entries)
    return items_of(session, provider)


def put_item(session: Session, principal: Principal, provider_id: uuid.UUID, item: Any,
             price_fen: Any) -> list[OfferedItem]:
    """One item added, or its price changed."""
    provider = _editable(session, principal, provider_id)
    _not_withdrawn(provider)
    if len(items_of(session, provider)) >= MAX_ITEMS and item not in {i.code for i in items_of(session, provider)}:
        raise Invalid(f"at most {MAX_ITEMS} items", field="item")
    _upsert_item(session, provider, item, price_fen)
    session.flush()
    return items_of(session, provider)


def remove_item(session: Session, principal: Principal, provider_id: uuid.UUID, item: str) -> list[OfferedItem]:
    provider = _editable(session, principal, provider_id)
    gone = session.execute(delete(ProviderItem).where(
        ProviderItem.district_code == provider.district_code, ProviderItem.provider_id == provider.id,
        ProviderItem.item_code == item))
    if not gone.rowcount:
        raise NotFound(f"the provider does not offer item {item}", field="item")
    session.flush()
    return items_of(session, provider)


# --- Service area -----------------------------------------------------------------------------------------


def _area_code(session: Session, district: str, value: Any, field: str) -> str:
    code = units.check_code(value, field)
    if not code.startswith(district):
        raise Invalid(f"{code} is outside district {district}", field=field)
    if not units.unit_exists(session, code):
        raise Invalid(f"unknown unit {code}", field=field)
    return code


def _replace_areas(session: Session, provider: Provider, codes: Any) -> None:
    if not isinstance(codes, list):
        raise Invalid("must be a list of unit codes", field="areas")
    if len(codes) > MAX_AREAS:
        raise Invalid(f"at most {MAX_AREAS} units", field="areas")
    wanted: list[str] = []
    for i, value in enumerate(codes):
        code = _area_code(session, provider.district_code, value, f"areas[{i}]")
        if code not in wanted:
            wanted.append(code)
    have = set(areas_of(session, provider))
    session.execute(delete(ProviderArea).where(
        ProviderArea.district_code == provider.district_code, ProviderArea.provider_id == provider.id,
        ProviderArea.unit_code.not_in(wanted) if wanted else ProviderArea.id.is_not(None)))
    session.add_all(ProviderArea(district_code=provider.district_code, provider_id=provider.id, unit_code=c)
                    for c in wanted if c not in have)
    session.flush()


def set_areas(session: Session, principal: Principal, provider_id: uuid.UUID, codes: Any) -> list[str]:
    """The whole service area (units), replacing the one before."""
    provider = _editable(session, principal, provider_id)
    _not_withdrawn(provider)
    _replace_areas(session, provider, codes)
    return areas_of(session, provider)


def add_area(session: Session, principal: Principal, provider_id: uuid.UUID, unit_code: Any) -> list[str]:
    provider = _editable(session, principal, provider_id)
    _not_withdrawn(provider)
    code = _area_code(session, provider.district_code, unit_code, "unit_code")
    have = areas_of(session, provider)
    if code not in have:
        if len(have) >= MAX_AREAS:
            raise Invalid(f"at most {MAX_AREAS} units", field="unit_code")
        session.add(ProviderArea(district_code=provider.district_code, provider_id=provider.id, unit_code=code))
        session.flush()
    return areas_of(session, provider)


def remove_area(session: Session, principal: Principal, provider_id: uuid.UUID, unit_code: str) -> list[str]:
    provider = _editable(session, principal, provider_id)
    gone = session.execute(delete(ProviderArea).where(
        ProviderArea.district_code == provider.district_code, ProviderArea.provider_id == provider.id,
        ProviderArea.unit_code == unit_code))
    if not gone.rowcount:
        raise NotFound(f"the provider does not serve {unit_code}", field="unit_code")
    session.flush()
    return areas_of(session, provider)


# --- Staff accounts ---------------------------------------------------------------------------------------


def add_staff(session: Session, principal: Principal, provider_id: uuid.UUID, *, username: Any, full_name: Any,
              password: Any) -> User:
    """A new account (role provider, scope the district) on the provider's staff: it sees and answers the
    provider's orders."""
    provider = _editable(session, principal, provider_id)
    _not_withdrawn(provider)
    if not isinstance(username, str) or not username.strip():
        raise Invalid(field="username", reason="required")
    name = clean_text(full_name, "full_name", 100, required=True) or ""
    if not isinstance(password, str):
        raise Invalid(field="password", reason="required")
    user = accounts.create_user(session, username=username, full_name=name, role=Role.provider.value,
                                scope_code=provider.district_code, password=password,
                                check_unit=True)
    session.add(ProviderStaff(district_code=provider.district_code, provider_id=provider.id, user_id=user.id))
    session.flush()
    accounts.audit_for(session, principal, "provider_staff_add", target=str(provider.id),
                       detail={"username": user.username})
    return user


def remove_staff(session: Session, principal: Principal, provider_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """Off the staff: the link goes and the account is closed (its tokens stop working)."""
    provider = _editable(session, principal, provider_id)
    link = session.scalar(select(ProviderStaff).where(
        ProviderStaff.district_code == provider.district_code, ProviderStaff.provider_id == provider.id,
        ProviderStaff.user_id == user_id))
    if link is None:
        raise NotFound("no such staff account of this provider", field="user_id")
    session.delete(link)
    user = session.get(User, user_id)
    if user is not None:
        user.is_active = False
        user.token_version += 1
    session.flush()
    accounts.audit_for(session, principal, "provider_staff_remove", target=str(provider.id),
                       detail={"user_id": str(user_id)})
