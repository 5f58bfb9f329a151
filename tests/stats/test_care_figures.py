"""Care figures (stats/care.py) on a hand-made set: every figure of a community, its grids, the rows kept at the
community itself, its street and the district, worked out by hand below; the period's edges in Beijing time; scope
(a grid worker sees only their grid, another grid or community is a 404); the JSON API and the page with its links."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiayuan.accounts.models import User
from jiayuan.accounts.service import Principal, principal_of
from jiayuan.activities.models import Activity, Registration
from jiayuan.care.models import (
    Attendance,
    CareAlert,
    CareCentre,
    CareProfile,
    Enrolment,
    Pairing,
    Visit,
)
from jiayuan.charity.models import Account, Donation, Item, PointsEntry, Redemption, Supermarket
from jiayuan.kit.errors import NotFound
from jiayuan.kit.i18n import TIMEZONE
from jiayuan.registry.models import Household, Person, PersonTag
from jiayuan.stats import care as care_stats
from jiayuan.units.service import grids_of_user
from jiayuan.volunteers.models import HoursEntry, Volunteer
from tests.personas import COMMUNITY, GRID_A, GRID_B, PERSONAS

D = "360802"
STREET = COMMUNITY[:9]
OTHER_COMMUNITY = PERSONAS["other_community"].scope
OTHER_GRID = OTHER_COMMUNITY + "001"
START, END = date(2025, 3, 1), date(2025, 4, 1)
Q = {"start": "2025-03-01", "end": "2025-04-01"}
NOW = datetime(2026, 1, 10, 4, tzinfo=UTC)


def local(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    """A moment given in Beijing time."""
    return datetime(y, m, d, hh, mm, tzinfo=TIMEZONE).astimezone(UTC)


# People: grid, birth date, tags (tag, starts, ends), care profile (level, started, ended) or None.
PEOPLE: dict[str, tuple[str, date, list[tuple[str, date, date | None]], tuple[str, date, date | None] | None]] = {
    "P1": (GRID_A, date(1940, 6, 1), [("living_alone", date(2020, 1, 1), None)], ("high", date(2024, 1, 1), None)),
    "P2": (GRID_A, date(1950, 6, 1), [("empty_nest", date(2021, 1, 1), None), ("disabled", date(2010, 1, 1), None)],
           ("medium", date(2025, 3, 5), None)),  # taken into care in the period
    "P3": (GRID_B, date(1960, 6, 1), [("allowance", date(2022, 1, 1), None)],
           ("low", date(2024, 6, 1), date(2025, 2, 1))),  # out of care before the period
    # Born 1944-03-30: 80 since 2024. The allowance ended before the period's last day.
    "P4": (GRID_B, date(1944, 3, 30), [("living_alone", date(2019, 1, 1), None),
                                       ("allowance", date(2020, 1, 1), date(2025, 1, 1))],
           ("high", date(2024, 1, 1), None)),
    "P5": (OTHER_GRID, date(1930, 1, 1), [("living_alone", date(2019, 1, 1), None)], ("medium", date(2024, 1, 1), None)),
    "V1": (GRID_A, date(1990, 1, 1), [], None),
    "V2": (GRID_B, date(1985, 1, 1), [], None),
    "V3": (OTHER_GRID, date(1980, 1, 1), [], None),
    "V4": (GRID_B, date(1975, 1, 1), [], None),
}
# Volunteers: person, the unit they serve, team, active.
VOLUNTEERS = {"V1": (GRID_A, "orange", True), "V2": (COMMUNITY, "red", True), "V3": (OTHER_COMMUNITY, "orange", True),
              "V4": (GRID_B, "green", False)}
PAIRINGS = {"a1": ("V1", "P1"), "a2": ("V1", "P2"), "b4": ("V2", "P4"), "o5": ("V3", "P5")}
# Visits: pairing, kind, when, minutes, confirmed.
VISITS = [
    ("a1", "housekeeping", local(2025, 3, 3), 60, True),
    ("a1", "meals", local(2025, 3, 10), 30, False),
    ("a2", "health", local(2025, 3, 15), 45, True),
    ("a1", "housekeeping", local(2025, 2, 28, 23, 59), 50, True),  # a minute before the period: out
    ("a1", "companionship", local(2025, 3, 1, 0, 0), 20, False),  # its first minute: in
    ("b4", "housekeeping", local(2025, 3, 20), 90, True),
    ("b4", "meals", local(2025, 4, 1, 0, 0), 40, True),  # the first minute after it: out
    ("o5", "meals", local(2025, 3, 5), 60, True),
]
# Alerts: person, raised on, open.
ALERTS = [("P4", date(2025, 3, 12), False), ("P1", date(2025, 2, 20), True), ("P5", date(2025, 3, 10), True),
          ("P2", date(2025, 3, 25), False)]
# Hours: volunteer, minutes, kind, when.
HOURS = [
    ("V1", 60, "service", local(2025, 3, 3)), ("V1", 30, "service", local(2025, 3, 10)),
    ("V1", 45, "service", local(2025, 3, 15)), ("V1", 20, "service", local(2025, 3, 1, 0, 0)),
    ("V1", -120, "conversion", local(2025, 3, 20)), ("V1", 15, "adjustment", local(2025, 3, 21)),
    ("V1", 60, "service", local(2025, 2, 27)),
    ("V2", 90, "service", local(2025, 3, 20)), ("V2", 120, "activity", local(2025, 3, 22)),
    ("V3", 60, "service", local(2025, 3, 5)),
]
# Households (the first person's grid) with an account at their community's supermarket.
HOUSEHOLDS = {"HA": ("P1", "SM"), "HB": ("P4", "SM"), "HO": ("P5", "SO")}
# Points: household, points, kind, lot, when.
POINTS = [
    ("HA", 100, "issue", "L0", local(2025, 2, 1, 1)),
    ("HA", 100, "issue", "L1", local(2025, 3, 1, 1)),
    ("HA", -40, "spend", "L1", local(2025, 3, 10)),
    ("HA", -10, "expire", "L0", local(2025, 3, 1, 0, 5)),
    ("HA", 20, "conversion", "L2", local(2025, 3, 20)),
    ("HB", 50, "issue", "L3", local(2025, 3, 1, 1)),
    ("HB", -50, "spend", "L3", local(2025, 3, 15)),
    ("HB", 50, "issue", "L4", local(2025, 4, 1, 1)),
    ("HO", 80, "issue", "L5", local(2025, 3, 1, 1)),
]
REDEMPTIONS = [("HA", 40, local(2025, 3, 10)), ("HB", 50, local(2025, 3, 15)), ("HB", 30, local(2025, 2, 10))]
# Donations: supermarket, kind, quantity, value in fen, when.
DONATIONS = [("SM", "goods", 10, 50_000, local(2025, 3, 2)), ("SM", "money", None, 100_000, local(2025, 3, 10)),
             ("SM", "goods", 5, 2_000, local(2025, 2, 15)), ("SO", "money", None, 30_000, local(2025, 3, 10))]
# Activities: unit, kind, start, cancelled, registrations checked in, registrations not checked in.
ACTIVITIES = {
    "AC1": (COMMUNITY, "lecture", local(2025, 3, 8), False, 2, 1),
    "AC2": (GRID_A, "culture", local(2025, 3, 12), False, 1, 0),
    "AC3": (COMMUNITY, "sports", local(2025, 3, 20), True, 1, 0),  # cancelled
    "AC4": (D, "festival", local(2025, 3, 15), False, 3, 2),
    "AC5": (COMMUNITY, "lecture", local(2025, 4, 2), False, 4, 0),  # after the period
    "AC6": (OTHER_COMMUNITY, "culture", local(2025, 3, 10), False, 1, 0),
}
# Centres: unit, kind; enrolments (person, enrolled, left); attendance (person, day, meals).
CENTRES = {"CC1": (COMMUNITY, "day_care"), "CC2": (STREET, "home_care"), "CC3": (OTHER_COMMUNITY, "day_care")}
ENROLMENTS = [("CC1", "P1", date(2024, 1, 1), None), ("CC1", "P2", date(2024, 5, 1), date(2025, 3, 10)),
              ("CC1", "P4", date(2025, 3, 5), None), ("CC3", "P5", date(2024, 1, 1), None)]
ATTENDANCE = [("CC1", "P1", date(2025, 3, 3), 2), ("CC1", "P1", date(2025, 3, 4), 1), ("CC1", "P2", date(2025, 3, 5), 1),
              ("CC1", "P4", date(2025, 3, 6), 2), ("CC1", "P1", date(2025, 2, 27), 1), ("CC3", "P5", date(2025, 3, 3), 1)]


def _id() -> uuid.UUID:
    return uuid.uuid4()


@pytest.fixture
def world(db) -> Any:  # noqa: ANN001
    """The hand-made set, committed to the test's savepoint so that the API sees it too."""
    with db.sessions() as s:
        ids: dict[str, uuid.UUID] = {}
        for label, (grid, born, tags, profile) in PEOPLE.items():
            ids[label] = _id()
            s.add(Person(district_code=D, id=ids[label], grid_code=grid, name=f"测试{label}", birth_date=born))
        s.flush()
        for label, (grid, _born, tags, profile) in PEOPLE.items():
            for tag, starts, ends in tags:
                s.add(PersonTag(district_code=D, person_id=ids[label], grid_code=grid, tag=tag, starts_on=starts,
                                ends_on=ends))
            if profile:
                level, started, ended = profile
                s.add(CareProfile(district_code=D, person_id=ids[label], grid_code=grid, level=level,
                                  card_token=f"card-{label}", started_on=started, ended_on=ended))
        for label, (unit, team, active) in VOLUNTEERS.items():
            ids["vol" + label] = _id()
            s.add(Volunteer(district_code=D, id=ids["vol" + label], person_id=ids[label], unit_code=unit,
                            team_code=team, joined_on=date(2024, 1, 1), active=active))
        s.flush()
        for label, (vol, person) in PAIRINGS.items():
            ids[label] = _id()
            s.add(Pairing(district_code=D, id=ids[label], person_id=ids[person], volunteer_id=ids["vol" + vol],
                          grid_code=PEOPLE[person][0], started_on=date(2024, 1, 1)))
        s.flush()
        for pairing, kind, at, minutes, confirmed in VISITS:
            vol, person = PAIRINGS[pairing]
            s.add(Visit(district_code=D, pairing_id=ids[pairing], person_id=ids[person], volunteer_id=ids["vol" + vol],
                        grid_code=PEOPLE[person][0], kind=kind, visited_at=at, duration_minutes=minutes,
                        confirmed_at=at + timedelta(minutes=minutes) if confirmed else None,
                        confirm_method="qr" if confirmed else None))
        for person, raised, is_open in ALERTS:
            s.add(CareAlert(district_code=D, person_id=ids[person], grid_code=PEOPLE[person][0], raised_on=raised,
                            days_without_visit=8, open=is_open,
                            resolved_at=None if is_open else local(raised.year, raised.month, raised.day, 15)))
        for vol, minutes, kind, at in HOURS:
            s.add(HoursEntry(district_code=D, volunteer_id=ids["vol" + vol], minutes=minutes, kind=kind, at=at))
        ids["item"] = _id()
        s.add(Item(district_code=D, id=ids["item"], name="大米", unit="袋", points=20))
        for label, unit in (("SM", COMMUNITY), ("SO", OTHER_COMMUNITY)):
            ids[label] = _id()
            s.add(Supermarket(district_code=D, id=ids[label], unit_code=unit, name=f"爱心超市{label}"))
        for label, (head, market) in HOUSEHOLDS.items():
            ids[label] = _id()
            s.add(Household(district_code=D, id=ids[label], grid_code=PEOPLE[head][0], head_id=ids[head]))
        s.flush()
        for label, (head, market) in HOUSEHOLDS.items():
            ids["acc" + label] = _id()
            s.add(Account(district_code=D, id=ids["acc" + label], household_id=ids[label], supermarket_id=ids[market],
                          grid_code=PEOPLE[head][0]))
        s.flush()
        lots = {lot: _id() for *_, lot, _at in POINTS}
        for household, points, kind, lot, at in POINTS:
            s.add(PointsEntry(district_code=D, id=lots[lot] if kind in ("issue", "conversion") else _id(),
                              account_id=ids["acc" + household], points=points, kind=kind, lot_id=lots[lot], at=at))
        for household, points, at in REDEMPTIONS:
            s.add(Redemption(district_code=D, supermarket_id=ids[HOUSEHOLDS[household][1]],
                             account_id=ids["acc" + household], points=points, at=at))
        for market, kind, quantity, value, at in DONATIONS:
            s.add(Donation(district_code=D, supermarket_id=ids[market], donor_name="爱心人士", kind=kind,
                           item_id=ids["item"] if kind == "goods" else None, quantity=quantity, value_fen=value,
                           received_at=at))
        for label, (unit, kind, at, cancelled, attended, registered) in ACTIVITIES.items():
            ids[label] = _id()
            s.add(Activity(district_code=D, id=ids[label], unit_code=unit, kind=kind, title=f"活动{label}",
                           organizer="社区", place="活动室", starts_at=at, ends_at=at + timedelta(hours=2),
                           checkin_token=f"token-{label}", cancelled_at=at - timedelta(days=1) if cancelled else None))
        s.flush()
        for label, (_unit, _kind, at, _cancelled, attended, registered) in ACTIVITIES.items():
            for i in range(attended + registered):
                came = i < attended
                s.add(Registration(district_code=D, activity_id=ids[label], name=f"居民{i}",
                                   status="attended" if came else "registered", checked_in_at=at if came else None))
        for label, (unit, kind) in CENTRES.items():
            ids[label] = _id()
            s.add(CareCentre(district_code=D, id=ids[label], unit_code=unit, kind=kind, name=f"照料中心{label}"))
        s.flush()
        for centre, person, enrolled, left in ENROLMENTS:
            s.add(Enrolment(district_code=D, centre_id=ids[centre], person_id=ids[person], enrolled_on=enrolled,
                            left_on=left, active=left is None))
        for centre, person, day, meals in ATTENDANCE:
            s.add(Attendance(district_code=D, centre_id=ids[centre], person_id=ids[person], day=day,
                             checked_in_at=local(day.year, day.month, day.day, 8), meals=meals))
        s.commit()
    with db.sessions() as s:
        yield s


def principal(s: Session, persona: str) -> Principal:
    user = s.scalar(select(User).where(User.username == PERSONAS[persona].username))
    return principal_of(user, grids_of_user(s, user.id))


def zeros(kinds: tuple[str, ...], **given: Any) -> dict[str, Any]:
    return {k: given.get(k, 0) for k in kinds}


VISIT_KINDS = ("housekeeping", "meals", "health", "companionship", "other")
TAGS = ("living_alone", "empty_nest", "disabled", "allowance", "aged_80")
TEAMS = ("red", "orange", "yellow", "green", "cyan", "blue", "purple", "none")
ACTIVITY_KINDS = ("culture", "sports", "festival", "lecture", "volunteer", "other")


def kinds(held: dict[str, tuple[int, int]]) -> dict[str, dict[str, int]]:
    return {k: {"held": held.get(k, (0, 0))[0], "participants": held.get(k, (0, 0))[1]} for k in ACTIVITY_KINDS}


def visit_kinds(counts: dict[str, tuple[int, int]]) -> dict[str, dict[str, int]]:
    return {k: {"visits": counts.get(k, (0, 0))[0], "confirmed": counts.get(k, (0, 0))[1]} for k in VISIT_KINDS}


def figures(*, people: int = 0, started: int = 0, levels: dict | None = None, tags: dict | None = None,
            visits: tuple[int, int, int] = (0, 0, 0), by_kind: dict | None = None, alerts: tuple[int, int] = (0, 0),
            volunteers: int = 0, teams: dict | None = None, minutes: tuple[int, int, int] = (0, 0, 0),
            donations: tuple[int, int, int, int, int, int] = (0, 0, 0, 0, 0, 0),
            points: tuple[int, int, int, int, int, int, int] = (0, 0, 0, 0, 0, 0, 0),
            activities: tuple[int, int] = (0, 0), activity_kinds: dict | None = None,
            centres: tuple[int, int, int, int, int, int, int] = (0, 0, 0, 0, 0, 0, 0)) -> dict[str, Any]:
    """The expected figures of one group, every count zero unless given."""
    n, confirmed, mins = visits
    service, activity, credits = minutes
    return {
        "care": {"people": people, "started": started,
                 "by_level": zeros(("low", "medium", "high"), **(levels or {})), "by_tag": zeros(TAGS, **(tags or {}))},
        "visits": {"visits": n, "confirmed": confirmed, "confirmed_share": round(confirmed / n, 4) if n else None,
                   "minutes": mins, "by_kind": visit_kinds(by_kind or {})},
        "alerts": {"open": alerts[0], "raised": alerts[1]},
        "volunteers": {"active": volunteers, "by_team": zeros(TEAMS, **(teams or {})), "minutes": service + activity,
                       "hours": round((service + activity) / 60, 1), "credits": credits,
                       "by_kind": {"service": service, "activity": activity}},
        "donations": dict(zip(("count", "goods", "goods_quantity", "goods_value_fen", "money", "money_fen"),
                              donations, strict=True)),
        "points": dict(zip(("issued", "converted", "spent", "expired", "adjusted", "redemptions",
                            "households_redeeming"), points, strict=True)),
        "activities": {"held": activities[0], "participants": activities[1], "by_kind": kinds(activity_kinds or {})},
        "centres": dict(zip(("centres", "enrolled", "people_served", "attendance_days", "meals"), centres[:5],
                            strict=True)) | {"by_kind": {"home_care": centres[5], "day_care": centres[6]}},
    }


# Worked out by hand from the tables above.
# Grid A: P1 (high, 85, living alone) and P2 (medium, taken in on 5 March, empty nest and disabled); visits of
# pairings a1 and a2 inside the period: 3 Mar housekeeping 60 ✓, 10 Mar meals 30, 15 Mar health 45 ✓, 1 Mar 00:00
# companionship 20 (28 Feb 23:59 is out); P1's alert open (raised in February), P2's raised 25 March; V1 serves grid
# A: service 60 + 30 + 45 + 20 = 155 in four credits (conversion, adjustment and February left out); household HA:
# issued 100 (February's lot is out), converted 20, spent 40, expired 10 (00:05 on 1 March), one redemption; AC2.
GRID_A_FIGURES = figures(
    people=2, started=1, levels={"high": 1, "medium": 1},
    tags={"living_alone": 1, "empty_nest": 1, "disabled": 1, "aged_80": 1},
    visits=(4, 2, 155), by_kind={"housekeeping": (1, 1), "meals": (1, 0), "health": (1, 1), "companionship": (1, 0)},
    alerts=(1, 1), volunteers=1, teams={"orange": 1}, minutes=(155, 0, 4),
    points=(100, 20, 40, 10, 0, 1, 1), activities=(1, 1), activity_kinds={"culture": (1, 1)})
# Grid B: P4 (high, 80 since March 2024, living alone; the allowance ended in January; P3 out of care); visit 20 Mar
# housekeeping 90 ✓ (1 April is out); P4's alert raised 12 March and resolved; no volunteer serves grid B but V4,
# who is inactive; HB: issued 50, spent 50, one redemption in March (February's is out).
GRID_B_FIGURES = figures(
    people=1, levels={"high": 1}, tags={"living_alone": 1, "aged_80": 1},
    visits=(1, 1, 90), by_kind={"housekeeping": (1, 1)}, alerts=(0, 1), points=(50, 0, 50, 0, 0, 1, 1))
# The community itself: V2 serves the whole community (service 90, activity 120); its supermarket's donations of
# March (goods 10 bags worth 500 yuan, money 1,000 yuan; February's is out); lecture AC1 with 2 of 3 checked in
# (AC3 cancelled, AC5 after the period); day-care centre CC1: P1 and P4 enrolled on 31 March (P2 left on the 10th),
# four days of attendance by P1, P2 and P4 with 6 meals (27 February is out).
HERE_FIGURES = figures(
    volunteers=1, teams={"red": 1}, minutes=(90, 120, 2), donations=(2, 1, 10, 50_000, 1, 100_000),
    activities=(1, 2), activity_kinds={"lecture": (1, 2)}, centres=(1, 2, 3, 4, 6, 0, 1))


def add(*groups: dict[str, Any]) -> dict[str, Any]:
    """The sum of figure groups (the share recomputed from the sums)."""
    def merge(a: Any, b: Any) -> Any:
        if isinstance(a, dict):
            return {k: merge(a[k], b[k]) for k in a}
        return None if a is None and b is None else (a or 0) + (b or 0)

    out = groups[0]
    for g in groups[1:]:
        out = merge(out, g)
    v = out["visits"]
    v["confirmed_share"] = round(v["confirmed"] / v["visits"], 4) if v["visits"] else None
    out["volunteers"]["hours"] = round(out["volunteers"]["minutes"] / 60, 1)
    return out


COMMUNITY_FIGURES = add(GRID_A_FIGURES, GRID_B_FIGURES, HERE_FIGURES)


def strip(group: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in group.items() if k not in ("code", "name")}


def test_a_community_in_total_by_grid_and_at_itself(world: Session) -> None:
    report = care_stats.figures(world, principal(world, "community"), COMMUNITY, START, END, now=NOW)
    assert report.as_of == date(2025, 3, 31)
    assert report.totals == COMMUNITY_FIGURES
    # In numbers, for the reader: 3 people in care, 5 visits of 245 minutes, 3 confirmed (60 %), 6.1 hours.
    assert (report.totals["care"]["people"], report.totals["visits"]["visits"], report.totals["visits"]["minutes"],
            report.totals["visits"]["confirmed_share"], report.totals["volunteers"]["hours"]) == (3, 5, 245, 0.6, 6.1)
    children = {c["code"]: c for c in report.children}
    assert list(children) == sorted(children) and GRID_A in children and GRID_B in children
    assert strip(children[GRID_A]) == GRID_A_FIGURES
    assert strip(children[GRID_B]) == GRID_B_FIGURES
    assert all(strip(c) == figures() for code, c in children.items() if code not in (GRID_A, GRID_B))
    assert report.here is not None and strip(report.here) == HERE_FIGURES


def test_the_street_and_the_district(world: Session) -> None:
    street = care_stats.figures(world, principal(world, "street"), STREET, START, END, now=NOW)
    children = {c["code"]: c for c in street.children}
    assert strip(children[COMMUNITY]) == COMMUNITY_FIGURES
    # The street's own home-care centre (no one enrolled) is kept at the street.
    assert street.here is not None and street.here["centres"]["centres"] == 1
    assert street.here["centres"]["by_kind"] == {"home_care": 1, "day_care": 0}
    district = care_stats.figures(world, principal(world, "admin"), None, START, END, now=NOW)
    assert district.target.code == D and len(district.children) == 2
    t = district.totals
    # The other community adds P5 (medium, 95, living alone), a confirmed visit of meals, an open alert raised in
    # March, V3 with 60 minutes, a donation of 300 yuan, 80 points issued, AC6 with one participant, CC3; the
    # district's festival show AC4 (3 of 5 checked in) is kept at the district itself.
    assert t["care"] == {"people": 4, "started": 1, "by_level": {"low": 0, "medium": 2, "high": 2},
                         "by_tag": {"living_alone": 3, "empty_nest": 1, "disabled": 1, "allowance": 0, "aged_80": 3}}
    assert (t["visits"]["visits"], t["visits"]["confirmed"], t["visits"]["minutes"]) == (6, 4, 305)
    assert t["alerts"] == {"open": 2, "raised": 3}
    assert (t["volunteers"]["active"], t["volunteers"]["minutes"]) == (3, 425)
    assert t["volunteers"]["by_team"]["orange"] == 2
    assert (t["donations"]["count"], t["donations"]["money"], t["donations"]["money_fen"]) == (3, 2, 130_000)
    assert t["points"] == {"issued": 230, "converted": 20, "spent": 90, "expired": 10, "adjusted": 0,
                           "redemptions": 2, "households_redeeming": 2}
    assert t["activities"]["held"] == 4 and t["activities"]["participants"] == 7
    assert t["activities"]["by_kind"]["festival"] == {"held": 1, "participants": 3}
    assert district.here is not None and district.here["activities"]["held"] == 1
    assert t["centres"]["centres"] == 3 and t["centres"]["enrolled"] == 3 and t["centres"]["meals"] == 7


def test_a_grid_worker_sees_only_their_grid(world: Session) -> None:
    grid_a = principal(world, "grid_a")
    own = care_stats.figures(world, grid_a, None, START, END, now=NOW)
    assert own.target.code == GRID_A and own.children == [] and own.here is None
    assert own.totals == GRID_A_FIGURES
    # Their community, narrowed to their own grid: the same figures, one child.
    above = care_stats.figures(world, grid_a, COMMUNITY, START, END, now=NOW)
    assert above.totals == GRID_A_FIGURES and [c["code"] for c in above.children] == [GRID_A]
    for unit in (GRID_B, OTHER_COMMUNITY, OTHER_GRID):
        with pytest.raises(NotFound):
            care_stats.figures(world, grid_a, unit, START, END, now=NOW)
    with pytest.raises(NotFound):
        care_stats.figures(world, principal(world, "other_community"), COMMUNITY, START, END, now=NOW)


def test_the_period_decides_the_flows_and_the_day_people_are_counted_on(world: Session) -> None:
    community = principal(world, "community")
    # February: P3 was out of care from 1 February; P2 was not yet in; the 28 Feb 23:59 visit and February's hours.
    feb = care_stats.figures(world, community, COMMUNITY, date(2025, 2, 1), date(2025, 3, 1), now=NOW)
    t = feb.totals
    assert feb.as_of == date(2025, 2, 28)
    assert t["care"]["people"] == 2 and t["care"]["by_level"] == {"low": 0, "medium": 0, "high": 2}
    assert t["visits"]["visits"] == 1 and t["visits"]["minutes"] == 50
    assert t["alerts"] == {"open": 1, "raised": 1}  # P1's alert: open now, and raised on 20 February
    assert t["volunteers"]["minutes"] == 60
    assert t["points"]["issued"] == 100 and t["points"]["redemptions"] == 1
    assert t["donations"]["goods"] == 1 and t["donations"]["goods_value_fen"] == 2_000
    assert t["centres"]["attendance_days"] == 1
    # A period still running: people are counted today.
    now = local(2025, 3, 16)
    running = care_stats.figures(world, community, COMMUNITY, START, END, now=now)
    assert running.as_of == date(2025, 3, 16)
    assert running.totals["centres"]["enrolled"] == 2  # P1, P4; P2 left on the 10th
    # Activities held are those that have started by now: AC1 (8 March) and AC2 (12 March).
    assert running.totals["activities"]["held"] == 2
    early = care_stats.figures(world, community, COMMUNITY, START, END, now=local(2025, 3, 10))
    assert early.totals["activities"]["held"] == 1  # AC2 on 12 March has not been held yet


# The JSON API.


def test_api_figures_match(world: Session, api) -> None:  # noqa: ANN001
    r = api("community").get("/api/v1/care/figures", params={**Q, "unit": COMMUNITY})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["unit"]["code"] == COMMUNITY and body["unit"]["level"] == "community"
    assert (body["start"], body["end"], body["as_of"]) == ("2025-03-01", "2025-04-01", "2025-03-31")
    assert strip(body["totals"]) == COMMUNITY_FIGURES
    assert strip(next(c for c in body["children"] if c["code"] == GRID_A)) == GRID_A_FIGURES
    assert strip(body["here"]) == HERE_FIGURES
    # Without a unit: the caller's own.
    assert api("grid_a").get("/api/v1/care/figures", params=Q).json()["unit"]["code"] == GRID_A


def test_api_scope_and_refusals(world: Session, api) -> None:  # noqa: ANN001
    assert api("grid_a").get("/api/v1/care/figures", params={**Q, "unit": GRID_B}).status_code == 404
    assert api("other_community").get("/api/v1/care/figures", params={**Q, "unit": COMMUNITY}).status_code == 404
    r = api("grid_a").get("/api/v1/care/figures", params={**Q, "unit": GRID_A})
    assert strip(r.json()["totals"]) == GRID_A_FIGURES
    assert api("resident").get("/api/v1/care/figures", params=Q).status_code == 403
    assert api("hotline").get("/api/v1/care/figures", params=Q).status_code == 403
    r = api("admin").get("/api/v1/care/figures", params={"unit": "12345"})
    assert r.status_code == 422 and r.json()["field"] == "unit"
    r = api("admin").get("/api/v1/care/figures", params={"start": "2025-03-05", "end": "2025-03-01"})
    assert r.status_code == 422 and r.json()["field"] == "end"
    r = api("admin").get("/api/v1/care/figures", params={"start": "2020-01-01", "end": "2025-01-01"})
    assert r.status_code == 422


# The page.


def test_the_page_shows_figures_with_links_to_the_lists(world: Session, api) -> None:  # noqa: ANN001
    r = api("community").get("/care/figures", params={**Q, "unit": COMMUNITY})
    assert r.status_code == 200, r.text
    html = r.text
    for text in ("关爱统计", "2025年3月1日", "2025年3月31日", "关爱对象", "走访", "60.0%", "未按时走访",
                 "志愿服务时长", "捐赠", "积分发放", "活动场次", "/vendor/echarts/echarts.min.js",
                 "/static/care_figures.js", 'id="care-figures-data"'):
        assert text in html, text
    hrefs = [h.replace("&amp;", "&") for h in re.findall(r'href="([^"]+)"', html)]
    # The lists of the care, volunteers, charity and activities pages, filtered where they can be.
    market = world.scalar(select(Supermarket.id).where(Supermarket.unit_code == COMMUNITY))
    for link in (f"/care?unit={COMMUNITY}&level=high", f"/care?unit={COMMUNITY}&tag=living_alone",
                 f"/care/alerts?unit={COMMUNITY}", f"/volunteers?unit={COMMUNITY}&team=orange",
                 f"/charity/{market}/donations", f"/charity/{market}/report?start=2025-03-01&end=2025-03-31",
                 f"/care/centres/figures?unit={COMMUNITY}&start=2025-03-01&end=2025-03-31",
                 "/activities?past=true&kind=lecture", f"/care?unit={GRID_A}",  # a grid's row of the table
                 f"/care/figures?start=2025-03-01&end=2025-04-01&unit={GRID_A}"):  # drill down
        assert link in hrefs, link
    # Every list linked opens for the community's staff.
    for link in sorted({h for h in hrefs if h.startswith(("/care", "/volunteers", "/charity", "/activities"))}):
        assert api("community").get(link).status_code == 200, link
    # Every figure of the cards links somewhere, or says why not (a share, a sum of meals).
    figures_linked = re.findall(r'<a href="[^"]+" data-figure="([^"]+)"', html)
    assert {"care.people", "visits.visits", "alerts.open", "volunteers.minutes", "donations.count", "points.issued",
            "points.spent", "activities.held", "activities.participants", "centres.enrolled"} <= set(figures_linked)


def test_the_page_for_a_grid_worker_in_english(world: Session, api) -> None:  # noqa: ANN001
    r = api("grid_a").get("/care/figures", params=Q, headers={"Cookie": "jiayuan_lang=en"})
    assert r.status_code == 200
    assert "Care figures" in r.text and "People in care" in r.text and "March 1, 2025" in r.text
    assert GRID_B not in r.text
    assert api("grid_a").get("/care/figures", params={**Q, "unit": GRID_B}).status_code == 404
    r = api("community").get("/care/figures", params={"start": "2025-03-05", "to": "2025-03-01"})
    assert r.status_code == 422 and "截止日期不能早于起始日期" in r.text
    assert api("resident").get("/care/figures").status_code == 403


# On the demo.


def _leaves(group: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in group.items():
        if isinstance(v, dict):
            out.update(_leaves(v, f"{prefix}{k}."))
        elif k not in ("code", "name"):
            out[prefix + k] = v
    return out


def test_the_small_demos_figures_add_up(session: Session) -> None:
    """The district's figures are the sum of its streets' and of what is kept at the district itself, and they
    count the demo's rows."""
    from jiayuan.accounts.service import hash_password
    from jiayuan.demo.care import load_care
    from jiayuan.demo.generate import build_demo
    from jiayuan.demo.registry import load_registry

    now = datetime(2026, 3, 18, 6, 40, tzinfo=UTC)
    today = now.astimezone(TIMEZONE).date()
    demo = build_demo("small")
    load_registry(session, demo, "small", today=today)
    load_care(session, demo, "small", now=now, password_hash=hash_password("x" * 12))
    start, end = date(2025, 3, 1), date(2026, 3, 1)
    report = care_stats.figures(session, principal(session, "admin"), D, start, end, now=now)
    total = _leaves(report.totals)
    parts = [_leaves(c) for c in report.children] + ([_leaves(report.here)] if report.here else [])
    for key, value in total.items():
        if key.endswith(("confirmed_share", "volunteers.hours")):
            continue
        assert value == sum(p[key] for p in parts), key
    since, until = local(2025, 3, 1, 0), local(2026, 3, 1, 0)
    visits = session.scalar(select(func.count()).select_from(Visit).where(Visit.visited_at >= since,
                                                                          Visit.visited_at < until))
    assert report.totals["visits"]["visits"] == visits > 0
    assert report.totals["alerts"]["open"] == session.scalar(
        select(func.count()).select_from(CareAlert).where(CareAlert.open)) >= 1
    assert report.totals["care"]["people"] > 0 and report.totals["points"]["issued"] > 0
    assert report.totals["activities"]["participants"] > 0 and report.totals["centres"]["enrolled"] > 0
