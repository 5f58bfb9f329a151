"""The import page (/registry/import): pick what to import, download its template, upload the filled file, and
read the result — counts, and each rejected row with its column and reason — with the report to download."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from jiayuan.accounts.service import Principal
from jiayuan.deps import AppSettings, DbSession, client_ip, verify_csrf
from jiayuan.kit.bodies import IMPORT, body_limit
from jiayuan.kit.errors import Invalid, NotFound
from jiayuan.page_kit import explain, see_other
from jiayuan.registry.imports import service as imports
from jiayuan.registry.imports import tasks
from jiayuan.registry.messages import MESSAGES
from jiayuan.registry.models import RegistryImport
from jiayuan.registry.policy import Registrar
from jiayuan.web import gettext_for, render, request_locale

router = APIRouter(include_in_schema=False)
SHOWN_ERRORS = 500
POLL_SECONDS = 2  # how often the page of a running import asks how far it is


def _kinds(_: Any) -> dict[str, str]:
    return {"people": _("People"), "houses": _("Houses (rooms)"), "facilities": _("Facilities"),
            "organizations": _("Organizations")}


def _page(request: Request, session: Session, principal: Principal, kind: str, *,
          record: RegistryImport | None = None, error: str | None = None, valid_only: bool = False,
          status_code: int = 200) -> Response:
    _ = gettext_for(request)
    locale = request_locale(request)
    context: dict[str, Any] = {"kinds": _kinds(_), "kind": kind, "error": error, "record": record,
                               "valid_only": valid_only, "errors": [], "error_count": 0,
                               "shown_errors": SHOWN_ERRORS, "poll_seconds": POLL_SECONDS,
                               "failure": _failure(request, record)}
    if record is not None:
        errors = imports.errors_of(record)
        context["error_count"] = len(errors)
        context["errors"] = [{"row": e.row, "column": imports.column_label(record.kind, e.column, locale)
                              if e.column else "", "reason": e.message(_)} for e in errors[:SHOWN_ERRORS]]
    return render(request, "registry/import.html", context, status_code=status_code)


def _kind(kind: str | None) -> str:
    return kind if kind in imports.KINDS else "people"


@router.get("/registry/import")
def import_page(request: Request, principal: Registrar, session: DbSession, kind: str | None = None) -> Response:
    return _page(request, session, principal, _kind(kind))


@router.post("/registry/import", dependencies=[Depends(verify_csrf)])
@body_limit(IMPORT)
def import_upload(request: Request, principal: Registrar, session: DbSession, settings: AppSettings,
                  kind: Annotated[str, Form()] = "people",
                  file: Annotated[UploadFile | None, File()] = None,
                  valid_only: Annotated[str | None, Form()] = None) -> Response:
    kind = _kind(kind)
    mode = "valid_only" if valid_only else "all_or_nothing"
    try:
        data, name = imports.read_upload(file, settings.max_import_bytes)
        # The request's transaction ends before the file is read: on SQLite it would hold the write lock meanwhile.
        session.commit()
        record = tasks.start(request.app.state.db, principal, kind, data, name, mode=mode, settings=settings,
                             ip=client_ip(request))
    except Invalid as exc:
        if exc.field != "file":
            raise
        return _page(request, session, principal, kind, error=explain(request, exc, MESSAGES)[1],
                     valid_only=bool(valid_only), status_code=422)
    return see_other(f"/registry/import/{record.id}")


def _record(session: Session, principal: Principal, import_id: str) -> RegistryImport:
    try:
        ident = uuid.UUID(import_id)
    except ValueError:
        raise NotFound("no such import of yours", field="import_id") from None
    return imports.get_import(session, principal, ident)


def _failure(request: Request, record: RegistryImport | None) -> str | None:
    """Why an import failed, in the reader's language (the file's problem, or the work stopped part way)."""
    if record is None or not record.failure:
        return None
    failure = record.failure
    exc = Invalid(failure.get("message"), field=failure.get("field") or "file",
                  reason=failure.get("reason") or "invalid", details=failure.get("details"),
                  **(failure.get("params") or {}))
    if failure.get("reason") == "interrupted":
        return gettext_for(request)("The import stopped part way. What was written stays; import the same file "
                                    "again to complete it (nothing is duplicated).")
    return explain(request, exc, MESSAGES)[1]


@router.get("/registry/import/{import_id}/progress")
def import_progress(import_id: str, request: Request, principal: Registrar, session: DbSession) -> Response:
    """How far a queued or running import is (the page asks every few seconds); once it has ended, the page is
    loaded again whole, with the result."""
    record = _record(session, principal, import_id)
    if record.status not in (tasks.QUEUED, tasks.RUNNING):
        return Response(headers={"HX-Refresh": "true"})
    return render(request, "registry/_import_progress.html", {"record": record, "poll_seconds": POLL_SECONDS})


@router.get("/registry/import/{import_id}")
def import_result(import_id: str, request: Request, principal: Registrar, session: DbSession) -> Response:
    record = _record(session, principal, import_id)
    return _page(request, session, principal, record.kind, record=record, valid_only=record.mode == "valid_only")
