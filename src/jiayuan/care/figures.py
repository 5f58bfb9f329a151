"""Care's grouped figures for stats (新风尚 figures): rows of (unit code, figure name, value) counted on care's own
tables under the unit filter stats hands in (kit/figures.py). Stats shapes and rolls them up; it reads no care
table itself."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

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
from jiayuan.kit.figures import Figure, Within
from jiayuan.registry.models import Person, PersonTag
from jiayuan.registry.service import aged_cutoff, tag_active

# The kinds the figures are broken down by: levels of care, kinds of visit, kinds of centre.
FIGURE_KINDS: dict[str, tuple[str, ...]] = {"level": tuple(CARE_LEVELS), "visit": tuple(VISIT_KINDS),
                                            "centre": tuple(CARE_CENTRE_KINDS)}


def unit_figures(session: Session, within: Within, start: date, end: date, since: datetime, until: datetime,
                 as_of: date, tags: tuple[str, ...]) -> list[Figure]:
    """The grouped figures of care for stats (rows of unit code, name, value; kit/figures.py): people in care on
    `as_of` by level, aged 80+ and by the registry `tags` they hold, profiles opened in [start, end), visits in
    [since, until), alerts open now and raised in the period, and the active centres with their enrolment on
    `as_of` and their attendance in the period. `within` selects the unit asked for.
    (Named unit_figures: `figures` in care.service is the centres' own table.)"""
    out: list[Figure] = []
    # People in care on `as_of` by level (and how many of them are 80 or older), profiles opened in the period.
    in_care = and_(CareProfile.started_on <= as_of,
                   or_(CareProfile.ended_on.is_(None), CareProfile.ended_on > as_of))
    opened = and_(CareProfile.started_on >= start, CareProfile.started_on < end)
    eighty = Person.birth_date <= aged_cutoff(as_of, 80)
    profiles = within(CareProfile.grid_code, CareProfile.district_code)
    rows = session.execute(
        select(CareProfile.grid_code, CareProfile.level, func.count().filter(in_care),
               func.count().filter(opened), func.count().filter(and_(in_care, eighty)))
        .join(Person, and_(Person.district_code == CareProfile.district_code, Person.id == CareProfile.person_id))
        .where(profiles, or_(in_care, opened))
        .group_by(CareProfile.grid_code, CareProfile.level))
    for grid, level, n, started, aged in rows:
        out += [Figure(grid, "care.people", n), Figure(grid, f"care.level.{level}", n),
                Figure(grid, "care.started", started), Figure(grid, "care.tag.aged_80", aged)]
    held = session.execute(
        select(CareProfile.grid_code, PersonTag.tag, func.count(PersonTag.person_id.distinct()))
        .join(PersonTag, and_(PersonTag.district_code == CareProfile.district_code,
                              PersonTag.person_id == CareProfile.person_id))
        .where(profiles, in_care, tag_active(as_of), PersonTag.tag.in_(tags))
        .group_by(CareProfile.grid_code, PersonTag.tag))
    out += [Figure(grid, f"care.tag.{tag}", n) for grid, tag, n in held]
    # Visits of the period, by kind.
    visits = session.execute(
        select(Visit.grid_code, Visit.kind, func.count(), func.count().filter(Visit.confirmed_at.is_not(None)),
               func.sum(Visit.duration_minutes))
        .where(within(Visit.grid_code, Visit.district_code), Visit.visited_at >= since, Visit.visited_at < until)
        .group_by(Visit.grid_code, Visit.kind))
    for grid, kind, n, confirmed, minutes in visits:
        out += [Figure(grid, "visits.visits", n), Figure(grid, "visits.confirmed", confirmed),
                Figure(grid, "visits.minutes", minutes), Figure(grid, f"visits.kind.{kind}.visits", n),
                Figure(grid, f"visits.kind.{kind}.confirmed", confirmed)]
    # Open alerts now (whatever the period: who is waiting for a visit today), and alerts raised in the period.
    raised = and_(CareAlert.raised_on >= start, CareAlert.raised_on < end)
    alerts = session.execute(
        select(CareAlert.grid_code, func.count().filter(CareAlert.open.is_(True)), func.count().filter(raised))
        .where(within(CareAlert.grid_code, CareAlert.district_code), or_(CareAlert.open.is_(True), raised))
        .group_by(CareAlert.grid_code))
    for grid, open_, raised_n in alerts:
        out += [Figure(grid, "alerts.open", open_), Figure(grid, "alerts.raised", raised_n)]
    # Active centres by kind with the people enrolled on `as_of`; per centre, the people served (distinct
    # attendees), attendance days and meals of the period, added up over the centres.
    centres = within(CareCentre.unit_code, CareCentre.district_code)
    enrolled = and_(Enrolment.enrolled_on <= as_of, or_(Enrolment.left_on.is_(None), Enrolment.left_on > as_of))
    rows = session.execute(
        select(CareCentre.unit_code, CareCentre.kind, func.count(CareCentre.id.distinct()),
               func.count(Enrolment.id).filter(enrolled))
        .outerjoin(Enrolment, and_(Enrolment.district_code == CareCentre.district_code,
                                   Enrolment.centre_id == CareCentre.id))
        .where(centres, CareCentre.active.is_(True))
        .group_by(CareCentre.unit_code, CareCentre.kind))
    for unit, kind, n, people in rows:
        out += [Figure(unit, "centres.centres", n), Figure(unit, f"centres.kind.{kind}", n),
                Figure(unit, "centres.enrolled", people)]
    attendance = session.execute(
        select(CareCentre.unit_code, Attendance.centre_id, func.count(Attendance.person_id.distinct()),
               func.count(), func.sum(Attendance.meals))
        .join(CareCentre, and_(CareCentre.district_code == Attendance.district_code,
                               CareCentre.id == Attendance.centre_id))
        .where(centres, Attendance.day >= start, Attendance.day < end)
        .group_by(CareCentre.unit_code, Attendance.centre_id))
    for unit, _centre, people, days, meals in attendance:
        out += [Figure(unit, "centres.people_served", people), Figure(unit, "centres.attendance_days", days),
                Figure(unit, "centres.meals", meals)]
    return out
