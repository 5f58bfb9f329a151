"""What the registry demos share: their scales and vocabulary, the records they generate (specs), and the
pickers, grids and phone numbers they are made with."""

from __future__ import annotations

import random
import tomllib
from bisect import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import accumulate
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import shape

from jiayuan.demo.generate import DISTRICT_NAME, NAMES_FILE, DemoDistrict, UnitSpec

VOCABULARY_FILE = Path(__file__).parent / "data" / "registry.toml"
HOME = "360802"  # Jizhou: where most registered residents' ID numbers were issued
HEAD = "户主"
GRADES = (("一级", 10), ("二级", 20), ("三级", 30), ("四级", 40))  # disability grades, 一级 the most severe


@dataclass(frozen=True)
class _Scale:
    households: int  # about; the rooms are built for them
    compounds_per_grid: tuple[int, int]
    without_property: int  # 无物业小区
    property_companies: int
    social_organizations: int
    enterprises_per_grid: tuple[int, int]


SCALES: dict[str, _Scale] = {
    "district": _Scale(75_000, (1, 4), 152, 60, 420, (1, 3)),
    "small": _Scale(170, (1, 2), 4, 3, 12, (1, 1)),
}

# Shares of rooms, households and people (on average: each grid draws its own room uses around these).
ROOM_USE_SHARES = {"self_occupied": 0.70, "rented": 0.18, "vacant": 0.08, "commercial": 0.04}
FLOATING_IN_RENTED, FOREIGN_IN_RENTED, FLOATING_IN_OWNED = 0.68, 0.012, 0.03
UNSETTLED = 0.05  # of the members of registered households
DISABLED, ALLOWANCE, ENTITLED, ATTENTION = 0.02, 0.03, 0.01, 0.002
LIVING_ALONE_TAGGED, EMPTY_NEST_TAGGED = 0.9, 0.6  # of the elderly who live so, registered for care

# Household templates: roles H head, S spouse, C child, P parent, G grandchild (parents away: left behind);
# the head's age ("elder" = 60+), and weights in owned and rented rooms. Sizes average about three.
_TEMPLATES: tuple[tuple[str, str, tuple[int, int] | None, int, int], ...] = (
    ("elder_alone", "H", None, 63, 12),
    ("single", "H", (20, 59), 70, 170),
    ("elder_couple", "HS", None, 100, 25),
    ("young_couple", "HS", (22, 39), 62, 170),
    ("middle_couple", "HS", (45, 59), 50, 45),
    ("single_parent", "HC", (30, 55), 38, 65),
    ("nuclear", "HSC", (25, 55), 200, 260),
    ("grandparents_one", "HSG", None, 12, 3),
    ("with_parent", "HSP", (30, 55), 58, 25),
    ("nuclear_two", "HSCC", (28, 55), 115, 120),
    ("three_generations", "HSCP", (28, 55), 76, 25),
    ("grandparents_two", "HSGG", None, 10, 3),
    ("three_generations_two_parents", "HSCPP", (28, 55), 68, 15),
    ("nuclear_three", "HSCCC", (30, 55), 15, 25),
    ("three_generations_two_children", "HSCCP", (28, 55), 25, 10),
    ("three_generations_six", "HSCCPP", (30, 50), 58, 8),
)
_FOREIGN_TEMPLATES = ("single", "young_couple", "nuclear")
_RELATIONS = {"H": HEAD, "S": "配偶", "C": "子女", "P": "父母", "G": "孙子女"}


# --- What is generated: plain records; references are indexes into the lists of RegistryDemo ----------


@dataclass(slots=True)
class CompoundSpec:
    grid_code: str
    name: str
    address: str
    property_company: str | None  # None: 无物业小区
    lat: float
    lon: float


@dataclass(slots=True)
class BuildingSpec:
    compound: int
    grid_code: str
    name: str  # 3栋
    floors: int
    lat: float
    lon: float


@dataclass(slots=True)
class RoomSpec:
    building: int
    grid_code: str
    entrance: str  # 2单元
    number: str  # 502
    floor: int
    use: str
    area: float


@dataclass(slots=True)
class HouseholdSpec:
    grid_code: str
    number: str  # 户号, unique in its grid
    room: int
    head: int


@dataclass(slots=True)
class PersonSpec:
    grid_code: str
    name: str
    id_number: str | None
    phone: str | None
    birth_date: date
    sex: str
    residence_type: str
    floating_expires_on: date | None
    household: int
    relation: str
    room: int


@dataclass(slots=True)
class TagSpec:
    person: int
    grid_code: str
    tag: str
    grade: str | None
    starts_on: date


@dataclass(slots=True)
class ThingSpec:
    grid_code: str
    kind: str
    code: str
    name: str
    lat: float
    lon: float
    status: str
    owner: str
    maintainer: str
    installed_on: date


@dataclass(slots=True)
class OrganizationSpec:
    grid_code: str
    name: str
    kind: str
    credit_code: str | None
    address: str
    contact_name: str
    contact_phone: str
    staff_count: int
    active: bool


@dataclass
class RegistryDemo:
    compounds: list[CompoundSpec] = field(default_factory=list)
    buildings: list[BuildingSpec] = field(default_factory=list)
    rooms: list[RoomSpec] = field(default_factory=list)
    households: list[HouseholdSpec] = field(default_factory=list)
    people: list[PersonSpec] = field(default_factory=list)
    tags: list[TagSpec] = field(default_factory=list)
    things: list[ThingSpec] = field(default_factory=list)
    organizations: list[OrganizationSpec] = field(default_factory=list)


# --- Shared helpers -------------------------------------------------------------------------------------


class Picker:
    """Weighted choices from a fixed table by bisecting cumulative weights (rng.choices sums them anew)."""

    def __init__(self, items: Sequence[Any], weights: Sequence[float]) -> None:
        self.items, self.cum = list(items), list(accumulate(weights))

    def __call__(self, rng: random.Random) -> Any:
        return self.items[bisect(self.cum, rng.random() * self.cum[-1])]


class Grid:
    """A grid's code, polygon and community, with random points inside it."""

    def __init__(self, unit: UnitSpec) -> None:
        self.code, self.community = unit.code, unit.parent_code or ""
        self.polygon = shape(unit.geometry)
        shapely.prepare(self.polygon)
        self.bounds = self.polygon.bounds

    def point(self, rng: random.Random, near: tuple[float, float] | None = None,
              radius: float = 0.0012) -> tuple[float, float]:
        """(lat, lon) inside the grid, within `radius` degrees of `near` when it is given."""
        x0, y0, x1, y1 = self.bounds
        if near is not None:
            x0, x1 = max(x0, near[1] - radius), min(x1, near[1] + radius)
            y0, y1 = max(y0, near[0] - radius), min(y1, near[0] + radius)
        for _ in range(100):
            x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
            if shapely.contains_xy(self.polygon, x, y):
                return round(y, 6), round(x, 6)
        if near is not None:
            return near
        p = self.polygon.representative_point()
        return round(p.y, 6), round(p.x, 6)


@dataclass
class Vocabulary:
    names: dict[str, Any]
    registry: dict[str, Any]
    surname: Picker
    roads: dict[str, list[str]]  # community code → its roads
    jian: Picker
    jiangxi: Picker

    def address(self, rng: random.Random, community: str) -> str:
        return f"{DISTRICT_NAME}{rng.choice(self.roads[community])}{rng.randint(1, 399)}号"


def vocabulary(demo: DemoDistrict, rng: random.Random) -> Vocabulary:
    names = tomllib.loads(NAMES_FILE.read_text(encoding="utf-8"))
    names["given_chars"] = [c for c in names["given_chars"] if not c.isspace()]
    reg = tomllib.loads(VOCABULARY_FILE.read_text(encoding="utf-8"))
    weights = names["surname_weights"]
    roads = {u.code: rng.sample(reg["roads"], 3) for u in demo.units if u.level == "community"}
    origins = reg["origins"]
    return Vocabulary(names, reg, Picker(list(weights), list(weights.values())), roads,
                      Picker(*zip(*origins["jian"])), Picker(*zip(*origins["jiangxi"])))


class Mobiles:
    """Distinct valid mainland mobile numbers."""

    def __init__(self, prefixes: list[str]) -> None:
        self.prefixes, self.used = prefixes, set[str]()

    def __call__(self, rng: random.Random) -> str:
        while True:
            number = f"{self.prefixes[int(rng.random() * len(self.prefixes))]}{int(rng.random() * 10**8):08d}"
            if number not in self.used:
                self.used.add(number)
                return number


def person_name(rng: random.Random, vocab: Vocabulary, surname: str, sex: str, born: int) -> str:
    """A given name in the fashion of the decade the person was born in."""
    era = 1950 if born < 1960 else 1970 if born < 1980 else 1990 if born < 2003 else 2010
    given = vocab.names["given_names"][f"{sex}_{era}"]
    return surname + given[int(rng.random() * len(given))]


def _randint(rng: random.Random, low: int, high: int) -> int:
    """`rng.randint`, three times faster: hundreds of thousands are drawn for the people."""
    return low + int(rng.random() * (high - low + 1))


def _shares(n: int, share: float) -> int:
    """`share` of `n`, at least one (so that the small demo has some of everything)."""
    return max(1, round(share * n)) if n else 0
