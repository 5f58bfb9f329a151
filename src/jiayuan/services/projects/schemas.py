"""Pydantic shapes of special service projects, their beneficiaries and activities, and produce points. Request
fields carry their real types; the rules about values (units, tags, dates, hours) stay in the services."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field, StrictBool, StrictInt

from jiayuan.services.schemas import HOURS_DESCRIPTION, Coordinate, Orm, Week

# Projects.


class ProjectCreate(BaseModel):
    unit_code: str = Field(description="the district, a street or a community where it runs")
    name: str
    organization_id: uuid.UUID | None = Field(default=None, description="the registry organization that runs it")
    description: str | None = None
    target_tags: list[str] | None = Field(default=None, description="registry tags of the people it serves")
    starts_on: date | None = None
    ends_on: date | None = None


class ProjectUpdate(BaseModel):
    unit_code: str | None = None
    name: str | None = None
    organization_id: uuid.UUID | None = None
    description: str | None = None
    target_tags: list[str] | None = None
    starts_on: date | None = None
    ends_on: date | None = None


class ProjectRead(Orm):
    id: uuid.UUID
    unit_code: str
    name: str
    organization_id: uuid.UUID | None
    organization_name: str | None = None
    description: str | None
    target_tags: list[str] | None
    starts_on: date | None
    ends_on: date | None
    beneficiaries: int = 0
    created_at: datetime
    updated_at: datetime


class ProjectList(BaseModel):
    total: int
    items: list[ProjectRead]


class BeneficiaryCreate(BaseModel):
    person_id: uuid.UUID
    enrolled_on: date | None = None
    note: str | None = None


class LeaveRequest(BaseModel):
    left_on: date | None = None


class BeneficiaryRead(BaseModel):
    person_id: uuid.UUID
    name: str | None = Field(description="None when the person has moved out of your scope")
    grid_code: str | None
    enrolled_on: date
    left_on: date | None
    note: str | None


class ActivityCreate(BaseModel):
    held_on: date | None = None
    title: str
    participants: StrictInt | None = 0
    notes: str | None = None


class ActivityRead(Orm):
    id: uuid.UUID
    held_on: date
    title: str
    participants: int
    notes: str | None


# Produce points.


class ProducePointCreate(BaseModel):
    unit_code: str = Field(description="the community (or grid) it stands in")
    name: str
    address: str | None = None
    lat: Coordinate | None = None
    lon: Coordinate | None = None
    supplier: str | None = None
    weekly_hours: Week | None = Field(default=None, description=HOURS_DESCRIPTION)


class ProducePointUpdate(BaseModel):
    unit_code: str | None = None
    name: str | None = None
    address: str | None = None
    lat: Coordinate | None = None
    lon: Coordinate | None = None
    supplier: str | None = None
    weekly_hours: Week | None = Field(default=None, description=HOURS_DESCRIPTION)
    active: StrictBool | None = None


class ProducePointRead(Orm):
    id: uuid.UUID
    unit_code: str
    name: str
    address: str | None
    lat: float | None
    lon: float | None
    supplier: str | None
    weekly_hours: dict[str, Any] | None
    active: bool
