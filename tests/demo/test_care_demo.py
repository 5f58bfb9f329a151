"""The neighbourhood-care demo (jiayuan.demo.care, care_activities, care_charity) on the small scale, loaded after
the registry into each database at a fixed moment: its shape, the ledger identities of docs/care.md (stock,
points, hours, each balanced two ways and never negative on the way), the alerts as the sweep leaves them, and its
determinism."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import groupby
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from jiayuan.accounts.models import User
from jiayuan.accounts.service import check_password, hash_password, principal_of
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
from jiayuan.care.profiles import CARD_ALPHABET
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
from jiayuan.demo.care import (
    HONOUR_HOURS,
    TABLES,
    VISIT_DAYS,
    VOLUNTEER_ACCOUNT,
    build_care,
    config,
    load_care,
    read_world,
)
from jiayuan.demo.generate import DemoDistrict, build_demo
from jiayuan.demo.load import DEMO_PASSWORD
from jiayuan.demo.registry import load_registry
from jiayuan.kit.i18n import TIMEZONE
from jiayuan.kit.identity import parse_mobile
from jiayuan.registry.models import Person, PersonTag
from jiayuan.registry.service import aged_cutoff
from jiayuan.volunteers.models import Honour, HoursEntry, Opportunity, Signup, Team, Volunteer
from tests.personas import COMMUNITY

NOW = datetime(2026, 3, 18, 6, 40, tzinfo=UTC)  # 14:40 in Ji'an
TODAY = NOW.astimezone(TIMEZONE).date()
FIRST = TODAY - timedelta(days=365)
HASH = hash_password(DEMO_PASSWORD)
DATA, CFG = config("small")
TEAMS = {"red", "orange", "yellow", "green", "cyan", "blue", "purple"}


@pytest.fixture(scope="module")
def demo() -> DemoDistrict:
    return build_demo("small")


@dataclass
class Loaded:
    session: Session
    demo: DemoDistrict


@pytest.fixture
def loaded(session: Session, demo: DemoDistrict) -> Loaded:
    load_registry(session, demo, "small", today=TODAY)
    load_care(session, demo, "small", now=NOW, password_hash=HASH)
    return Loaded(session, demo)


def rows(s: Session, *columns: Any, where: Any = None, order: Any = ()) -> list[Any]:
    stmt = select(*columns)
    if where is not None:
        stmt = stmt.where(where)
    return list(s.execute(stmt.order_by(*order)).all())


def count(s: Session, model: type) -> int:
    return s.scalar(select(func.count()).select_from(model)) or 0


def local(moment: datetime) -> date:
    return moment.astimezone(TIMEZONE).date()


# The shape.


def test_people_in_care_come_from_the_registrys_tags(loaded: Loaded) -> None:
    s = loaded.session
    profiles = {p.person_id: p for p in s.scalars(select(CareProfile))}
    assert 8 <= len(profiles) <= 60
    tags: dict[uuid.UUID, set[str]] = defaultdict(set)
    for person, tag in rows(s, PersonTag.person_id, PersonTag.tag):
        tags[person].add(tag)
    people = {p.id: p for p in s.scalars(select(Person).where(Person.id.in_(list(profiles))))}
    eighty = aged_cutoff(TODAY, 80)
    for person_id, profile in profiles.items():
        person = people[person_id]
        assert tags[person_id] & {"living_alone", "empty_nest", "disabled", "allowance"} or (
            person.birth_date <= eighty), person.name
        assert profile.grid_code == person.grid_code and profile.level in ("low", "medium", "high")
        assert profile.started_on <= TODAY and (profile.ended_on is None or profile.started_on <= profile.ended_on)
        # Printed like real cards: 16 characters of Crockford's base32, which a hand can type.
        assert profile.needs and len(profile.card_token) == 16 and set(profile.card_token) <= set(CARD_ALPHABET)
    # Everyone living alone is in care.
    alone = {p for p, t in tags.items() if "living_alone" in t}
    assert alone and alone <= set(profiles)
    # Emergency contacts: at most two each, their phones ciphertext at rest and mobiles when read.
    contacts = list(s.scalars(select(EmergencyContact)))
    assert contacts and max(Counter(c.profile_id for c in contacts).values()) <= 2
    assert all(parse_mobile(c.phone) == c.phone for c in contacts)
    raw = s.execute(text("SELECT phone FROM care_contacts")).scalars().all()
    assert all(not value.isdigit() and value.startswith("v1.") for value in raw)


def test_volunteers_pairings_and_visits(loaded: Loaded) -> None:
    s = loaded.session
    volunteers = {v.id: v for v in s.scalars(select(Volunteer))}
    assert CFG["volunteers"] <= len(volunteers) <= CFG["volunteers"] + 1
    assert {v.team_code for v in volunteers.values()} <= TEAMS <= set(s.scalars(select(Team.code)))
    # volunteer1 signs in with the demo's password, and is paired with someone living alone in the first community.
    user = s.scalar(select(User).where(User.username == VOLUNTEER_ACCOUNT))
    assert user.role == "volunteer" and check_password(user.password_hash, DEMO_PASSWORD)
    mine = s.scalar(select(Volunteer).where(Volunteer.user_id == user.id))
    assert mine.active and user.scope_code == mine.unit_code[:12] == COMMUNITY
    partner = s.scalar(select(Pairing.person_id).where(Pairing.volunteer_id == mine.id, Pairing.active))
    assert partner is not None and s.scalar(select(PersonTag.id).where(
        PersonTag.person_id == partner, PersonTag.tag == "living_alone")) is not None
    assert principal_of(user).role == "volunteer"
    # One active pairing per pair; an ended one says when and why.
    pairings = {p.id: p for p in s.scalars(select(Pairing))}
    active = Counter((p.volunteer_id, p.person_id) for p in pairings.values() if p.active)
    assert active and max(active.values()) == 1
    assert all((p.ended_on is None) == p.active and (p.end_reason is None) == p.active for p in pairings.values())
    # Each visit by the pairing's volunteer, for its person, on a day the pairing was active, in the past.
    visits = list(s.scalars(select(Visit)))
    assert len(visits) >= 100
    for v in visits:
        p = pairings[v.pairing_id]
        day = local(v.visited_at)
        assert (v.person_id, v.volunteer_id, v.grid_code) == (p.person_id, p.volunteer_id, p.grid_code)
        assert p.started_on <= day and (p.ended_on is None or day < p.ended_on) and v.visited_at < NOW
        assert 1 <= v.duration_minutes <= 600 and v.kind in ("housekeeping", "meals", "health", "companionship",
                                                             "other")
        assert (v.confirmed_at is None) == (v.confirm_method is None)
    assert 0.6 < sum(v.confirmed_at is not None for v in visits) / len(visits) < 0.95
    # As the rules for logging a visit have them: logged as it ended, never overlapping another of the same
    # volunteer, at most 12 hours of one volunteer's visits a day.
    by_volunteer: dict[uuid.UUID, list[Visit]] = defaultdict(list)
    for v in visits:
        assert v.created_at == v.visited_at + timedelta(minutes=v.duration_minutes)
        by_volunteer[v.volunteer_id].append(v)
    for mine_ in by_volunteer.values():
        mine_.sort(key=lambda v: v.visited_at)
        for a, b in zip(mine_, mine_[1:], strict=False):
            assert a.visited_at + timedelta(minutes=a.duration_minutes) <= b.visited_at
        per_day = Counter()
        for v in mine_:
            per_day[local(v.visited_at)] += v.duration_minutes
        assert max(per_day.values()) <= 12 * 60
    # Most people living alone are visited about weekly.
    per_person = Counter(v.person_id for v in visits)
    assert max(per_person.values()) >= 40


def test_centres_supermarkets_and_activities(loaded: Loaded) -> None:
    s = loaded.session
    centres = {c.id: c for c in s.scalars(select(CareCentre))}
    assert Counter(c.kind for c in centres.values()) == {"home_care": CFG["home_care"], "day_care": CFG["day_care"]}
    enrolments = list(s.scalars(select(Enrolment)))
    assert CFG["enrolments"] * 0.7 <= len(enrolments) <= CFG["enrolments"] * 1.3
    current = {(e.centre_id, e.person_id): e for e in enrolments if e.active}
    assert Counter((e.centre_id, e.person_id) for e in enrolments if e.active).most_common(1)[0][1] == 1
    attendance = list(s.scalars(select(Attendance)))
    assert attendance
    for a in attendance:
        e = current[(a.centre_id, a.person_id)]
        assert e.enrolled_on <= a.day <= TODAY and a.day >= TODAY - timedelta(days=14)
        assert a.checked_in_at <= NOW and (a.checked_out_at is None or a.checked_out_at > a.checked_in_at)
    # A charity supermarket in every community, every item stocked there, the entitlement rules.
    communities = {u.code for u in loaded.demo.units if u.level == "community"}
    assert set(s.scalars(select(Supermarket.unit_code))) == communities
    assert count(s, Stock) == len(communities) * count(s, Item) == len(communities) * len(DATA["charity"]["items"])
    assert {r.tag for r in s.scalars(select(EntitlementRule))} == {t for t, _, _ in DATA["charity"]["rules"]}
    # The festival: its shows and participants as the data says; lectures in every community, one ahead.
    series = s.scalar(select(Series))
    shows = list(s.scalars(select(Activity).where(Activity.series_id == series.id)))
    assert len(shows) == CFG["festival_shows"] and series.unit_code == "360802"
    came = s.scalar(select(func.count()).select_from(Registration).where(
        Registration.activity_id.in_([a.id for a in shows]), Registration.checked_in_at.is_not(None)))
    assert came == CFG["festival_participants"]
    lectures = list(s.scalars(select(Activity).where(Activity.kind == "lecture")))
    assert {a.unit_code for a in lectures} == communities
    assert any(a.starts_at > NOW for a in lectures)
    # Registrations: nobody checked in at an activity that has not begun or was cancelled; a waitlist somewhere.
    activities = {a.id: a for a in s.scalars(select(Activity))}
    registrations = list(s.scalars(select(Registration)))
    for r in registrations:
        a = activities[r.activity_id]
        if r.checked_in_at is not None:
            assert a.starts_at <= NOW and a.cancelled_at is None and r.status == "attended"
    assert len({(r.activity_id, r.person_id) for r in registrations}) == len(registrations)
    statuses = Counter(x.status for x in s.scalars(select(Signup)))
    assert statuses["checked_out"] and statuses["waitlisted"] and statuses["signed_up"]
    assert count(s, Opportunity) == len(communities) * (CFG["opportunities_per_community"] + 2 +
                                                        CFG["volunteer_events"])


# The ledgers (docs/care.md): stock, points, hours.


def test_stock_ledger_reconciles(loaded: Loaded) -> None:
    s = loaded.session
    entries = rows(s, StockEntry.supermarket_id, StockEntry.item_id, StockEntry.at, StockEntry.quantity,
                   StockEntry.kind, StockEntry.source_id, order=(StockEntry.supermarket_id, StockEntry.item_id,
                                                                 StockEntry.at, StockEntry.id))
    # No entry makes on hand negative, in the order they were written.
    for _key, group in groupby(entries, key=lambda e: (e[0], e[1])):
        held = 0
        for e in group:
            held += e.quantity
            assert held >= 0
    kinds = Counter(e.kind for e in entries)
    assert set(kinds) == {"donation", "purchase", "redemption", "adjustment"}
    # Donations in kind each made one entry of their quantity; money made none.
    donations = {d.id: d for d in s.scalars(select(Donation))}
    by_source = {e.source_id: e for e in entries if e.kind == "donation"}
    goods = [d for d in donations.values() if d.kind == "goods"]
    assert len(by_source) == len(goods) == kinds["donation"]
    assert all(by_source[d.id].quantity == d.quantity and by_source[d.id].item_id == d.item_id for d in goods)
    assert all(d.value_fen > 0 and (d.item_id is None) == (d.kind == "money") for d in donations.values())
    # Redemptions: their lines, their stock entries and their points agree.
    items = {i.id: i for i in s.scalars(select(Item))}
    lines: dict[uuid.UUID, dict[uuid.UUID, int]] = defaultdict(dict)
    for line in s.scalars(select(RedemptionLine)):
        assert line.points == line.quantity * items[line.item_id].points
        lines[line.redemption_id][line.item_id] = line.quantity
    given: dict[uuid.UUID, dict[uuid.UUID, int]] = defaultdict(dict)
    for e in entries:
        if e.kind == "redemption":
            given[e.source_id][e.item_id] = -e.quantity
    assert given == lines
    # Each stock-take line expected what the ledger held then; a difference is one adjustment entry.
    takes = {t.id: t for t in s.scalars(select(Stocktake))}
    adjustments = {(e.source_id, e.item_id): e.quantity for e in entries if e.kind == "adjustment"}
    for line in s.scalars(select(StocktakeLine)):
        take = takes[line.stocktake_id]
        held = sum(e.quantity for e in entries if e.supermarket_id == take.supermarket_id
                   and e.item_id == line.item_id and e.at < take.taken_at)
        assert line.expected == held
        assert adjustments.get((line.stocktake_id, line.item_id), 0) == line.counted - line.expected
    # The charity domain's own report balances every supermarket over the demo's year.
    reports = pytest.importorskip("jiayuan.charity.reports")
    admin = principal_of(s.scalar(select(User).where(User.username == "admin")))
    for market in s.scalars(select(Supermarket)):
        report = reports.reconcile(s, admin, market.id, FIRST - timedelta(days=200), TODAY)
        assert report.balanced, market.name
        assert report.points.spent > 0 and report.stock_total("given") > 0


def test_points_ledger_reconciles(loaded: Loaded) -> None:
    s = loaded.session
    entries = list(s.scalars(select(PointsEntry).order_by(PointsEntry.account_id, PointsEntry.at, PointsEntry.id)))
    kinds = Counter(e.kind for e in entries)
    assert set(kinds) == {"issue", "spend", "expire", "conversion"}
    lots = {e.id: e for e in entries if e.kind in ("issue", "conversion")}
    assert all(e.lot_id == e.id for e in lots.values())
    # Balances never go negative; a lot is never overdrawn; nothing is spent after its lot expired.
    for _account, group in groupby(entries, key=lambda e: e.account_id):
        balance = 0
        for e in group:
            balance += e.points
            assert balance >= 0
    rest: dict[uuid.UUID, int] = defaultdict(int)
    for e in sorted(entries, key=lambda e: (e.at, e.id)):
        rest[e.lot_id] += e.points
        assert rest[e.lot_id] >= 0
        lot = lots[e.lot_id]
        if e.kind == "spend" and lot.expires_on is not None:
            assert local(e.at) <= lot.expires_on
    # A lot past its last day was written off exactly (one expire entry for what was left, none if nothing was).
    expired = Counter(e.lot_id for e in entries if e.kind == "expire")
    for lot in lots.values():
        if lot.expires_on is not None and lot.expires_on < TODAY:
            assert rest[lot.id] == 0
        assert expired[lot.id] <= 1
        assert lot.kind == "conversion" or lot.expires_on is not None
    # Issued + converted − spent − expired = the sum of balances.
    total = Counter()
    for e in entries:
        total[e.kind] += e.points
    assert total["issue"] + total["conversion"] + total["spend"] + total["expire"] == sum(
        rest.values()) == sum(e.points for e in entries)
    # Each redemption was paid by its spends; each run's points and households are its lots'.
    redemptions = {r.id: r for r in s.scalars(select(Redemption))}
    paid = Counter()
    for e in entries:
        if e.kind == "spend":
            assert e.source_type == "redemption" and e.account_id == redemptions[e.source_id].account_id
            paid[e.source_id] -= e.points
    assert paid == {r.id: r.points for r in redemptions.values()}
    line_points = dict(s.execute(select(RedemptionLine.redemption_id, func.sum(RedemptionLine.points))
                                 .group_by(RedemptionLine.redemption_id)).all())
    assert line_points == {r.id: r.points for r in redemptions.values()}
    for run in s.scalars(select(IssueRun)):
        issued = [e for e in lots.values() if e.kind == "issue" and e.source_id == run.id]
        assert run.points == sum(e.points for e in issued)
        assert run.households == len({e.account_id for e in issued})
        assert all(e.note.startswith(f"{run.month:%Y-%m}") for e in issued)
    runs = Counter(s.scalars(select(IssueRun.supermarket_id)))
    assert set(runs.values()) == {CFG["points_months"]}
    # Accounts are households at the supermarket of their community.
    markets = dict(rows(s, Supermarket.id, Supermarket.unit_code))
    assert all(markets[a.supermarket_id] == a.grid_code[:12] for a in s.scalars(select(Account)))
    # Hours turned into points: a lot of 10 points an hour, and a debit of those hours naming the lot.
    debits = {h.source_id: h for h in s.scalars(select(HoursEntry).where(HoursEntry.kind == "conversion"))}
    conversions = [e for e in lots.values() if e.kind == "conversion"]
    assert len(debits) == len(conversions)
    for lot in conversions:
        hours = int(lot.note.split()[0])
        assert lot.points == hours * DATA["charity"]["points_per_hour"] and debits[lot.id].minutes == -60 * hours
    # Within the district rule: at most 20 hours a volunteer converts in a month.
    monthly = Counter((d.volunteer_id, local(d.at).strftime("%Y-%m")) for d in debits.values()
                      for _ in range(-d.minutes // 60))
    assert not monthly or max(monthly.values()) <= DATA["charity"]["hours_per_month"] == 20


def test_hours_ledger_and_honours(loaded: Loaded) -> None:
    s = loaded.session
    entries = list(s.scalars(select(HoursEntry).order_by(HoursEntry.volunteer_id, HoursEntry.at, HoursEntry.id)))
    # Each source credits once.
    sources = Counter((e.volunteer_id, e.source_type, e.source_id) for e in entries if e.source_id is not None)
    assert max(sources.values()) == 1
    # Every visit confirmed or approved credited its minutes when it came to count, and no other visit did; every
    # check-out the minutes between check-in and check-out, capped at the opportunity's length; every volunteer
    # who staffed a volunteer-run activity its length, once.
    credits = {(e.source_type, e.source_id): e for e in entries}
    states = Counter()
    for visit in s.scalars(select(Visit)):
        counted = visit.confirmed_at or visit.approved_at
        states["confirmed" if visit.confirmed_at else "approved" if visit.approved_at else "pending"] += 1
        assert not visit.credited_unconfirmed and not (visit.confirmed_at and visit.approved_at)
        if counted is None:
            assert ("visit", visit.id) not in credits and visit.credited_at is None
            continue
        entry = credits[("visit", visit.id)]
        assert (entry.volunteer_id, entry.minutes, entry.kind) == (visit.volunteer_id, visit.duration_minutes,
                                                                   "service")
        assert entry.at == visit.credited_at == counted
        if visit.approved_at is not None:
            assert visit.approved_by is not None and local(visit.approved_at) == local(visit.visited_at)
    # Most confirmed by the person, some approved by staff, some of the last days still waiting.
    assert states["confirmed"] > states["approved"] > 0 and states["pending"] > 0
    opportunities = {o.id: o for o in s.scalars(select(Opportunity))}
    activities = {a.id: a for a in s.scalars(select(Activity))}
    for signup in s.scalars(select(Signup)):
        o = opportunities[signup.opportunity_id]
        if signup.status == "checked_out":
            entry = credits[("signup", signup.id)]
            length = (o.ends_at - o.starts_at).total_seconds() // 60
            served = (signup.checked_out_at - signup.checked_in_at).total_seconds() // 60
            assert entry.minutes == min(length, served) and entry.volunteer_id == signup.volunteer_id
        else:
            assert ("signup", signup.id) not in credits
        if o.activity_id is not None and signup.status == "checked_in":
            a = activities[o.activity_id]
            assert any(e.source_type == "activity" and e.source_id == a.id and e.volunteer_id == signup.volunteer_id
                       and e.kind == "activity" and e.minutes == (a.ends_at - a.starts_at).total_seconds() // 60
                       for e in entries)
    # The balance never goes negative; honours are exactly the thresholds crossed by service (not conversions).
    honours = defaultdict(set)
    for h in s.scalars(select(Honour)):
        honours[h.volunteer_id].add(h.threshold_hours)
        assert h.certificate_no.startswith(f"ZY360802{local(h.awarded_at).year}") and len(h.certificate_no) == 18
    for volunteer, group in groupby(entries, key=lambda e: e.volunteer_id):
        balance = service = 0
        for e in group:
            balance += e.minutes
            assert balance >= 0
            if e.kind != "conversion":
                service += e.minutes
        assert honours.get(volunteer, set()) == {t for t in HONOUR_HOURS if t * 60 <= service}
    assert len({h.certificate_no for h in s.scalars(select(Honour))}) == count(s, Honour)


def test_alerts_are_as_the_sweep_leaves_them(loaded: Loaded) -> None:
    s = loaded.session
    alerts = list(s.scalars(select(CareAlert).order_by(CareAlert.person_id, CareAlert.raised_on)))
    assert alerts
    # Only visits that count (confirmed or approved) are visits to the sweep; an alert resolves when the next one
    # came to count.
    visits: dict[uuid.UUID, list[datetime]] = defaultdict(list)
    counted_at: dict[tuple[uuid.UUID, datetime], datetime] = {}
    for person, at, confirmed, approved in rows(s, Visit.person_id, Visit.visited_at, Visit.confirmed_at,
                                                Visit.approved_at, order=(Visit.visited_at,)):
        if confirmed or approved:
            visits[person].append(at)
            counted_at[(person, at)] = confirmed or approved
    intervals = dict(rows(s, CareProfile.person_id, CareProfile.visit_interval_days))
    opened = Counter(a.person_id for a in alerts if a.open)
    assert opened and max(opened.values()) == 1  # someone is waiting for a visit today; one alert each
    for a in alerts:
        n = intervals[a.person_id] or VISIT_DAYS
        assert a.days_without_visit == n + 1 and a.raised_on <= TODAY
        before = [v for v in visits[a.person_id] if local(v) < a.raised_on]
        assert a.last_visit_at == (before[-1] if before else None)
        if a.last_visit_at is not None:
            assert local(a.last_visit_at) + timedelta(days=n + 1) == a.raised_on
        after = [v for v in visits[a.person_id] if local(v) >= a.raised_on]
        if a.open:
            assert not after and a.resolved_at is None
        elif after:
            assert a.resolved_at == counted_at[(a.person_id, after[0])]
    # The care domain's own sweep, run today, finds nothing more to raise.
    sweep = pytest.importorskip("jiayuan.care.alerts")
    assert sweep.raise_alerts_in(s, TODAY, VISIT_DAYS) == []


# Determinism.


def test_the_same_seed_and_moment_build_the_same_rows(loaded: Loaded) -> None:
    world = read_world(loaded.session, loaded.demo, NOW)
    one = build_care(world, "small", 2026)
    two = build_care(read_world(loaded.session, loaded.demo, NOW), "small", 2026)
    assert one.rows == two.rows
    other = build_care(world, "small", 7)
    assert [r["person_id"] for r in other.rows[CareProfile]] != [r["person_id"] for r in one.rows[CareProfile]] or (
        [r["visited_at"] for r in other.rows[Visit]] != [r["visited_at"] for r in one.rows[Visit]])
    # What was written is what the build made, row for row (its ids included).
    for model in TABLES:
        ids = set(loaded.session.scalars(select(model.id)))  # type: ignore[attr-defined]
        assert ids == {r["id"] for r in one.rows[model]}, model.__tablename__
    with pytest.raises(ValueError, match="scale"):
        config("city")
