"""JSON routes of service centres, the catalogue, subsidies, special service projects and produce points, under
/api/v1/services. The centre directory and the catalogue are public (no sign-in); everything else is staff's."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response

from jiayuan.accounts.roles import STAFF_ROLES, Role
from jiayuan.accounts.service import Principal
from jiayuan.cases.calendar import local_today
from jiayuan.deps import AppSettings, CurrentPrincipal, DbSession, OptionalPrincipal, require_role
from jiayuan.kit.errors import Forbidden, Invalid, NotFound
from jiayuan.kit.excel import XLSX_TYPE
from jiayuan.registry.service import people
from jiayuan.services import catalogue, present, projects
from jiayuan.services import centres as service
from jiayuan.services.centre_schemas import (
    ActivityCreate,
    ActivityRead,
    BeneficiaryCreate,
    BeneficiaryRead,
    CatalogueRead,
    CentreCreate,
    CentreList,
    CentreRead,
    CentreUpdate,
    ExceptionPut,
    ExceptionRead,
    KindCreate,
    KindRead,
    LeaveRequest,
    OpeningCreate,
    OpeningRead,
    ProducePointCreate,
    ProducePointRead,
    ProducePointUpdate,
    ProjectCreate,
    ProjectList,
    ProjectRead,
    ProjectUpdate,
    ReportRead,
    SubsidyCreate,
    SubsidyRead,
)
from jiayuan.services.models import ServiceProject
from jiayuan.units.service import single_district
from jiayuan.web import request_locale

router = APIRouter(prefix="/api/v1/services", tags=["service centres and projects"])
ReportReader = Annotated[Principal, Depends(require_role(Role.street_staff, Role.district_admin))]
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
    return present.centre_dicts(session, centres, staff=staff, locale=request_locale(request))


def _is_staff(principal: Principal | None) -> bool:
    return principal is not None and principal.role in STAFF_ROLES


# The catalogue and the kinds of centre: public.


@router.get("/catalogue", response_model=CatalogueRead)
def get_catalogue(session: DbSession) -> Any:
    """The two-level service catalogue (服务项目): groups with their items, in display order."""
    entries = catalogue.list_items(session)
    groups = [{"code": g.code, "name_zh": g.name_zh, "name_en": g.name_en,
               "items": [i for i in entries if i.parent_code == g.code]}
              for g in entries if g.parent_code is None]
    return {"groups": groups}


@router.get("/centre-kinds", response_model=list[KindRead])
def list_kinds(session: DbSession) -> Any:
    return catalogue.list_centre_kinds(session)


@router.post("/centre-kinds", response_model=KindRead, status_code=201)
def add_kind(body: KindCreate, principal: CurrentPrincipal, session: DbSession) -> Any:
    """A local "X" kind of centre (district admin)."""
    return service.add_kind(session, principal, code=body.code, name_zh=body.name_zh, name_en=body.name_en)


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
        if principal is None or not _is_staff(principal):
            raise Forbidden("only staff list every centre of their scope", field="all")
        found = service.list_centres(session, principal, unit=unit or street, kind=kind)
        return {"total": len(found), "items": _centres_out(request, session, found, True)}
    found = service.public_centres(session, _district(session, district, street), street=street, kind=kind)
    return {"total": len(found), "items": _centres_out(request, session, found, _is_staff(principal))}


@router.post("/centres", response_model=CentreRead, status_code=201)
def create_centre(request: Request, body: CentreCreate, principal: CurrentPrincipal, session: DbSession) -> Any:
    centre = service.create_centre(session, principal, **body.model_dump(exclude_unset=True))
    return _centres_out(request, session, [centre], True)[0]


def _readable(session: Any, principal: Principal | None, centre_id: uuid.UUID) -> tuple[Any, bool]:
    """Staff read any centre of their scope; anyone else (or a centre outside it) only a public one."""
    if _is_staff(principal):
        try:
            return service.get_centre(session, principal, centre_id), True
        except NotFound:  # outside the scope: the public directory still has it, if it is public
            pass
    return service.get_public_centre(session, centre_id), _is_staff(principal)


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
    return present.report_dict(session, _report(session, principal, settings, year), request_locale(request))


@router.get("/subsidies/report.xlsx", response_class=Response,
            responses={200: {"content": {XLSX_TYPE: {}}, "description": "the report as an Excel workbook"}})
def subsidy_report_xlsx(principal: ReportReader, session: DbSession, settings: AppSettings,
                        year: int | None = None) -> Response:
    report = _report(session, principal, settings, year)
    name = f"服务中心运行补贴-{report.year}.xlsx"
    return Response(present.report_workbook(session, report), media_type=XLSX_TYPE, headers={
        "Content-Disposition": f"attachment; filename=\"centre-subsidies-{report.year}.xlsx\"; "
                               f"filename*=UTF-8''{quote(name)}"})


# Special service projects.


def _project_out(session: Any, project: ServiceProject, counts: dict[uuid.UUID, int] | None = None
                 ) -> dict[str, Any]:
    org = projects.organization_of(session, project.district_code, project.organization_id)
    return {**{k: getattr(project, k) for k in ProjectRead.model_fields if hasattr(project, k)},
            "organization_name": org.name if org else None,
            "beneficiaries": (counts or {}).get(project.id, 0)}


@router.get("/projects", response_model=ProjectList)
def list_projects(principal: CurrentPrincipal, session: DbSession, unit: Unit = None) -> Any:
    found = projects.list_projects(session, principal, unit=unit)
    counts = projects.beneficiary_counts(session, found)
    return {"total": len(found), "items": [_project_out(session, p, counts) for p in found]}


@router.post("/projects", response_model=ProjectRead, status_code=201)
def create_project(body: ProjectCreate, principal: CurrentPrincipal, session: DbSession) -> Any:
    return _project_out(session, projects.create_project(session, principal, **body.model_dump(exclude_unset=True)))


@router.get("/projects/{project_id}", response_model=ProjectRead)
def get_project(project_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession) -> Any:
    project = projects.get_project(session, principal, project_id)
    return _project_out(session, project, projects.beneficiary_counts(session, [project]))


@router.patch("/projects/{project_id}", response_model=ProjectRead)
def update_project(project_id: uuid.UUID, body: ProjectUpdate, principal: CurrentPrincipal,
                   session: DbSession) -> Any:
    project = projects.update_project(session, principal, project_id, **body.model_dump(exclude_unset=True))
    return _project_out(session, project, projects.beneficiary_counts(session, [project]))


def _beneficiary_out(b: Any, person: Any) -> dict[str, Any]:
    return {"person_id": b.person_id, "name": person.name if person else None,
            "grid_code": person.grid_code if person else None, "enrolled_on": b.enrolled_on,
            "left_on": b.left_on, "note": b.note}


@router.get("/projects/{project_id}/beneficiaries", response_model=list[BeneficiaryRead])
def list_beneficiaries(project_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession) -> Any:
    return [_beneficiary_out(b, p) for b, p in projects.list_beneficiaries(session, principal, project_id)]


@router.post("/projects/{project_id}/beneficiaries", response_model=BeneficiaryRead, status_code=201)
def enrol(project_id: uuid.UUID, body: BeneficiaryCreate, principal: CurrentPrincipal, session: DbSession) -> Any:
    """Enrol a registry person of your scope (else 404); one already enrolled is a 409."""
    row = projects.enrol(session, principal, project_id, body.person_id, enrolled_on=body.enrolled_on,
                         note=body.note)
    return _beneficiary_out(row, people.get_person(session, principal, row.person_id))


@router.post("/projects/{project_id}/beneficiaries/{person_id}/leave", response_model=BeneficiaryRead)
def leave(project_id: uuid.UUID, person_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession,
          body: LeaveRequest | None = None) -> Any:
    row = projects.leave(session, principal, project_id, person_id, left_on=body.left_on if body else None)
    try:
        person = people.get_person(session, principal, row.person_id)
    except NotFound:  # moved out of the caller's scope since
        person = None
    return _beneficiary_out(row, person)


@router.get("/projects/{project_id}/activities", response_model=list[ActivityRead])
def list_activities(project_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession) -> Any:
    return projects.list_activities(session, principal, project_id)


@router.post("/projects/{project_id}/activities", response_model=ActivityRead, status_code=201)
def log_activity(project_id: uuid.UUID, body: ActivityCreate, principal: CurrentPrincipal,
                 session: DbSession) -> Any:
    return projects.log_activity(session, principal, project_id, held_on=body.held_on, title=body.title,
                                 participants=body.participants, notes=body.notes)


# Produce points (农超对接).


@router.get("/produce-points", response_model=list[ProducePointRead])
def list_produce_points(principal: CurrentPrincipal, session: DbSession, unit: Unit = None) -> Any:
    return projects.list_produce_points(session, principal, unit=unit)


@router.post("/produce-points", response_model=ProducePointRead, status_code=201)
def create_produce_point(body: ProducePointCreate, principal: CurrentPrincipal, session: DbSession) -> Any:
    return projects.create_produce_point(session, principal, **body.model_dump(exclude_unset=True))


@router.get("/produce-points/{point_id}", response_model=ProducePointRead)
def get_produce_point(point_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession) -> Any:
    return projects.get_produce_point(session, principal, point_id)


@router.patch("/produce-points/{point_id}", response_model=ProducePointRead)
def update_produce_point(point_id: uuid.UUID, body: ProducePointUpdate, principal: CurrentPrincipal,
                         session: DbSession) -> Any:
    return projects.update_produce_point(session, principal, point_id, **body.model_dump(exclude_unset=True))
