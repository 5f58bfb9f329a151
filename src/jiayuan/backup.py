"""`jiayuan backup FILE` and `jiayuan restore FILE`: a logical, portable copy of every table, for SQLite and
PostgreSQL alike (a backup of one restores into the other).

The file is a gzipped tar: `manifest.json` (format, the migration revision, when, and per table its row count and a
SHA-256 of its rows) and one JSON-lines file per table, rows in primary-key order. Encrypted columns are copied as
the ciphertext they are, so a backup holds no ID number or phone in plain text and needs the same keys to be read.
Uploaded files kept on disk (var/uploads) travel in `files/`. A restore checks the revision, writes every table in
one transaction, and verifies the counts and checksums before it commits.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Engine, MetaData, String, Table, TypeDecorator, bindparam, func, insert, select
from sqlalchemy.engine import Connection

import jiayuan.models  # noqa: F401 - every table registered
from jiayuan.kit.crypto import Encrypted
from jiayuan.kit.db import Base, analyze, utcnow
from jiayuan.kit.errors import Conflict, Invalid
from jiayuan.kit.migrate import current_revision, head_revision, upgrade

FORMAT = "jiayuan-backup"
VERSION = 1
CHUNK = 2000
Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class TableDigest:
    rows: int
    sha256: str


def _raw_tables() -> list[Table]:
    """Every table in dependency order, with encrypted columns read and written as the tokens they store."""
    raw = MetaData()
    return [Table(t.name, raw, *[Column(c.name, String() if isinstance(c.type, Encrypted) else c.type,
                                        primary_key=c.primary_key) for c in t.columns])
            for t in Base.metadata.sorted_tables]


def _encode(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _decode(column: Column, value: Any) -> Any:
    if value is None:
        return None
    python_type = _python_type(column)
    if python_type is uuid.UUID:
        return uuid.UUID(value)
    if python_type is datetime:
        return datetime.fromisoformat(value)
    if python_type is date:
        return date.fromisoformat(value)
    return value


def _self_references(name: str) -> list[str]:
    """Columns of a table that point at another row of the same table (a case merged into another): restored
    empty first and filled in after every row is there, so that row order never breaks a foreign key."""
    table = Base.metadata.tables[name]
    return sorted({fk.parent.name for fk in table.foreign_keys
                   if fk.column.table is table and not fk.parent.primary_key})


def _python_type(column: Column) -> type | None:
    kind = column.type.impl_instance if isinstance(column.type, TypeDecorator) else column.type
    try:
        return kind.python_type
    except NotImplementedError:
        return None


def _rows(conn: Connection, table: Table) -> Iterator[list[Any]]:
    stmt = select(*table.columns).order_by(*table.primary_key.columns)
    for row in conn.execution_options(yield_per=CHUNK).execute(stmt):
        yield [_encode(v) for v in row]


def _line(row: list[Any]) -> bytes:
    return json.dumps(row, ensure_ascii=False, separators=(",", ":"), sort_keys=False).encode() + b"\n"


def digests(engine: Engine) -> dict[str, TableDigest]:
    """Row count and SHA-256 of every table as a backup would write it: equal digests, equal data."""
    found = {}
    with engine.connect() as conn:
        for table in _raw_tables():
            h, n = hashlib.sha256(), 0
            for row in _rows(conn, table):
                h.update(_line(row))
                n += 1
            found[table.name] = TableDigest(n, h.hexdigest())
    return found


def backup(engine: Engine, target: Path, *, files: Path | None = None, progress: Progress | None = None) -> dict:
    """Write every table (and the uploaded files under `files`, if given) to `target`; returns the manifest."""
    tables = _raw_tables()
    manifest: dict[str, Any] = {"format": FORMAT, "version": VERSION, "revision": current_revision(engine),
                                "created_at": utcnow().isoformat(), "dialect": engine.dialect.name, "tables": {}}
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    # One read transaction for every table: a consistent snapshot on PostgreSQL (REPEATABLE READ) and SQLite.
    with tarfile.open(partial, "w:gz") as tar, engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            for table in tables:
                h, n = hashlib.sha256(), 0
                with tempfile.TemporaryFile() as tmp:
                    for row in _rows(conn, table):
                        line = _line(row)
                        h.update(line)
                        tmp.write(line)
                        n += 1
                    info = tarfile.TarInfo(f"tables/{table.name}.jsonl")
                    info.size = tmp.tell()
                    tmp.seek(0)
                    tar.addfile(info, tmp)
                manifest["tables"][table.name] = {"rows": n, "sha256": h.hexdigest(),
                                                  "columns": [c.name for c in table.columns]}
                if progress:
                    progress(table.name, n)
        if files is not None and files.is_dir():
            tar.add(files, arcname="files", recursive=True)
        data = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    partial.replace(target)  # a backup that stopped half-way never looks like a whole one
    return manifest


def read_manifest(source: Path) -> dict:
    try:
        with tarfile.open(source, "r:gz") as tar:
            member = tar.extractfile("manifest.json")
            manifest = json.loads(member.read()) if member else None
    except (tarfile.TarError, KeyError, OSError, json.JSONDecodeError):
        raise Invalid(f"{source} is not a Jiayuan backup (a .tar.gz with manifest.json)", field="FILE") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise Invalid(f"{source} is not a Jiayuan backup", field="FILE")
    if manifest.get("version") != VERSION:
        raise Invalid(f"backup format version {manifest.get('version')} is not supported", field="FILE")
    return manifest


def restore(engine: Engine, source: Path, *, replace: bool = False, files: Path | None = None,
            progress: Progress | None = None) -> dict:
    """Load a backup into the database at `engine`: migrated first if it is new, refused if it already holds data
    (unless `replace`), refused if the backup comes from another migration revision. All or nothing."""
    manifest = read_manifest(source)
    upgrade(engine)
    if manifest["revision"] != head_revision():
        raise Conflict(f"the backup is of schema revision {manifest['revision']}, this release is at "
                       f"{head_revision()}: restore it with the release that made it, then upgrade", field="FILE")
    tables = _raw_tables()
    with tarfile.open(source, "r:gz") as tar, engine.connect() as conn, conn.begin():
        held = sum(conn.scalar(select(func.count()).select_from(t)) or 0 for t in tables)
        if held and not replace:
            raise Conflict(f"the database already holds {held} rows; restore into an empty one, or pass --replace",
                           field="FILE")
        for table in reversed(tables):
            conn.execute(table.delete())
        for table in tables:
            meta = manifest["tables"].get(table.name)
            if meta is None:
                continue  # a table the backup's release did not have cannot hold anything of it
            if meta["columns"] != [c.name for c in table.columns]:
                raise Conflict(f"table {table.name} has other columns than in the backup", field="FILE")
            member = tar.extractfile(f"tables/{table.name}.jsonl")
            later = _self_references(table.name)
            keys = [c.name for c in table.primary_key.columns]
            h, n, batch, links = hashlib.sha256(), 0, [], []
            for line in member or []:
                h.update(line)
                try:
                    row = dict(zip(meta["columns"], [_decode(c, v) for c, v in zip(
                        table.columns, json.loads(line), strict=True)], strict=True))
                except (ValueError, TypeError):  # cut short, or not what this table holds
                    raise Conflict(f"table {table.name} in the backup is damaged (row {n + 1})", field="FILE") from None
                if later and any(row[c] is not None for c in later):
                    links.append({**{f"k_{k}": row[k] for k in keys}, **{f"v_{c}": row[c] for c in later}})
                    row.update(dict.fromkeys(later))
                batch.append(row)
                n += 1
                if len(batch) >= CHUNK:
                    conn.execute(insert(table), batch)
                    batch = []
            if batch:
                conn.execute(insert(table), batch)
            if links:
                conn.execute(table.update().where(*[table.c[k] == bindparam(f"k_{k}") for k in keys])
                             .values({c: bindparam(f"v_{c}") for c in later}), links)
            if (n, h.hexdigest()) != (meta["rows"], meta["sha256"]):
                raise Conflict(f"table {table.name} in the backup is damaged (rows or checksum differ)", field="FILE")
            if progress:
                progress(table.name, n)
        if files is not None:
            with tempfile.TemporaryDirectory() as tmp:
                tar.extractall(tmp, members=[m for m in tar.getmembers() if m.name.startswith("files/")],
                               filter="data")
                if (Path(tmp) / "files").is_dir():
                    shutil.copytree(Path(tmp) / "files", files, dirs_exist_ok=True)
    analyze(engine)
    return manifest
