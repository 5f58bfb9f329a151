"""Pages of community activities: the public list and an activity's page with 报名 (sign in as a resident), the
resident's QR check-in, and the staff's pages (activities in scope, a new activity, the QR code at the door, the
attendance sheet with ticking and closing, series with their figures)."""

from __future__ import annotations

import io
from typing import Annotated, Any

import qrcode
import qrcode.image.svg
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.accounts.service import Principal
from jiayuan.activities import policy, service
from jiayuan.activities.models import ACTIVITY_KINDS, Activity, Series
from jiayuan.deps import CurrentPrincipal, DbSession, OptionalPrincipal, require_role
from jiayuan.kit import i18n
from jiayuan.kit.db import utcnow
from jiayuan.kit.errors import DomainError
from jiayuan.page_kit import (
    N_,
    Messages,
    PostedForm,
    explain,
    field_date,
    field_int,
    field_local_time,
    field_text,
    field_uuid,
    flash,
    hours,
    path_id,
    register_messages,
    see_other,
    status_of,
    take_flash,
)
from jiayuan.registry.service import people
from jiayuan.units import service as units
from jiayuan.volunteers import opportunities as opps
from jiayuan.volunteers import service as volunteers
from jiayuan.volunteers.teams import list_teams, team_name
from jiayuan.web import gettext_for, render, request_locale

router = APIRouter(include_in_schema=False)
Organizer = Annotated[Principal, Depends(require_role(*policy.ORGANIZERS))]


def labels(_: Any) -> dict[str, dict[str, str]]:
    return {
        "kind": {"culture": _("Culture"), "sports": _("Sports"), "festival": _("Festival show"),
                 "lecture": _("Lecture"), "volunteer": _("Volunteer event"), "other": _("Other")},
        "status": {"registered": _("Has a place"), "waitlisted": _("On the waitlist"), "cancelled": _("No longer coming"),
                   "attended": _("Checked in")},
    }


def context(request: Request) -> dict[str, Any]:
    _ = gettext_for(request)
    locale = request_locale(request)
    return {"AL": labels(_), "hours": hours, "fmt_date": lambda v: i18n.fmt_date(v, locale),
            "flash": take_flash(request), "flash_error": request.session.pop("flash_error", None)}


# What an organizer's or a resident's page says when a use case refuses, by (field, reason).
MESSAGES: Messages = register_messages({
    ("starts_at", "not_a_time"): N_("required: a date and time"),
    ("ends_at", "not_a_time"): N_("required: a date and time"),
    ("*", "no_time"): N_("required: a date and time"),
    ("ends_at", "end_before_start"): N_("must be after the start"),
    ("capacity", "not_whole_number"): N_("a whole number, at least 1 (leave it out for no limit)"),
    ("*", "no_slots"): N_("how many volunteers are wanted (at least 1)"),
    ("*", "too_small"): N_("at least 1"),
    ("*", "cancelled"): N_("the activity is cancelled"),
    ("*", "closed"): N_("registration closed when the activity began"),
    ("*", "already"): N_("already registered"),
    ("*", "attended"): N_("already checked in: attendance cannot be cancelled"),
    ("*", "no_token"): N_("no activity has this check-in code"),
    ("*", "too_early"): N_("check-in opens 30 minutes before the start"),
    ("*", "over"): N_("the activity is over"),
    ("*", "waitlisted"): N_("you are on the waitlist: there is no place for you yet"),
    ("*", "not_listed"): N_("you are not on the list of this activity"),
    ("*", "full"): N_("the activity is full"),
    ("*", "not_ended"): N_("attendance closes after the activity ends"),
    ("*", "exists"): N_("a series of this name already exists here"),
}, "/activities")


def failed(request: Request, exc: DomainError) -> None:
    """A refusal shown once on the page the browser is sent back to."""
    request.session["flash_error"] = explain(request, exc, MESSAGES)[1]


def qr_svg(data: str) -> Markup:
    """The QR code of `data` as inline SVG: no script, no image request, prints as it shows."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2,
                        error_correction=qrcode.constants.ERROR_CORRECT_M)
    buffer = io.BytesIO()
    image.save(buffer)
    return Markup(buffer.getvalue().decode("utf-8"))


def checkin_url(request: Request, activity: Activity) -> str:
    return str(request.url_for("activity_checkin_page", token=activity.checkin_token))


def unit_names(session: Session, codes: set[str]) -> dict[str, str]:
    out = {}
    for code in codes:
        chain = units.chain_of(session, code)
        out[code] = chain[-1].name if chain else code
    return out


# --- Public --------------------------------------------------------------------------------------


@router.get("/activities")
def public_list(request: Request, session: DbSession, principal: OptionalPrincipal, past: bool = False,
                kind: str | None = None) -> Response:
    kind = kind if kind in ACTIVITY_KINDS else None
    found = service.public_activities(session, upcoming=not past, kind=kind, limit=200)
    mine = service.my_registrations(session, principal, limit=20) if principal else []
    return render(request, "activities/list.html", {
        **context(request), "found": found, "counts": service.counts_of(session, found), "past": past,
        "kind": kind, "kinds": ACTIVITY_KINDS, "mine": mine, "places": unit_names(session, {a.unit_code for a in found}),
        "series": service.list_series(session, limit=20),
        "organizer": policy.may_organize(principal)})


@router.get("/activities/checkin/{token}", name="activity_checkin_page")
def scan_page(request: Request, token: str, principal: CurrentPrincipal, session: DbSession) -> Response:
    """What the QR code at the door opens, signed in (otherwise sign-in comes first and returns here): the
    activity and a button that checks one in. Opening it changes nothing: a link shown to someone, a preview or a
    prefetch must not check anyone in; the button's POST does, with the session's CSRF token."""
    try:
        activity = service.by_token(session, token)
    except DomainError as exc:
        return render(request, "activities/checkin.html", {
            **context(request), "ok": False, "activity": None, "message": explain(request, exc, MESSAGES)[1]},
            status_code=status_of(exc))
    mine = service.own_registration(session, principal, activity)
    return render(request, "activities/checkin.html", {
        **context(request), "ask": True, "activity": activity, "token": token,
        "already": mine is not None and mine.status == "attended", "registration": mine})


@router.post("/activities/checkin/{token}")
def scan_check_in(request: Request, token: str, principal: CurrentPrincipal, session: DbSession) -> Response:
    """The button of the check-in page (its CSRF token checked with the session cookie, as every form's): checks
    the caller in. Repeating it changes nothing."""
    try:
        with session.begin_nested():
            reg, activity, new = service.check_in_by_token(session, principal, token)
    except DomainError as exc:
        activity = None
        try:
            activity = service.by_token(session, token)
        except DomainError:
            pass
        return render(request, "activities/checkin.html", {
            **context(request), "ok": False, "activity": activity, "message": explain(request, exc, MESSAGES)[1]},
            status_code=status_of(exc))
    return render(request, "activities/checkin.html", {**context(request), "ok": True, "activity": activity,
                                                       "registration": reg, "new": new})


@router.get("/activities/manage")
def manage(request: Request, principal: Organizer, session: DbSession, past: bool = False) -> Response:
    found = service.staff_activities(session, principal, upcoming=not past, limit=300)
    return render(request, "activities/manage.html", {
        **context(request), "found": found, "counts": service.counts_of(session, found), "past": past,
        "organizes": {a.id for a in found if policy.is_organizer(principal, a)}})


def _series_choices(session: Session, principal: Principal) -> list[Any]:
    return list(session.scalars(select(Series).where(policy.staff_series(principal)).order_by(Series.name)))


def _form_context(request: Request, session: Session, principal: Principal, form: dict[str, Any],
                  errors: dict[str, str]) -> dict[str, Any]:
    locale = request_locale(request)
    return {**context(request), "form": form, "errors": errors, "kinds": ACTIVITY_KINDS,
            "series_choices": _series_choices(session, principal),
            "teams": [(t.code, team_name(t, locale)) for t in list_teams(session)]}


@router.get("/activities/new")
def new_page(request: Request, principal: Organizer, session: DbSession) -> Response:
    return render(request, "activities/new.html", _form_context(
        request, session, principal, {"unit_code": principal.scope_code or "", "public": "1"}, {}))


@router.post("/activities/new")
def create(request: Request, principal: Organizer, session: DbSession, form: PostedForm) -> Response:
    _ = gettext_for(request)
    try:
        with session.begin_nested():
            volunteer_run = form.get("volunteer_run") == "1"
            created = service.create_activity(session, principal, {
                "unit_code": field_text(form, "unit_code", 15) or None, "kind": field_text(form, "kind", 12),
                "title": field_text(form, "title", 200), "organizer": field_text(form, "organizer", 200),
                "place": field_text(form, "place", 300), "description": field_text(form, "description", 4000) or None,
                "starts_at": field_local_time(form, "starts_at"), "ends_at": field_local_time(form, "ends_at"),
                "capacity": field_int(form, "capacity"), "public": form.get("public") == "1",
                "volunteer_run": volunteer_run,
                "volunteer_slots": field_int(form, "volunteer_slots") if volunteer_run else None,
                "volunteer_team": field_text(form, "volunteer_team", 12) or None,
                "series_id": field_uuid(form, "series_id")})
        flash(request, _("Activity published."))
        return see_other(f"/activities/{created.id}/attendance")
    except DomainError as exc:
        return render(request, "activities/new.html", _form_context(
            request, session, principal, dict(form), dict([explain(request, exc, MESSAGES)])),
            status_code=status_of(exc))


@router.get("/activities/series")
def series_list(request: Request, session: DbSession, principal: OptionalPrincipal) -> Response:
    found = service.list_series(session)
    return render(request, "activities/series_list.html", {
        **context(request), "found": found, "figures": {s.id: service.series_figures(session, s) for s in found},
        "organizer": policy.may_organize(principal),
        "unit_code": principal.scope_code if principal else ""})


@router.post("/activities/series")
def create_series(request: Request, principal: Organizer, session: DbSession, form: PostedForm) -> Response:
    _ = gettext_for(request)
    try:
        with session.begin_nested():
            starts_on, ends_on = field_date(form, "starts_on"), field_date(form, "ends_on")
            created = service.create_series(session, principal, {
                "unit_code": field_text(form, "unit_code", 15) or None, "name": field_text(form, "name", 200),
                "description": field_text(form, "description", 4000) or None, "starts_on": starts_on,
                "ends_on": ends_on})
        flash(request, _("Series created."))
        return see_other(f"/activities/series/{created.id}")
    except DomainError as exc:
        failed(request, exc)
        return see_other("/activities/series")


@router.get("/activities/series/{series_id}")
def series_page(request: Request, series_id: str, session: DbSession, principal: OptionalPrincipal) -> Response:
    series = service.get_series(session, path_id(series_id))
    shows = service.public_activities(session, series_id=series.id, upcoming=False, limit=500)
    shows += service.public_activities(session, series_id=series.id, upcoming=True, limit=500)
    shows.sort(key=lambda a: a.starts_at)
    return render(request, "activities/series.html", {
        **context(request), "series": series, "figures": service.series_figures(session, series), "shows": shows,
        "counts": service.counts_of(session, shows)})


@router.post("/activities/registrations/{registration_id}/cancel")
def cancel_registration(request: Request, registration_id: str, principal: CurrentPrincipal, session: DbSession,
                        form: PostedForm) -> Response:
    _ = gettext_for(request)
    back = field_text(form, "next", 300)
    back = back if back.startswith("/activities") else "/activities"
    try:
        with session.begin_nested():
            service.cancel_registration(session, principal, path_id(registration_id))
        flash(request, _("Registration cancelled."))
    except DomainError as exc:
        failed(request, exc)
    return see_other(back)


@router.post("/activities/registrations/{registration_id}/tick")
def tick(request: Request, registration_id: str, principal: Organizer, session: DbSession,
         form: PostedForm) -> Response:
    try:
        with session.begin_nested():
            reg = service.tick(session, principal, path_id(registration_id), form.get("attended") == "1")
        return see_other(f"/activities/{reg.activity_id}/attendance#r-{reg.id}")
    except DomainError as exc:
        failed(request, exc)
        return see_other("/activities/manage")


# --- One activity --------------------------------------------------------------------------------


@router.get("/activities/{activity_id}")
def activity_page(request: Request, activity_id: str, session: DbSession, principal: OptionalPrincipal) -> Response:
    activity = service.get_activity(session, principal, path_id(activity_id))
    mine = service.own_registration(session, principal, activity)
    series = service.get_series(session, activity.series_id) if activity.series_id else None
    return render(request, "activities/activity.html", {
        **context(request), "a": activity, "c": service.counts_of(session, [activity])[activity.id],
        "mine": mine if mine and mine.status != "cancelled" else None, "series": series,
        "place_name": unit_names(session, {activity.unit_code})[activity.unit_code],
        "organizer": policy.is_organizer(principal, activity), "now": utcnow()})


@router.post("/activities/{activity_id}/register")
def register(request: Request, activity_id: str, principal: CurrentPrincipal, session: DbSession) -> Response:
    """报名: the signed-in caller registers themself."""
    _ = gettext_for(request)
    aid = path_id(activity_id)
    try:
        with session.begin_nested():
            reg = service.register(session, principal, aid)
        flash(request, _("You are registered. Scan the code at the door when you arrive.") if (
            reg.status == "registered") else _("The activity is full: you are on the waitlist and will be told "
                                               "if a place frees up."))
    except DomainError as exc:
        failed(request, exc)
    return see_other(f"/activities/{aid}")


@router.get("/activities/{activity_id}/qr")
def qr_page(request: Request, activity_id: str, principal: Organizer, session: DbSession) -> Response:
    activity = service.get_managed(session, principal, path_id(activity_id))
    url = checkin_url(request, activity)
    return render(request, "activities/qr.html", {**context(request), "a": activity, "qr": qr_svg(url), "url": url,
                                                  "c": service.counts_of(session, [activity])[activity.id]})


@router.get("/activities/{activity_id}/attendance")
def attendance_page(request: Request, activity_id: str, principal: Organizer, session: DbSession,
                    q: str | None = None) -> Response:
    activity = service.get_managed(session, principal, path_id(activity_id))
    opportunity = opps.for_activity(session, activity.district_code, activity.id) if activity.volunteer_run else None
    staffed, staff_names = [], {}
    if opportunity is not None:
        staffed = opps.signups_of(session, opportunity)
        vols = list(session.scalars(volunteers.select_volunteers(activity.district_code,
                                                                 [s.volunteer_id for s in staffed])))
        staff_names = volunteers.names_of(session, vols)
    credited = {e.volunteer_id: e for e in service.credited_for(session, activity)}
    found = people.search_names(session, principal, q.strip(), 20) if q and q.strip() else []
    return render(request, "activities/attendance.html", {
        **context(request), "a": activity, "regs": service.registrations_of(session, activity),
        "c": service.counts_of(session, [activity])[activity.id], "opportunity": opportunity, "staffed": staffed,
        "staff_names": staff_names, "credited": credited, "q": q or "", "found": found,
        "now": utcnow(), "length": service.length_minutes(activity)})


@router.post("/activities/{activity_id}/register-person")
def register_person(request: Request, activity_id: str, principal: Organizer, session: DbSession,
                    form: PostedForm) -> Response:
    _ = gettext_for(request)
    aid = path_id(activity_id)
    try:
        with session.begin_nested():
            reg = service.register(session, principal, aid, field_uuid(form, "person_id"))
        flash(request, (_("%(name)s is registered.") if reg.status == "registered" else _(
            "%(name)s is on the waitlist.")) % {"name": reg.name})
    except DomainError as exc:
        failed(request, exc)
    return see_other(f"/activities/{aid}/attendance")


@router.post("/activities/{activity_id}/attendance/close")
def close(request: Request, activity_id: str, principal: Organizer, session: DbSession) -> Response:
    _ = gettext_for(request)
    aid = path_id(activity_id)
    try:
        with session.begin_nested():
            closed = service.close_attendance(session, principal, aid)
        flash(request, _("Attendance closed: %(n)s attended; hours credited to %(v)s volunteers.") % {
            "n": closed.attended, "v": len(closed.credited)})
    except DomainError as exc:
        failed(request, exc)
    return see_other(f"/activities/{aid}/attendance")


@router.post("/activities/{activity_id}/cancel")
def cancel(request: Request, activity_id: str, principal: Organizer, session: DbSession) -> Response:
    _ = gettext_for(request)
    aid = path_id(activity_id)
    try:
        with session.begin_nested():
            service.cancel_activity(session, principal, aid)
        flash(request, _("Activity cancelled; the registered residents are told."))
    except DomainError as exc:
        failed(request, exc)
    return see_other(f"/activities/{aid}/attendance")

