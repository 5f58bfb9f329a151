"""Shapes of people (人) in the API; personal fields are masked in every read shape except unmask and export."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, Field

# Inputs stay loosely typed on purpose: the service validates them and names the field in its error, the same
# way for the API, the forms and the imports.


class PersonCreate(BaseModel):
    name: str | None = None
    grid_code: str | None = None
    id_number: str | None = Field(default=None, description="18-character citizen ID number (GB 11643)")
    phone: str | None = Field(default=None, description="mainland mobile number")
    residence_type: str | None = Field(default=None, description="registered, floating, foreign or unsettled")
    floating_expires_on: date | None = None
    room_id: uuid.UUID | None = None
    notes: str | None = None


class PersonUpdate(BaseModel):
    """Every field optional; only the fields sent change. The grid changes by a move."""

    name: str | None = None
    id_number: str | None = None
    phone: str | None = None
    residence_type: str | None = None
    floating_expires_on: date | None = None
    room_id: uuid.UUID | None = None
    notes: str | None = None


class TagRead(BaseModel):
    id: uuid.UUID
    tag: str
    grade: str | None
    starts_on: date | None
    ends_on: date | None
    note: str | None


class TagCreate(BaseModel):
    tag: str
    starts_on: date | None = None
    ends_on: date | None = None
    grade: str | None = None
    note: str | None = Field(default=None, max_length=200)


class MoveCreate(BaseModel):
    to_grid: str
    to_room_id: uuid.UUID | None = None
    note: str | None = Field(default=None, max_length=200)


class MoveRead(BaseModel):
    id: uuid.UUID
    moved_at: datetime
    from_grid: str | None
    to_grid: str
    from_room_id: uuid.UUID | None
    to_room_id: uuid.UUID | None
    note: str | None


class PersonRead(BaseModel):
    id: uuid.UUID
    grid_code: str
    name: str
    name_initials: str | None
    id_number: str | None = Field(description="masked to the first two characters and the check character, e.g. "
                                              "36***************X")
    phone: str | None = Field(description="masked to the last four digits, e.g. *******5678")
    sex: str | None
    age: int | None = Field(description="completed years today, from the birth date in the ID number")
    birth_year: int | None = Field(description="the year of birth; the full birth date is only in an unmasked view "
                                               "(POST …/unmask)")
    residence_type: str
    floating_expires_on: date | None
    household_id: uuid.UUID | None
    relation: str | None
    room_id: uuid.UUID | None
    anonymized_at: datetime | None
    tags: list[str] = Field(description="groups in force today, age groups derived from the birth date")


class PersonDetail(PersonRead):
    notes: str | None
    tag_history: list[TagRead]
    moves: list[MoveRead]


class PersonList(BaseModel):
    items: list[PersonRead]
    limit: int
    offset: int


class SearchRequest(BaseModel):
    """In a body, never a URL: the query may be an ID number or a phone."""

    q: str
    limit: int = Field(default=20, ge=1, le=100)
    reason: str | None = Field(default=None, max_length=500, description=(
        "required when q is an ID number or a phone (an exact look-up, audited with it): a sentence saying why, "
        "e.g. 核实来访居民身份"))


class UnmaskRequest(BaseModel):
    reason: str | None = Field(default=None, description="a sentence saying why (recorded in the audit log)")
    fields: list[str] = Field(default_factory=lambda: ["id_number", "phone", "birth_date"],
                              description="among id_number, phone, birth_date")


class UnmaskRead(BaseModel):
    id_number: str | None = None
    phone: str | None = None
    birth_date: date | None = None


class AnonymizeRequest(BaseModel):
    reason: str | None = None


class HouseholdRead(BaseModel):
    id: uuid.UUID
    grid_code: str
    number: str | None
    room_id: uuid.UUID | None
    head_id: uuid.UUID | None


class PersonExportRead(BaseModel):
    """Everything held about one person, unmasked: the answer to a data-subject request."""

    id: uuid.UUID
    district_code: str
    grid_code: str
    name: str
    name_initials: str | None
    id_number: str | None
    phone: str | None
    birth_date: date | None
    sex: str | None
    residence_type: str
    floating_expires_on: date | None
    relation: str | None
    room_id: uuid.UUID | None
    notes: str | None
    created_at: datetime
    updated_at: datetime
    anonymized_at: datetime | None
    household: HouseholdRead | None
    tags: list[TagRead]
    moves: list[MoveRead]
