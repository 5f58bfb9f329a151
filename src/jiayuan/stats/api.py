"""JSON routes of stats: the grid profile (网格画像, GET /api/v1/registry/profile/{unit_code}) and the care figures of a
unit (GET /api/v1/care/figures)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query

from jiayuan.deps import DbSession, ReadSession
from jiayuan.kit.clock import local_today
from jiayuan.stats import care as care_stats
from jiayuan.stats import default_period, grid_profile
from jiayuan.stats.care import (
    Report,
)
from jiayuan.stats.policy import Registrar, Staff
from jiayuan.stats.schemas import FiguresReport

router = APIRouter()


@router.get("/api/v1/registry/profile/{unit_code}", tags=["registry"])
def get_profile(unit_code: str, principal: Registrar, session: DbSession) -> dict[str, Any]:
    """Counts for a grid, community, street or the district in the caller's scope: people by residence type
    and tag, households, rooms by use, facilities by kind and status, organizations by kind, open cases."""
    return grid_profile.profile(session, principal, unit_code)


def report_json(report: Report) -> dict[str, Any]:
    t = report.target
    return {"unit": {"code": t.code, "name": t.name, "level": t.level}, "start": report.start, "end": report.end,
            "as_of": report.as_of, "generated_at": report.generated_at,
            "totals": {"code": t.code, "name": t.name, **report.totals}, "children": report.children,
            "here": report.here}


UnitQ = Annotated[str | None, Query(description="unit code (6, 9, 12 or 15 digits); default: your own unit")]
StartQ = Annotated[date | None, Query(description="first day, YYYY-MM-DD (Beijing time); default: this month")]
EndQ = Annotated[date | None, Query(description="day after the last, YYYY-MM-DD (exclusive)")]


@router.get("/api/v1/care/figures", response_model=FiguresReport, tags=["care"])
def figures_json(principal: Staff, session: ReadSession, unit: UnitQ = None, start: StartQ = None,
                 end: EndQ = None) -> Any:
    """The care figures of a unit in your scope for [start, end): people in care, visits, people not visited in
    time, volunteer hours, donations, points, activities and care centres — in total and by child unit."""
    s, e = default_period(start, end, local_today())
    return report_json(care_stats.figures(session, principal, unit, s, e))
