"""Shapes of cases in the API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from jiayuan.kit.numbers import Finite


class CategoryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    parent_code: str | None
    kind: str
    name_zh: str
    name_en: str
    handling_level: str
    time_limit_hours: int
    urgent: bool
    department: str | None
    is_active: bool
    attributes: list[dict[str, Any]] | None = None


class CategoryUpdate(BaseModel):
    name_zh: str | None = None
    name_en: str | None = None
    handling_level: str | None = None
    time_limit_hours: int | None = None
    urgent: bool | None = None
    department: str | None = None
    is_active: bool | None = None


class CaseCreate(BaseModel):
    category: str = Field(description="a 4-digit category item code")
    description: str = Field(description="what is wrong, up to 4,000 characters")
    lat: Finite | None = None
    lon: Finite | None = None
    crs: str = Field(default="wgs84", description="wgs84 or gcj02")
    address: str | None = None
    unit_code: str | None = Field(default=None, description="the grid or community, when there is no location")
    reporter_name: str | None = None
    reporter_phone: str | None = None
    anonymous: bool = False
    urgent: bool = False
    attributes: dict[str, Any] = Field(default_factory=dict)
    handled_on_spot: bool = Field(default=False, description="a grid worker's patrol report handled there")
    thing_id: uuid.UUID | None = Field(default=None, description="the registry facility or component it is about")


class EventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    actor_name: str
    actor_role: str
    action: str
    from_status: str | None
    to_status: str | None
    note: str | None
    data: dict[str, Any] | None


class PhotoRead(BaseModel):
    id: str
    url: str
    thumbnail_url: str
    width: int
    height: int


class CaseRead(BaseModel):
    number: str
    status: str
    category: str
    category_name: str
    description: str
    channel: str
    address: str | None
    lat: float | None
    lon: float | None
    origin_code: str
    unit_code: str
    grid_code: str | None
    level: str
    department: str | None
    assignee: str | None = Field(description="user name of the handler")
    urgent: bool
    supervision: str | None
    reporter_name: str | None
    reporter_phone: str | None = Field(description="masked")
    reported_at: datetime
    accepted_at: datetime | None
    dispatched_at: datetime | None
    handled_at: datetime | None
    closed_at: datetime | None
    stage_due_at: datetime | None
    due_at: datetime | None
    light: str | None = Field(description="green / yellow / red: the share of the stage's time limit used")
    rework_count: int
    rating: str | None
    version: int
    actions: list[str] = Field(default_factory=list, description="what the caller may do now")
    merged_into: str | None = None
    thing_id: uuid.UUID | None = Field(default=None, description="the registry facility the case is about")


class CaseDetail(CaseRead):
    timeline: list[EventRead]
    photos: list[PhotoRead]


class CaseCreated(CaseRead):
    replayed: bool = Field(description="true when an Idempotency-Key returned a case made earlier")
    possible_duplicates: list[str] = Field(description="open cases of the same category nearby that the caller may "
                                                      "see (staff: in their scope; a resident: only their own)")
    similar_reports: int = Field(default=0, description="how many open cases of the same category were reported "
                                                        "nearby in the last 72 hours, whoever reported them")


class CaseList(BaseModel):
    total: int
    items: list[CaseRead]


class ActionBody(BaseModel):
    note: str | None = Field(default=None, description="internal: on the case's own page, never in the public "
                             "feed or on the tracking page")
    reply: str | None = Field(default=None, description="staff's reply to the public, at most 2,000 characters: "
                              "published on the tracking page and in the Open311 feed (status_notes) with phone "
                              "and ID numbers masked")
    version: int | None = Field(default=None, description="the version you saw; 409 if it moved")
    assignee: str | None = None
    hours: int | None = None
    level: str | None = None
    rating: str | None = None
    original: str | None = None


class TrackBody(BaseModel):
    number: str
    phone: str


class TrackRate(TrackBody):
    rating: str
    comment: str | None = None


class PublicCase(BaseModel):
    """What a resident sees when tracking without an account: no names, no handler."""

    number: str
    status: str
    category_name: str
    reported_at: datetime
    closed_at: datetime | None
    rating: str | None
    can_rate: bool
    timeline: list[dict[str, Any]] = Field(description="the steps: at, action, status and staff's reply to the "
                                           "public (phone and ID numbers masked), never their notes")
