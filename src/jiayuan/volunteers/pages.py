"""Pages of volunteers: the volunteer's own page on a phone (opportunities, sign-up, check-in and out, hours and
honours), the printable certificate, and the staff's pages (volunteers by team with their hours, a volunteer's
ledger, opportunities with the sign-up list and the waitlist)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from jiayuan.accounts.passwords import PASSWORD_MESSAGES
from jiayuan.accounts.service import Principal
from jiayuan.deps import CurrentPrincipal, DbSession, require_role
from jiayuan.kit import i18n
from jiayuan.kit.db import utcnow
from jiayuan.kit.errors import DomainError
from jiayuan.page_kit import (
    N_,
    Messages,
    PostedForm,
    explain,
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
from jiayuan.volunteers import policy, service
from jiayuan.volunteers.models import Opportunity, Volunteer
from jiayuan.volunteers.teams import list_teams, team_name
from jiayuan.web import gettext_for, render, request_locale

router = APIRouter(include_in_schema=False)
Keeper = Annotated[Principal, Depends(require_role(*policy.MANAGERS))]
Reader = Annotated[Principal, Depends(require_role(*policy.READERS))]
SIGNUP_ACTIONS = ("cancel", "checkin", "checkout")


def labels(_: Any) -> dict[str, dict[str, str]]:
    return {
        "signup": {"signed_up": _("Signed up"), "waitlisted": _("On the waitlist"), "cancelled": _("No longer coming"),
                   "checked_in": _("Checked in"), "checked_out": _("Checked out"), "no_show": _("Did not come")},
        "kind": {"service": _("Volunteer service"), "activity": _("Community activity"), "adjustment": _("Hours adjustment"),
                 "conversion": _("Converted to points")},
        "pending": {"visit": _("Care visit")},
        "weekday": {"1": _("Mon"), "2": _("Tue"), "3": _("Wed"), "4": _("Thu"), "5": _("Fri"), "6": _("Sat"),
                    "7": _("Sun")},
    }


def context(request: Request, session: Session) -> dict[str, Any]:
    _ = gettext_for(request)
    locale = request_locale(request)
    teams = list_teams(session)
    return {"VL": labels(_), "hours": hours, "teams": teams,
            "team_names": {t.code: team_name(t, locale) for t in teams},
            "team_colours": {t.code: t.colour for t in teams},
            "fmt_date": lambda v: i18n.fmt_date(v, locale), "flash": take_flash(request),
            "flash_error": request.session.pop("flash_error", None)}


# What a volunteer's or a keeper's form says when a use case refuses, by (field, reason).
MESSAGES: Messages = register_messages({
    **PASSWORD_MESSAGES,
    ("starts_at", "not_a_time"): N_("required: a date and time"),
    ("ends_at", "not_a_time"): N_("required: a date and time"),
    ("*", "no_time"): N_("required: a date and time"),
    ("ends_at", "end_before_start"): N_("must be after the start"),
    ("*", "too_small"): N_("at least 1"),
    ("*", "no_profile"): N_("your account has no volunteer profile"),
    ("*", "has_profile"): N_("this person already has a volunteer profile"),
    ("*", "no_note"): N_("say why the hours are adjusted"),
    ("*", "zero_minutes"): N_("a whole number of minutes, not 0 (negative to take hours off)"),
    ("*", "cancelled"): N_("the opportunity is cancelled"),
    ("*", "not_theirs"): N_("only the volunteer or staff of their unit may do this"),
    ("*", "not_open_to"): N_("no such opportunity for this volunteer"),
    ("*", "inactive"): N_("the volunteer's profile is inactive"),
    ("*", "over"): N_("the opportunity is over"),
    ("*", "already"): N_("already signed up"),
    ("*", "too_early"): N_("check-in opens 30 minutes before the start"),
}, "/volunteers")


def failed(request: Request, exc: DomainError) -> None:
    """A refusal shown once on the page the browser is sent back to."""
    request.session["flash_error"] = explain(request, exc, MESSAGES)[1]


def safe_back(value: str | None, default: str) -> str:
    return value if value and value.startswith("/") and not value.startswith("//") else default


# --- The volunteer's own page (a phone) ----------------------------------------------------------


@router.get("/volunteers/me")
def my_page(request: Request, principal: CurrentPrincipal, session: DbSession) -> Response:
    me = service.volunteer_of(session, principal, required=False)
    ctx = context(request, session)
    if me is None:
        return render(request, "volunteers/me.html", {**ctx, "me": None})
    signups = opps.signups_of_volunteer(session, me)
    now = utcnow()
    current = [(s, o) for s, o in signups if o.ends_at >= now or s.status == "checked_in"]
    open_ = opps.open_to(session, me)
    counts = opps.counts_of(session, [o for _s, o in current] + open_)
    _v, entries = service.ledger(session, principal, me.id, limit=50)
    totals = service.totals_of(session, me.district_code, [me.id])[me.id]
    return render(request, "volunteers/me.html", {
        **ctx, "me": me, "name": service.names_of(session, [me]).get(me.id, ""), "current": current,
        "open": open_, "counts": counts, "entries": entries, "totals": totals,
        "pending": service.pending_work(session, me),
        "honours": service.honours_of(session, principal, me.id), "next_honour": service.next_honour(totals.service),
        "checkin_opens": opps.CHECKIN_OPENS, "now": now})


@router.post("/volunteers/me/opportunities/{opportunity_id}/signup")
def my_sign_up(request: Request, opportunity_id: str, principal: CurrentPrincipal, session: DbSession
               ) -> Response:
    _ = gettext_for(request)
    try:
        with session.begin_nested():
            signup = opps.sign_up(session, principal, path_id(opportunity_id))
        flash(request, _("You are signed up.") if signup.status == "signed_up" else _(
            "The slots are taken: you are on the waitlist and will be told if one frees up."))
    except DomainError as exc:
        failed(request, exc)
    return see_other("/volunteers/me")


@router.post("/volunteers/signups/{signup_id}/{action}")
def signup_action(request: Request, signup_id: str, action: str, principal: CurrentPrincipal, session: DbSession,
                  form: PostedForm) -> Response:
    """Cancel, check in or check out: the volunteer on their page, or staff on the opportunity's page."""
    _ = gettext_for(request)
    back = safe_back(field_text(form, "next", 300), "/volunteers/me")
    if action not in SIGNUP_ACTIONS:
        return see_other(back)
    try:
        with session.begin_nested():
            if action == "cancel":
                opps.cancel_signup(session, principal, path_id(signup_id))
                flash(request, _("Sign-up cancelled."))
            elif action == "checkin":
                opps.check_in(session, principal, path_id(signup_id))
                flash(request, _("Checked in. Check out when you finish."))
            else:
                _s, entry = opps.check_out(session, principal, path_id(signup_id))
                flash(request, _("Checked out: %(hours)s hours credited.") % {
                    "hours": hours(entry.minutes)} if entry else _("Checked out."))
    except DomainError as exc:
        failed(request, exc)
    return see_other(back)


@router.get("/volunteers/honours/{honour_id}/certificate")
def certificate(request: Request, honour_id: str, principal: CurrentPrincipal, session: DbSession) -> Response:
    honour, volunteer = service.get_honour(session, principal, path_id(honour_id))
    chain = units.chain_of(session, volunteer.unit_code)
    return render(request, "volunteers/certificate.html", {
        **context(request, session), "honour": honour, "volunteer": volunteer,
        "name": service.names_of(session, [volunteer]).get(volunteer.id, ""),
        "issuer": chain[0].name if chain else volunteer.district_code,
        "unit_name": chain[-1].name if chain else volunteer.unit_code})


# --- Staff: volunteers ---------------------------------------------------------------------------


@router.get("/volunteers")
def volunteers_page(request: Request, principal: Reader, session: DbSession, team: str | None = None) -> Response:
    team = team if team in {t.code for t in list_teams(session)} else None
    found, total = service.list_volunteers(session, principal, team=team, limit=500)
    names = service.names_of(session, found)
    totals: dict[uuid.UUID, service.Totals] = {}
    for district in {v.district_code for v in found}:
        totals.update(service.totals_of(session, district, [v.id for v in found if v.district_code == district]))
    by_team: dict[str | None, list[Volunteer]] = {}
    for v in found:
        by_team.setdefault(v.team_code, []).append(v)
    ctx = context(request, session)
    groups = [(t.code, by_team[t.code]) for t in ctx["teams"] if t.code in by_team]
    if None in by_team:
        groups.append((None, by_team[None]))
    return render(request, "volunteers/list.html", {
        **ctx, "groups": groups, "names": names, "totals": totals, "team": team, "total": total,
        "may_keep": policy.is_manager(principal),
        "team_hours": {code: sum(totals[v.id].service for v in vs) for code, vs in groups}})


@router.get("/volunteers/new")
def new_volunteer_page(request: Request, principal: Keeper, session: DbSession, q: str | None = None,
                       person: str | None = None) -> Response:
    found = people.search_names(session, principal, q.strip(), 20) if q and q.strip() else []
    chosen = None
    if person:
        try:
            chosen = people.get_person(session, principal, path_id(person))
        except DomainError:
            chosen = None
    return render(request, "volunteers/new.html", {**context(request, session), "q": q or "", "found": found,
                                                   "chosen": chosen, "form": {}, "errors": {}})


@router.post("/volunteers/new")
def create_volunteer(request: Request, principal: Keeper, session: DbSession, form: PostedForm) -> Response:
    _ = gettext_for(request)
    data: dict[str, Any] = {}
    try:
        with session.begin_nested():
            data = {"person_id": field_uuid(form, "person_id"), "team_code": field_text(form, "team_code", 12) or None,
                    "skills": field_text(form, "skills", 1000) or None,
                    "unit_code": field_text(form, "unit_code", 15) or None,
                    "username": field_text(form, "username", 64) or None,
                    "password": field_text(form, "password", 200) or None}
            volunteer = service.create_volunteer(session, principal, data)
        flash(request, _("Volunteer profile opened."))
        return see_other(f"/volunteers/{volunteer.id}")
    except DomainError as exc:
        chosen = None
        if isinstance(data.get("person_id"), uuid.UUID):
            try:
                chosen = people.get_person(session, principal, data["person_id"])
            except DomainError:
                chosen = None
        return render(request, "volunteers/new.html", {
            **context(request, session), "q": "", "found": [], "chosen": chosen, "form": dict(form),
            "errors": dict([explain(request, exc, MESSAGES)])}, status_code=status_of(exc))


@router.get("/volunteers/opportunities")
def opportunities_page(request: Request, principal: Reader, session: DbSession, past: bool = False) -> Response:
    found = opps.list_opportunities(session, principal, upcoming=not past, limit=300)
    return render(request, "volunteers/opportunities.html", {
        **context(request, session), "found": found, "counts": opps.counts_of(session, found), "past": past,
        "may_keep": policy.is_manager(principal)})


@router.get("/volunteers/opportunities/new")
def new_opportunity_page(request: Request, principal: Keeper, session: DbSession) -> Response:
    return render(request, "volunteers/opportunity_new.html", {
        **context(request, session), "form": {"unit_code": principal.scope_code or ""}, "errors": {}})


@router.post("/volunteers/opportunities/new")
def create_opportunity(request: Request, principal: Keeper, session: DbSession, form: PostedForm) -> Response:
    _ = gettext_for(request)
    try:
        with session.begin_nested():
            created = opps.create_opportunity(session, principal, {
                "unit_code": field_text(form, "unit_code", 15) or None, "title": field_text(form, "title", 200),
                "description": field_text(form, "description", 4000) or None,
                "place": field_text(form, "place", 300) or None, "team_code": field_text(form, "team_code", 12) or None,
                "starts_at": field_local_time(form, "starts_at"), "ends_at": field_local_time(form, "ends_at"),
                "slots": field_int(form, "slots")})
        flash(request, _("Opportunity published."))
        return see_other(f"/volunteers/opportunities/{created.id}")
    except DomainError as exc:
        return render(request, "volunteers/opportunity_new.html", {
            **context(request, session), "form": dict(form), "errors": dict([explain(request, exc, MESSAGES)])},
            status_code=status_of(exc))


def _opportunity_context(session: Session, principal: Principal, opportunity: Opportunity) -> dict[str, Any]:
    signups = opps.signups_of(session, opportunity)
    vols = list(session.scalars(service.select_volunteers(opportunity.district_code,
                                                          [s.volunteer_id for s in signups])))
    joined = {s.volunteer_id for s in signups if s.status != "cancelled"}
    keep = policy.may_keep(principal, opportunity)
    candidates: list[Volunteer] = []
    if keep:
        mine, _total = service.list_volunteers(session, principal, limit=500)
        candidates = [v for v in mine if v.id not in joined and opps.same_branch(
            v.unit_code, opportunity.unit_code)]
    return {"opportunity": opportunity, "signups": signups, "names": service.names_of(session, vols + candidates),
            "counts": opps.counts_of(session, [opportunity])[opportunity.id], "keep": keep,
            "candidates": candidates, "length": opps.length_minutes(opportunity)}


@router.get("/volunteers/opportunities/{opportunity_id}")
def opportunity_page(request: Request, opportunity_id: str, principal: Reader, session: DbSession) -> Response:
    opportunity = opps.get_opportunity(session, principal, path_id(opportunity_id))
    return render(request, "volunteers/opportunity.html", {
        **context(request, session), **_opportunity_context(session, principal, opportunity)})


@router.post("/volunteers/opportunities/{opportunity_id}/signup")
def staff_sign_up(request: Request, opportunity_id: str, principal: Keeper, session: DbSession,
                  form: PostedForm) -> Response:
    _ = gettext_for(request)
    oid = path_id(opportunity_id)
    try:
        with session.begin_nested():
            signup = opps.sign_up(session, principal, oid, field_uuid(form, "volunteer_id"))
        flash(request, _("Signed up.") if signup.status == "signed_up" else _("Put on the waitlist."))
    except DomainError as exc:
        failed(request, exc)
    return see_other(f"/volunteers/opportunities/{oid}")


@router.post("/volunteers/opportunities/{opportunity_id}/cancel")
def cancel_opportunity(request: Request, opportunity_id: str, principal: Keeper, session: DbSession) -> Response:
    _ = gettext_for(request)
    oid = path_id(opportunity_id)
    try:
        with session.begin_nested():
            opps.cancel_opportunity(session, principal, oid)
        flash(request, _("Opportunity cancelled."))
    except DomainError as exc:
        failed(request, exc)
    return see_other(f"/volunteers/opportunities/{oid}")


@router.get("/volunteers/{volunteer_id}")
def volunteer_page(request: Request, volunteer_id: str, principal: Reader, session: DbSession) -> Response:
    volunteer, entries = service.ledger(session, principal, path_id(volunteer_id), limit=500)
    totals = service.totals_of(session, volunteer.district_code, [volunteer.id])[volunteer.id]
    return render(request, "volunteers/volunteer.html", {
        **context(request, session), "v": volunteer, "name": service.names_of(session, [volunteer]).get(volunteer.id),
        "entries": entries, "totals": totals, "honours": service.honours_of(session, principal, volunteer.id),
        "pending": service.pending_work(session, volunteer),
        "signups": opps.signups_of_volunteer(session, volunteer, active_only=False)[:50],
        "keep": policy.may_manage(principal, volunteer), "next_honour": service.next_honour(totals.service)})


@router.post("/volunteers/{volunteer_id}/hours")
def adjust_hours(request: Request, volunteer_id: str, principal: Keeper, session: DbSession,
                 form: PostedForm) -> Response:
    _ = gettext_for(request)
    vid = path_id(volunteer_id)
    try:
        with session.begin_nested():
            service.adjust_hours(session, principal, vid, field_int(form, "minutes"), field_text(form, "note", 300))
        flash(request, _("Hours adjusted."))
    except DomainError as exc:
        failed(request, exc)
    return see_other(f"/volunteers/{vid}")
