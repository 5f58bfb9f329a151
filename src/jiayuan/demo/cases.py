"""A year of demo cases (about 50,000 for the district) over every state, category, channel and grid.

Generated deterministically from the seed and written in bulk: the timestamps, due times and on-time flags
follow the same working calendar and rules as real cases, so that the workbenches and metrics look real."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import shapely
from shapely.geometry import shape
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from jiayuan.accounts.models import User
from jiayuan.cases.calendar import calendar_for
from jiayuan.cases.models import Case, CaseEvent, Category, phone_key
from jiayuan.kit.db import utcnow, uuid7
from jiayuan.kit.i18n import TIMEZONE
from jiayuan.units.models import GridMember, Unit

CASES = {"district": 50_000, "small": 300}
DESCRIPTIONS = {
    "component": ["{place}的{what}需要维修", "{place}附近{what}，存在安全隐患", "{what}，请尽快处理（{place}）"],
    "event": ["{place}出现{what}，影响居民出行", "{place}一带{what}，已持续多日", "居民反映{place}{what}"],
    "social": ["{place}居民反映：{what}", "{what}，希望社区帮忙协调（{place}）", "{place}{what}，请求帮助"],
}
PLACES = ["小区东门", "3栋楼下", "菜市场旁", "文化广场", "学校门口", "公交站", "背街小巷", "老旧小区院内", "社区服务中心旁",
          "河堤步道", "停车场入口", "农贸市场后门"]
CHANNELS = [("resident", 35), ("hotline", 30), ("patrol", 25), ("api", 5), ("open311", 5)]
RATINGS = [("satisfied", 75), ("fairly_satisfied", 18), ("dissatisfied", 7)]
HANDLING_NOTES = ["已到现场处理完毕", "已协调相关单位整改到位", "已清理干净", "已更换损坏部件", "已调解，双方达成一致"]


@dataclass
class _People:
    leads: dict[str, uuid.UUID]  # grid → lead
    by_scope: dict[str, uuid.UUID]  # community / street code → a staff member
    by_name: dict[str, uuid.UUID]


def load_demo_cases(session: Session, scale: str = "district", seed: int = 2026, now: datetime | None = None) -> int:
    """Insert a year of cases ending at `now`; returns how many."""
    rng = random.Random(seed)
    now = now or utcnow()
    cal = calendar_for(session)
    categories = [c for c in session.scalars(select(Category).where(Category.parent_code.is_not(None),
                                                                    Category.is_active))]
    weights = [6 if c.handling_level == "grid" else 3 if c.handling_level == "community" else 1 for c in categories]
    grids = list(session.execute(select(Unit.code, Unit.geometry).where(Unit.level == "grid")
                                 .order_by(Unit.code)))
    people = _people(session)
    rows: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    numbers: dict[str, int] = {}
    shapes = {code: shape(geom) for code, geom in grids}
    for _ in range(CASES[scale]):
        grid = rng.choice(grids)[0]
        category = rng.choices(categories, weights)[0]
        age = timedelta(days=365 * rng.random() ** 1.6)  # more recent cases than old ones
        reported = _office_hour(rng, now - age)
        case, case_events = _simulate(rng, cal, category, grid, shapes[grid], reported, now, people)
        day = reported.astimezone(TIMEZONE).strftime("%y%m%d")
        numbers[day] = numbers.get(day, 0) + 1
        case["number"] = f"{day}{numbers[day]:05d}"
        phone = case["reporter_phone"]
        case["reporter_phone_index"] = phone_key(phone) if phone else None
        rows.append(case)
        events.extend(case_events)
    for i in range(0, len(rows), 2000):
        session.execute(insert(Case), rows[i:i + 2000])
    for i in range(0, len(events), 5000):
        session.execute(insert(CaseEvent), events[i:i + 5000])
    session.flush()
    return len(rows)


def _people(session: Session) -> _People:
    users = {u.username: u for u in session.scalars(select(User))}
    leads = {g: uid for g, uid in session.execute(select(GridMember.grid_code, GridMember.user_id)
                                                  .where(GridMember.is_lead))}
    by_scope = {}
    for u in users.values():
        if u.role in ("community_staff", "street_staff", "district_admin") and u.scope_code not in by_scope:
            by_scope[u.scope_code] = u.id
    return _People(leads, by_scope, {name: u.id for name, u in users.items()})


def _office_hour(rng: random.Random, moment: datetime) -> datetime:
    local = moment.astimezone(TIMEZONE)
    hour = rng.choices(range(24), [1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 14, 12, 8, 8, 12, 14, 14, 12, 10, 9, 7, 5, 3, 2])[0]
    return local.replace(hour=hour, minute=rng.randrange(60), second=rng.randrange(60)).astimezone(moment.tzinfo)


def _point(rng: random.Random, geom: shapely.Geometry) -> tuple[float, float]:
    minx, miny, maxx, maxy = geom.bounds
    for _ in range(50):
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if shapely.contains_xy(geom, x, y):
            return y, x
    p = geom.representative_point()
    return p.y, p.x


def _simulate(rng: random.Random, cal: Any, category: Category, grid: str, geom: shapely.Geometry,
              reported: datetime, now: datetime, people: _People) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One case's life up to `now`: how far it got, when each step happened, and the timeline."""
    district = grid[:6]
    case_id = uuid7()
    level = category.handling_level
    located = rng.random() < 0.85
    lat, lon = _point(rng, geom) if located else (None, None)
    origin = grid if located else grid[:12]
    unit = {"grid": origin, "community": origin[:12], "street": origin[:9], "district": district,
            "department": district}[level]
    channel = rng.choices([c for c, _ in CHANNELS], [w for _, w in CHANNELS])[0]
    case: dict[str, Any] = {
        "district_code": district, "id": case_id, "category_code": category.code, "channel": channel,
        "description": rng.choice(DESCRIPTIONS[category.kind]).format(place=rng.choice(PLACES), what=category.name_zh),
        "lat": lat, "lon": lon, "origin_code": origin, "unit_code": unit, "grid_code": grid if located else None,
        "level": level, "department": category.department if level == "department" else None,
        "reporter_phone": f"170{rng.randrange(10**8):08d}" if channel in ("hotline", "resident") else None,
        "reporter_name": None, "anonymous": rng.random() < 0.1, "urgent": category.urgent, "reported_at": reported,
        "rework_count": 0, "version": 1, "status": "reported", "created_at": reported, "updated_at": reported,
    }
    timeline: list[tuple[datetime, str, str | None, str | None, str | None, str]] = [
        (reported, "report", None, "reported", None, "resident")]

    def step(at: datetime, action: str, to: str | None, note: str | None = None, role: str = "grid_worker") -> None:
        timeline.append((at, action, timeline_status[-1], to, note, role))
        if to:
            timeline_status.append(to)

    timeline_status = ["reported"]
    t = reported
    age_days = (now - reported).days

    def later(hours: float) -> datetime:
        return cal.due_at(t, max(hours, 0.05), category.urgent)

    if rng.random() < 0.06 and age_days > 1:  # a duplicate or not a matter for the platform
        t = later(rng.uniform(0.1, 2))
        step(t, "void", "voided", "重复上报，已合并处理", "community_staff")
        case.update(status="voided", updated_at=t)
        return case, _events(district, case_id, timeline)
    # How far the case has got: old cases are almost all closed, recent ones are spread over the loop.
    target = 8 if age_days > 30 else rng.choices(range(1, 9), [2, 1, 1, 3, 3, 2, 2, 10 + age_days])[0]
    assignee = (people.leads.get(grid) if level == "grid" else people.by_name.get(category.department or "")
                if level == "department" else people.by_scope.get(unit))
    auto = level == "grid" and located
    for n, (action, status, hours) in enumerate(
            [("accept", "accepted", rng.uniform(0.05, 2.5)), ("register", "registered", rng.uniform(0.05, 1.5)),
             ("dispatch", "dispatched", rng.uniform(0.05, 2))], start=1):
        if target < n:
            break
        if not auto:  # a grid case goes to the grid's lead at once; others wait for the dispatcher
            t = later(hours)
        if t > now:
            break
        step(t, action, status, role="system" if auto else "community_staff")
        if action == "accept":
            case["accepted_at"] = t
            case["response_hours"] = round(cal.working_hours_between(reported, t), 2)
        elif action == "register":
            case["registered_at"] = t
            case["due_at"] = cal.due_at(t, category.time_limit_hours, category.urgent)
        else:
            case["dispatched_at"], case["assignee_id"] = t, assignee
    status = timeline_status[-1]
    if target >= 4 and status == "dispatched":
        t = later(rng.uniform(0.1, 3))
        if t < now:
            step(t, "start", "in_progress")
    if target >= 5 and timeline_status[-1] in ("dispatched", "in_progress"):
        share = rng.choices([rng.uniform(0.1, 0.8), rng.uniform(0.8, 1.0), rng.uniform(1.0, 1.6)], [80, 12, 8])[0]
        t = later(category.time_limit_hours * share)
        if t < now:
            step(t, "handle", "handled", rng.choice(HANDLING_NOTES))
            case.update(handled_at=t, handling_hours=round(cal.working_hours_between(case["dispatched_at"], t), 2),
                        handled_on_time=t <= case["due_at"])
    if target >= 6 and timeline_status[-1] == "handled":
        t = later(rng.uniform(0.2, 4))
        if t < now:
            step(t, "check", "checking")
            check_due = cal.due_at(t, 8, category.urgent)
            if rng.random() < 0.05:  # not good enough: rework, then handled again
                t = later(rng.uniform(0.5, 3))
                step(t, "rework", "in_progress", "现场核查未整改到位，返工")
                case["rework_count"] = 1
                t = later(rng.uniform(2, 12))
                step(t, "handle", "handled", "已返工整改")
                t = later(0.5)
                step(t, "check", "checking")
            if target >= 7:
                t = later(rng.uniform(0.2, 6))
                if t < now:
                    step(t, "close", "closed")
                    case.update(closed_at=t, closed_on_time=bool(case.get("handled_on_time")) and t <= check_due)
                    if rng.random() < 0.7 and t + timedelta(days=1) < now:
                        rating = rng.choices([r for r, _ in RATINGS], [w for _, w in RATINGS])[0]
                        t = t + timedelta(hours=rng.uniform(2, 48))
                        step(t, "rate", None, None, "resident")
                        case.update(rating=rating, rated_at=t)
    case["status"] = timeline_status[-1]
    case["updated_at"] = timeline[-1][0]
    if case["status"] in ("reported", "accepted", "registered"):
        case["stage_started_at"], case["stage_due_at"] = timeline[-1][0], cal.due_at(timeline[-1][0], 2,
                                                                                        category.urgent)
    elif case["status"] in ("dispatched", "in_progress"):
        case["stage_started_at"], case["stage_due_at"] = case["dispatched_at"], case["due_at"]
    elif case["status"] in ("handled", "checking"):
        case["stage_started_at"], case["stage_due_at"] = timeline[-1][0], cal.due_at(timeline[-1][0], 8,
                                                                                        category.urgent)
    if case.get("stage_due_at") and case["stage_due_at"] < now and case["status"] not in ("closed", "voided"):
        case["supervision"] = rng.choice(["yellow", "red"])
    return case, _events(district, case_id, timeline)


def _events(district: str, case_id: uuid.UUID, timeline: list) -> list[dict[str, Any]]:
    names = {"system": "系统", "resident": "居民", "grid_worker": "网格员", "community_staff": "社区工作者"}
    return [{"district_code": district, "id": uuid7(), "case_id": case_id, "at": at, "actor_id": None,
             "actor_name": names.get(role, role), "actor_role": role, "action": action, "from_status": before,
             "to_status": to, "note": note, "data": None}
            for at, action, before, to, note, role in timeline]
