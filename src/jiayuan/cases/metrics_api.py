"""Routes of the case metrics: JSON API, the page with charts and a map, the cases behind a figure, Excel."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from io import BytesIO
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from pydantic import BaseModel, Field

from jiayuan.accounts.roles import STAFF_ROLES
from jiayuan.accounts.service import Principal
from jiayuan.cases import metrics
from jiayuan.cases.calendar import local_today
from jiayuan.cases.metrics import ALL_KEY, FIGURES, GROUPINGS, MAX_POINTS, NONE_KEY, Report, Row
from jiayuan.cases.models import Case
from jiayuan.deps import ReadSession, require_role
from jiayuan.kit.errors import Invalid
from jiayuan.kit.i18n import fmt_date
from jiayuan.kit.pagination import Offset
from jiayuan.web import gettext_for, render, request_locale

router = APIRouter()
Staff = Annotated[Principal, Depends(require_role(*STAFF_ROLES))]
Grouping = Literal[GROUPINGS]  # type: ignore[valid-type]
Figure = Literal[FIGURES]  # type: ignore[valid-type]
PAGE_SIZE = 100

# The table's columns, in the order of the loop: counts, each rate beside what it divides.
COLUMNS = ("reported", "voided", "valid", "registered", "registration_rate", "due_to_handle",
           "handled_on_time", "handled_on_time_rate", "due_to_close", "closed", "closure_rate",
           "closed_on_time", "closed_on_time_rate", "handled", "rework", "rework_rate", "rated", "satisfied",
           "fairly_satisfied", "dissatisfied", "satisfaction_rate", "mean_response_hours",
           "mean_handling_hours")
# A mean links to the cases it averages over.
MEAN_FIGURE = {"mean_response_hours": "responded", "mean_handling_hours": "handling_timed"}
# Each rate as numerator(s) / denominator, for the page's list of formulas.
FORMULAS = {
    "registration_rate": (("registered",), "valid"),
    "handled_on_time_rate": (("handled_on_time",), "due_to_handle"),
    "closure_rate": (("closed",), "due_to_close"),
    "closed_on_time_rate": (("closed_on_time",), "due_to_close"),
    "rework_rate": (("rework",), "handled"),
    "satisfaction_rate": (("satisfied", "fairly_satisfied"), "rated"),
}


def labels(_: Callable[[str], str]) -> dict[str, str]:
    """Every figure's name in the reader's language (the msgids are written out for the catalogue)."""
    return {
        "reported": _("Reported cases"), "voided": _("Voided cases"), "valid": _("Valid reports"),
        "registered": _("Registered cases"), "registration_rate": _("Registration rate"),
        "due_to_handle": _("Due to be handled"), "handled_on_time": _("Handled on time"),
        "handled_on_time_rate": _("On-time handling rate"), "due_to_close": _("Due to be closed"),
        "closed": _("Closed cases"), "closure_rate": _("Closure rate"), "closed_on_time": _("Closed on time"),
        "closed_on_time_rate": _("On-time closure rate"), "handled": _("Handled cases"),
        "rework": _("Reworked cases"), "rework_rate": _("Rework rate"), "rated": _("Rated cases"),
        "satisfied": _("Satisfied"), "fairly_satisfied": _("Fairly satisfied"),
        "dissatisfied": _("Dissatisfied"),
        "satisfaction_rate": _("Satisfaction rate"), "responded": _("With a response time"),
        "handling_timed": _("With a handling time"),
        "mean_response_hours": _("Mean response time (working hours)"),
        "mean_handling_hours": _("Mean handling time (working hours)"),
    }


def grouping_labels(_: Callable[[str], str]) -> dict[str, str]:
    return {"grid": _("Grid"), "community": _("Community"), "street": _("Street"), "district": _("District"),
            "department": _("Department"), "person": _("Person")}


def none_label(_: Callable[[str], str], by: str) -> str:
    """The name of the group of cases without a unit at this level, a department or an assignee."""
    return {"grid": _("(no grid)"), "community": _("(no community)"), "street": _("(no street)"),
            "district": _("(no district)"), "department": _("(no department)"),
            "person": _("(unassigned)")}[by]


def status_labels(_: Callable[[str], str]) -> dict[str, str]:
    return {"reported": _("Reported"), "accepted": _("Accepted"), "voided": _("Voided"),
            "registered": _("Registered"), "dispatched": _("Dispatched"), "in_progress": _("In progress"),
            "handled": _("Handled"), "checking": _("Checking"), "closed": _("Closed"),
            "suspended": _("Suspended")}


def row_name(_: Callable[[str], str], by: str, row: Row) -> str:
    if row.key == ALL_KEY:
        return _("Total")
    if row.key == NONE_KEY:
        return none_label(_, by)
    return row.name or row.key


def default_period(start: date | None, end: date | None) -> tuple[date, date]:
    """This month when neither is given; otherwise the month the given bound lies in completes the other."""
    if start is not None:
        metrics.check_date(start, "start")
    if end is not None:
        metrics.check_date(end, "end")
    if start is None and end is None:
        return metrics.month_of(local_today())
    if start is None:
        assert end is not None
        start = metrics.month_of(end - timedelta(days=1))[0]
    if end is None:
        end = metrics.month_of(start)[1]
    return start, end


# The JSON API.


class MetricsRow(BaseModel):
    key: str = Field(description=f"unit code, department account or user id; {NONE_KEY} for the group "
                                 f"without one, {ALL_KEY} for the totals")
    name: str
    reported: int
    voided: int
    valid: int
    registered: int
    due_to_handle: int
    handled_on_time: int
    due_to_close: int
    closed: int
    closed_on_time: int
    handled: int
    rework: int
    rated: int
    satisfied: int
    fairly_satisfied: int
    dissatisfied: int
    responded: int
    handling_timed: int
    registration_rate: float | None = Field(description="registered / valid; null when valid is 0")
    handled_on_time_rate: float | None = Field(description="handled_on_time / due_to_handle")
    closure_rate: float | None = Field(description="closed / due_to_close")
    closed_on_time_rate: float | None = Field(description="closed_on_time / due_to_close")
    rework_rate: float | None = Field(description="rework / handled")
    satisfaction_rate: float | None = Field(description="(satisfied + fairly_satisfied) / rated")
    mean_response_hours: float | None = Field(description="mean working hours from report to acceptance")
    mean_handling_hours: float | None = Field(description="mean working hours from dispatch to handling")


class MetricsReport(BaseModel):
    start: date
    end: date = Field(description="exclusive")
    by: str
    generated_at: datetime
    rows: list[MetricsRow]
    totals: MetricsRow


class CasesBehind(BaseModel):
    figure: str
    key: str
    total: int
    limit: int
    offset: int
    numbers: list[str]


class MapPoints(BaseModel):
    fields: list[str] = Field(description="the meaning of each point's items")
    points: list[tuple[str, float, float, str]]
    truncated: bool = Field(description=f"more than {MAX_POINTS} located cases; the newest are shown")


def _row_json(_: Callable[[str], str], by: str, row: Row) -> dict[str, Any]:
    return {**row.as_dict(), "name": row_name(_, by, row)}


StartQ = Annotated[date | None, Query(description="first day, YYYY-MM-DD (Beijing time); default: this "
                                                   "month")]
EndQ = Annotated[date | None, Query(description="day after the last, YYYY-MM-DD (exclusive)")]


@router.get("/api/v1/cases/metrics", response_model=MetricsReport, tags=["metrics"])
def metrics_json(request: Request, principal: Staff, session: ReadSession, start: StartQ = None,
                 end: EndQ = None, by: Grouping | None = None) -> Any:
    """The figures of the cases reported in [start, end) within the caller's scope, per group and in total.
    Formulas: docs/metrics.md."""
    start, end = default_period(start, end)
    report = metrics.compute(session, principal, start, end, by or metrics.default_by(principal))
    _ = gettext_for(request)
    return {"start": report.start, "end": report.end, "by": report.by, "generated_at": report.generated_at,
            "rows": [_row_json(_, report.by, r) for r in report.rows],
            "totals": _row_json(_, report.by, report.totals)}


@router.get("/api/v1/cases/metrics/cases", response_model=CasesBehind, tags=["metrics"])
def metrics_cases_json(principal: Staff, session: ReadSession, figure: Figure, start: StartQ = None,
                       end: EndQ = None, by: Grouping | None = None, key: str = ALL_KEY,
                       limit: Annotated[int, Query(ge=1, le=500)] = PAGE_SIZE,
                       offset: Offset = 0) -> Any:
    """The tracking numbers of the cases behind one figure of one group (key=_all: of the totals)."""
    start, end = default_period(start, end)
    grouping = by or metrics.default_by(principal)
    stmt = metrics.cases_behind(session, principal, start, end, key, grouping, figure)
    total, numbers = metrics.numbers_behind(session, stmt, limit=limit, offset=offset)
    return {"figure": figure, "key": key, "total": total, "limit": limit, "offset": offset,
            "numbers": numbers}


@router.get("/api/v1/cases/metrics/points", response_model=MapPoints, tags=["metrics"])
def metrics_points(principal: Staff, session: ReadSession, start: StartQ = None, end: EndQ = None) -> Any:
    """The period's located cases for the map (at most 5,000, newest first)."""
    start, end = default_period(start, end)
    pts, truncated = metrics.points(session, principal, start, end)
    return {"fields": ["number", "lat", "lon", "status"], "points": pts, "truncated": truncated}


# Pages.


@dataclass
class PageParams:
    start: date
    end: date
    by: str
    error: str | None = None  # in the reader's language; the page shows this month / the default grouping
    field: str | None = None


def _page_params(request: Request, principal: Principal, start: str | None, end: str | None, to: str | None,
                 by: str | None) -> PageParams:
    """The period and grouping a page asks for; on bad input this month and the default grouping, with the
    reason in the reader's language."""
    _ = gettext_for(request)
    grouping = by if by in GROUPINGS else metrics.default_by(principal)
    this_month = metrics.month_of(local_today())
    try:
        s = date.fromisoformat(start) if start else None
        last = date.fromisoformat(to) if to and not end else None
        e = date.fromisoformat(end) if end else None
    except ValueError:
        return PageParams(*this_month, grouping, _("Enter dates as YYYY-MM-DD."), "start")
    try:
        if last is not None:
            e = metrics.check_date(last, "to") + timedelta(days=1)
        s, e = default_period(s, e)
        metrics.check_period(s, e)
    except Invalid as exc:
        if exc.message.startswith("must lie between"):
            message = _("Dates must lie between 1900 and 2200.")
        elif s is not None and e is not None and e <= s:
            message = _("The last day must not be before the first day.")
        else:
            message = _("The period may be at most two years.")
        return PageParams(*this_month, grouping, message, exc.field)
    if by and by not in GROUPINGS:
        return PageParams(s, e, grouping, _("Unknown grouping; showing the default one."), "by")
    return PageParams(s, e, grouping)


def _period_text(locale: str, _: Callable[[str], str], start: date, end: date) -> str:
    """The period as the reader writes dates ("2025年3月1日 至 2025年3月31日"), its last day included."""
    def day(d: date) -> str:
        return fmt_date(d, locale)  # type: ignore[arg-type]  # Babel formats a date as well as a datetime

    last = end - timedelta(days=1)
    if last == start:
        return day(start)
    return _("%(start)s to %(end)s") % {"start": day(start), "end": day(last)}


def presets(_: Callable[[str], str], today: date) -> list[tuple[str, date, date]]:
    """Quick periods: this month, last month, this quarter, this year (each [start, end))."""
    this_month = metrics.month_of(today)
    last_month = metrics.month_of(this_month[0] - timedelta(days=1))
    q_first = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
    after = q_first.month + 3
    q_end = date(q_first.year + (after > 12), (after - 1) % 12 + 1, 1)
    year = (today.replace(month=1, day=1), today.replace(year=today.year + 1, month=1, day=1))
    return [(_("This month"), *this_month), (_("Last month"), *last_month),
            (_("This quarter"), q_first, q_end), (_("This year"), *year)]


@router.get("/cases/metrics", include_in_schema=False)
def metrics_page(request: Request, principal: Staff, session: ReadSession, start: str | None = None,
                 end: str | None = None, to: str | None = None, by: str | None = None) -> Response:
    params = _page_params(request, principal, start, end, to, by)
    s, e, grouping, error = params.start, params.end, params.by, params.error
    report = metrics.compute(session, principal, s, e, grouping)
    _ = gettext_for(request)
    names = labels(_)
    rows = [(r, row_name(_, grouping, r)) for r in report.rows]
    chart = {
        "units": [n for _r, n in rows],
        "closed_on_time_rate": [None if r.closed_on_time_rate is None
                                else round(r.closed_on_time_rate * 100, 1) for r, _n in rows],
        "satisfaction": [{"name": names[f], "value": getattr(report.totals, f)}
                         for f in ("satisfied", "fairly_satisfied", "dissatisfied")],
        "statuses": status_labels(_),
    }
    context = {
        "view": "metrics", "report": report, "rows": rows, "totals_name": _("Total"), "labels": names,
        "columns": COLUMNS, "mean_figure": MEAN_FIGURE, "formulas": FORMULAS, "by": grouping,
        "groupings": grouping_labels(_), "start": s, "end": e, "to": e - timedelta(days=1),
        "period_text": _period_text(request_locale(request), _, s, e), "presets": presets(_, local_today()),
        "error": error, "chart": chart, "all_key": ALL_KEY,
        "query": {"start": s.isoformat(), "end": e.isoformat(), "by": grouping},
        "generated_at": report.generated_at,
    }
    return render(request, "cases/metrics.html", context, status_code=422 if error else 200)


@router.get("/cases/metrics/cases", include_in_schema=False)
def metrics_cases_page(request: Request, principal: Staff, session: ReadSession, figure: str = "reported",
                       key: str = ALL_KEY, start: str | None = None, end: str | None = None,
                       by: str | None = None, page: Annotated[int, Query(ge=1, le=10_000)] = 1) -> Response:
    params = _page_params(request, principal, start, end, None, by)
    s, e, grouping, error = params.start, params.end, params.by, params.error
    _ = gettext_for(request)
    names = labels(_)
    if figure not in FIGURES:
        figure, error = "reported", _("Unknown figure; showing every reported case.")
    try:
        stmt = metrics.cases_behind(session, principal, s, e, key, grouping, figure)
    except Invalid:
        key, error = ALL_KEY, _("Unknown unit, department or person; showing every case in your scope.")
        stmt = metrics.cases_behind(session, principal, s, e, key, grouping, figure)
    total = metrics.count_behind(session, stmt)
    cases = list(session.execute(stmt.with_only_columns(
        Case.number, Case.status, Case.reported_at, Case.address, Case.description)
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all())
    group_name = {ALL_KEY: _("All cases in your scope"), NONE_KEY: none_label(_, grouping)}.get(key) or (
        metrics.group_name(session, grouping, key))
    context = {
        "view": "cases", "figure": figure, "figure_label": names[figure], "group_name": group_name,
        "cases": cases, "total": total, "page": page, "pages": max(1, -(-total // PAGE_SIZE)),
        "statuses": status_labels(_), "period_text": _period_text(request_locale(request), _, s, e),
        "error": error, "key": key,
        "query": {"start": s.isoformat(), "end": e.isoformat(), "by": grouping, "key": key, "figure": figure},
        "back": {"start": s.isoformat(), "end": e.isoformat(), "by": grouping},
    }
    return render(request, "cases/metrics.html", context, status_code=422 if error else 200)


@router.get("/cases/metrics.xlsx", include_in_schema=False)
def metrics_xlsx(request: Request, principal: Staff, session: ReadSession, start: str | None = None,
                 end: str | None = None, to: str | None = None, by: str | None = None) -> Response:
    params = _page_params(request, principal, start, end, to, by)
    if params.error:
        raise Invalid(params.error, field=params.field)
    s, e, grouping = params.start, params.end, params.by
    report = metrics.compute(session, principal, s, e, grouping)
    _ = gettext_for(request)
    data = workbook(report, _, _period_text(request_locale(request), _, s, e))
    name = f"case-metrics-{grouping}-{s.isoformat()}-{e.isoformat()}.xlsx"
    return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def workbook(report: Report, _: Callable[[str], str], period_text: str) -> bytes:
    """The table as an Excel workbook: a title row with the period, the headers, a row per group, totals."""
    names = labels(_)
    wb = Workbook()
    ws = wb.active
    ws.title = _("Case metrics")[:31]
    ws.append([f"{_('Case metrics')} {period_text}"])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append([grouping_labels(_)[report.by], _("Code"), *[names[c] for c in COLUMNS]])
    for cell in ws[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for row in [*report.rows, report.totals]:
        code = "" if row.key in (ALL_KEY, NONE_KEY) or report.by == "person" else row.key
        values: list[Any] = [row_name(_, report.by, row), code]
        for c in COLUMNS:
            v = getattr(row, c)
            values.append("—" if v is None else v)
        ws.append(values)
        for i, c in enumerate(COLUMNS, start=3):
            cell = ws.cell(row=ws.max_row, column=i)
            if c.endswith("_rate") and isinstance(cell.value, float):
                cell.number_format = "0.0%"
            elif c.startswith("mean_") and isinstance(cell.value, float):
                cell.number_format = "0.00"
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "C3"
    ws.column_dimensions["A"].width = 22
    ws.column_dimensions["B"].width = 17
    for i in range(3, len(COLUMNS) + 3):
        ws.column_dimensions[get_column_letter(i)].width = 11
    buf = BytesIO()
    wb.save(buf)
    return buf.getvalue()

