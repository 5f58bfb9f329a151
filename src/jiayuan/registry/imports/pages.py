"""The import page (/registry/import): pick what to import, download its template, upload the filled file, and
read the result — counts, and each rejected row with its column and reason — with the report to download."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from jiayuan.accounts.service import Principal
from jiayuan.deps import DbSession, client_ip, verify_csrf
from jiayuan.kit.bodies import IMPORT, body_limit
from jiayuan.kit.errors import Invalid, NotFound
from jiayuan.page_kit import explain, see_other
from jiayuan.registry.imports import service as imports
from jiayuan.registry.messages import MESSAGES
from jiayuan.registry.models import RegistryImport
from jiayuan.registry.policy import Registrar
from jiayuan.web import gettext_for, render, request_locale

router = APIRouter(include_in_schema=False)
MAX_UPLOAD = 50 * 1024 * 1024
SHOWN_ERRORS = 500


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
                               "shown_errors": SHOWN_ERRORS}
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
def import_upload(request: Request, principal: Registrar, session: DbSession,
                  kind: Annotated[str, Form()] = "people",
                  file: Annotated[UploadFile | None, File()] = None,
                  valid_only: Annotated[str | None, Form()] = None) -> Response:
    kind = _kind(kind)
    mode = "valid_only" if valid_only else "all_or_nothing"
    try:
        if file is None or not file.filename:
            raise Invalid("choose a file to import", field="file", details={"problem": "no_file"})
        data = file.file.read(MAX_UPLOAD + 1)
        if len(data) > MAX_UPLOAD:
            raise Invalid("the file is larger than 50 MB", field="file", details={"problem": "too_large"})
        result = imports.import_file(session, principal, kind, data, file.filename, mode=mode)
    except Invalid as exc:
        if exc.field != "file":
            raise
        return _page(request, session, principal, kind, error=explain(request, exc, MESSAGES)[1], valid_only=bool(valid_only),
                     status_code=422)
    record = imports.record_import(session, principal, result, file.filename)
    imports.audit_import(session, principal, result, record_id=record.id, ip=client_ip(request))
    return see_other(f"/registry/import/{record.id}")


@router.get("/registry/import/{import_id}")
def import_result(import_id: str, request: Request, principal: Registrar, session: DbSession) -> Response:
    try:
        ident = uuid.UUID(import_id)
    except ValueError:
        raise NotFound("no such import of yours", field="import_id") from None
    record = imports.get_import(session, principal, ident)
    return _page(request, session, principal, record.kind, record=record, valid_only=record.mode == "valid_only")
