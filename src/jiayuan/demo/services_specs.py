"""What the services demos share: their scales, the records they generate (specs), the world they are made in, and
helpers for hours, holidays and numbers."""

from __future__ import annotations

import random
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import chinese_calendar

from jiayuan.cases.service import HOLIDAY_NAMES
from jiayuan.demo.generate import DISTRICT_CODE, DemoDistrict, UnitSpec
from jiayuan.demo.registry_specs import Grid, person_name, vocabulary
from jiayuan.kit.i18n import TIMEZONE
from jiayuan.kit.identity import credit_check_char, organization_check_char

DATA_FILE = Path(__file__).parent / "data" / "services.toml"
SUBSIDY_FEN = 100_000 * 100  # 100,000 yuan a year for each of a street's eight centres (the source document)
EXCEPTION_DAYS_AHEAD = 60
OFFER_MINUTES = 15  # JIAYUAN_ORDER_OFFER_MINUTES by default
RATING_DAYS, RATING_THRESHOLD, MIN_RATINGS = 90, 3.5, 5  # the flag rule of docs/services.md, by default
SOCIAL_KINDS = ("social_welfare", "social_charity", "social_service", "social_rights")
ADMIN = "admin"
# The blind index of an order's contact phone, as the orders domain keeps it (services.ordering.phone_key).
ORDER_PHONE_CONTEXT = "service_orders.contact_phone"


@dataclass(frozen=True)
class Scale:
    providers: int  # active ones
    others: dict[str, int]  # applied, approved, suspended, withdrawn
    x_centres: tuple[tuple[str, str, int], ...]  # (kind, level, how many)
    hidden_centres: int  # X centres not open to the public
    weak_centres: tuple[int, int]  # centres open less than required: last year, this year
    orders: int
    order_days: int
    poor_providers: int  # providers whose ratings fall under the threshold: flagged
    poor_share: float  # of the orders, those a poor provider is first asked for
    produce_points: int
    activities: int  # per project, over the last year
    every_item: bool  # every catalogue item offered by three active providers or more


SCALES: dict[str, Scale] = {
    "district": Scale(700, {"applied": 12, "approved": 8, "suspended": 10, "withdrawn": 18},
                       (("legal_aid", "street", 3), ("volunteer_station", "community", 5)), 1, (2, 3),
                       4000, 180, 2, 0.03, 12, 40, True),
    "small": Scale(6, {"applied": 1, "approved": 1, "suspended": 1, "withdrawn": 1},
                    (("legal_aid", "street", 1), ("volunteer_station", "community", 2)), 1, (1, 1),
                    60, 60, 1, 0.25, 2, 8, False),
}


# --- What is generated: plain records; references are indexes into the lists of ServicesDemo -----------------


@dataclass(slots=True)
class CentreSpec:
    unit_code: str
    kind: str
    name: str
    address: str
    lat: float
    lon: float
    capacity: int
    facilities: list[str]
    contact_name: str
    phone: str
    is_public: bool
    weekly_hours: dict[str, list[list[str]]]
    description: str
    recorder: str  # the username of the staff who logs its openings


@dataclass(slots=True)
class ExceptionSpec:
    centre: int
    day: date
    closed: bool
    hours: list[list[str]] | None
    note: str


@dataclass(slots=True)
class OpeningSpec:
    centre: int
    day: date
    opened_at: datetime
    closed_at: datetime


@dataclass(slots=True)
class SubsidySpec:
    centre: int
    year: int
    amount_fen: int
    granted_on: date
    note: str


@dataclass(slots=True)
class ProviderSpec:
    name: str
    credit_code: str
    status: str
    trade: str
    contact_name: str
    contact_phone: str
    service_phone: str
    address: str
    lat: float
    lon: float
    round_the_clock: bool
    weekly_hours: dict[str, list[list[str]]] | None
    description: str
    created_at: datetime
    areas: list[str]
    items: dict[str, int | None]  # item code → price in fen (None: quoted on site)
    username: str
    poor: bool = False
    flagged_at: datetime | None = None
    flag_reason: str | None = None
    updated_at: datetime | None = None


@dataclass(slots=True)
class ProviderEventSpec:
    provider: int
    at: datetime
    from_status: str | None
    to_status: str
    reason: str | None


@dataclass(slots=True)
class OrderSpec:
    number: str
    item_code: str
    channel: str
    status: str
    unit_code: str
    address: str
    lat: float
    lon: float
    window_start: datetime
    window_end: datetime
    notes: str | None
    operator: str | None  # the username of the 12343 operator who took the call
    contact_name: str
    contact_phone: str
    created_at: datetime
    updated_at: datetime
    provider: int | None = None
    price_fen: int | None = None
    offered_at: datetime | None = None
    accepted_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancelled_by: str | None = None
    cancel_reason: str | None = None
    rating: int | None = None
    rating_comment: str | None = None
    rated_at: datetime | None = None


@dataclass(slots=True)
class OfferSpec:
    order: int
    provider: int
    rank: int
    score: float
    status: str
    offered_at: datetime | None = None
    deadline_at: datetime | None = None
    answered_at: datetime | None = None


@dataclass(slots=True)
class OrderEventSpec:
    order: int
    at: datetime
    actor: str  # "system", "provider:<index>", "operator:<username>" or "resident:<name>"
    action: str
    from_status: str | None
    to_status: str | None
    note: str | None = None


@dataclass(slots=True)
class ProjectSpec:
    name: str
    unit_code: str  # the community it runs in
    tags: list[str]
    keywords: list[str]
    description: str
    starts_on: date
    beneficiaries: int  # how many to enrol from the registry


@dataclass(slots=True)
class ActivitySpec:
    project: int
    held_on: date
    title: str
    participants: int
    notes: str | None


@dataclass(slots=True)
class ProduceSpec:
    unit_code: str
    name: str
    address: str
    lat: float
    lon: float
    supplier: str
    weekly_hours: dict[str, list[list[str]]]


@dataclass
class ServicesDemo:
    centres: list[CentreSpec] = field(default_factory=list)
    exceptions: list[ExceptionSpec] = field(default_factory=list)
    openings: list[OpeningSpec] = field(default_factory=list)
    subsidies: list[SubsidySpec] = field(default_factory=list)
    providers: list[ProviderSpec] = field(default_factory=list)
    provider_events: list[ProviderEventSpec] = field(default_factory=list)
    orders: list[OrderSpec] = field(default_factory=list)
    offers: list[OfferSpec] = field(default_factory=list)
    order_events: list[OrderEventSpec] = field(default_factory=list)
    projects: list[ProjectSpec] = field(default_factory=list)
    activities: list[ActivitySpec] = field(default_factory=list)
    produce: list[ProduceSpec] = field(default_factory=list)


# --- Shared helpers -------------------------------------------------------------------------------------------


def week_of(spec: list[dict[str, Any]]) -> dict[str, list[list[str]]]:
    """A week of the data file ([{days, hours}, …]) as the tables keep it: every weekday, closed ones empty."""
    week: dict[str, list[list[str]]] = {str(d): [] for d in range(1, 8)}
    for part in spec:
        for d in part["days"]:
            week[str(d)] = [list(h) for h in part["hours"]]
    return week


def local_moment(day: date, hhmm: str, minutes: float = 0) -> datetime:
    """A local time of `day` as an aware moment."""
    hours, mins = map(int, hhmm.split(":"))
    return datetime.combine(day, time(hours, mins), TIMEZONE) + timedelta(minutes=minutes)


def open_at(week: dict[str, list[list[str]]] | None, allday: bool, moment: datetime) -> bool:
    if allday:
        return True
    local = moment.astimezone(TIMEZONE)
    hhmm = f"{local.hour:02d}:{local.minute:02d}"
    return any(s <= hhmm < e for s, e in (week or {}).get(str(local.isoweekday())) or [])


_FIXED_HOLIDAYS = {(1, 1): "元旦", (5, 1): "劳动节", (10, 1): "国庆节", (10, 2): "国庆节", (10, 3): "国庆节"}


def holiday(day: date) -> str | None:
    """The public holiday `day` is part of (Chinese name), from chinese-calendar; for years it does not know yet,
    the fixed-date ones only (the district enters the others as data)."""
    try:
        off, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return _FIXED_HOLIDAYS.get((day.month, day.day))
    return HOLIDAY_NAMES.get(name, name) if off and name else None


class _CreditCodes:
    """Distinct GB 32100 codes registered in the district: department, category, region, organization code."""

    BODY = "0123456789ABCDEFGHJKLMNPQRTUWXY"

    def __init__(self) -> None:
        self.used: set[str] = set()

    def __call__(self, rng: random.Random, department: str, category: str) -> str:
        prefix = "MA" if department == "9" and category == "1" else ""
        while True:
            body = prefix + "".join(rng.choice(self.BODY) for _ in range(8 - len(prefix)))
            first17 = f"{department}{category}{DISTRICT_CODE}{body}{organization_check_char(body)}"
            if first17 not in self.used:
                self.used.add(first17)
                return first17 + credit_check_char(first17)


class Landlines:
    """Distinct Ji'an landlines (0796 and seven digits): the public lines of centres and providers."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def __call__(self, rng: random.Random) -> str:
        while True:
            number = f"0796-8{rng.randrange(10**6):06d}"
            if number not in self.used:
                self.used.add(number)
                return number


@dataclass
class World:
    """What every part draws on: the units, their grids, names and roads."""

    demo: DemoDistrict
    data: dict[str, Any]
    vocab: Any
    grids: list[Grid]
    streets: list[UnitSpec]
    communities: list[UnitSpec]
    grids_of: dict[str, list[Grid]]  # street or community code → its grids
    staff: dict[str, str]  # unit code → the username of its first staff member
    now: datetime
    today: date

    def person(self, rng: random.Random) -> str:
        sex = "male" if rng.random() < 0.5 else "female"
        return person_name(rng, self.vocab, self.vocab.surname(rng), sex, rng.randint(1962, 1996))

    def place(self, rng: random.Random, unit: str) -> tuple[str, float, float, str]:
        """(address, lat, lon, grid code) somewhere in the unit."""
        grid = rng.choice(self.grids_of.get(unit) or self.grids)
        lat, lon = grid.point(rng)
        return self.vocab.address(rng, grid.community), lat, lon, grid.code


def make_world(demo: DemoDistrict, seed: int, now: datetime) -> World:
    data = tomllib.loads(DATA_FILE.read_text(encoding="utf-8"))
    vocab = vocabulary(demo, random.Random(f"{seed}:registry:vocabulary"))  # the registry's roads
    grids = [Grid(u) for u in demo.units if u.level == "grid"]
    grids_of: dict[str, list[Grid]] = defaultdict(list)
    for g in grids:
        grids_of[g.community].append(g)
        grids_of[g.community[:9]].append(g)
    staff: dict[str, str] = {}
    for s in demo.staff:
        staff.setdefault(s.scope_code, s.username)
    return World(demo, data, vocab, grids, [u for u in demo.units if u.level == "street"],
                  [u for u in demo.units if u.level == "community"], grids_of, staff, now,
                  now.astimezone(TIMEZONE).date())
