"""The JSON API of special service projects (特色服务项目), their beneficiaries and activities, and produce points
(农超对接), under /api/v1/services."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from jiayuan.deps import CurrentPrincipal, DbSession
from jiayuan.kit.errors import NotFound
from jiayuan.registry.service import people
from jiayuan.services.projects import service as projects
from jiayuan.services.projects.models import ServiceProject
from jiayuan.services.projects.schemas import (
    ActivityCreate,
    ActivityRead,
    BeneficiaryCreate,
    BeneficiaryRead,
    LeaveRequest,
    ProducePointCreate,
    ProducePointRead,
    ProducePointUpdate,
    ProjectCreate,
    ProjectList,
    ProjectRead,
    ProjectUpdate,
)

router = APIRouter(prefix="/api/v1/services", tags=["service projects and produce points"])
Unit = Annotated[str | None, Query(description="a street, community or grid code")]


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
