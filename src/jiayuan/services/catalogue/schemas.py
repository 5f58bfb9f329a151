"""Pydantic shapes of the service catalogue and the kinds of service centre."""

from __future__ import annotations

from pydantic import BaseModel, Field

from jiayuan.services.schemas import Orm

# Catalogue and kinds.


class ItemRead(Orm):
    code: str
    name_zh: str
    name_en: str
    unit_zh: str | None
    unit_en: str | None
    price_min_fen: int | None
    price_max_fen: int | None
    public_welfare: bool
    round_the_clock: bool
    hours: str | None


class GroupRead(Orm):
    code: str
    name_zh: str
    name_en: str
    items: list[ItemRead]


class CatalogueRead(BaseModel):
    groups: list[GroupRead]


class KindRead(Orm):
    code: str
    name_zh: str
    name_en: str
    standard: bool
    sort: int


class KindCreate(BaseModel):
    code: str = Field(description="2–24 lower-case letters, digits or _")
    name_zh: str
    name_en: str
