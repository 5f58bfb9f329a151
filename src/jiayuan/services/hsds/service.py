"""The service directory as Open Referral HSDS 3.0: organizations, services, locations, service-at-location,
schedules, phones and contacts, read from the services tables for the public feed (``hsds_api``) and for
``jiayuan export hsds``.

What is published (docs/services.md, "HSDS"):

- organizations: every active provider (its unified social credit code as an organization identifier), and each
  street office — or the district government — that runs public service centres;
- services: each catalogue item an active provider offers (the catalogue's name, the provider's price as a cost
  option in CNY, its week or round the clock as schedules, its area units as service areas), and each public,
  active service centre (its kind as a taxonomy term, its week and its coming exceptions as schedules);
- locations: the centres, and the providers' addresses; one service_at_location per service that has a place.

Only public lines become phones — a centre's line, a provider's service line and the district's hotline — never a
provider's contact phone, which is a person's (it is not even loaded). A centre's contact name is published; a
provider's contact person is not. Text is in Chinese (language ``zh``).

Ids are our UUIDs: a provider's, a provider item's, a centre's, a street unit's. An HSDS object that has no row of
its own (a centre's service, a schedule, a phone …) gets an id derived from the UUID of the row it comes from by
``derive``, which is stable and reversible, so that ``/services/{id}`` finds its row without a lookup table.
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select
from sqlalchemy.orm import Session, defer

from jiayuan.kit.i18n import TIMEZONE
from jiayuan.kit.text import search_term
from jiayuan.services.catalogue.models import CentreKind, ServiceItem
from jiayuan.services.centres.models import CentreException, ServiceCentre
from jiayuan.services.providers.models import Provider, ProviderArea, ProviderItem
from jiayuan.units.models import Unit
from jiayuan.units.service import single_district

HSDS_VERSION = "3.0"
DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "hsds.toml"
PER_PAGE, MAX_PER_PAGE = 50, 500
EXCEPTION_DAYS = 60  # a centre's exceptions this many days ahead are published, each as a schedule of its day
DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
CATALOGUE_TAXONOMY = "家园12343便民服务项目目录"
KIND_TAXONOMY = "家园“8+X”服务中心类型"
_NAMESPACE = uuid.UUID("9df634be-2af5-4a7a-8840-f9bce326ce2d")  # of the taxonomy terms' uuid5 ids
_UTC_OFFSET = datetime(2000, 1, 1, tzinfo=TIMEZONE).utcoffset() or timedelta(0)
_HOURS = _UTC_OFFSET.total_seconds() / 3600
TIMEZONE_HOURS = int(_HOURS) if _HOURS.is_integer() else _HOURS  # schedule.timezone: 8, no summer time
_OFFSET = f"{'+' if _UTC_OFFSET >= timedelta(0) else '-'}{abs(_UTC_OFFSET) // timedelta(hours=1):02d}:" \
          f"{abs(_UTC_OFFSET) % timedelta(hours=1) // timedelta(minutes=1):02d}"
LEVEL_ZH = {"district": "区", "street": "街道", "community": "社区", "grid": "网格"}


# --- Ids ----------------------------------------------------------------------------------------------------


@cache
def _mask(kind: str) -> int:
    return int.from_bytes(hashlib.sha256(f"jiayuan.hsds:{kind}".encode()).digest()[:8], "big") & ((1 << 62) - 1)


def derive(kind: str, base: uuid.UUID) -> uuid.UUID:
    """The id of an HSDS object of `kind` made from the row `base`: the row's UUID with its 62 random bits (RFC
    9562 ``rand_b``) XOR-ed with a mask fixed for the kind. Version, variant and time stay; ``derive`` undoes
    itself, so ``derive(kind, derived)`` is the row's id again."""
    return uuid.UUID(int=base.int ^ _mask(kind))


def _term_id(taxonomy: str, code: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{taxonomy}:{code}"))


def parse_id(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return None


# --- Small formats ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DistrictInfo:
    code: str
    name: str
    province: str = ""
    city: str = ""
    postal_code: str = ""
    hotline: str | None = None
    hotline_name: str | None = None


@cache
def _district_data() -> dict[str, dict[str, str]]:
    return tomllib.loads(DATA_FILE.read_text(encoding="utf-8")).get("district", {})


def _moment(value: datetime | None) -> str | None:
    """HSDS date-times: local time with its offset, to the millisecond."""
    return value.astimezone(TIMEZONE).isoformat(timespec="milliseconds") if value else None


def _time(hhmm: str) -> str:
    """``08:30`` → ``08:30+08:00``; the end of the day, ``24:00``, is not a time of day: ``23:59``."""
    return f"{'23:59' if hhmm == '24:00' else hhmm}{_OFFSET}"


def _yuan(fen: int) -> str:
    return str(fen // 100) if fen % 100 == 0 else f"{fen / 100:.2f}"


def _days_zh(days: list[int]) -> str:
    """[1, 2, 3, 4, 5] → 周一至周五; [1, 3] → 周一、周三."""
    names = "一二三四五六日"
    if len(days) >= 3 and days == list(range(days[0], days[-1] + 1)):
        return f"周{names[days[0] - 1]}至周{names[days[-1] - 1]}"
    return "、".join(f"周{names[d - 1]}" for d in days)


def _compact(doc: dict[str, Any]) -> dict[str, Any]:
    """HSDS fields are typed without null: a value we do not have is left out."""
    return {k: v for k, v in doc.items() if v is not None and v != []}


def weekly_groups(hours: dict[str, Any] | None, round_the_clock: bool = False,
                  ) -> list[tuple[str, str, list[int]]]:
    """(opens, closes, ISO weekdays) for each distinct interval of a week, in the order of the week."""
    if round_the_clock:
        return [("00:00", "24:00", list(range(1, 8)))]
    groups: dict[tuple[str, str], list[int]] = {}
    for day in range(1, 8):
        for start, end in (hours or {}).get(str(day)) or []:
            groups.setdefault((start, end), []).append(day)
    return sorted(((s, e, days) for (s, e), days in groups.items()), key=lambda g: (g[2][0], g[0]))


# --- What a page needs: filters, statements, the related rows loaded in a few queries ---------------------


@dataclass
class Filter:
    """What the caller asked for; `district` is set when the database holds one district (the usual case)."""

    district: str | None = None
    search: str | None = None
    organization_id: uuid.UUID | None = None
    modified_after: datetime | None = None
    located: bool = False  # only services that have a place (the service_at_locations)


@dataclass(frozen=True)
class _Office:
    """A street office or the district government: the organization that runs a unit's centres."""

    id: uuid.UUID
    district_code: str
    code: str
    name: str  # the unit's name
    centres: int = 0

    @property
    def org_name(self) -> str:
        return f"{self.name}{'人民政府' if len(self.code) == 6 else '办事处'}"


def _office_code(unit_code: str) -> str:
    """Centres of a street or of its communities are run by the street office; the district's own, by the
    district."""
    return unit_code if len(unit_code) == 6 else unit_code[:9]


def _chain(code: str) -> list[str]:
    return [code[:n] for n in (6, 9, 12, 15) if n <= len(code)]


def _centre_conditions(f: Filter, office: _Office | None) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = [ServiceCentre.active.is_(True), ServiceCentre.is_public.is_(True)]
    if f.district:
        conds.append(ServiceCentre.district_code == f.district)
    if f.search:
        conds.append(or_(ServiceCentre.name.icontains(f.search, autoescape=True),
                         CentreKind.name_zh.icontains(f.search, autoescape=True),
                         CentreKind.name_en.icontains(f.search, autoescape=True)))
    if f.modified_after:
        conds.append(ServiceCentre.updated_at >= f.modified_after)
    if f.organization_id is not None:
        if office is None:
            conds.append(false())
        else:
            conds.append(ServiceCentre.district_code == office.district_code)
            conds.append(ServiceCentre.unit_code == office.code if len(office.code) == 6
                         else ServiceCentre.unit_code.startswith(office.code, autoescape=True))
    return conds


def _provider_conditions(f: Filter, office: _Office | None) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = [Provider.status == "active", ProviderItem.active.is_(True),
                                        ServiceItem.is_active.is_(True)]
    if f.district:
        conds.append(ProviderItem.district_code == f.district)
    if f.search:
        conds.append(or_(ServiceItem.name_zh.icontains(f.search, autoescape=True),
                         ServiceItem.name_en.icontains(f.search, autoescape=True),
                         Provider.name.icontains(f.search, autoescape=True)))
    if f.modified_after:
        conds.append(Provider.updated_at >= f.modified_after)
    if f.organization_id is not None:
        conds.append(false() if office is not None else Provider.id == f.organization_id)
    if f.located:
        conds.append(or_(Provider.address.is_not(None), Provider.lat.is_not(None)))
    return conds


def _provider_join(stmt: Select) -> Select:
    return (stmt.join(Provider, and_(Provider.district_code == ProviderItem.district_code,
                                     Provider.id == ProviderItem.provider_id))
            .join(ServiceItem, ServiceItem.code == ProviderItem.item_code))


def _providers_only() -> Any:
    # A provider's contact phone is a person's: never loaded here, and an attempt to read it raises.
    return defer(Provider.contact_phone, raiseload=True)


def _office_units(session: Session, keys: set[tuple[str, str]]) -> dict[tuple[str, str], tuple[uuid.UUID, str]]:
    """(district, code) → (unit id, name) for offices' units, in one query."""
    if not keys:
        return {}
    rows = session.execute(select(Unit.district_code, Unit.code, Unit.id, Unit.name).where(
        Unit.district_code.in_({d for d, _ in keys}), Unit.code.in_({c for _, c in keys})))
    return {(d, c): (i, n) for d, c, i, n in rows}


def offices(session: Session, f: Filter) -> list[_Office]:
    """The organizations that run public centres, by unit code; a handful per district."""
    stmt = (select(ServiceCentre.district_code, ServiceCentre.unit_code, func.count())
            .where(ServiceCentre.active.is_(True), ServiceCentre.is_public.is_(True))
            .group_by(ServiceCentre.district_code, ServiceCentre.unit_code))
    if f.district:
        stmt = stmt.where(ServiceCentre.district_code == f.district)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for district, unit_code, n in session.execute(stmt):
        counts[(district, _office_code(unit_code))] += n
    units = _office_units(session, set(counts))
    found = []
    for key in sorted(counts):
        uid, name = units.get(key) or (uuid.uuid5(_NAMESPACE, f"office:{key[0]}:{key[1]}"), key[1])
        found.append(_Office(uid, key[0], key[1], name, counts[key]))
    if f.search:
        needle = f.search.casefold()
        found = [o for o in found if needle in o.org_name.casefold()]
    return found


def _office_of(session: Session, f: Filter) -> _Office | None:
    """The office the organization_id filter names, if it names one (else it is a provider's id, or nothing)."""
    if f.organization_id is None:
        return None
    return next((o for o in offices(session, Filter(district=f.district)) if o.id == f.organization_id), None)


class _Builder:
    """Turns a page of rows into HSDS documents; its constructor loads every related row in a few queries."""

    def __init__(self, session: Session, centres: list[tuple[ServiceCentre, CentreKind]],
                 items: list[tuple[ProviderItem, Provider, ServiceItem]], *, full: bool,
                 providers: list[Provider] | None = None, today: date | None = None) -> None:
        self.full = full
        districts = ({c.district_code for c, _ in centres} | {p.district_code for _, p, _ in items}
                     | {p.district_code for p in providers or []})
        codes: set[str] = set()
        for c, _ in centres:
            codes.update(_chain(c.unit_code))
        self.areas: dict[uuid.UUID, list[ProviderArea]] = defaultdict(list)
        self.exceptions: dict[uuid.UUID, list[CentreException]] = defaultdict(list)
        self.groups: dict[str, ServiceItem] = {}
        provider_ids = {p.id for _, p, _ in items}
        if full and provider_ids:
            for area in session.scalars(select(ProviderArea).where(
                    ProviderArea.district_code.in_(districts), ProviderArea.provider_id.in_(provider_ids))
                    .order_by(ProviderArea.unit_code)):
                self.areas[area.provider_id].append(area)
                codes.update(_chain(area.unit_code))
        if full and centres:
            today = today or datetime.now(TIMEZONE).date()
            for e in session.scalars(select(CentreException).where(
                    CentreException.district_code.in_(districts),
                    CentreException.centre_id.in_({c.id for c, _ in centres}),
                    CentreException.day >= today, CentreException.day <= today + timedelta(days=EXCEPTION_DAYS))
                    .order_by(CentreException.day)):
                self.exceptions[e.centre_id].append(e)
        if full and items:
            self.groups = {g.code: g for g in session.scalars(select(ServiceItem).where(
                ServiceItem.parent_code.is_(None)))}
        codes.update(districts)
        self.units: dict[tuple[str, str], tuple[uuid.UUID, str]] = {}
        if codes:
            self.units = {(d, c): (i, n) for d, c, i, n in session.execute(
                select(Unit.district_code, Unit.code, Unit.id, Unit.name).where(
                    Unit.district_code.in_(districts), Unit.code.in_(codes)))}
        data = _district_data()
        self.districts = {d: DistrictInfo(d, self._unit_name(d, d), **data.get(d, {})) for d in districts}

    # -- helpers

    def _unit_name(self, district: str, code: str) -> str:
        return self.units.get((district, code), (None, code))[1]

    def _path(self, district: str, code: str) -> str:
        return " ".join(self._unit_name(district, c) for c in _chain(code))

    def office(self, centre: ServiceCentre) -> _Office:
        code = _office_code(centre.unit_code)
        uid, name = self.units.get((centre.district_code, code)) or (
            uuid.uuid5(_NAMESPACE, f"office:{centre.district_code}:{code}"), code)
        return _Office(uid, centre.district_code, code, name)

    def _address(self, district: str, location_id: uuid.UUID, line: str | None) -> list[dict[str, Any]]:
        if not line:
            return []
        info = self.districts[district]
        return [{"id": str(derive("address", location_id)), "location_id": str(location_id), "address_1": line,
                 "city": info.city, "region": info.name, "state_province": info.province,
                 "postal_code": info.postal_code, "country": "CN", "address_type": "physical"}]

    def _schedules(self, owner: uuid.UUID, link: dict[str, str], hours: dict[str, Any] | None,
                   round_the_clock: bool) -> list[dict[str, Any]]:
        rows = []
        for n, (start, end, days) in enumerate(weekly_groups(hours, round_the_clock)):
            rows.append({"id": str(derive(f"schedule:{n}", owner)), **link, "freq": "WEEKLY", "wkst": "MO",
                         "byday": ",".join(DAYS[d - 1] for d in days), "opens_at": _time(start),
                         "closes_at": _time(end), "timezone": TIMEZONE_HOURS,
                         "description": "24小时服务" if round_the_clock else f"{_days_zh(days)} {start}-{end}"})
        return rows

    def _languages(self, service_id: uuid.UUID) -> list[dict[str, Any]]:
        return [{"id": str(derive("language", service_id)), "service_id": str(service_id), "name": "中文",
                 "code": "zh"}]

    def _phone(self, kind: str, owner: uuid.UUID, link: dict[str, str], number: str | None,
               description: str) -> list[dict[str, Any]]:
        if not number:
            return []
        return [{"id": str(derive(kind, owner)), **link, "number": number, "type": "voice",
                 "description": description}]

    # -- organizations

    def provider_org(self, p: Provider, *, full: bool = False) -> dict[str, Any]:
        info = self.districts[p.district_code]
        doc = _compact({"id": str(p.id), "name": p.name,
                        "description": p.description or f"{info.hotline_name or '便民服务'}加盟企业"})
        if not full:
            return doc
        link = {"organization_id": str(p.id)}
        return _compact({
            **doc,
            "phones": self._phone("phone", p.id, link, p.service_phone, "服务电话"),
            "locations": [self.provider_location(p, full=True)] if _has_place(p) else [],
            "organization_identifiers": [{"id": str(derive("organization_identifier", p.id)), **link,
                                          "identifier_type": "统一社会信用代码", "identifier": p.credit_code}],
        })

    def office_org(self, office: _Office) -> dict[str, Any]:
        return {"id": str(office.id), "name": office.org_name,
                "description": f"{office.org_name}：运营辖区的“8+X”服务中心"}

    # -- locations

    def provider_location(self, p: Provider, *, full: bool) -> dict[str, Any]:
        lid = derive("location", p.id)
        doc = {"id": str(lid), "location_type": "physical", "organization_id": str(p.id), "name": p.name,
               "latitude": p.lat, "longitude": p.lon}
        if full:
            doc["addresses"] = self._address(p.district_code, lid, p.address)
        return _compact(doc)

    def centre_location(self, c: ServiceCentre, kind: CentreKind, *, full: bool) -> dict[str, Any]:
        doc = {"id": str(c.id), "location_type": "physical", "organization_id": str(self.office(c).id),
               "name": c.name, "description": kind.name_zh, "latitude": c.lat, "longitude": c.lon}
        if full:
            doc["addresses"] = self._address(c.district_code, c.id, c.address)
            doc["phones"] = self._phone("phone", c.id, {"location_id": str(c.id)}, c.phone, "中心电话")
        return _compact(doc)

    # -- services

    def provider_service(self, pi: ProviderItem, p: Provider, item: ServiceItem, *, nested_org: bool = True,
                         with_locations: bool = True) -> dict[str, Any]:
        info = self.districts[p.district_code]
        sid, link = pi.id, {"service_id": str(pi.id)}
        if pi.price_fen is None:
            fees = "上门报价"
        elif pi.price_fen == 0:
            fees = "免费"
        else:
            fees = f"{_yuan(pi.price_fen)}元/{item.unit_zh or '次'}"
        if item.public_welfare and pi.price_fen != 0:
            fees = f"公益服务，{fees}"
        line = (info.hotline_name if info.hotline_name and info.hotline in info.hotline_name
                else f"{info.hotline_name or '服务热线'}（{info.hotline}）")
        how = (f"拨打{line}或在家园平台下单预约，由{p.name}上门服务" if info.hotline
               else f"在家园平台下单预约，由{p.name}上门服务")
        doc: dict[str, Any] = {
            "id": str(sid), "organization_id": str(p.id), "name": item.name_zh, "alternate_name": item.name_en,
            "description": f"{p.name}提供的{item.name_zh}服务" + ("，24小时服务" if p.round_the_clock else ""),
            "status": "active", "application_process": how, "fees_description": fees,
            "last_modified": _moment(p.updated_at),
        }
        if not self.full:
            if nested_org:
                doc["organization"] = self.provider_org(p)
            return _compact(doc)
        cost: dict[str, Any] = {"id": str(derive("cost_option", sid)), **link, "currency": "CNY",
                                "amount_description": f"每{item.unit_zh}" if item.unit_zh else None}
        if pi.price_fen is None:
            cost["amount_description"] = "上门报价"
        else:
            cost["amount"] = pi.price_fen // 100 if pi.price_fen % 100 == 0 else pi.price_fen / 100
        if item.public_welfare:
            cost["option"] = "公益服务"
        group = self.groups.get(item.parent_code or "")
        term = {"id": _term_id(CATALOGUE_TAXONOMY, item.code), "code": item.code, "name": item.name_zh,
                "description": f"{group.name_zh}：{item.name_zh}" if group else item.name_zh,
                "parent_id": _term_id(CATALOGUE_TAXONOMY, group.code) if group else None,
                "taxonomy": CATALOGUE_TAXONOMY, "language": "zh"}
        doc.update(
            phones=(self._phone("phone", sid, link, p.service_phone, f"{p.name}服务电话")
                    + self._phone("hotline_phone", sid, link, info.hotline, info.hotline_name or "服务热线")),
            schedules=self._schedules(sid, link, p.weekly_hours, p.round_the_clock),
            service_areas=[{"id": str(derive(f"service_area:{item.code}", a.id)), **link,
                            "name": self._unit_name(a.district_code, a.unit_code),
                            "description": f"{LEVEL_ZH.get(_level(a.unit_code), '')}："
                                           f"{self._path(a.district_code, a.unit_code)}"}
                           for a in self.areas.get(p.id, [])],
            languages=self._languages(sid),
            cost_options=[_compact(cost)],
            attributes=[{"id": str(derive("attribute", sid)), "link_id": str(sid), "link_entity": "service",
                         "taxonomy_term_id": term["id"], "taxonomy_term": _compact(term)}],
        )
        if with_locations and _has_place(p):
            doc["service_at_locations"] = [self.provider_sal(pi, p, item, top=False)]
        if nested_org:
            doc["organization"] = self.provider_org(p, full=True)
        return _compact(doc)

    def centre_service(self, c: ServiceCentre, kind: CentreKind, *, nested_org: bool = True,
                       with_locations: bool = True) -> dict[str, Any]:
        sid = derive("service", c.id)
        link = {"service_id": str(sid)}
        office = self.office(c)
        about = [c.description or kind.name_zh]
        if c.facilities:
            about.append(f"设施：{'、'.join(c.facilities)}")
        if c.capacity:
            about.append(f"可容纳{c.capacity}人")
        doc: dict[str, Any] = {
            "id": str(sid), "organization_id": str(office.id), "name": c.name, "alternate_name": kind.name_en,
            "description": "。".join(about), "status": "active", "last_modified": _moment(c.updated_at),
        }
        if not self.full:
            if nested_org:
                doc["organization"] = self.office_org(office)
            return _compact(doc)
        schedules = self._schedules(sid, link, c.weekly_hours, False)
        for e in self.exceptions.get(c.id, []):
            day = e.day.isoformat()
            label = f"{day} {e.note or ''}".strip()
            if e.closed or not e.hours:
                schedules.append(_compact({"id": str(derive("exception:0", e.id)), **link, "valid_from": day,
                                           "valid_to": day, "description": f"{label} 闭馆", "notes": e.note}))
                continue
            for n, (start, end) in enumerate(e.hours):
                schedules.append(_compact({
                    "id": str(derive(f"exception:{n}", e.id)), **link, "valid_from": day, "valid_to": day,
                    "freq": "WEEKLY", "byday": DAYS[e.day.weekday()], "opens_at": _time(start),
                    "closes_at": _time(end), "timezone": TIMEZONE_HOURS,
                    "description": f"{label} 特别开放时间 {start}-{end}", "notes": e.note}))
        term = {"id": _term_id(KIND_TAXONOMY, kind.code), "code": kind.code, "name": kind.name_zh,
                "description": ("“8”大标准服务中心：" if kind.standard else "“X”特色服务：") + kind.name_zh,
                "taxonomy": KIND_TAXONOMY, "language": "zh"}
        doc.update(
            phones=self._phone("phone", sid, link, c.phone, f"{c.name}电话"),
            schedules=schedules,
            service_areas=[{"id": str(derive("service_area", sid)), **link,
                            "name": self._unit_name(c.district_code, c.unit_code),
                            "description": f"{LEVEL_ZH.get(_level(c.unit_code), '')}："
                                           f"{self._path(c.district_code, c.unit_code)}"}],
            languages=self._languages(sid),
            contacts=([{"id": str(derive("contact", sid)), **link, "name": c.contact_name, "title": "负责人"}]
                      if c.contact_name and c.is_public else []),
            attributes=[{"id": str(derive("attribute", sid)), "link_id": str(sid), "link_entity": "service",
                         "taxonomy_term_id": term["id"], "taxonomy_term": term}],
        )
        if with_locations:
            doc["service_at_locations"] = [self.centre_sal(c, kind, top=False)]
        if nested_org:
            doc["organization"] = self.office_org(office)
        return _compact(doc)

    # -- service at location

    def provider_sal(self, pi: ProviderItem, p: Provider, item: ServiceItem, *, top: bool = True,
                     ) -> dict[str, Any]:
        doc: dict[str, Any] = {"id": str(derive("service_at_location", pi.id)), "service_id": str(pi.id),
                               "location_id": str(derive("location", p.id)),
                               "description": f"{p.name}的地址；服务上门到服务范围内的居民家中",
                               "location": self.provider_location(p, full=self.full)}
        if top:
            doc["service"] = self.provider_service(pi, p, item, with_locations=False)
        return doc

    def centre_sal(self, c: ServiceCentre, kind: CentreKind, *, top: bool = True) -> dict[str, Any]:
        sid = derive("service", c.id)
        doc: dict[str, Any] = {"id": str(derive("service_at_location", sid)), "service_id": str(sid),
                               "location_id": str(c.id), "description": f"在{c.name}提供",
                               "location": self.centre_location(c, kind, full=self.full)}
        if top:
            doc["service"] = self.centre_service(c, kind, with_locations=False)
        return doc


def _level(code: str) -> str:
    return {6: "district", 9: "street", 12: "community", 15: "grid"}.get(len(code), "")


def _has_place(p: Provider) -> bool:
    return bool(p.address) or p.lat is not None


# --- Pages ----------------------------------------------------------------------------------------------------


def page_document(total: int, page: int, per_page: int, contents: list[dict[str, Any]]) -> dict[str, Any]:
    """The paging envelope of the HSDS OpenAPI (components.schemas.Page) around `contents`."""
    pages = math.ceil(total / per_page)
    return {"total_items": total, "total_pages": pages, "page_number": page, "size": len(contents),
            "first_page": page == 1, "last_page": page >= pages, "empty": not contents, "contents": contents}


def _window(session: Session, f: Filter, offset: int, limit: int,
            ) -> tuple[int, list[tuple[ServiceCentre, CentreKind]], list[tuple[ProviderItem, Provider, ServiceItem]]]:
    """The services from `offset`, `limit` of them: the centres' first (by unit, kind, name), then the providers'
    (by provider name, catalogue order). Two counts and at most two queries for the rows."""
    office = _office_of(session, f)
    centre_conds, provider_conds = _centre_conditions(f, office), _provider_conditions(f, office)
    n_centres = session.scalar(select(func.count()).select_from(ServiceCentre).join(
        CentreKind, CentreKind.code == ServiceCentre.kind_code).where(*centre_conds)) or 0
    n_items = session.scalar(_provider_join(select(func.count()).select_from(ProviderItem))
                             .where(*provider_conds)) or 0
    centres: list[tuple[ServiceCentre, CentreKind]] = []
    items: list[tuple[ProviderItem, Provider, ServiceItem]] = []
    if offset < n_centres and limit > 0:
        centres = [tuple(r) for r in session.execute(  # type: ignore[misc]
            select(ServiceCentre, CentreKind).join(CentreKind, CentreKind.code == ServiceCentre.kind_code)
            .where(*centre_conds)
            .order_by(ServiceCentre.district_code, ServiceCentre.unit_code, CentreKind.sort, ServiceCentre.name,
                      ServiceCentre.id).offset(offset).limit(limit))]
    rest = limit - len(centres)
    if rest > 0 and offset + len(centres) < n_centres + n_items:
        items = [tuple(r) for r in session.execute(  # type: ignore[misc]
            _provider_join(select(ProviderItem, Provider, ServiceItem)).where(*provider_conds)
            .options(_providers_only())
            .order_by(Provider.name, Provider.id, ServiceItem.sort, ServiceItem.code)
            .offset(max(0, offset - n_centres)).limit(rest))]
    return n_centres + n_items, centres, items


def _filter(session: Session, **kw: Any) -> Filter:
    if "search" in kw:
        kw["search"] = search_term(kw["search"], "search")
    return Filter(district=single_district(session), **kw)


def list_services(session: Session, *, page: int = 1, per_page: int = PER_PAGE, search: str | None = None,
                  organization_id: uuid.UUID | None = None, modified_after: datetime | None = None,
                  full: bool = False) -> dict[str, Any]:
    """GET /services: services with their one-to-one fields (and their organization), or fully nested."""
    f = _filter(session, search=search, organization_id=organization_id, modified_after=modified_after)
    total, centres, items = _window(session, f, (page - 1) * per_page, per_page)
    b = _Builder(session, centres, items, full=full)
    docs = [b.centre_service(c, k) for c, k in centres] + [b.provider_service(*row) for row in items]
    return page_document(total, page, per_page, docs)


def _find_service(session: Session, service_id: uuid.UUID, district: str | None,
                  ) -> tuple[list[tuple[ServiceCentre, CentreKind]], list[tuple[ProviderItem, Provider, ServiceItem]]]:
    f = Filter(district=district)
    items = [tuple(r) for r in session.execute(  # type: ignore[misc]
        _provider_join(select(ProviderItem, Provider, ServiceItem))
        .where(*_provider_conditions(f, None), ProviderItem.id == service_id).options(_providers_only()))]
    if items:
        return [], items
    centres = [tuple(r) for r in session.execute(  # type: ignore[misc]
        select(ServiceCentre, CentreKind).join(CentreKind, CentreKind.code == ServiceCentre.kind_code)
        .where(*_centre_conditions(f, None), ServiceCentre.id == derive("service", service_id)))]
    return centres, []


def get_service(session: Session, service_id: str) -> dict[str, Any] | None:
    """GET /services/{id}: the fully nested service, or None."""
    sid = parse_id(service_id)
    if sid is None:
        return None
    centres, items = _find_service(session, sid, single_district(session))
    b = _Builder(session, centres, items, full=True)
    if items:
        return b.provider_service(*items[0])
    return b.centre_service(*centres[0]) if centres else None


def list_service_at_locations(session: Session, *, page: int = 1, per_page: int = PER_PAGE,
                              search: str | None = None, organization_id: uuid.UUID | None = None,
                              modified_after: datetime | None = None, full: bool = False) -> dict[str, Any]:
    """GET /service_at_locations: each service that has a place, at that place."""
    f = _filter(session, search=search, organization_id=organization_id, modified_after=modified_after,
                located=True)
    total, centres, items = _window(session, f, (page - 1) * per_page, per_page)
    b = _Builder(session, centres, items, full=full)
    docs = [b.centre_sal(c, k) for c, k in centres] + [b.provider_sal(*row) for row in items]
    return page_document(total, page, per_page, docs)


def get_service_at_location(session: Session, sal_id: str) -> dict[str, Any] | None:
    """GET /service_at_locations/{id}: the fully nested service_at_location, or None."""
    parsed = parse_id(sal_id)
    if parsed is None:
        return None
    centres, items = _find_service(session, derive("service_at_location", parsed), single_district(session))
    b = _Builder(session, centres, items, full=True)
    if items and _has_place(items[0][1]):
        return b.provider_sal(*items[0])
    return b.centre_sal(*centres[0]) if centres else None


def _organizations(session: Session, f: Filter, offset: int, limit: int, *, full: bool, full_service: bool,
                   ) -> tuple[int, list[dict[str, Any]]]:
    """The offices first (by unit code), then the active providers (by name)."""
    found = offices(session, f)
    conds: list[ColumnElement[bool]] = [Provider.status == "active"]
    if f.district:
        conds.append(Provider.district_code == f.district)
    if f.search:
        conds.append(Provider.name.icontains(f.search, autoescape=True))
    n_providers = session.scalar(select(func.count()).select_from(Provider).where(*conds)) or 0
    page_offices = found[offset:offset + limit]
    providers: list[Provider] = []
    rest = limit - len(page_offices)
    if rest > 0:
        providers = list(session.scalars(select(Provider).where(*conds).options(_providers_only())
                                         .order_by(Provider.name, Provider.id)
                                         .offset(max(0, offset - len(found))).limit(rest)))
    total = len(found) + n_providers
    if not full:
        b = _Builder(session, [], [], full=False, providers=providers)
        return total, [b.office_org(o) for o in page_offices] + [b.provider_org(p) for p in providers]
    return total, _full_organizations(session, f.district, page_offices, providers, full_service)


def _full_organizations(session: Session, district: str | None, page_offices: list[_Office],
                        providers: list[Provider], full_service: bool) -> list[dict[str, Any]]:
    """Fully nested organizations with their locations and services, loaded in a few queries."""
    centres: list[tuple[ServiceCentre, CentreKind]] = []
    if page_offices:
        centres = [tuple(r) for r in session.execute(  # type: ignore[misc]
            select(ServiceCentre, CentreKind).join(CentreKind, CentreKind.code == ServiceCentre.kind_code)
            .where(or_(*(and_(*_centre_conditions(Filter(district=o.district_code, organization_id=o.id), o))
                         for o in page_offices)))
            .order_by(ServiceCentre.unit_code, CentreKind.sort, ServiceCentre.name, ServiceCentre.id))]
    items: list[tuple[ProviderItem, Provider, ServiceItem]] = []
    if providers:
        items = [tuple(r) for r in session.execute(  # type: ignore[misc]
            _provider_join(select(ProviderItem, Provider, ServiceItem))
            .where(*_provider_conditions(Filter(district=district), None),
                   ProviderItem.district_code.in_({p.district_code for p in providers}),
                   ProviderItem.provider_id.in_([p.id for p in providers]))
            .options(_providers_only()).order_by(ServiceItem.sort, ServiceItem.code))]
    b = _Builder(session, centres, items, full=full_service, providers=providers)
    located: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    services: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    for c, k in centres:
        office = b.office(c).id
        located[office].append(b.centre_location(c, k, full=True))
        services[office].append(b.centre_service(c, k, nested_org=False))
    for pi, p, item in items:
        services[p.id].append(b.provider_service(pi, p, item, nested_org=False))
    docs = [_compact({**b.office_org(o), "locations": located[o.id], "services": services[o.id]})
            for o in page_offices]
    return docs + [_compact({**b.provider_org(p, full=True), "services": services[p.id]}) for p in providers]


def list_organizations(session: Session, *, page: int = 1, per_page: int = PER_PAGE, search: str | None = None,
                       full: bool = False, full_service: bool = False) -> dict[str, Any]:
    """GET /organizations: basic organization information, or fully nested with `full`."""
    f = _filter(session, search=search)
    total, docs = _organizations(session, f, (page - 1) * per_page, per_page, full=full,
                                 full_service=full_service)
    return page_document(total, page, per_page, docs)


def get_organization(session: Session, organization_id: str, *, full_service: bool = False,
                     ) -> dict[str, Any] | None:
    """GET /organizations/{id}: the fully nested organization, its services by their one-to-one fields (or
    fully nested with `full_service`), or None."""
    oid = parse_id(organization_id)
    if oid is None:
        return None
    f = _filter(session, organization_id=oid)
    office = _office_of(session, f)
    if office is not None:
        return _full_organizations(session, f.district, [office], [], full_service)[0]
    conds = [Provider.status == "active", Provider.id == oid]
    if f.district:
        conds.append(Provider.district_code == f.district)
    provider = session.scalar(select(Provider).where(*conds).options(_providers_only()))
    if provider is None:
        return None
    return _full_organizations(session, f.district, [], [provider], full_service)[0]


# --- Files ------------------------------------------------------------------------------------------------------

EXPORT_FILES = ("services.json", "organizations.json", "service_at_locations.json")


def _all_services(session: Session, f: Filter, sal: bool, chunk: int) -> Iterator[dict[str, Any]]:
    offset = 0
    while True:
        total, centres, items = _window(session, f, offset, chunk)
        b = _Builder(session, centres, items, full=True)
        if sal:
            yield from (b.centre_sal(c, k) for c, k in centres)
            yield from (b.provider_sal(*row) for row in items)
        else:
            yield from (b.centre_service(c, k) for c, k in centres)
            yield from (b.provider_service(*row) for row in items)
        offset += chunk
        if offset >= total:
            return


def _all_organizations(session: Session, f: Filter, chunk: int) -> Iterator[dict[str, Any]]:
    offset = 0
    while True:
        total, docs = _organizations(session, f, offset, chunk, full=True, full_service=False)
        yield from docs
        offset += chunk
        if offset >= total:
            return


def _write_array(path: Path, docs: Iterator[dict[str, Any]]) -> int:
    """A JSON array, one object a line, written beside `path` and then moved over it: a reader never sees half."""
    part = path.with_name(path.name + ".part")
    n = 0
    with part.open("w", encoding="utf-8") as out:
        out.write("[")
        for doc in docs:
            out.write(",\n" if n else "\n")
            out.write(json.dumps(doc, ensure_ascii=False, separators=(",", ":")))
            n += 1
        out.write("\n]\n")
    part.replace(path)
    return n


def export(session: Session, directory: Path, *, chunk: int = 500) -> dict[str, int]:
    """Write the directory to `directory` as three files, each a JSON array of fully nested objects in the shape
    of the HSDS *_package schemas: services.json (as GET /services/{id}), organizations.json (as GET
    /organizations/{id}: services by their one-to-one fields) and service_at_locations.json (as GET
    /service_at_locations/{id}). Returns how many objects each file holds."""
    directory.mkdir(parents=True, exist_ok=True)
    f = _filter(session)
    writers: dict[str, Callable[[], Iterator[dict[str, Any]]]] = {
        "services.json": lambda: _all_services(session, f, False, chunk),
        "organizations.json": lambda: _all_organizations(session, f, chunk),
        "service_at_locations.json": lambda: _all_services(session, Filter(district=f.district, located=True),
                                                           True, chunk),
    }
    return {name: _write_array(directory / name, make()) for name, make in writers.items()}
