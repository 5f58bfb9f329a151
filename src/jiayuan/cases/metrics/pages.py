"""Pages of the case metrics: the table with charts and a map, the cases behind a figure, and the Excel export."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from jiayuan.accounts.roles import STAFF_ROLES
from jiayuan.accounts.service import Principal
from jiayuan.cases.metrics import service as metrics
from jiayuan.cases.metrics.service import (
    ALL_KEY,
    FIGURES,
    GROUPINGS,
    NONE_KEY,
    Report,
    none_label,
    presets,
    row_name,
)
from jiayuan.cases.models import Case
from jiayuan.deps import ReadSession, require_role
from jiayuan.kit import excel
from jiayuan.kit.clock import local_today
from jiayuan.kit.errors import Invalid
from jiayuan.kit.i18n import fmt_date
from jiayuan.page_kit import N_, Messages, explain
from jiayuan.web import gettext_for, render, request_locale

router = APIRouter(include_in_schema=False)
Staff = Annotated[Principal, Depends(require_role(*STAFF_ROLES))]
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


def status_labels(_: Callable[[str], str]) -> dict[str, str]:
    return {"reported": _("Reported"), "accepted": _("Accepted"), "voided": _("Voided"),
            "registered": _("Registered"), "dispatched": _("Dispatched"), "in_progress": _("In progress"),
            "handled": _("Handled"), "checking": _("Checking"), "closed": _("Closed"),
            "suspended": _("Suspended")}


# What is wrong with the period asked for (the page then shows this month).
MESSAGES: Messages = {
    ("*", "out_of_range"): N_("Dates must lie between 1900 and 2200."),
    ("*", "end_before_start"): N_("The last day must not be before the first day."),
    ("*", "*"): N_("The period may be at most two years."),
}


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
        s, e = metrics.default_period(s, e)
        metrics.check_period(s, e)
    except Invalid as exc:
        return PageParams(*this_month, grouping, explain(request, exc, MESSAGES)[1], exc.field)
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
    columns: list[excel.Column | str] = [
        excel.Column(key="name", title=grouping_labels(_)[report.by], width=22),
        excel.Column(key="code", title=_("Code"), width=17),
        *(excel.Column(key=c, title=names[c], width=11,
                       number_format="0.0%" if c.endswith("_rate") else "0.00" if c.startswith("mean_") else "")
          for c in COLUMNS)]
    rows = []
    for row in [*report.rows, report.totals]:
        code = "" if row.key in (ALL_KEY, NONE_KEY) or report.by == "person" else row.key
        values: list[Any] = [row_name(_, report.by, row), code]
        values += ["—" if getattr(row, c) is None else getattr(row, c) for c in COLUMNS]
        rows.append(values)
    return excel.write_list(columns, rows, sheet=_("Case metrics")[:31],
                            title=f"{_('Case metrics')} {period_text}")
