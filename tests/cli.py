"""The `jiayuan` command in tests: in this process through Typer's CliRunner (no interpreter to start, about a second
each), or as a real subprocess where the process itself is what is tested (the console script's exit code, what
reaches stderr). Either way what it wrote to stderr joins the run's log scan (tests/logscan.py), and in this process
its log records reach the scan's handler as every other record of the run does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from jiayuan import cli
from jiayuan.config import get_settings
from jiayuan.kit.db import Database
from tests import logscan
from tests.databases import query


@dataclass
class Ran:
    """What a `jiayuan` run left: exit code, stdout and stderr (as subprocess.CompletedProcess has them)."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str


_OPENED: list[Database] = []


class _Tracked(Database):
    """cli.database()'s Database, remembered so that its connections are closed when the command returns (a
    process would have closed them by exiting; here they would keep a SQLite file or a PostgreSQL database busy)."""

    def __init__(self, *args: object, **kw: object) -> None:
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        _OPENED.append(self)


@contextmanager
def _settings_for(url: str | None) -> Iterator[None]:
    """get_settings() is read once per process: cleared before the command (so it reads JIAYUAN_DATABASE_URL) and
    after it (so the rest of the run does not keep this command's database)."""
    original = cli.Database
    get_settings.cache_clear()
    cli.Database = _Tracked  # type: ignore[misc]
    try:
        yield
    finally:
        cli.Database = original  # type: ignore[misc]
        get_settings.cache_clear()
        while _OPENED:
            _OPENED.pop().dispose()


def run_cli(url: str | None, *args: str, input: str | None = None, env: Mapping[str, str] | None = None) -> Ran:
    """`jiayuan ARGS…` against the database at `url`, in this process. An exception the command did not turn into
    an exit code is a crash: its traceback is appended to stderr, as Python prints it before exiting with 1."""
    environment = {**({"JIAYUAN_DATABASE_URL": url} if url else {}), **(env or {})}
    with _settings_for(url):
        result = CliRunner().invoke(cli.app, list(args), input=input, env=environment, catch_exceptions=True)
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit) and result.exc_info:
        stderr += "".join(traceback.format_exception(*result.exc_info))
    ran = Ran(list(args), result.exit_code, result.stdout, stderr)
    logscan.scan_output(f"stderr of jiayuan {' '.join(args[:2])}", ran.stderr)
    return ran


def run_process(url: str, *args: str, input: str | None = None, env: Mapping[str, str] | None = None,
                timeout: float = 120) -> Ran:
    """`python -m jiayuan.cli ARGS…` as a real subprocess, as a user would run it."""
    result = subprocess.run([sys.executable, "-m", "jiayuan.cli", *args], check=False,
                            env={**os.environ, "JIAYUAN_DATABASE_URL": url, **(env or {})},
                            input=input, capture_output=True, text=True, timeout=timeout)
    logscan.scan_output(f"stderr of jiayuan {' '.join(args[:2])}", result.stderr)
    return Ran(list(args), result.returncode, result.stdout, result.stderr)


def said(result: Ran) -> str:
    """The error message as one line (Rich wraps stderr at 80 columns when it is not a terminal)."""
    return " ".join(result.stderr.split())


def ok(result: Ran) -> Ran:
    assert result.returncode == 0, f"exit {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    return result


def export(url: str, path: Path) -> dict[str, Any]:
    result = ok(run_cli(url, "units", "export", str(path)))
    collection = json.loads(path.read_text(encoding="utf-8"))
    assert f"exported {len(collection['features'])} units" in result.stdout
    return collection


def units_snapshot(url: str) -> list[tuple]:
    return query(url, "SELECT code, name, parent_code FROM units ORDER BY code")
