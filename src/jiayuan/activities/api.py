"""JSON routes of community activities under /api/v1/activities: public activities without sign-in; register and
cancel; QR check-in; the attendance list, ticking and closing it; series with their figures."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session

from jiayuan.accounts.service import Principal
from jiayuan.activities import policy, service
from jiayuan.activities.models import Activity, Registration, Series
from jiayuan.activities.schemas import (
    ActivityCreate,
    ActivityRead,
    ActivityUpdate,
    AttendanceRead,
    CheckinRead,
    ClosedRead,
    RegistrationCreate,
    RegistrationRead,
    SeriesCreate,
    SeriesRead,
    Tick,
)
from jiayuan.deps import CurrentPrincipal, DbSession, OptionalPrincipal
from jiayuan.kit.errors import Unauthorized
from jiayuan.kit.pagination import Offset
from jiayuan.volunteers import opportunities as opps
from jiayuan.volunteers.api import entry_read

router = APIRouter(prefix="/api/v1/activities", tags=["activities"])


def checkin_url(request: Request, activity: Activity) -> str:
    return str(request.url_for("activity_checkin_page", token=activity.checkin_token))


def registration_read(r: Registration) -> RegistrationRead:
    return RegistrationRead(id=r.id, activity_id=r.activity_id, name=r.name, status=r.status,
                            registered_at=r.registered_at, checked_in_at=r.checked_in_at, person_id=r.person_id,
                            by_staff=r.registered_by is not None)


def activity_reads(request: Request, session: Session, principal: Principal | None,
                   found: list[Activity]) -> list[ActivityRead]:
    counts = service.counts_of(session, found)
    out = []
    for a in found:
        c = counts[a.id]
        mine = service.own_registration(session, principal, a)
        organizer = policy.is_organizer(principal, a)
        opportunity = opps.for_activity(session, a.district_code, a.id) if a.volunteer_run else None
        out.append(ActivityRead(
            id=a.id, unit_code=a.unit_code, series_id=a.series_id, kind=a.kind, title=a.title,
            description=a.description, organizer=a.organizer, place=a.place, starts_at=a.starts_at,
            ends_at=a.ends_at, capacity=a.capacity,
            places_left=None if a.capacity is None else max(0, a.capacity - c.registered),
            registered=c.registered, waitlisted=c.waitlisted, attended=c.attended, public=a.public,
            volunteer_run=a.volunteer_run, opportunity_id=opportunity.id if opportunity else None,
            cancelled_at=a.cancelled_at, version=a.version,
            my_registration=registration_read(mine) if mine and mine.status != "cancelled" else None,
            checkin_url=checkin_url(request, a) if organizer else None))
    return out


def series_read(session: Session, s: Series) -> SeriesRead:
    f = service.series_figures(session, s)
    return SeriesRead(id=s.id, unit_code=s.unit_code, name=s.name, description=s.description, starts_on=s.starts_on,
                      ends_on=s.ends_on, shows=f.shows, held=f.held, participants=f.participants,
                      registered=f.registered)


# Series and the caller's own registrations (before /{activity_id}).


@router.get("/series", response_model=list[SeriesRead])
def list_series(session: DbSession, district: str | None = None) -> list[SeriesRead]:
    """Series with their figures, public."""
    return [series_read(session, s) for s in service.list_series(session, district=district)]


@router.post("/series", response_model=SeriesRead, status_code=201)
def create_series(body: SeriesCreate, principal: CurrentPrincipal, session: DbSession) -> SeriesRead:
    return series_read(session, service.create_series(session, principal, body.model_dump()))


@router.get("/series/{series_id}", response_model=SeriesRead)
def get_series(series_id: uuid.UUID, session: DbSession) -> SeriesRead:
    """Number of shows and total participants (checked in) of a series, public."""
    return series_read(session, service.get_series(session, series_id))


@router.get("/mine", response_model=list[RegistrationRead])
def my_registrations(principal: CurrentPrincipal, session: DbSession) -> list[RegistrationRead]:
    return [registration_read(r) for r, _a in service.my_registrations(session, principal)]


@router.post("/checkin/{token}", response_model=CheckinRead)
def check_in(token: str, principal: CurrentPrincipal, session: DbSession) -> CheckinRead:
    """The QR code at the door, scanned with one's own account (from 30 minutes before the start)."""
    reg, activity, new = service.check_in_by_token(session, principal, token)
    return CheckinRead(registration=registration_read(reg), activity_id=activity.id, title=activity.title,
                       checked_in_now=new)


@router.post("/registrations/{registration_id}/cancel", response_model=RegistrationRead)
def cancel_registration(registration_id: uuid.UUID, principal: CurrentPrincipal,
                        session: DbSession) -> RegistrationRead:
    return registration_read(service.cancel_registration(session, principal, registration_id))


@router.post("/registrations/{registration_id}/attendance", response_model=RegistrationRead)
def tick(registration_id: uuid.UUID, body: Tick, principal: CurrentPrincipal, session: DbSession
         ) -> RegistrationRead:
    """Staff tick the list (attended true), or undo a tick (false)."""
    return registration_read(service.tick(session, principal, registration_id, body.attended))


# Activities.


@router.get("", response_model=list[ActivityRead])
def list_activities(request: Request, session: DbSession, principal: OptionalPrincipal,
                    district: str | None = None, unit: str | None = None, series_id: uuid.UUID | None = None,
                    kind: str | None = None, past: bool = False, staff: bool = False,
                    limit: Annotated[int, Query(ge=1, le=500)] = 100,
                    offset: Offset = 0) -> list[ActivityRead]:
    """Public activities, no sign-in needed: upcoming ones soonest first (past=true: held ones, latest first).
    staff=true: every activity staff see in their scope, public or not."""
    if staff:
        if principal is None:
            raise Unauthorized("sign in first", field="token")
        found = service.staff_activities(session, principal, upcoming=not past, series_id=series_id, limit=limit,
                                         offset=offset)
    else:
        found = service.public_activities(session, district=district, unit=unit, series_id=series_id, kind=kind,
                                          upcoming=not past, limit=limit, offset=offset)
    return activity_reads(request, session, principal, found)


@router.post("", response_model=ActivityRead, status_code=201)
def create_activity(request: Request, body: ActivityCreate, principal: CurrentPrincipal,
                    session: DbSession) -> ActivityRead:
    created = service.create_activity(session, principal, body.model_dump())
    return activity_reads(request, session, principal, [created])[0]


@router.get("/{activity_id}", response_model=ActivityRead)
def get_activity(request: Request, activity_id: uuid.UUID, session: DbSession,
                 principal: OptionalPrincipal) -> ActivityRead:
    return activity_reads(request, session, principal, [service.get_activity(session, principal, activity_id)])[0]


@router.patch("/{activity_id}", response_model=ActivityRead)
def update_activity(request: Request, activity_id: uuid.UUID, body: ActivityUpdate, principal: CurrentPrincipal,
                    session: DbSession) -> ActivityRead:
    changed = service.update_activity(session, principal, activity_id, body.model_dump(exclude_unset=True))
    return activity_reads(request, session, principal, [changed])[0]


@router.post("/{activity_id}/cancel", response_model=ActivityRead)
def cancel_activity(request: Request, activity_id: uuid.UUID, principal: CurrentPrincipal,
                    session: DbSession) -> ActivityRead:
    return activity_reads(request, session, principal, [service.cancel_activity(session, principal, activity_id)])[0]


@router.post("/{activity_id}/registrations", response_model=RegistrationRead, status_code=201)
def register(activity_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession,
             body: RegistrationCreate | None = None) -> RegistrationRead:
    """Register oneself, or (staff) a registry person: a place while there is room, else the waitlist."""
    return registration_read(service.register(session, principal, activity_id, body.person_id if body else None))


@router.get("/{activity_id}/attendance", response_model=AttendanceRead)
def attendance(activity_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession) -> AttendanceRead:
    """The list (places, then the waitlist in order), what attended, and hours credited (organizers)."""
    activity = service.get_managed(session, principal, activity_id)
    c = service.counts_of(session, [activity])[activity.id]
    return AttendanceRead(activity_id=activity.id, registered=c.registered, waitlisted=c.waitlisted,
                          attended=c.attended,
                          registrations=[registration_read(r) for r in service.registrations_of(session, activity)],
                          credited=[entry_read(e) for e in service.credited_for(session, activity)])


@router.post("/{activity_id}/attendance/close", response_model=ClosedRead)
def close_attendance(activity_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession) -> ClosedRead:
    """After the end: credits each volunteer who staffed a volunteer-run activity with its length, once."""
    closed = service.close_attendance(session, principal, activity_id)
    return ClosedRead(attended=closed.attended, credited=[entry_read(e) for e in closed.credited],
                      already_credited=closed.already)
