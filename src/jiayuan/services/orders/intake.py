"""Placing a service order (下单): a resident for themself, or a 12343 operator for a caller — checked, placed in
its grid, numbered once (retries with an Idempotency-Key return the first order), then offered to providers."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jiayuan.accounts.roles import CALLERS, Role
from jiayuan.accounts.service import Principal
from jiayuan.kit.crypto import blind_index
from jiayuan.kit.idempotency import check_same_request, request_hash
from jiayuan.kit.db import utcnow
from jiayuan.kit.errors import Forbidden, Invalid, NotFound
from jiayuan.kit.i18n import TIMEZONE
from jiayuan.kit.text import normalise_phone
from jiayuan.services.catalogue.service import get_item
from jiayuan.services.orders.models import OrderOffer, ServiceOrder
from jiayuan.services.orders.offers import Rules, start_offers
from jiayuan.services.orders.policy import visible
from jiayuan.services.orders.service import Viewer, record_event
from jiayuan.services.orders.workflow import OFFERED
from jiayuan.units import service as units

MAX_ADDRESS = 200
MAX_NOTES = 1000
MAX_DAYS_AHEAD = 30
MAX_KEY = 80
PHONE_RE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")  # a mainland mobile or a landline, as cases take
PHONE_CONTEXT = "service_orders.contact_phone"
NUMBER_RE = re.compile(r"^S\d{11}$")


@dataclass
class OrderInput:
    item: str
    address: str
    window_start: datetime | None
    window_end: datetime | None
    lat: float | None = None
    lon: float | None = None
    crs: str = "wgs84"
    unit_code: str | None = None  # a grid or community picked by the operator
    notes: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None


@dataclass
class Placed:
    order: ServiceOrder
    replayed: bool  # an Idempotency-Key returned an order made by an earlier request
    candidates: int  # how many providers were ranked for it (0: unassigned at once)


def phone_key(phone: str) -> str:
    return blind_index(phone, context=PHONE_CONTEXT)


def local(value: datetime) -> datetime:
    """A window time as given: without a zone it is Beijing time, as the forms and callers mean it."""
    return value.replace(tzinfo=TIMEZONE) if value.tzinfo is None else value


def check_window(start: datetime | None, end: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    if start is None:
        raise Invalid("required: when the service should start", field="window_start", reason="required")
    if end is None:
        raise Invalid("required: by when the service should end", field="window_end", reason="required")
    start, end = local(start), local(end)
    if start <= now:
        raise Invalid("the time window must start in the future", field="window_start", reason="past")
    if end <= start:
        raise Invalid("the time window must end after it starts", field="window_end", reason="end_before_start")
    if end > now + timedelta(days=MAX_DAYS_AHEAD):
        raise Invalid(f"the time window must end within {MAX_DAYS_AHEAD} days", field="window_end", reason="too_far",
                      days=MAX_DAYS_AHEAD)
    return start, end


def _place(session: Session, principal: Principal, data: OrderInput) -> tuple[str, float | None, float | None]:
    """(unit code, WGS-84 lat, lon): the grid a point lies in, or the grid or community an operator picked."""
    if (data.lat is None) != (data.lon is None):
        raise Invalid("give both lat and lon, or neither", field="lat" if data.lat is None else "lon")
    operator = principal.role == Role.hotline_operator
    if data.lat is not None:
        try:
            found = units.locate(session, data.lat, data.lon, data.crs)
        except NotFound as exc:
            raise Invalid(f"outside the district: {exc.message}", field="lat", details=exc.details,
                          reason=exc.reason, **exc.params) from None
        code = found.chain[-1].code
        if operator and not principal.scope.covers(code):
            raise Invalid("the place lies outside your district", field="lat")
        return code, found.lat, found.lon
    if data.unit_code:
        if not operator:
            raise Invalid("put a pin on the map or use your location; only the hotline picks a grid",
                          field="unit_code")
        code = units.check_code(data.unit_code, "unit_code")
        if len(code) not in (12, 15) or not units.unit_exists(session, code):
            raise Invalid(f"{code} is not a grid or community", field="unit_code")
        if not principal.scope.covers(code):
            raise Invalid("the unit lies outside your district", field="unit_code")
        return code, None, None
    if operator:
        raise Invalid("give the place: a point (lat, lon), or the grid or community", field="unit_code")
    raise Invalid("put a pin on the map where the service is needed, or use your location", field="lat")


def _contact(principal: Principal, data: OrderInput) -> tuple[str | None, str | None]:
    name = (data.contact_name or "").strip()
    phone = normalise_phone(data.contact_phone)
    if len(name) > 60:
        raise Invalid("at most 60 characters", field="contact_name", reason="too_long", limit=60)
    if principal.role == Role.hotline_operator:
        if not name:
            raise Invalid("required: the caller's name", field="contact_name", reason="required")
        if not phone:
            raise Invalid("required: the caller's phone, to tell them who comes", field="contact_phone",
                          reason="required")
    if phone and not PHONE_RE.match(phone):
        raise Invalid("a mainland mobile (11 digits) or landline number", field="contact_phone")
    if principal.role == Role.resident and not name:
        name = principal.full_name
    return name or None, phone


def create_order(session: Session, viewer: Viewer, data: OrderInput, *, rules: Rules,
                 idempotency_key: str | None = None, now: datetime | None = None) -> Placed:
    """Check, place and number a new order, then offer it to the best candidate (or leave it unassigned)."""
    principal = viewer.principal
    if principal.role not in CALLERS:
        raise Forbidden("only a resident or a 12343 operator places orders", field="role")
    now = now or utcnow()
    item = get_item(session, data.item, field="item")
    address = (data.address or "").strip()
    if not address:
        raise Invalid("required: where the service is needed", field="address", reason="required")
    if len(address) > MAX_ADDRESS:
        raise Invalid(f"at most {MAX_ADDRESS} characters", field="address", reason="too_long", limit=MAX_ADDRESS)
    notes = (data.notes or "").strip() or None
    if notes and len(notes) > MAX_NOTES:
        raise Invalid(f"{len(notes)} characters; at most {MAX_NOTES}", field="notes", reason="too_long",
                      limit=MAX_NOTES)
    contact_name, phone = _contact(principal, data)
    start, end = check_window(data.window_start, data.window_end, now)
    unit_code, lat, lon = _place(session, principal, data)
    district = unit_code[:6]

    key = digest = None
    if idempotency_key:
        if len(idempotency_key) > MAX_KEY:
            raise Invalid(f"at most {MAX_KEY} characters", field="Idempotency-Key", reason="too_long",
                          limit=MAX_KEY)
        key = f"{principal.username}:{idempotency_key}"
        digest = request_hash(data)
        earlier = session.scalar(select(ServiceOrder).where(ServiceOrder.district_code == district,
                                                            ServiceOrder.idempotency_key == key))
        if earlier is not None:
            check_same_request(earlier.request_hash, digest)
            return _replay(session, earlier)

    order = ServiceOrder(
        district_code=district, item_code=item.code, channel="hotline" if principal.role == Role.hotline_operator
        else "resident", status=OFFERED, unit_code=unit_code, address=address, lat=lat, lon=lon,
        window_start=start, window_end=end, notes=notes,
        resident_id=principal.user_id if principal.role == Role.resident else None,
        operator_id=principal.user_id if principal.role == Role.hotline_operator else None,
        contact_name=contact_name, contact_phone=phone, contact_phone_index=phone_key(phone) if phone else None,
        idempotency_key=key, request_hash=digest, created_at=now, updated_at=now,
    )
    earlier = _insert_numbered(session, order)
    if earlier is not None:
        return _replay(session, earlier)
    record_event(session, order, viewer.actor, "create", None, None, at=now)
    candidates = start_offers(session, order, now, rules)
    return Placed(order, replayed=False, candidates=candidates)


def _replay(session: Session, earlier: ServiceOrder) -> Placed:
    ranked = session.scalar(select(func.count()).select_from(OrderOffer).where(
        OrderOffer.district_code == earlier.district_code, OrderOffer.order_id == earlier.id)) or 0
    return Placed(earlier, replayed=True, candidates=ranked)


def _insert_numbered(session: Session, order: ServiceOrder) -> ServiceOrder | None:
    """S + YYMMDD + 5 digits, unique in the district: a number a caller can read out.

    Returns None once inserted, or the order of a concurrent request with the same Idempotency-Key that committed
    first (a client that timed out and retried while its first request was still running): the retry gets that
    order, as any later retry would, instead of a conflict."""
    day = order.created_at.astimezone(TIMEZONE).strftime("%y%m%d")
    for _ in range(20):
        order.number = f"S{day}{secrets.randbelow(100_000):05d}"
        try:
            with session.begin_nested():
                session.add(order)
                session.flush()
            return None
        except IntegrityError:
            # The number was taken, or the key: on PostgreSQL the insert waited for the other transaction and,
            # now that it has committed, this statement sees its row.
            if order.idempotency_key:
                earlier = session.scalar(select(ServiceOrder).where(
                    ServiceOrder.district_code == order.district_code,
                    ServiceOrder.idempotency_key == order.idempotency_key))
                if earlier is not None:
                    if order.request_hash is not None:
                        check_same_request(earlier.request_hash, order.request_hash)
                    return earlier
    raise RuntimeError("no free order number after 20 tries")


def orders_by_phone(session: Session, viewer: Viewer, phone: str, limit: int = 20) -> list[ServiceOrder]:
    """A caller's earlier orders in the operator's scope, found through the phone's blind index."""
    phone = normalise_phone(phone) or ""
    if not phone:
        return []
    return list(session.scalars(select(ServiceOrder).where(
        visible(viewer), ServiceOrder.contact_phone_index == phone_key(phone))
        .order_by(ServiceOrder.created_at.desc()).limit(limit)))
