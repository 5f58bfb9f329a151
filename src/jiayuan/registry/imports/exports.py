"""Every filtered list of the registry as an Excel workbook, with the columns of its import template so that a
list exported with every digit visible imports again as it is.

ID numbers and phones are masked, and birth dates left out (the age stays), in every export by default. An unmasked
export of people or organizations is asked for on purpose: by a role that may unmask (people/policy.py), with a
reason that is a real sentence (kit.text.meaningful_reason); it is audited with the reason, the filter and the row
count (`registry_exported_unmasked`; a refusal as `export_unmask_refused`), and the file carries the account and the
time it was taken out in a first line and in every printed page's header and footer."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from jiayuan.accounts import service as accounts
from jiayuan.accounts.service import Principal
from jiayuan.kit import excel
from jiayuan.kit.clock import TIMEZONE
from jiayuan.kit.db import utcnow
from jiayuan.kit.errors import Invalid
from jiayuan.kit.identity import mask_id_number, mask_phone
from jiayuan.kit.text import meaningful_reason
from jiayuan.registry.imports.columns import (
    ACTIVE,
    AGE,
    BIRTH_DATE,
    COMPOUNDS,
    FACILITIES,
    HOUSES,
    ORGANIZATION_KIND_LABELS,
    ORGANIZATIONS,
    PEOPLE,
    RESIDENCE_LABELS,
    ROOM_USE_LABELS,
    SEX,
    SEX_LABELS,
    TAG_LABELS,
    THING_KIND_LABELS,
    THING_STATUS_LABELS,
)
from jiayuan.registry.models import Building, Compound, Household, Room
from jiayuan.registry.people import policy as people_policy
from jiayuan.registry.people import service as people
from jiayuan.registry.places import houses, organizations, things

BATCH = 5000
EXPORT_LIMIT = 300_000  # a district's residents; Excel itself stops at 1,048,576 rows
KINDS = ("people", "rooms", "things", "organizations", "compounds")
# The lists that hold ID numbers or phones, and so may be exported unmasked.
UNMASKABLE = ("people", "organizations")
SHEETS = {"people": "人口", "rooms": "房屋", "things": "设施", "organizations": "组织", "compounds": "小区"}


@dataclass
class Export:
    data: bytes
    rows: int
    unmasked: bool


def _pages(fetch: Callable[[int, int], Sequence[Any]]) -> Iterator[Sequence[Any]]:
    """The list in pages of BATCH through the same service function the list endpoint uses."""
    offset = 0
    while offset < EXPORT_LIMIT:
        items = fetch(min(BATCH, EXPORT_LIMIT - offset), offset)
        if not items:
            return
        yield items
        if len(items) < BATCH:
            return
        offset += len(items)


def _addresses(session: Session, room_ids: set[uuid.UUID], districts: set[str]) -> dict[uuid.UUID, tuple]:
    if not room_ids:
        return {}
    stmt = (select(Room.id, Compound.name, Building.name, Room.entrance, Room.number)
            .join(Building, and_(Building.district_code == Room.district_code, Building.id == Room.building_id))
            .outerjoin(Compound, and_(Compound.district_code == Building.district_code,
                                      Compound.id == Building.compound_id))
            .where(Room.district_code.in_(districts), Room.id.in_(room_ids)))
    return {r[0]: tuple(r[1:]) for r in session.execute(stmt)}


def _household_numbers(session: Session, ids: set[uuid.UUID], districts: set[str]) -> dict[uuid.UUID, str | None]:
    if not ids:
        return {}
    return {h: n for h, n in session.execute(select(Household.id, Household.number).where(
        Household.district_code.in_(districts), Household.id.in_(ids)))}


def _people_rows(session: Session, principal: Principal, filters: dict[str, Any], unmasked: bool,
                 counter: list[int]) -> Iterator[list[Any]]:
    today = date.today()
    for batch in _pages(lambda limit, offset: people.list_people(session, principal, **filters, limit=limit,
                                                                  offset=offset)):
        districts = {p.district_code for p in batch}
        tags = people.tags_of(session, batch)
        places = _addresses(session, {p.room_id for p in batch if p.room_id}, districts)
        numbers = _household_numbers(session, {p.household_id for p in batch if p.household_id}, districts)
        for p in batch:
            counter[0] += 1
            compound, building, entrance, room = places.get(p.room_id, (None, None, None, None))
            stored = [TAG_LABELS[t] for t in people.current_tags(p, tags[p.id], today)
                      if t not in people.DERIVED_TAGS]
            ident = p.id_number if unmasked or not p.id_number else mask_id_number(p.id_number)
            phone = p.phone if unmasked or not p.phone else mask_phone(p.phone)
            yield [p.name, ident, phone, p.grid_code, RESIDENCE_LABELS.get(p.residence_type, p.residence_type),
                   p.floating_expires_on, compound, building, entrance or None, room,
                   # The relation only beside its 户号: an import reads one with the other.
                   numbers.get(p.household_id), p.relation if numbers.get(p.household_id) else None,
                   ";".join(stored) or None, None,
                   p.birth_date if unmasked else None, SEX_LABELS.get(p.sex or "", None),
                   people.age_on(p.birth_date, today) if p.birth_date else None]


def _room_rows(session: Session, principal: Principal, filters: dict[str, Any],
               counter: list[int]) -> Iterator[list[Any]]:
    for batch in _pages(lambda limit, offset: houses.list_rooms(session, principal, **filters, limit=limit,
                                                                 offset=offset)[0]):
        ids = {r.building_id for r in batch}
        rows = session.execute(
            select(Building.id, Compound.name, Building.name, Building.floors)
            .outerjoin(Compound, and_(Compound.district_code == Building.district_code,
                                      Compound.id == Building.compound_id))
            .where(Building.district_code.in_({r.district_code for r in batch}), Building.id.in_(ids)))
        where = {b[0]: tuple(b[1:]) for b in rows}
        for r in batch:
            counter[0] += 1
            compound, building, floors = where.get(r.building_id, (None, None, None))
            yield [r.grid_code, compound, building, r.entrance or None, r.number,
                   ROOM_USE_LABELS.get(r.use, r.use), r.area, floors]


def _thing_rows(session: Session, principal: Principal, filters: dict[str, Any],
                counter: list[int]) -> Iterator[list[Any]]:
    for batch in _pages(lambda limit, offset: things.list_things(session, principal, **filters, limit=limit,
                                                                  offset=offset)[0]):
        for t in batch:
            counter[0] += 1
            yield [THING_KIND_LABELS.get(t.kind, t.kind), t.code, t.name, t.grid_code, t.lat, t.lon,
                   THING_STATUS_LABELS.get(t.status, t.status), t.owner, t.maintainer, t.installed_on]


def _organization_rows(session: Session, principal: Principal, filters: dict[str, Any], unmasked: bool,
                       counter: list[int]) -> Iterator[list[Any]]:
    for batch in _pages(lambda limit, offset: organizations.list_organizations(
            session, principal, **filters, limit=limit, offset=offset)[0]):
        for o in batch:
            counter[0] += 1
            phone = o.contact_phone if unmasked or not o.contact_phone else mask_phone(o.contact_phone)
            yield [o.name, ORGANIZATION_KIND_LABELS.get(o.kind, o.kind), o.credit_code, o.grid_code, o.address,
                   o.contact_name, phone, o.staff_count, "是" if o.active else "否"]


def _compound_rows(session: Session, principal: Principal, filters: dict[str, Any],
                   counter: list[int]) -> Iterator[list[Any]]:
    for batch in _pages(lambda limit, offset: houses.list_compounds(session, principal, **filters, limit=limit,
                                                                     offset=offset)[0]):
        for c in batch:
            counter[0] += 1
            yield [c.grid_code, c.name, c.address, c.property_company or "无物业", c.lat, c.lon]


def watermark(principal: Principal, at: Any = None) -> str:
    """Who took an unmasked list out, and when: the file's first line and every printed page's header and footer."""
    when = (at or utcnow()).astimezone(TIMEZONE).strftime("%Y-%m-%d %H:%M")
    return f"含完整个人信息 · 导出人 {principal.full_name}（{principal.username}）· {when} · 仅限事由所述用途，不得外传"


def export(session: Session, principal: Principal, kind: str, filters: dict[str, Any], *,
           unmask_reason: Any = None, ip: str | None = None) -> Export:
    """The list of `kind` the caller would page through with `filters`, as .xlsx, masked; unmasked only when
    `unmask_reason` is given (not None), by a role that may unmask, for a reason that is a sentence. Every export
    is audited."""
    unmasked = unmask_reason is not None
    reason = None
    if unmasked:
        if kind not in UNMASKABLE:
            raise Invalid(f"only {' and '.join(UNMASKABLE)} are exported unmasked", field="kind")
        if not people_policy.may_unmask(principal):
            accounts.audit_for(session, principal, "export_unmask_refused", target=f"registry/{kind}/export", ip=ip,
                               detail={"kind": kind})
            people_policy.require_unmasker(principal)
        reason = meaningful_reason(unmask_reason)
    filters = {k: v for k, v in filters.items() if v is not None}
    counter = [0]
    if kind == "people":
        columns: Sequence[excel.Column] = (*PEOPLE, BIRTH_DATE, SEX, AGE)
        rows = _people_rows(session, principal, filters, unmasked, counter)
    elif kind == "rooms":
        columns, rows = HOUSES, _room_rows(session, principal, filters, counter)
    elif kind == "things":
        columns, rows = FACILITIES, _thing_rows(session, principal, filters, counter)
    elif kind == "organizations":
        columns = (*ORGANIZATIONS, ACTIVE)
        rows = _organization_rows(session, principal, filters, unmasked, counter)
    elif kind == "compounds":
        columns, rows = COMPOUNDS, _compound_rows(session, principal, filters, counter)
    else:
        raise ValueError(kind)
    # The first row before the workbook: a bad filter is refused before anything is written.
    first = next(rows, None)
    mark = watermark(principal) if unmasked else None
    data = excel.write_list(columns, itertools.chain([first], rows) if first is not None else (), sheet=SHEETS[kind],
                            title=mark, page_mark=mark)
    shown = {k: str(v) for k, v in filters.items()}
    # Who took which list out, and how much of it; an unmasked one under an action of its own, with its reason.
    detail: dict[str, Any] = {"kind": kind, "filters": shown, "rows": counter[0], "unmasked": unmasked}
    if unmasked:
        detail["reason"] = reason
    accounts.audit_for(session, principal, "registry_exported_unmasked" if unmasked else "registry_exported",
                       target=f"registry/{kind}/export", ip=ip, detail=detail)
    return Export(data, counter[0], unmasked)
