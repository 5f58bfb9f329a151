"""Pydantic shapes of houses, things and organizations; services validate the values and name the field."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from jiayuan.kit.identity import mask_phone
from jiayuan.kit.numbers import Finite


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    grid_code: str
    created_at: datetime
    updated_at: datetime


class CompoundCreate(BaseModel):
    name: str
    grid_code: str | None = Field(default=None, description="needed unless lat and lon are given")
    address: str | None = None
    property_company: str | None = Field(default=None, description="none means 无物业小区")
    lat: Finite | None = None
    lon: Finite | None = None
    geometry: dict[str, Any] | None = Field(default=None, description="a GeoJSON Polygon or MultiPolygon")


class CompoundUpdate(BaseModel):
    name: str | None = None
    grid_code: str | None = None
    address: str | None = None
    property_company: str | None = None
    lat: Finite | None = None
    lon: Finite | None = None
    geometry: dict[str, Any] | None = None


class CompoundRead(_Read):
    name: str
    address: str | None
    property_company: str | None
    lat: float | None
    lon: float | None
    geometry: dict[str, Any] | None


class CompoundList(BaseModel):
    total: int
    items: list[CompoundRead]


class BuildingCreate(BaseModel):
    name: str
    compound_id: uuid.UUID | None = None
    grid_code: str | None = Field(default=None, description="for a building outside any compound")
    floors: int | None = None
    lat: Finite | None = None
    lon: Finite | None = None


class BuildingUpdate(BaseModel):
    name: str | None = None
    floors: int | None = None
    lat: Finite | None = None
    lon: Finite | None = None


class BuildingRead(_Read):
    compound_id: uuid.UUID | None
    name: str
    floors: int | None
    lat: float | None
    lon: float | None


class BuildingList(BaseModel):
    total: int
    items: list[BuildingRead]


class RoomCreate(BaseModel):
    """By building_id, or by address path (grid_code, compound, building): the same room twice updates it."""

    number: str
    entrance: str | None = Field(default=None, description="单元, e.g. 2单元")
    use: str | None = Field(default=None, description="self_occupied, rented, vacant or commercial")
    area: Finite | None = None
    building_id: uuid.UUID | None = None
    grid_code: str | None = None
    compound: str | None = Field(default=None, description="compound name, for a path")
    building: str | None = Field(default=None, description="building name, for a path")


class RoomUpdate(BaseModel):
    entrance: str | None = None
    number: str | None = None
    use: str | None = None
    area: Finite | None = None


class RoomRead(_Read):
    building_id: uuid.UUID
    entrance: str
    number: str
    use: str
    area: float | None


class RoomList(BaseModel):
    total: int
    items: list[RoomRead]


class ThingCreate(BaseModel):
    kind: str
    status: str | None = None
    code: str | None = Field(default=None, description="the component's own number, unique in the district")
    name: str | None = None
    grid_code: str | None = None
    lat: Finite | None = None
    lon: Finite | None = None
    owner: str | None = None
    maintainer: str | None = None
    installed_on: date | None = None


class ThingUpdate(BaseModel):
    kind: str | None = None
    status: str | None = None
    code: str | None = None
    name: str | None = None
    grid_code: str | None = None
    lat: Finite | None = None
    lon: Finite | None = None
    owner: str | None = None
    maintainer: str | None = None
    installed_on: date | None = None


class ThingRead(_Read):
    kind: str
    status: str
    code: str | None
    name: str | None
    lat: float | None
    lon: float | None
    owner: str | None
    maintainer: str | None
    installed_on: date | None


class ThingList(BaseModel):
    total: int
    items: list[ThingRead]


class OrganizationCreate(BaseModel):
    kind: str
    name: str
    grid_code: str
    credit_code: str | None = Field(default=None, description="optional only for homeowners' committees")
    address: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    staff_count: int | None = None


class OrganizationUpdate(BaseModel):
    kind: str | None = None
    name: str | None = None
    grid_code: str | None = None
    credit_code: str | None = None
    address: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    staff_count: int | None = None
    active: bool | None = None


class OrganizationRead(_Read):
    kind: str
    name: str
    credit_code: str | None
    address: str | None
    contact_name: str | None
    contact_phone: str | None = Field(description="masked to the last four digits: *******5678")
    staff_count: int | None
    active: bool

    @field_validator("contact_phone")
    @classmethod
    def _masked(cls, value: str | None) -> str | None:
        # The only way out of the API: a reader never gets the whole number (unmasking is its own permission).
        return mask_phone(value) if value else None


class OrganizationList(BaseModel):
    total: int
    items: list[OrganizationRead]
