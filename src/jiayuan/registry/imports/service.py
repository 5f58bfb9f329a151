"""Spreadsheet imports of the registry — people, houses, facilities, organizations: their templates, one entry
point for a file, and the record of page and API imports from which the importer downloads the error report."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.accounts import service as accounts
from jiayuan.accounts.service import Principal
from jiayuan.kit import excel
from jiayuan.kit.bodies import human, read_prefix
from jiayuan.kit.errors import Invalid, NotFound
from jiayuan.registry.imports.columns import COLUMNS, NOTES, SHEETS
from jiayuan.registry.imports.common import MODES, ImportResult, Progress, RowError, within
from jiayuan.registry.imports.people import import_people
from jiayuan.registry.imports.places import import_facilities, import_houses, import_organizations
from jiayuan.registry.models import RegistryImport
from jiayuan.units import service as units

KINDS = ("people", "houses", "facilities", "organizations")
IMPORTERS: dict[str, Callable[..., ImportResult]] = {
    "people": import_people, "houses": import_houses, "facilities": import_facilities,
    "organizations": import_organizations,
}
MAX_GRID_CHOICES = 2000

__all__ = ["IMPORTERS", "KINDS", "MODES", "ImportResult", "Progress", "RowError", "column_label", "error_report",
           "get_import", "import_file", "record_import", "template_for"]


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise NotFound(f"no import of {kind!r}: people, houses, facilities or organizations", field="kind")
    return kind


def check_mode(mode: str | None) -> str:
    mode = mode or "all_or_nothing"
    if mode not in MODES:
        raise Invalid("mode must be all_or_nothing or valid_only", field="mode")
    return mode


def read_upload(file: Any, limit: int) -> tuple[bytes, str]:
    """An uploaded file (its .file and .filename), read a chunk at a time up to `limit`: Invalid (field "file")
    when none was chosen or it is larger (the request's body limit refused a larger one already as it arrived)."""
    if file is None or not getattr(file, "filename", None):
        raise Invalid("choose a file to import", field="file", details={"problem": "no_file"})
    data = read_prefix(file.file, limit + 1)
    if len(data) > limit:
        raise Invalid(f"the file is larger than {human(limit)}; split it", field="file", reason="too_large",
                      details={"problem": "too_large", "limit": human(limit)})
    return data, file.filename


def template_for(session: Session, principal: Principal, kind: str) -> bytes:
    """The empty workbook of `kind`, its grid drop-down listing the grids of the caller's scope."""
    columns = COLUMNS[check_kind(kind)]
    grids = sorted(units.grid_codes(session, principal.scope))[:MAX_GRID_CHOICES]
    return excel.template(columns, sheet=SHEETS[kind], notes=NOTES, choices={"grid_code": grids})


def import_file(session: Session, principal: Principal, kind: str, data: bytes, filename: str, *,
                mode: str = "all_or_nothing", progress: Progress | None = None,
                limits: excel.ReadLimits = excel.DEFAULT_LIMITS) -> ImportResult:
    """Read a .xlsx or .csv and import its rows, all in `session`'s transaction (the rules' tests, benchmarks); a
    file that is no table of `kind` raises Invalid (field "file"). Pages, the API and the command line import in
    short transactions instead, through registry.imports.tasks."""
    check_kind(kind)
    mode = check_mode(mode)
    table = excel.read_table(data, filename, COLUMNS[kind], limits)
    return IMPORTERS[kind](within(session), principal, table.rows, mode=mode, progress=progress, total=table.total)


def record_import(session: Session, principal: Principal, result: ImportResult, file_name: str) -> RegistryImport:
    """Keep an import made from a page or the API: the counts, and the errors for the report."""
    record = RegistryImport(
        district_code=principal.district_code, user_id=principal.user_id,
        scope_code=principal.scope_code or principal.district_code, kind=result.kind,
        file_name=(file_name or "")[:200], mode=result.mode, total=result.total, created=result.created,
        updated=result.updated, unchanged=result.unchanged, rejected=result.rejected, written=result.written,
        errors=[e.as_dict() for e in result.errors])
    session.add(record)
    session.flush()
    return record


def audit_import(session: Session, principal: Principal, result: ImportResult, *, record_id: uuid.UUID | None,
                 ip: str | None = None) -> None:
    accounts.audit_for(session, principal, "registry_imported", target=f"registry/imports/{result.kind}", ip=ip,
                       detail={"import_id": str(record_id) if record_id else None, "mode": result.mode,
                               **result.counts()})


def get_import(session: Session, principal: Principal, import_id: uuid.UUID) -> RegistryImport:
    """An import of the caller's own: anybody else's does not exist for them."""
    record = session.scalar(select(RegistryImport).where(
        RegistryImport.district_code == principal.district_code, RegistryImport.id == import_id,
        RegistryImport.user_id == principal.user_id))
    if record is None:
        raise NotFound("no such import of yours", field="import_id")
    return record


def errors_of(record: RegistryImport) -> list[RowError]:
    return [RowError.from_dict(e) for e in record.errors or []]


def column_label(kind: str, key: str, locale: str = "zh_CN") -> str:
    """The column as the file's header says it (in English pages, with its key)."""
    title = next((c.title for c in COLUMNS.get(kind, ()) if c.key == key), key)
    return title if locale == "zh_CN" or title == key else f"{title} ({key})"


def error_report(kind: str, errors: Sequence[RowError], gettext: Callable[[str], str] | None = None,
                 locale: str = "zh_CN", headers: Sequence[str] = ("行", "列", "原因")) -> bytes:
    """The errors as a workbook: row, column, reason — in the reader's language, never with a value."""
    rows: list[tuple[Any, str, str]] = [(e.row, column_label(kind, e.column, locale) if e.column else "",
                                         e.message(gettext)) for e in errors]
    return excel.error_report(rows, headers=headers)
