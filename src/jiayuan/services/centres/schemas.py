"""Pydantic shapes of centres, their exceptions, openings, subsidies and the subsidy report. Request fields carry
their real types (strict where the services refuse a look-alike: a number for a flag, text for a count); the rules
about values (hours, phones, amounts, units) stay in the services, which name the field and say what is wrong."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field, StrictBool, StrictInt

from jiayuan.services.schemas import HOURS_DESCRIPTION, Coordinate, Orm, Week

# Centres.


class TodayRead(BaseModel):
    day: date
    open: bool = Field(description="the centre keeps hours today")
    hours: list[list[str]]
    reason: str = Field(description="week, exception, holiday or inactive")
    note: str | None = None


class CentreCreate(BaseModel):
    unit_code: str = Field(description="the street (9 digits) or community (12 digits) it belongs to")
    kind_code: str
    name: str
    address: str | None = None
    lat: Coordinate | None = None
    lon: Coordinate | None = None
    capacity: StrictInt | None = None
    facilities: list[str] | str | None = Field(
        default=None, description="short names, e.g. [\"阅览室\", \"助餐点\"], or one text separated by 、 or commas")
    contact_name: str | None = None
    phone: str | None = Field(default=None, description="a landline with its area code, or a mobile number")
    is_public: StrictBool = True
    weekly_hours: Week | None = Field(default=None, description=HOURS_DESCRIPTION)
    description: str | None = None


class CentreUpdate(BaseModel):
    unit_code: str | None = None
    kind_code: str | None = None
    name: str | None = None
    address: str | None = None
    lat: Coordinate | None = None
    lon: Coordinate | None = None
    capacity: StrictInt | None = None
    facilities: list[str] | str | None = None
    contact_name: str | None = None
    phone: str | None = None
    is_public: StrictBool | None = None
    weekly_hours: Week | None = Field(default=None, description=HOURS_DESCRIPTION)
    description: str | None = None
    active: StrictBool | None = None


class CentreRead(BaseModel):
    id: uuid.UUID
    unit_code: str
    unit_name: str | None
    street_code: str
    street_name: str | None
    kind_code: str
    kind_name: str | None
    standard_kind: bool
    name: str
    address: str | None
    lat: float | None
    lon: float | None
    capacity: int | None
    facilities: list[str] | None
    contact_name: str | None = Field(description="shown to staff only")
    phone: str | None
    is_public: bool
    active: bool
    weekly_hours: dict[str, Any] | None
    description: str | None
    today: TodayRead
    open_now: bool


class CentreList(BaseModel):
    total: int
    items: list[CentreRead]


class ExceptionPut(BaseModel):
    closed: StrictBool = True
    hours: list[list[str]] | None = Field(default=None,
                                          description='the day\'s intervals when not closed: [["09:00", "11:30"]]')
    note: str | None = None


class ExceptionRead(Orm):
    day: date
    closed: bool
    hours: list[list[str]] | None
    note: str | None


class OpeningCreate(BaseModel):
    day: date | None = Field(default=None, description="today (Beijing) when left out")


class OpeningRead(Orm):
    day: date
    opened_at: datetime
    recorded_by: uuid.UUID | None


class SubsidyCreate(BaseModel):
    year: StrictInt
    amount_fen: StrictInt = Field(description="in fen: 100,000 yuan is 10000000")
    note: str | None = None


class SubsidyRead(Orm):
    id: uuid.UUID
    centre_id: uuid.UUID
    year: int
    amount_fen: int
    granted_on: date
    note: str | None


class ReportRowRead(BaseModel):
    centre_id: uuid.UUID
    name: str
    unit_code: str
    unit_name: str | None
    street_name: str | None
    kind_code: str
    kind_name: str | None
    subsidy_fen: int | None
    scheduled_days: int
    days_opened: int
    share: float | None
    open_as_required: bool


class ReportRead(BaseModel):
    year: int
    start: date
    end: date | None = Field(description="the last day counted: today for the current year")
    required_share: float
    calendar_known: bool = Field(description="false: the year's public holidays are not entered")
    centres: int
    subsidised: int
    subsidised_fen: int
    subsidised_open_as_required: int
    rows: list[ReportRowRead]
