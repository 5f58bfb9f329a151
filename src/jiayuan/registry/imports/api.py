"""JSON routes of the registry's spreadsheets: import templates, imports with their error reports, and the Excel
export of every filtered list. Registered before the people and places routers, so that /people/export is not
taken for a person's id."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile

from jiayuan.deps import AppSettings, DbSession, client_ip
from jiayuan.kit.bodies import IMPORT, body_limit
from jiayuan.kit.errors import Invalid
from jiayuan.kit.excel import XLSX_TYPE
from jiayuan.kit.i18n import TIMEZONE
from jiayuan.kit.pagination import search_query
from jiayuan.registry.imports import exports
from jiayuan.registry.imports import service as imports
from jiayuan.registry.imports import tasks
from jiayuan.registry.imports.schemas import (
    ImportErrorRead,
    ImportFailure,
    ImportRead,
    OrganizationsExportRequest,
    PeopleExportRequest,
)
from jiayuan.registry.models import RegistryImport
from jiayuan.registry.people import service as people
from jiayuan.registry.policy import Registrar
from jiayuan.web import gettext_for, request_locale

api = APIRouter(prefix="/api/v1/registry", tags=["registry"])
MAX_LISTED_ERRORS = 1000
Grid = Annotated[str | None, Query(description="a grid, community or street code")]


def xlsx(data: bytes, name: str) -> Response:
    return Response(data, media_type=XLSX_TYPE, headers={
        "Content-Disposition": f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(name)}"})


def _stamp() -> str:
    return f"{datetime.now(TIMEZONE):%Y%m%d-%H%M}"


def import_read(request: Request, record: RegistryImport) -> ImportRead:
    _ = gettext_for(request)
    locale = request_locale(request)
    errors = imports.errors_of(record)
    return ImportRead(
        id=record.id, kind=record.kind, mode=record.mode, file_name=record.file_name, total=record.total,
        created=record.created, updated=record.updated, unchanged=record.unchanged, rejected=record.rejected,
        written=record.written, error_count=len(errors), status=record.status, stage=record.stage,
        rows_done=record.rows_done, rows_total=record.rows_total,
        failure=ImportFailure.model_validate(record.failure) if record.failure else None,
        errors=[ImportErrorRead(row=e.row, column=e.column, column_title=imports.column_label(record.kind, e.column,
                                                                                               locale),
                                reason=e.message(), message=e.message(_)) for e in errors[:MAX_LISTED_ERRORS]],
        errors_url=f"/api/v1/registry/imports/{record.id}/errors.xlsx")


@api.get("/templates/{kind}.xlsx", response_class=Response,
         responses={200: {"content": {XLSX_TYPE: {}}, "description": "the empty import workbook"}})
def template(kind: str, principal: Registrar, session: DbSession) -> Response:
    """The import template of people, houses, facilities or organizations: Chinese headers (required ones
    marked *), drop-down lists, and a sheet "说明" explaining each column."""
    return xlsx(imports.template_for(session, principal, kind), f"{kind}-template.xlsx")


@api.post("/imports/{kind}", response_model=ImportRead, status_code=201,
          responses={202: {"model": ImportRead, "description": "a large file, queued for the worker: GET the "
                                                               "Location for its progress"}})
@body_limit(IMPORT)
def import_file(kind: str, request: Request, principal: Registrar, session: DbSession, settings: AppSettings,
                response: Response,
                file: Annotated[UploadFile | None, File(description=".xlsx or .csv")] = None,
                mode: Annotated[str, Form(description="all_or_nothing (default) or valid_only")] = "all_or_nothing",
                ) -> ImportRead:
    """Import a spreadsheet of `kind`. With any row in error an all_or_nothing import writes nothing; the
    result (and GET …/errors.xlsx) names each row, column and reason. The same file twice updates. A file of more
    rows than the server imports at once (`JIAYUAN_IMPORT_WORKER_ROWS`) is queued for the worker: 202, and GET
    the Location until its status is done or failed."""
    imports.check_kind(kind)
    mode = imports.check_mode(mode)
    data, name = imports.read_upload(file, settings.max_import_bytes)
    # The request's transaction ends before the file is read: on SQLite it would hold the write lock meanwhile.
    session.commit()
    record = tasks.start(request.app.state.db, principal, kind, data, name, mode=mode, settings=settings,
                         ip=client_ip(request))
    response.headers["Location"] = f"/api/v1/registry/imports/{record.id}"
    if record.status == tasks.QUEUED:
        response.status_code = 202
    return import_read(request, record)


@api.get("/imports/{import_id}", response_model=ImportRead)
def get_import(import_id: uuid.UUID, request: Request, principal: Registrar, session: DbSession) -> ImportRead:
    """One of the caller's own imports: its status (queued, running, done, failed), how far it is (rows_done of
    rows_total, in stage check then write), its counts and errors once done, why it failed."""
    return import_read(request, imports.get_import(session, principal, import_id))


@api.get("/imports/{import_id}/errors.xlsx", response_class=Response,
         responses={200: {"content": {XLSX_TYPE: {}}, "description": "row, column and reason of each error"}})
def import_errors(import_id: uuid.UUID, request: Request, principal: Registrar, session: DbSession) -> Response:
    """The error report of one of the caller's imports."""
    record = imports.get_import(session, principal, import_id)
    _ = gettext_for(request)
    data = imports.error_report(record.kind, imports.errors_of(record), _, request_locale(request),
                                headers=(_("Row"), _("Column"), _("Reason")))
    return xlsx(data, f"{record.kind}-errors-{_stamp()}.xlsx")


def _export(request: Request, session: Any, principal: Any, kind: str, filters: dict[str, Any],
            unmask_reason: str | None = None) -> Response:
    found = exports.export(session, principal, kind, filters, unmask_reason=unmask_reason, ip=client_ip(request))
    name = f"{kind}-unmasked-{_stamp()}.xlsx" if found.unmasked else f"{kind}-{_stamp()}.xlsx"
    return xlsx(found.data, name)


_XLSX = {"response_class": Response,
         "responses": {200: {"content": {XLSX_TYPE: {}}, "description": "the filtered list as .xlsx"}}}
_UNMASKED_XLSX = {"response_class": Response, "responses": {
    200: {"content": {XLSX_TYPE: {}}, "description": "the filtered list as .xlsx, unmasked and watermarked"},
    403: {"description": "your role may not see unmasked personal data (the refusal is audited)"},
    422: {"description": "no reason, or one that is not a sentence (field: reason)"}}}


def _people_filters(grid: str | None, tag: str | None, residence_type: str | None, q: str | None) -> dict[str, Any]:
    if q and people.looks_personal(q):
        raise Invalid("search ID numbers and phones with POST /api/v1/registry/people/search", field="q")
    return {"grid": grid, "tag": tag, "residence_type": residence_type, "q": q}


@api.get("/people/export", **_XLSX)
def export_people(request: Request, principal: Registrar, session: DbSession, grid: Grid = None,
                  tag: str | None = None, residence_type: str | None = None,
                  q: Annotated[str | None, search_query("name or pinyin initials only")] = None) -> Response:
    """People as GET /people lists them, ID numbers and phones masked and birth dates left out (the age stays),
    whoever asks. The unmasked list is POST /people/export, with a reason."""
    return _export(request, session, principal, "people", _people_filters(grid, tag, residence_type, q))


@api.post("/people/export", **_UNMASKED_XLSX)
def export_people_unmasked(body: PeopleExportRequest, request: Request, principal: Registrar,
                           session: DbSession) -> Response:
    """The same list with whole ID numbers, phones and birth dates: for a role that may unmask, for a reason (a
    sentence); audited with the reason, the filter and the row count, the file marked with your account and the
    time in its first line and in every printed page's header and footer."""
    filters = _people_filters(body.grid, body.tag, body.residence_type, body.q)
    return _export(request, session, principal, "people", filters, body.reason or "")


@api.get("/rooms/export", **_XLSX)
def export_rooms(request: Request, principal: Registrar, session: DbSession, grid: Grid = None,
                 building_id: uuid.UUID | None = None, use: str | None = None) -> Response:
    """Rooms as GET /rooms lists them, with their address path: the houses template's columns."""
    return _export(request, session, principal, "rooms", {"grid": grid, "building_id": building_id, "use": use})


@api.get("/things/export", **_XLSX)
def export_things(request: Request, principal: Registrar, session: DbSession, grid: Grid = None,
                  kind: str | None = None, status: str | None = None) -> Response:
    """Facilities as GET /things lists them: the facilities template's columns."""
    return _export(request, session, principal, "things", {"grid": grid, "kind": kind, "status": status})


@api.get("/organizations/export", **_XLSX)
def export_organizations(request: Request, principal: Registrar, session: DbSession, grid: Grid = None,
                         kind: str | None = None, active: bool | None = None) -> Response:
    """Organizations as GET /organizations lists them, contact phones masked whoever asks; whole by POST."""
    return _export(request, session, principal, "organizations", {"grid": grid, "kind": kind, "active": active})


@api.post("/organizations/export", **_UNMASKED_XLSX)
def export_organizations_unmasked(body: OrganizationsExportRequest, request: Request, principal: Registrar,
                                  session: DbSession) -> Response:
    """The same list with whole contact phones, under the rules of POST /people/export."""
    return _export(request, session, principal, "organizations",
                   {"grid": body.grid, "kind": body.kind, "active": body.active}, body.reason or "")


@api.get("/compounds/export", **_XLSX)
def export_compounds(request: Request, principal: Registrar, session: DbSession, grid: Grid = None,
                     without_property: bool | None = None) -> Response:
    """Compounds as GET /compounds lists them (无物业 where there is no property company)."""
    return _export(request, session, principal, "compounds",
                   {"grid": grid, "without_property": without_property})


router = APIRouter()
router.include_router(api)
