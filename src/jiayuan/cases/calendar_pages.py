"""The district administrator's page of the working-day calendar: known years, special days, uploads."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from jiayuan.accounts import service as accounts
from jiayuan.accounts.roles import Role
from jiayuan.accounts.service import Principal
from jiayuan.cases import calendar
from jiayuan.deps import DbSession, client_ip, require_role, verify_csrf
from jiayuan.kit.errors import Invalid
from jiayuan.page_kit import N_, Messages, explain, see_other
from jiayuan.web import gettext_for, render

router = APIRouter(include_in_schema=False)
Admin = Annotated[Principal, Depends(require_role(Role.district_admin))]
MAX_UPLOAD = 1_000_000
# What is wrong with an uploaded schedule, by reason (the row and column are said before it).
MESSAGES: Messages = {
    ("file", "required"): N_("choose a file or paste the schedule"),
    ("file", "too_large"): N_("the file is larger than 1 MB"),
    ("file", "xls"): N_("save the workbook as .xlsx or .csv"),
    ("file", "not_a_workbook"): N_("not an Excel .xlsx workbook"),
    ("file", "not_utf8"): N_("the file is not UTF-8 text"),
    ("file", "too_many"): N_("too many rows (at most 1000)"),
    ("*", "bad_header"): N_("the header must name the columns date, type and note"),
    ("*", "not_a_date"): N_("not a date; write it as YYYY-MM-DD"),
    ("*", "wrong_year"): N_("the date is not in this year"),
    ("*", "twice"): N_("the date is listed twice"),
    ("*", "not_a_choice"): N_("must be holiday or workday (休 or 班)"),
    ("*", "too_long"): N_("must be at most 60 characters"),
}


def _page(request: Request, session: Session, year: int, **extra: Any) -> Response:
    cal = calendar.calendar_for(session)
    counts: dict[int, list[int]] = {}
    for day, workday in cal.special.items():
        counts.setdefault(day.year, [0, 0])[int(workday)] += 1
    days = calendar.special_days(session, year) if calendar.MIN_YEAR <= year <= calendar.MAX_YEAR else []
    context = {"years": calendar.known_years(session), "counts": counts, "year": year, "days": days,
               "known": year in cal.known_years, "unknown": calendar.unknown_years(session, calendar.local_today()),
               "periods": calendar.WORKING_PERIODS, **extra}
    return render(request, "cases/calendar.html", context, status_code=422 if extra.get("error") else 200)


def _describe(request: Request, exc: Invalid) -> dict[str, str]:
    """The error in the reader's language: which row and column of the file, and what is wrong."""
    _ = gettext_for(request)
    details = exc.details if isinstance(exc.details, dict) else {}
    columns = {"date": _("Date"), "type": _("Type"), "note": _("Note"), "header": _("Header")}
    if "row" in details:
        where = _("Row %(row)s (%(column)s)") % {"row": details["row"],
                                                 "column": columns.get(details.get("column"), "")}
    else:
        where = {"file": _("File"), "year": _("Year")}.get(exc.field or "", exc.field or "")
    return {"where": where, "message": explain(request, exc, MESSAGES)[1]}


@router.get("/admin/calendar")
def calendar_page(request: Request, principal: Admin, session: DbSession, year: int | None = None,
                  saved: int | None = None) -> Response:
    return _page(request, session, year or calendar.local_today().year, saved=saved)


@router.post("/admin/calendar/{year}", dependencies=[Depends(verify_csrf)])
def calendar_upload(year: int, request: Request, principal: Admin, session: DbSession,
                    file: Annotated[UploadFile | None, File()] = None,
                    schedule: Annotated[str, Form()] = "") -> Response:
    try:
        if file is not None and file.filename:
            data, name = file.file.read(MAX_UPLOAD + 1), file.filename
        elif schedule.strip():
            data, name = schedule.encode("utf-8"), "schedule.csv"
        else:
            raise Invalid("choose a file or paste the schedule", field="file", reason="required")
        if len(data) > MAX_UPLOAD:
            raise Invalid("the file is larger than 1 MB", field="file", reason="too_large")
        rows = calendar.parse_schedule(data, name, year=year)
        count = calendar.set_year(session, year, rows, source=f"page {principal.username}")
    except Invalid as exc:
        return _page(request, session, year, error=_describe(request, exc), schedule=schedule)
    accounts.audit_for(session, principal, "calendar_year_set", target=f"calendar/{year}",
                       ip=client_ip(request), detail={"days": count, "file": name})
    return see_other(f"/admin/calendar?year={year}&saved={count}")
