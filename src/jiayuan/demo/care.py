"""Neighbourhood-care demo data (新风尚) for the demo district: people in care drawn from the registry's tags, with
emergency contacts; seven-colour volunteers; pairings and a year of visits (most people weekly, some not, so that
alerts are open today as the sweep would have left them); the hours ledger with honours; home-care and day-care
centres with enrolments and recent attendance. The charity supermarkets come from ``demo.care_charity``, the
activities and volunteer opportunities from ``demo.care_activities``.

``build_care`` is pure: deterministic from the seed, the moment given and the registry it reads (``read_world``,
people in id order). Its ids are made like ``kit.db.uuid7`` but from the moment given and a seeded stream, so that
two builds are equal row for row. ``load_care`` writes every row in bulk with core inserts in chunks.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from operator import attrgetter
from typing import Any

from sqlalchemy import Uuid, select
from sqlalchemy.orm import Session

from jiayuan.accounts import service as accounts
from jiayuan.accounts.models import User
from jiayuan.activities.models import Activity, Registration
from jiayuan.care.models import (
    Attendance,
    CareAlert,
    CareCentre,
    CareProfile,
    EmergencyContact,
    Enrolment,
    Pairing,
    Visit,
)
from jiayuan.care.profiles import CARD_ALPHABET
from jiayuan.charity.models import (
    Donation,
    Redemption,
    Supermarket,
)
from jiayuan.demo.care_activities import activities
from jiayuan.demo.care_charity import charity
from jiayuan.demo.care_world import (
    _MINUTES,
    CARE_TAGS,
    HONOUR_HOURS,
    SEVERE,
    TABLES,
    VISIT_DAYS,
    VOLUNTEER_ACCOUNT,
    CareDemo,
    Credit,
    Ids,
    Names,
    Out,
    Resident,
    Vol,
    World,
    at,
    birthday,
    config,
    local_day,
    make_uuid,
    rint,
    sample,
)
from jiayuan.demo.generate import DemoDistrict
from jiayuan.demo.registry import _page_cache, _weighted_sample, _write
from jiayuan.demo.registry_specs import Picker
from jiayuan.kit.db import UtcDateTime, utcnow
from jiayuan.kit.i18n import TIMEZONE
from jiayuan.registry.models import Person, PersonTag
from jiayuan.registry.service import age_on, tag_active
from jiayuan.volunteers.models import Honour, HoursEntry, Volunteer

# --- Reading the registry --------------------------------------------------------------------------------


def read_world(session: Session, demo: DemoDistrict, now: datetime) -> World:
    """The registry's living people (in id order, which is the order they were made in) with their care tags of
    today, and the units of the demo district."""
    district = demo.units[0].code[:6]
    today = now.astimezone(TIMEZONE).date()
    tags: dict[uuid.UUID, dict[str, tuple[str | None, date | None]]] = {}
    for person, tag, grade, starts in session.execute(
            select(PersonTag.person_id, PersonTag.tag, PersonTag.grade, PersonTag.starts_on)
            .where(PersonTag.district_code == district, tag_active(today))
            .order_by(PersonTag.person_id, PersonTag.tag, PersonTag.starts_on)):
        tags.setdefault(person, {})[tag] = (grade, starts)
    people = [Resident(pid, grid, household, birth, sex or "female", name, tags.get(pid, {}), age_on(birth, today))
              for pid, grid, household, birth, sex, name in _people(session, district)]
    communities = [u for u in demo.units if u.level == "community"]
    grids: dict[str, list[str]] = {c.code: [] for c in communities}
    for u in demo.units:
        if u.level == "grid" and u.parent_code in grids:
            grids[u.parent_code].append(u.code)
    world = World(district, now, today, people, communities, [u for u in demo.units if u.level == "street"], grids)
    # Who approves visits the person could not confirm: a staff member of each community.
    for user_id, scope in session.execute(
            select(User.id, User.scope_code).where(User.role == "community_staff",
                                                   User.scope_code.like(f"{district}%")).order_by(User.username)):
        world.approvers.setdefault(scope, user_id)
    return world


def _people(session: Session, district: str) -> Iterable[tuple[Any, ...]]:
    """(id, grid, household, birth date, sex, name) of the district's living people with a birth date, in id order.
    On SQLite read raw and converted here: SQLAlchemy's result processing of 224,000 rows costs seconds."""
    stmt = (select(Person.id, Person.grid_code, Person.household_id, Person.birth_date, Person.sex, Person.name)
            .where(Person.district_code == district, Person.anonymized_at.is_(None), Person.birth_date.is_not(None))
            .order_by(Person.id))
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return session.execute(stmt)
    raw = connection.exec_driver_sql(
        "SELECT id, grid_code, household_id, birth_date, sex, name FROM people WHERE district_code = ? "
        "AND anonymized_at IS NULL AND birth_date IS NOT NULL ORDER BY id", (district,))
    parse = date.fromisoformat
    return [(make_uuid(int(pid, 16)), grid, make_uuid(int(hh, 16)) if hh else None, parse(born), sex, name)
            for pid, grid, hh, born, sex, name in raw]


# --- People in care ------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Profile:
    id: uuid.UUID
    person: Resident
    level: str
    needs: list[str]
    started: date
    ended: date | None
    interval: int | None
    alone: bool


def _chance(p: Resident) -> float:
    """How likely a person is to be in care: everyone living alone; the very old; severe disability; others less."""
    tags = p.tags
    if "living_alone" in tags:
        return 1.0
    if p.age >= 80:
        return 0.85 if tags else 0.2
    disabled = tags.get("disabled")
    if disabled:
        return 0.6 if disabled[0] in SEVERE else 0.08
    if "empty_nest" in tags:
        return 0.15
    if "allowance" in tags and p.age >= 60:
        return 0.3
    return 0.0


def _level(rng: random.Random, p: Resident) -> str:
    tags = p.tags
    severe = tags.get("disabled", (None,))[0] in SEVERE
    if p.age >= 85 or severe or ("living_alone" in tags and p.age >= 80):
        level = "high"
    elif "living_alone" in tags or p.age >= 80 or "disabled" in tags:
        level = "medium"
    else:
        level = "low"
    if rng.random() < 0.1:  # the workers' own judgement
        level = {"high": "medium", "medium": rng.choice(("low", "high")), "low": "medium"}[level]
    return level


def _needs(rng: random.Random, p: Resident, level: str) -> list[str]:
    tags, needs = p.tags, {"health"}
    if "living_alone" in tags:
        needs |= {"housekeeping", "meals", "companionship"}
    if "empty_nest" in tags:
        needs.add("companionship")
    if "disabled" in tags:
        needs |= {"housekeeping", "errands"}
    if level == "high":
        needs.add("meals")
    if rng.random() < 0.3:
        needs.add("errands")
    return [n for n in ("housekeeping", "meals", "health", "companionship", "errands") if n in needs]


def _profiles(w: World, data: dict[str, Any], names: Names, rng: random.Random, out: Out) -> list[Profile]:
    profiles: list[Profile] = []
    notes, relations = data["care"]["notes"], data["care"]["relations"]
    for p in w.people:
        chance = _chance(p)
        if not chance or (chance < 1 and rng.random() >= chance):
            continue
        care_tags = [since for tag, (_g, since) in p.tags.items() if tag in CARE_TAGS and since]
        eligible = min(care_tags) if care_tags else birthday(p.birth, 80)
        started = max(eligible, w.today - timedelta(days=int(rng.random() * 1500)))
        started = min(started, w.today)
        ended = None
        if rng.random() < 0.02 and (w.today - max(started, w.first)).days > 60:
            ended = max(started, w.first) + timedelta(days=rint(rng, 30, (w.today - max(started, w.first)).days - 1))
        level = _level(rng, p)
        profile = Profile(out.ids(), p, level, _needs(rng, p, level), started, ended, None, "living_alone" in p.tags)
        profiles.append(profile)
        out.add(CareProfile, id=profile.id, person_id=p.id, grid_code=p.grid, level=level, needs=profile.needs,
                notes=notes[int(rng.random() * len(notes))] if rng.random() < 0.3 else None,
                visit_interval_days=None, card_token="".join(rng.choice(CARD_ALPHABET) for _ in range(16)), started_on=started,
                ended_on=ended, created_at=at(max(started, w.first - timedelta(days=1)), 540),
                updated_at=at(ended or max(started, w.first - timedelta(days=1)), 560))
        for _ in range(1 if rng.random() < 0.6 else 2 if rng.random() < 0.9 else 0):
            relation = relations[int(rng.random() * len(relations))]
            male = relation in ("儿子", "女婿", "侄子", "孙子", "老伴的弟弟")
            born = p.birth.year + (50 if relation in ("孙子", "孙女") else 0 if relation in ("邻居", "老伴的弟弟")
                                   else 27)
            surname = p.name[:2] if p.name.startswith("欧阳") else p.name[:1]
            name = names(rng, "male" if male else "female", born,
                         surname if relation in ("儿子", "女儿", "孙子", "孙女", "侄子") else None)
            out.add(EmergencyContact, profile_id=profile.id, name=name, relation=relation, phone=names.mobile(rng))
    return profiles


# --- Volunteers ----------------------------------------------------------------------------------------------


def _volunteers(w: World, data: dict[str, Any], cfg: dict[str, Any], in_care: set[uuid.UUID], rng: random.Random,
                out: Out) -> tuple[list[Vol], int | None]:
    """Volunteers drawn from the adults not in care (more of the newly retired and of the young), each in a
    team, serving their grid or their community; and the one who gets the account volunteer1 (in the first
    community, so that the demo's community staff see their pairing)."""
    candidates = [p for p in w.people if 18 <= p.age <= 72 and p.id not in in_care]
    weights = [3.0 if p.age >= 55 else 2.0 if p.age <= 30 else 1.0 for p in candidates]
    chosen = sorted(_weighted_sample(rng, len(candidates), cfg["volunteers"], weights.__getitem__))
    first_community = w.communities[0].code
    account: int | None = None
    picks = [candidates[i] for i in chosen]
    if not any(p.grid.startswith(first_community) and 25 <= p.age <= 55 for p in picks):
        extra = next((p for p in candidates if p.grid.startswith(first_community) and 25 <= p.age <= 55), None)
        if extra is not None:
            picks.append(extra)
    teams = data["volunteers"]["team_weights"]
    team = Picker(list(teams), list(teams.values()))
    skills, vols = data["volunteers"]["skills"], []
    for p in picks:
        code = "orange" if p.age >= 55 and rng.random() < 0.4 else team(rng)
        grid_level = rng.random() < 0.65
        joined = w.today - timedelta(days=int(rng.random() * 1800))
        if joined < birthday(p.birth, 18):
            joined = w.today - timedelta(days=int(rng.random() * 200))
        active = rng.random() < 0.96
        if account is None and p.grid.startswith(first_community) and 25 <= p.age <= 55:
            account, code, active, grid_level = len(vols), "orange", True, True
            joined = min(joined, w.first - timedelta(days=30))
        vol = Vol(out.ids(), p, p.grid if grid_level else p.grid[:12], code, joined, active)
        vols.append(vol)
        days = sample(rng, ("1", "2", "3", "4", "5", "6", "7"), rint(rng, 1, 3))
        slot = rng.choice((["08:00", "12:00"], ["14:00", "18:00"], ["19:00", "21:00"]))
        out.add(Volunteer, id=vol.id, person_id=p.id, unit_code=vol.unit, team_code=code, user_id=None,
                skills=sample(rng, skills[code], rint(rng, 1, 3)), availability={d: [slot] for d in sorted(days)},
                joined_on=joined, active=active, created_at=at(joined, 600), updated_at=at(joined, 600))
    return vols, account


# --- Pairings, visits, alerts --------------------------------------------------------------------------------

# Days between visits: (days, weight). Most people are visited weekly; now and then a week slips (an alert).
WEEKLY = ((4, 1.0), (5, 2.0), (6, 4.0), (7, 6.0), (8, 0.25), (9, 0.1), (11, 0.05), (15, 0.02))
FORTNIGHTLY = ((7, 1.0), (10, 2.0), (12, 2.0), (14, 4.0), (16, 0.3), (20, 0.1))
NEEDS_TO_KIND = {"housekeeping": "housekeeping", "meals": "meals", "health": "health",
                 "companionship": "companionship", "errands": "other"}
MINUTES = {"housekeeping": (45, 90), "meals": (20, 40), "health": (15, 30), "companionship": (30, 60),
           "other": (15, 40)}


@dataclass(slots=True)
class PairingSpan:
    id: uuid.UUID
    vol: int
    start: date
    end: date | None  # the day it ended


def _pick_volunteer(rng: random.Random, pool: list[int], vols: list[Vol], exclude: set[int]) -> int | None:
    """A volunteer of the person's community with room (three people each), elderly-care team first."""
    best: int | None = None
    for _ in range(6):
        if not pool:
            return None
        v = pool[int(rng.random() * len(pool))]
        if v in exclude or vols[v].load >= 3:
            continue
        if vols[v].team == "orange":
            return v
        best = v if best is None else best
    return best


def _pairings(w: World, data: dict[str, Any], profiles: list[Profile], vols: list[Vol], account: int | None,
              rng: random.Random, out: Out) -> dict[int, list[PairingSpan]]:
    """Who is paired with whom: nearly everyone living alone (some with two volunteers), some others; a few
    pairings ended during the year and were taken over by another volunteer."""
    by_community: dict[str, list[int]] = {}
    for i, v in enumerate(vols):
        if v.active:
            by_community.setdefault(v.person.grid[:12], []).append(i)
    reasons = data["care"]["pairing_end_reasons"]
    spans: dict[int, list[PairingSpan]] = {}
    account_pending = account is not None
    for k, prof in enumerate(profiles):
        if prof.alone:
            wanted = rng.random() < 0.96
        else:
            wanted = rng.random() < {"high": 0.3, "medium": 0.08, "low": 0.0}[prof.level]
            if wanted and rng.random() < 0.5:
                prof.interval = 14
                out.rows[CareProfile][k]["visit_interval_days"] = 14
        if not wanted:
            continue
        community = prof.person.grid[:12]
        pool = by_community.get(community, [])
        if account_pending and account is not None and prof.alone and prof.ended is None and (
                vols[account].person.grid[:12] == community):
            first: int | None = account
            account_pending = False
        else:
            first = _pick_volunteer(rng, pool, vols, set())
        if first is None:
            continue
        chosen = [first]
        if prof.alone and rng.random() < 0.12:
            second = _pick_volunteer(rng, pool, vols, {first})
            if second is not None:
                chosen.append(second)
        mine: list[tuple[PairingSpan, str | None]] = []
        for n, v in enumerate(chosen):
            vols[v].load += 1
            start = max(prof.started, vols[v].joined, w.today - timedelta(days=rint(rng, 20, 1200)))
            if n:
                start = max(start, w.first + timedelta(days=rint(rng, 0, 200)))
            span = PairingSpan(out.ids(), v, start, prof.ended)
            mine.append((span, rng.choice(reasons[2:]) if prof.ended else None))
            days = (w.today - max(start, w.first)).days
            if prof.ended is None and n == 0 and v != account and days > 40 and rng.random() < 0.04:
                # The volunteer left during the year: another takes the person over a few days later.
                span.end = max(start, w.first) + timedelta(days=rint(rng, 10, days - 20))
                mine[-1] = (span, rng.choice(reasons[:2]))
                follow = _pick_volunteer(rng, pool, vols, set(chosen))
                if follow is not None:
                    vols[follow].load += 1
                    mine.append((PairingSpan(out.ids(), follow, span.end + timedelta(days=rint(rng, 2, 9)), None),
                                 None))
        for span, reason in mine:
            out.add(Pairing, id=span.id, person_id=prof.person.id, volunteer_id=vols[span.vol].id,
                    grid_code=prof.person.grid, started_on=span.start, ended_on=span.end, end_reason=reason,
                    active=span.end is None, created_at=at(span.start, 570), updated_at=at(span.end or span.start, 580))
        spans[k] = [span for span, _ in mine]
    return spans


def _baseline(w: World, prof: Profile, rng: random.Random) -> date:
    """The day a profile's visits count from: its start, or for a profile older than the demo's year, a visit in
    the week before that year (its visits are not part of the demo)."""
    return prof.started if prof.started >= w.first else w.first - timedelta(days=rint(rng, 0, 6))


# Visits of the last days not yet confirmed by the person are still waiting (待确认) when the demo is made; older
# ones were approved by the community's staff (已审核) the same evening, most of them, and the rest never counted.
PENDING_DAYS = 3
APPROVED_SHARE = 0.8


def _free_time(busy: list[tuple[datetime, datetime]], begin: datetime, length: timedelta) -> datetime:
    """The first time from `begin` at which a visit of `length` overlaps none of the volunteer's visits that day."""
    moved = True
    while moved:
        moved = False
        for s, e in busy:
            if begin < e and begin + length > s:
                begin, moved = e + timedelta(minutes=15), True
    return begin


def _visits(w: World, data: dict[str, Any], profiles: list[Profile], spans: dict[int, list[PairingSpan]],
            vols: list[Vol], account: int | None, credits: list[Credit], rng: random.Random, out: Out
            ) -> tuple[dict[int, date], dict[int, list[tuple[datetime, datetime]]]]:
    """A year of visits of every paired person, by whichever of their volunteers was paired that day, logged as
    they ended, never overlapping another of the same volunteer. Confirmed by the person (the code or the card)
    or approved by staff, a visit credits its minutes to the volunteer then; the others wait, or never counted.
    Returns each profile's baseline day and, of its visits that count, when each began and when it came to
    count."""
    weekly, fortnightly = Picker(*zip(*WEEKLY)), Picker(*zip(*FORTNIGHTLY))
    notes = data["care"]["visit_notes"]
    # The loop below runs for every visit of the year: its names are local.
    random, ids, district = rng.random, out.ids, out.district
    add_visit, add_credit = out.rows[Visit].append, credits.append
    baselines: dict[int, date] = {}
    visits: dict[int, list[tuple[datetime, datetime]]] = {}
    busy: dict[tuple[int, date], list[tuple[datetime, datetime]]] = {}
    recent = w.today - timedelta(days=PENDING_DAYS)
    # About one in thirty of those living alone has lapsed: not visited for over a week now (at least one does,
    # so that an alert is open today on any scale; never volunteer1's partner, whose visits a test logs).
    paired = [k for k, prof in enumerate(profiles) if prof.alone and prof.ended is None and spans.get(k)
              and all(s.vol != account for s in spans[k])]
    lapsed = {k for k in paired if rng.random() < 0.033} or set(paired[-1:])
    for k, prof in enumerate(profiles):
        baselines[k] = base = _baseline(w, prof, rng)
        mine = spans.get(k)
        if not mine:
            continue
        kinds = [NEEDS_TO_KIND[n] for n in prof.needs] or ["companionship"]
        gap = weekly if prof.alone else fortnightly
        stop = prof.ended or w.today
        if k in lapsed:
            stop = min(stop, w.today - timedelta(days=rint(rng, VISIT_DAYS + 1, 30)))
        day = max(base + timedelta(days=rint(rng, 1, 7)), min(s.start for s in mine))
        times: list[tuple[datetime, datetime]] = []
        turn = 0
        pid, grid = prof.person.id, prof.person.grid
        while day < stop:
            if len(mine) == 1:
                span = mine[0]
                if span.end is not None and day >= span.end:
                    break
            else:
                active = [s for s in mine if s.start <= day and (s.end is None or day < s.end)]
                if not active:
                    upcoming = [s.start for s in mine if s.start > day]
                    if not upcoming:
                        break
                    day = min(upcoming)
                    continue
                span = active[turn % len(active)]
                turn += 1
            kind = kinds[int(random() * len(kinds))]
            low, high = MINUTES[kind]
            minutes = 5 * (low // 5 + int(random() * (high // 5 - low // 5 + 1)))
            taken = busy.setdefault((span.vol, day), [])
            visited = _free_time(taken, at(day, 480 + int(random() * 541)), _MINUTES[minutes])
            confirmed = random() < 0.78
            ended = visited + _MINUTES[minutes]
            taken.append((visited, ended))
            approved = None
            if not confirmed and day < recent and random() < APPROVED_SHARE:
                approved = min(ended + timedelta(minutes=30 + int(random() * 150)), at(day, 24 * 60 - 1))
            counted = ended if confirmed else approved
            vid = ids()
            add_visit({"id": vid, "district_code": district, "pairing_id": span.id, "person_id": pid,
                       "volunteer_id": vols[span.vol].id, "grid_code": grid, "kind": kind, "visited_at": visited,
                       "duration_minutes": minutes,
                       "notes": notes[int(random() * len(notes))] if random() < 0.4 else None,
                       "confirmed_at": ended if confirmed else None,
                       "confirm_method": ("code" if random() < 0.55 else "qr") if confirmed else None,
                       "approved_at": approved, "approved_by": w.approvers.get(grid[:12]) if approved else None,
                       "credited_at": counted, "credited_unconfirmed": False, "created_at": ended})
            if counted is not None:
                add_credit(Credit(span.vol, counted, minutes, "service", "visit", vid))
                times.append((visited, counted))
            day += timedelta(days=gap(rng))
        visits[k] = times
    return baselines, visits


def _alerts(w: World, profiles: list[Profile], baselines: dict[int, date],
            visits: dict[int, list[tuple[datetime, datetime]]], out: Out) -> None:
    """The alerts the hourly sweep would have raised over the year (docs/care.md, care/alerts.py): for each
    profile of someone living alone (or with an interval N of its own), on day D + N + 1 after the last visit
    that counts (confirmed or approved) on day D (or after its start, never visited), resolved when the next
    visit came to count; the last one still open today. A visit counts on the day it was made (confirmed as it
    ended, approved that evening). An ended profile raises nothing after its end."""
    for k, prof in enumerate(profiles):
        n = prof.interval or (VISIT_DAYS if prof.alone else None)
        if n is None:
            continue
        last_at: datetime | None = None
        since = baselines[k]
        for visited, counted in [*visits.get(k, []), (None, None)]:
            due = since + timedelta(days=n + 1)
            if visited is not None and local_day(visited) < due:
                last_at, since = visited, local_day(visited)
                continue
            if visited is None and (due > w.today or (prof.ended is not None and due >= prof.ended)):
                break
            resolved = counted if counted is not None else (at(prof.ended, 600) if prof.ended else None)
            out.add(CareAlert, person_id=prof.person.id, grid_code=prof.person.grid, raised_on=due,
                    last_visit_at=last_at, days_without_visit=(due - since).days, resolved_at=resolved,
                    open=resolved is None)
            if visited is not None:
                last_at, since = visited, local_day(visited)


# --- Care centres ----------------------------------------------------------------------------------------------


def _centres(w: World, cfg: dict[str, Any], profiles: list[Profile], rng: random.Random, out: Out) -> None:
    """11 home-care and 33 day-care centres (the district's figures; fewer on the small scale): the first few
    home-care centres serve a street, the rest a community. About 6,000 elderly enrolled, most in care; daily
    attendance of the last two weeks."""
    streets = w.streets[:cfg["home_care_streets"]]
    communities = list(w.communities)
    rng.shuffle(communities)
    home = [(s.code, f"{s.name}居家养老服务中心") for s in streets]
    home += [(c.code, f"{c.name}居家养老服务中心") for c in communities[:cfg["home_care"] - len(home)]]
    day = [(c.code, f"{c.name}日间照料中心") for c in sorted(communities, key=lambda c: c.code)[:cfg["day_care"]]]
    elderly: dict[str, list[Resident]] = {}
    for p in w.people:
        if p.age >= 60:
            elderly.setdefault(p.grid[:12], []).append(p)
    in_care = {prof.person.id for prof in profiles}
    enrolled_at: dict[uuid.UUID, int] = {}
    centres = [(unit, "home_care", name) for unit, name in home] + [(unit, "day_care", name) for unit, name in day]
    # Enrolments in proportion to each centre's capacity: day-care centres take in more of their elderly.
    capacities = [rint(rng, 150, 300) if kind == "home_care" else rint(rng, 60, 160) for _, kind, _ in centres]
    share = cfg["enrolments"] / sum(capacities)
    weekday_rate = {"day_care": 0.5, "home_care": 0.12}
    for (unit, kind, name), capacity in zip(centres, capacities, strict=True):
        cid = out.add(CareCentre, unit_code=unit, kind=kind, name=name, address=f"{name}（{w.unit_name(unit)}）",
                      capacity=capacity, serves_meals=kind == "day_care" or rng.random() < 0.6, active=True,
                      created_at=at(w.first - timedelta(days=rint(rng, 100, 900)), 540),
                      updated_at=at(w.first, 540))
        serves_meals = out.rows[CareCentre][-1]["serves_meals"]
        pool = [p for code, ps in elderly.items() if code.startswith(unit) for p in ps
                if enrolled_at.get(p.id) != kind]  # one centre of each kind per person
        # The oldest and those in care first, then others.
        pool.sort(key=lambda p: (p.id not in in_care, -p.age, rng.random()))
        wanted = min(len(pool), max(1, round(capacity * share)))
        take = pool[:wanted]
        for p in take:
            enrolled_at[p.id] = kind
            enrolled = w.today - timedelta(days=rint(rng, 20, 1100))
            left = enrolled + timedelta(days=rint(rng, 10, (w.today - enrolled).days - 1)) if (
                rng.random() < 0.06 and (w.today - enrolled).days > 12) else None
            out.add(Enrolment, centre_id=cid, person_id=p.id, enrolled_on=enrolled, left_on=left, active=left is None)
            if left is not None:
                continue
            for back in range(14, -1, -1):
                d = w.today - timedelta(days=back)
                if d < enrolled or (kind == "day_care" and d.weekday() >= 5) or rng.random() >= weekday_rate[kind]:
                    continue
                came = at(d, rint(rng, 7 * 60 + 30, 9 * 60 + 30))
                if came > w.now:
                    continue
                left_at = at(d, rint(rng, 15 * 60 + 30, 17 * 60 + 30))
                out.add(Attendance, centre_id=cid, person_id=p.id, day=d, checked_in_at=came,
                        checked_out_at=left_at if left_at <= w.now else None,
                        meals=(2 if kind == "day_care" and rng.random() < 0.6 else 1) if serves_meals else 0)


# --- The hours ledger and honours -------------------------------------------------------------------------------


def _carried_over(w: World, vols: list[Vol], rng: random.Random, credits: list[Credit]) -> None:
    """Hours served before the platform, carried over on the day before the demo's year (so that some long-serving
    volunteers hold honours): a service credit without a source row."""
    for i, v in enumerate(vols):
        if v.joined >= w.first - timedelta(days=60):
            continue
        if rng.random() < 0.6:
            continue
        years = (w.first - v.joined).days / 365
        hours = int(rng.random() ** 4 * 50 * years) + rint(rng, 1, 12)
        if hours:
            credits.append(Credit(i, at(w.first - timedelta(days=1), 17 * 60), hours * 60, "service", "carried_over",
                                  None, "系统启用前累计服务时长"))


def _ledger(w: World, vols: list[Vol], credits: list[Credit], out: Out) -> None:
    """Every entry of the hours ledger in time order, and an honour whenever a volunteer's service (every entry
    but conversions) crosses a threshold, numbered ZY + district + year + sequence in the order they were won."""
    credits.sort(key=attrgetter("at"))  # stable: entries of the same moment stay in the order they were made
    service = [0] * len(vols)
    sequence: dict[int, int] = {}
    for c in credits:
        out.add(HoursEntry, volunteer_id=vols[c.volunteer].id, at=c.at, minutes=c.minutes, kind=c.kind,
                source_type=c.source_type, source_id=c.source_id, note=c.note, entered_by=None)
        if c.kind == "conversion":
            continue
        before = service[c.volunteer] // 60
        service[c.volunteer] += c.minutes
        after = service[c.volunteer] // 60
        for threshold in HONOUR_HOURS:
            if before < threshold <= after:
                year = local_day(c.at).year
                sequence[year] = sequence.get(year, 0) + 1
                out.add(Honour, volunteer_id=vols[c.volunteer].id, threshold_hours=threshold, awarded_at=c.at,
                        certificate_no=f"ZY{w.district}{year}{sequence[year]:06d}")


# --- The whole demo ---------------------------------------------------------------------------------------------


def build_care(w: World, scale: str = "district", seed: int = 2026) -> CareDemo:
    """People in care, volunteers, visits, alerts, centres, activities, charity supermarkets and the hours ledger,
    deterministic from the seed, the world's moment and its people."""
    data, cfg = config(scale)
    out = Out(w.district, Ids(seed, w.now))
    names = Names()
    profiles = _profiles(w, data, names, random.Random(f"{seed}:care:profiles"), out)
    vols, account = _volunteers(w, data, cfg, {p.person.id for p in profiles},
                                random.Random(f"{seed}:care:volunteers"), out)
    credits: list[Credit] = []
    spans = _pairings(w, data, profiles, vols, account, random.Random(f"{seed}:care:pairings"), out)
    baselines, visits = _visits(w, data, profiles, spans, vols, account, credits,
                                random.Random(f"{seed}:care:visits"), out)
    _alerts(w, profiles, baselines, visits, out)
    _centres(w, cfg, profiles, random.Random(f"{seed}:care:centres"), out)
    activities(w, data, cfg, vols, credits, random.Random(f"{seed}:care:activities"), out)
    _carried_over(w, vols, random.Random(f"{seed}:care:carried"), credits)
    charity(w, data, cfg, vols, credits, random.Random(f"{seed}:care:charity"), out)
    _ledger(w, vols, credits, out)
    vol_account = vols[account] if account is not None else None
    return CareDemo(out.rows, vol_account.id if vol_account else None,
                    vol_account.person.grid[:12] if vol_account else None, vols, credits)


@dataclass
class CareLoaded:
    profiles: int
    volunteers: int
    pairings: int
    visits: int
    open_alerts: int
    centres: int
    enrolments: int
    supermarkets: int
    donations: int
    redemptions: int
    activities: int
    participants: int
    seconds: float = 0.0


def _ensure_teams(session: Session) -> None:
    """The seven teams are reference data loaded by `jiayuan init`; a database set up before they existed gets
    them here (nothing is overwritten)."""
    from jiayuan.volunteers.teams import load_teams

    load_teams(session)


def load_care(session: Session, demo: DemoDistrict, scale: str = "district", seed: int = 2026, *,
              password_hash: str, now: datetime | None = None) -> CareLoaded:
    """Write the care demo in bulk (core inserts in chunks, no ORM objects). The volunteer paired in the first
    community signs in as volunteer1 with `password_hash` (the demo's one password)."""
    import time

    started = time.perf_counter()
    now = now or utcnow()
    _ensure_teams(session)
    world = read_world(session, demo, now)
    care = build_care(world, scale, seed)
    if care.volunteer_account is not None:
        user = accounts.create_user(session, username=VOLUNTEER_ACCOUNT, full_name=_name_of(care), role="volunteer",
                                    scope_code=care.volunteer_scope, password_hash=password_hash)
        for row in care.rows[Volunteer]:
            if row["id"] == care.volunteer_account:
                row["user_id"] = user.id
    with _page_cache(session):
        for model in TABLES:
            insert_rows(session, model, care.rows[model])
    session.flush()
    rows = care.rows
    return CareLoaded(
        profiles=len(rows[CareProfile]), volunteers=len(rows[Volunteer]), pairings=len(rows[Pairing]),
        visits=len(rows[Visit]), open_alerts=sum(1 for a in rows[CareAlert] if a["open"]),
        centres=len(rows[CareCentre]), enrolments=sum(1 for e in rows[Enrolment] if e["active"]),
        supermarkets=len(rows[Supermarket]), donations=len(rows[Donation]), redemptions=len(rows[Redemption]),
        activities=len(rows[Activity]),
        participants=sum(1 for r in rows[Registration] if r["checked_in_at"] is not None),
        seconds=time.perf_counter() - started)


def _sqlite_column(column: Any, dialect: Any, values: list[Any]) -> list[Any]:
    """One column's values as SQLite stores them: what the column type's bind processor makes of each, with the
    two most common types written inline (a call per value costs more than the conversion): Uuid as 32 hex
    digits, UtcDateTime as "2026-03-01 02:00:00.000000" in UTC."""
    if isinstance(column.type, UtcDateTime):
        return [None if v is None else (v if v.tzinfo is UTC else v.astimezone(UTC)).replace(tzinfo=None)
                .isoformat(" ", "microseconds") for v in values]
    if isinstance(column.type, Uuid):
        return [None if v is None else format(v.int, "032x") for v in values]
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    return [process(v) for v in values] if process else values


def insert_rows(session: Session, model: type, rows: list[dict[str, Any]], size: int = 10_000) -> None:
    """Insert `rows` (dicts with the same keys) into the model's table. On SQLite through the driver's executemany,
    column by column converted as the types' bind processors would (what a core insert does, at a third of its
    cost: the demo writes half a million rows); elsewhere a core insert in chunks."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    if dialect.name != "sqlite":
        _write(session, model, rows, size)
        return
    table = model.__table__  # type: ignore[attr-defined]
    keys = list(rows[0])
    # Columns left out take their scalar default, as a core insert gives them.
    defaults = [(c.name, c.default.arg) for c in table.columns
                if c.name not in keys and c.default is not None and c.default.is_scalar]
    names = [*keys, *(name for name, _ in defaults)]
    sql = f'INSERT INTO "{table.name}" ({", ".join(names)}) VALUES ({", ".join("?" for _ in names)})'
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        for start in range(0, len(rows), size):
            chunk = rows[start:start + size]
            columns = [_sqlite_column(table.c[k], dialect, [r[k] for r in chunk]) for k in keys]
            columns += [[value] * len(chunk) for _, value in defaults]
            cursor.executemany(sql, zip(*columns, strict=True))
    finally:
        cursor.close()


def _name_of(care: CareDemo) -> str:
    return next(v.person.name for v in care.volunteers if v.id == care.volunteer_account)

