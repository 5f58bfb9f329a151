"""Registry demo data (人、房) for the demo district: compounds, buildings and rooms in every grid, residents in
households living in them, and their care tags. Facilities and organizations come from ``demo.places``.

``build_registry`` is pure and deterministic from the seed and the day ages are counted from (so that about
18 % of residents are 60 or older whenever the demo is loaded); ``load_registry`` writes it in bulk with core
inserts in chunks, the ID numbers and phones encrypted on bind and found through their blind indexes.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from jiayuan.demo.generate import DemoDistrict
from jiayuan.demo.places import organizations, things
from jiayuan.demo.registry_specs import (
    _FOREIGN_TEMPLATES,
    _RELATIONS,
    _TEMPLATES,
    ALLOWANCE,
    ATTENTION,
    DISABLED,
    EMPTY_NEST_TAGGED,
    ENTITLED,
    FLOATING_IN_OWNED,
    FLOATING_IN_RENTED,
    FOREIGN_IN_RENTED,
    GRADES,
    HOME,
    LIVING_ALONE_TAGGED,
    ROOM_USE_SHARES,
    SCALES,
    UNSETTLED,
    BuildingSpec,
    CompoundSpec,
    Grid,
    HouseholdSpec,
    Mobiles,
    PersonSpec,
    Picker,
    RegistryDemo,
    RoomSpec,
    TagSpec,
    Vocabulary,
    _randint,
    _Scale,
    _shares,
    person_name,
    vocabulary,
)
from jiayuan.kit.db import utcnow, uuid7
from jiayuan.kit.i18n import TIMEZONE
from jiayuan.kit.identity import id_check_char
from jiayuan.registry.models import (
    Building,
    Compound,
    Household,
    Organization,
    Person,
    PersonTag,
    Room,
    Thing,
)
from jiayuan.registry.service import id_number_index, name_initials, phone_index

# --- Houses (房) ------------------------------------------------------------------------------------------


def _houses(cfg: _Scale, grids: list[Grid], vocab: Vocabulary, rng: random.Random, out: RegistryDemo,
            ) -> list[str]:
    """Compounds, buildings and rooms in every grid, enough rooms for about `cfg.households` households;
    returns the property companies' names (the organizations list them too)."""
    reg = vocab.registry
    weights = [rng.uniform(0.6, 1.4) for _ in grids]
    counts = [rng.randint(*cfg.compounds_per_grid) for _ in grids]
    old = set(rng.sample(range(sum(counts)), cfg.without_property))
    stems = reg["organizations"]["brand_stems"]
    companies: list[str] = []
    while len(companies) < cfg.property_companies:
        name = (f"{rng.choice(reg['organizations']['property_prefixes'])}{rng.choice(stems)}"
                f"{rng.choice(reg['organizations']['property_suffixes'])}")
        if name not in companies:
            companies.append(name)
    # A few large companies manage many compounds; every company manages at least one.
    company = Picker(companies, [1 / (i + 1) ** 0.8 for i in range(len(companies))])
    unassigned = list(companies)
    rng.shuffle(unassigned)
    used_names: set[str] = set()
    k = 0
    for grid, weight, count in zip(grids, weights, counts):
        # Grids differ: more shops along a main road, more rented rooms near a market or a school.
        commercial, vacant, rented = (ROOM_USE_SHARES[use] * rng.uniform(0.5, 1.5)
                                      for use in ("commercial", "vacant", "rented"))
        households = cfg.households * weight / sum(weights)
        needed = households / (1 - commercial - vacant)
        olds = [k + i in old for i in range(count)]
        shares = [rng.uniform(0.3, 0.7) if o else rng.uniform(0.7, 1.3) for o in olds]
        first_room = len(out.rooms)
        for is_old, share in zip(olds, shares):
            name = _compound_name(rng, reg, is_old, used_names)
            lat, lon = grid.point(rng)
            owner = None if is_old else (unassigned.pop() if unassigned else company(rng))
            address = vocab.address(rng, grid.community)
            out.compounds.append(CompoundSpec(grid.code, name, address, owner, lat, lon))
            rooms = max(6, round(needed * share / sum(shares)))
            _buildings(rng, grid, len(out.compounds) - 1, is_old, rooms, out)
        k += count
        _uses(rng, out.rooms[first_room:], commercial, vacant, rented)
    return companies


def _compound_name(rng: random.Random, reg: dict[str, Any], old: bool, used: set[str]) -> str:
    c = reg["compounds"]
    for attempt in range(1000):
        if old:
            name = rng.choice(c["old_owners"]) + rng.choice(c["old_suffixes"])
            if attempt > 50:
                name = f"{rng.choice(reg['roads'])}{rng.randint(1, 300)}号院"
        else:
            name = rng.choice(c["stems"]) + rng.choice(c["suffixes"])
            if attempt > 50:
                name += rng.choice(("一期", "二期", "三期", "北区", "南区", "东区", "西区"))
        if name not in used:
            used.add(name)
            return name
    raise RuntimeError("ran out of compound names")


def _buildings(rng: random.Random, grid: Grid, compound: int, old: bool, rooms: int,
               out: RegistryDemo) -> None:
    """Buildings of one compound until it has `rooms` rooms: old ones low, without lifts; new ones taller."""
    centre = (out.compounds[compound].lat, out.compounds[compound].lon)
    number = 0
    while rooms > 3 or number == 0:  # a handful of rooms left over do not make another building
        number += 1
        if old:
            floors, entrances, per_floor = rng.randint(4, 7), rng.randint(1, 3), 2
        else:
            floors = rng.choice((6, 6, 7, 9, 11, 11, 12, 18, 18, 26))
            entrances, per_floor = rng.randint(1, 2), rng.choice((2, 2, 3, 4))
        # The last building of a compound is as tall as the rooms still wanted.
        floors = max(2, min(floors, round(rooms / (entrances * per_floor))))
        lat, lon = grid.point(rng, centre)
        out.buildings.append(BuildingSpec(compound, grid.code, f"{number}栋", floors, lat, lon))
        b = len(out.buildings) - 1
        small, large = (45, 85) if old else (75, 145)
        for e in range(1, entrances + 1):
            for f in range(1, floors + 1):
                for r in range(1, per_floor + 1):
                    out.rooms.append(RoomSpec(b, grid.code, f"{e}单元", f"{f}{r:02d}", f,
                                              "self_occupied", round(rng.uniform(small, large), 1)))
        rooms -= floors * entrances * per_floor


def _uses(rng: random.Random, rooms: list[RoomSpec], commercial: float, vacant: float, rented: float) -> None:
    """Room uses in one grid: shops on the ground floor first, then vacant and rented rooms anywhere."""
    ground = [r for r in rooms if r.floor == 1]
    rng.shuffle(ground)
    shops = ground[:round(commercial * len(rooms))]
    for room in shops:
        room.use, room.area = "commercial", round(rng.uniform(20, 150), 1)
    rest = [r for r in rooms if r.use != "commercial"]
    rng.shuffle(rest)
    n_vacant, n_rented = round(vacant * len(rooms)), round(rented * len(rooms))
    for room in rest[:n_vacant]:
        room.use = "vacant"
    for room in rest[n_vacant:n_vacant + n_rented]:
        room.use = "rented"


# --- People (人) and households ------------------------------------------------------------------------


@dataclass(slots=True)
class _Member:
    role: str
    age: int
    sex: str
    surname: str


class _IdNumbers:
    """Distinct GB 11643 ID numbers whose birth date and sex digit are the person's."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def citizen(self, rng: random.Random, region: str, birth: date, sex: str) -> str:
        while True:
            serial = int(rng.random() * 500) * 2 + (sex == "male")
            body = f"{region}{birth.year:04d}{birth.month:02d}{birth.day:02d}{serial:03d}"
            if body not in self.used:
                self.used.add(body)
                return body + id_check_char(body)

    def foreigner(self, rng: random.Random, nationality: str, birth: date, sex: str) -> str:
        """The 2023 foreign permanent-residence ID: 9, the issuing province (36 Jiangxi), the nationality, the
        birth date, a serial and the sex digit, and the GB 11643 check character."""
        while True:
            serial = int(rng.random() * 500) * 2 + (sex == "male")
            body = f"936{nationality}{birth.year:04d}{birth.month:02d}{birth.day:02d}{serial:03d}"
            if body not in self.used:
                self.used.add(body)
                return body + id_check_char(body)


def _elder_age(rng: random.Random) -> int:
    # Fewer people at each year of age past 60: about one in ten of these heads is 80 or older.
    return min(99, 60 + int(rng.expovariate(1 / 8)))


def _family(rng: random.Random, vocab: Vocabulary, roles: str, head_ages: tuple[int, int] | None,
            sex_head: str | None = None) -> list[_Member]:
    """Members of one household with ages and sexes that fit together."""
    grand = "G" in roles
    if head_ages is not None:
        head_age = _randint(rng, *head_ages)
    else:  # grandparents bringing up grandchildren are the younger elderly
        head_age = _randint(rng, 58, 74) if grand else _elder_age(rng)
    if sex_head is None:
        sex_head = "male" if rng.random() < (0.7 if "S" in roles else 0.5) else "female"
    head = _Member("H", head_age, sex_head, vocab.surname(rng))
    members = [head]
    family = head.surname
    if "S" in roles:
        gap = _randint(rng, -1, 5)
        spouse_sex = "female" if sex_head == "male" else "male"
        age = max(20, head_age - gap if sex_head == "male" else head_age + gap)
        members.append(_Member("S", min(age, 99), spouse_sex, vocab.surname(rng)))
        if spouse_sex == "male":
            family = members[-1].surname
    youngest = min(m.age for m in members)  # of the head and the spouse
    child = youngest - _randint(rng, 22, 34)
    for role in roles:
        if role == "C":
            age = child if child >= 0 else _randint(rng, 0, 2)
            members.append(_Member("C", age, "male" if rng.random() < 0.52 else "female", family))
            child = age - _randint(rng, 1, 6)
        elif role == "G":
            sex = "male" if rng.random() < 0.52 else "female"
            members.append(_Member("G", _randint(rng, 2, 15), sex, family))
    if "P" in roles:
        age = min(99, max(m.age for m in members if m.role in "HS") + _randint(rng, 22, 32))
        both = roles.count("P") == 2
        if both or rng.random() < 0.4:  # the father; a widowed mother more often lives with her children
            members.append(_Member("P", min(99, age + _randint(rng, 0, 4)), "male", head.surname))
        if both or members[-1].role != "P":
            members.append(_Member("P", age, "female", vocab.surname(rng)))
    return members


def _birth(rng: random.Random, age: int, today: date) -> date:
    # A day in the year of life `age`, never in the future.
    return today - timedelta(days=age * 365 + (age + 3) // 4 + 1 + int(rng.random() * 364))


def _people(vocab: Vocabulary, rng: random.Random, today: date, out: RegistryDemo) -> None:
    """One household in every self-occupied or rented room; floating residents mostly rent."""
    templates = {t[0]: t for t in _TEMPLATES}
    owned = Picker([t[0] for t in _TEMPLATES], [t[3] for t in _TEMPLATES])
    renting = Picker([t[0] for t in _TEMPLATES], [t[4] for t in _TEMPLATES])
    foreign_kind = Picker(_FOREIGN_TEMPLATES, (40, 40, 20))
    occupied = [i for i, r in enumerate(out.rooms) if r.use in ("self_occupied", "rented")]
    rented = [i for i in occupied if out.rooms[i].use == "rented"]
    own = [i for i in occupied if out.rooms[i].use == "self_occupied"]
    kinds: dict[int, str] = {}
    for rooms, shares in ((rented, (("foreign", FOREIGN_IN_RENTED), ("floating", FLOATING_IN_RENTED))),
                          (own, (("floating", FLOATING_IN_OWNED),))):
        order = rooms[:]
        rng.shuffle(order)
        start = 0
        for kind, share in shares:
            n = _shares(len(order), share)
            kinds.update(dict.fromkeys(order[start:start + n], kind))
            start += n
    ids, mobile = _IdNumbers(), Mobiles(vocab.registry["origins"]["mobile_prefixes"])
    foreign_names: dict[tuple[str, str], list[str]] = {}
    for name, sex, country in vocab.names["foreign"]["residents"]:
        foreign_names.setdefault((country, sex), []).append(name)
        foreign_names.setdefault(("", sex), []).append(name)
    countries = sorted({country for country, _ in foreign_names if country})
    per_grid: dict[str, int] = {}
    for room_index in occupied:
        room = out.rooms[room_index]
        grid = room.grid_code
        kind = kinds.get(room_index, "registered")
        pick = foreign_kind if kind == "foreign" else renting if room.use == "rented" else owned
        template = pick(rng)
        _, roles, head_ages, _, _ = templates[template]
        sex = ("female" if rng.random() < 0.65 else "male") if template == "elder_alone" else (
            "female" if rng.random() < 0.7 else "male") if template == "single_parent" else None
        members = _family(rng, vocab, roles, head_ages, sex)
        per_grid[grid] = per_grid.get(grid, 0) + 1
        household = len(out.households)
        number = f"{grid[9:]}{per_grid[grid]:04d}"
        out.households.append(HouseholdSpec(grid, number, room_index, len(out.people)))
        # A floating family's home county: in Ji'an, or elsewhere in Jiangxi.
        home = vocab.jian(rng) if rng.random() < 0.55 else vocab.jiangxi(rng)
        country = rng.choice(countries)
        for m in members:
            birth = _birth(rng, m.age, today)
            residence, expires = kind, None
            if kind == "foreign":
                name = rng.choice(foreign_names.get((country, m.sex)) or foreign_names[("", m.sex)])
                id_number: str | None = ids.foreigner(rng, country, birth, m.sex)
            else:
                name = person_name(rng, vocab, m.surname, m.sex, birth.year)
                if kind == "registered" and rng.random() < UNSETTLED:
                    residence = "unsettled"
                if residence == "unsettled" and m.age < 3:
                    id_number = None  # a baby not yet entered in a household register has no number yet
                else:
                    origin = home
                    if kind == "registered":
                        origin = HOME if rng.random() < 0.88 else vocab.jian(rng)
                    id_number = ids.citizen(rng, origin, birth, m.sex)
            if kind == "floating":
                # Registrations run for up to two years; a few have lapsed and are due for renewal.
                days = _randint(rng, 30, 730) if rng.random() > 0.05 else -_randint(rng, 1, 90)
                expires = today + timedelta(days=days)
            phone = mobile(rng) if rng.random() < _phone_share(m.age) else None
            out.people.append(PersonSpec(grid, name, id_number, phone, birth, m.sex, residence, expires,
                                         household, _RELATIONS[m.role], room_index))


def _phone_share(age: int) -> float:
    return 0.0 if age < 12 else 0.4 if age < 18 else 0.95 if age < 70 else 0.75 if age < 80 else 0.5


# --- Tags -------------------------------------------------------------------------------------------------


def _tags(vocab: Vocabulary, rng: random.Random, today: date, out: RegistryDemo) -> None:
    """Care and attention tags with their start dates; the age groups are derived, never stored."""
    people, households = out.people, out.households
    n = len(people)
    ages = [_age(p.birth_date, today) for p in people]

    def since(person: int, earliest_age: int, years: float) -> date:
        """A day within the last `years` years, but not before the person turned `earliest_age`."""
        start = min(today, max(people[person].birth_date + timedelta(days=int(earliest_age * 365.25)),
                                today - timedelta(days=int(years * 365))))
        return start + timedelta(days=int(rng.random() * (today - start).days))

    def tag(person: int, name: str, starts: date, grade: str | None = None) -> None:
        out.tags.append(TagSpec(person, people[person].grid_code, name, grade, starts))

    members: list[list[int]] = [[] for _ in households]
    for i, p in enumerate(people):
        members[p.household].append(i)
    for group in members:
        elderly = [i for i in group if ages[i] >= 60]
        if len(group) == 1 and elderly and rng.random() < LIVING_ALONE_TAGGED:
            tag(group[0], "living_alone", since(group[0], 60, 12))
        elif len(group) == 2 and len(elderly) == 2 and rng.random() < EMPTY_NEST_TAGGED:
            starts = since(max(group, key=lambda i: people[i].birth_date), 60, 15)  # once both were 60
            for i in group:
                tag(i, "empty_nest", starts)
        # Grandchildren under 16 looked after by their grandparents while the parents work away.
        parents_away = all(people[j].relation != "子女" for j in group)
        for i in group:
            if parents_away and people[i].relation == "孙子女" and ages[i] < 16:
                tag(i, "left_behind_child", since(i, 0, 6))
    disabled = _weighted_sample(rng, n, _shares(n, DISABLED),
                                lambda i: 3.0 if ages[i] >= 60 else 1.0 if ages[i] >= 16 else 0.4)
    grade = Picker(*zip(*GRADES))
    for i in disabled:
        tag(i, "disabled", since(i, 0, 30), grade(rng))
    # The allowance (低保) is granted to a registered household: all its members are on it.
    disabled_set = set(disabled)
    needy = [any(i in disabled_set for i in g) or all(ages[i] >= 60 for i in g) for g in members]
    weights = [0.0 if people[g[0]].residence_type != "registered" else 3.0 if needy[h] else 1.0
               for h, g in enumerate(members)]
    order = _weighted_sample(rng, len(households), len(households), lambda h: weights[h])
    on_allowance = 0
    wanted = _shares(n, ALLOWANCE)
    for h in order:
        if on_allowance >= wanted or not weights[h]:
            break
        starts = since(members[h][0], 0, 6)
        for i in members[h]:
            tag(i, "allowance", max(starts, people[i].birth_date))  # a baby joins at birth
        on_allowance += len(members[h])
    for i in _weighted_sample(rng, n, _shares(n, ENTITLED),
                              lambda i: 0.0 if ages[i] < 30 else 3.0 if people[i].sex == "male" else 1.0):
        tag(i, "entitled", since(i, 18, 30))
    adults = [18 <= a <= 70 for a in ages]
    for i in _weighted_sample(rng, n, _shares(n, ATTENTION),
                              lambda i: 0.0 if not adults[i] else 3.0 if people[i].sex == "male" else 1.0):
        tag(i, "attention", since(i, 18, 3))


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _weighted_sample(rng: random.Random, n: int, k: int, weight: Callable[[int], float]) -> list[int]:
    """`k` of range(n) without replacement, each drawn in proportion to its weight (Efraimidis–Spirakis)."""
    keys = []
    for i in range(n):
        w = weight(i)
        keys.append(rng.random() ** (1 / w) if w > 0 else -1.0)
    return [i for i in heapq.nlargest(k, range(n), key=keys.__getitem__) if keys[i] >= 0]


# --- The whole registry demo ---------------------------------------------------------------------------


def build_registry(demo: DemoDistrict, scale: str = "district", seed: int = 2026,
                   today: date | None = None) -> RegistryDemo:
    """Houses, residents, tags, facilities and organizations for the demo district of `scale` and `seed`."""
    if scale not in SCALES:
        raise ValueError("scale: must be small or district")
    cfg = SCALES[scale]
    today = today or datetime.now(TIMEZONE).date()
    # Separate streams, so that changing one part leaves the others as they were.
    vocab = vocabulary(demo, random.Random(f"{seed}:registry:vocabulary"))
    grids = [Grid(u) for u in demo.units if u.level == "grid"]
    out = RegistryDemo()
    companies = _houses(cfg, grids, vocab, random.Random(f"{seed}:registry:houses"), out)
    _people(vocab, random.Random(f"{seed}:registry:people"), today, out)
    _tags(vocab, random.Random(f"{seed}:registry:tags"), today, out)
    things(scale, grids, vocab, random.Random(f"{seed}:registry:things"), today, out)
    organizations(cfg.social_organizations, cfg.enterprises_per_grid, companies, demo, grids, vocab,
                  random.Random(f"{seed}:registry:organizations"), out)
    return out


# --- Loading --------------------------------------------------------------------------------------------


@dataclass
class RegistryLoaded:
    compounds: int
    rooms: int
    households: int
    people: int
    tags: int
    things: int
    organizations: int


def _chunks(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _write(session: Session, model: type, rows: Iterable[dict[str, Any]], size: int = 5000) -> None:
    # A core insert of the table, not the ORM's bulk insert: the ORM leaves out the None values and splits a
    # chunk wherever the pattern of them changes, which made one statement per few rows of people.
    statement = insert(model.__table__)  # type: ignore[attr-defined]
    for chunk in _chunks(rows, size):
        session.execute(statement, chunk)


@contextmanager
def _page_cache(session: Session, kib: int = 131_072) -> Iterator[None]:
    """A larger SQLite page cache while loading: the people's indexes on blind indexes, names and initials
    take rows in random order, and with the default 2 MB cache SQLite spends a third longer on their pages."""
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    before = session.execute(text("PRAGMA cache_size")).scalar()
    session.execute(text(f"PRAGMA cache_size = -{int(kib)}"))
    try:
        yield
    finally:
        session.execute(text(f"PRAGMA cache_size = {int(before or -2000)}"))


def load_registry(session: Session, demo: DemoDistrict, scale: str = "district", seed: int = 2026,
                  today: date | None = None) -> RegistryLoaded:
    """Write the registry demo of `scale` and `seed` in bulk: no ORM objects, no per-row queries. Columns the
    demo always leaves NULL are left out of the statements, which saves their type processing on every row."""
    reg = build_registry(demo, scale, seed, today)
    with _page_cache(session):
        _load(session, demo.units[0].code[:6], reg)
    return RegistryLoaded(len(reg.compounds), len(reg.rooms), len(reg.households), len(reg.people),
                          len(reg.tags), len(reg.things), len(reg.organizations))


def _load(session: Session, district: str, reg: RegistryDemo) -> None:
    now = utcnow()
    stamp = {"district_code": district, "created_at": now, "updated_at": now}
    compounds = [uuid7() for _ in reg.compounds]
    buildings = [uuid7() for _ in reg.buildings]
    rooms = [uuid7() for _ in reg.rooms]
    households = [uuid7() for _ in reg.households]
    people = [uuid7() for _ in reg.people]
    _write(session, Compound, ({**stamp, "id": compounds[i], "grid_code": c.grid_code, "name": c.name,
                                "address": c.address, "property_company": c.property_company, "lat": c.lat,
                                "lon": c.lon} for i, c in enumerate(reg.compounds)))
    _write(session, Building, ({**stamp, "id": buildings[i], "compound_id": compounds[b.compound],
                                "grid_code": b.grid_code, "name": b.name, "floors": b.floors, "lat": b.lat,
                                "lon": b.lon} for i, b in enumerate(reg.buildings)))
    _write(session, Room, ({**stamp, "id": rooms[i], "building_id": buildings[r.building],
                            "grid_code": r.grid_code, "entrance": r.entrance, "number": r.number,
                            "use": r.use, "area": r.area}
                           for i, r in enumerate(reg.rooms)))
    _write(session, Household, ({**stamp, "id": households[i], "grid_code": h.grid_code, "number": h.number,
                                 "room_id": rooms[h.room], "head_id": people[h.head]}
                                for i, h in enumerate(reg.households)))
    initials: dict[str, str] = {}

    def person(i: int, p: PersonSpec) -> dict[str, Any]:
        if p.name not in initials:
            initials[p.name] = name_initials(p.name)
        return {**stamp, "id": people[i], "grid_code": p.grid_code, "name": p.name,
                "name_initials": initials[p.name], "id_number": p.id_number,
                "id_number_index": id_number_index(p.id_number) if p.id_number else None,
                "phone": p.phone, "phone_index": phone_index(p.phone) if p.phone else None,
                "birth_date": p.birth_date, "sex": p.sex, "residence_type": p.residence_type,
                "floating_expires_on": p.floating_expires_on, "household_id": households[p.household],
                "relation": p.relation, "room_id": rooms[p.room]}

    _write(session, Person, (person(i, p) for i, p in enumerate(reg.people)))
    _write(session, PersonTag, ({"district_code": district, "id": uuid7(), "person_id": people[t.person],
                                 "grid_code": t.grid_code, "tag": t.tag, "grade": t.grade,
                                 "starts_on": t.starts_on} for t in reg.tags))
    _write(session, Thing, ({**stamp, "id": uuid7(), "grid_code": t.grid_code, "kind": t.kind, "code": t.code,
                             "name": t.name, "lat": t.lat, "lon": t.lon, "status": t.status, "owner": t.owner,
                             "maintainer": t.maintainer, "installed_on": t.installed_on} for t in reg.things))
    _write(session, Organization, ({**stamp, "id": uuid7(), "grid_code": o.grid_code, "name": o.name,
                                    "kind": o.kind, "credit_code": o.credit_code, "address": o.address,
                                    "contact_name": o.contact_name, "contact_phone": o.contact_phone,
                                    "staff_count": o.staff_count, "active": o.active}
                                   for o in reg.organizations))
    session.flush()
