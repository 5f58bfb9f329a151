"""The service catalogue and the kinds of service centre: reference data loaded from data/*.toml, then kept by
the district administrator (an edit is never overwritten by a later load)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.accounts.service import Principal
from jiayuan.kit.errors import Conflict, Invalid
from jiayuan.kit.text import clean_text
from jiayuan.services.catalogue.models import CentreKind, ServiceItem
from jiayuan.services.catalogue.policy import KIND_KEEPERS
from jiayuan.services.policy import require_role

KIND_CODE = re.compile(r"[a-z][a-z0-9_]{1,23}")
DATA = Path(__file__).resolve().parent.parent / "data"  # the domain's data files: services/data/


def read_catalogue(path: Path = DATA / "catalogue.toml") -> list[dict[str, Any]]:
    """Rows for service_items, each group before its items; prices in fen."""
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    rows: list[dict[str, Any]] = []
    for gi, group in enumerate(raw["group"]):
        rows.append({"code": group["code"], "parent_code": None, "name_zh": group["zh"], "name_en": group["en"],
                     "sort": gi * 100})
        for ii, item in enumerate(group["items"]):
            low, high = item["price"]
            rows.append({
                "code": item["code"], "parent_code": group["code"], "name_zh": item["zh"], "name_en": item["en"],
                "unit_zh": item["unit"][0], "unit_en": item["unit"][1],
                "price_min_fen": round(low * 100), "price_max_fen": round(high * 100),
                "public_welfare": item.get("welfare", False), "round_the_clock": item.get("allday", False),
                "hours": None if item.get("allday") else item.get("hours"), "sort": gi * 100 + ii + 1,
            })
    return rows


def read_centre_kinds(path: Path = DATA / "centre_kinds.toml") -> list[dict[str, Any]]:
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    return [{"code": k["code"], "name_zh": k["zh"], "name_en": k["en"], "standard": k["standard"], "sort": i}
            for i, k in enumerate(raw["kind"])]


def load_catalogue(session: Session) -> int:
    """Insert the catalogue entries and centre kinds the database does not have yet; returns how many."""
    added = 0
    for model, rows in ((CentreKind, read_centre_kinds()), (ServiceItem, read_catalogue())):
        have = set(session.scalars(select(model.code)))
        new = [model(**row) for row in rows if row["code"] not in have]
        session.add_all(new)
        added += len(new)
    session.flush()
    return added


def list_items(session: Session, *, active_only: bool = True) -> list[ServiceItem]:
    """The whole catalogue, groups and items in display order."""
    stmt = select(ServiceItem).order_by(ServiceItem.sort, ServiceItem.code)
    if active_only:
        stmt = stmt.where(ServiceItem.is_active)
    return list(session.scalars(stmt))


def get_item(session: Session, code: Any, field: str = "item") -> ServiceItem:
    """An item that can be ordered or offered: an active 4-digit entry of the catalogue."""
    item = session.get(ServiceItem, code) if isinstance(code, str) else None
    if item is None or item.parent_code is None or not item.is_active:
        raise Invalid(f"unknown service item {code!r}; use a 4-digit code from the catalogue", field=field)
    return item


def list_centre_kinds(session: Session) -> list[CentreKind]:
    return list(session.scalars(select(CentreKind).order_by(CentreKind.sort, CentreKind.code)))


def get_centre_kind(session: Session, code: Any, field: str = "kind") -> CentreKind:
    kind = session.get(CentreKind, code) if isinstance(code, str) else None
    if kind is None:
        raise Invalid(f"unknown kind of centre {code!r}", field=field)
    return kind


# --- Kinds: the 8 standard and local "X" kinds -------------------------------------------------------------


def add_kind(session: Session, principal: Principal, *, code: Any, name_zh: Any, name_en: Any) -> CentreKind:
    """A local "X" kind of centre (district admin): reference data, never one of the standard eight."""
    require_role(principal, KIND_KEEPERS, "add kinds of centre")
    if not isinstance(code, str) or not KIND_CODE.fullmatch(code):
        raise Invalid("2–24 lower-case letters, digits or _, starting with a letter", field="code")
    zh = clean_text(name_zh, "name_zh", 40, required=True)
    en = clean_text(name_en, "name_en", 80, required=True)
    if session.get(CentreKind, code) is not None:
        raise Conflict(f"the kind {code} already exists", field="code")
    last = max((k.sort for k in list_centre_kinds(session)), default=0)
    kind = CentreKind(code=code, name_zh=zh, name_en=en, standard=False, sort=last + 1)
    session.add(kind)
    session.flush()
    return kind
