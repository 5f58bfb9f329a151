"""Shapes of the activities API: activities, registrations, attendance and series."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, Field

from jiayuan.volunteers.schemas import HoursEntryRead


class ActivityCreate(BaseModel):
    unit_code: str | None = Field(default=None, description="the community, street or district holding it; "
                                                            "default: the caller's unit")
    kind: str = Field(default="other", description="culture, sports, festival, lecture, volunteer or other")
    title: str
    description: str | None = None
    organizer: str
    organization_id: uuid.UUID | None = None
    place: str
    starts_at: datetime = Field(description="with its time zone, e.g. 2026-05-01T19:00:00+08:00")
    ends_at: datetime
    capacity: int | None = Field(default=None, description="places; leave out for no limit")
    public: bool = True
    volunteer_run: bool = False
    volunteer_slots: int | None = Field(default=None, description="with volunteer_run: volunteers wanted")
    volunteer_team: str | None = None
    series_id: uuid.UUID | None = None


class ActivityUpdate(BaseModel):
    kind: str | None = None
    title: str | None = None
    description: str | None = None
    organizer: str | None = None
    place: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    capacity: int | None = None
    public: bool | None = None
    series_id: uuid.UUID | None = None
    version: int | None = Field(default=None, description="the version read; another is 409")


class ActivityRead(BaseModel):
    id: uuid.UUID
    unit_code: str
    series_id: uuid.UUID | None
    kind: str
    title: str
    description: str | None
    organizer: str
    place: str
    starts_at: datetime
    ends_at: datetime
    capacity: int | None
    places_left: int | None = Field(description="None: no limit")
    registered: int
    waitlisted: int
    attended: int
    public: bool
    volunteer_run: bool
    opportunity_id: uuid.UUID | None = Field(default=None, description="the volunteer opportunity staffing it")
    cancelled_at: datetime | None
    version: int
    my_registration: RegistrationRead | None = None
    checkin_url: str | None = Field(default=None, description="organizers only: what the QR code at the door holds")


class RegistrationCreate(BaseModel):
    person_id: uuid.UUID | None = Field(default=None, description="staff: a registry person to register; "
                                                                  "default: the caller themself")


class RegistrationRead(BaseModel):
    id: uuid.UUID
    activity_id: uuid.UUID
    name: str
    status: str
    registered_at: datetime
    checked_in_at: datetime | None
    person_id: uuid.UUID | None = None
    by_staff: bool = False


class Tick(BaseModel):
    attended: bool


class CheckinRead(BaseModel):
    registration: RegistrationRead
    activity_id: uuid.UUID
    title: str
    checked_in_now: bool = Field(description="false when an earlier scan already checked the caller in")


class AttendanceRead(BaseModel):
    activity_id: uuid.UUID
    registered: int
    waitlisted: int
    attended: int
    registrations: list[RegistrationRead]
    credited: list[HoursEntryRead] = Field(description="hours credited to the volunteers who staffed it")


class ClosedRead(BaseModel):
    attended: int
    credited: list[HoursEntryRead] = Field(description="entries made by this close")
    already_credited: int = Field(description="volunteers credited by an earlier close")


class SeriesCreate(BaseModel):
    unit_code: str | None = None
    name: str
    description: str | None = None
    starts_on: date | None = None
    ends_on: date | None = None


class SeriesRead(BaseModel):
    id: uuid.UUID
    unit_code: str
    name: str
    description: str | None
    starts_on: date | None
    ends_on: date | None
    shows: int = Field(description="activities of the series that are not cancelled")
    held: int = Field(description="of which have begun")
    participants: int = Field(description="people checked in over every show")
    registered: int = Field(description="places taken over every show")


ActivityRead.model_rebuild()
