"""Shapes of the volunteers API: teams, profiles, opportunities, sign-ups, the hours ledger and honours."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

AVAILABILITY_DOC = ('Weekly availability, the shape of opening hours: ISO weekday "1" (Monday) to "7" → '
                    '[["08:00", "12:00"], …] in Beijing time')


class TeamRead(BaseModel):
    code: str
    name_zh: str
    name_en: str
    colour: str
    speciality_zh: str
    speciality_en: str


class VolunteerCreate(BaseModel):
    person_id: uuid.UUID = Field(description="the registry person who volunteers (one profile per person)")
    unit_code: str | None = Field(default=None, description="the unit they serve; default: the person's community")
    team_code: str | None = Field(default=None, description="red, orange, yellow, green, cyan, blue or purple")
    skills: list[str] | None = None
    availability: dict[str, Any] | None = Field(default=None, description=AVAILABILITY_DOC)
    joined_on: date | None = None
    username: str | None = Field(default=None, description="to give them an account of role volunteer")
    password: str | None = None


class VolunteerUpdate(BaseModel):
    unit_code: str | None = None
    team_code: str | None = None
    skills: list[str] | None = None
    availability: dict[str, Any] | None = Field(default=None, description=AVAILABILITY_DOC)
    active: bool | None = None


class AccountCreate(BaseModel):
    username: str
    password: str


class VolunteerRead(BaseModel):
    id: uuid.UUID
    person_id: uuid.UUID
    name: str
    unit_code: str
    team_code: str | None
    skills: list[str] | None
    availability: dict[str, Any] | None
    joined_on: date
    active: bool
    has_account: bool
    balance_minutes: int
    service_minutes: int


class VolunteerList(BaseModel):
    items: list[VolunteerRead]
    total: int
    limit: int
    offset: int


class OpportunityCreate(BaseModel):
    unit_code: str | None = Field(default=None, description="default: the caller's own unit")
    title: str
    description: str | None = None
    place: str | None = None
    team_code: str | None = None
    starts_at: datetime = Field(description="with its time zone, e.g. 2026-05-01T09:00:00+08:00")
    ends_at: datetime
    slots: int = Field(description="how many volunteers, at least 1")


class OpportunityUpdate(BaseModel):
    title: str | None = None
    description: str | None = None
    place: str | None = None
    team_code: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    slots: int | None = None
    version: int | None = Field(default=None, description="the version read; another is 409")


class SignupRead(BaseModel):
    id: uuid.UUID
    opportunity_id: uuid.UUID
    volunteer_id: uuid.UUID
    name: str | None = None
    status: str
    signed_up_at: datetime
    checked_in_at: datetime | None
    checked_out_at: datetime | None


class OpportunityRead(BaseModel):
    id: uuid.UUID
    unit_code: str
    title: str
    description: str | None
    place: str | None
    team_code: str | None
    starts_at: datetime
    ends_at: datetime
    slots: int
    taken: int
    waitlisted: int
    activity_id: uuid.UUID | None
    cancelled_at: datetime | None
    version: int
    my_signup: SignupRead | None = None


class SignupCreate(BaseModel):
    volunteer_id: uuid.UUID | None = Field(default=None, description="staff only: the volunteer to sign up; "
                                                                     "default: the caller's own profile")


class HoursEntryRead(BaseModel):
    id: uuid.UUID
    volunteer_id: uuid.UUID
    at: datetime
    minutes: int
    kind: str
    source_type: str | None
    source_id: uuid.UUID | None
    note: str | None


class CheckoutRead(BaseModel):
    signup: SignupRead
    credited: HoursEntryRead | None


class LedgerRead(BaseModel):
    volunteer_id: uuid.UUID
    balance_minutes: int = Field(description="the sum of every entry")
    service_minutes: int = Field(description="every entry but conversions: what honours count")
    entries: list[HoursEntryRead]


class AdjustmentCreate(BaseModel):
    minutes: int = Field(description="positive to credit, negative to debit")
    note: str = Field(description="why")


class HonourRead(BaseModel):
    id: uuid.UUID
    volunteer_id: uuid.UUID
    threshold_hours: int
    awarded_at: datetime
    certificate_no: str
    certificate_url: str
