"""Pydantic shapes of member providers and their performance; services check the values and name the field."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from jiayuan.kit.numbers import Finite

HOURS_DOC = ('ISO weekday → local-time intervals, e.g. {"1": [["08:30", "12:00"], ["14:00", "17:30"]], "7": []}; '
             "ignored when round_the_clock")


class ProviderItemIn(BaseModel):
    item: str = Field(description="a 4-digit item of the catalogue")
    price_fen: int | None = Field(default=None, description="its price in fen; none = quoted on site (not for a "
                                  "public-welfare item, whose price is at most the catalogue's highest)")


class AreaIn(BaseModel):
    unit_code: str = Field(description="a unit of the district: the district, a street, a community or a grid")


class ProviderCreate(BaseModel):
    name: str
    credit_code: str = Field(description="unified social credit code (18 characters), unique in the district")
    contact_name: str | None = None
    contact_phone: str | None = Field(default=None, description="the contact's mobile; stored encrypted, shown "
                                      "masked")
    service_phone: str | None = Field(default=None, description="the public line residents may call")
    address: str | None = None
    lat: Finite | None = None
    lon: Finite | None = None
    round_the_clock: bool = False
    weekly_hours: dict[str, list[list[str]]] | None = Field(default=None, description=HOURS_DOC)
    description: str | None = None
    items: list[ProviderItemIn] | None = None
    areas: list[str] | None = Field(default=None, description="unit codes of its service area")
    reason: str | None = Field(default=None, description="a note kept with the application in the history")


class ProviderUpdate(BaseModel):
    name: str | None = None
    credit_code: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    service_phone: str | None = None
    address: str | None = None
    lat: Finite | None = None
    lon: Finite | None = None
    round_the_clock: bool | None = None
    weekly_hours: dict[str, list[list[str]]] | None = Field(default=None, description=HOURS_DOC)
    description: str | None = None
    version: int | None = Field(default=None, description="the version you read: 409 if it changed since")


class StatusChange(BaseModel):
    to: str = Field(description="approved, active, suspended or withdrawn, as the status table allows")
    reason: str = Field(description="why (required, kept in the history)")
    version: int | None = Field(default=None, description="the version you read: 409 if it changed since")


class OfferedItemRead(BaseModel):
    item: str
    name_zh: str
    name_en: str
    unit_zh: str | None
    unit_en: str | None
    price_fen: int | None
    public_welfare: bool


class ProviderPublicRead(BaseModel):
    """What anyone may read of an active provider."""

    id: uuid.UUID
    name: str
    service_phone: str | None
    address: str | None
    lat: float | None
    lon: float | None
    round_the_clock: bool
    weekly_hours: dict[str, Any] | None
    description: str | None
    items: list[OfferedItemRead]
    areas: list[str]


class ProviderRead(ProviderPublicRead):
    district_code: str
    credit_code: str
    organization_id: uuid.UUID | None = Field(description="the registry's record of the same credit code")
    status: str
    contact_name: str | None
    contact_phone: str | None = Field(description="masked to the last four digits: *******5678")
    flagged_at: datetime | None = Field(description="set while it is flagged for suspension")
    flag_reason: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class ProviderList(BaseModel):
    total: int
    items: list[ProviderRead]


class ProviderPublicList(BaseModel):
    total: int
    items: list[ProviderPublicRead]


class ProviderEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    actor_name: str
    from_status: str | None
    to_status: str
    reason: str | None


class StaffCreate(BaseModel):
    username: str
    full_name: str
    password: str = Field(description="at least 8 characters")


class StaffRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str
    full_name: str
    is_active: bool


class FiguresRead(BaseModel):
    provider_id: uuid.UUID
    name: str
    status: str
    flagged: bool
    offers: int = Field(description="offers made to it")
    answered: int = Field(description="offers accepted, declined or expired")
    accepted: int
    acceptance_rate: float | None = Field(description="accepted / answered; none without answers")
    minutes_to_accept: float | None = Field(description="mean minutes from an offer to its acceptance")
    completable: int = Field(description="accepted orders, less those the resident or an operator cancelled")
    completed: int
    completion_rate: float | None = Field(description="completed / completable")
    mean_rating: float | None
    ratings: int
    complaints: int = Field(description="its orders that opened a complaint case")


class Performance(BaseModel):
    since: date
    until: date
    items: list[FiguresRead]
