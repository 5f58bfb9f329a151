"""How centres and the subsidy report are shown: shared by the JSON API, the pages and the Excel export."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from jiayuan.kit import excel
from jiayuan.kit import hours as weekly
from jiayuan.kit.db import utcnow
from jiayuan.kit.scope import Scope
from jiayuan.services.catalogue.models import CentreKind
from jiayuan.services.catalogue.service import list_centre_kinds
from jiayuan.services.centres import service
from jiayuan.services.centres.models import ServiceCentre
from jiayuan.services.present import percent
from jiayuan.units import service as units


def kind_names(session: Session, locale: str) -> dict[str, str]:
    return {k.code: (k.name_zh if locale == "zh_CN" else k.name_en) for k in list_centre_kinds(session)}


def kinds_by_code(session: Session) -> dict[str, CentreKind]:
    return {k.code: k for k in list_centre_kinds(session)}


def area_names(session: Session, districts: Iterable[str]) -> dict[str, str]:
    """Names of the streets and communities of the districts: anyone may know which street a centre is in."""
    names: dict[str, str] = {}
    for district in set(districts):
        for level in ("street", "community"):
            names.update({u.code: u.name for u in units.list_units(session, Scope((district,)), level=level)})
    return names


def centre_dicts(session: Session, centres: list[ServiceCentre], *, staff: bool, locale: str = "zh_CN",
                 moment: datetime | None = None) -> list[dict[str, Any]]:
    """The read shape of centres, with today's hours and whether each is open now; the contact person only
    for staff."""
    moment = moment or utcnow()
    today = service.local_time(moment).date()
    hours = service.hours_today(session, centres, today)
    names = area_names(session, {c.district_code for c in centres})
    kinds = kinds_by_code(session)
    out = []
    for c in centres:
        h = hours[c.id]
        kind = kinds.get(c.kind_code)
        out.append({
            "id": c.id, "unit_code": c.unit_code, "unit_name": names.get(c.unit_code),
            "street_code": c.unit_code[:9], "street_name": names.get(c.unit_code[:9]),
            "kind_code": c.kind_code, "standard_kind": bool(kind and kind.standard),
            "kind_name": (kind.name_zh if locale == "zh_CN" else kind.name_en) if kind else None,
            "name": c.name, "address": c.address, "lat": c.lat, "lon": c.lon, "capacity": c.capacity,
            "facilities": c.facilities, "contact_name": c.contact_name if staff else None, "phone": c.phone,
            "is_public": c.is_public, "active": c.active, "weekly_hours": c.weekly_hours,
            "description": c.description,
            "today": {"day": h.day, "open": h.is_open, "hours": h.intervals, "reason": h.reason, "note": h.note},
            "open_now": weekly.covers(h.intervals, service.local_time(moment)),
        })
    return out


def report_rows(session: Session, report: service.SubsidyReport, locale: str = "zh_CN") -> list[dict[str, Any]]:
    names = area_names(session, {r.centre.district_code for r in report.rows})
    kinds = kind_names(session, locale)
    return [{
        "centre_id": r.centre.id, "name": r.centre.name, "unit_code": r.centre.unit_code,
        "unit_name": names.get(r.centre.unit_code), "street_name": names.get(r.centre.unit_code[:9]),
        "kind_code": r.centre.kind_code, "kind_name": kinds.get(r.centre.kind_code),
        "subsidy_fen": r.subsidy.amount_fen if r.subsidy else None, "scheduled_days": r.scheduled_days,
        "days_opened": r.days_opened, "share": r.share, "open_as_required": r.open_as_required,
    } for r in report.rows]


def report_dict(session: Session, report: service.SubsidyReport, locale: str = "zh_CN") -> dict[str, Any]:
    return {"year": report.year, "start": report.start, "end": report.end, "required_share": report.required_share,
            "calendar_known": report.calendar_known, "centres": len(report.rows),
            "subsidised": len(report.subsidised), "subsidised_fen": report.total_fen,
            "subsidised_open_as_required": report.subsidised_open, "rows": report_rows(session, report, locale)}


REPORT_COLUMNS = [
    excel.Column("street", "街道", width=16), excel.Column("unit", "所属单位", width=16),
    excel.Column("name", "服务中心", width=28), excel.Column("kind", "类型", width=22),
    excel.Column("subsidy", "运行补贴（元）", width=16), excel.Column("scheduled", "应开放天数", width=12),
    excel.Column("opened", "实际开放天数", width=12), excel.Column("share", "开放率", width=10),
    excel.Column("required", "是否按要求开放", width=14),
]


def report_workbook(session: Session, report: service.SubsidyReport) -> bytes:
    """The report as a workbook, in Chinese like every sheet the district files; amounts in yuan, exact."""
    rows = report_rows(session, report, "zh_CN")
    return excel.write_list(REPORT_COLUMNS, (
        [r["street_name"] or r["unit_code"][:9], r["unit_name"] or r["unit_code"], r["name"], r["kind_name"],
         float(Decimal(r["subsidy_fen"]) / 100) if r["subsidy_fen"] is not None else "未补贴",
         r["scheduled_days"], r["days_opened"], percent(r["share"]), "是" if r["open_as_required"] else "否"]
        for r in rows), sheet=f"{report.year}年补贴")
