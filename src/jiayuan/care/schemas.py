"""Shapes of neighbourhood care in the API. Contact phones are masked in every read shape; the card token is in
the staff's view of a profile only (it confirms visits: a volunteer must read it off the card at the person's
home, not from the API)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, Field

from jiayuan.kit.numbers import Finite

# Inputs stay loosely typed where the service checks them and names the field in its error.


class ContactCreate(BaseModel):
    name: str | None = None
    relation: str | None = None
    phone: str | None = Field(default=None, description="mobile, or a landline with its area code")


class ContactRead(BaseModel):
    id: uuid.UUID
    name: str
    relation: str | None
    phone: str = Field(description="masked")


class ProfileCreate(BaseModel):
    person_id: uuid.UUID
    level: str = Field(default="medium", description="low, medium or high")
    needs: list[str] | None = Field(default=None, description="housekeeping, meals, health, companionship, errands")
    notes: str | None = None
    visit_interval_days: int | None = Field(default=None, description="days without a visit before an alert; "
                                                                      "empty: the district's setting")
    contacts: list[ContactCreate] | None = None


class ProfileUpdate(BaseModel):
    """Every field optional; only the fields sent change."""

    level: str | None = None
    needs: list[str] | None = None
    notes: str | None = None
    visit_interval_days: int | None = None


class ProfileEnd(BaseModel):
    reason: str | None = Field(default=None, max_length=200)


class AlertRead(BaseModel):
    id: uuid.UUID
    person_id: uuid.UUID
    name: str
    profile_id: uuid.UUID | None
    grid_code: str
    raised_on: date
    last_visit_at: datetime | None
    days_without_visit: int
    open: bool
    resolved_at: datetime | None


class AlertList(BaseModel):
    total: int
    items: list[AlertRead]


class ProfileRead(BaseModel):
    id: uuid.UUID
    person_id: uuid.UUID
    name: str
    age: int | None
    grid_code: str
    level: str
    needs: list[str]
    notes: str | None
    visit_interval_days: int | None
    started_on: date
    ended_on: date | None
    open_alert: AlertRead | None = None


class ProfileDetail(ProfileRead):
    care_tags: list[str]
    phone: str | None = Field(default=None, description="the person's phone, masked")
    contacts: list[ContactRead]
    card_token: str | None = Field(default=None, description="staff only")
    last_visit_at: datetime | None = None


class ProfileList(BaseModel):
    total: int
    items: list[ProfileRead]


class CandidateRead(BaseModel):
    person_id: uuid.UUID
    name: str
    grid_code: str
    care_tags: list[str]


class PairingCreate(BaseModel):
    profile_id: uuid.UUID
    volunteer_id: uuid.UUID
    started_on: date | None = None


class PairingEnd(BaseModel):
    reason: str | None = None
    ended_on: date | None = None


class PairingRead(BaseModel):
    id: uuid.UUID
    person_id: uuid.UUID
    person_name: str
    profile_id: uuid.UUID | None
    volunteer_id: uuid.UUID
    volunteer_name: str | None = None
    grid_code: str
    started_on: date
    ended_on: date | None
    end_reason: str | None
    active: bool


class VisitCreate(BaseModel):
    person_id: uuid.UUID | None = None
    volunteer_id: uuid.UUID | None = Field(default=None, description="staff logging for a volunteer; a volunteer "
                                                                      "logs their own")
    kind: str | None = Field(default=None, description="housekeeping, meals, health, companionship or other")
    visited_at: datetime | None = Field(default=None, description="when it began; by default it has just ended. "
                                        "Ended by now, begun at most JIAYUAN_CARE_VISIT_BACKDATE_DAYS (7) days ago; "
                                        "not overlapping another visit of the volunteer")
    duration_minutes: int | None = Field(default=None, description="1 to 600; a volunteer's visits of one day add "
                                                                   "up to at most JIAYUAN_CARE_VISIT_DAY_HOURS (12)")
    notes: str | None = None
    lat: Finite | None = None
    lon: Finite | None = None


class PhotoRead(BaseModel):
    id: uuid.UUID
    url: str
    thumbnail_url: str
    width: int
    height: int


class VisitRead(BaseModel):
    id: uuid.UUID
    pairing_id: uuid.UUID
    person_id: uuid.UUID
    person_name: str | None = None
    volunteer_id: uuid.UUID
    grid_code: str
    kind: str
    visited_at: datetime
    duration_minutes: int
    notes: str | None
    lat: float | None
    lon: float | None
    state: str = Field(description="pending (待确认: logged, credits nothing yet), confirmed (已确认: the person's "
                                   "code or card) or approved (已审核: by the grid's worker or community staff)")
    confirmed_at: datetime | None
    confirm_method: str | None
    approved_at: datetime | None = None
    credited_at: datetime | None = Field(default=None, description="when its minutes went to the volunteer's hours")
    credited_unconfirmed: bool = Field(default=False, description="credited when logged under the old rule and "
                                                                  "never confirmed (before migration 0011)")
    code_state: str = Field(description="confirmed, approved, none (no code sent), expired, locked or waiting")
    code_sent_to: str | None = Field(default=None, description="masked phone, in the answer to logging only")
    photos: list[PhotoRead] = []


class VisitList(BaseModel):
    total: int
    items: list[VisitRead]


class VisitConfirm(BaseModel):
    code: str | None = Field(default=None, description="the 4-digit code the person read out")
    card_token: str | None = Field(default=None, description="the token of the person's QR card, scanned or typed")


class CentreCreate(BaseModel):
    unit_code: str | None = None
    kind: str | None = Field(default=None, description="home_care or day_care")
    name: str | None = None
    address: str | None = None
    lat: Finite | None = None
    lon: Finite | None = None
    capacity: int | None = None
    serves_meals: bool = True


class CentreUpdate(BaseModel):
    kind: str | None = None
    name: str | None = None
    address: str | None = None
    lat: Finite | None = None
    lon: Finite | None = None
    capacity: int | None = None
    serves_meals: bool | None = None
    active: bool | None = None


class CentreRead(BaseModel):
    id: uuid.UUID
    unit_code: str
    kind: str
    name: str
    address: str | None
    lat: float | None
    lon: float | None
    capacity: int | None
    serves_meals: bool
    active: bool


class EnrolmentCreate(BaseModel):
    person_id: uuid.UUID
    enrolled_on: date | None = None


class EnrolmentLeave(BaseModel):
    left_on: date | None = None


class EnrolmentRead(BaseModel):
    id: uuid.UUID
    centre_id: uuid.UUID
    person_id: uuid.UUID
    name: str | None = None
    enrolled_on: date
    left_on: date | None
    active: bool


class CheckIn(BaseModel):
    person_id: uuid.UUID
    at: datetime | None = None
    meals: int = 0


class CheckOut(BaseModel):
    person_id: uuid.UUID
    day: date | None = None
    at: datetime | None = None
    meals: int | None = None


class AttendanceRead(BaseModel):
    id: uuid.UUID
    centre_id: uuid.UUID
    person_id: uuid.UUID
    day: date
    checked_in_at: datetime
    checked_out_at: datetime | None
    meals: int


class SheetRow(BaseModel):
    person_id: uuid.UUID
    name: str
    enrolment_id: uuid.UUID | None
    attendance: AttendanceRead | None


class CentreFiguresRead(BaseModel):
    centre_id: uuid.UUID | None = Field(description="null on the total row")
    name: str | None
    kind: str | None
    unit_code: str | None
    people_served: int = Field(description="distinct people who attended")
    attendance_days: int
    meals: int


class FiguresRead(BaseModel):
    start: date
    end: date
    centres: list[CentreFiguresRead]
    total: CentreFiguresRead
