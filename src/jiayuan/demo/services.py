"""Services demo data (新服务) for the demo district: the 8+X service centres of every street with their weeks,
holiday exceptions, opening logs since the start of last year and yearly subsidies; the 12343 hotline's member
providers (加盟企业) with items, prices, areas, hours, one staff account each and their status steps; months of past
orders in every status with their offers, timelines and ratings; the source document's special service projects;
farm-to-community produce points.

``build_services`` is pure and deterministic from the seed and the moment it is built for; ``load_services`` writes
it with core inserts in chunks, reading from the database only what other parts of the demo made: the registry's
social organizations and the people with care tags (for the projects), and the accounts that act.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from jiayuan.accounts.models import User
from jiayuan.demo.generate import DISTRICT_CODE, DISTRICT_NAME, DemoDistrict
from jiayuan.demo.registry import _write
from jiayuan.demo.registry_specs import Mobiles, Picker
from jiayuan.demo.service_centres import centres
from jiayuan.demo.service_orders import Orders
from jiayuan.demo.services_specs import (
    ADMIN,
    ORDER_PHONE_CONTEXT,
    SCALES,
    SOCIAL_KINDS,
    ActivitySpec,
    Landlines,
    OrderEventSpec,
    OrderSpec,
    ProduceSpec,
    ProjectSpec,
    ProviderEventSpec,
    ProviderSpec,
    Scale,
    ServicesDemo,
    World,
    _CreditCodes,
    make_world,
    week_of,
)
from jiayuan.kit.crypto import blind_index
from jiayuan.kit.db import utcnow, uuid7
from jiayuan.kit.i18n import TIMEZONE
from jiayuan.registry.models import Organization, Person, PersonTag
from jiayuan.services.catalogue.service import read_catalogue
from jiayuan.services.centres.models import CentreException, CentreOpening, CentreSubsidy, ServiceCentre
from jiayuan.services.orders.models import OrderEvent, OrderOffer, ServiceOrder
from jiayuan.services.projects.models import ProducePoint, ProjectActivity, ProjectBeneficiary, ServiceProject
from jiayuan.services.providers.models import (
    Provider,
    ProviderArea,
    ProviderEvent,
    ProviderItem,
    ProviderStaff,
)

# --- Providers ----------------------------------------------------------------------------------------------------


def _providers(cfg: Scale, w: World, rng: random.Random, catalogue: list[dict[str, Any]],
               out: ServicesDemo) -> None:
    data = w.data
    trades = data["trades"]
    items_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in catalogue:
        if row["parent_code"]:
            items_of[row["parent_code"]].append(row)
    groups = {row["code"]: row["name_zh"] for row in catalogue if not row["parent_code"]}
    credit, landline = _CreditCodes(), Landlines()
    mobile = Mobiles(w.vocab.registry["origins"]["mobile_prefixes"])
    stems = w.vocab.registry["organizations"]["brand_stems"]
    trade_of = Picker(list(trades), [t["share"] for t in trades.values()])
    weeks = [week_of(p["week"]) for p in data["provider_weeks"]]
    names: set[str] = set()
    statuses = ["active"] * (cfg.providers - len(data["brands"]))
    for status, n in cfg.others.items():
        statuses += [status] * n
    rng.shuffle(statuses)
    plan = [(b["trade"], "active", b) for b in data["brands"]] + [(trade_of(rng), s, None) for s in statuses]
    if cfg.every_item:  # every trade with three active providers at least, taken from the largest trades
        counts = Counter(t for t, s, _ in plan if s == "active")
        for trade in trades:
            while counts[trade] < 3:
                big = counts.most_common(1)[0][0]
                k = next(k for k, (t, s, b) in enumerate(plan) if t == big and s == "active" and b is None)
                plan[k] = (trade, "active", None)
                counts[big] -= 1
                counts[trade] += 1
    for n, (trade, status, brand) in enumerate(plan):
        t = trades[trade]
        if brand is not None:
            name = brand["name"]
        else:
            while True:
                suffix = rng.choice(t["names"])
                name = f"吉安市{rng.choice(stems)}{suffix}" if rng.random() < 0.7 else f"{DISTRICT_NAME}{rng.choice(stems)}{suffix}"
                if name not in names:
                    break
        names.add(name)
        department, category = t["code"]
        if suffix_is(name, t.get("non_enterprise", [])):
            department, category = "5", "2"
        elif name.endswith(("服务部", "洗衣店", "维修部", "诊所")):
            department, category = "9", "2"  # 个体工商户
        address, lat, lon, _ = w.place(rng, DISTRICT_CODE)
        allday = brand is not None and n == 0 or rng.random() < t["allday"]
        areas = _areas(w, rng, whole=brand is not None)
        offered = rng.sample(items_of[trade], min(len(items_of[trade]), rng.randint(*t["items"])))
        if rng.random() < 0.1:  # a second line of business
            other = rng.choice([g for g in items_of if g != trade])
            offered += rng.sample(items_of[other], 1)
        items = {row["code"]: _price(rng, row) for row in sorted(offered, key=lambda r: r["code"])}
        joined = w.now - timedelta(days=rng.randint(cfg.order_days + 40, 1100))
        if status in ("applied", "approved"):
            joined = w.now - timedelta(days=rng.randint(3, 40), minutes=rng.randint(0, 600))
        description = brand["description"] if brand else (
            f"{groups[trade]}企业，服务{'、'.join(_area_name(w, a) for a in areas[:3])}"
            + ("等地" if len(areas) > 3 else "") + ("，24小时服务" if allday else ""))
        out.providers.append(ProviderSpec(
            name, credit(rng, department, category), status, trade, w.person(rng), mobile(rng), landline(rng),
            address, lat, lon, allday, None if allday else rng.choice(weeks), description, joined, areas, items,
            f"provider{n + 1:03d}"))
        _status_steps(w, rng, len(out.providers) - 1, out)
    if cfg.every_item:
        _every_item_offered(rng, items_of, out)
    active = [i for i, p in enumerate(out.providers) if p.status == "active"]
    for i in rng.sample(active[len(data["brands"]):], cfg.poor_providers):
        p = out.providers[i]
        p.poor = True
        p.areas = [DISTRICT_CODE]  # they take orders from everywhere, and fare badly


def suffix_is(name: str, suffixes: list[str]) -> bool:
    return any(name.endswith(s) for s in suffixes)


def _areas(w: World, rng: random.Random, *, whole: bool) -> list[str]:
    """The whole district (a few), a street or two (most), or a handful of communities."""
    roll = rng.random()
    if whole or roll < 0.08:
        return [DISTRICT_CODE]
    if roll < 0.7:
        return sorted(s.code for s in rng.sample(w.streets, min(len(w.streets), rng.choice((1, 1, 2)))))
    return sorted(c.code for c in rng.sample(w.communities, min(len(w.communities), rng.randint(2, 5))))


def _area_name(w: World, code: str) -> str:
    return next((u.name for u in w.demo.units if u.code == code), code)


def _price(rng: random.Random, item: dict[str, Any]) -> int | None:
    low, high = item["price_min_fen"], item["price_max_fen"]
    if item["public_welfare"] and rng.random() < 0.5:
        return low  # free or at the lowest
    if rng.random() < 0.04 and high >= 3 * max(low, 100):
        return None  # quoted on site
    fen = rng.randint(low, high)
    step = 500 if fen >= 10_000 else 100
    return max(low, min(high, round(fen / step) * step))


def _status_steps(w: World, rng: random.Random, i: int, out: ServicesDemo) -> None:
    """applied → approved → active, and on to suspended or withdrawn; a rejected application is withdrawn."""
    p, reasons = out.providers[i], w.data["reasons"]
    at = p.created_at
    steps: list[tuple[str, str | None]] = [("applied", None)]
    path = {"applied": [], "approved": ["approved"], "active": ["approved", "active"],
            "suspended": ["approved", "active", "suspended"]}.get(p.status)
    if path is None:  # withdrawn: rejected at once, or after some time as a member
        path = ["withdrawn"] if rng.random() < 0.4 else ["approved", "active", "withdrawn"]
    for status in path:
        key = "rejected" if status == "withdrawn" and len(path) == 1 else status
        steps.append((status, rng.choice(reasons[key])))
    before: str | None = None
    for n, (status, reason) in enumerate(steps):
        if n:
            gap = rng.uniform(1, 12) if status in ("approved", "active") else rng.uniform(30, 500)
            at = min(at + timedelta(days=gap, minutes=rng.randint(0, 300)), w.now - timedelta(hours=n))
        out.provider_events.append(ProviderEventSpec(i, at, before, status, reason))
        before = status
    p.updated_at = at


def _every_item_offered(rng: random.Random, items_of: dict[str, list[dict[str, Any]]], out: ServicesDemo) -> None:
    """Each catalogue item is offered by at least three active providers (of its trade when it has enough)."""
    active = [p for p in out.providers if p.status == "active"]
    for trade, rows in items_of.items():
        pool = [p for p in active if p.trade == trade] or active
        for row in rows:
            offering = [p for p in pool if row["code"] in p.items]
            others = [p for p in pool if row["code"] not in p.items]
            for p in rng.sample(others, max(0, min(len(others), 3 - len(offering)))):
                p.items[row["code"]] = _price(rng, row)
                p.items = dict(sorted(p.items.items()))


# --- Projects and produce points ---------------------------------------------------------------------------------


def _projects(cfg: Scale, scale: str, w: World, rng: random.Random, out: ServicesDemo) -> None:
    by_name = {c.name: c.code for c in w.communities}
    for n, p in enumerate(w.data["projects"]):
        unit = by_name.get(p["community"], w.communities[0].code)
        starts = w.today - timedelta(days=rng.randint(420, 1000))
        out.projects.append(ProjectSpec(p["name"], unit, list(p["tags"]), list(p["keywords"]), p["description"],
                                        starts, p["beneficiaries"][scale]))
        for _ in range(cfg.activities):
            held = w.today - timedelta(days=rng.randint(1, 365))
            title = rng.choice(p["activities"])
            out.activities.append(ActivitySpec(n, held, title, rng.randint(*p["participants"]),
                                               f"{title}，志愿者{rng.randint(2, 12)}人参与" if rng.random() < 0.5
                                               else None))
    out.activities.sort(key=lambda a: (a.project, a.held_on))


def _produce(cfg: Scale, w: World, rng: random.Random, out: ServicesDemo) -> None:
    d = w.data["produce"]
    weeks = [week_of(spec) for spec in d["weeks"]]
    for c in sorted(rng.sample(w.communities, min(cfg.produce_points, len(w.communities))), key=lambda u: u.code):
        address, lat, lon, _ = w.place(rng, c.code)
        out.produce.append(ProduceSpec(c.code, f"{c.name}{rng.choice(d['names'])}", address, lat, lon,
                                       rng.choice(d["suppliers"]), rng.choice(weeks)))


# --- The whole services demo ---------------------------------------------------------------------------------------


def build_services(demo: DemoDistrict, scale: str = "district", seed: int = 2026,
                   now: datetime | None = None) -> ServicesDemo:
    """Centres, providers, orders, projects and produce points for the demo district of `scale` and `seed`, as of
    `now` (the orders' clock; the centres' days are counted in local dates)."""
    if scale not in SCALES:
        raise ValueError("scale: must be small or district")
    cfg = SCALES[scale]
    now = now or utcnow()
    w = make_world(demo, seed, now)
    catalogue = read_catalogue()
    out = ServicesDemo()
    # Separate streams, so that changing one part leaves the others as they were.
    centres(cfg, w, random.Random(f"{seed}:services:centres"), out)
    _providers(cfg, w, random.Random(f"{seed}:services:providers"), catalogue, out)
    Orders(cfg, w, random.Random(f"{seed}:services:orders"), out).generate()
    _projects(cfg, scale, w, random.Random(f"{seed}:services:projects"), out)
    _produce(cfg, w, random.Random(f"{seed}:services:produce"), out)
    return out


# --- Loading ---------------------------------------------------------------------------------------------------------


def _bulk(session: Session, model: type, rows: Iterable[dict[str, Any]]) -> None:
    """The large tables (openings, offers, events): COPY on PostgreSQL, in the session's transaction, several times
    faster than its executemany; each value through its column's bind processing first (UTC, UUIDs). SQLite: the
    registry demo's chunked core insert."""
    if session.get_bind().dialect.name != "postgresql":
        _write(session, model, rows, size=10_000)
        return
    table = model.__table__  # type: ignore[attr-defined]
    rows = list(rows)
    if not rows:
        return
    dialect = session.get_bind().dialect
    columns = [c for c in table.columns if c.key in rows[0]]
    process = [c.type._cached_bind_processor(dialect) for c in columns]  # SQLAlchemy's own hook
    names = ", ".join(f'"{c.name}"' for c in columns)
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([p(row[c.key]) if p else row[c.key] for c, p in zip(columns, process, strict=True)])


def _fresh_statistics(session: Session, *tables: str) -> None:
    """PostgreSQL: statistics of the tables just filled, before their children are written; otherwise the
    foreign-key checks may keep a plan made while the parent was empty, a scan of it per row (the registry's
    imports saw this). SQLite checks through the index anyway."""
    if session.get_bind().dialect.name == "postgresql":
        for table in tables:
            session.execute(text(f'ANALYZE "{table}"'))


def order_phone_key(phone: str) -> str:
    return blind_index(phone, context=ORDER_PHONE_CONTEXT)


@dataclass
class ServicesLoaded:
    centres: int
    providers: int
    active_providers: int
    orders: int
    projects: int
    beneficiaries: int
    produce_points: int


def load_services(session: Session, demo: DemoDistrict, scale: str = "district", seed: int = 2026, *,
                  password_hash: str, now: datetime | None = None) -> ServicesLoaded:
    """Write the services demo in bulk: no ORM objects, no per-row queries. Provider staff accounts share
    `password_hash` (the demo's one password)."""
    stamp = now = now or utcnow()
    svc = build_services(demo, scale, seed, now)
    district = DISTRICT_CODE
    users = {u: i for u, i in session.execute(select(User.username, User.id))}
    names = {u: n for u, n in session.execute(select(User.username, User.full_name))}
    admin = users.get(ADMIN)
    admin_name = names.get(ADMIN, "区管理员")

    centres = [uuid7() for _ in svc.centres]
    _write(session, ServiceCentre, ({
        "district_code": district, "id": centres[i], "unit_code": c.unit_code, "kind_code": c.kind, "name": c.name,
        "address": c.address, "lat": c.lat, "lon": c.lon, "capacity": c.capacity, "facilities": c.facilities,
        "contact_name": c.contact_name, "phone": c.phone, "is_public": c.is_public, "weekly_hours": c.weekly_hours,
        "description": c.description, "active": True, "created_at": stamp, "updated_at": stamp}
        for i, c in enumerate(svc.centres)))
    _write(session, CentreException, ({"district_code": district, "id": uuid7(), "centre_id": centres[e.centre],
                                       "day": e.day, "closed": e.closed, "hours": e.hours, "note": e.note}
                                      for e in svc.exceptions))
    recorders = [users.get(c.recorder, admin) for c in svc.centres]
    _bulk(session, CentreOpening, ({"district_code": district, "id": uuid7(), "centre_id": centres[o.centre],
                                    "day": o.day, "opened_at": o.opened_at, "closed_at": o.closed_at,
                                    "recorded_by": recorders[o.centre]} for o in svc.openings))
    _write(session, CentreSubsidy, ({"district_code": district, "id": uuid7(), "centre_id": centres[s.centre],
                                     "year": s.year, "amount_fen": s.amount_fen, "granted_on": s.granted_on,
                                     "note": s.note, "granted_by": admin} for s in svc.subsidies))

    providers = [uuid7() for _ in svc.providers]
    _write(session, Provider, ({
        "district_code": district, "id": providers[i], "unit_code": district, "name": p.name,
        "credit_code": p.credit_code, "organization_id": None, "status": p.status, "contact_name": p.contact_name,
        "contact_phone": p.contact_phone, "service_phone": p.service_phone, "address": p.address, "lat": p.lat,
        "lon": p.lon, "round_the_clock": p.round_the_clock, "weekly_hours": p.weekly_hours,
        "description": p.description, "flagged_at": p.flagged_at, "flag_reason": p.flag_reason, "version": 1,
        "created_at": p.created_at, "updated_at": max(p.updated_at or p.created_at, p.flagged_at or p.created_at)}
        for i, p in enumerate(svc.providers)))
    _fresh_statistics(session, "service_centres", "providers")
    _write(session, ProviderArea, ({"district_code": district, "id": uuid7(), "provider_id": providers[i],
                                    "unit_code": code} for i, p in enumerate(svc.providers) for code in p.areas))
    _write(session, ProviderItem, ({"district_code": district, "id": uuid7(), "provider_id": providers[i],
                                    "item_code": code, "price_fen": price, "active": True}
                                   for i, p in enumerate(svc.providers) for code, price in p.items.items()))
    staff = [uuid7() for _ in svc.providers]
    _write(session, User, ({"id": staff[i], "username": p.username, "full_name": p.contact_name, "role": "provider",
                            "scope_code": district, "password_hash": password_hash, "is_active": True,
                            "token_version": 0, "last_login_at": None, "created_at": p.created_at,
                            "updated_at": p.created_at} for i, p in enumerate(svc.providers)))
    _write(session, ProviderStaff, ({"district_code": district, "id": uuid7(), "provider_id": providers[i],
                                     "user_id": staff[i]} for i in range(len(svc.providers))))
    _write(session, ProviderEvent, ({"district_code": district, "id": uuid7(), "provider_id": providers[e.provider],
                                     "at": e.at, "actor_id": None if e.to_status == "applied" else admin,
                                     "actor_name": svc.providers[e.provider].contact_name if e.to_status == "applied"
                                     else admin_name, "from_status": e.from_status, "to_status": e.to_status,
                                     "reason": e.reason} for e in svc.provider_events))

    orders = [uuid7() for _ in svc.orders]

    def order_row(i: int, o: OrderSpec) -> dict[str, Any]:
        return {"district_code": district, "id": orders[i], "number": o.number, "item_code": o.item_code,
                "channel": o.channel, "status": o.status, "unit_code": o.unit_code, "address": o.address,
                "lat": o.lat, "lon": o.lon, "window_start": o.window_start, "window_end": o.window_end,
                "notes": o.notes, "resident_id": None, "operator_id": users.get(o.operator or ""),
                "contact_name": o.contact_name, "contact_phone": o.contact_phone,
                "contact_phone_index": order_phone_key(o.contact_phone),
                "provider_id": providers[o.provider] if o.provider is not None else None, "price_fen": o.price_fen,
                "offered_at": o.offered_at, "accepted_at": o.accepted_at, "started_at": o.started_at,
                "completed_at": o.completed_at, "cancelled_at": o.cancelled_at, "cancelled_by": o.cancelled_by,
                "cancel_reason": o.cancel_reason, "rating": o.rating, "rating_comment": o.rating_comment,
                "rated_at": o.rated_at, "complaint_case": None, "idempotency_key": None, "version": 1,
                "created_at": o.created_at, "updated_at": o.updated_at}

    _write(session, ServiceOrder, (order_row(i, o) for i, o in enumerate(svc.orders)))
    _fresh_statistics(session, "service_orders")
    _bulk(session, OrderOffer, ({"district_code": district, "id": uuid7(), "order_id": orders[f.order],
                                 "provider_id": providers[f.provider], "rank": f.rank, "score": f.score,
                                 "status": f.status, "offered_at": f.offered_at, "deadline_at": f.deadline_at,
                                 "answered_at": f.answered_at} for f in svc.offers))

    def actor(text: str) -> tuple[Any, str, str]:
        kind, _, who = text.partition(":")
        if kind == "provider":
            p = int(who)
            return staff[p], svc.providers[p].contact_name, "provider"
        if kind == "operator":
            return users.get(who), names.get(who, "话务员"), "hotline_operator"
        if kind == "resident":
            return None, who, "resident"
        return None, "系统", "system"

    def event_row(e: OrderEventSpec) -> dict[str, Any]:
        actor_id, actor_name, role = actor(e.actor)
        return {"district_code": district, "id": uuid7(), "order_id": orders[e.order], "at": e.at,
                "actor_id": actor_id, "actor_name": actor_name[:100], "actor_role": role, "action": e.action,
                "from_status": e.from_status, "to_status": e.to_status, "note": e.note}

    _bulk(session, OrderEvent, (event_row(e) for e in svc.order_events))
    beneficiaries = _load_projects(session, svc, seed, now.astimezone(TIMEZONE).date())
    _write(session, ProducePoint, ({"district_code": district, "id": uuid7(), "unit_code": p.unit_code,
                                    "name": p.name, "address": p.address, "lat": p.lat, "lon": p.lon,
                                    "supplier": p.supplier, "weekly_hours": p.weekly_hours, "active": True,
                                    "created_at": stamp, "updated_at": stamp} for p in svc.produce))
    session.flush()
    return ServicesLoaded(len(svc.centres), len(svc.providers),
                          sum(p.status == "active" for p in svc.providers), len(svc.orders), len(svc.projects),
                          beneficiaries, len(svc.produce))


def _load_projects(session: Session, svc: ServicesDemo, seed: int, today: date) -> int:
    """The projects, run by a social organization of their community (else of its street, else any), with
    beneficiaries from the registry people carrying their tags, nearest first; returns how many enrolled."""
    rng = random.Random(f"{seed}:services:beneficiaries")
    district, stamp = DISTRICT_CODE, utcnow()
    orgs = session.execute(select(Organization.id, Organization.name, Organization.grid_code).where(
        Organization.district_code == district, Organization.kind.in_(SOCIAL_KINDS), Organization.active)
        .order_by(Organization.grid_code, Organization.name)).all()
    tags = sorted({t for p in svc.projects for t in p.tags})
    tagged: dict[str, list[tuple[Any, str, date | None]]] = defaultdict(list)
    if tags:
        rows = session.execute(
            select(PersonTag.tag, Person.id, Person.grid_code, PersonTag.starts_on).join(
                Person, (Person.district_code == PersonTag.district_code) & (Person.id == PersonTag.person_id))
            .where(PersonTag.district_code == district, PersonTag.tag.in_(tags), PersonTag.ends_on.is_(None),
                   Person.anonymized_at.is_(None))
            .order_by(Person.grid_code, Person.name, Person.birth_date, Person.id))
        for tag, pid, grid, starts in rows:
            tagged[tag].append((pid, grid, starts))
    projects = [uuid7() for _ in svc.projects]
    rows_p, rows_b = [], []
    enrolled = 0
    for i, p in enumerate(svc.projects):
        near = ([o for o in orgs if o.grid_code.startswith(p.unit_code)]
                or [o for o in orgs if o.grid_code.startswith(p.unit_code[:9])] or list(orgs))
        fitting = [o for o in near if any(k in o.name for k in p.keywords)] or near
        org = rng.choice(fitting).id if fitting else None
        rows_p.append({"district_code": district, "id": projects[i], "unit_code": p.unit_code, "name": p.name,
                       "organization_id": org, "description": p.description, "target_tags": p.tags,
                       "starts_on": p.starts_on, "ends_on": None, "created_at": stamp, "updated_at": stamp})
        seen: set[Any] = set()
        pool: list[tuple[Any, str, date | None]] = []
        for prefix in (p.unit_code, p.unit_code[:9], p.unit_code[:6]):  # the community first, then wider
            for tag in p.tags:
                for row in tagged[tag]:
                    if row[1].startswith(prefix) and row[0] not in seen:
                        seen.add(row[0])
                        pool.append(row)
            if len(pool) >= p.beneficiaries:
                break
        for pid, _, starts in pool[:p.beneficiaries]:
            enrolled_on = max(p.starts_on, starts or p.starts_on) + timedelta(days=rng.randint(0, 90))
            rows_b.append({"district_code": district, "id": uuid7(), "project_id": projects[i], "person_id": pid,
                           "enrolled_on": min(enrolled_on, today), "left_on": None, "note": None})
            enrolled += 1
    _write(session, ServiceProject, rows_p)
    _write(session, ProjectBeneficiary, rows_b)
    _write(session, ProjectActivity, ({"district_code": district, "id": uuid7(), "project_id": projects[a.project],
                                       "held_on": a.held_on, "title": a.title, "participants": a.participants,
                                       "notes": a.notes, "recorded_by": None} for a in svc.activities))
    return enrolled
