"""Case categories: loaded from data/categories.toml, edited by the district admin."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.cases.models import Category
from jiayuan.kit import cache
from jiayuan.kit.errors import Invalid, NotFound

DATA = Path(__file__).resolve().parent / "data" / "categories.toml"
LEVELS = ("grid", "community", "street", "district", "department")
CACHE = "case_categories"  # kit/cache.py version row of the categories


def read_data(path: Path = DATA) -> list[dict[str, Any]]:
    """Rows for the table, groups first, each item with its attributes."""
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    attributes: dict[str, list[dict[str, Any]]] = {}
    for a in raw.get("attribute", []):
        attributes.setdefault(a["category"], []).append(
            {k: v for k, v in a.items() if k != "category"})
    rows: list[dict[str, Any]] = []
    for gi, group in enumerate(raw["group"]):
        rows.append({"code": group["code"], "parent_code": None, "kind": group["kind"], "name_zh": group["zh"],
                     "name_en": group["en"], "handling_level": "community", "time_limit_hours": 40,
                     "urgent": False, "department": None, "sort": gi * 100, "attributes": None})
        for ii, item in enumerate(group["items"]):
            rows.append({"code": item["code"], "parent_code": group["code"], "kind": group["kind"],
                         "name_zh": item["zh"], "name_en": item["en"], "handling_level": item["level"],
                         "time_limit_hours": item["hours"], "urgent": item.get("urgent", False),
                         "department": item.get("department"), "sort": gi * 100 + ii + 1,
                         "attributes": attributes.get(item["code"])})
    return rows


def load_categories(session: Session) -> int:
    """Insert the categories the database does not have yet; an admin's edits are never overwritten."""
    have = set(session.scalars(select(Category.code)))
    new = [Category(**row) for row in read_data() if row["code"] not in have]
    session.add_all(new)
    session.flush()
    if new:
        cache.bump(session, CACHE)
    return len(new)


def list_categories(session: Session, *, active_only: bool = True) -> list[Category]:
    stmt = select(Category).order_by(Category.sort, Category.code)
    if active_only:
        stmt = stmt.where(Category.is_active)
    return list(session.scalars(stmt))


@dataclass(frozen=True)
class Item:
    """An active item as intake reads it: a copy kept by every process until the categories change."""

    code: str
    kind: str
    name_zh: str
    name_en: str
    handling_level: str
    time_limit_hours: int
    urgent: bool
    department: str | None
    attributes: tuple[dict[str, Any], ...] | None


def _items(session: Session) -> dict[str, Item]:
    return {c.code: Item(c.code, c.kind, c.name_zh, c.name_en, c.handling_level, c.time_limit_hours, c.urgent,
                         c.department, tuple(c.attributes) if c.attributes else None)
            for c in session.scalars(select(Category).where(Category.parent_code.is_not(None), Category.is_active))}


# Every report reads its category: from this process's copy, checked against the version row that intake's
# other caches are checked with in the same query (kit/cache.py), rather than by a query of its own.
_active_items = cache.ProcessCache(CACHE, _items)


def get_item(session: Session, code: Any, field: str = "category") -> Item:
    """A category a case can be filed under: an active 4-digit item."""
    item = _active_items.get(session).get(code) if isinstance(code, str) else None
    if item is None:
        raise Invalid(f"unknown category {code!r}; use a 4-digit item code from /api/v1/cases/categories",
                      field=field)
    return item


EDITABLE = {"name_zh", "name_en", "handling_level", "time_limit_hours", "urgent", "department", "is_active"}


def update_category(session: Session, code: str, changes: dict[str, Any]) -> Category:
    category = session.get(Category, code)
    if category is None:
        raise NotFound(f"no category {code}", field="code")
    for key, value in changes.items():
        if key not in EDITABLE:
            raise Invalid("cannot be changed", field=key)
        if key == "handling_level" and value not in LEVELS:
            raise Invalid(f"one of {', '.join(LEVELS)}", field=key)
        if key == "time_limit_hours" and (not isinstance(value, int) or not 1 <= value <= 2000):
            raise Invalid("a whole number of hours from 1 to 2000", field=key)
        if key in ("name_zh", "name_en") and (not isinstance(value, str) or not value.strip()):
            raise Invalid("required", field=key)
        setattr(category, key, value)
    if category.handling_level == "department" and not category.department:
        raise Invalid("a department category needs the department account that receives it", field="department")
    session.flush()
    cache.bump(session, CACHE)
    return category
