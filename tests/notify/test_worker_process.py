"""The worker process outlives faults, as real subprocesses on both databases. `jiayuan worker` started while the
database does not answer (PostgreSQL restarting, or not up yet at boot) waits for it instead of exiting, and
`jiayuan serve` starts its worker again when it is killed and stops it when the server itself is stopped with
SIGTERM: otherwise the outbox would silently stop being sent, or an orphaned worker would outlive its server.
Found while building `make chaos` (bench/chaos.py)."""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Self

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from jiayuan.kit.db import Database, normalize_url
from jiayuan.kit.migrate import upgrade
from tests.databases import backends, scratch_postgres


def _migrate(url: str) -> None:
    db = Database(url)
    try:
        upgrade(db.engine)
    finally:
        db.dispose()


class Outage:
    """A migrated database that refuses connections until `end()`."""

    def __init__(self, backend: str, tmp_path: Path) -> None:
        self.backend, self.tmp_path = backend, tmp_path

    def __enter__(self) -> Self:
        if self.backend == "sqlite":
            # A directory where the file should be: "unable to open database file", until the file is put there.
            self.ready = self.tmp_path / "ready.db"
            _migrate(f"sqlite:///{self.ready}")
            self.path = self.tmp_path / "jiayuan.db"
            self.path.mkdir()
            self.url = f"sqlite:///{self.path}"
        else:
            self._scratch = scratch_postgres("jiayuan_worker")
            self.url = self._scratch.__enter__()
            _migrate(self.url)
            self._admin = create_engine(make_url(normalize_url(self.url)).set(database="postgres"),
                                        isolation_level="AUTOCOMMIT")
            self._allow(False)
        return self

    def _allow(self, allowed: bool) -> None:
        name = make_url(self.url).database
        with self._admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allowed).lower()}'))

    def end(self) -> None:
        if self.backend == "sqlite":
            self.path.rmdir()
            for suffix in ("", "-wal", "-shm"):
                if Path(f"{self.ready}{suffix}").exists():
                    shutil.move(f"{self.ready}{suffix}", f"{self.path}{suffix}")
        else:
            self._allow(True)

    def __exit__(self, *exc: object) -> None:
        if self.backend != "sqlite":
            self._allow(True)
            self._admin.dispose()
            self._scratch.__exit__(None, None, None)


@pytest.fixture(params=backends())
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def outage(backend: str, tmp_path: Path) -> Iterator[Outage]:
    with Outage(backend, tmp_path) as o:
        yield o


def _lines(proc: subprocess.Popen[str]) -> queue.Queue[str]:
    out: queue.Queue[str] = queue.Queue()

    def pump(stream) -> None:  # noqa: ANN001
        for line in stream:
            out.put(line)

    for stream in (proc.stdout, proc.stderr):
        threading.Thread(target=pump, args=(stream,), daemon=True).start()
    return out


def _wait_for(proc: subprocess.Popen[str], lines: queue.Queue[str], needle: str, seconds: float,
              seen: list[str]) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            if proc.poll() is not None and lines.empty():
                break  # exited, and everything it said has been read
            continue
        seen.append(line)
        if needle in line:
            return
    raise AssertionError(f"no {needle!r} within {seconds:.0f} s (exit code {proc.poll()}); the worker said: "
                         f"{''.join(seen)}")


def test_the_worker_waits_for_a_database_that_does_not_answer(outage: Outage, tmp_path: Path) -> None:
    env = {**os.environ, "JIAYUAN_DATABASE_URL": outage.url, "JIAYUAN_VAR_DIR": str(tmp_path / "var"),
           "JIAYUAN_LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "jiayuan.cli", "worker", "--threads", "1"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    seen: list[str] = []
    try:
        lines = _lines(proc)
        _wait_for(proc, lines, "the database is not answering", 90, seen)
        assert proc.poll() is None, "the worker exited instead of waiting"
        outage.end()
        _wait_for(proc, lines, "worker started", 30, seen)
        assert proc.poll() is None
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


@contextmanager
def _migrated(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'jiayuan.db'}"
        _migrate(url)
        yield url
        return
    with scratch_postgres("jiayuan_serve") as url:
        _migrate(url)
        yield url


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as f:
            return "zombie" not in f.read()
    except FileNotFoundError:
        return False


def test_serve_starts_a_killed_worker_again_and_stops_it_on_sigterm(backend: str, tmp_path: Path) -> None:
    with _migrated(backend, tmp_path) as url:
        env = {**os.environ, "JIAYUAN_DATABASE_URL": url, "JIAYUAN_VAR_DIR": str(tmp_path / "var"),
               "JIAYUAN_LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"}
        proc = subprocess.Popen([sys.executable, "-m", "jiayuan.cli", "serve", "--port", str(_free_port())],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        seen: list[str] = []
        try:
            lines = _lines(proc)
            _wait_for(proc, lines, "worker started (pid", 90, seen)
            first = int(re.search(r"worker started \(pid (\d+)", seen[-1]).group(1))
            os.kill(first, signal.SIGKILL)
            _wait_for(proc, lines, f"the worker (pid {first}) stopped with signal SIGKILL", 30, seen)
            _wait_for(proc, lines, "worker started (pid", 90, seen)
            second = int(re.search(r"worker started \(pid (\d+)", seen[-1]).group(1))
            assert second != first and _alive(second)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=60) == 128 + signal.SIGTERM
            assert not _alive(second), "the worker outlived its server"
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
