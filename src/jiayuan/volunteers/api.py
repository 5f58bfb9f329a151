"""JSON routes of volunteers under /api/v1/volunteers: teams, profiles, opportunities, sign-ups with check-in
and check-out, the hours ledger with its balance, and honours."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from jiayuan.accounts.service import Principal
from jiayuan.deps import CurrentPrincipal, DbSession
from jiayuan.kit.pagination import Offset
from jiayuan.volunteers import opportunities as opps
from jiayuan.volunteers import policy, service
from jiayuan.volunteers.models import Honour, HoursEntry, Opportunity, Signup, Volunteer
from jiayuan.volunteers.schemas import (
    AccountCreate,
    AdjustmentCreate,
    CheckoutRead,
    HonourRead,
    HoursEntryRead,
    LedgerRead,
    OpportunityCreate,
    OpportunityRead,
    OpportunityUpdate,
    SignupCreate,
    SignupRead,
    TeamRead,
    VolunteerCreate,
    VolunteerList,
    VolunteerRead,
    VolunteerUpdate,
)
from jiayuan.volunteers.teams import list_teams

router = APIRouter(prefix="/api/v1/volunteers", tags=["volunteers"])


def volunteer_reads(session: Session, found: list[Volunteer]) -> list[VolunteerRead]:
    names = service.names_of(session, found)
    totals: dict[uuid.UUID, service.Totals] = {}
    for district in {v.district_code for v in found}:
        totals.update(service.totals_of(session, district, [v.id for v in found if v.district_code == district]))
    return [VolunteerRead(id=v.id, person_id=v.person_id, name=names.get(v.id, ""), unit_code=v.unit_code,
                          team_code=v.team_code, skills=v.skills, availability=v.availability, joined_on=v.joined_on,
                          active=v.active, has_account=v.user_id is not None,
                          balance_minutes=totals[v.id].balance, service_minutes=totals[v.id].service)
            for v in found]


def signup_read(s: Signup, name: str | None = None) -> SignupRead:
    return SignupRead(id=s.id, opportunity_id=s.opportunity_id, volunteer_id=s.volunteer_id, name=name,
                      status=s.status, signed_up_at=s.signed_up_at, checked_in_at=s.checked_in_at,
                      checked_out_at=s.checked_out_at)


def entry_read(e: HoursEntry) -> HoursEntryRead:
    return HoursEntryRead(id=e.id, volunteer_id=e.volunteer_id, at=e.at, minutes=e.minutes, kind=e.kind,
                          source_type=e.source_type, source_id=e.source_id, note=e.note)


def honour_read(h: Honour) -> HonourRead:
    return HonourRead(id=h.id, volunteer_id=h.volunteer_id, threshold_hours=h.threshold_hours,
                      awarded_at=h.awarded_at, certificate_no=h.certificate_no,
                      certificate_url=f"/volunteers/honours/{h.id}/certificate")


def opportunity_reads(session: Session, principal: Principal, found: list[Opportunity]) -> list[OpportunityRead]:
    counts = opps.counts_of(session, found)
    mine: dict[uuid.UUID, Signup] = {}
    me = service.volunteer_of(session, principal, required=False)
    if me is not None:
        mine = {s.opportunity_id: s for s, _o in opps.signups_of_volunteer(session, me)}
    return [OpportunityRead(id=o.id, unit_code=o.unit_code, title=o.title, description=o.description, place=o.place,
                            team_code=o.team_code, starts_at=o.starts_at, ends_at=o.ends_at, slots=o.slots,
                            taken=counts[o.id].taken, waitlisted=counts[o.id].waitlisted, activity_id=o.activity_id,
                            cancelled_at=o.cancelled_at, version=o.version,
                            my_signup=signup_read(mine[o.id]) if o.id in mine else None)
            for o in found]


# Teams and the caller's own profile (before /{volunteer_id}).


@router.get("/teams", response_model=list[TeamRead])
def teams(session: DbSession) -> list[TeamRead]:
    """The seven teams (七彩), public."""
    return [TeamRead(code=t.code, name_zh=t.name_zh, name_en=t.name_en, colour=t.colour,
                     speciality_zh=t.speciality_zh, speciality_en=t.speciality_en) for t in list_teams(session)]


@router.get("/me", response_model=VolunteerRead)
def me(principal: CurrentPrincipal, session: DbSession) -> VolunteerRead:
    return volunteer_reads(session, [service.volunteer_of(session, principal)])[0]  # type: ignore[list-item]


@router.get("/me/signups", response_model=list[SignupRead])
def my_signups(principal: CurrentPrincipal, session: DbSession) -> list[SignupRead]:
    volunteer = service.volunteer_of(session, principal)
    return [signup_read(s) for s, _o in opps.signups_of_volunteer(session, volunteer)]  # type: ignore[arg-type]


# Opportunities and sign-ups.


@router.get("/opportunities", response_model=list[OpportunityRead])
def list_opportunities(principal: CurrentPrincipal, session: DbSession, upcoming: bool = True,
                       team: str | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 100,
                       offset: Offset = 0) -> list[OpportunityRead]:
    """Opportunities of the caller's units and those above them; upcoming ones by default."""
    found = opps.list_opportunities(session, principal, upcoming=upcoming, team=team, limit=limit, offset=offset)
    return opportunity_reads(session, principal, found)


@router.post("/opportunities", response_model=OpportunityRead, status_code=201)
def create_opportunity(body: OpportunityCreate, principal: CurrentPrincipal, session: DbSession) -> OpportunityRead:
    return opportunity_reads(session, principal, [opps.create_opportunity(session, principal, body.model_dump())])[0]


@router.get("/opportunities/{opportunity_id}", response_model=OpportunityRead)
def get_opportunity(opportunity_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession) -> OpportunityRead:
    return opportunity_reads(session, principal, [opps.get_opportunity(session, principal, opportunity_id)])[0]


@router.patch("/opportunities/{opportunity_id}", response_model=OpportunityRead)
def update_opportunity(opportunity_id: uuid.UUID, body: OpportunityUpdate, principal: CurrentPrincipal,
                       session: DbSession) -> OpportunityRead:
    changed = opps.update_opportunity(session, principal, opportunity_id, body.model_dump(exclude_unset=True))
    return opportunity_reads(session, principal, [changed])[0]


@router.post("/opportunities/{opportunity_id}/cancel", response_model=OpportunityRead)
def cancel_opportunity(opportunity_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
                       ) -> OpportunityRead:
    return opportunity_reads(session, principal, [opps.cancel_opportunity(session, principal, opportunity_id)])[0]


@router.get("/opportunities/{opportunity_id}/signups", response_model=list[SignupRead])
def list_signups(opportunity_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession) -> list[SignupRead]:
    """The sign-up list and the waitlist in order (staff of the opportunity's unit or above)."""
    opportunity = opps.get_opportunity(session, principal, opportunity_id)
    policy.require_reader(principal, "only staff see the sign-up list")
    signups = opps.signups_of(session, opportunity)
    vols = list(session.scalars(service.select_volunteers(opportunity.district_code,
                                                          [s.volunteer_id for s in signups])))
    names = service.names_of(session, vols)
    return [signup_read(s, names.get(s.volunteer_id)) for s in signups]


@router.post("/opportunities/{opportunity_id}/signups", response_model=SignupRead, status_code=201)
def sign_up(opportunity_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession,
            body: SignupCreate | None = None) -> SignupRead:
    """A slot while one is free, else the waitlist (status says which)."""
    return signup_read(opps.sign_up(session, principal, opportunity_id, body.volunteer_id if body else None))


@router.post("/signups/{signup_id}/cancel", response_model=SignupRead)
def cancel_signup(signup_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession) -> SignupRead:
    return signup_read(opps.cancel_signup(session, principal, signup_id))


@router.post("/signups/{signup_id}/checkin", response_model=SignupRead)
def check_in(signup_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession) -> SignupRead:
    """From 30 minutes before the start to the end."""
    return signup_read(opps.check_in(session, principal, signup_id))


@router.post("/signups/{signup_id}/checkout", response_model=CheckoutRead)
def check_out(signup_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession) -> CheckoutRead:
    """Credits the minutes served (capped at the opportunity's length) once; a retry returns the same entry."""
    signup, entry = opps.check_out(session, principal, signup_id)
    return CheckoutRead(signup=signup_read(signup), credited=entry_read(entry) if entry else None)


@router.get("/honours/{honour_id}", response_model=HonourRead)
def get_honour(honour_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession) -> HonourRead:
    return honour_read(service.get_honour(session, principal, honour_id)[0])


# Profiles.


@router.get("", response_model=VolunteerList)
def list_volunteers(principal: CurrentPrincipal, session: DbSession, team: str | None = None,
                    unit: str | None = None, active: bool | None = True,
                    limit: Annotated[int, Query(ge=1, le=500)] = 100,
                    offset: Offset = 0) -> VolunteerList:
    found, total = service.list_volunteers(session, principal, team=team, unit=unit, active=active, limit=limit,
                                           offset=offset)
    return VolunteerList(items=volunteer_reads(session, found), total=total, limit=limit, offset=offset)


@router.post("", response_model=VolunteerRead, status_code=201)
def create_volunteer(body: VolunteerCreate, principal: CurrentPrincipal, session: DbSession) -> VolunteerRead:
    return volunteer_reads(session, [service.create_volunteer(session, principal, body.model_dump())])[0]


@router.get("/{volunteer_id}", response_model=VolunteerRead)
def get_volunteer(volunteer_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession) -> VolunteerRead:
    return volunteer_reads(session, [service.get_volunteer(session, principal, volunteer_id)])[0]


@router.patch("/{volunteer_id}", response_model=VolunteerRead)
def update_volunteer(volunteer_id: uuid.UUID, body: VolunteerUpdate, principal: CurrentPrincipal,
                     session: DbSession) -> VolunteerRead:
    changed = service.update_volunteer(session, principal, volunteer_id, body.model_dump(exclude_unset=True))
    return volunteer_reads(session, [changed])[0]


@router.post("/{volunteer_id}/account", response_model=VolunteerRead, status_code=201)
def create_account(volunteer_id: uuid.UUID, body: AccountCreate, principal: CurrentPrincipal,
                   session: DbSession) -> VolunteerRead:
    """An account of role volunteer, scoped to the unit the volunteer serves."""
    service.create_account(session, principal, volunteer_id, body.username, body.password)
    return volunteer_reads(session, [service.get_volunteer(session, principal, volunteer_id)])[0]


@router.get("/{volunteer_id}/hours", response_model=LedgerRead)
def hours(volunteer_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession,
          limit: Annotated[int, Query(ge=1, le=1000)] = 200,
          offset: Offset = 0) -> LedgerRead:
    """The ledger, newest first, and the balance derived from it."""
    volunteer, entries = service.ledger(session, principal, volunteer_id, limit=limit, offset=offset)
    return LedgerRead(volunteer_id=volunteer.id,
                      balance_minutes=service.balance_minutes(session, volunteer.district_code, volunteer.id),
                      service_minutes=service.service_minutes(session, volunteer.district_code, volunteer.id),
                      entries=[entry_read(e) for e in entries])


@router.post("/{volunteer_id}/hours", response_model=HoursEntryRead, status_code=201)
def adjust(volunteer_id: uuid.UUID, body: AdjustmentCreate, principal: CurrentPrincipal,
           session: DbSession) -> HoursEntryRead:
    """A correction by staff (kind adjustment, with a reason); a debit beyond the balance is 409."""
    return entry_read(service.adjust_hours(session, principal, volunteer_id, body.minutes, body.note))


@router.get("/{volunteer_id}/honours", response_model=list[HonourRead])
def honours(volunteer_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession) -> list[HonourRead]:
    return [honour_read(h) for h in service.honours_of(session, principal, volunteer_id)]
