"""Scratch PostgreSQL databases and child processes of one `make bench` run, all removed when it ends.

Every database is named jiayuan_bench_<pid>_<purpose> and dropped (WITH FORCE) on the way out, Ctrl+C
included; only processes this run started are stopped, each by its own process group."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy.engine import make_url

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"

_databases: list[str] = []
_processes: list[subprocess.Popen] = []


def server_url() -> str:
    """The maintenance database of the server to create scratch databases on."""
    return os.environ.get("JIAYUAN_BENCH_DATABASE_URL") or DEFAULT_SERVER


def _admin() -> psycopg.Connection:
    url = make_url(server_url()).set(drivername="postgresql")
    return psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)


def url_of(name: str) -> str:
    return make_url(server_url()).set(drivername="postgresql", database=name).render_as_string(hide_password=False)


def create(purpose: str, template: str | None = None) -> str:
    """A new empty database (or a copy of `template`); returns its URL."""
    name = f"jiayuan_bench_{os.getpid()}_{purpose}"
    with _admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _databases.append(name)
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return url_of(name)


def name_of(url: str) -> str:
    return make_url(url).database or ""


def drop(url: str) -> None:
    name = name_of(url)
    with _admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if name in _databases:
        _databases.remove(name)


def spawn(args: list[str], **kw: object) -> subprocess.Popen:
    """A child process in its own process group (so that stopping it stops its own children too)."""
    proc = subprocess.Popen(args, start_new_session=True, **kw)  # type: ignore[call-overload]
    _processes.append(proc)
    return proc


def stop(proc: subprocess.Popen, timeout: float = 10) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGINT)
            proc.wait(timeout=timeout)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
    if proc in _processes:
        _processes.remove(proc)


def cleanup() -> None:
    for proc in _processes:
        stop(proc)
    for name in list(_databases):
        for _ in range(3):
            try:
                with _admin() as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                _databases.remove(name)
                break
            except psycopg.Error:
                time.sleep(1)


@contextmanager
def session_of_run() -> Iterator[None]:
    """Clean up on normal exit, on an exception, on Ctrl+C and on SIGTERM."""
    previous = signal.getsignal(signal.SIGTERM)

    def terminated(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminated)
    try:
        yield
    finally:
        # A second Ctrl+C while cleaning up must not leave databases behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        cleanup()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, previous)
