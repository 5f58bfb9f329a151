"""The databases of a test run: which backends run, scratch PostgreSQL databases, and prepared databases that are
built once per run and copied for every test that needs a fresh one (docs/testing.md).

SQLite always runs; PostgreSQL when JIAYUAN_TEST_DATABASE_URL names a server (each test makes and drops its own
scratch databases there), and it must when JIAYUAN_REQUIRE_POSTGRES=1 (CI). A prepared database (a `Recipe`: the
small demo as `jiayuan init` and `jiayuan demo --scale small` leave it, say) is built by the first process of the
run that needs it while the others wait on a file lock, then copied: a file copy on SQLite, `CREATE DATABASE …
TEMPLATE` on PostgreSQL. The run's folder and the templates are removed when the run ends (`end_run`)."""

from __future__ import annotations

import fcntl
import os
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from jiayuan.kit.db import normalize_url

PG_URL = os.environ.get("JIAYUAN_TEST_DATABASE_URL")
REQUIRE_PG = os.environ.get("JIAYUAN_REQUIRE_POSTGRES") == "1"
RUN_DIR_ENV = "JIAYUAN_TEST_RUN_DIR"  # set by the controlling pytest process; its xdist workers inherit it
TEMPLATE_PREFIX = "jiayuan_tpl_"


def backends() -> list:
    """The backends as pytest parameters: "sqlite", and "postgresql" marked `postgres` (skipped, with the reason,
    when no server is configured and none is required)."""
    pg = pytest.param("postgresql", marks=pytest.mark.postgres)
    if not PG_URL and not REQUIRE_PG:
        pg = pytest.param("postgresql", marks=[pytest.mark.postgres, pytest.mark.skip(
            reason="PostgreSQL not configured: set JIAYUAN_TEST_DATABASE_URL")])
    return ["sqlite", pg]


def _server() -> Engine:
    if not PG_URL:
        pytest.fail("JIAYUAN_REQUIRE_POSTGRES=1 but JIAYUAN_TEST_DATABASE_URL is not set")
    return create_engine(make_url(normalize_url(PG_URL)), isolation_level="AUTOCOMMIT")


def _pg_url(name: str) -> str:
    return make_url(normalize_url(PG_URL or "")).set(database=name).render_as_string(hide_password=False)


@contextmanager
def scratch_postgres(prefix: str, template: str | None = None) -> Iterator[str]:
    """A new PostgreSQL database on the server of JIAYUAN_TEST_DATABASE_URL, empty or a copy of `template`, dropped
    afterwards (with whatever connections are still open to it)."""
    admin = _server()
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
        yield _pg_url(name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# Prepared databases -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipe:
    """How to fill an empty database; `build(url)` must leave no connection open (dispose its engines)."""

    name: str
    build: Callable[[str], None]


def start_run() -> None:
    """In the controlling process, before xdist starts its workers: a folder for this run's prepared databases."""
    if RUN_DIR_ENV not in os.environ:
        os.environ[RUN_DIR_ENV] = tempfile.mkdtemp(prefix="jiayuan-test-run-")


def end_run() -> None:
    """In the controlling process, after every worker has ended: drop the PostgreSQL templates, remove the folder."""
    folder = os.environ.pop(RUN_DIR_ENV, None)
    if not folder:
        return
    names = [p.read_text().strip() for p in Path(folder).glob("*-postgresql.ready")]
    if names:
        admin = _server()
        try:
            with admin.connect() as conn:
                for name in names:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            admin.dispose()
    shutil.rmtree(folder, ignore_errors=True)


def _run_dir() -> Path:
    if RUN_DIR_ENV not in os.environ:  # imported outside a pytest run that went through conftest.py
        start_run()
    return Path(os.environ[RUN_DIR_ENV])


def prepared(recipe: Recipe, backend: str) -> str:
    """The prepared database of `recipe` on `backend`, built on first use in this run: a SQLite file's path, or the
    name of a PostgreSQL database that nobody connects to (its connections are turned off), to copy."""
    folder = _run_dir()
    ready = folder / f"{recipe.name}-{backend}.ready"
    with open(folder / f"{recipe.name}-{backend}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one process builds; the others wait here, then copy
        try:
            if ready.exists():
                return ready.read_text().strip()
            location = _build_sqlite(recipe, folder) if backend == "sqlite" else _build_postgres(recipe)
            ready.write_text(location)
            return location
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _build_sqlite(recipe: Recipe, folder: Path) -> str:
    path = folder / f"{recipe.name}.db"
    building = folder / f"{recipe.name}.building.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{building}{suffix}").unlink(missing_ok=True)
    recipe.build(f"sqlite:///{building}")
    conn = sqlite3.connect(building)
    try:  # everything in the main file, nothing left in the write-ahead log
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{building}{suffix}").unlink(missing_ok=True)
    building.rename(path)
    return str(path)


def _build_postgres(recipe: Recipe) -> str:
    name = f"{TEMPLATE_PREFIX}{recipe.name}_{uuid.uuid4().hex[:10]}"
    admin = _server()
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            recipe.build(_pg_url(name))
            with admin.connect() as conn:  # CREATE DATABASE … TEMPLATE fails while anyone is connected to it
                conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
                conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                             {"n": name})
        except BaseException:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            raise
    finally:
        admin.dispose()
    return name


def sqlite_copy(recipe: Recipe, path: Path) -> str:
    """The URL of a SQLite file at `path` that is a copy of `recipe`'s prepared database."""
    shutil.copyfile(prepared(recipe, "sqlite"), path)
    return f"sqlite:///{path}"


@contextmanager
def fresh_database(backend: str, folder: Path, recipe: Recipe | None = None, prefix: str = "jiayuan_t") -> Iterator[str]:
    """A database of its own (its URL): empty, or a copy of `recipe`'s prepared database. SQLite in `folder`; a
    scratch database on PostgreSQL, dropped afterwards."""
    if backend == "sqlite":
        path = folder / f"{prefix}-{uuid.uuid4().hex[:6]}.db"
        yield sqlite_copy(recipe, path) if recipe is not None else f"sqlite:///{path}"
        return
    with scratch_postgres(prefix, template=prepared(recipe, backend) if recipe is not None else None) as url:
        yield url


def query(url: str, sql: str, **params: object) -> list[tuple]:
    """Rows of one statement on the database at `url`, through an engine of its own (closed after)."""
    engine = create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


def _build_small_demo(url: str) -> None:
    from tests.cli import ok, run_cli

    ok(run_cli(url, "init"))
    assert "loaded 19 units" in ok(run_cli(url, "demo", "--scale", "small")).stdout


# The small demo (12 grids, a few hundred residents, ten providers, with cases, registry, services and care) as
# `jiayuan init` and `jiayuan demo --scale small` leave it: run once per run and backend, then copied.
SMALL_DEMO = Recipe("small_demo", _build_small_demo)
