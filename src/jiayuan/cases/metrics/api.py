"""JSON routes of the case metrics (docs/metrics.md): the figures, the cases behind one, the map's points."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request

from jiayuan.accounts.roles import STAFF_ROLES
from jiayuan.accounts.service import Principal
from jiayuan.cases.metrics import service
from jiayuan.cases.metrics.schemas import CasesBehind, MapPoints, MetricsReport
from jiayuan.cases.metrics.service import ALL_KEY, FIGURES, GROUPINGS, Row
from jiayuan.deps import ReadSession, require_role
from jiayuan.kit.pagination import Offset
from jiayuan.web import gettext_for

# Included before the cases' router: "metrics" is not a tracking number.
router = APIRouter(prefix="/api/v1/cases/metrics", tags=["metrics"])
Staff = Annotated[Principal, Depends(require_role(*STAFF_ROLES))]
Grouping = Literal[GROUPINGS]  # type: ignore[valid-type]
Figure = Literal[FIGURES]  # type: ignore[valid-type]
PAGE_SIZE = 100


def _row_json(_: Callable[[str], str], by: str, row: Row) -> dict[str, Any]:
    return {**row.as_dict(), "name": service.row_name(_, by, row)}


StartQ = Annotated[date | None, Query(description="first day, YYYY-MM-DD (Beijing time); default: this "
                                                   "month")]
EndQ = Annotated[date | None, Query(description="day after the last, YYYY-MM-DD (exclusive)")]


@router.get("", response_model=MetricsReport)
def metrics_json(request: Request, principal: Staff, session: ReadSession, start: StartQ = None,
                 end: EndQ = None, by: Grouping | None = None) -> Any:
    """The figures of the cases reported in [start, end) within the caller's scope, per group and in total.
    Formulas: docs/service.md."""
    start, end = service.default_period(start, end)
    report = service.compute(session, principal, start, end, by or service.default_by(principal))
    _ = gettext_for(request)
    return {"start": report.start, "end": report.end, "by": report.by, "generated_at": report.generated_at,
            "rows": [_row_json(_, report.by, r) for r in report.rows],
            "totals": _row_json(_, report.by, report.totals)}


@router.get("/cases", response_model=CasesBehind)
def metrics_cases_json(principal: Staff, session: ReadSession, figure: Figure, start: StartQ = None,
                       end: EndQ = None, by: Grouping | None = None, key: str = ALL_KEY,
                       limit: Annotated[int, Query(ge=1, le=500)] = PAGE_SIZE,
                       offset: Offset = 0) -> Any:
    """The tracking numbers of the cases behind one figure of one group (key=_all: of the totals)."""
    start, end = service.default_period(start, end)
    grouping = by or service.default_by(principal)
    stmt = service.cases_behind(session, principal, start, end, key, grouping, figure)
    total, numbers = service.numbers_behind(session, stmt, limit=limit, offset=offset)
    return {"figure": figure, "key": key, "total": total, "limit": limit, "offset": offset,
            "numbers": numbers}


@router.get("/points", response_model=MapPoints)
def metrics_points(principal: Staff, session: ReadSession, start: StartQ = None, end: EndQ = None) -> Any:
    """The period's located cases for the map (at most 5,000, newest first)."""
    start, end = service.default_period(start, end)
    pts, truncated = service.points(session, principal, start, end)
    return {"fields": ["number", "lat", "lon", "status"], "points": pts, "truncated": truncated}
