"""Pages of cases for residents and handlers: report, track and rate, my cases, and the case page."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from starlette.convertors import Convertor, register_url_convertor
from starlette.datastructures import FormData, UploadFile

from jiayuan.accounts import service as accounts
from jiayuan.accounts.roles import Role
from jiayuan.accounts.service import Principal
from jiayuan.cases import actions, categories, intake, policy, service, views
from jiayuan.cases.models import Case, CaseEvent, Category
from jiayuan.cases.workflow import RATINGS, SUPERVISION_LEVELS, TRANSITIONS
from jiayuan.config import Settings
from jiayuan.deps import AppSettings, CurrentPrincipal, DbSession, OptionalPrincipal, client_ip, verify_csrf
from jiayuan.kit.bodies import PHOTOS, body_limit
from jiayuan.kit.db import utcnow
from jiayuan.kit.errors import Conflict, DomainError, Invalid, NotFound
from jiayuan.kit.idempotency import REUSED
from jiayuan.kit.scope import Scope
from jiayuan.notify.limits import TextLimits
from jiayuan.page_kit import (
    N_,
    Messages,
    PostedForm,
    explain,
    field_int,
    field_text,
    flash,
    lenient_float,
    photo_bytes,
    see_other,
    status_of,
    take_flash,
)
from jiayuan.units import service as units
from jiayuan.web import gettext_for, render, request_locale


class CaseNumber(Convertor[str]):
    """Tracking numbers are digits: /cases/metrics, /cases/export.xlsx and the like stay free for others."""

    regex = r"\d{6,20}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return str(value)


register_url_convertor("caseno", CaseNumber())

router = APIRouter(include_in_schema=False)

PHOTO_ACTIONS = frozenset({"handle", "check", "close", "rework"})

# Labels: every status, action, rating, channel and level in the reader's language.


def labels(_: Any) -> dict[str, dict[str, str]]:
    return {
        "status": {
            "reported": _("Reported"), "accepted": _("Accepted"), "voided": _("Voided"),
            "registered": _("Registered"), "dispatched": _("Dispatched"), "in_progress": _("In progress"),
            "handled": _("Handled"), "checking": _("Checking"), "closed": _("Closed"),
            "suspended": _("Suspended"),
        },
        "action": {
            "report": _("Report"), "accept": _("Accept"), "void": _("Void"), "merge": _("Merge as duplicate"),
            "register": _("Register"), "dispatch": _("Dispatch"), "return": _("Return (wrong dispatch)"),
            "start": _("Start handling"), "handle": _("Report handling done"), "check": _("Check on site"),
            "close": _("Close"), "rework": _("Send back for rework"),
            "request_extension": _("Request extension"),
            "approve_extension": _("Approve extension"), "reject_extension": _("Reject extension"),
            "request_suspension": _("Request suspension"), "approve_suspension": _("Approve suspension"),
            "resume": _("Resume"), "supervise": _("Supervise"), "escalate": _("Escalate"),
            "mark_urgent": _("Mark urgent"), "rate": _("Rate"), "handled_on_spot": _("Handled on the spot"),
            "merged_in": _("Duplicate merged in"),
        },
        "rating": {"satisfied": _("Satisfied"), "fairly_satisfied": _("Fairly satisfied"),
                   "dissatisfied": _("Dissatisfied")},
        "channel": {"resident": _("Resident report"), "hotline": _("12343 hotline"),
                    "patrol": _("Grid patrol"), "api": _("API"), "open311": _("Open311 app")},
        "level": {"grid": _("Grid"), "community": _("Community"), "street": _("Street"),
                  "district": _("District"), "department": _("Department")},
        "supervision": {"normal": _("Supervised (normal)"), "yellow": _("Yellow card"), "red": _("Red card")},
        "light": {"green": _("On time"), "yellow": _("Due soon"), "red": _("Overdue")},
        "role": {"resident": _("Resident"), "grid_worker": _("Grid worker"),
                 "community_staff": _("Community staff"),
                 "street_staff": _("Street staff"), "district_admin": _("District administrator"),
                 "department": _("Department"), "hotline_operator": _("Hotline operator"),
                 "system": _("System"),
                 "open311": _("Open311 app")},
    }


def due_phrase(_: Any, due: datetime | None, now: datetime | None = None) -> str:
    """How long is left, or how late it is, in words a busy worker reads at a glance."""
    if due is None:
        return ""
    now = now or utcnow()
    due = due.replace(tzinfo=UTC) if due.tzinfo is None else due
    minutes = int((due - now).total_seconds() // 60)
    late, minutes = minutes < 0, abs(minutes)
    days, hours, mins = minutes // 1440, minutes % 1440 // 60, minutes % 60
    if days:
        text = _("%(days)s d %(hours)s h") % {"days": days, "hours": hours}
    else:
        text = _("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": mins}
    return (_("%(time)s overdue") if late else _("%(time)s left")) % {"time": text}


def page_context(request: Request) -> dict[str, Any]:
    """What every case page uses: the label tables and the deadline phrase."""
    _ = gettext_for(request)
    return {"L": labels(_), "due_phrase": lambda due: due_phrase(_, due)}


# Errors: a domain error becomes a message by its (field, reason); the pin's fields are the form's "location".


def _photo(msgid: str) -> Callable[[DomainError, Callable[[str], str]], str]:
    """A message about one photo, numbered from 1 (`photos[2]` is photo 3; an error of no one photo is photo 1)."""
    def message(exc: DomainError, _: Callable[[str], str]) -> str:
        n = (exc.field or "")[7:-1]
        return _(msgid) % {"n": int(n) + 1 if n.isdigit() else 1, "limit": exc.params.get("limit", "")}
    return message


def _outside(exc: DomainError, _: Callable[[str], str]) -> tuple[str, str]:
    return "location", _("This place is outside the district (the nearest grid, %(name)s, is %(m)s m away). "
                         "Move the pin, or type the address instead.") % {
        "name": exc.params.get("nearest"), "m": int(exc.params.get("distance_m") or 0)}


def _stale(exc: DomainError, _: Callable[[str], str]) -> tuple[str, str]:
    # The version moved, or the state no longer allows the step: either way the page was stale.
    return "version", _("This case has been updated by someone else; please reload.")


MESSAGES: Messages = {
    ("photos", "too_many"): lambda exc, _: _("At most %(n)s photos.") % {"n": exc.params.get("limit")},
    ("photos", "not_an_image"): _photo(N_("Photo %(n)s is not a picture (JPEG, PNG or WebP).")),
    ("photos", "too_many_pixels"): _photo(N_("Photo %(n)s has too many pixels.")),
    ("photos", "too_large"): _photo(N_("Photo %(n)s is too large (at most %(limit)s).")),
    ("photos", "*"): _photo(N_("Photo %(n)s is damaged or empty.")),
    ("location", "outside_grids"): _outside,
    ("location", "*"): N_("This place could not be found in the district. Move the pin, or type the address "
                          "instead."),
    ("attributes", "required"): N_("Please answer this question."),
    ("attributes", "*"): N_("Please answer this question."),
    ("action", "own_work"): N_("You handled this case: someone else of the unit checks it."),
    ("action", "top_level"): N_("This case is already at the top level; it cannot be escalated further."),
    ("action", "conflict"): _stale,
    ("version", "*"): _stale,
    ("hours", "already_requested"): N_("An extension is already waiting for approval."),
    ("hours", "*"): N_("Enter the working hours to add, from 1 to 400."),
    ("*", "forbidden"): N_("You may not do this on this case."),
    ("category", "*"): N_("Please choose a category."),
    ("reporter_phone", "*"): N_("Enter a mobile number (11 digits) or a landline number."),
    ("phone", "*"): N_("Please enter the phone number you reported with."),
    ("address", "*"): N_("The address may be at most 200 characters."),
    ("unit_code", "*"): N_("Choose a community or grid."),
    ("note", "*"): N_("Please write a note: this step needs one."),
    ("assignee", "*"): N_("No staff account with this user name."),
    ("level", "*"): N_("Choose a supervision level."),
    ("original", "*"): N_("Give the tracking number of another open case."),
    ("rating", "already_rated"): N_("This case has been rated already."),
    ("rating", "*"): N_("Choose one of the three answers."),
    ("handled_on_spot", "*"): N_("Only a grid worker's patrol report can be handled on the spot."),
    ("description", "required"): N_("Please describe the problem."),
    ("number", "throttled"): N_("Too many look-ups from your network that found nothing. Try again in "
                                "%(minutes)s minutes."),
    ("Idempotency-Key", "idempotency_key_reused"): N_("This form was sent already, with other details. Look for "
                                                      "the case you reported; to report another problem, send the "
                                                      "form again."),
    ("number", "*"): N_("No case with this tracking number and phone. Check both and try again."),
    # The district administrator's categories.
    ("time_limit_hours", "*"): N_("A whole number of hours from 1 to 2000."),
    ("department", "*"): N_("A department category needs the department account that receives it."),
    ("name_zh", "*"): N_("A name is required."),
    ("name_en", "*"): N_("A name is required."),
    ("handling_level", "*"): N_("Choose a level."),
}
FIELDS = {"lat": "location", "lon": "location", "crs": "location"}


def case_error(request: Request, exc: DomainError) -> tuple[str, str]:
    """(form field, message) of an error on a case page. A category's extra question is asked by the field
    `attr_<code>` of the form; the service names it `attributes.<code>`."""
    raw = exc.field or ""
    if raw.startswith("attributes."):
        _field, message = explain(request, exc, MESSAGES, {raw: "attributes"})
        return "attr_" + raw.split(".", 1)[1], message
    return explain(request, exc, MESSAGES, FIELDS)


# The report form, shared by residents (/report) and grid workers on patrol (/patrol).


def category_tree(session: Session, locale: str) -> list[dict[str, Any]]:
    """Groups with their items, names in the reader's language, each item with its extra questions."""
    zh = locale == "zh_CN"
    groups: dict[str, dict[str, Any]] = {}
    for c in categories.list_categories(session):
        name = c.name_zh if zh else c.name_en
        if c.parent_code is None:
            groups[c.code] = {"code": c.code, "name": name, "items": []}
        elif c.parent_code in groups:
            questions = [{"code": a["code"], "label": a["zh"] if zh else a["en"], "datatype": a["datatype"],
                          "required": a.get("required", False),
                          "values": [(v["key"], v["zh"] if zh else v["en"]) for v in a.get("values", [])]}
                         for a in c.attributes or []]
            groups[c.parent_code]["items"].append({"code": c.code, "name": name, "urgent": c.urgent,
                                                   "questions": questions})
    return [g for g in groups.values() if g["items"]]


def _district_outline(session: Session) -> dict | None:
    code = units.single_district(session)
    chain = units.chain_of(session, code) if code else []
    return chain[-1].geometry if chain else None


def report_form(request: Request, session: Session, principal: Principal | None, mode: str,
                 values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                 status_code: int = 200) -> Response:
    values = dict(values or {})
    values.setdefault("idempotency_key", uuid.uuid4().hex)
    grids = []
    if mode == "patrol" and principal is not None:
        grids = [u.geometry for g in principal.grids for u in units.chain_of(session, g)[-1:] if u.geometry]
    return render(request, "cases/report.html", {
        **page_context(request), "mode": mode, "values": values, "errors": errors or {},
        "groups": category_tree(session, request_locale(request)),
        "district_geometry": _district_outline(session),
        "grid_geometries": grids, "max_description": intake.MAX_DESCRIPTION,
        "max_photos": request.app.state.settings.max_photos}, status_code=status_code)


def case_input(form: FormData, values: dict[str, Any], errors: dict[str, str], request: Request
                ) -> intake.CaseInput:
    _ = gettext_for(request)
    category = field_text(form, "category", 10)
    lat, lon = lenient_float(form, "lat"), lenient_float(form, "lon")
    attributes = {}
    for key, value in form.multi_items():
        if key.startswith(f"attr_{category}_") and isinstance(value, str) and value.strip():
            attributes[key.removeprefix(f"attr_{category}_")] = value.strip()
    values.update({k: field_text(form, k, 5000) for k in ("category", "description", "address", "reporter_name",
                                                      "reporter_phone", "unit_code", "idempotency_key")})
    values.update({k: v for k, v in form.multi_items() if k.startswith("attr_") and isinstance(v, str)})
    values.update(lat=lat, lon=lon, anonymous=bool(form.get("anonymous")),
                  handled_on_spot=bool(form.get("handled_on_spot")))
    if not category:
        errors["category"] = _("Please choose a category.")
    if not field_text(form, "description"):
        errors["description"] = _("Please describe the problem.")
    elif len(field_text(form, "description", intake.MAX_DESCRIPTION + 1000)) > intake.MAX_DESCRIPTION:
        errors["description"] = _("At most %(n)s characters.") % {"n": intake.MAX_DESCRIPTION}
    if (lat is None) != (lon is None) or (field_text(form, "lat") and lat is None):
        errors["location"] = _("This place could not be found in the district. Move the pin, or type the "
                               "address instead.")
    return intake.CaseInput(
        category=category, description=field_text(form, "description", intake.MAX_DESCRIPTION + 1000),
        lat=lat, lon=lon, address=field_text(form, "address", 300) or None,
        unit_code=field_text(form, "unit_code", 20) or None,
        reporter_name=field_text(form, "reporter_name", 100) or None,
        reporter_phone=field_text(form, "reporter_phone", 40) or None, anonymous=bool(form.get("anonymous")),
        attributes=attributes, handled_on_spot=bool(form.get("handled_on_spot")))


def file_case(request: Request, session: Session, settings: Settings, form: FormData, data: intake.CaseInput,
              *, channel: str, actor: Principal | None) -> Case:
    """Create the case with its photos in one savepoint: a bad photo leaves no case behind, and a repeated
    POST (a double tap, a reload) returns the case the first one made."""
    photos = photo_bytes(form, settings.max_photo_bytes)
    with session.begin_nested():
        result = intake.report_case(session, data, channel=channel, actor=actor,
                                    idempotency_key=field_text(form, "idempotency_key", 80) or None,
                                    source=client_ip(request), text_limits=TextLimits.of(settings))
        if not result.replayed:
            views.attach_photos(session, settings, result.case, photos)
    return result.case


def mark_failed(request: Request, errors: dict[str, str], form: FormData,
                exc: DomainError | None = None, values: dict[str, Any] | None = None) -> int:
    """Record the error by its field; photos cannot be kept by the browser, so ask for them again. A form whose
    key was already used for another report gets a new one (`values`), so that sending it again files it."""
    _ = gettext_for(request)
    if exc is not None:
        field, message = case_error(request, exc)
        errors[field] = message
        if exc.reason == REUSED and values is not None:
            values.pop("idempotency_key", None)
    chosen = any(isinstance(f, UploadFile) and f.filename for f in form.getlist("photos"))
    if chosen and "photos" not in errors:
        errors["photos"] = _("Please choose the photos again.")
    return status_of(exc) if exc is not None else 422


@router.get("/report")
def report_page(request: Request, principal: OptionalPrincipal, session: DbSession) -> Response:
    mine = principal is not None and principal.role == Role.resident
    values = {"reporter_name": principal.full_name} if mine else None
    return report_form(request, session, principal, "resident", values)


@router.post("/report", dependencies=[Depends(verify_csrf)])
@body_limit(PHOTOS)
def report(request: Request, principal: OptionalPrincipal, session: DbSession, settings: AppSettings,
           form: PostedForm) -> Response:
    _ = gettext_for(request)
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    data = case_input(form, values, errors, request)
    data.unit_code, data.handled_on_spot = None, False
    if data.lat is None and not data.address and "location" not in errors:
        errors["location"] = _("Drop a pin on the map, use your location, or type the address.")
    # Only a resident's own account makes the case theirs; staff reporting here do so as anyone would.
    actor = principal if principal is not None and principal.role == Role.resident else None
    if errors:
        status = mark_failed(request, errors, form)
        return report_form(request, session, principal, "resident", values, errors, status)
    try:
        case = file_case(request, session, settings, form, data, channel="resident", actor=actor)
    except DomainError as exc:
        status = mark_failed(request, errors, form, exc, values)
        return report_form(request, session, principal, "resident", values, errors, status)
    # How many similar reports there are, never which: those are other people's cases.
    return render(request, "cases/reported.html", {**page_context(request), "case": case,
                                                   "signed_in": actor is not None,
                                                   "has_phone": bool(case.reporter_phone),
                                                   "similar": intake.similar_for(session, case, actor).count})


# Tracking by number + phone (no account), and rating.


def public_steps(session: Session, case: Case) -> list[CaseEvent]:
    """The steps a resident sees without signing in: what happened and when, with staff's replies to the public
    (masked by service.public_reply); names and notes stay inside."""
    return service.timeline(session, case)


def _track_page(request: Request, session: Session, values: dict[str, str], case: Case | None = None,
                errors: dict[str, str] | None = None, status_code: int = 200,
                headers: dict[str, str] | None = None, **extra: Any) -> Response:
    context: dict[str, Any] = {**page_context(request), "values": values, "errors": errors or {},
                               "case": case, **extra}
    if case is not None:
        category = views.category_names(session).get(case.category_code)
        zh = request_locale(request) == "zh_CN"
        context["category_name"] = (category.name_zh if zh else category.name_en) if category else ""
        context["steps"] = [(e, service.public_reply(e)) for e in public_steps(session, case)]
        context["can_rate"] = case.status == "closed" and case.rating is None
        context["ratings"] = RATINGS
    return render(request, "cases/track.html", context, status_code=status_code, headers=headers)


def tracking_number(form: FormData) -> str:
    """The number as typed: the confirmation page shows it in two groups, and people copy the gap too."""
    return "".join(field_text(form, "number", 40).split())


@router.get("/track")
def track_page(request: Request) -> Response:
    return render(request, "cases/track.html", {**page_context(request), "values": {}, "errors": {},
                                                "case": None})


def _track_refused(request: Request, session: Session, values: dict[str, str], exc: DomainError) -> Response:
    """The page again with the error beside its field; a limit reached says when to come back."""
    field, message = case_error(request, exc)
    retry = exc.details.get("retry_after") if isinstance(exc.details, dict) else None
    return _track_page(request, session, values, errors={field: message}, status_code=status_of(exc),
                       headers={"Retry-After": str(retry)} if retry else None)


@router.post("/track", dependencies=[Depends(verify_csrf)])
def track(request: Request, session: DbSession, settings: AppSettings, form: PostedForm) -> Response:
    values = {"number": tracking_number(form), "phone": field_text(form, "phone", 40)}
    try:
        attempt = service.admit_tracking(session, client_ip(request), settings.track_misses_per_source_hour)
        case = service.track(session, values["number"], values["phone"])
    except DomainError as exc:
        return _track_refused(request, session, values, exc)
    attempt.found(session)
    return _track_page(request, session, values, case)


@router.post("/track/rate", dependencies=[Depends(verify_csrf)])
def track_rate(request: Request, session: DbSession, settings: AppSettings, form: PostedForm) -> Response:
    values = {"number": tracking_number(form), "phone": field_text(form, "phone", 40),
              "comment": field_text(form, "comment", 500)}
    try:
        attempt = service.admit_tracking(session, client_ip(request), settings.track_misses_per_source_hour)
    except DomainError as exc:
        return _track_refused(request, session, values, exc)
    try:
        with session.begin_nested():
            case = actions.rate_by_phone(session, values["number"], values["phone"],
                                         field_text(form, "rating", 30), values["comment"] or None)
    except DomainError as exc:
        field, message = case_error(request, exc)
        try:
            case = service.track(session, values["number"], values["phone"])
        except DomainError:
            case = None
        if case is not None:
            attempt.found(session)
        return _track_page(request, session, values, case, {field: message}, status_of(exc))
    attempt.found(session)
    return _track_page(request, session, values, case, rated=True)


@router.get("/my/cases")
def my_cases(request: Request, principal: CurrentPrincipal, session: DbSession, page: str = "1") -> Response:
    if principal.role != Role.resident:
        return see_other("/workbench")
    number = max(int(page) if page.isdigit() else 1, 1)
    rows, total = service.list_cases(session, principal, service.CaseFilter(), limit=20,
                                     offset=(number - 1) * 20, order="recent")
    return render(request, "cases/my_cases.html", {
        **page_context(request),
        "cases": views.present_many(session, rows, principal, request_locale(request)),
        "total": total, "page": number, "pages": max((total + 19) // 20, 1)})


# The case page: facts, the whole timeline with photos, and one form per action the caller may take.


def assignee_options(request: Request, session: Session, principal: Principal, case: Case
                     ) -> list[tuple[str, list[tuple[str, str]]]]:
    """Who a dispatcher may send the case to: workers of its grid, of its community, and the departments."""
    _ = gettext_for(request)
    groups: list[tuple[str, list[tuple[str, str]]]] = []
    seen: set[str] = set()
    if case.grid_code:
        try:
            members = units.members_of(session, principal.scope, case.grid_code)
        except DomainError:
            members = []
        users = accounts.users_by_ids(session, [m.user_id for m in members])
        lead = f" ({_('Grid lead')})"
        options = [(users[m.user_id].username, users[m.user_id].full_name + (lead if m.is_lead else ""))
                   for m in members if m.user_id in users]
        seen.update(u for u, _n in options)
        groups.append(("grid", options))
    area = case.origin_code[:12] if len(case.origin_code) >= 12 else case.unit_code
    workers = [(u.username, u.full_name)
               for u in accounts.list_users(session, Scope((area,)), role="grid_worker")
               if u.username not in seen and u.is_active]
    groups.append(("community", workers))
    departments = [(u.username, u.full_name) for u in accounts.list_users(
        session, Scope((case.district_code,)), role="department") if u.is_active]
    groups.append(("department", departments))
    return [(k, opts) for k, opts in groups if opts]


def answers(session: Session, case: Case, locale: str) -> list[tuple[str, str]]:
    """The answers to the category's extra questions, as (question, answer) in the reader's language."""
    category = session.get(Category, case.category_code)
    zh = locale == "zh_CN"
    out = []
    for attr in (category.attributes or []) if category else []:
        value = (case.attributes or {}).get(attr["code"])
        if value is None:
            continue
        names = {v["key"]: v["zh"] if zh else v["en"] for v in attr.get("values", [])}
        shown = names.get(value, f"{value:g}" if isinstance(value, float) else str(value))
        out.append((attr["zh"] if zh else attr["en"], shown))
    return out


def case_page(request: Request, session: Session, principal: Principal, case: Case, *,
              error: dict[str, str] | None = None, values: dict[str, str] | None = None,
              status_code: int = 200) -> Response:
    locale = request_locale(request)
    view = views.present(session, case, principal, locale=locale)
    events = service.timeline(session, case)
    photo_rows = service.photos_of(session, case)
    urls = {p["id"]: p for p in views.photo_urls(session, case)}
    by_event: dict[Any, list[dict[str, Any]]] = {}
    for p in photo_rows:
        by_event.setdefault(p.event_id, []).append(urls[str(p.id)])
    offered = policy.offered_actions(principal, case, view)
    place = units.chain_of(session, case.origin_code)
    answerable = units.chain_of(session, case.unit_code)[-1:] if case.unit_code else []
    grid_geometry = None
    if case.grid_code and principal.role != Role.resident:
        chain = units.chain_of(session, case.grid_code)
        grid_geometry = chain[-1].geometry if chain else None
    return render(request, "cases/case.html", {
        **page_context(request), "case": view, "events": events, "photos_by_event": by_event,
        "primary": [a for a in offered if a in policy.PRIMARY],
        "secondary": [a for a in offered if a not in policy.PRIMARY],
        "transitions": TRANSITIONS, "photo_actions": PHOTO_ACTIONS, "ratings": RATINGS,
        "supervision_levels": SUPERVISION_LEVELS,
        "assignees": assignee_options(request, session, principal, case) if "dispatch" in offered else [],
        "answers": answers(session, case, locale), "place": place,
        "answerable": answerable[0] if answerable else None, "grid_geometry": grid_geometry,
        "is_resident": principal.role == Role.resident, "error": error or {}, "values": values or {},
        "flash": take_flash(request), "max_photos": request.app.state.settings.max_photos,
        "duplicates": intake.similar_for(session, case, principal).numbers if "merge" in offered else [],
    }, status_code=status_code)


@router.get("/cases/{number:caseno}")
def case_view(number: str, request: Request, principal: CurrentPrincipal, session: DbSession) -> Response:
    return case_page(request, session, principal, service.get_case(session, principal, number))


@router.post("/cases/{number:caseno}/actions/{action}", dependencies=[Depends(verify_csrf)])
@body_limit(PHOTOS)
def case_action(number: str, action: str, request: Request, principal: CurrentPrincipal, session: DbSession,
                settings: AppSettings, form: PostedForm) -> Response:
    _ = gettext_for(request)
    fields = ("note", "reply", "assignee", "hours", "level", "original", "rating")
    values = {k: field_text(form, k, 2000) for k in fields}
    try:
        data = actions.ActionInput(note=values["note"] or None, reply=values["reply"] or None,
                                   version=field_int(form, "version"),
                                   assignee=values["assignee"] or None, hours=field_int(form, "hours"),
                                   level=values["level"] or None, rating=values["rating"] or None,
                                   original=values["original"] or None)
        photos = photo_bytes(form, settings.max_photo_bytes) if action in PHOTO_ACTIONS else []
        with session.begin_nested():
            case = actions.act(session, principal, number, action, data)
            if photos:
                event = max(service.timeline(session, case), key=lambda e: (e.at, e.id))
                views.attach_photos(session, settings, case, photos, event_id=event.id)
    except StaleDataError:
        return _action_failed(request, session, principal, number, action, values,
                              Conflict("changed meanwhile", field="version"))
    except NotFound as exc:
        if action != "merge" or exc.field != "number" or values["original"] == number:
            raise
        # The original named for a merge does not exist (or lies outside the caller's scope).
        return _action_failed(request, session, principal, number, action, values,
                              Invalid("no such case", field="original"))
    except DomainError as exc:
        return _action_failed(request, session, principal, number, action, values, exc)
    label = labels(_)["action"].get(action, action)
    flash(request, _("Done: %(action)s.") % {"action": label})
    return see_other(f"/cases/{number}")


def _action_failed(request: Request, session: Session, principal: Principal, number: str, action: str,
                   values: dict[str, str], exc: DomainError) -> Response:
    """The case page again, as it is now, with the message by the form that failed and the note kept."""
    field, message = case_error(request, exc)
    case = service.get_case(session, principal, number)
    error = {"action": action, "field": field, "message": message}
    return case_page(request, session, principal, case, error=error, values=values, status_code=status_of(exc))
