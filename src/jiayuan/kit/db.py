"""The database: declarative base, table kinds, ids, engines and the unit of work."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from sqlalchemy import (
    DateTime,
    Dialect,
    Engine,
    ForeignKeyConstraint,
    MetaData,
    String,
    TypeDecorator,
    Uuid,
    create_engine,
    event,
)
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

TableKind = Literal["tenant", "reference", "local"]

# Constraint names are part of the schema: Alembic needs them to alter or drop a constraint later.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Unit codes are digit strings compared by prefix; byte order ("C") keeps range scans on the index in
# PostgreSQL whatever the database's locale. SQLite compares bytes already.
CodeString = String(15).with_variant(String(15, collation="C"), "postgresql")
DistrictCode = String(6).with_variant(String(6, collation="C"), "postgresql")

_last_uuid7_ms = 0
_uuid7_seq = 0


def uuid7() -> uuid.UUID:
    """A time-ordered UUID (RFC 9562 version 7), monotonic within this process.

    The 12-bit rand_a field is a counter inside one millisecond, so ids made in the same millisecond
    still sort in creation order; rand_b stays random, so processes do not collide.
    """
    global _last_uuid7_ms, _uuid7_seq
    ms = time.time_ns() // 1_000_000
    if ms <= _last_uuid7_ms:
        _uuid7_seq += 1
        if _uuid7_seq > 0xFFF:  # counter exhausted: borrow the next millisecond
            _last_uuid7_ms += 1
            _uuid7_seq = 0
        ms = _last_uuid7_ms
    else:
        _last_uuid7_ms, _uuid7_seq = ms, 0
    rand_b = int.from_bytes(os.urandom(8)) & 0x3FFF_FFFF_FFFF_FFFF
    value = (ms & 0xFFFF_FFFF_FFFF) << 80 | 0x7 << 76 | _uuid7_seq << 64 | 0b10 << 62 | rand_b
    return uuid.UUID(int=value)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A moment in time, always timezone-aware UTC in Python: SQLite keeps no zone and would hand back naive
    datetimes that cannot be compared with aware ones; PostgreSQL keeps timestamptz."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: use an aware one (kit.db.utcnow)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Every model says which kind of table it is (DESIGN.md §6): tenant, reference or local."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    __table_kind__: TableKind


class Tenant:
    """A district's data: keyed by (district_code, id) so that it can be sharded by district."""

    __table_kind__: TableKind = "tenant"

    district_code: Mapped[str] = mapped_column(DistrictCode, primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)


class Reference:
    """Small data shared by every district (categories, catalogues, staff accounts)."""

    __table_kind__: TableKind = "reference"


class Local:
    """The coordinator's own bookkeeping (job queue, cache versions)."""

    __table_kind__: TableKind = "local"


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


def tenant_fk(columns: list[str], target: str, **kw: object) -> ForeignKeyConstraint:
    """A foreign key between tenant tables: always composite, always through district_code."""
    return ForeignKeyConstraint(
        ["district_code", *columns], [f"{target}.district_code", f"{target}.id"], **kw
    )


def defer_write(session: Session, row: object) -> None:
    """Write `row` after the session's transaction ends, committed or not (see Database.unit_of_work)."""
    session.info.setdefault("deferred", []).append(row)


def defer_call(session: Session, work: Callable[[Session], None]) -> None:
    """Run `work(after)` after the session's transaction ends, committed or not, in the transaction that writes the
    deferred rows: what a refusal must leave behind (a throttle count, an alert) although its own work is undone."""
    session.info.setdefault("deferred", []).append(work)


def normalize_url(url: str) -> str:
    """Accept plain postgresql:// URLs and use psycopg 3 for them."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, **kw: object) -> Engine:
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kw)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, **kw)


def _sqlite_on_connect(dbapi_conn, _record) -> None:  # noqa: ANN001
    # Let SQLAlchemy issue BEGIN itself (below) so that writers queue on the lock instead of failing
    # half-way with "database is locked" when a read transaction upgrades to a write.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_on_begin(conn) -> None:  # noqa: ANN001
    # As Django's transaction_mode="IMMEDIATE": take the write lock up front, wait for it (busy_timeout).
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def analyze(engine: Engine, table: str | None = None, *, vacuum: bool = False) -> None:
    """Refresh the query planner's statistics after a bulk load (both engines know ANALYZE). Without them SQLite
    and PostgreSQL plan as if the tables were still empty and pick the wrong index.

    With `vacuum` on PostgreSQL, VACUUM (ANALYZE): it also marks the loaded pages all-visible, so that index-only
    scans (the case metrics) need not visit the table, as they will not once autovacuum has passed."""
    target = f' "{table}"' if table else ""
    if vacuum and is_postgres(engine):
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f"VACUUM (ANALYZE){target}")
        return
    with engine.begin() as conn:
        conn.exec_driver_sql(f"ANALYZE{target}")


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


class Database:
    """Engines and session factories of one process: the primary, and a replica for figures."""

    def __init__(self, url: str, replica_url: str | None = None) -> None:
        self.url = normalize_url(url)
        self.engine = make_engine(self.url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.replica_engine = make_engine(replica_url) if replica_url else self.engine
        self.read_sessions = sessionmaker(self.replica_engine, expire_on_commit=False)

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One transaction: commit if the block succeeds, roll back if it raises.

        Rows given to `defer_write` (audit entries) are written afterwards in a transaction of their own,
        whichever way the first one ended: a refused action is recorded although its work is undone.
        """
        session = self.sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            deferred = session.info.pop("deferred", [])
            session.close()
            if deferred:
                with self.sessions() as after:
                    for item in deferred:
                        if callable(item):
                            item(after)
                        else:
                            after.add(item)
                    after.commit()

    def dispose(self) -> None:
        self.engine.dispose()
        if self.replica_engine is not self.engine:
            self.replica_engine.dispose()
