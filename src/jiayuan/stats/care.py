"""Figures of neighbourhood care (新风尚) for a unit and a period: people in care, visits, people not visited in
time, volunteer hours, the charity supermarkets' donations and points, activities, the care centres — in total and
by child unit (docs/care.md, "Figures").

Read-only queries over the care, volunteers, charity and activities tables (and the registry's tags), each grouped
by the unit code of its rows; a table without a unit code of its own is joined to the row that has one (an hours
entry to its volunteer, a donation to its supermarket, points to their account, attendance to its centre).

Stock figures ("people in care", "open alerts", "active volunteers", "enrolled") are counted on the period's last
day or today, whichever is earlier (`as_of`); flows (visits, hours, donations, points, activities) are what happened
within [start, end) in Beijing time.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from jiayuan.accounts.service import Principal
from jiayuan.activities.models import ACTIVITY_KINDS, Activity, Registration
from jiayuan.care.models import (
    CARE_CENTRE_KINDS,
    CARE_LEVELS,
    VISIT_KINDS,
    Attendance,
    CareAlert,
    CareCentre,
    CareProfile,
    Enrolment,
    Visit,
)
from jiayuan.charity.models import Account, Donation, PointsEntry, Redemption, Supermarket
from jiayuan.kit.db import utcnow
from jiayuan.kit.i18n import TIMEZONE
from jiayuan.registry.models import Person, PersonTag
from jiayuan.registry.service import aged_cutoff, tag_active
from jiayuan.stats import HERE, Tally, Target, bounds, check_period, target
from jiayuan.volunteers.models import HoursEntry, Volunteer

# The registry tags a person in care is counted by; aged_80 is derived from the birth date, never stored.
CARE_TAGS = ("living_alone", "empty_nest", "disabled", "allowance", "aged_80")
STORED_CARE_TAGS = CARE_TAGS[:-1]
TEAMS = ("red", "orange", "yellow", "green", "cyan", "blue", "purple")
CREDIT_KINDS = ("service", "activity")  # hours of help given; conversions and adjustments are not
# How each kind of points entry is reported: issues and conversions add, spends and expiries take away.
POINT_FIGURES = {"issue": "points.issued", "conversion": "points.converted", "spend": "points.spent",
                 "expire": "points.expired", "adjustment": "points.adjusted"}
NEGATIVE = frozenset({"spend", "expire"})


@dataclass
class Report:
    target: Target
    start: date
    end: date  # exclusive
    as_of: date
    totals: dict[str, Any]
    children: list[dict[str, Any]]  # one per child unit, in code order, with code and name
    here: dict[str, Any] | None  # rows kept at the unit itself, above its children; None when there are none
    generated_at: datetime = field(default_factory=utcnow)


def figures(session: Session, principal: Principal, unit: str | None, start: date, end: date, *,
            now: datetime | None = None) -> Report:
    """Every figure of `unit` (the caller's own unit when None) in [start, end), in total and by child unit."""
    check_period(start, end)
    now = now or utcnow()
    tgt = target(session, principal, unit)
    today = now.astimezone(TIMEZONE).date()
    as_of = min(end - timedelta(days=1), today)
    since, until = bounds(start, end)
    tally = Tally(tgt)
    _care(session, tgt, tally, start, end, as_of)
    _visits(session, tgt, tally, since, until)
    _alerts(session, tgt, tally, start, end)
    _volunteers(session, tgt, tally, since, until, as_of)
    _charity(session, tgt, tally, since, until)
    _activities(session, tgt, tally, since, min(until, now))
    _centres(session, tgt, tally, start, end, as_of)
    children = []
    for code, name in tgt.children:
        children.append({"code": code, "name": name, **shape(tally.groups.get(code, Counter()))})
    here = tally.groups.get(HERE)
    return Report(tgt, start, end, as_of, shape(tally.totals), children,
                  {"code": tgt.code, "name": tgt.name, **shape(here)} if here else None, generated_at=now)


# The queries, one family each.


def _care(session: Session, tgt: Target, tally: Tally, start: date, end: date, as_of: date) -> None:
    """People in care on `as_of` by level (and how many of them are 80 or older), profiles opened in the period;
    the registry tags they hold on `as_of`."""
    in_care = and_(CareProfile.started_on <= as_of,
                   or_(CareProfile.ended_on.is_(None), CareProfile.ended_on > as_of))
    opened = and_(CareProfile.started_on >= start, CareProfile.started_on < end)
    eighty = Person.birth_date <= aged_cutoff(as_of, 80)
    rows = session.execute(
        select(CareProfile.grid_code, CareProfile.level, func.count().filter(in_care),
               func.count().filter(opened), func.count().filter(and_(in_care, eighty)))
        .join(Person, and_(Person.district_code == CareProfile.district_code, Person.id == CareProfile.person_id))
        .where(tgt.where_model(CareProfile), or_(in_care, opened))
        .group_by(CareProfile.grid_code, CareProfile.level))
    for grid, level, n, started, aged in rows:
        tally.add(grid, "care.people", n)
        tally.add(grid, f"care.level.{level}", n)
        tally.add(grid, "care.started", started)
        tally.add(grid, "care.tag.aged_80", aged)
    tags = session.execute(
        select(CareProfile.grid_code, PersonTag.tag, func.count(PersonTag.person_id.distinct()))
        .join(PersonTag, and_(PersonTag.district_code == CareProfile.district_code,
                              PersonTag.person_id == CareProfile.person_id))
        .where(tgt.where_model(CareProfile), in_care, tag_active(as_of), PersonTag.tag.in_(STORED_CARE_TAGS))
        .group_by(CareProfile.grid_code, PersonTag.tag))
    for grid, tag, n in tags:
        tally.add(grid, f"care.tag.{tag}", n)


def _visits(session: Session, tgt: Target, tally: Tally, since: datetime, until: datetime) -> None:
    rows = session.execute(
        select(Visit.grid_code, Visit.kind, func.count(), func.count().filter(Visit.confirmed_at.is_not(None)),
               func.sum(Visit.duration_minutes))
        .where(tgt.where_model(Visit), Visit.visited_at >= since, Visit.visited_at < until)
        .group_by(Visit.grid_code, Visit.kind))
    for grid, kind, n, confirmed, minutes in rows:
        tally.add(grid, "visits.visits", n)
        tally.add(grid, "visits.confirmed", confirmed)
        tally.add(grid, "visits.minutes", minutes)
        tally.add(grid, f"visits.kind.{kind}.visits", n)
        tally.add(grid, f"visits.kind.{kind}.confirmed", confirmed)


def _alerts(session: Session, tgt: Target, tally: Tally, start: date, end: date) -> None:
    """Open alerts now (whatever the period: who is waiting for a visit today), and alerts raised in the period."""
    raised = and_(CareAlert.raised_on >= start, CareAlert.raised_on < end)
    rows = session.execute(
        select(CareAlert.grid_code, func.count().filter(CareAlert.open.is_(True)), func.count().filter(raised))
        .where(tgt.where_model(CareAlert), or_(CareAlert.open.is_(True), raised))
        .group_by(CareAlert.grid_code))
    tally.add_rows(rows, ("alerts.open", "alerts.raised"))


def _volunteers(session: Session, tgt: Target, tally: Tally, since: datetime, until: datetime,
                as_of: date) -> None:
    """Active volunteers by team (those who had joined by `as_of`), and the hours credited in the period: the
    positive service and activity entries of the ledger, by the unit of the volunteer they were credited to."""
    rows = session.execute(
        select(Volunteer.unit_code, Volunteer.team_code, func.count())
        .where(tgt.where_model(Volunteer), Volunteer.active.is_(True), Volunteer.joined_on <= as_of)
        .group_by(Volunteer.unit_code, Volunteer.team_code))
    for unit, team, n in rows:
        tally.add(unit, "volunteers.active", n)
        tally.add(unit, f"volunteers.team.{team or 'none'}", n)
    hours = session.execute(
        select(Volunteer.unit_code, HoursEntry.kind, func.sum(HoursEntry.minutes), func.count())
        .join(Volunteer, and_(Volunteer.district_code == HoursEntry.district_code,
                              Volunteer.id == HoursEntry.volunteer_id))
        .where(tgt.where_model(Volunteer), HoursEntry.minutes > 0, HoursEntry.kind.in_(CREDIT_KINDS),
               HoursEntry.at >= since, HoursEntry.at < until)
        .group_by(Volunteer.unit_code, HoursEntry.kind))
    for unit, kind, minutes, n in hours:
        tally.add(unit, "volunteers.minutes", minutes)
        tally.add(unit, "volunteers.credits", n)
        tally.add(unit, f"volunteers.kind.{kind}", minutes)


def _charity(session: Session, tgt: Target, tally: Tally, since: datetime, until: datetime) -> None:
    """Donations to the supermarkets of the unit's communities; the points of the households living in it."""
    rows = session.execute(
        select(Supermarket.unit_code, Donation.kind, func.count(), func.sum(Donation.value_fen),
               func.sum(Donation.quantity))
        .join(Supermarket, and_(Supermarket.district_code == Donation.district_code,
                                Supermarket.id == Donation.supermarket_id))
        .where(tgt.where_model(Supermarket), Donation.received_at >= since, Donation.received_at < until)
        .group_by(Supermarket.unit_code, Donation.kind))
    for unit, kind, n, value, quantity in rows:
        tally.add(unit, "donations.count", n)
        if kind == "money":
            tally.add(unit, "donations.money", n)
            tally.add(unit, "donations.money_fen", value)
        else:
            tally.add(unit, "donations.goods", n)
            tally.add(unit, "donations.goods_value_fen", value)
            tally.add(unit, "donations.goods_quantity", quantity)
    account = and_(Account.district_code == PointsEntry.district_code, Account.id == PointsEntry.account_id)
    points = session.execute(
        select(Account.grid_code, PointsEntry.kind, func.sum(PointsEntry.points))
        .join(Account, account)
        .where(tgt.where_model(Account), PointsEntry.at >= since, PointsEntry.at < until)
        .group_by(Account.grid_code, PointsEntry.kind))
    for grid, kind, total in points:
        if kind in POINT_FIGURES:
            tally.add(grid, POINT_FIGURES[kind], -total if kind in NEGATIVE else total)
    redemptions = session.execute(
        select(Account.grid_code, func.count(), func.count(Redemption.account_id.distinct()))
        .join(Account, and_(Account.district_code == Redemption.district_code, Account.id == Redemption.account_id))
        .where(tgt.where_model(Account), Redemption.at >= since, Redemption.at < until)
        .group_by(Account.grid_code))
    # A household has one account, in one grid: distinct accounts per grid add up exactly.
    tally.add_rows(redemptions, ("points.redemptions", "points.households_redeeming"))


def _activities(session: Session, tgt: Target, tally: Tally, since: datetime, until: datetime) -> None:
    """Activities held (started in the period, not after now, not cancelled) and their participants (checked in)."""
    attended = or_(Registration.checked_in_at.is_not(None), Registration.status == "attended")
    rows = session.execute(
        select(Activity.unit_code, Activity.kind, func.count(Activity.id.distinct()),
               func.count(Registration.id).filter(attended))
        .outerjoin(Registration, and_(Registration.district_code == Activity.district_code,
                                      Registration.activity_id == Activity.id))
        .where(tgt.where_model(Activity), Activity.cancelled_at.is_(None), Activity.starts_at >= since,
               Activity.starts_at < until)
        .group_by(Activity.unit_code, Activity.kind))
    for unit, kind, held, participants in rows:
        tally.add(unit, "activities.held", held)
        tally.add(unit, "activities.participants", participants)
        tally.add(unit, f"activities.kind.{kind}.held", held)
        tally.add(unit, f"activities.kind.{kind}.participants", participants)


def _centres(session: Session, tgt: Target, tally: Tally, start: date, end: date, as_of: date) -> None:
    """Active centres by kind with the people enrolled on `as_of`; per centre, the people served (distinct
    attendees), attendance days and meals of the period, added up over the centres."""
    enrolled = and_(Enrolment.enrolled_on <= as_of, or_(Enrolment.left_on.is_(None), Enrolment.left_on > as_of))
    rows = session.execute(
        select(CareCentre.unit_code, CareCentre.kind, func.count(CareCentre.id.distinct()),
               func.count(Enrolment.id).filter(enrolled))
        .outerjoin(Enrolment, and_(Enrolment.district_code == CareCentre.district_code,
                                   Enrolment.centre_id == CareCentre.id))
        .where(tgt.where_model(CareCentre), CareCentre.active.is_(True))
        .group_by(CareCentre.unit_code, CareCentre.kind))
    for unit, kind, n, people in rows:
        tally.add(unit, "centres.centres", n)
        tally.add(unit, f"centres.kind.{kind}", n)
        tally.add(unit, "centres.enrolled", people)
    attendance = session.execute(
        select(CareCentre.unit_code, Attendance.centre_id, func.count(Attendance.person_id.distinct()),
               func.count(), func.sum(Attendance.meals))
        .join(CareCentre, and_(CareCentre.district_code == Attendance.district_code,
                               CareCentre.id == Attendance.centre_id))
        .where(tgt.where_model(CareCentre), Attendance.day >= start, Attendance.day < end)
        .group_by(CareCentre.unit_code, Attendance.centre_id))
    for unit, _centre, people, days, meals in attendance:
        tally.add(unit, "centres.people_served", people)
        tally.add(unit, "centres.attendance_days", days)
        tally.add(unit, "centres.meals", meals)


def supermarkets_under(session: Session, tgt: Target) -> dict[str, Any]:
    """The charity supermarket of each community under the unit (or above it, for a grid): community → id, for
    the links to their lists."""
    community = tgt.code[:12] if len(tgt.code) >= 12 else tgt.code
    return dict(session.execute(select(Supermarket.unit_code, Supermarket.id).where(
        Supermarket.district_code == community[:6], Supermarket.unit_code >= community,
        Supermarket.unit_code < community + ":")).all())


# The shape of the figures (the API's and the page's), from the flat counts.


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def shape(c: Counter[str]) -> dict[str, Any]:
    """The nested figures of one group, from its flat counts (absent counts are zero)."""
    minutes = c["volunteers.minutes"]
    return {
        "care": {"people": c["care.people"], "started": c["care.started"],
                 "by_level": {lv: c[f"care.level.{lv}"] for lv in CARE_LEVELS},
                 "by_tag": {t: c[f"care.tag.{t}"] for t in CARE_TAGS}},
        "visits": {"visits": c["visits.visits"], "confirmed": c["visits.confirmed"],
                   "confirmed_share": _share(c["visits.confirmed"], c["visits.visits"]),
                   "minutes": c["visits.minutes"],
                   "by_kind": {k: {"visits": c[f"visits.kind.{k}.visits"],
                                   "confirmed": c[f"visits.kind.{k}.confirmed"]} for k in VISIT_KINDS}},
        "alerts": {"open": c["alerts.open"], "raised": c["alerts.raised"]},
        "volunteers": {"active": c["volunteers.active"],
                       "by_team": {t: c[f"volunteers.team.{t}"] for t in (*TEAMS, "none")},
                       "minutes": minutes, "hours": round(minutes / 60, 1), "credits": c["volunteers.credits"],
                       "by_kind": {k: c[f"volunteers.kind.{k}"] for k in CREDIT_KINDS}},
        "donations": {"count": c["donations.count"], "goods": c["donations.goods"],
                      "goods_quantity": c["donations.goods_quantity"],
                      "goods_value_fen": c["donations.goods_value_fen"], "money": c["donations.money"],
                      "money_fen": c["donations.money_fen"]},
        "points": {"issued": c["points.issued"], "converted": c["points.converted"], "spent": c["points.spent"],
                   "expired": c["points.expired"], "adjusted": c["points.adjusted"],
                   "redemptions": c["points.redemptions"],
                   "households_redeeming": c["points.households_redeeming"]},
        "activities": {"held": c["activities.held"], "participants": c["activities.participants"],
                       "by_kind": {k: {"held": c[f"activities.kind.{k}.held"],
                                       "participants": c[f"activities.kind.{k}.participants"]}
                                   for k in ACTIVITY_KINDS}},
        "centres": {"centres": c["centres.centres"],
                    "by_kind": {k: c[f"centres.kind.{k}"] for k in CARE_CENTRE_KINDS},
                    "enrolled": c["centres.enrolled"], "people_served": c["centres.people_served"],
                    "attendance_days": c["centres.attendance_days"], "meals": c["centres.meals"]},
    }
