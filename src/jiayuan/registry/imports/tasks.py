"""Imports run outside the request's transaction: a file is read and checked before anything touches the database,
then written a thousand rows at a time, each thousand in a short transaction of its own (on SQLite a transaction
holds the write lock from its first statement: a request that held it while it read a district's file would stop
every other writer). A file of more rows than `import_worker_rows` goes to the worker instead, sealed in storage
until it has run; the import's row says how far it is (queued, running with rows done of the total, done, failed),
which its page and GET /api/v1/registry/imports/{id} show.

An import that stops part way (the database went away, the worker was killed) leaves whole chunks behind; huey runs
it again (twice more), and since an import matches what it finds — people by ID number, houses by address,
facilities by code, organizations by credit code — running it again completes it without duplicating anything."""

from __future__ import annotations

import logging
import uuid
import weakref
from collections.abc import Iterable
from datetime import datetime, timedelta
from itertools import islice
from typing import Any, NamedTuple, cast

from huey import Huey
from sqlalchemy import CursorResult, and_, or_, select, update
from sqlalchemy.orm import Session

from jiayuan.accounts import service as accounts
from jiayuan.accounts.service import Principal
from jiayuan.config import Settings, get_settings
from jiayuan.kit import excel, jobs
from jiayuan.kit.crypto import get_cipher
from jiayuan.kit.db import Database, utcnow, uuid7
from jiayuan.kit.errors import DomainError, Forbidden, Invalid
from jiayuan.kit.storage import remove_if_rolled_back, storage_from_settings
from jiayuan.registry.imports import service as imports
from jiayuan.registry.imports.columns import COLUMNS
from jiayuan.registry.imports.common import Transactions
from jiayuan.registry.models import RegistryImport
from jiayuan.registry.policy import REGISTRARS

log = logging.getLogger("jiayuan.registry.imports")
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
FILE_CONTEXT = "registry_imports.file"  # the sealed file's associated data: it opens nowhere else
# A running import that has not reported progress for this long belongs to a worker that died: taken again.
STALE_AFTER = timedelta(minutes=10)
RETRIES = 2
RETRY_DELAY_SECONDS = 60


def read_limits(settings: Settings) -> excel.ReadLimits:
    return excel.ReadLimits(rows=settings.max_import_rows, part_bytes=settings.max_import_unzipped_bytes,
                            whole_bytes=settings.max_import_strings_bytes)


def start(db: Database, principal: Principal, kind: str, data: bytes, file_name: str, *, mode: str,
          settings: Settings, ip: str | None = None) -> RegistryImport:
    """Import a file now, or queue it for the worker when it holds more than `import_worker_rows` rows; the
    import's record either way. A file that is no table of `kind`, or over the read limits, raises Invalid (field
    "file") before anything is written. The caller holds no transaction open (see the module's docstring)."""
    imports.check_kind(kind)
    mode = imports.check_mode(mode)
    table = excel.read_table(data, file_name, COLUMNS[kind], read_limits(settings))
    threshold = settings.import_worker_rows
    if table.total is None or table.total <= threshold:
        # Read and checked here, without a transaction: a bad cell reference is refused before anything is written.
        rows = list(islice(table.rows, threshold + 1))
        if len(rows) <= threshold:
            result = run(db.unit_of_work, principal, kind, rows, mode=mode, total=len(rows))
            with db.unit_of_work() as session:
                record = imports.record_import(session, principal, result, file_name)
                imports.audit_import(session, principal, result, record_id=record.id, ip=ip)
            return record
    return queue(db, principal, kind, data, file_name, mode=mode, settings=settings, total=table.total, ip=ip)


def run(tx: Transactions, principal: Principal, kind: str, rows: Iterable[tuple[int, dict[str, Any]]], *,
        mode: str, progress: imports.Progress | None = None, total: int | None = None) -> imports.ImportResult:
    """Check every row, then write, each step in transactions of `tx` (Database.unit_of_work: short ones)."""
    return imports.IMPORTERS[kind](tx, principal, rows, mode=mode, progress=progress, total=total)


def queue(db: Database, principal: Principal, kind: str, data: bytes, file_name: str, *, mode: str,
          settings: Settings, total: int | None, ip: str | None = None) -> RegistryImport:
    """Keep the file (sealed: it holds ID numbers) and the import's row, queued; the worker is asked once the row is
    committed, and the file goes again if it is not."""
    storage = storage_from_settings(settings)
    record_id = uuid7()
    key = f"imports/{principal.district_code}/{record_id}.sealed"
    storage.put(key, get_cipher().seal(data, context=FILE_CONTEXT), "application/octet-stream")
    with db.unit_of_work() as session:
        remove_if_rolled_back(session, storage, [key])
        record = RegistryImport(
            district_code=principal.district_code, id=record_id, user_id=principal.user_id,
            scope_code=principal.scope_code or principal.district_code, kind=kind, file_name=(file_name or "")[:200],
            mode=mode, total=0, created=0, updated=0, unchanged=0, rejected=0, written=False, errors=[],
            status=QUEUED, rows_done=0, rows_total=total, file_key=key)
        session.add(record)
        session.flush()
        accounts.audit_for(session, principal, "registry_import_queued", target=f"registry/imports/{kind}", ip=ip,
                           detail={"import_id": str(record_id), "mode": mode, "rows": total})
        district = principal.district_code
        jobs.after_commit(session, lambda: enqueue(district, record_id))
    return record


def enqueue(district: str, import_id: uuid.UUID) -> None:
    register(jobs.queue()).run_import(district, str(import_id))


class _Progress:
    """Writes how far an import is to its row, in a short transaction of its own each time."""

    def __init__(self, db: Database, district: str, import_id: uuid.UUID) -> None:
        self.db, self.district, self.import_id = db, district, import_id

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        with self.db.unit_of_work() as session:
            session.execute(update(RegistryImport).where(_this(self.district, self.import_id)).values(
                stage=stage, rows_done=done, rows_total=total, updated_at=utcnow()))


def _this(district: str, import_id: uuid.UUID) -> Any:
    return and_(RegistryImport.district_code == district, RegistryImport.id == import_id)


def run_queued(db: Database, district: str, import_id: uuid.UUID, *, settings: Settings | None = None,
               final: bool = True, now: datetime | None = None) -> str:
    """Run one queued import (the worker's job): claim it, read its file, import, record the counts. Returns its
    state after: "done", "failed", or "skipped" when another worker has it or it ran already. An error that is
    not the file's or the importer's (the database went away) is raised for huey to try again, the import queued
    again meanwhile; `final` (no try left) marks it failed instead."""
    settings = settings or get_settings()
    now = now or utcnow()
    with db.unit_of_work() as session:
        claimed = cast(CursorResult[Any], session.execute(
            update(RegistryImport).where(_this(district, import_id), or_(
                RegistryImport.status == QUEUED,
                and_(RegistryImport.status == RUNNING, RegistryImport.updated_at < now - STALE_AFTER)))
            .values(status=RUNNING, stage="check", rows_done=0, started_at=now, updated_at=now)
            .execution_options(synchronize_session=False)))
        if claimed.rowcount != 1:
            return "skipped"
        record = session.scalars(select(RegistryImport).where(_this(district, import_id))).one()
        user_id, kind, mode, file_name, key = (record.user_id, record.kind, record.mode, record.file_name,
                                               record.file_key)
    storage = storage_from_settings(settings)
    try:
        with db.unit_of_work() as session:
            principal = _principal(session, user_id)
        if not key:
            raise Invalid("the queued file is gone", field="file", details={"problem": "unreadable"})
        data = get_cipher().unseal(storage.get(key), context=FILE_CONTEXT)
        table = excel.read_table(data, file_name, COLUMNS[kind], read_limits(settings))
        del data
        result = run(db.unit_of_work, principal, kind, table.rows, mode=mode,
                     progress=_Progress(db, district, import_id), total=table.total)
    except DomainError as exc:
        # The file (or the account that sent it) is refused: that does not change by trying again.
        _finish(db, district, import_id, {"status": FAILED, "failure": _failure(exc)})
        _drop(storage, key)
        log.info("registry import %s failed: %s %s", import_id, exc.field, exc.reason)
        return FAILED
    except Exception as exc:
        if final:
            _finish(db, district, import_id, {"status": FAILED, "failure": {
                "error": "unavailable", "reason": "interrupted", "field": "file",
                "message": "the import stopped part way; what was written stays, and importing the file again "
                           "completes it without duplicating"}})
            _drop(storage, key)
        else:
            _finish(db, district, import_id, {"status": QUEUED})
        log.warning("registry import %s stopped: %s", import_id, type(exc).__name__)
        raise
    _finish(db, district, import_id, {
        "status": DONE, "total": result.total, "created": result.created, "updated": result.updated,
        "unchanged": result.unchanged, "rejected": result.rejected, "written": result.written,
        "errors": [e.as_dict() for e in result.errors]}, principal=principal, result=result)
    _drop(storage, key)
    return DONE


def _principal(session: Session, user_id: uuid.UUID) -> Principal:
    """The importer as they are now: an account disabled or moved to a role that keeps no registry meanwhile
    imports nothing; their scope is today's."""
    user = accounts.user_by_id(session, user_id)
    if user is None or not user.is_active:
        raise Forbidden("the account that sent this import is no longer active", field="user")
    principal = accounts.load_principal(session, user.id, user.token_version)
    if principal.role not in REGISTRARS:
        raise Forbidden("the account that sent this import no longer keeps the registry", field="role")
    return principal


def _failure(exc: DomainError) -> dict[str, Any]:
    body = exc.to_dict()
    return {k: body[k] for k in ("error", "reason", "message", "field", "params", "details") if k in body}


def _finish(db: Database, district: str, import_id: uuid.UUID, values: dict[str, Any], *,
            principal: Principal | None = None, result: imports.ImportResult | None = None) -> None:
    ended = values["status"] in (DONE, FAILED)
    with db.unit_of_work() as session:
        session.execute(update(RegistryImport).where(_this(district, import_id)).values(
            **values, **({"file_key": None, "finished_at": utcnow()} if ended else {}), updated_at=utcnow()))
        if principal is not None and result is not None:
            imports.audit_import(session, principal, result, record_id=import_id)


def _drop(storage: Any, key: str | None) -> None:
    if key:
        try:
            storage.delete(key)
        except Exception:
            log.exception("could not delete the queued import file %s", key)


class ImportTasks(NamedTuple):
    run_import: Any  # huey task: run_import(district, import_id)


_registered: weakref.WeakKeyDictionary[Huey, ImportTasks] = weakref.WeakKeyDictionary()


def register(huey: Huey) -> ImportTasks:
    """Register the import job on `huey` (the worker at start, a request when it queues); twice is harmless."""
    if huey in _registered:
        return _registered[huey]

    @huey.task(name="registry.run_import", retries=RETRIES, retry_delay=RETRY_DELAY_SECONDS, context=True)
    def run_import(district: str, import_id: str, task: Any = None) -> str:
        db = Database(get_settings().database_url)
        try:
            final = task is None or not task.retries
            return run_queued(db, district, uuid.UUID(import_id), final=final)
        finally:
            db.dispose()

    _registered[huey] = tasks = ImportTasks(run_import)
    return tasks


__all__ = ["DONE", "FAILED", "QUEUED", "RUNNING", "queue", "read_limits", "register", "run", "run_queued",
           "start"]
