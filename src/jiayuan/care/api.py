"""JSON routes of neighbourhood care under /api/v1/care: people in care and their contacts, pairings, visits and
their confirmation, alerts, care centres with enrolment, attendance and figures. Staff act within their scope;
a volunteer sees and logs only the visits of their own active pairings."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi.responses import JSONResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiayuan.accounts.roles import SUPERVISORS, UNIT_STAFF, Role
from jiayuan.accounts.service import Principal
from jiayuan.care import alerts, centres, policy, profiles, visits
from jiayuan.care.models import Attendance, CareCentre, CareProfile, Enrolment, Pairing, Visit, VisitPhoto
from jiayuan.care.schemas import (
    AlertList,
    AlertRead,
    AttendanceRead,
    CandidateRead,
    CentreCreate,
    CentreFiguresRead,
    CentreRead,
    CentreUpdate,
    CheckIn,
    CheckOut,
    ContactCreate,
    ContactRead,
    EnrolmentCreate,
    EnrolmentLeave,
    EnrolmentRead,
    FiguresRead,
    PairingCreate,
    PairingEnd,
    PairingRead,
    PhotoRead,
    ProfileCreate,
    ProfileDetail,
    ProfileEnd,
    ProfileList,
    ProfileRead,
    ProfileUpdate,
    SheetRow,
    VisitConfirm,
    VisitCreate,
    VisitList,
    VisitRead,
)
from jiayuan.deps import AppSettings, DbSession, require_role
from jiayuan.kit.bodies import PHOTOS, body_limit, read_prefix
from jiayuan.kit.errors import Invalid, NotFound
from jiayuan.kit.pagination import Offset, Search, search_query
from jiayuan.kit.storage import storage_from_settings
from jiayuan.registry.service import people
from jiayuan.volunteers import service as volunteers

router = APIRouter(prefix="/api/v1/care", tags=["care"])
CareUser = Annotated[Principal, Depends(require_role(*UNIT_STAFF, Role.volunteer))]
CareStaff = Annotated[Principal, Depends(require_role(*UNIT_STAFF))]
CentreStaff = Annotated[Principal, Depends(require_role(*SUPERVISORS))]
Approver = Annotated[Principal, Depends(require_role(*policy.VISIT_APPROVERS))]
Limit = Annotated[int, Query(ge=1, le=500)]


# --- Shapes -----------------------------------------------------------------------------------------------


def alert_read(a: Any, name: str, profile_id: uuid.UUID | None) -> AlertRead:
    return AlertRead(id=a.id, person_id=a.person_id, name=name, profile_id=profile_id, grid_code=a.grid_code,
                     raised_on=a.raised_on, last_visit_at=a.last_visit_at, days_without_visit=a.days_without_visit,
                     open=a.open, resolved_at=a.resolved_at)


def _age(birth: date | None) -> int | None:
    return people.age_on(birth, profiles.local_today()) if birth else None


def _profile_fields(p: CareProfile, name: str, birth: date | None, alert: Any) -> dict[str, Any]:
    return {"id": p.id, "person_id": p.person_id, "name": name, "age": _age(birth), "grid_code": p.grid_code,
            "level": p.level, "needs": p.needs or [], "notes": p.notes,
            "visit_interval_days": p.visit_interval_days, "started_on": p.started_on, "ended_on": p.ended_on,
            "open_alert": alert_read(alert, name, p.id) if alert is not None else None}


def profile_detail(session: Session, principal: Principal, p: CareProfile) -> ProfileDetail:
    person = profiles.person_of(session, principal, p)
    alert = profiles.open_alerts_of(session, [p]).get(p.person_id)
    last = session.scalar(select(func.max(Visit.visited_at)).where(Visit.district_code == p.district_code,
                                                                    Visit.person_id == p.person_id, visits.COUNTED))
    return ProfileDetail(
        **_profile_fields(p, person.name, person.birth_date, alert),
        care_tags=profiles.care_tags_of(session, person, profiles.local_today()),
        phone=people.masked(person)["phone"],
        contacts=[ContactRead(**profiles.masked_contact(c)) for c in profiles.contacts_of(session, p)],
        card_token=p.card_token if policy.is_staff(principal) else None, last_visit_at=last)


def pairing_read(row: profiles.PairingRow, names: dict[uuid.UUID, str]) -> PairingRead:
    p: Pairing = row.pairing
    return PairingRead(id=p.id, person_id=p.person_id, person_name=row.person_name, profile_id=row.profile_id,
                       volunteer_id=p.volunteer_id, volunteer_name=names.get(p.volunteer_id), grid_code=p.grid_code,
                       started_on=p.started_on, ended_on=p.ended_on, end_reason=p.end_reason, active=p.active)


def volunteer_names(session: Session, principal: Principal, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Names of the volunteers the caller may see (through the volunteers service)."""
    found = []
    for vid in ids:
        try:
            found.append(volunteers.get_volunteer(session, principal, vid))
        except NotFound:  # a volunteer out of the caller's sight simply has no name here
            continue
    return volunteers.names_of(session, found)


def photo_read(visit: Visit, photo: VisitPhoto) -> PhotoRead:
    url = f"/api/v1/care/visits/{visit.id}/photos/{photo.id}"
    return PhotoRead(id=photo.id, url=url, thumbnail_url=f"{url}?thumb=1", width=photo.width, height=photo.height)


def visit_reads(session: Session, found: list[Visit], sent_to: str | None = None) -> list[VisitRead]:
    photos = visits.photos_of(session, found)
    names = visits.names_of_people(session, found)
    return [VisitRead(id=v.id, pairing_id=v.pairing_id, person_id=v.person_id, person_name=names.get(v.person_id),
                      volunteer_id=v.volunteer_id, grid_code=v.grid_code, kind=v.kind, visited_at=v.visited_at,
                      duration_minutes=v.duration_minutes, notes=v.notes, lat=v.lat, lon=v.lon,
                      state=visits.state_of(v), confirmed_at=v.confirmed_at, confirm_method=v.confirm_method,
                      approved_at=v.approved_at, credited_at=v.credited_at,
                      credited_unconfirmed=v.credited_unconfirmed,
                      code_state=visits.code_state(v), code_sent_to=sent_to,
                      photos=[photo_read(v, p) for p in photos[v.id]]) for v in found]


def centre_read(c: CareCentre) -> CentreRead:
    return CentreRead(id=c.id, unit_code=c.unit_code, kind=c.kind, name=c.name, address=c.address, lat=c.lat,
                      lon=c.lon, capacity=c.capacity, serves_meals=c.serves_meals, active=c.active)


def enrolment_read(e: Enrolment, name: str | None = None) -> EnrolmentRead:
    return EnrolmentRead(id=e.id, centre_id=e.centre_id, person_id=e.person_id, name=name, enrolled_on=e.enrolled_on,
                         left_on=e.left_on, active=e.active)


def attendance_read(a: Attendance) -> AttendanceRead:
    return AttendanceRead(id=a.id, centre_id=a.centre_id, person_id=a.person_id, day=a.day,
                          checked_in_at=a.checked_in_at, checked_out_at=a.checked_out_at, meals=a.meals)


# --- People in care ---------------------------------------------------------------------------------------


@router.get("/profiles", response_model=ProfileList)
def list_profiles(principal: CareUser, session: DbSession,
                  unit: Annotated[str | None, Query(description="a unit code: people in it and below")] = None,
                  level: str | None = None, need: str | None = None, tag: str | None = None,
                  alert: Annotated[bool | None, Query(description="only those with (or without) an open alert")] = None,
                  q: Annotated[str | None, search_query("name or pinyin initials")] = None,
                  ended: bool = False, limit: Limit = 50, offset: Offset = 0) -> ProfileList:
    rows, total = profiles.list_profiles(session, principal, unit=unit, level=level, need=need, tag=tag,
                                         alert=alert, q=q, ended=ended, limit=limit, offset=offset)
    return ProfileList(total=total, items=[ProfileRead(**_profile_fields(r.profile, r.name, r.birth_date,
                                                                         r.open_alert)) for r in rows])


@router.get("/profiles/candidates", response_model=list[CandidateRead])
def list_candidates(principal: CareStaff, session: DbSession, grid: str | None = None, tag: str | None = None,
                    q: Search = None, limit: Limit = 50) -> list[CandidateRead]:
    """People of the caller's scope in a care group (living alone, empty nest, disabled, allowance, 80+) with
    no open profile yet."""
    return [CandidateRead(person_id=p.id, name=p.name, grid_code=p.grid_code, care_tags=tags)
            for p, tags in profiles.candidates(session, principal, grid=grid, tag=tag, q=q, limit=limit)]


@router.post("/profiles", response_model=ProfileDetail, status_code=201)
def open_profile(body: ProfileCreate, principal: CareStaff, session: DbSession) -> ProfileDetail:
    data = body.model_dump()
    contacts = data.pop("contacts") or []
    profile = profiles.open_profile(session, principal, data.pop("person_id"), contacts=contacts, **data)
    return profile_detail(session, principal, profile)


@router.get("/profiles/{profile_id}", response_model=ProfileDetail)
def get_profile(profile_id: uuid.UUID, principal: CareUser, session: DbSession) -> ProfileDetail:
    return profile_detail(session, principal, profiles.get_profile(session, principal, profile_id))


@router.patch("/profiles/{profile_id}", response_model=ProfileDetail)
def update_profile(profile_id: uuid.UUID, body: ProfileUpdate, principal: CareStaff,
                   session: DbSession) -> ProfileDetail:
    profile = profiles.update_profile(session, principal, profile_id, body.model_dump(exclude_unset=True))
    return profile_detail(session, principal, profile)


@router.post("/profiles/{profile_id}/end", response_model=ProfileDetail)
def end_profile(profile_id: uuid.UUID, body: ProfileEnd, principal: CareStaff, session: DbSession) -> ProfileDetail:
    return profile_detail(session, principal, profiles.end_profile(session, principal, profile_id, body.reason))


@router.post("/profiles/{profile_id}/card", response_model=ProfileDetail)
def reissue_card(profile_id: uuid.UUID, principal: CareStaff, session: DbSession) -> ProfileDetail:
    """A new card token when the card is lost; the old card confirms nothing any more."""
    return profile_detail(session, principal, profiles.reissue_card(session, principal, profile_id))


@router.get("/profiles/{profile_id}/contacts", response_model=list[ContactRead])
def list_contacts(profile_id: uuid.UUID, principal: CareStaff, session: DbSession) -> list[ContactRead]:
    profile = profiles.get_profile(session, principal, profile_id)
    return [ContactRead(**profiles.masked_contact(c)) for c in profiles.contacts_of(session, profile)]


@router.post("/profiles/{profile_id}/contacts", response_model=ContactRead, status_code=201)
def add_contact(profile_id: uuid.UUID, body: ContactCreate, principal: CareStaff, session: DbSession) -> ContactRead:
    contact = profiles.add_contact(session, principal, profile_id, name=body.name or "", phone=body.phone or "",
                                   relation=body.relation)
    return ContactRead(**profiles.masked_contact(contact))


@router.delete("/profiles/{profile_id}/contacts/{contact_id}", status_code=204)
def remove_contact(profile_id: uuid.UUID, contact_id: uuid.UUID, principal: CareStaff,
                   session: DbSession) -> Response:
    profiles.remove_contact(session, principal, profile_id, contact_id)
    return Response(status_code=204)


# --- Pairings -------------------------------------------------------------------------------------------


@router.get("/pairings", response_model=list[PairingRead])
def list_pairings(principal: CareUser, session: DbSession, profile_id: uuid.UUID | None = None,
                  volunteer_id: uuid.UUID | None = None,
                  active: Annotated[bool | None, Query(description="default: active only")] = True,
                  limit: Limit = 200, offset: Offset = 0) -> list[PairingRead]:
    rows = profiles.list_pairings(session, principal, profile_id=profile_id, volunteer_id=volunteer_id,
                                  active=active, limit=limit, offset=offset)
    names = volunteer_names(session, principal, {r.pairing.volunteer_id for r in rows})
    return [pairing_read(r, names) for r in rows]


@router.post("/pairings", response_model=PairingRead, status_code=201)
def create_pairing(body: PairingCreate, principal: CareStaff, session: DbSession) -> PairingRead:
    pairing = profiles.pair(session, principal, body.profile_id, body.volunteer_id, body.started_on)
    row = next(r for r in profiles.list_pairings(session, principal, profile_id=body.profile_id)
               if r.pairing.id == pairing.id)
    return pairing_read(row, volunteer_names(session, principal, {pairing.volunteer_id}))


@router.post("/pairings/{pairing_id}/end", response_model=PairingRead)
def end_pairing(pairing_id: uuid.UUID, body: PairingEnd, principal: CareStaff, session: DbSession) -> PairingRead:
    pairing = profiles.end_pairing(session, principal, pairing_id, body.reason or "", body.ended_on)
    row = next(r for r in profiles.list_pairings(session, principal, active=False) if r.pairing.id == pairing.id)
    return pairing_read(row, volunteer_names(session, principal, {pairing.volunteer_id}))


# --- Visits -----------------------------------------------------------------------------------------------


@router.get("/visits", response_model=VisitList)
def list_visits(principal: CareUser, session: DbSession, profile_id: uuid.UUID | None = None,
                confirmed: bool | None = None,
                state: Annotated[str | None, Query(description="pending, confirmed or approved")] = None,
                credited_unconfirmed: Annotated[bool | None, Query(
                    description="visits credited when logged and never confirmed (before migration 0011)")] = None,
                limit: Limit = 50, offset: Offset = 0) -> VisitList:
    found, total = visits.list_visits(session, principal, profile_id=profile_id, confirmed=confirmed, state=state,
                                      credited_unconfirmed=credited_unconfirmed, limit=limit, offset=offset)
    return VisitList(total=total, items=visit_reads(session, found))


@router.post("/visits", response_model=VisitRead, status_code=201,
             responses={409: {"description": "not paired; another visit of the volunteer at that time "
                                             "(visited_at, reason overlap); over the day's hours "
                                             "(duration_minutes, reason day_total)"},
                        422: {"description": "a bad field, named: in the future or logged too late (visited_at)"}})
def log_visit(body: VisitCreate, principal: CareUser, session: DbSession, settings: AppSettings) -> VisitRead:
    """Log a visit of an active pairing (a volunteer: their own). It is pending (待确认) and credits nothing yet:
    a 4-digit code goes to the person's phone (`code_sent_to` says where, masked), and the visit's minutes are
    credited to the volunteer's hours when it is confirmed (`/confirm`) or approved by staff (`/approve`)."""
    logged = visits.log_visit(session, principal, body.model_dump(), settings=settings)
    return visit_reads(session, [logged.visit], logged.code_sent_to)[0]


@router.get("/visits/{visit_id}", response_model=VisitRead)
def get_visit(visit_id: uuid.UUID, principal: CareUser, session: DbSession) -> VisitRead:
    return visit_reads(session, [visits.get_visit(session, principal, visit_id)])[0]


@router.post("/visits/{visit_id}/confirm", response_model=VisitRead,
             responses={422: {"description": "wrong code (the tries left in details) or not this person's card"},
                        409: {"description": "already confirmed, expired, locked, or the pairing has ended"}})
def confirm_visit(visit_id: uuid.UUID, body: VisitConfirm, principal: CareUser, session: DbSession) -> Any:
    """Confirm with the code the person read out, or with their card's token (scanned or typed)."""
    if body.card_token:
        return visit_reads(session, [visits.confirm_with_card(session, principal, visit_id, body.card_token)])[0]
    if body.code is None:
        raise Invalid("send the code the person read out, or the token of their card", field="code")
    check = visits.confirm_with_code(session, principal, visit_id, body.code)
    if not check.confirmed:
        # Answered, not raised: the try just counted must be committed with this request.
        return JSONResponse({"error": "invalid", "field": "code",
                             "message": f"wrong code; {check.tries_left} tries left",
                             "details": {"tries_left": check.tries_left}}, status_code=422)
    return visit_reads(session, [check.visit])[0]


@router.post("/visits/{visit_id}/approve", response_model=VisitRead,
             responses={409: {"description": "already confirmed or approved"}})
def approve_visit(visit_id: uuid.UUID, principal: Approver, session: DbSession) -> VisitRead:
    """Approve a visit the person could not confirm (已审核): the grid's worker or the community's staff, in
    their scope. Credits its minutes to the volunteer's hours and clears the person's not-visited alert;
    audited (care_visit_approved)."""
    return visit_reads(session, [visits.approve_visit(session, principal, visit_id)])[0]


@router.post("/visits/{visit_id}/photos", response_model=VisitRead)
@body_limit(PHOTOS)
def add_photos(visit_id: uuid.UUID, principal: CareUser, session: DbSession, settings: AppSettings,
               photos: Annotated[list[UploadFile], File(description="JPEG, PNG or WebP; at most 3 a visit")]) -> Any:
    read = [read_prefix(p.file, settings.max_photo_bytes + 1) for p in photos]
    visits.add_photos(session, principal, visit_id, read, settings)
    return visit_reads(session, [visits.get_visit(session, principal, visit_id)])[0]


@router.get("/visits/{visit_id}/photos/{photo_id}", response_class=Response,
            responses={200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}}})
def visit_photo(visit_id: uuid.UUID, photo_id: uuid.UUID, principal: CareUser, session: DbSession,
                settings: AppSettings, thumb: bool = False) -> Response:
    photo = visits.get_photo(session, principal, visit_id, photo_id)
    data = storage_from_settings(settings).get(photo.thumb_key if thumb else photo.key)
    return Response(data, media_type="image/jpeg" if thumb else photo.content_type,
                    headers={"Cache-Control": "private, max-age=3600"})


# --- Alerts -----------------------------------------------------------------------------------------------


@router.get("/alerts", response_model=AlertList)
def list_alerts(principal: CareStaff, session: DbSession, unit: str | None = None,
                open: Annotated[bool, Query(description="open alerts only (default), or all")] = True,
                limit: Limit = 50, offset: Offset = 0) -> AlertList:
    rows, total = alerts.list_alerts(session, principal, open_only=open, unit=unit, limit=limit, offset=offset)
    return AlertList(total=total, items=[alert_read(r.alert, r.name, r.profile_id) for r in rows])


# --- Centres ---------------------------------------------------------------------------------------------


@router.get("/centres", response_model=list[CentreRead])
def list_centres(principal: CentreStaff, session: DbSession, unit: str | None = None, kind: str | None = None,
                 active: bool | None = True) -> list[CentreRead]:
    return [centre_read(c) for c in centres.list_centres(session, principal, unit=unit, kind=kind, active=active)]


@router.post("/centres", response_model=CentreRead, status_code=201)
def create_centre(body: CentreCreate, principal: CentreStaff, session: DbSession) -> CentreRead:
    return centre_read(centres.create_centre(session, principal, body.model_dump(exclude_unset=True)))


@router.get("/centres/figures", response_model=FiguresRead)
def centre_figures(principal: CentreStaff, session: DbSession, start: date, end: date, unit: str | None = None,
                   centre_id: uuid.UUID | None = None) -> FiguresRead:
    """People served (distinct attendees), attendance days and meals per centre for start..end (both days
    included); the total counts a person once across centres."""
    rows = centres.figures(session, principal, start, end, unit=unit, centre_id=centre_id)

    def read(f: centres.CentreFigures) -> CentreFiguresRead:
        c = f.centre
        return CentreFiguresRead(centre_id=c.id if c else None, name=c.name if c else None,
                                 kind=c.kind if c else None, unit_code=c.unit_code if c else None,
                                 people_served=f.people_served, attendance_days=f.attendance_days, meals=f.meals)

    return FiguresRead(start=start, end=end, centres=[read(f) for f in rows[:-1]], total=read(rows[-1]))


@router.get("/centres/{centre_id}", response_model=CentreRead)
def get_centre(centre_id: uuid.UUID, principal: CentreStaff, session: DbSession) -> CentreRead:
    return centre_read(centres.get_centre(session, principal, centre_id))


@router.patch("/centres/{centre_id}", response_model=CentreRead)
def update_centre(centre_id: uuid.UUID, body: CentreUpdate, principal: CentreStaff, session: DbSession) -> CentreRead:
    return centre_read(centres.update_centre(session, principal, centre_id, body.model_dump(exclude_unset=True)))


@router.get("/centres/{centre_id}/enrolments", response_model=list[EnrolmentRead])
def list_enrolments(centre_id: uuid.UUID, principal: CentreStaff, session: DbSession,
                    active: bool | None = True) -> list[EnrolmentRead]:
    return [enrolment_read(r.enrolment, r.name)
            for r in centres.enrolments_of(session, principal, centre_id, active=active)]


@router.post("/centres/{centre_id}/enrolments", response_model=EnrolmentRead, status_code=201)
def enrol(centre_id: uuid.UUID, body: EnrolmentCreate, principal: CentreStaff, session: DbSession) -> EnrolmentRead:
    return enrolment_read(centres.enrol(session, principal, centre_id, body.person_id, body.enrolled_on))


@router.post("/centres/{centre_id}/enrolments/{enrolment_id}/leave", response_model=EnrolmentRead)
def leave(centre_id: uuid.UUID, enrolment_id: uuid.UUID, body: EnrolmentLeave, principal: CentreStaff,
          session: DbSession) -> EnrolmentRead:
    return enrolment_read(centres.leave(session, principal, centre_id, enrolment_id, body.left_on))


@router.get("/centres/{centre_id}/attendance", response_model=list[SheetRow])
def attendance_sheet(centre_id: uuid.UUID, principal: CentreStaff, session: DbSession,
                     day: Annotated[date | None, Query(description="default today")] = None) -> list[SheetRow]:
    rows = centres.attendance_sheet(session, principal, centre_id, day or profiles.local_today())
    return [SheetRow(person_id=r.person_id, name=r.name, enrolment_id=r.enrolment_id,
                     attendance=attendance_read(r.attendance) if r.attendance else None) for r in rows]


@router.post("/centres/{centre_id}/attendance/check-in", response_model=AttendanceRead, status_code=201)
def check_in(centre_id: uuid.UUID, body: CheckIn, principal: CentreStaff, session: DbSession) -> AttendanceRead:
    return attendance_read(centres.check_in(session, principal, centre_id, body.person_id, at=body.at,
                                            meals=body.meals))


@router.post("/centres/{centre_id}/attendance/check-out", response_model=AttendanceRead)
def check_out(centre_id: uuid.UUID, body: CheckOut, principal: CentreStaff, session: DbSession) -> AttendanceRead:
    return attendance_read(centres.check_out(session, principal, centre_id, body.person_id, day=body.day,
                                             at=body.at, meals=body.meals))
