"""Pages of special service projects (特色服务项目) — the list, a project with its beneficiaries and activities,
their forms — and of farm-to-community produce points (农超对接)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from jiayuan.accounts.roles import Role
from jiayuan.accounts.service import Principal
from jiayuan.deps import DbSession, client_ip, require_role, verify_csrf
from jiayuan.kit import hours as weekly
from jiayuan.kit.clock import local_today
from jiayuan.kit.errors import DomainError, Invalid
from jiayuan.page_kit import (
    N_,
    Messages,
    PostedForm,
    field_date,
    field_int,
    field_text,
    flash,
    form_error,
    path_id,
    register_messages,
    see_other,
    status_of,
)
from jiayuan.registry.models import TAGS
from jiayuan.registry.present import labels
from jiayuan.registry.service import organizations, people
from jiayuan.services.present import DAY_FIELDS, base_context, by_field, hours_messages, unit_choices
from jiayuan.services.projects import policy
from jiayuan.services.projects import service as projects
from jiayuan.services.projects.models import ProducePoint, ServiceProject
from jiayuan.units.options import unit_code
from jiayuan.web import gettext_for, render

router = APIRouter(include_in_schema=False)
ProjectDesk = Annotated[Principal, Depends(require_role(*policy.PROJECT_MANAGERS))]
MAX_ORGANIZATIONS = 500
MAX_FOUND = 20

# Messages of the project and produce-point forms by (field, reason).
MESSAGES: Messages = register_messages({
    **by_field({
        "name": N_("Please enter the name."),
        "unit_code": N_("Choose a street or community in your area."),
        "lat": N_("Give a latitude and longitude inside the unit, or neither."),
        "lon": N_("Give a latitude and longitude inside the unit, or neither."),
        "organization_id": N_("Choose an organization of the district."),
        "target_tags": N_("Choose groups from the list."),
        "ends_on": N_("The end date is before the start date."),
        "person_id": N_("Choose a person."),
        "held_on": N_("A date, not in the future."),
        "enrolled_on": N_("A date, not in the future."),
        "left_on": N_("A date, not in the future."),
        "title": N_("Required."),
        "participants": N_("A whole number, 0 or more."),
    }, {"not_found": N_("Choose one within your area."),
        "conflict": N_("This conflicts with another record; reload and try again.")}),
    **hours_messages(*DAY_FIELDS),
    ("person_id", "outside_area"): N_("The person lives outside the area the project serves."),
    ("name", "conflict"): N_("This name is already used here."),
    ("person_id", "conflict"): N_("This person is already enrolled."),
}, "/services/projects", "/services/produce-points")


def _names(session: Session, principal: Principal) -> dict[str, str]:
    return {u["code"]: u["name"] for u in unit_choices(session, principal, (6, 9, 12, 15))}


def _org_options(session: Session, principal: Principal) -> list[Any]:
    found, _total = organizations.list_organizations(session, principal, active=True, limit=MAX_ORGANIZATIONS)
    return sorted(found, key=lambda o: o.name)


def _ctx(request: Request, session: Session, principal: Principal) -> dict[str, Any]:
    _ = gettext_for(request)
    return {**base_context(request), "RL": labels(_), "tags": TAGS, "names": _names(session, principal)}


def _errors(request: Request, exc: DomainError, form: str) -> dict[str, str]:
    return form_error(request, exc, form, MESSAGES)


# Projects.


def _project_typed(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {n: field_text(form, n, 4000) for n in (
        "unit_code", "name", "organization_id", "description", "starts_on", "ends_on")}
    values["target_tags"] = [t for t in form.getlist("target_tags") if isinstance(t, str)]
    return values


def _project_fields(form: FormData, values: dict[str, Any]) -> dict[str, Any]:
    org = values["organization_id"]
    return {"unit_code": values["unit_code"] or None, "name": values["name"],
            "organization_id": org or None, "description": values["description"] or None,
            "target_tags": values["target_tags"], "starts_on": field_date(form, "starts_on"),
            "ends_on": field_date(form, "ends_on")}


def _list_page(request: Request, session: Session, principal: Principal, unit: str,
               values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
               status_code: int = 200) -> Response:
    found = projects.list_projects(session, principal, unit=unit or None)
    orgs = {o.id: o.name for o in (projects.organization_of(session, p.district_code, p.organization_id)
                                   for p in found) if o is not None}
    return render(request, "services/projects.html", {
        **_ctx(request, session, principal), "rows": found, "orgs": orgs,
        "counts": projects.beneficiary_counts(session, found), "unit": unit,
        "units": unit_choices(session, principal, (6, 9, 12)), "org_options": _org_options(session, principal),
        "values": values or {"unit_code": principal.scope_code or "", "target_tags": []},
        "errors": errors or {}, "today": local_today()}, status_code=status_code)


@router.get("/services/projects")
def project_list(request: Request, principal: ProjectDesk, session: DbSession, unit: str | None = None) -> Response:
    return _list_page(request, session, principal, unit_code(unit))


@router.post("/services/projects", dependencies=[Depends(verify_csrf)])
def project_create(request: Request, principal: ProjectDesk, session: DbSession, form: PostedForm) -> Response:
    _ = gettext_for(request)
    values = _project_typed(form)
    try:
        with session.begin_nested():
            project = projects.create_project(session, principal, **_project_fields(form, values))
    except DomainError as exc:
        return _list_page(request, session, principal, "", values, _errors(request, exc, "project"),
                          status_of(exc))
    flash(request, _("Saved."))
    return see_other(f"/services/projects/{project.id}")


def _project_values(project: ServiceProject) -> dict[str, Any]:
    return {"unit_code": project.unit_code, "name": project.name,
            "organization_id": str(project.organization_id) if project.organization_id else "",
            "description": project.description or "", "target_tags": project.target_tags or [],
            "starts_on": project.starts_on.isoformat() if project.starts_on else "",
            "ends_on": project.ends_on.isoformat() if project.ends_on else ""}


def _project_page(request: Request, session: Session, principal: Principal, project: ServiceProject, *,
                  errors: dict[str, str] | None = None, values: dict[str, Any] | None = None,
                  found: list[Any] | None = None, q: str = "", reason: str = "", status_code: int = 200) -> Response:
    org = projects.organization_of(session, project.district_code, project.organization_id)
    beneficiaries = projects.list_beneficiaries(session, principal, project.id)
    enrolled = {b.person_id for b, _p in beneficiaries if b.left_on is None}
    return render(request, "services/project.html", {
        **_ctx(request, session, principal), "project": project, "org": org, "beneficiaries": beneficiaries,
        "activities": projects.list_activities(session, principal, project.id),
        "current": sum(1 for b, _p in beneficiaries if b.left_on is None),
        "found": [(p, people.masked(p), p.id in enrolled) for p in found or []], "q": q, "reason": reason,
        "units": unit_choices(session, principal, (6, 9, 12)), "org_options": _org_options(session, principal),
        "values": values or _project_values(project), "errors": errors or {}, "today": local_today()},
        status_code=status_code)


@router.get("/services/projects/{project_id}")
def project_page(project_id: str, request: Request, principal: ProjectDesk, session: DbSession) -> Response:
    return _project_page(request, session, principal, projects.get_project(session, principal, path_id(project_id)))


@router.post("/services/projects/{project_id}", dependencies=[Depends(verify_csrf)])
def project_update(project_id: str, request: Request, principal: ProjectDesk, session: DbSession,
                   form: PostedForm) -> Response:
    _ = gettext_for(request)
    project = projects.get_project(session, principal, path_id(project_id))
    values = _project_typed(form)
    try:
        with session.begin_nested():
            projects.update_project(session, principal, project.id, **_project_fields(form, values))
    except DomainError as exc:
        session.refresh(project)
        return _project_page(request, session, principal, project, errors=_errors(request, exc, "project"),
                             values=values, status_code=status_of(exc))
    flash(request, _("Saved."))
    return see_other(f"/services/projects/{project.id}")


@router.post("/services/projects/{project_id}/find", dependencies=[Depends(verify_csrf)])
def find_people(project_id: str, request: Request, principal: ProjectDesk, session: DbSession,
                form: PostedForm) -> Response:
    """People to enrol, by name, initials, ID number or phone: posted, so that numbers never sit in a URL; a number
    is an exact look-up of the registry's, with a reason, audited and counted (registry/people/lookups.py)."""
    project = projects.get_project(session, principal, path_id(project_id))
    # The service refuses a term longer than kit.text.MAX_SEARCH_TERM: read more than that, not a cut one.
    q, reason = field_text(form, "q", 1000), field_text(form, "reason", 500)
    try:
        found = people.search(session, principal, q, limit=MAX_FOUND, reason=reason, ip=client_ip(request))
    except DomainError as exc:
        return _project_page(request, session, principal, project, errors=_errors(request, exc, "find"), q=q,
                             reason=reason, status_code=status_of(exc))
    return _project_page(request, session, principal, project, found=found, q=q, reason=reason)


@router.post("/services/projects/{project_id}/beneficiaries", dependencies=[Depends(verify_csrf)])
def enrol(project_id: str, request: Request, principal: ProjectDesk, session: DbSession,
          form: PostedForm) -> Response:
    _ = gettext_for(request)
    project = projects.get_project(session, principal, path_id(project_id))
    try:
        person_id = _uuid(form, "person_id")
        with session.begin_nested():
            projects.enrol(session, principal, project.id, person_id, note=field_text(form, "note", 200) or None)
    except DomainError as exc:
        return _project_page(request, session, principal, project, errors=_errors(request, exc, "enrol"),
                             status_code=status_of(exc))
    flash(request, _("Enrolled."))
    return see_other(f"/services/projects/{project.id}#beneficiaries")


def _uuid(form: FormData, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(field_text(form, name, 40))
    except ValueError:
        raise Invalid(field=name, reason="required") from None


@router.post("/services/projects/{project_id}/beneficiaries/{person_id}/leave",
             dependencies=[Depends(verify_csrf)])
def leave(project_id: str, person_id: str, request: Request, principal: ProjectDesk, session: DbSession) -> Response:
    _ = gettext_for(request)
    project = projects.get_project(session, principal, path_id(project_id))
    try:
        with session.begin_nested():
            projects.leave(session, principal, project.id, path_id(person_id))
    except DomainError as exc:
        return _project_page(request, session, principal, project, errors=_errors(request, exc, "enrol"),
                             status_code=status_of(exc))
    flash(request, _("Saved."))
    return see_other(f"/services/projects/{project.id}#beneficiaries")


@router.post("/services/projects/{project_id}/activities", dependencies=[Depends(verify_csrf)])
def log_activity(project_id: str, request: Request, principal: ProjectDesk, session: DbSession,
                 form: PostedForm) -> Response:
    _ = gettext_for(request)
    project = projects.get_project(session, principal, path_id(project_id))
    typed = {n: field_text(form, n, 4000) for n in ("held_on", "title", "participants", "notes")}
    try:
        with session.begin_nested():
            projects.log_activity(session, principal, project.id, held_on=field_date(form, "held_on"),
                                  title=typed["title"], participants=field_int(form, "participants") or 0,
                                  notes=typed["notes"] or None)
    except DomainError as exc:
        values = {**_project_values(project), **{f"act_{k}": v for k, v in typed.items()}}
        return _project_page(request, session, principal, project, errors=_errors(request, exc, "activity"),
                             values=values, status_code=status_of(exc))
    flash(request, _("Activity logged."))
    return see_other(f"/services/projects/{project.id}#activities")


# Produce points (农超对接).


def _point_typed(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {n: field_text(form, n, 200) for n in ("unit_code", "name", "address", "supplier")}
    values.update({f"hours_{d}": field_text(form, f"hours_{d}", 200) for d in weekly.WEEKDAYS})
    values["active"] = form.get("active") == "1"
    return values


def _point_fields(values: dict[str, Any]) -> dict[str, Any]:
    return {"unit_code": values["unit_code"] or None, "name": values["name"],
            "address": values["address"] or None, "supplier": values["supplier"] or None,
            "weekly_hours": {d: weekly.parse_day_text(values[f"hours_{d}"], f"hours_{d}") for d in weekly.WEEKDAYS}}


def _points_page(request: Request, session: Session, principal: Principal, *, point: ProducePoint | None = None,
                 values: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                 status_code: int = 200) -> Response:
    if values is None:
        values = {"unit_code": principal.scope_code if principal.role == Role.community_staff else "",
                  "active": True}
        if point is not None:
            values = {"unit_code": point.unit_code, "name": point.name, "address": point.address or "",
                      "supplier": point.supplier or "", "active": point.active,
                      **{f"hours_{d}": weekly.format_intervals((point.weekly_hours or {}).get(d)).replace("–", "-")
                         for d in weekly.WEEKDAYS}}
    return render(request, "services/produce_points.html", {
        **_ctx(request, session, principal), "rows": projects.list_produce_points(session, principal),
        "point": point, "units": unit_choices(session, principal, (12, 15)), "values": values,
        "errors": errors or {}}, status_code=status_code)


@router.get("/services/produce-points")
def produce_points(request: Request, principal: ProjectDesk, session: DbSession) -> Response:
    return _points_page(request, session, principal)


@router.post("/services/produce-points", dependencies=[Depends(verify_csrf)])
def produce_point_create(request: Request, principal: ProjectDesk, session: DbSession,
                         form: PostedForm) -> Response:
    _ = gettext_for(request)
    values = _point_typed(form)
    try:
        with session.begin_nested():
            projects.create_produce_point(session, principal, **_point_fields(values))
    except DomainError as exc:
        return _points_page(request, session, principal, values=values, errors=_errors(request, exc, "point"),
                            status_code=status_of(exc))
    flash(request, _("Saved."))
    return see_other("/services/produce-points")


@router.get("/services/produce-points/{point_id}")
def produce_point_page(point_id: str, request: Request, principal: ProjectDesk, session: DbSession) -> Response:
    point = projects.get_produce_point(session, principal, path_id(point_id))
    return _points_page(request, session, principal, point=point)


@router.post("/services/produce-points/{point_id}", dependencies=[Depends(verify_csrf)])
def produce_point_update(point_id: str, request: Request, principal: ProjectDesk, session: DbSession,
                         form: PostedForm) -> Response:
    _ = gettext_for(request)
    point = projects.get_produce_point(session, principal, path_id(point_id))
    values = _point_typed(form)
    try:
        with session.begin_nested():
            projects.update_produce_point(session, principal, point.id, **_point_fields(values),
                                          active=values["active"])
    except DomainError as exc:
        session.refresh(point)
        return _points_page(request, session, principal, point=point, values=values,
                            errors=_errors(request, exc, "point"), status_code=status_of(exc))
    flash(request, _("Saved."))
    return see_other("/services/produce-points")
