"""JSON routes of member providers (加盟企业) under /api/v1/services/providers: the district's list and the
public directory, applications and edits, status steps with a reason, items, areas, staff accounts, performance
and the Excel export.

Who: the district admin does everything; the district's 12343 operators read every provider (they offer orders
to them); a provider's staff read their own provider and its performance; anyone, signed in or not, reads the
public directory of active providers (/public: public fields only, no credit code, contact or status history).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session

from jiayuan.accounts import service as accounts
from jiayuan.deps import CurrentPrincipal, DbSession, OptionalPrincipal, ReadSession, client_ip
from jiayuan.kit import excel
from jiayuan.kit.db import utcnow
from jiayuan.kit.errors import Invalid
from jiayuan.kit.i18n import TIMEZONE
from jiayuan.kit.identity import mask_phone
from jiayuan.kit.pagination import Offset, search_query
from jiayuan.services.providers import performance as performance
from jiayuan.services.providers import service as service
from jiayuan.services.providers.models import Provider
from jiayuan.services.providers.schemas import (
    AreaIn,
    Performance,
    ProviderCreate,
    ProviderEventRead,
    ProviderItemIn,
    ProviderList,
    ProviderPublicList,
    ProviderRead,
    ProviderUpdate,
    StaffCreate,
    StaffRead,
    StatusChange,
)
from jiayuan.units import service as units

router = APIRouter(prefix="/api/v1/services/providers", tags=["service providers"])
Limit = Annotated[int, Query(ge=1, le=500)]
Status = Annotated[str | None, Query(description="applied, approved, active, suspended or withdrawn")]
Item = Annotated[str | None, Query(description="a 4-digit item or a 2-digit group of the catalogue")]
Area = Annotated[str | None, Query(description="a unit code: providers serving it or part of it")]
Flagged = Annotated[bool | None, Query(description="true: only those flagged for suspension")]
Since = Annotated[date | None, Query(description="first day (Beijing time); default 30 days before until")]
Until = Annotated[date | None, Query(description="last day, included; default today")]


def _items(offered: list[service.OfferedItem]) -> list[dict[str, Any]]:
    return [{"item": i.code, "name_zh": i.name_zh, "name_en": i.name_en, "unit_zh": i.unit_zh,
             "unit_en": i.unit_en, "price_fen": i.price_fen, "public_welfare": i.public_welfare}
            for i in offered if i.active]


def _public(p: Provider, items: list[service.OfferedItem], areas: list[str]) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "service_phone": p.service_phone, "address": p.address, "lat": p.lat,
            "lon": p.lon, "round_the_clock": p.round_the_clock, "weekly_hours": p.weekly_hours,
            "description": p.description, "items": _items(items), "areas": areas}


def present(session: Session, rows: list[Provider], *, public: bool = False) -> list[dict[str, Any]]:
    """Providers with their items and areas (two queries for the lot); the contact's phone only masked."""
    if not rows:
        return []
    district = rows[0].district_code
    ids = [p.id for p in rows]
    items = service.items_by_provider(session, district, ids)
    areas = service.areas_by_provider(session, district, ids)
    out = []
    for p in rows:
        view = _public(p, items[p.id], areas[p.id])
        if not public:
            view |= {"district_code": p.district_code, "credit_code": p.credit_code,
                     "organization_id": p.organization_id, "status": p.status, "contact_name": p.contact_name,
                     "contact_phone": mask_phone(p.contact_phone) if p.contact_phone else None,
                     "flagged_at": p.flagged_at, "flag_reason": p.flag_reason, "version": p.version,
                     "created_at": p.created_at, "updated_at": p.updated_at}
        out.append(view)
    return out


def _one(session: Session, provider: Provider) -> dict[str, Any]:
    return present(session, [provider])[0]


def _filter(status: str | None, item: str | None, area: str | None, flagged: bool | None,
            q: str | None) -> service.ProviderFilter:
    return service.ProviderFilter(status=status or None, item=item or None, area=area or None, flagged=flagged,
                                  q=q or None)


# --- Lists (static paths before /{provider_id}) ----------------------------------------------------------


@router.get("", response_model=ProviderList)
def index(principal: CurrentPrincipal, session: DbSession, status: Status = None, item: Item = None,
          area: Area = None, flagged: Flagged = None, q: Annotated[str | None, search_query("part of the name, or the whole credit code")] = None,
          limit: Limit = 50, offset: Offset = 0) -> Any:
    """The district's providers (district admin, 12343 operators; a provider's staff see their own), those
    flagged for suspension first."""
    rows, total = service.list_providers(session, principal, _filter(status, item, area, flagged, q), limit=limit,
                                         offset=offset)
    return {"total": total, "items": present(session, rows)}


@router.get("/public", response_model=ProviderPublicList)
def directory(principal: OptionalPrincipal, session: DbSession,
              district: Annotated[str | None, Query(description="default: the caller's, or the only one")] = None,
              item: Item = None, area: Area = None, q: Annotated[str | None, search_query("part of the name, or the whole credit code")] = None,
              limit: Limit = 50, offset: Offset = 0) -> Any:
    """Active providers, public fields only: open to anyone, signed in or not."""
    if district is None:
        district = principal.district_code if principal and principal.scope_code else units.single_district(
            session)
    if not district or not district.isdigit() or len(district) != 6:
        raise Invalid("give the 6-digit district code", field="district")
    rows, total = service.public_providers(session, district, _filter(None, item, area, None, q), limit=limit,
                                           offset=offset)
    return {"total": total, "items": present(session, rows, public=True)}


EXPORT_COLUMNS = [
    excel.Column("name", "企业名称", width=28), excel.Column("credit_code", "统一社会信用代码", width=22, text=True),
    excel.Column("status", "状态", width=10), excel.Column("flagged", "待暂停提示", width=12),
    excel.Column("contact_name", "联系人"), excel.Column("contact_phone", "联系电话（脱敏）", text=True),
    excel.Column("service_phone", "服务电话", text=True), excel.Column("address", "地址", width=30),
    excel.Column("hours", "服务时间", width=30), excel.Column("items", "服务项目及价格", width=50),
    excel.Column("areas", "服务区域", width=30), excel.Column("created_at", "申请时间", width=18),
]
STATUS_ZH = {"applied": "申请中", "approved": "已批准", "active": "服务中", "suspended": "已暂停",
             "withdrawn": "已退出"}


def _hours_text(p: Provider) -> str:
    if p.round_the_clock:
        return "24小时"
    days = "一二三四五六日"
    return "；".join(f"周{days[int(d) - 1]} " + "，".join(f"{s}-{e}" for s, e in spans)
                    for d, spans in sorted((p.weekly_hours or {}).items()) if spans)


def _price_text(fen: int | None) -> str:
    return "面议" if fen is None else f"{fen / 100:.2f}元"


@router.get("/export", response_class=Response,
            responses={200: {"content": {excel.XLSX_TYPE: {}}, "description": "the list as an Excel workbook"}})
def export(request: Request, principal: CurrentPrincipal, session: DbSession, status: Status = None,
           item: Item = None, area: Area = None, flagged: Flagged = None,
           q: Annotated[str | None, search_query("part of the name, or the whole credit code")] = None) -> Response:
    """The list with the same filters, as .xlsx (the contact's phone masked)."""
    f = _filter(status, item, area, flagged, q)
    rows, _total = service.list_providers(session, principal, f, limit=100_000)
    ids = [p.id for p in rows]
    district = principal.district_code
    items = service.items_by_provider(session, district, ids)
    areas = service.areas_by_provider(session, district, ids)
    names = {u.code: u.name for u in units.list_units(session, principal.scope, with_ancestors=True)}
    table = [[p.name, p.credit_code, STATUS_ZH.get(p.status, p.status), "是" if p.flagged_at else "",
              p.contact_name or "", mask_phone(p.contact_phone) if p.contact_phone else "", p.service_phone or "",
              p.address or "", _hours_text(p),
              "；".join(f"{i.name_zh} {_price_text(i.price_fen)}" for i in items[p.id] if i.active),
              "、".join(names.get(c, c) for c in areas[p.id]),
              p.created_at.astimezone(TIMEZONE).strftime("%Y-%m-%d %H:%M")] for p in rows]
    accounts.audit_for(session, principal, "provider_export", target="/api/v1/services/providers/export",
                       ip=client_ip(request), detail={"rows": len(table)})
    stamp = datetime.now(TIMEZONE).strftime("%Y%m%d")
    return Response(excel.write_list(EXPORT_COLUMNS, table, sheet="加盟企业"), media_type=excel.XLSX_TYPE,
                    headers={"Content-Disposition": f"attachment; filename=providers-{stamp}.xlsx"})


def _period(since: date | None, until: date | None) -> tuple[date, date, datetime, datetime]:
    today = utcnow().astimezone(TIMEZONE).date()
    start, end = performance.period(since, until, today)  # local midnights
    return start.date(), (end - timedelta(days=1)).date(), start, end


@router.get("/performance", response_model=Performance)
def district_performance(principal: CurrentPrincipal, session: ReadSession, since: Since = None,
                         until: Until = None, status: Status = None,
                         sort: Annotated[str | None, Query(description="a figure to sort by, highest first")] = None
                         ) -> Any:
    """Every provider's figures for the orders created in the period (docs/services.md)."""
    first, last, start, end = _period(since, until)
    rows = performance.district_figures(session, principal, start, end, status=status or None)
    return {"since": first, "until": last, "items": [f.as_dict() for f in performance.sort_figures(rows, sort)]}


@router.post("", response_model=ProviderRead, status_code=201)
def create(body: ProviderCreate, principal: CurrentPrincipal, session: DbSession) -> Any:
    """An application (status applied): district admin. A registry organization with the same credit code is
    linked."""
    fields = body.model_dump(exclude_unset=True)
    if body.items is not None:
        fields["items"] = [i.model_dump() for i in body.items]
    return _one(session, service.create_provider(session, principal, **fields))


# --- One provider -----------------------------------------------------------------------------------------


@router.get("/{provider_id}", response_model=ProviderRead)
def read(provider_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession) -> Any:
    return _one(session, service.get_provider(session, principal, provider_id))


@router.patch("/{provider_id}", response_model=ProviderRead)
def edit(provider_id: uuid.UUID, body: ProviderUpdate, principal: CurrentPrincipal, session: DbSession) -> Any:
    """Change the fields sent (district admin); the status changes through /status."""
    return _one(session, service.update_provider(session, principal, provider_id,
                                                 **body.model_dump(exclude_unset=True)))


@router.post("/{provider_id}/status", response_model=ProviderRead,
             responses={409: {"description": "a step not in the status table (names from and to), or someone "
                                             "else changed the provider first"}})
def change_status(provider_id: uuid.UUID, body: StatusChange, principal: CurrentPrincipal,
                  session: DbSession) -> Any:
    """applied → approved | withdrawn; approved → active | withdrawn; active → suspended | withdrawn;
    suspended → active | withdrawn. District admin, with a reason; kept in the history."""
    provider = service.change_status(session, principal, provider_id, body.to, body.reason, version=body.version)
    return _one(session, provider)


@router.get("/{provider_id}/history", response_model=list[ProviderEventRead])
def status_history(provider_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession) -> Any:
    return service.history(session, service.get_provider(session, principal, provider_id))


@router.get("/{provider_id}/items", response_model=list[dict[str, Any]])
def list_items(provider_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession) -> Any:
    return _items(service.items_of(session, service.get_provider(session, principal, provider_id)))


@router.put("/{provider_id}/items", response_model=list[dict[str, Any]])
def replace_items(provider_id: uuid.UUID, body: list[ProviderItemIn], principal: CurrentPrincipal,
                  session: DbSession) -> Any:
    """The whole list of items it offers, with prices (replaces the one before)."""
    return _items(service.set_items(session, principal, provider_id, [i.model_dump() for i in body]))


@router.post("/{provider_id}/items", response_model=list[dict[str, Any]])
def add_item(provider_id: uuid.UUID, body: ProviderItemIn, principal: CurrentPrincipal, session: DbSession) -> Any:
    """One item added, or its price changed."""
    return _items(service.put_item(session, principal, provider_id, body.item, body.price_fen))


@router.delete("/{provider_id}/items/{item}", response_model=list[dict[str, Any]])
def delete_item(provider_id: uuid.UUID, item: str, principal: CurrentPrincipal, session: DbSession) -> Any:
    return _items(service.remove_item(session, principal, provider_id, item))


@router.get("/{provider_id}/areas", response_model=list[str])
def list_areas(provider_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession) -> Any:
    return service.areas_of(session, service.get_provider(session, principal, provider_id))


@router.put("/{provider_id}/areas", response_model=list[str])
def replace_areas(provider_id: uuid.UUID, body: list[str], principal: CurrentPrincipal, session: DbSession) -> Any:
    """The whole service area: units of the district (serving a unit serves everything under it)."""
    return service.set_areas(session, principal, provider_id, body)


@router.post("/{provider_id}/areas", response_model=list[str])
def add_area(provider_id: uuid.UUID, body: AreaIn, principal: CurrentPrincipal, session: DbSession) -> Any:
    return service.add_area(session, principal, provider_id, body.unit_code)


@router.delete("/{provider_id}/areas/{unit_code}", response_model=list[str])
def delete_area(provider_id: uuid.UUID, unit_code: str, principal: CurrentPrincipal, session: DbSession) -> Any:
    return service.remove_area(session, principal, provider_id, unit_code)


@router.get("/{provider_id}/staff", response_model=list[StaffRead])
def list_staff(provider_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession) -> Any:
    return service.staff_of(session, service.get_provider(session, principal, provider_id))


@router.post("/{provider_id}/staff", response_model=StaffRead, status_code=201)
def add_staff(provider_id: uuid.UUID, body: StaffCreate, principal: CurrentPrincipal, session: DbSession) -> Any:
    """A new account with role provider (scope: the district) on its staff: district admin."""
    return service.add_staff(session, principal, provider_id, username=body.username, full_name=body.full_name,
                             password=body.password)


@router.delete("/{provider_id}/staff/{user_id}", status_code=204, response_class=Response)
def delete_staff(provider_id: uuid.UUID, user_id: uuid.UUID, principal: CurrentPrincipal,
                 session: DbSession) -> Response:
    """Off the staff, and the account closed."""
    service.remove_staff(session, principal, provider_id, user_id)
    return Response(status_code=204)


@router.get("/{provider_id}/performance", response_model=Performance)
def provider_performance(provider_id: uuid.UUID, principal: CurrentPrincipal, session: ReadSession,
                         since: Since = None, until: Until = None) -> Any:
    first, last, start, end = _period(since, until)
    figures = performance.provider_figures(session, principal, provider_id, start, end)
    return {"since": first, "until": last, "items": [figures.as_dict()]}
