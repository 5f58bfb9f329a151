"""Special service projects (特色服务项目) with their beneficiaries and activities, and farm-to-community produce
points (农超对接) with their weekly hours."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from jiayuan.accounts.service import Principal
from jiayuan.kit import hours as weekly
from jiayuan.kit.clock import local_today
from jiayuan.kit.errors import Conflict, Invalid, NotFound
from jiayuan.kit.scope import Scope
from jiayuan.kit.text import clean_text
from jiayuan.registry.models import TAGS, Organization, Person
from jiayuan.registry.service import organizations, people
from jiayuan.services.checks import check_point, flag, unit_in_scope, whole_number
from jiayuan.services.projects.models import ProducePoint, ProjectActivity, ProjectBeneficiary, ServiceProject
from jiayuan.services.projects.policy import PROJECT_MANAGERS, PROJECT_READERS, require_role, visible
from jiayuan.units import service as units

PROJECT_UNIT_LENGTHS = (6, 9, 12)  # the district, a street or a community
PRODUCE_UNIT_LENGTHS = (12, 15)  # the community (or grid) it stands in
MAX_PARTICIPANTS = 100_000


def _scoped(session: Session, principal: Principal, model: Any, row_id: Any, label: str) -> Any:
    if not isinstance(row_id, uuid.UUID):
        raise Invalid(field="id", reason="required")
    row = session.scalar(select(model).where(model.id == row_id, visible(principal, model)))
    if row is None:
        raise NotFound(f"no {label} {row_id}", field="id")
    return row


def _narrowed(principal: Principal, model: Any, unit: str | None) -> Any:
    stmt = select(model).where(principal.scope.where(model))
    if unit:
        stmt = stmt.where(Scope((units.check_code(unit, "unit"),)).where(model))
    return stmt


def _date(value: Any, field: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime) or not isinstance(value, date):
        raise Invalid("must be a date (YYYY-MM-DD)", field=field, reason="not_a_date")
    return value


def _not_future(value: Any, field: str, today: date) -> date:
    day = _date(value, field) or today
    if day > today:
        raise Invalid("a day that has not come yet", field=field, reason="future_day")
    return day


# --- Projects --------------------------------------------------------------------------------------------


def get_project(session: Session, principal: Principal, project_id: Any) -> ServiceProject:
    project = _scoped(session, principal, ServiceProject, project_id, "project")
    require_role(principal, PROJECT_READERS, "see service projects")  # their beneficiaries are people in need
    return project


def list_projects(session: Session, principal: Principal, *, unit: str | None = None,
                  current_on: date | None = None) -> list[ServiceProject]:
    """Projects of the caller's scope; with `current_on`, only those running on that day."""
    require_role(principal, PROJECT_READERS, "see service projects")
    stmt = _narrowed(principal, ServiceProject, unit)
    if current_on is not None:
        stmt = stmt.where((ServiceProject.starts_on.is_(None)) | (ServiceProject.starts_on <= current_on),
                          (ServiceProject.ends_on.is_(None)) | (ServiceProject.ends_on >= current_on))
    return list(session.scalars(stmt.order_by(ServiceProject.unit_code, ServiceProject.name)))


def organization_of(session: Session, district: str, org_id: Any,
                    field: str = "organization_id") -> Organization | None:
    """The registry organization running a project: any of the district's, whoever records it."""
    if org_id is None:
        return None
    if not isinstance(org_id, uuid.UUID):
        try:
            org_id = uuid.UUID(str(org_id))
        except ValueError:
            raise Invalid("not an organization id", field=field) from None
    org = organizations.in_district(session, district, org_id)
    if org is None:
        raise Invalid("no such organization in the district's registry", field=field)
    return org


def check_tags(value: Any, field: str = "target_tags") -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, (list, tuple)):
        raise Invalid("must be a list of registry tags", field=field)
    out: list[str] = []
    for i, tag in enumerate(value):
        if tag not in TAGS:
            raise Invalid(f"must be one of {', '.join(TAGS)}", field=f"{field}[{i}]")
        if tag not in out:
            out.append(tag)
    return out


def _set_project(session: Session, project: ServiceProject, fields: Mapping[str, Any]) -> None:
    if "organization_id" in fields:
        org = organization_of(session, project.district_code, fields["organization_id"])
        project.organization_id = org.id if org else None
    if "description" in fields:
        project.description = clean_text(fields["description"], "description", 4000)
    if "target_tags" in fields:
        project.target_tags = check_tags(fields["target_tags"])
    if "starts_on" in fields:
        project.starts_on = _date(fields["starts_on"], "starts_on")
    if "ends_on" in fields:
        project.ends_on = _date(fields["ends_on"], "ends_on")
    if project.starts_on and project.ends_on and project.ends_on < project.starts_on:
        raise Invalid("the end is before the start", field="ends_on", reason="end_before_start")


def _unique_project(session: Session, project: ServiceProject) -> None:
    other = session.scalar(select(ServiceProject.id).where(
        ServiceProject.district_code == project.district_code, ServiceProject.unit_code == project.unit_code,
        ServiceProject.name == project.name))
    if other is not None and other != project.id:
        raise Conflict("a project of this name already runs in this unit", field="name")


def _project_unit(session: Session, principal: Principal, code: Any) -> str:
    return unit_in_scope(session, principal, code, PROJECT_UNIT_LENGTHS,
                         "a project runs in the district, a street or a community")


def create_project(session: Session, principal: Principal, **fields: Any) -> ServiceProject:
    require_role(principal, PROJECT_MANAGERS, "add service projects")
    unit = _project_unit(session, principal, fields.get("unit_code"))
    name = clean_text(fields.get("name"), "name", 120, required=True) or ""
    project = ServiceProject(district_code=unit[:6], unit_code=unit, name=name)
    _unique_project(session, project)
    _set_project(session, project, fields)
    session.add(project)
    session.flush()
    return project


def update_project(session: Session, principal: Principal, project_id: Any, **changes: Any) -> ServiceProject:
    project = get_project(session, principal, project_id)
    require_role(principal, PROJECT_MANAGERS, "edit service projects")
    if "unit_code" in changes and changes["unit_code"] != project.unit_code:
        unit = _project_unit(session, principal, changes["unit_code"])
        if unit[:6] != project.district_code:
            raise Invalid("a project stays in its district", field="unit_code")
        project.unit_code = unit
    if "name" in changes:
        project.name = clean_text(changes["name"], "name", 120, required=True) or project.name
    _unique_project(session, project)
    _set_project(session, project, changes)
    session.flush()
    return project


# --- Beneficiaries ---------------------------------------------------------------------------------------


def _beneficiary(session: Session, project: ServiceProject, person_id: uuid.UUID) -> ProjectBeneficiary | None:
    return session.scalar(select(ProjectBeneficiary).where(
        ProjectBeneficiary.district_code == project.district_code, ProjectBeneficiary.project_id == project.id,
        ProjectBeneficiary.person_id == person_id))


def enrol(session: Session, principal: Principal, project_id: Any, person_id: Any, *, enrolled_on: Any = None,
          note: Any = None) -> ProjectBeneficiary:
    """Enrol a registry person the caller can see (else 404) who lives where the project runs; a person
    already enrolled is a 409, one who left is enrolled again."""
    project = get_project(session, principal, project_id)
    require_role(principal, PROJECT_MANAGERS, "enrol beneficiaries")
    if not isinstance(person_id, uuid.UUID):
        raise Invalid(field="person_id", reason="required")
    try:
        person = people.get_person(session, principal, person_id)
    except NotFound:
        raise NotFound("no such person in your scope", field="person_id") from None
    if person.anonymized_at is not None:
        raise Invalid("this person's record has been anonymized", field="person_id")
    if not person.grid_code.startswith(project.unit_code):
        raise Invalid("the person lives outside the area the project serves", field="person_id",
                      reason="outside_area")
    today = local_today()
    day = _not_future(enrolled_on, "enrolled_on", today)
    note = clean_text(note, "note", 200)
    row = _beneficiary(session, project, person.id)
    if row is not None and row.left_on is None:
        raise Conflict("this person is already enrolled in the project", field="person_id")
    if row is None:
        row = ProjectBeneficiary(district_code=project.district_code, project_id=project.id, person_id=person.id,
                                 enrolled_on=day)
        session.add(row)
    row.enrolled_on, row.left_on, row.note = day, None, note
    session.flush()
    return row


def leave(session: Session, principal: Principal, project_id: Any, person_id: Any, *,
          left_on: Any = None) -> ProjectBeneficiary:
    project = get_project(session, principal, project_id)
    require_role(principal, PROJECT_MANAGERS, "change beneficiaries")
    row = _beneficiary(session, project, person_id) if isinstance(person_id, uuid.UUID) else None
    if row is None:
        raise NotFound("this person is not enrolled in the project", field="person_id")
    if row.left_on is not None:
        raise Conflict("this person has already left the project", field="person_id")
    day = _not_future(left_on, "left_on", local_today())
    if day < row.enrolled_on:
        raise Invalid("before the day the person was enrolled", field="left_on")
    row.left_on = day
    session.flush()
    return row


def list_beneficiaries(session: Session, principal: Principal, project_id: Any
                       ) -> list[tuple[ProjectBeneficiary, Person | None]]:
    """Each beneficiary with the registry person, or None for one who has since moved out of the caller's
    scope (the name is not shown then)."""
    project = get_project(session, principal, project_id)
    rows = session.execute(
        select(ProjectBeneficiary, Person)
        .outerjoin(Person, and_(Person.district_code == ProjectBeneficiary.district_code,
                                Person.id == ProjectBeneficiary.person_id, principal.scope.where(Person)))
        .where(ProjectBeneficiary.district_code == project.district_code,
               ProjectBeneficiary.project_id == project.id)
        .order_by(ProjectBeneficiary.left_on.is_not(None), ProjectBeneficiary.enrolled_on.desc(),
                  ProjectBeneficiary.id))
    return [(b, p) for b, p in rows]


def beneficiary_counts(session: Session, found: list[ServiceProject]) -> dict[uuid.UUID, int]:
    """How many people each project serves now (enrolled, not left)."""
    if not found:
        return {}
    return dict(session.execute(select(ProjectBeneficiary.project_id, func.count()).where(
        ProjectBeneficiary.district_code.in_({p.district_code for p in found}),
        ProjectBeneficiary.project_id.in_([p.id for p in found]), ProjectBeneficiary.left_on.is_(None)
    ).group_by(ProjectBeneficiary.project_id)).all())


# --- Activities ------------------------------------------------------------------------------------------


def log_activity(session: Session, principal: Principal, project_id: Any, *, held_on: Any = None, title: Any,
                 participants: Any = 0, notes: Any = None) -> ProjectActivity:
    project = get_project(session, principal, project_id)
    require_role(principal, PROJECT_MANAGERS, "log project activities")
    activity = ProjectActivity(
        district_code=project.district_code, project_id=project.id,
        held_on=_not_future(held_on, "held_on", local_today()),
        title=clean_text(title, "title", 120, required=True) or "",
        participants=whole_number(0 if participants is None else participants, "participants",
                                  maximum=MAX_PARTICIPANTS) or 0,
        notes=clean_text(notes, "notes", 4000), recorded_by=principal.user_id)
    session.add(activity)
    session.flush()
    return activity


def list_activities(session: Session, principal: Principal, project_id: Any) -> list[ProjectActivity]:
    project = get_project(session, principal, project_id)
    return list(session.scalars(select(ProjectActivity).where(
        ProjectActivity.district_code == project.district_code, ProjectActivity.project_id == project.id
    ).order_by(ProjectActivity.held_on.desc(), ProjectActivity.id.desc())))


# --- Produce points (农超对接) ------------------------------------------------------------------------------


def get_produce_point(session: Session, principal: Principal, point_id: Any) -> ProducePoint:
    point = _scoped(session, principal, ProducePoint, point_id, "produce point")
    require_role(principal, PROJECT_READERS, "see produce points")
    return point


def list_produce_points(session: Session, principal: Principal, *, unit: str | None = None,
                        active_only: bool = False) -> list[ProducePoint]:
    require_role(principal, PROJECT_READERS, "see produce points")
    stmt = _narrowed(principal, ProducePoint, unit)
    if active_only:
        stmt = stmt.where(ProducePoint.active)
    return list(session.scalars(stmt.order_by(ProducePoint.unit_code, ProducePoint.name)))


def _unique_point(session: Session, point: ProducePoint) -> None:
    other = session.scalar(select(ProducePoint.id).where(
        ProducePoint.district_code == point.district_code, ProducePoint.unit_code == point.unit_code,
        ProducePoint.name == point.name))
    if other is not None and other != point.id:
        raise Conflict("a produce point of this name already exists here", field="name")


def _set_point(point: ProducePoint, fields: Mapping[str, Any]) -> None:
    if "address" in fields:
        point.address = clean_text(fields["address"], "address", 200)
    if "supplier" in fields:
        point.supplier = clean_text(fields["supplier"], "supplier", 120)
    if "weekly_hours" in fields:
        point.weekly_hours = weekly.parse_week(fields["weekly_hours"])
    if "active" in fields and fields["active"] is not None:
        point.active = flag(fields["active"], "active")


def _point_unit(session: Session, principal: Principal, code: Any) -> str:
    return unit_in_scope(session, principal, code, PRODUCE_UNIT_LENGTHS,
                         "a produce point stands in a community or a grid")


def create_produce_point(session: Session, principal: Principal, **fields: Any) -> ProducePoint:
    require_role(principal, PROJECT_MANAGERS, "add produce points")
    unit = _point_unit(session, principal, fields.get("unit_code"))
    point = ProducePoint(district_code=unit[:6], unit_code=unit, active=True,
                         name=clean_text(fields.get("name"), "name", 100, required=True) or "")
    _unique_point(session, point)
    _set_point(point, fields)
    point.lat, point.lon = check_point(session, fields.get("lat"), fields.get("lon"), unit)
    session.add(point)
    session.flush()
    return point


def update_produce_point(session: Session, principal: Principal, point_id: Any, **changes: Any) -> ProducePoint:
    point = get_produce_point(session, principal, point_id)
    require_role(principal, PROJECT_MANAGERS, "edit produce points")
    if "unit_code" in changes and changes["unit_code"] != point.unit_code:
        unit = _point_unit(session, principal, changes["unit_code"])
        if unit[:6] != point.district_code:
            raise Invalid("a produce point stays in its district", field="unit_code")
        point.unit_code = unit
    if "name" in changes:
        point.name = clean_text(changes["name"], "name", 100, required=True) or point.name
    _unique_point(session, point)
    _set_point(point, changes)
    if "lat" in changes or "lon" in changes or "unit_code" in changes:
        lat, lon = (changes.get("lat"), changes.get("lon")) if ("lat" in changes or "lon" in changes) else (
            point.lat, point.lon)
        point.lat, point.lon = check_point(session, lat, lon, point.unit_code)
    session.flush()
    return point
