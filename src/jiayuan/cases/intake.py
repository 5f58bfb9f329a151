"""Intake (信息收集): one case from every channel — located, assigned to the unit answerable, numbered once."""

from __future__ import annotations

import math
import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import inspect, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from jiayuan.accounts.roles import STAFF_ROLES, Role
from jiayuan.accounts.service import Principal, record
from jiayuan.cases import notices, policy, timing
from jiayuan.cases.categories import Item, get_item
from jiayuan.cases.models import Case, CaseEvent, phone_key
from jiayuan.cases.workflow import (
    ACCEPTED,
    CHECKING,
    DISPATCHED,
    LEVEL_LENGTH,
    OPEN,
    REGISTERED,
    REPORTED,
)
from jiayuan.config import get_settings
from jiayuan.kit.db import utcnow, uuid7
from jiayuan.kit.errors import Invalid, NotFound
from jiayuan.kit.i18n import TIMEZONE
from jiayuan.kit.idempotency import check_same_request, request_hash
from jiayuan.kit.text import normalise_phone
from jiayuan.notify.limits import TextLimits, may_text
from jiayuan.registry.service import things as registry_things
from jiayuan.units import service as units

if TYPE_CHECKING:  # the grid lead an intake went to, as the units service returns it
    from jiayuan.accounts.models import User

MAX_DESCRIPTION = 4000
CHANNELS = ("resident", "hotline", "patrol", "api", "open311")
PHONE_RE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$")  # mainland mobile or landline
DUPLICATE_METRES = 50
MAX_DUPLICATES = 20  # suggested at most
DUPLICATE_HOURS = 72


@dataclass
class CaseInput:
    category: str
    description: str
    lat: float | None = None
    lon: float | None = None
    crs: str = "wgs84"
    address: str | None = None
    unit_code: str | None = None  # a grid or community picked by the hotline operator
    reporter_name: str | None = None
    reporter_phone: str | None = None
    anonymous: bool = False
    urgent: bool = False
    attributes: dict[str, Any] = field(default_factory=dict)
    handled_on_spot: bool = False  # 自行处置: a grid worker's patrol report, handled there and then
    thing_id: uuid.UUID | None = None  # the facility or component (部件) it is about


@dataclass
class Intake:
    case: Case
    replayed: bool  # True when an Idempotency-Key returned a case made by an earlier request
    category: Item | None = None  # the case's category, as read for the intake (for presenting it)
    assignee: User | None = None  # the grid lead it went to, when it did (for presenting it)


def report_case(
    session: Session,
    data: CaseInput,
    *,
    channel: str,
    actor: Principal | None,
    idempotency_key: str | None = None,
    client_id: Any = None,
    client_name: str | None = None,
    source: str | None = None,
    text_limits: TextLimits | None = None,
) -> Intake:
    """Check, locate and assign a new case; with an Idempotency-Key, a retry returns the first case, and the same key
    with another request is refused (422 idempotency_key_reused). `source` is the network address it came from: a
    phone typed by anyone but staff is texted only within the day's limits per number and per source
    (notify/limits.py); past them the case is taken but its reporter gets no SMS."""
    if channel not in CHANNELS:
        raise Invalid(f"one of {', '.join(CHANNELS)}", field="channel")
    category = get_item(session, data.category)
    description = (data.description or "").strip()
    if not description:
        raise Invalid("required", field="description", reason="required")
    if len(description) > MAX_DESCRIPTION:
        raise Invalid(f"{len(description)} characters; at most {MAX_DESCRIPTION}", field="description",
                      reason="too_long", limit=MAX_DESCRIPTION)
    phone = normalise_phone(data.reporter_phone)
    if phone and not PHONE_RE.match(phone):
        raise Invalid("a mainland mobile (11 digits) or landline number", field="reporter_phone")
    if data.address and len(data.address) > 200:
        raise Invalid("at most 200 characters", field="address")
    attributes = _check_attributes(category, data.attributes)

    origin, grid, lat, lon = _place(session, data, actor)
    district = origin[:6]
    key = digest = None
    if idempotency_key:
        if len(idempotency_key) > 80:
            raise Invalid("at most 80 characters", field="Idempotency-Key")
        who = actor.username if actor else (f"client:{client_id}" if client_id else "anonymous")
        key = f"{who}:{idempotency_key}"
        digest = request_hash(channel, data)
        earlier = session.scalar(select(Case).where(Case.district_code == district, Case.idempotency_key == key))
        if earlier is not None:
            check_same_request(earlier.request_hash, digest)
            return Intake(earlier, replayed=True, category=category)

    withheld = None
    if phone and (actor is None or actor.role not in STAFF_ROLES):
        withheld = may_text(session, phone, text_limits or TextLimits.of(get_settings()), source=source,
                            client=str(client_id) if client_id else None)
    level = category.handling_level
    unit = _answerable_unit(origin, grid, level)
    now = utcnow()
    urgent = category.urgent or data.urgent
    case = Case(
        id=uuid7(), district_code=district, category_code=category.code, channel=channel, status=REPORTED,
        description=description, address=(data.address or "").strip() or None, lat=lat, lon=lon,
        origin_code=origin, unit_code=unit, grid_code=grid, level=level,
        department=category.department if level == "department" else None,
        reporter_id=actor.user_id if actor is not None and policy.reports_as_own(actor) else None,
        reporter_name=None if data.anonymous else (data.reporter_name or "").strip()[:60] or None,
        reporter_phone=phone, reporter_phone_index=phone_key(phone) if phone else None, anonymous=data.anonymous,
        sms_withheld=withheld is not None, urgent=urgent, reported_at=now,
        stage_started_at=now, stage_due_at=timing.stage_due(session, now, REPORTED, category, urgent),
        idempotency_key=key, request_hash=digest, open311_client_id=client_id, attributes=attributes or None,
        thing_id=_check_thing(session, district, data.thing_id),
    )
    # Where the case goes next is settled before it is written, so that it is inserted once in its final
    # state (not inserted, then updated); its timeline follows in the same flush as the notices.
    if data.handled_on_spot:
        steps, lead = _handled_on_spot(session, case, category, actor, now), None
    elif level == "grid" and grid is not None:
        steps, lead = _to_grid_lead(session, case, category, now)
    else:
        steps, lead = [], None
    case, replayed = _insert_numbered(session, case)
    if replayed:
        return Intake(case, replayed=True, category=category)
    actor_name, actor_role = _actor(actor, client_name)
    session.add(CaseEvent(district_code=district, case_id=case.id, at=now, actor_id=actor.user_id if actor else None,
                          actor_name=actor_name, actor_role=actor_role, action="report", from_status=None,
                          to_status=REPORTED, data={"channel": channel}))
    session.add_all(steps)
    if withheld is not None:
        who = actor.username if actor else (f"open311:{client_name}" if client_name else "anonymous")
        record(session, district, actor=who[:64], action="sms_withheld",
               actor_id=actor.user_id if actor else None, target=case.number, ip=source,
               detail={"limit": withheld})
    if case.status == DISPATCHED:
        notices.after(session, case, "dispatch", None)
    session.flush()
    return Intake(case, replayed=False, category=category, assignee=lead)


def _check_thing(session: Session, district: str, thing_id: uuid.UUID | None) -> uuid.UUID | None:
    """A facility of the same district, whoever reports: residents name a lamp by its number, not its grid."""
    if thing_id is None:
        return None
    if not registry_things.thing_exists(session, district, thing_id):
        raise Invalid("no such facility in this district", field="thing_id")
    return thing_id


def _place(session: Session, data: CaseInput, actor: Principal | None) -> tuple[str, str | None, float | None,
                                                                                 float | None]:
    """Where the case arose: (origin unit code, grid code, WGS-84 lat, lon)."""
    if (data.lat is None) != (data.lon is None):
        raise Invalid("give both lat and lon, or neither", field="lat" if data.lat is None else "lon")
    if data.lat is not None:
        try:
            grid, lat, lon = units.locate_grid(session, data.lat, data.lon, data.crs)
        except NotFound as exc:
            raise Invalid(f"outside the district: {exc.message}", field="lat", details=exc.details,
                          reason=exc.reason, **exc.params) from None
        return grid, grid, lat, lon
    if data.unit_code:
        units.check_code(data.unit_code, "unit_code")
        if not units.unit_exists(session, data.unit_code):
            raise Invalid(f"unknown unit {data.unit_code}", field="unit_code")
        code = data.unit_code
        return code, code if len(code) == 15 else None, None, None
    if actor is not None and actor.role == Role.grid_worker and actor.grids:
        return actor.grids[0], actor.grids[0], None, None
    if actor is not None and actor.scope_code:
        return actor.scope_code, None, None, None
    district = units.single_district(session)
    if district is None:
        raise Invalid("give a location (lat, lon) or the unit it concerns", field="lat")
    return district, None, None, None


def _answerable_unit(origin: str, grid: str | None, level: str) -> str:
    """The category's level decides who handles: the grid itself, or its community, street or district."""
    if level == "department":
        return origin[:6]
    length = LEVEL_LENGTH[level]
    return origin[:length] if len(origin) >= length else origin


def _check_attributes(category: Item, given: dict[str, Any] | None) -> dict[str, Any]:
    given = dict(given or {})
    out: dict[str, Any] = {}
    for attr in category.attributes or []:
        code = attr["code"]
        value = given.pop(code, None)
        if value in (None, ""):
            if attr.get("required"):
                raise Invalid(f"required for category {category.code}", field=f"attributes.{code}",
                              reason="required")
            continue
        if attr["datatype"] == "singlevaluelist" and value not in {v["key"] for v in attr.get("values", [])}:
            raise Invalid(f"{value!r} is not one of the listed values", field=f"attributes.{code}",
                          reason="not_a_choice")
        if attr["datatype"] == "number":
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise Invalid("a number", field=f"attributes.{code}", reason="not_a_number") from None
        out[code] = value
    if given:
        raise Invalid(f"unknown attribute for category {category.code}", field=f"attributes.{next(iter(given))}")
    return out


def _insert_numbered(session: Session, case: Case) -> tuple[Case, bool]:
    """Write the case with a tracking number a resident can read out: YYMMDD + 5 digits, unique in the district.

    Returns the case as stored and False; or, when a concurrent request with the same Idempotency-Key committed
    first (a client that timed out and retried while its first request was still running), that request's case
    and True: the retry gets it, as any later retry would, instead of a conflict.

    One INSERT … ON CONFLICT DO NOTHING RETURNING per try (both databases have it): a taken number or key
    returns no row instead of failing the transaction, so no savepoint is needed around it — two round trips
    fewer on every report (bench/intake.py). On PostgreSQL the insert waits for a concurrent transaction holding
    the same key and, once it has committed, the look-up below sees its row."""
    values = {k: v for k, v in inspect(case).dict.items() if k in _CASE_COLUMNS}
    values.setdefault("version", 1)
    day = case.reported_at.astimezone(TIMEZONE).strftime("%y%m%d")
    upsert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    for _ in range(20):
        values["number"] = f"{day}{secrets.randbelow(100_000):05d}"
        stored = session.scalars(upsert(Case).on_conflict_do_nothing().returning(Case), [values]).first()
        if stored is not None:
            return stored, False
        if case.idempotency_key:
            earlier = session.scalar(select(Case).where(
                Case.district_code == case.district_code, Case.idempotency_key == case.idempotency_key))
            if earlier is not None:
                if case.request_hash is not None:
                    check_same_request(earlier.request_hash, case.request_hash)
                return earlier, True
    raise RuntimeError("no free tracking number after 20 tries")


_CASE_COLUMNS = frozenset(c.key for c in Case.__mapper__.column_attrs)


def _handled_on_spot(session: Session, case: Case, category: Item, actor: Principal | None,
                     now: datetime) -> list[CaseEvent]:
    """A grid worker fixed it on patrol: the case goes straight to checking (核查). Returns the step."""
    if actor is None or actor.role != Role.grid_worker:
        raise Invalid("only a grid worker's patrol report can be handled on the spot", field="handled_on_spot")
    case.status = CHECKING
    case.assignee_id = actor.user_id
    case.unit_code = case.grid_code or case.unit_code
    case.level = "grid"
    case.accepted_at = case.registered_at = case.dispatched_at = case.handled_at = now
    case.handled_by = actor.user_id
    case.response_hours = case.handling_hours = 0.0
    case.due_at = timing.handling_due(session, now, category, case.urgent)
    case.handled_on_time = True
    case.stage_started_at = now
    case.stage_due_at = timing.stage_due(session, now, CHECKING, category, case.urgent)
    return [CaseEvent(district_code=case.district_code, case_id=case.id, at=now, actor_id=actor.user_id,
                      actor_name=actor.full_name, actor_role=actor.role.value, action="handled_on_spot",
                      from_status=REPORTED, to_status=CHECKING)]


def _to_grid_lead(session: Session, case: Case, category: Item,
                  now: datetime) -> tuple[list[CaseEvent], User | None]:
    """A grid-level case goes straight to the lead of its grid: "every cell a named person" (每格有人).
    Accepted, registered and dispatched by the system in one step, each on the timeline (returned, with the
    lead's account: the answer names the assignee, and reading it here saves a second query)."""
    lead = units.lead_account(session, case.grid_code)
    if lead is None:
        return [], None  # nobody answers for the grid: it waits for the community's dispatcher
    case.accepted_at = case.registered_at = case.dispatched_at = now
    case.response_hours = 0.0
    case.assignee_id = lead.id
    case.due_at = timing.handling_due(session, now, category, case.urgent)
    case.status = DISPATCHED
    case.stage_started_at, case.stage_due_at = now, case.due_at
    return [CaseEvent(district_code=case.district_code, case_id=case.id, at=now, actor_id=None, actor_name="系统",
                      actor_role="system", action=action, from_status=before, to_status=after, data={"auto": True})
            for action, before, after in (("accept", REPORTED, ACCEPTED), ("register", ACCEPTED, REGISTERED),
                                          ("dispatch", REGISTERED, DISPATCHED))], lead


def _actor(actor: Principal | None, client_name: str | None) -> tuple[str, str]:
    if actor is not None:
        return actor.full_name, actor.role.value
    if client_name:
        return client_name, "open311"
    return "居民", "resident"


def find_duplicates(session: Session, case: Case, *, metres: float = DUPLICATE_METRES,
                    hours: float = DUPLICATE_HOURS, limit: int = MAX_DUPLICATES) -> list[str]:
    """The numbers of open cases of the same category within `metres` and `hours` of this one, oldest first
    (suggested at intake and on the case page). Reads three columns, not whole cases: a busy corner's reports
    would otherwise be loaded and decrypted for every new one."""
    if case.lat is None or case.lon is None:
        return []
    dlat = metres / 111_320
    dlon = metres / (111_320 * max(math.cos(math.radians(case.lat)), 0.01))
    since = case.reported_at - timedelta(hours=hours)
    rows = session.execute(select(Case.number, Case.lat, Case.lon).where(
        Case.district_code == case.district_code, Case.category_code == case.category_code,
        Case.reported_at >= since, Case.id != case.id, Case.status.in_(OPEN),
        Case.lat.between(case.lat - dlat, case.lat + dlat), Case.lon.between(case.lon - dlon, case.lon + dlon),
    ).order_by(Case.reported_at, Case.number))
    near = (number for number, lat, lon in rows if _metres(case.lat, case.lon, lat, lon) <= metres)
    return [number for number, _ in zip(near, range(limit), strict=False)]


@dataclass
class Similar:
    """Open cases like a new one, as its caller may learn of them: how many there are, and the tracking numbers of
    those the caller may see anyway (staff: their scope's; a resident: only their own). Another resident's case
    number is a key to their case (tracking, rating) and says when and where they reported: never shown."""

    count: int
    numbers: list[str]


def similar_for(session: Session, case: Case, principal: Principal | None) -> Similar:
    numbers = find_duplicates(session, case)
    if not numbers or principal is None:
        return Similar(len(numbers), [])
    seen = set(session.scalars(select(Case.number).where(
        Case.district_code == case.district_code, Case.number.in_(numbers), policy.visible(principal))))
    return Similar(len(numbers), [n for n in numbers if n in seen])


def _metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(a))
