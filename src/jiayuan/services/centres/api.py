"""JSON routes of service centres, the catalogue, subsidies, special service projects and produce points, under
/api/v1/services. The centre directory and the catalogue are public (no sign-in); everything else is staff's."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response

from jiayuan.accounts.service import Principal
from jiayuan.deps import AppSettings, CurrentPrincipal, DbSession, OptionalPrincipal, require_role
from jiayuan.kit.clock import local_today
from jiayuan.kit.errors import Forbidden, Invalid, NotFound
from jiayuan.kit.excel import XLSX_TYPE
from jiayuan.services.centres import policy, views
from jiayuan.services.centres import service as service
from jiayuan.services.centres.schemas import (
    CentreCreate,
    CentreList,
    CentreRead,
    CentreUpdate,
    ExceptionPut,
    ExceptionRead,
    OpeningCreate,
    OpeningRead,
    ReportRead,
    SubsidyCreate,
    SubsidyRead,
)
from jiayuan.units.service import single_district
from jiayuan.web import request_locale

router = APIRouter(prefix="/api/v1/services", tags=["service centres and projects"])
ReportReader = Annotated[Principal, Depends(require_role(*policy.REPORT_READERS))]
Unit = Annotated[str | None, Query(description="a street, community or grid code")]


def _district(session: Any, district: str | None, street: str | None) -> str:
    if street:
        return street[:6]
    if district:
        if not (district.isdigit() and len(district) == 6):
            raise Invalid("a district code has 6 digits", field="district")
        return district
    found = single_district(session)
    if found is None:
        raise Invalid("name the district (6 digits)", field="district")
    return found


def _centres_out(request: Request, session: Any, centres: list[Any], staff: bool) -> list[dict[str, Any]]:
    return views.centre_dicts(session, centres, staff=staff, locale=request_locale(request))


# Centres.


@router.get("/centres", response_model=CentreList)
def list_centres(request: Request, session: DbSession, principal: OptionalPrincipal,
                 street: Annotated[str | None, Query(description="a street code (9 digits)")] = None,
                 kind: str | None = None, district: str | None = None,
                 all: Annotated[bool, Query(description="staff: every centre of your scope, "
                                                        "public or not, in operation or not")] = False,
                 unit: Unit = None) -> Any:
    """The public directory, no sign-in needed: centres open to the public and in operation, with today's
    hours. Staff ask `all=true` for every centre of their scope."""
    if all:
        if principal is None or not policy.is_staff(principal):
            raise Forbidden("only staff list every centre of their scope", field="all")
        found = service.list_centres(session, principal, unit=unit or street, kind=kind)
        return {"total": len(found), "items": _centres_out(request, session, found, True)}
    found = service.public_centres(session, _district(session, district, street), street=street, kind=kind)
    return {"total": len(found), "items": _centres_out(request, session, found, policy.is_staff(principal))}


@router.post("/centres", response_model=CentreRead, status_code=201)
def create_centre(request: Request, body: CentreCreate, principal: CurrentPrincipal, session: DbSession) -> Any:
    centre = service.create_centre(session, principal, **body.model_dump(exclude_unset=True))
    return _centres_out(request, session, [centre], True)[0]


def _readable(session: Any, principal: Principal | None, centre_id: uuid.UUID) -> tuple[Any, bool]:
    """Staff read any centre of their scope; anyone else (or a centre outside it) only a public one."""
    if policy.is_staff(principal):
        try:
            return service.get_centre(session, principal, centre_id), True
        except NotFound:  # outside the scope: the public directory still has it, if it is public
            pass
    return service.get_public_centre(session, centre_id), policy.is_staff(principal)


@router.get("/centres/{centre_id}", response_model=CentreRead)
def get_centre(request: Request, centre_id: uuid.UUID, session: DbSession, principal: OptionalPrincipal) -> Any:
    centre, staff = _readable(session, principal, centre_id)
    return _centres_out(request, session, [centre], staff)[0]


@router.patch("/centres/{centre_id}", response_model=CentreRead)
def update_centre(request: Request, centre_id: uuid.UUID, body: CentreUpdate, principal: CurrentPrincipal,
                  session: DbSession) -> Any:
    centre = service.update_centre(session, principal, centre_id, **body.model_dump(exclude_unset=True))
    return _centres_out(request, session, [centre], True)[0]


@router.get("/centres/{centre_id}/exceptions", response_model=list[ExceptionRead])
def list_exceptions(centre_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession,
                    start: date | None = None, end: date | None = None) -> Any:
    return service.list_exceptions(session, principal, centre_id, start, end)


@router.put("/centres/{centre_id}/exceptions/{day}", response_model=ExceptionRead)
def put_exception(centre_id: uuid.UUID, day: date, body: ExceptionPut, principal: CurrentPrincipal,
                  session: DbSession) -> Any:
    """A day closed (a holiday) or with other hours; the same day again replaces it."""
    return service.set_exception(session, principal, centre_id, day, closed=body.closed, hours=body.hours,
                                 note=body.note)


@router.delete("/centres/{centre_id}/exceptions/{day}", status_code=204)
def delete_exception(centre_id: uuid.UUID, day: date, principal: CurrentPrincipal, session: DbSession) -> Response:
    service.remove_exception(session, principal, centre_id, day)
    return Response(status_code=204)


@router.post("/centres/{centre_id}/openings", response_model=OpeningRead, status_code=201,
             responses={200: {"description": "the day was already recorded; nothing changed"}})
def record_opening(centre_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession, response: Response,
                   body: OpeningCreate | None = None) -> Any:
    """The centre opened today (or on a day of the past week): idempotent per day."""
    opening, created = service.record_opening(session, principal, centre_id, body.day if body else None)
    if not created:
        response.status_code = 200
    return opening


@router.get("/centres/{centre_id}/openings", response_model=list[OpeningRead])
def list_openings(centre_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession,
                  start: date | None = None, end: date | None = None) -> Any:
    return service.list_openings(session, principal, centre_id, start, end)


@router.post("/centres/{centre_id}/subsidies", response_model=SubsidyRead, status_code=201)
def grant_subsidy(centre_id: uuid.UUID, body: SubsidyCreate, principal: CurrentPrincipal,
                  session: DbSession) -> Any:
    """A year's operating subsidy in fen (district admin); a second for the same year is a 409."""
    return service.grant_subsidy(session, principal, centre_id, year=body.year, amount_fen=body.amount_fen,
                                 note=body.note)


@router.get("/centres/{centre_id}/subsidies", response_model=list[SubsidyRead])
def list_subsidies(centre_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession) -> Any:
    return service.list_subsidies(session, principal, centre_id)


# The subsidy report.


def _report(session: Any, principal: Principal, settings: Any, year: int | None) -> service.SubsidyReport:
    return service.subsidy_report(session, principal, local_today().year if year is None else year,
                                  required_share=settings.centre_required_open_share)


@router.get("/subsidies/report", response_model=ReportRead)
def subsidy_report(request: Request, principal: ReportReader, session: DbSession, settings: AppSettings,
                   year: int | None = None) -> Any:
    """Per centre of your scope (street staff: your street; district admin: all): the year's subsidy, the
    scheduled days, the days opened, their share and whether the centre was open as required."""
    return views.report_dict(session, _report(session, principal, settings, year), request_locale(request))


@router.get("/subsidies/report.xlsx", response_class=Response,
            responses={200: {"content": {XLSX_TYPE: {}}, "description": "the report as an Excel workbook"}})
def subsidy_report_xlsx(principal: ReportReader, session: DbSession, settings: AppSettings,
                        year: int | None = None) -> Response:
    report = _report(session, principal, settings, year)
    name = f"服务中心运行补贴-{report.year}.xlsx"
    return Response(views.report_workbook(session, report), media_type=XLSX_TYPE, headers={
        "Content-Disposition": f"attachment; filename=\"centre-subsidies-{report.year}.xlsx\"; "
                               f"filename*=UTF-8''{quote(name)}"})
