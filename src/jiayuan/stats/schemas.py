"""Response schemas of the stats API: the care figures of a unit and its children."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from jiayuan.stats.care import (
    ACTIVITY_KINDS,
    CARE_CENTRE_KINDS,
    CARE_LEVELS,
    CARE_TAGS,
    CREDIT_KINDS,
    TEAMS,
    VISIT_KINDS,
)


class KindVisits(BaseModel):
    visits: int
    confirmed: int


class CareFigures(BaseModel):
    people: int = Field(description="people in care on as_of (profile started, not ended)")
    started: int = Field(description="profiles opened in the period")
    by_level: dict[str, int] = Field(description=f"people in care by level: {', '.join(CARE_LEVELS)}")
    by_tag: dict[str, int] = Field(description="people in care holding each tag on as_of (one person may hold "
                                               f"several): {', '.join(CARE_TAGS)}")


class VisitFigures(BaseModel):
    visits: int
    confirmed: int
    confirmed_share: float | None = Field(description="confirmed / visits; null without visits")
    minutes: int
    by_kind: dict[str, KindVisits] = Field(description=f"{', '.join(VISIT_KINDS)}")


class AlertFigures(BaseModel):
    open: int = Field(description="people waiting for a visit now (open alerts, whatever the period)")
    raised: int = Field(description="alerts raised in the period (not visited in time)")


class VolunteerFigures(BaseModel):
    active: int = Field(description="active volunteers who had joined by as_of, by the unit they serve")
    by_team: dict[str, int] = Field(description=f"{', '.join(TEAMS)}, none")
    minutes: int = Field(description="minutes credited in the period: positive service and activity entries")
    hours: float
    credits: int = Field(description="ledger entries those minutes came from")
    by_kind: dict[str, int] = Field(description=f"minutes by kind: {', '.join(CREDIT_KINDS)}")


class DonationFigures(BaseModel):
    count: int
    goods: int
    goods_quantity: int
    goods_value_fen: int = Field(description="value of the goods, in fen (1/100 yuan)")
    money: int
    money_fen: int


class PointsFigures(BaseModel):
    issued: int
    converted: int = Field(description="from volunteer hours")
    spent: int
    expired: int
    adjusted: int
    redemptions: int
    households_redeeming: int


class KindActivities(BaseModel):
    held: int
    participants: int


class ActivityFigures(BaseModel):
    held: int = Field(description="activities that started in the period (and by now), not cancelled")
    participants: int = Field(description="registrations checked in at them")
    by_kind: dict[str, KindActivities] = Field(description=f"{', '.join(ACTIVITY_KINDS)}")


class CentreFigures(BaseModel):
    centres: int
    by_kind: dict[str, int] = Field(description=f"{', '.join(CARE_CENTRE_KINDS)}")
    enrolled: int = Field(description="enrolments current on as_of")
    people_served: int = Field(description="distinct attendees of each centre in the period, added up")
    attendance_days: int
    meals: int


class UnitFigures(BaseModel):
    code: str
    name: str
    care: CareFigures
    visits: VisitFigures
    alerts: AlertFigures
    volunteers: VolunteerFigures
    donations: DonationFigures
    points: PointsFigures
    activities: ActivityFigures
    centres: CentreFigures


class UnitRef(BaseModel):
    code: str
    name: str
    level: str


class FiguresReport(BaseModel):
    unit: UnitRef
    start: date
    end: date = Field(description="exclusive")
    as_of: date = Field(description="the day counts of people (in care, volunteers, enrolled) are taken on: the "
                                    "period's last day, or today when that is earlier")
    generated_at: datetime
    totals: UnitFigures
    children: list[UnitFigures] = Field(description="one per child unit (a community's grids …), in code order")
    here: UnitFigures | None = Field(description="rows kept at the unit itself rather than under a child (an "
                                                 "activity of the whole district); null when there are none")
