"""How centres, money and the subsidy report are shown: shared by the JSON API, the pages and the Excel export."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from babel.dates import format_date
from sqlalchemy.orm import Session

from jiayuan.kit import excel
from jiayuan.kit.db import utcnow
from jiayuan.kit.scope import Scope
from jiayuan.services import centres as service
from jiayuan.kit import hours as weekly
from jiayuan.services.catalogue import list_centre_kinds
from jiayuan.services.models import CentreKind, ServiceCentre
from jiayuan.units import service as units


def yuan(fen: int | None) -> str:
    """¥100,000.00 — exact, from fen."""
    if fen is None:
        return ""
    return f"¥{Decimal(fen) / 100:,.2f}"


def wan_yuan(fen: int | None, locale: str) -> str:
    """10万元 (12.5万元) as Chinese readers say large sums; "100,000 yuan" in English."""
    if fen is None:
        return ""
    amount = Decimal(fen) / 100
    if locale != "zh_CN":
        return f"{amount:,.2f}".removesuffix(".00") + " yuan"
    if abs(amount) >= 10000:
        wan = (amount / 10000).quantize(Decimal("0.01")).normalize()
        return f"{wan:,f}万元"
    return f"{amount:,.2f}".removesuffix(".00") + "元"


def percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.1f}".removesuffix(".0") + "%"


def day_label(day: date, locale: str) -> str:
    """12月1日 星期二 / Tuesday, 1 December."""
    return format_date(day, "M月d日 EEEE" if locale == "zh_CN" else "EEEE, d MMMM", locale=locale)


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
