"""Figures of neighbourhood care (新风尚) for a unit and a period: people in care, visits, people not visited in
time, volunteer hours, the charity supermarkets' donations and points, activities, the care centres — in total and
by child unit (docs/care.md, "Figures").

Each domain counts its own tables through its service (care.service.unit_figures, volunteers.service.figures,
charity.service.figures, activities.service.figures), grouped by the unit code of its rows, under the unit filter
given here (the unit asked for, within the caller's scope); stats rolls the rows up into the unit's children and
shapes them. It reads no table of another domain.

Stock figures ("people in care", "open alerts", "active volunteers", "enrolled") are counted on the period's last
day or today, whichever is earlier (`as_of`); flows (visits, hours, donations, points, activities) are what happened
within [start, end) in Beijing time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from jiayuan.accounts.service import Principal
from jiayuan.activities import service as activities
from jiayuan.care import service as care
from jiayuan.charity import service as charity
from jiayuan.kit.db import utcnow
from jiayuan.kit.figures import Figure
from jiayuan.kit.i18n import TIMEZONE
from jiayuan.stats import HERE, Tally, Target, bounds, check_period, target
from jiayuan.volunteers import service as volunteers

# The registry tags a person in care is counted by; aged_80 is derived from the birth date, never stored.
CARE_TAGS = ("living_alone", "empty_nest", "disabled", "allowance", "aged_80")
STORED_CARE_TAGS = CARE_TAGS[:-1]
TEAMS = ("red", "orange", "yellow", "green", "cyan", "blue", "purple")
CREDIT_KINDS = volunteers.CREDIT_KINDS  # hours of help given; conversions and adjustments are not
CARE_LEVELS = care.FIGURE_KINDS["level"]
VISIT_KINDS = care.FIGURE_KINDS["visit"]
CARE_CENTRE_KINDS = care.FIGURE_KINDS["centre"]
ACTIVITY_KINDS = activities.ACTIVITY_KINDS


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
    within = tgt.where
    _add(tally, care.unit_figures(session, within, start, end, since, until, as_of, STORED_CARE_TAGS))
    _add(tally, volunteers.figures(session, within, since, until, as_of))
    _add(tally, charity.figures(session, within, since, until))
    _add(tally, activities.figures(session, within, since, min(until, now)))
    children = []
    for code, name in tgt.children:
        children.append({"code": code, "name": name, **shape(tally.groups.get(code, Counter()))})
    here = tally.groups.get(HERE)
    return Report(tgt, start, end, as_of, shape(tally.totals), children,
                  {"code": tgt.code, "name": tgt.name, **shape(here)} if here else None, generated_at=now)


def _add(tally: Tally, rows: Iterable[Figure]) -> None:
    for unit, name, value in rows:
        tally.add(unit, name, value)


def supermarkets_under(session: Session, tgt: Target) -> dict[str, Any]:
    """The charity supermarket of each community under the unit (or above it, for a grid): community → id, for
    the links to their lists."""
    return charity.supermarkets_under(session, tgt.code)


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
