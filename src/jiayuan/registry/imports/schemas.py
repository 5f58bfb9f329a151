"""What the import API answers: an import's counts and its first rejected rows."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, Field


class ImportErrorRead(BaseModel):
    row: int
    column: str
    column_title: str
    reason: str
    message: str


class ImportFailure(BaseModel):
    """Why an import failed, as the API's errors say it: the file's problem, or the work stopped part way."""

    error: str
    reason: str
    message: str
    field: str | None = None
    params: dict[str, Any] | None = None
    details: dict[str, Any] | None = None


class ImportRead(BaseModel):
    id: uuid.UUID
    kind: str
    mode: str
    file_name: str
    total: int
    created: int
    updated: int
    unchanged: int
    rejected: int
    written: bool
    error_count: int
    errors: list[ImportErrorRead]
    errors_url: str
    status: str  # queued, running, done, failed
    stage: str | None = None  # while running: check (rows read and checked), then write
    rows_done: int = 0
    rows_total: int | None = None
    failure: ImportFailure | None = None


REASON = Field(default=None, max_length=500, description=(
    "why the whole numbers are needed, a sentence (recorded in the audit log), e.g. 按民政局通知核对低保户信息"))


class PeopleExportRequest(BaseModel):
    """The filters of GET /people/export, and the reason for seeing the list unmasked."""

    grid: str | None = Field(default=None, description="a grid, community or street code")
    tag: str | None = None
    residence_type: str | None = None
    q: str | None = Field(default=None, description="name or pinyin initials only")
    reason: str | None = REASON


class OrganizationsExportRequest(BaseModel):
    grid: str | None = Field(default=None, description="a grid, community or street code")
    kind: str | None = None
    active: bool | None = None
    reason: str | None = REASON
