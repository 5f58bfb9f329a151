"""What the import API answers: an import's counts and its first rejected rows."""

from __future__ import annotations

import uuid

from pydantic import BaseModel


class ImportErrorRead(BaseModel):
    row: int
    column: str
    column_title: str
    reason: str
    message: str


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
