"""Pages of neighbourhood care: the people in care (with their alert), opening care for someone, the profile with
masked contacts, pairings and the visits' time line, the printed QR card, the volunteer's mobile page to log and
confirm a visit, the alerts, and the care centres with the day's attendance sheet and their figures."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Annotated, Any

import qrcode
import qrcode.image.svg
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from markupsafe import Markup
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from jiayuan.accounts.roles import SUPERVISORS, UNIT_STAFF, Role
from jiayuan.accounts.service import Principal
from jiayuan.care import alerts, centres, policy, profiles, visits
from jiayuan.care.models import CARE_CENTRE_KINDS, CARE_LEVELS, NEEDS, VISIT_KINDS, VISIT_STATES
from jiayuan.deps import AppSettings, DbSession, require_role, verify_csrf
from jiayuan.kit import i18n
from jiayuan.kit.bodies import PHOTOS, body_limit
from jiayuan.kit.errors import DomainError, Invalid, NotFound
from jiayuan.kit.i18n import TIMEZONE
from jiayuan.kit.text import search_term
from jiayuan.page_kit import (
    N_,
    PAGE_SIZE,
    Messages,
    PostedForm,
    field_date,
    field_int,
    field_local_time,
    field_text,
    field_uuid,
    flash,
    form_error,
    pages_of,
    path_id,
    photo_bytes,
    query,
    see_other,
    status_of,
    take_flash,
)
from jiayuan.registry.present import labels
from jiayuan.registry.service import people
from jiayuan.units.options import unit_code, unit_names, unit_options
from jiayuan.volunteers import service as volunteers
from jiayuan.web import gettext_for, render, request_locale

router = APIRouter(include_in_schema=False)
CareUser = Annotated[Principal, Depends(require_role(*UNIT_STAFF, Role.volunteer))]
CareStaff = Annotated[Principal, Depends(require_role(*UNIT_STAFF))]
CentreStaff = Annotated[Principal, Depends(require_role(*SUPERVISORS))]
Approver = Annotated[Principal, Depends(require_role(*policy.VISIT_APPROVERS))]
DURATIONS = (30, 60, 90, 120)
NO_STORE = {"Cache-Control": "no-store"}


# --- Labels, errors, forms ---------------------------------------------------------------------------------


def care_labels(_: Any) -> dict[str, dict[str, str]]:
    return {
        "kind": {"housekeeping": _("Bring housekeeping"), "meals": _("Bring meals"),
                 "health": _("Bring health care"), "companionship": _("Companionship"), "other": _("Other visit")},
        "level": {"low": _("Low care need"), "medium": _("Medium care need"), "high": _("High care need")},
        "need": {"housekeeping": _("Housekeeping help"), "meals": _("Meals brought"), "health": _("Health care"),
                 "companionship": _("Company"), "errands": _("Errands")},
        "centre_kind": {"home_care": _("Home-care centre"), "day_care": _("Day-care centre")},
        "method": {"code": _("by the code read out"), "qr": _("by the person's card")},
        "state": {"pending": _("Awaiting confirmation"), "confirmed": _("Confirmed by the person"),
                  "approved": _("Approved by staff")},
    }


def care_context(request: Request) -> dict[str, Any]:
    _ = gettext_for(request)
    locale = request_locale(request)
    principal = getattr(request.state, "principal", None)
    return {"CL": care_labels(_), "RL": labels(_), "fmt_date": lambda v: i18n.fmt_date(v, locale),
            "flash": take_flash(request), "local_time": _local_time, "visit_state": visits.state_of,
            "runs_centres": policy.runs_centres(principal), "approves_visits": policy.approves_visits(principal)}


def _local_time(value: datetime | None) -> str:
    return value.astimezone(TIMEZONE).strftime("%H:%M") if value else ""


# A domain error becomes a message by its (field, reason); the contact typed on the opening form is
# `contacts[0].phone` to the service and `contact_phone` to the form.
AREA = N_("Choose one within your area.")
CONFLICT = N_("This conflicts with another record; reload and try again.")
MESSAGES: Messages = {
    ("code", "expired"): N_("The code has expired (24 hours). Confirm with the person's card instead."),
    ("code", "locked"): N_("Too many wrong codes: the code is locked. Confirm with the person's card instead."),
    ("code", "no_code"): N_("No code was sent: the person has no phone on record. Confirm with their card."),
    ("code", "*"): N_("Type the 4 digits the person read out."),
    ("person_id", "already_in_care"): N_("This person is already in care."),
    ("person_id", "not_paired"): N_("You are not paired with this person."),
    ("person_id", "ended"): N_("Care of this person has ended."),
    ("person_id", "already_enrolled"): N_("This person is already enrolled here."),
    ("person_id", "already_checked_in"): N_("Already checked in today."),
    ("person_id", "already_checked_out"): N_("Already checked out."),
    ("person_id", "not_checked_in"): N_("Not checked in that day."),
    ("person_id", "not_enrolled"): N_("This person is not enrolled at this centre."),
    ("person_id", "no_care_group"): N_("This person is in no care group (living alone, empty nest, disabled, "
                                       "minimum living allowance, aged 80+). Add the group in the registry first."),
    ("person_id", "anonymized"): CONFLICT,
    ("person_id", "not_found"): AREA,
    ("volunteer_id", "already_paired"): N_("This volunteer is already paired with this person."),
    ("volunteer_id", "inactive"): N_("This volunteer is no longer active."),
    ("volunteer_id", "not_found"): AREA,
    ("visit_id", "already_confirmed"): N_("This visit is already confirmed."),
    ("visit_id", "already_approved"): N_("This visit is already approved."),
    ("visited_at", "overlap"): N_("The volunteer has another visit logged at that time."),
    ("visited_at", "in_future"): N_("Log the visit once it is over: it cannot end in the future."),
    ("visited_at", "too_old"): N_("A visit more than %(days)s days ago can no longer be logged."),
    ("duration_minutes", "day_total"): N_("At most %(hours)s hours of visits a day: %(logged)s minutes are "
                                          "logged on that day already."),
    ("visit_id", "pairing_ended"): N_("Your pairing with this person has ended."),
    ("pairing_id", "already_ended"): CONFLICT,
    ("pairing_id", "not_found"): AREA,
    ("unit_code", "not_found"): AREA,
    ("ended_on", "already_ended"): CONFLICT,
    ("name", "taken"): N_("This name is already used here."),
    ("capacity", "full"): N_("The centre is full."),
    ("photos", "*"): N_("A photo could not be used (JPEG, PNG or WebP, at most 3)."),
    ("notes", "too_long"): N_("At most 2000 characters."),
    ("relation", "too_long"): N_("At most 20 characters."),
    ("contact_relation", "too_long"): N_("At most 20 characters."),
    ("name", "required"): N_("Please enter the name."),
    ("contact_name", "required"): N_("Please enter the name."),
    ("person_id", "*"): N_("Choose the person."),
    ("pairing_id", "*"): N_("Choose the person you visited."),
    ("volunteer_id", "*"): N_("Choose a volunteer."),
    ("kind", "*"): N_("Choose what the visit was for."),
    ("duration_minutes", "*"): N_("How long, in minutes: from 1 to 600."),
    ("visited_at", "*"): N_("When the visit began: not in the future, not before the pairing."),
    ("notes", "*"): N_("At most 2000 characters."),
    ("level", "*"): N_("Choose a level."),
    ("needs", "*"): N_("Choose among the needs listed."),
    ("visit_interval_days", "*"): N_("A whole number of days from 1 to 365, or empty."),
    ("name", "*"): N_("Please enter the name."),
    ("phone", "*"): N_("A mobile number (11 digits) or a landline with its area code."),
    ("contact_phone", "*"): N_("A mobile number (11 digits) or a landline with its area code."),
    ("contact_name", "*"): N_("Please enter the name."),
    ("contact_relation", "*"): N_("At most 20 characters."),
    ("relation", "*"): N_("At most 20 characters."),
    ("reason", "*"): N_("Give a reason."),
    ("card_token", "*"): N_("This is not the card of the person visited."),
    ("unit_code", "*"): N_("Choose a community or street in your area."),
    ("meals", "*"): N_("Meals: from 0 to 3 (and only where the centre serves meals)."),
    ("at", "*"): N_("The time is not possible here."),
    ("ended_on", "*"): N_("The end is before the start."),
    ("end", "*"): N_("The end is before the start, or the period is over a year."),
    ("capacity", "*"): N_("A whole number from 1 to 10000."),
    ("left_on", "*"): N_("The leaving day is before the enrolment."),
    ("*", "ended"): N_("Care of this person has ended."),
    ("*", "conflict"): CONFLICT,
}
FIELDS = {"contacts.phone": "contact_phone", "contacts.name": "contact_name", "contacts.relation": "contact_relation"}


def care_error(request: Request, exc: DomainError, form: str = "") -> dict[str, str]:
    """The error beside the field it names, in the form it came from."""
    return form_error(request, exc, form, MESSAGES, FIELDS)


def qr_svg(data: str) -> Markup:
    """The QR code of `data` as inline SVG (no script and no image request: it prints as it shows)."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2,
                        error_correction=qrcode.constants.ERROR_CORRECT_M)
    # Made here from the token: no markup of anyone's in it.
    return Markup(image.to_string(encoding="unicode"))


def grouped(token: str, size: int = 4) -> str:
    """The card token in groups of four, as printed for typing."""
    return " ".join(token[i:i + size] for i in range(0, len(token), size))


# --- People in care -----------------------------------------------------------------------------------------


@router.get("/care")
def people_list(request: Request, principal: CareUser, session: DbSession, unit: str | None = None,
                level: str | None = None, tag: str | None = None, alert: str | None = None, q: str | None = None,
                page: str = "1") -> Response:
    if principal.role == Role.volunteer:
        return _my_people(request, session, principal)
    f = {"unit": unit_code(unit), "level": level if level in CARE_LEVELS else "",
         "tag": tag if tag in profiles.CARE_TAGS else "", "alert": "1" if alert == "1" else "",
         "q": search_term(q) or ""}  # too long: a 422 page saying so, not a cut search
    filters = {"unit": f["unit"] or None, "level": f["level"] or None, "tag": f["tag"] or None,
               "alert": True if f["alert"] else None, "q": f["q"] or None}
    _rows, total = profiles.list_profiles(session, principal, **filters, limit=1)
    number, pages, offset = pages_of(total, page)
    rows, total = profiles.list_profiles(session, principal, **filters, limit=PAGE_SIZE, offset=offset)
    today = profiles.local_today()
    return render(request, "care/people.html", {
        **care_context(request), "rows": rows, "total": total, "page": number, "pages": pages, "f": f,
        "filter_query": query(**f), "units": unit_options(session, principal),
        "names": unit_names(session, principal), "care_tags": profiles.CARE_TAGS, "levels": CARE_LEVELS,
        "age": lambda b: people.age_on(b, today) if b else None,
        "open_alerts": alerts.open_count(session, principal)})


def _my_people(request: Request, session: Session, principal: Principal) -> Response:
    """A volunteer's own: the people they are paired with, and their latest visits."""
    rows = profiles.list_pairings(session, principal)
    found, _total = visits.list_visits(session, principal, limit=10)
    return render(request, "care/mine.html", {
        **care_context(request), "pairings": rows, "visits": found,
        "names": visits.names_of_people(session, found)})


@router.get("/care/people/new")
def candidates_page(request: Request, principal: CareStaff, session: DbSession, grid: str | None = None,
                    tag: str | None = None, q: str | None = None) -> Response:
    f = {"grid": unit_code(grid), "tag": tag if tag in profiles.CARE_TAGS else "", "q": search_term(q) or ""}
    found = profiles.candidates(session, principal, grid=f["grid"] or None, tag=f["tag"] or None,
                                q=f["q"] or None, limit=PAGE_SIZE)
    return render(request, "care/candidates.html", {
        **care_context(request), "rows": found, "f": f, "units": unit_options(session, principal),
        "names": unit_names(session, principal), "care_tags": profiles.CARE_TAGS})


def _open_page(request: Request, session: Session, principal: Principal, person_id: uuid.UUID,
               values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
               status_code: int = 200) -> Response:
    person = people.get_person(session, principal, person_id)
    tags = profiles.care_tags_of(session, person, profiles.local_today())
    return render(request, "care/open.html", {
        **care_context(request), "person": person, "care_tags": tags, "levels": CARE_LEVELS, "needs": NEEDS,
        "values": values or {"level": "medium", "needs": []}, "errors": errors or {},
        "default_days": request.app.state.settings.care_visit_days}, status_code=status_code, headers=NO_STORE)


@router.get("/care/people/open")
def open_page(request: Request, principal: CareStaff, session: DbSession, person_id: str = "") -> Response:
    return _open_page(request, session, principal, path_id(person_id))


@router.post("/care/people/open", dependencies=[Depends(verify_csrf)])
def open_submit(request: Request, principal: CareStaff, session: DbSession, form: PostedForm) -> Response:
    person_id = path_id(field_text(form, "person_id", 40))
    values = {"level": field_text(form, "level", 10), "needs": form.getlist("needs"),
              "notes": field_text(form, "notes", 2000), "visit_interval_days": field_text(form, "visit_interval_days"),
              "contact_name": field_text(form, "contact_name", 60),
              "contact_relation": field_text(form, "contact_relation", 20),
              "contact_phone": field_text(form, "contact_phone", 30)}
    try:
        with session.begin_nested():
            contacts = []
            if values["contact_name"] or values["contact_phone"]:
                contacts.append({"name": values["contact_name"], "relation": values["contact_relation"] or None,
                                 "phone": values["contact_phone"]})
            profile = profiles.open_profile(
                session, principal, person_id, level=values["level"], needs=values["needs"],
                notes=values["notes"] or None, visit_interval_days=field_int(form, "visit_interval_days"),
                contacts=contacts)
    except DomainError as exc:
        errors = care_error(request, exc)
        values.pop("contact_phone")  # personal: not written back into the page
        return _open_page(request, session, principal, person_id, values, errors, status_of(exc))
    flash(request, gettext_for(request)("Care is open. Print the person's card and pair a volunteer."))
    return see_other(f"/care/people/{profile.id}")


def _profile_page(request: Request, session: Session, principal: Principal, profile_id: uuid.UUID,
                  errors: dict[str, str] | None = None, values: dict[str, Any] | None = None,
                  status_code: int = 200) -> Response:
    profile = profiles.get_profile(session, principal, profile_id)
    person = profiles.person_of(session, principal, profile)
    today = profiles.local_today()
    staff = policy.is_staff(principal)
    pairings = profiles.list_pairings(session, principal, profile_id=profile.id, active=None)
    found, total = visits.list_visits(session, principal, profile_id=profile.id, limit=30)
    photos = visits.photos_of(session, found)
    volunteer_rows: list[Any] = []
    names: dict[uuid.UUID, str] = {}
    if staff:
        listed, _n = volunteers.list_volunteers(session, principal, limit=500)
        paired = {r.pairing.volunteer_id for r in pairings if r.pairing.active}
        volunteer_rows = [v for v in listed if v.id not in paired and v.person_id != profile.person_id]
        seen = {v.id: v for v in listed}
        for r in pairings:
            if r.pairing.volunteer_id not in seen:
                try:
                    seen[r.pairing.volunteer_id] = volunteers.get_volunteer(session, principal, r.pairing.volunteer_id)
                except NotFound:
                    continue
        names = volunteers.names_of(session, list(seen.values()))
    else:
        own = policy.my_volunteer(session, principal)
        names = volunteers.names_of(session, [own])
    return render(request, "care/profile.html", {
        **care_context(request), "profile": profile, "person": person, "masked": people.masked(person),
        "age": people.age_on(person.birth_date, today) if person.birth_date else None,
        "care_tags": profiles.care_tags_of(session, person, today),
        "alert": profiles.open_alerts_of(session, [profile]).get(profile.person_id),
        "contacts": [profiles.masked_contact(c) for c in profiles.contacts_of(session, profile)] if staff else [],
        "pairings": pairings, "volunteer_names": names, "volunteer_choices": volunteer_rows,
        "visits": found, "visit_total": total, "photos": photos, "staff": staff, "levels": CARE_LEVELS,
        "needs": NEEDS, "errors": errors or {}, "values": values or {}, "grid_names": unit_names(session, principal)
        if staff else {}, "interval": profile.visit_interval_days or request.app.state.settings.care_visit_days,
    }, status_code=status_code)


@router.get("/care/people/{profile_id}")
def profile_page(request: Request, principal: CareUser, session: DbSession, profile_id: str) -> Response:
    return _profile_page(request, session, principal, path_id(profile_id))


def _profile_action(request: Request, session: Session, principal: Principal, profile_id: uuid.UUID, form_name: str,
                    action: Any, done: str, values: dict[str, Any] | None = None) -> Response:
    """Run `action()` in a savepoint; on a domain error show the profile again with the message by its form."""
    try:
        with session.begin_nested():
            action()
    except DomainError as exc:
        return _profile_page(request, session, principal, profile_id, care_error(request, exc, form_name),
                             values, status_of(exc))
    flash(request, done)
    return see_other(f"/care/people/{profile_id}#{form_name}")


@router.post("/care/people/{profile_id}/edit", dependencies=[Depends(verify_csrf)])
def profile_edit(request: Request, principal: CareStaff, session: DbSession, profile_id: str,
                 form: PostedForm) -> Response:
    pid = path_id(profile_id)
    _ = gettext_for(request)

    def act() -> None:
        profiles.update_profile(session, principal, pid, {
            "level": field_text(form, "level", 10), "needs": form.getlist("needs"),
            "notes": field_text(form, "notes", 2000) or None,
            "visit_interval_days": field_int(form, "visit_interval_days")})

    return _profile_action(request, session, principal, pid, "edit", act, _("Saved."))


@router.post("/care/people/{profile_id}/end", dependencies=[Depends(verify_csrf)])
def profile_end(request: Request, principal: CareStaff, session: DbSession, profile_id: str,
                form: PostedForm) -> Response:
    pid = path_id(profile_id)
    _ = gettext_for(request)
    return _profile_action(request, session, principal, pid, "end",
                           lambda: profiles.end_profile(session, principal, pid, field_text(form, "reason", 200)),
                           _("Care has ended; its pairings ended with it."))


@router.post("/care/people/{profile_id}/contacts", dependencies=[Depends(verify_csrf)])
def contact_add(request: Request, principal: CareStaff, session: DbSession, profile_id: str,
                form: PostedForm) -> Response:
    pid = path_id(profile_id)
    _ = gettext_for(request)
    values = {"name": field_text(form, "name", 60), "relation": field_text(form, "relation", 20)}
    return _profile_action(request, session, principal, pid, "contacts",
                           lambda: profiles.add_contact(session, principal, pid, name=values["name"],
                                                        relation=values["relation"] or None,
                                                        phone=field_text(form, "phone", 30)),
                           _("Contact added."), values)


@router.post("/care/people/{profile_id}/contacts/{contact_id}/remove", dependencies=[Depends(verify_csrf)])
def contact_remove(request: Request, principal: CareStaff, session: DbSession, profile_id: str,
                   contact_id: str) -> Response:
    pid, cid = path_id(profile_id), path_id(contact_id)
    _ = gettext_for(request)
    return _profile_action(request, session, principal, pid, "contacts",
                           lambda: profiles.remove_contact(session, principal, pid, cid), _("Contact removed."))


@router.post("/care/people/{profile_id}/pairings", dependencies=[Depends(verify_csrf)])
def pairing_add(request: Request, principal: CareStaff, session: DbSession, profile_id: str,
                form: PostedForm) -> Response:
    pid = path_id(profile_id)
    _ = gettext_for(request)

    def act() -> None:
        volunteer_id = field_uuid(form, "volunteer_id")
        if volunteer_id is None:
            raise Invalid("required", field="volunteer_id")
        profiles.pair(session, principal, pid, volunteer_id)

    return _profile_action(request, session, principal, pid, "pairings", act, _("Paired."))


@router.post("/care/pairings/{pairing_id}/end", dependencies=[Depends(verify_csrf)])
def pairing_end(request: Request, principal: CareStaff, session: DbSession, pairing_id: str,
                form: PostedForm) -> Response:
    pairing = profiles.get_pairing(session, principal, path_id(pairing_id))
    profile = profiles.profile_of_person(session, principal, pairing.person_id)
    if profile is None:
        raise NotFound("no such person in care", field="profile_id")
    _ = gettext_for(request)
    return _profile_action(request, session, principal, profile.id, "pairings",
                           lambda: profiles.end_pairing(session, principal, pairing.id,
                                                        field_text(form, "reason", 200)),
                           _("The pairing has ended."))


@router.get("/care/people/{profile_id}/card")
def card_page(request: Request, principal: CareStaff, session: DbSession, profile_id: str) -> Response:
    """The printable card: the QR code of the profile's token, and the token in groups for typing."""
    profile = profiles.get_profile(session, principal, path_id(profile_id))
    person = profiles.person_of(session, principal, profile)
    return render(request, "care/card.html", {
        **care_context(request), "profile": profile, "person": person, "qr": qr_svg(profile.card_token),
        "token": grouped(profile.card_token)}, headers=NO_STORE)


@router.post("/care/people/{profile_id}/card", dependencies=[Depends(verify_csrf)])
def card_reissue(request: Request, principal: CareStaff, session: DbSession, profile_id: str) -> Response:
    profile = profiles.reissue_card(session, principal, path_id(profile_id))
    flash(request, gettext_for(request)("A new card is ready; the old one no longer confirms visits."))
    return see_other(f"/care/people/{profile.id}/card")


# --- Visits (the volunteer's mobile pages) ------------------------------------------------------------------


def _visit_form(request: Request, session: Session, principal: Principal, values: dict[str, Any] | None = None,
                errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    rows = profiles.list_pairings(session, principal, active=True, limit=500)
    names: dict[uuid.UUID, str] = {}
    if policy.is_staff(principal):
        seen = []
        for vid in {r.pairing.volunteer_id for r in rows}:
            try:
                seen.append(volunteers.get_volunteer(session, principal, vid))
            except NotFound:
                continue
        names = volunteers.names_of(session, seen)
    values = values or {}
    if not values.get("pairing_id") and len(rows) == 1:
        values["pairing_id"] = str(rows[0].pairing.id)
    return render(request, "care/visit_new.html", {
        **care_context(request), "pairings": rows, "volunteer_names": names, "kinds": VISIT_KINDS,
        "durations": DURATIONS, "values": values, "errors": errors or {},
        "staff": policy.is_staff(principal), "max_photos": visits.MAX_VISIT_PHOTOS,
        "now": datetime.now(TIMEZONE).strftime("%Y-%m-%dT%H:%M"),
        "earliest": (datetime.now(TIMEZONE) - timedelta(days=request.app.state.settings.care_visit_backdate_days))
        .strftime("%Y-%m-%dT%H:%M")}, status_code=status_code)


@router.get("/care/visits/new")
def visit_new(request: Request, principal: CareUser, session: DbSession, person_id: str = "") -> Response:
    values: dict[str, Any] = {}
    if person_id:
        try:
            wanted = uuid.UUID(person_id)
        except ValueError:
            wanted = None
        mine = [r for r in profiles.list_pairings(session, principal, active=True, limit=500)
                if r.pairing.person_id == wanted]
        if len(mine) == 1:
            values["pairing_id"] = str(mine[0].pairing.id)
    return _visit_form(request, session, principal, values)


@router.post("/care/visits/new", dependencies=[Depends(verify_csrf)])
@body_limit(PHOTOS)
def visit_create(request: Request, principal: CareUser, session: DbSession, settings: AppSettings,
                 form: PostedForm) -> Response:
    values = {"pairing_id": field_text(form, "pairing_id", 40), "kind": field_text(form, "kind", 20),
              "duration": field_text(form, "duration", 10), "minutes": field_text(form, "minutes", 10),
              "notes": field_text(form, "notes", 2000), "visited_at": field_text(form, "visited_at", 30)}
    try:
        with session.begin_nested():
            pairing_id = field_uuid(form, "pairing_id")
            if pairing_id is None:
                raise Invalid("required", field="pairing_id")
            pairing = profiles.get_pairing(session, principal, pairing_id)
            minutes = field_int(form, "minutes") or field_int(form, "duration")
            logged = visits.log_visit(session, principal, {
                "person_id": pairing.person_id, "volunteer_id": pairing.volunteer_id,
                "kind": values["kind"], "duration_minutes": minutes, "notes": values["notes"] or None,
                "visited_at": field_local_time(form, "visited_at")},
                photos=photo_bytes(form, settings.max_photo_bytes), settings=settings)
    except DomainError as exc:
        errors = care_error(request, exc)
        if isinstance(exc, NotFound) and errors["field"] in ("pairing_id", "id"):
            errors["pairing_id"] = errors.pop(errors["field"])
        if any(isinstance(f, UploadFile) and f.filename for f in form.getlist("photos")) and "photos" not in errors:
            errors["photos"] = gettext_for(request)("Please choose the photos again.")
        return _visit_form(request, session, principal, values, errors, status_of(exc))
    return see_other(f"/care/visits/{logged.visit.id}")


def _visit_page(request: Request, session: Session, principal: Principal, visit_id: uuid.UUID,
                errors: dict[str, str] | None = None, tries_left: int | None = None,
                status_code: int = 200) -> Response:
    visit = visits.get_visit(session, principal, visit_id)
    name = visits.names_of_people(session, [visit]).get(visit.person_id, "")
    profile = profiles.profile_of_person(session, principal, visit.person_id)
    phone = None
    if profile is not None and visit.confirm_code_hash:
        phone = people.masked(profiles.person_of(session, principal, profile))["phone"]
    return render(request, "care/visit.html", {
        **care_context(request), "visit": visit, "name": name, "profile": profile, "phone": phone,
        "state": visits.code_state(visit), "photos": visits.photos_of(session, [visit])[visit.id],
        "may_approve": policy.approves_visits(principal) and visits.state_of(visit) == "pending",
        "errors": errors or {}, "tries_left": tries_left}, status_code=status_code, headers=NO_STORE)


@router.get("/care/visits/{visit_id}")
def visit_page(request: Request, principal: CareUser, session: DbSession, visit_id: str) -> Response:
    return _visit_page(request, session, principal, path_id(visit_id))


@router.post("/care/visits/{visit_id}/confirm", dependencies=[Depends(verify_csrf)])
def visit_confirm(request: Request, principal: CareUser, session: DbSession, visit_id: str,
                  form: PostedForm) -> Response:
    vid = path_id(visit_id)
    _ = gettext_for(request)
    token = field_text(form, "card_token", 100)
    try:
        if token or field_text(form, "method", 10) == "card":
            with session.begin_nested():
                visits.confirm_with_card(session, principal, vid, token)
        else:
            check = visits.confirm_with_code(session, principal, vid, field_text(form, "code", 10))
            if not check.confirmed:
                # The try is counted and kept: this request commits (no exception leaves the route).
                message = _("Wrong code. %(n)s tries left.") % {"n": check.tries_left} if check.tries_left else _(
                    "Wrong code. The code is now locked: confirm with the person's card.")
                return _visit_page(request, session, principal, vid, {"form": "code", "field": "code",
                                                                      "code": message},
                                   check.tries_left, status_code=422)
    except DomainError as exc:
        form_name = "card" if token else "code"
        return _visit_page(request, session, principal, vid, care_error(request, exc, form_name),
                           status_code=status_of(exc))
    flash(request, _("Confirmed. Thank you for the visit!"))
    return see_other(f"/care/visits/{vid}")


@router.post("/care/visits/{visit_id}/approve", dependencies=[Depends(verify_csrf)])
def visit_approve(request: Request, principal: Approver, session: DbSession, visit_id: str,
                  form: PostedForm) -> Response:
    """Staff approve a visit the person could not confirm: from the visit's page or the list of waiting ones."""
    vid = path_id(visit_id)
    back = "/care/visits" if field_text(form, "back", 20) == "list" else f"/care/visits/{vid}"
    try:
        with session.begin_nested():
            visits.approve_visit(session, principal, vid)
    except DomainError as exc:
        if back == "/care/visits":
            flash(request, care_error(request, exc)["message"])
            return see_other(back)
        return _visit_page(request, session, principal, vid, care_error(request, exc, "approve"),
                           status_code=status_of(exc))
    flash(request, gettext_for(request)("Approved: the visit's minutes are credited to the volunteer."))
    return see_other(back)


@router.get("/care/visits")
def visits_page(request: Request, principal: CareStaff, session: DbSession, state: str | None = None,
                page: str = "1") -> Response:
    """Visits in the caller's scope by state, those waiting for confirmation or approval first."""
    chosen = state if state in VISIT_STATES else "pending"
    _rows, total = visits.list_visits(session, principal, state=chosen, limit=1)
    number, pages, offset = pages_of(total, page)
    found, total = visits.list_visits(session, principal, state=chosen, limit=PAGE_SIZE, offset=offset)
    return render(request, "care/visits.html", {
        **care_context(request), "visits": found, "total": total, "page": number, "pages": pages,
        "state": chosen, "states": VISIT_STATES, "names": visits.names_of_people(session, found),
        "volunteer_names": _volunteer_names(session, principal, {v.volunteer_id for v in found})})


def _volunteer_names(session: Session, principal: Principal, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    seen = []
    for vid in ids:
        try:
            seen.append(volunteers.get_volunteer(session, principal, vid))
        except NotFound:
            continue
    return volunteers.names_of(session, seen)


# --- Alerts -----------------------------------------------------------------------------------------------


@router.get("/care/alerts")
def alerts_page(request: Request, principal: CareStaff, session: DbSession, unit: str | None = None,
                page: str = "1") -> Response:
    code = unit_code(unit)
    _rows, total = alerts.list_alerts(session, principal, unit=code or None, limit=1)
    number, pages, offset = pages_of(total, page)
    rows, total = alerts.list_alerts(session, principal, unit=code or None, limit=PAGE_SIZE, offset=offset)
    return render(request, "care/alerts.html", {
        **care_context(request), "rows": rows, "total": total, "page": number, "pages": pages, "unit": code,
        "units": unit_options(session, principal), "names": unit_names(session, principal)})


# --- Centres ----------------------------------------------------------------------------------------------


def _centres_page(request: Request, session: Session, principal: Principal, values: dict[str, Any] | None = None,
                  errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    found = centres.list_centres(session, principal, active=None)
    today = profiles.local_today()
    units_ = [u for u in unit_options(session, principal) if len(u["code"]) in (9, 12)]
    return render(request, "care/centres.html", {
        **care_context(request), "centres": found, "kinds": CARE_CENTRE_KINDS, "units": units_,
        "names": unit_names(session, principal), "values": values or {"serves_meals": "1"},
        "errors": errors or {}, "today": today}, status_code=status_code)


@router.get("/care/centres")
def centres_page(request: Request, principal: CentreStaff, session: DbSession) -> Response:
    return _centres_page(request, session, principal)


@router.post("/care/centres", dependencies=[Depends(verify_csrf)])
def centre_create(request: Request, principal: CentreStaff, session: DbSession, form: PostedForm) -> Response:
    values = {"unit_code": field_text(form, "unit_code", 20), "kind": field_text(form, "kind", 12),
              "name": field_text(form, "name", 100), "address": field_text(form, "address", 200),
              "capacity": field_text(form, "capacity", 10), "serves_meals": field_text(form, "serves_meals", 2)}
    try:
        with session.begin_nested():
            centre = centres.create_centre(session, principal, {
                "unit_code": values["unit_code"], "kind": values["kind"], "name": values["name"],
                "address": values["address"] or None, "capacity": field_int(form, "capacity"),
                "serves_meals": values["serves_meals"] == "1"})
    except DomainError as exc:
        return _centres_page(request, session, principal, values, care_error(request, exc), status_of(exc))
    flash(request, gettext_for(request)("The centre is registered."))
    return see_other(f"/care/centres/{centre.id}")


@router.get("/care/centres/figures")
def figures_page(request: Request, principal: CentreStaff, session: DbSession, start: str | None = None,
                 end: str | None = None, unit: str | None = None) -> Response:
    today = profiles.local_today()
    errors: dict[str, str] = {}
    try:
        first = date.fromisoformat(start) if start else today.replace(day=1)
        last = date.fromisoformat(end) if end else today
        rows = centres.figures(session, principal, first, last, unit=unit_code(unit) or None)
    except ValueError:
        first, last = today.replace(day=1), today
        rows = centres.figures(session, principal, first, last)
        errors = {"form": "", "field": "start", "start": gettext_for(request)("Enter a date.")}
    except DomainError as exc:
        first, last = today.replace(day=1), today
        rows = centres.figures(session, principal, first, last)
        errors = care_error(request, exc)
    return render(request, "care/figures.html", {
        **care_context(request), "rows": rows[:-1], "total": rows[-1], "start": first, "end": last,
        "unit": unit_code(unit), "units": [u for u in unit_options(session, principal) if len(u["code"]) in (9, 12)],
        "names": unit_names(session, principal), "errors": errors}, status_code=422 if errors else 200)


def _centre_page(request: Request, session: Session, principal: Principal, centre_id: uuid.UUID,
                 errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    centre = centres.get_centre(session, principal, centre_id)
    enrolled = centres.enrolments_of(session, principal, centre.id)
    taken = {r.enrolment.person_id for r in enrolled}
    in_care, _n = profiles.list_profiles(session, principal, unit=centre.unit_code, limit=500)
    return render(request, "care/centre.html", {
        **care_context(request), "centre": centre, "enrolled": enrolled,
        "choices": [r for r in in_care if r.profile.person_id not in taken], "errors": errors or {},
        "names": unit_names(session, principal), "today": profiles.local_today()}, status_code=status_code)


@router.get("/care/centres/{centre_id}")
def centre_page(request: Request, principal: CentreStaff, session: DbSession, centre_id: str) -> Response:
    return _centre_page(request, session, principal, path_id(centre_id))


@router.post("/care/centres/{centre_id}/enrol", dependencies=[Depends(verify_csrf)])
def centre_enrol(request: Request, principal: CentreStaff, session: DbSession, centre_id: str,
                 form: PostedForm) -> Response:
    cid = path_id(centre_id)
    try:
        with session.begin_nested():
            person_id = field_uuid(form, "person_id")
            if person_id is None:
                raise Invalid("required", field="person_id")
            centres.enrol(session, principal, cid, person_id, field_date(form, "enrolled_on"))
    except DomainError as exc:
        return _centre_page(request, session, principal, cid, care_error(request, exc, "enrol"), status_of(exc))
    flash(request, gettext_for(request)("Enrolled."))
    return see_other(f"/care/centres/{cid}")


@router.post("/care/centres/{centre_id}/enrolments/{enrolment_id}/leave", dependencies=[Depends(verify_csrf)])
def centre_leave(request: Request, principal: CentreStaff, session: DbSession, centre_id: str,
                 enrolment_id: str) -> Response:
    cid = path_id(centre_id)
    try:
        with session.begin_nested():
            centres.leave(session, principal, cid, path_id(enrolment_id))
    except DomainError as exc:
        return _centre_page(request, session, principal, cid, care_error(request, exc, "enrol"), status_of(exc))
    flash(request, gettext_for(request)("The person has left the centre."))
    return see_other(f"/care/centres/{cid}")


def _day(value: str | None) -> date:
    try:
        return date.fromisoformat(value) if value else profiles.local_today()
    except ValueError:
        return profiles.local_today()


def _sheet_page(request: Request, session: Session, principal: Principal, centre_id: uuid.UUID, day: date,
                errors: dict[str, str] | None = None, status_code: int = 200) -> Response:
    centre = centres.get_centre(session, principal, centre_id)
    rows = centres.attendance_sheet(session, principal, centre.id, day)
    today = profiles.local_today()
    return render(request, "care/attendance.html", {
        **care_context(request), "centre": centre, "rows": rows, "day": day, "today": today,
        "previous": day - timedelta(days=1), "next": day + timedelta(days=1) if day < today else None,
        "present": sum(1 for r in rows if r.attendance), "meals": sum(r.attendance.meals for r in rows if r.attendance),
        "errors": errors or {}}, status_code=status_code)


@router.get("/care/centres/{centre_id}/attendance")
def sheet_page(request: Request, principal: CentreStaff, session: DbSession, centre_id: str,
               day: str | None = None) -> Response:
    return _sheet_page(request, session, principal, path_id(centre_id), _day(day))


@router.post("/care/centres/{centre_id}/attendance", dependencies=[Depends(verify_csrf)])
def sheet_submit(request: Request, principal: CentreStaff, session: DbSession, centre_id: str,
                 form: PostedForm) -> Response:
    """One line of the sheet: check in, check out (with the meals) or correct the meals. Check-ins and -outs are
    recorded now, so they are taken on today's sheet only."""
    cid = path_id(centre_id)
    day = _day(field_text(form, "day", 20))
    action = field_text(form, "action", 10)
    _ = gettext_for(request)
    try:
        with session.begin_nested():
            person_id = field_uuid(form, "person_id")
            if person_id is None:
                raise Invalid("required", field="person_id")
            meals = field_int(form, "meals")
            if action == "in":
                if day != profiles.local_today():
                    raise Invalid("check-in is recorded on today's sheet", field="at")
                centres.check_in(session, principal, cid, person_id, meals=meals or 0)
            elif action == "out":
                if day != profiles.local_today():
                    raise Invalid("check-out is recorded on today's sheet", field="at")
                centres.check_out(session, principal, cid, person_id, day=day, meals=meals)
            else:
                centres.record_meals(session, principal, cid, person_id, day, meals or 0)
    except DomainError as exc:
        errors = care_error(request, exc)
        errors["row"] = field_text(form, "person_id", 40)
        return _sheet_page(request, session, principal, cid, day, errors, status_of(exc))
    flash(request, {"in": _("Checked in."), "out": _("Checked out.")}.get(action, _("Saved.")))
    return see_other(f"/care/centres/{cid}/attendance?day={day.isoformat()}")
