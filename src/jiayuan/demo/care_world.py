"""What the care, charity and activities demos share: their settings, the world they read from the registry, the
rows they write and the deterministic ids, moments and samples they are made with."""


from __future__ import annotations

import random
import tomllib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from jiayuan.activities.models import Activity, Registration, Series
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
from jiayuan.charity.models import (
    Account,
    Donation,
    EntitlementRule,
    IssueRun,
    Item,
    PointsEntry,
    Redemption,
    RedemptionLine,
    Stock,
    StockEntry,
    Stocktake,
    StocktakeLine,
    Supermarket,
)
from jiayuan.demo.generate import NAMES_FILE, UnitSpec
from jiayuan.demo.registry_specs import VOCABULARY_FILE, Mobiles, Picker
from jiayuan.volunteers.models import Honour, HoursEntry, Opportunity, Signup, Volunteer

DATA_FILE = Path(__file__).parent / "data" / "care.toml"
VOLUNTEER_ACCOUNT = "volunteer1"
VISIT_DAYS = 7  # JIAYUAN_CARE_VISIT_DAYS' default: the demo is made as the sweep with that setting leaves it
HONOUR_HOURS = (100, 300, 600, 1000, 1500)
CARE_TAGS = ("living_alone", "empty_nest", "disabled", "allowance")
SEVERE = ("一级", "二级")
EIGHT_HOURS = timedelta(hours=8)  # Asia/Shanghai keeps no daylight saving: local = UTC + 8 h
# The order tables are written in: every row's foreign keys point to rows written before it.
TABLES: tuple[type, ...] = (
    CareProfile, EmergencyContact, Volunteer, Pairing, Visit, CareAlert, CareCentre, Enrolment, Attendance,
    Series, Activity, Registration, Opportunity, Signup, Supermarket, Item, Stock, EntitlementRule, Donation,
    Stocktake, StocktakeLine, IssueRun, Account, Redemption, RedemptionLine, StockEntry, PointsEntry, HoursEntry,
    Honour,
)


# --- Shared by the care, charity and activities demos --------------------------------------------------


_new, _set, _UNKNOWN = object.__new__, object.__setattr__, uuid.SafeUUID.unknown


def make_uuid(value: int) -> uuid.UUID:
    """uuid.UUID(int=value) without its checks (a few hundred thousand are made; the value is built right)."""
    u = _new(uuid.UUID)
    _set(u, "int", value)
    _set(u, "is_safe", _UNKNOWN)
    return u


class Ids:
    """Time-ordered ids in the layout of kit.db.uuid7 (48-bit milliseconds, a 12-bit counter, 62 random bits),
    from a fixed moment and a seeded stream: the same build makes the same ids."""

    def __init__(self, seed: int, now: datetime) -> None:
        self.ms = int(now.timestamp() * 1000) & 0xFFFF_FFFF_FFFF
        self.seq = -1
        self.bits = random.Random(f"{seed}:care:ids").getrandbits

    def __call__(self) -> uuid.UUID:
        self.seq += 1
        if self.seq > 0xFFF:
            self.ms, self.seq = self.ms + 1, 0
        return make_uuid(self.ms << 80 | 0x7 << 76 | self.seq << 64 | 0b10 << 62 | self.bits(62))


_MIDNIGHTS: dict[date, datetime] = {}
_MINUTES = [timedelta(minutes=m) for m in range(24 * 60 + 1)]


def at(day: date, minute: int) -> datetime:
    """The UTC moment `minute` minutes after local midnight of `day` (0 ≤ minute ≤ 1440)."""
    midnight = _MIDNIGHTS.get(day)
    if midnight is None:
        midnight = _MIDNIGHTS[day] = datetime(day.year, day.month, day.day, tzinfo=UTC) - EIGHT_HOURS
    return midnight + _MINUTES[minute]


def local_day(moment: datetime) -> date:
    return (moment + EIGHT_HOURS).date()


def sample(rng: random.Random, pool: list[Any] | tuple[Any, ...], k: int) -> list[Any]:
    """k distinct members of `pool` in the order drawn (random.sample's ABC checks cost more than the draw)."""
    n = len(pool)
    k = min(k, n)
    if k * 3 > n:
        order = list(range(n))
        rng.shuffle(order)
        return [pool[i] for i in order[:k]]
    seen: set[int] = set()
    out = []
    random = rng.random
    while len(out) < k:
        i = int(random() * n)
        if i not in seen:
            seen.add(i)
            out.append(pool[i])
    return out


def birthday(birth: date, years: int) -> date:
    """The day someone born on `birth` turns `years` (29 February: 1 March in other years)."""
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:
        return date(birth.year + years, 3, 1)


def rint(rng: random.Random, low: int, high: int) -> int:
    return low + int(rng.random() * (high - low + 1))


@dataclass(slots=True)
class Resident:
    """A registry person as the demo sees them, with the tags they hold today: tag → (grade, since)."""

    id: uuid.UUID
    grid: str
    household: uuid.UUID | None
    birth: date
    sex: str
    name: str
    tags: dict[str, tuple[str | None, date | None]]
    age: int = 0


@dataclass(slots=True)
class Vol:
    id: uuid.UUID
    person: Resident
    unit: str
    team: str
    joined: date
    active: bool
    load: int = 0  # people paired with


@dataclass
class World:
    """What the demo reads from the registry and the units: living people in id order, the units, the day."""

    district: str
    now: datetime
    today: date
    people: list[Resident]
    communities: list[UnitSpec]
    streets: list[UnitSpec]
    grids: dict[str, list[str]]  # community → its grids
    first: date = field(init=False)  # the first day of the demo's year
    approvers: dict[str, uuid.UUID] = field(default_factory=dict)  # community → a staff member who approves visits

    def __post_init__(self) -> None:
        self.first = self.today - timedelta(days=365)

    def unit_name(self, code: str) -> str:
        for u in (*self.communities, *self.streets):
            if u.code == code:
                return u.name
        return code


@dataclass(slots=True)
class Credit:
    """An entry of the hours ledger before ids: credits from visits, sign-ups, activities; debits from
    conversions into points."""

    volunteer: int
    at: datetime
    minutes: int
    kind: str
    source_type: str | None
    source_id: uuid.UUID | None
    note: str | None = None


@dataclass
class CareDemo:
    """Rows by table, ready to insert, and what the demo holds for the summary line."""

    rows: dict[type, list[dict[str, Any]]]
    volunteer_account: uuid.UUID | None  # the volunteer whose profile gets the account volunteer1
    volunteer_scope: str | None
    volunteers: list[Vol]
    credits: list[Credit]

    def count(self, model: type) -> int:
        return len(self.rows.get(model, []))


class Out:
    """The rows being built, by table, each with the district and an id."""

    def __init__(self, district: str, ids: Ids) -> None:
        self.district, self.ids = district, ids
        self.rows: dict[type, list[dict[str, Any]]] = {t: [] for t in TABLES}

    def add(self, model: type, **values: Any) -> uuid.UUID:
        row_id = values.get("id")
        if row_id is None:
            row_id = values["id"] = self.ids()
        values["district_code"] = self.district
        self.rows[model].append(values)
        return row_id


def config(scale: str) -> tuple[dict[str, Any], dict[str, Any]]:
    data = tomllib.loads(DATA_FILE.read_text(encoding="utf-8"))
    if scale not in data["scales"]:
        raise ValueError("scale: must be small or district")
    return data, data["scales"][scale]


class Names:
    """Chinese names in the fashion of the decade a person was born in (the registry demo's name material)."""

    def __init__(self) -> None:
        names = tomllib.loads(NAMES_FILE.read_text(encoding="utf-8"))
        weights = names["surname_weights"]
        self.surname = Picker(list(weights), list(weights.values()))
        self.given = names["given_names"]
        self.mobile = Mobiles(tomllib.loads(VOCABULARY_FILE.read_text(encoding="utf-8"))["origins"]["mobile_prefixes"])

    def __call__(self, rng: random.Random, sex: str, born: int, surname: str | None = None) -> str:
        era = 1950 if born < 1960 else 1970 if born < 1980 else 1990 if born < 2003 else 2010
        given = self.given[f"{sex}_{era}"]
        return (surname or self.surname(rng)) + given[int(rng.random() * len(given))]
