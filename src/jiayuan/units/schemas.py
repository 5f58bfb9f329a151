"""Shapes of units in the API."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class UnitRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    level: str
    parent_code: str | None


class UnitDetail(UnitRead):
    geometry: dict[str, Any] | None
    chain: list[UnitRead]
    children: list[UnitRead]


class LocateRead(BaseModel):
    lat: float = Field(description="WGS-84 latitude the point was located at (after any conversion)")
    lon: float
    grid: UnitRead
    chain: list[UnitRead] = Field(description="district, street, community, grid")


class ImportRead(BaseModel):
    created: int
    updated: int


class MemberRead(BaseModel):
    user_id: uuid.UUID
    username: str
    full_name: str
    is_lead: bool


class MemberAssign(BaseModel):
    username: str
    is_lead: bool = False


class StaffingRead(BaseModel):
    grid: UnitRead
    workers: int
    has_lead: bool
