"""Staff pages of cases: to-do and map, queue and Excel export, patrol and hotline intake, categories, and the
working-day calendar."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from jiayuan.accounts import service as accounts
from jiayuan.accounts.roles import ASSIGNEES, STAFF_ROLES, Role
from jiayuan.accounts.service import Principal
from jiayuan.cases import calendar, categories, intake, policy, service, timing, views
from jiayuan.cases.models import Case
from jiayuan.cases.pages import (
    case_error,
    case_input,
    category_tree,
    file_case,
    labels,
    mark_failed,
    page_context,
    report_form,
)
from jiayuan.cases.workflow import (
    ACCEPTED,
    CHECKING,
    DISPATCHED,
    HANDLED,
    IN_PROGRESS,
    OPEN,
    REGISTERED,
    REPORTED,
    STATUSES,
    SUSPENDED,
)
from jiayuan.deps import AppSettings, CurrentPrincipal, DbSession, client_ip, require_role, verify_csrf
from jiayuan.kit import excel
from jiayuan.kit.bodies import IMPORT, PHOTOS, body_limit
from jiayuan.kit.clock import local_today
from jiayuan.kit.db import utcnow
from jiayuan.kit.errors import DomainError, Forbidden, Invalid
from jiayuan.kit.i18n import TIMEZONE
from jiayuan.kit.identity import mask_phone
from jiayuan.kit.text import normalise_phone, search_term
from jiayuan.page_kit import N_, Messages, PostedForm, explain, field_text, flash, see_other, status_of
from jiayuan.units import service as units
from jiayuan.web import gettext_for, render, request_locale

router = APIRouter(include_in_schema=False)
Admin = Annotated[Principal, Depends(require_role(Role.district_admin))]

TABS = ("new", "dispatch", "progress", "overdue", "supervised", "all")
TAB_STATUSES: dict[str, frozenset[str]] = {
    "new": frozenset({REPORTED, ACCEPTED}),
    "dispatch": frozenset({REGISTERED}),
    "progress": frozenset({DISPATCHED, IN_PROGRESS, HANDLED, CHECKING, SUSPENDED}),
    "overdue": OPEN,
    "supervised": OPEN,
}
PAGE_SIZE = 50
EXPORT_LIMIT = 50_000




def _handler_page(request: Request, session: Session, principal: Principal) -> Response:
    mine, others = views.todo(session, principal, request_locale(request))
    points = [{"lat": v["lat"], "lon": v["lon"], "number": v["number"], "light": v["light"] or "none",
               "category": v["category_name"], "mine": bool(v.get("next"))}
              for v in mine + others if v["lat"] is not None]
    grids = [u.geometry for g in principal.grids for u in units.chain_of(session, g)[-1:] if u.geometry]
    return render(request, "cases/workbench.html", {**page_context(request), "mine": mine, "others": others,
                                                    "points": points, "grid_geometries": grids})


# The dispatchers' queue.


@dataclass
class QueueFilter:
    tab: str = "new"
    status: str = ""
    category: str = ""
    unit: str = ""
    q: str = ""

    def query(self, **changes: Any) -> str:
        params = {"tab": self.tab, "status": self.status, "category": self.category, "unit": self.unit,
                  "q": self.q, **changes}
        return urlencode({k: v for k, v in params.items() if v})


def queue_filter(tab: str | None, status: str | None, category: str | None, unit: str | None,
                 q: str | None) -> QueueFilter:
    """The filters from the query string; anything unknown is dropped rather than refused, but a search term
    longer than kit.text.MAX_SEARCH_TERM is refused (a 422 with the message), not cut."""
    unit = (unit or "").strip()
    return QueueFilter(
        tab=tab if tab in TABS else "new",
        status=status if status in (*STATUSES, "open", "final") else "",
        category=(category or "").strip() if (category or "").strip().isdigit() else "",
        unit=unit if unit.isdigit() and len(unit) in (6, 9, 12, 15) else "",
        q=search_term(q) or "",
    )


def queue_statement(principal: Principal, f: QueueFilter, *, tab: str | None = None) -> Select[tuple[Case]]:
    """The caller's cases (scoped by policy.visible, the one place for it), narrowed by tab and filters."""
    tab = tab or f.tab
    stmt = select(Case).where(policy.visible(principal))
    if tab in TAB_STATUSES:
        stmt = stmt.where(Case.status.in_(TAB_STATUSES[tab]))
    if tab == "overdue":
        stmt = stmt.where(Case.stage_due_at < utcnow())
    elif tab == "supervised":
        stmt = stmt.where(Case.supervision.is_not(None))
    narrowed = service.CaseFilter(status=f.status or None, category=f.category or None, unit=f.unit or None,
                                  q=f.q or None)
    return stmt.where(*service.matching(narrowed, in_address=True))


def _ordered(stmt: Select[tuple[Case]], tab: str) -> Select[tuple[Case]]:
    if tab == "all":
        return stmt.order_by(Case.reported_at.desc())
    return stmt.order_by(Case.stage_due_at.is_(None), Case.stage_due_at, Case.reported_at)


def _count(session: Session, stmt: Select[tuple[Case]]) -> int:
    return session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


def tab_counts(session: Session, principal: Principal, f: QueueFilter) -> dict[str, int]:
    """How many cases each tab holds, in one pass over the filtered cases rather than one query per tab."""
    base = queue_statement(principal, f, tab="all").subquery()
    now = utcnow()
    figures = {
        "new": base.c.status.in_(TAB_STATUSES["new"]),
        "dispatch": base.c.status.in_(TAB_STATUSES["dispatch"]),
        "progress": base.c.status.in_(TAB_STATUSES["progress"]),
        "overdue": base.c.status.in_(OPEN) & (base.c.stage_due_at < now),
        "supervised": base.c.status.in_(OPEN) & base.c.supervision.is_not(None),
    }
    row = session.execute(select(*(func.count().filter(cond).label(t) for t, cond in figures.items()))
                          .select_from(base)).one()
    return {t: int(getattr(row, t) or 0) for t in figures}


def _unit_names(session: Session, principal: Principal) -> dict[str, str]:
    return {u.code: u.name for u in units.list_units(session, principal.scope, with_ancestors=True)}


def _queue_page(request: Request, session: Session, principal: Principal, f: QueueFilter,
                page: int) -> Response:
    locale = request_locale(request)
    stmt = queue_statement(principal, f)
    total = _count(session, stmt)
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    page = min(max(page, 1), pages)
    rows = list(session.scalars(_ordered(stmt, f.tab).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)))
    counts = tab_counts(session, principal, f)
    scope_units = [u for u in units.list_units(session, principal.scope) if u.level != "district"]
    return render(request, "cases/queue.html", {
        **page_context(request), "f": f, "tabs": TABS, "counts": counts, "total": total, "page": page,
        "pages": pages, "cases": views.present_many(session, rows, principal, locale),
        "unit_names": _unit_names(session, principal), "scope_units": scope_units,
        "groups": _category_groups(session, locale), "statuses": STATUSES})


def _category_groups(session: Session, locale: str) -> list[tuple[Any, list[Any]]]:
    rows = categories.list_categories(session, active_only=False)
    groups = [c for c in rows if c.parent_code is None]
    name = (lambda c: c.name_zh) if locale == "zh_CN" else (lambda c: c.name_en)
    return [({"code": g.code, "name": name(g)}, [{"code": c.code, "name": name(c)} for c in rows
                                                 if c.parent_code == g.code]) for g in groups]


@router.get("/workbench")
def workbench(request: Request, principal: CurrentPrincipal, session: DbSession, tab: str | None = None,
              status: str | None = None, category: str | None = None, unit: str | None = None,
              q: str | None = None, page: str = "1") -> Response:
    if principal.role == Role.resident:
        return see_other("/my/cases")
    if policy.uses_queue(principal):
        number = int(page) if page.isdigit() else 1  # a page asked for by hand is never an error page
        return _queue_page(request, session, principal, queue_filter(tab, status, category, unit, q), number)
    if principal.role in ASSIGNEES:
        return _handler_page(request, session, principal)
    raise Forbidden("your role may not do this", field="role")


@router.get("/cases/export.xlsx")
def export(request: Request, principal: CurrentPrincipal, session: DbSession, tab: str | None = None,
           status: str | None = None, category: str | None = None, unit: str | None = None,
           q: str | None = None) -> Response:
    """The list as filtered on the page, as an Excel workbook with Chinese headers; phones masked."""
    if principal.role not in STAFF_ROLES:
        raise Forbidden("your role may not do this", field="role")
    f = queue_filter(tab if policy.uses_queue(principal) else "all", status, category, unit, q)
    if not policy.uses_queue(principal) and tab is None and status is None:
        f.status = "open"  # a handler's export is their open list, as the to-do page shows it
    rows = list(session.scalars(_ordered(queue_statement(principal, f), f.tab).limit(EXPORT_LIMIT)))
    data = workbook(request, session, principal, rows)
    accounts.audit_for(session, principal, "cases_exported", target="/cases/export.xlsx",
                       ip=client_ip(request),
                       detail={"rows": len(rows), "filters": f.query()})
    name = f"cases-{datetime.now(TIMEZONE):%Y%m%d-%H%M}.xlsx"
    return Response(data, media_type=excel.XLSX_TYPE,
                    headers={"Content-Disposition":
                             f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(name)}"})


def _local(value: datetime | None) -> datetime | None:
    """Excel has no time zones: Beijing time, as the staff read it."""
    if value is None:
        return None
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value
    return value.astimezone(TIMEZONE).replace(tzinfo=None)


def workbook(request: Request, session: Session, principal: Principal, rows: list[Case]) -> bytes:
    _ = gettext_for(request)
    L = labels(_)  # noqa: N806 - the same name as in the templates
    zh = request_locale(request) == "zh_CN"
    names = _unit_names(session, principal)
    cats = views.category_names(session)
    users = accounts.users_by_ids(session, list({c.assignee_id for c in rows if c.assignee_id}))
    now = utcnow()
    headers = [_("Tracking number"), _("Status"), _("Category"), _("Description"), _("Address"), _("Place"),
               _("Answerable unit"), _("Handler"), _("Channel"), _("Reported at"), _("Stage due"),
               _("Time limit"),
               _("Handling due"), _("Closed at"), _("Supervision"), _("Urgent"), _("Reporter"), _("Phone"),
               _("Rating")]

    def row(c: Case) -> list[Any]:
        category = cats.get(c.category_code)
        light = timing.light(session, c.stage_started_at, c.stage_due_at, now) if (
            c.status in OPEN and c.stage_due_at) else None
        assignee = users.get(c.assignee_id)
        return [
            c.number, L["status"].get(c.status, c.status),
            ((category.name_zh if zh else category.name_en) if category else c.category_code),
            c.description, c.address or "", names.get(c.origin_code, c.origin_code),
            names.get(c.unit_code, c.department or c.unit_code), assignee.full_name if assignee else "",
            L["channel"].get(c.channel, c.channel), _local(c.reported_at), _local(c.stage_due_at),
            L["light"].get(light, "") if light else "", _local(c.due_at), _local(c.closed_at),
            L["supervision"].get(c.supervision, "") if c.supervision else "", _("Urgent") if c.urgent else "",
            _("Anonymous") if c.anonymous else (c.reporter_name or ""),
            mask_phone(c.reporter_phone) if c.reporter_phone else "",
            L["rating"].get(c.rating, "") if c.rating else ""]

    # The one writer (kit.excel): a description or a name typed as "=HYPERLINK(…)" stays text.
    return excel.write_list(headers, (row(c) for c in rows), sheet=_("Cases")[:31])


# Staff intake: the grid worker's patrol report, and the 12343 hotline desk.


@router.get("/patrol")
def patrol_page(request: Request, principal: CurrentPrincipal, session: DbSession) -> Response:
    _grid_worker(principal)
    return report_form(request, session, principal, "patrol")


@router.post("/patrol", dependencies=[Depends(verify_csrf)])
@body_limit(PHOTOS)
def patrol(request: Request, principal: CurrentPrincipal, session: DbSession, settings: AppSettings,
           form: PostedForm) -> Response:
    _grid_worker(principal)
    _ = gettext_for(request)
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    data = case_input(form, values, errors, request)
    data.unit_code, data.reporter_name, data.reporter_phone, data.anonymous = None, None, None, False
    if errors:
        status = mark_failed(request, errors, form)
        return report_form(request, session, principal, "patrol", values, errors, status)
    try:
        case = file_case(request, session, settings, form, data, channel="patrol", actor=principal)
    except DomainError as exc:
        status = mark_failed(request, errors, form, exc, values)
        return report_form(request, session, principal, "patrol", values, errors, status)
    flash(request, _("Reported. Tracking number %(number)s.") % {"number": case.number})
    return see_other(f"/cases/{case.number}")


def _grid_worker(principal: Principal) -> None:
    if principal.role != Role.grid_worker:
        raise Forbidden("your role may not do this", field="role")


# The hotline console (12343): one form for a caller's problem, and the caller's earlier cases.


def _hotline_page(request: Request, session: Session, principal: Principal,
                  values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                  status_code: int = 200, **extra: Any) -> Response:
    values = dict(values or {})
    values.setdefault("idempotency_key", uuid.uuid4().hex)
    picker = [u for u in units.list_units(session, principal.scope) if u.level in ("community", "grid")]
    return render(request, "cases/hotline.html", {
        **page_context(request), "values": values, "errors": errors or {}, "units": picker,
        "groups": category_tree(session, request_locale(request)), "max_description": intake.MAX_DESCRIPTION,
        **extra}, status_code=status_code)


def cases_by_phone(request: Request, session: Session, principal: Principal, phone: str,
                   exclude: str | None = None) -> list[dict[str, Any]]:
    """A caller's earlier cases in the operator's scope, masked; the look-up itself is audited."""
    if not normalise_phone(phone):
        return []
    rows = service.by_phone(session, principal, phone)
    accounts.audit_for(session, principal, "cases_by_phone", target="/hotline", ip=client_ip(request),
                       detail={"found": len(rows)})
    return [c for c in views.present_many(session, rows, principal, request_locale(request))
            if c["number"] != exclude]


@router.get("/hotline")
def hotline_page(request: Request, principal: CurrentPrincipal, session: DbSession) -> Response:
    policy.require_intake_staff(principal)
    return _hotline_page(request, session, principal)


@router.post("/hotline", dependencies=[Depends(verify_csrf)])
@body_limit(PHOTOS)  # file_case reads photos, should the form send any
def hotline(request: Request, principal: CurrentPrincipal, session: DbSession, settings: AppSettings,
            form: PostedForm) -> Response:
    policy.require_intake_staff(principal)
    _ = gettext_for(request)
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    data = case_input(form, values, errors, request)
    data.lat = data.lon = None
    data.urgent = bool(form.get("urgent"))
    values["urgent"] = data.urgent
    if not data.reporter_phone:
        errors["reporter_phone"] = _("Enter the caller's phone: it is how the caller tracks the case.")
    if not data.unit_code and not data.address:
        errors["unit_code"] = _("Choose the community or grid, or type the address.")
    if errors:
        return _hotline_page(request, session, principal, values, errors, 422)
    try:
        case = file_case(request, session, settings, form, data, channel="hotline", actor=principal)
    except DomainError as exc:
        status = mark_failed(request, errors, form, exc, values)
        return _hotline_page(request, session, principal, values, errors, status)
    created = views.present(session, case, principal, locale=request_locale(request))
    earlier = cases_by_phone(request, session, principal, data.reporter_phone or "", exclude=case.number)
    return _hotline_page(request, session, principal, created=created, earlier=earlier,
                         looked_up=True)


@router.post("/hotline/lookup", dependencies=[Depends(verify_csrf)])
def hotline_lookup(request: Request, principal: CurrentPrincipal, session: DbSession,
                   form: PostedForm) -> Response:
    policy.require_intake_staff(principal)
    phone = field_text(form, "reporter_phone", 40)
    earlier = cases_by_phone(request, session, principal, phone)
    return _hotline_page(request, session, principal, {"reporter_phone": phone}, earlier=earlier,
                         looked_up=True)




# Categories, edited by the district administrator.


def _categories_page(request: Request, session: Session, principal: Principal, *, saved: str | None = None,
                     error: dict[str, str] | None = None, status_code: int = 200) -> Response:
    rows = categories.list_categories(session, active_only=False)
    departments = accounts.list_users(session, principal.scope, role="department")
    return render(request, "cases/categories.html", {
        **page_context(request), "groups": [(g, [c for c in rows if c.parent_code == g.code])
                                            for g in rows if g.parent_code is None],
        "levels": categories.LEVELS, "departments": departments, "saved": saved, "error": error or {}},
        status_code=status_code)


@router.get("/admin/categories")
def categories_page(request: Request, principal: Admin, session: DbSession,
                    saved: str | None = None) -> Response:
    return _categories_page(request, session, principal, saved=saved)


@router.post("/admin/categories/{code}", dependencies=[Depends(verify_csrf)])
def category_save(code: str, request: Request, principal: Admin, session: DbSession,
                  form: PostedForm) -> Response:
    changes: dict[str, Any] = {}
    for key in ("name_zh", "name_en"):
        if isinstance(form.get(key), str):
            changes[key] = str(form.get(key)).strip()
    if form.get("handling_level") is not None:
        changes["handling_level"] = str(form.get("handling_level"))
        hours = str(form.get("time_limit_hours") or "").strip()
        changes["time_limit_hours"] = int(hours) if hours.isdigit() else hours
        changes["urgent"] = bool(form.get("urgent"))
        changes["department"] = str(form.get("department") or "").strip() or None
    changes["is_active"] = bool(form.get("is_active"))
    try:
        with session.begin_nested():
            categories.update_category(session, code, changes)
    except DomainError as exc:
        field, message = case_error(request, exc)
        return _categories_page(request, session, principal, status_code=status_of(exc),
                                error={"code": code, "field": field, "message": message})
    accounts.audit_for(session, principal, "category_updated", target=f"categories/{code}",
                       ip=client_ip(request),
                       detail={k: v for k, v in changes.items() if k != "name_en"})
    return see_other(f"/admin/categories?saved={code}#c-{code}")


# The working-day calendar (工作日历), kept by the district administrator: known years, special days, uploads.

MAX_CALENDAR_UPLOAD = 1_000_000
# What is wrong with an uploaded schedule, by reason (the row and column are said before it).
CALENDAR_MESSAGES: Messages = {
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


def _calendar_page(request: Request, session: Session, year: int, **extra: Any) -> Response:
    cal = calendar.calendar_for(session)
    counts: dict[int, list[int]] = {}
    for day, workday in cal.special.items():
        counts.setdefault(day.year, [0, 0])[int(workday)] += 1
    days = calendar.special_days(session, year) if calendar.MIN_YEAR <= year <= calendar.MAX_YEAR else []
    context = {"years": calendar.known_years(session), "counts": counts, "year": year, "days": days,
               "known": year in cal.known_years, "unknown": calendar.unknown_years(session, local_today()),
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
    return {"where": where, "message": explain(request, exc, CALENDAR_MESSAGES)[1]}


@router.get("/admin/calendar")
def calendar_page(request: Request, principal: Admin, session: DbSession, year: int | None = None,
                  saved: int | None = None) -> Response:
    return _calendar_page(request, session, year or local_today().year, saved=saved)


@router.post("/admin/calendar/{year}", dependencies=[Depends(verify_csrf)])
@body_limit(IMPORT)
def calendar_upload(year: int, request: Request, principal: Admin, session: DbSession,
                    file: Annotated[UploadFile | None, File()] = None,
                    schedule: Annotated[str, Form()] = "") -> Response:
    try:
        if file is not None and file.filename:
            data, name = file.file.read(MAX_CALENDAR_UPLOAD + 1), file.filename
        elif schedule.strip():
            data, name = schedule.encode("utf-8"), "schedule.csv"
        else:
            raise Invalid("choose a file or paste the schedule", field="file", reason="required")
        if len(data) > MAX_CALENDAR_UPLOAD:
            raise Invalid("the file is larger than 1 MB", field="file", reason="too_large")
        rows = calendar.parse_schedule(data, name, year=year)
        count = calendar.set_year(session, year, rows, source=f"page {principal.username}")
    except Invalid as exc:
        return _calendar_page(request, session, year, error=_describe(request, exc), schedule=schedule)
    accounts.audit_for(session, principal, "calendar_year_set", target=f"calendar/{year}",
                       ip=client_ip(request), detail={"days": count, "file": name})
    return see_other(f"/admin/calendar?year={year}&saved={count}")
