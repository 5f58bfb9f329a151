"""Imports outside the request's transaction: a file is read and checked before anything is written, then written a
thousand rows at a time in short transactions, so that on SQLite a page can write while a large import runs (test
with threads); a file over `import_worker_rows` goes to the worker, sealed meanwhile, its progress on its page and in
the API; a run that stops part way is run again without duplicating anyone; a crafted file is refused naming its
problem. Each test has a database of its own: the import commits, as it does in production."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from huey import MemoryHuey
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from jiayuan.app import create_app
from jiayuan.config import Settings
from jiayuan.kit import jobs
from jiayuan.kit.db import Database
from jiayuan.registry.imports import people as people_import
from jiayuan.registry.imports import tasks
from jiayuan.registry.models import Compound, Person
from jiayuan.registry.people import service as people_service
from tests.conftest import ROOT, UNITS_AND_STAFF, ApiUser, csrf_from, page_login
from tests.databases import backends, fresh_database
from tests.personas import GRID_A, PERSONAS
from tests.registry.helpers import csv_bytes, id_number

API = "/api/v1/registry"


def people(n: int) -> list[dict[str, Any]]:
    return [{"name": f"导入{i}", "id_number": id_number(i % 1000, birth=f"1980{1 + i // 1000:02d}01"),
             "grid_code": GRID_A} for i in range(n)]


@pytest.fixture(params=backends())
def own_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database(request.param, tmp_path, UNITS_AND_STAFF, prefix="jiayuan_imports") as url:
        yield url


def settings_for(url: str, tmp_path: Path, **changes: Any) -> Settings:
    return Settings(database_url=url, secret_key="test-secret-" + "x" * 32, node_modules=ROOT / "node_modules",
                    var_dir=tmp_path / "var", **changes)


def count_people(url: str) -> int:
    db = Database(url)
    try:
        with db.sessions() as s:
            return s.scalar(select(func.count(func.distinct(Person.id_number_index))).where(
                Person.grid_code == GRID_A, Person.name.like("导入%"))) or 0
    finally:
        db.dispose()


def test_a_page_writes_while_a_large_import_is_read_and_written(own_url: str, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The import reads and checks 1,500 rows, slowly (2 ms each); a staff member adds a compound meanwhile. On
    SQLite every transaction takes the write lock at its first statement: an import inside the request's
    transaction held it to the end, and the page waited for the whole import."""
    app = create_app(settings_for(own_url, tmp_path, import_worker_rows=10_000))
    reading = threading.Event()
    index = people_service.id_number_index

    def slowly(value: str) -> str:
        reading.set()
        time.sleep(0.002)
        return index(value)

    monkeypatch.setattr(people_service, "id_number_index", slowly)
    data = csv_bytes("people", people(1500))
    outcome: dict[str, Any] = {}
    with TestClient(app) as importer, TestClient(app) as writer:
        staff = ApiUser(importer, PERSONAS["grid_a"])
        page_login(writer, PERSONAS["community"].username)
        form = csrf_from(writer.get("/registry/houses").text)

        def run() -> None:
            outcome["import"] = staff.post(f"{API}/imports/people", files={"file": ("p.csv", data, "text/csv")})

        thread = threading.Thread(target=run)
        thread.start()
        try:
            assert reading.wait(60)
            started = time.monotonic()
            page = writer.post("/registry/houses", data={"csrf_token": form, "name": "导入时新建的小区",
                                                         "grid_code": GRID_A, "address": "文山路2号"})
            waited = time.monotonic() - started
            importing = thread.is_alive()
        finally:
            thread.join(300)
    assert page.status_code in (200, 303), page.text[:300]
    assert importing, f"the page waited {waited:.1f} s, until the import had ended"
    result = outcome["import"]
    assert result.status_code == 201 and result.json()["created"] == 1500 and result.json()["status"] == "done"
    assert count_people(own_url) == 1500
    db = Database(own_url)
    try:
        with db.sessions() as s:
            assert s.scalar(select(func.count()).select_from(Compound).where(Compound.name == "导入时新建的小区")) == 1
    finally:
        db.dispose()


@pytest.fixture
def worker(monkeypatch: pytest.MonkeyPatch) -> MemoryHuey:
    """The queue the requests send to, run by hand: a task runs when the test executes it."""
    huey = MemoryHuey("test-imports")
    monkeypatch.setattr(jobs, "queue", lambda: huey)
    return huey


def test_a_large_import_runs_in_the_worker_reporting_its_progress(own_url: str, tmp_path: Path, worker: MemoryHuey,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_for(own_url, tmp_path, import_worker_rows=100)
    monkeypatch.setattr(tasks, "get_settings", lambda: settings)
    rows = people(1200)
    with TestClient(create_app(settings)) as client:
        staff = ApiUser(client, PERSONAS["grid_a"])
        r = staff.post(f"{API}/imports/people", files={"file": ("居民.csv", csv_bytes("people", rows), "text/csv")})
        assert r.status_code == 202, r.text
        assert (r.json()["status"], r.json()["rows_total"], r.json()["created"]) == ("queued", 1200, 0)
        location = r.headers["location"]
        assert staff.get(location).json()["status"] == "queued" and count_people(own_url) == 0
        # The file waits sealed: no ID number in it as stored.
        (stored,) = (tmp_path / "var" / "uploads" / "imports").rglob("*.sealed")
        assert rows[0]["id_number"].encode() not in stored.read_bytes() and "导入0".encode() not in stored.read_bytes()
        # Its page shows that it waits, and asks again every few seconds.
        page_login(client, PERSONAS["grid_a"].username)
        page = client.get(f"/registry/import/{location.rsplit('/', 1)[1]}")
        assert 'id="import-progress"' in page.text and "hx-get=" in page.text and "后台" in page.text

        seen: list[tuple[str, str | None, int, int | None]] = []
        report = tasks._Progress.__call__

        def watched(self: Any, stage: str, done: int, total: int | None) -> None:
            report(self, stage, done, total)
            body = staff.get(location).json()  # what a client polling the API sees meanwhile
            seen.append((body["status"], body["stage"], body["rows_done"], body["rows_total"]))

        monkeypatch.setattr(tasks._Progress, "__call__", watched)
        # The first run stops after its first thousand people (the database went away): those stay, whole.
        write_people = people_import._write_people
        calls: list[int] = []

        def failing_once(session: Any, part: Any) -> None:
            calls.append(len(part))
            if len(calls) == 2:
                raise OperationalError("INSERT", None, Exception("the database went away"))
            write_people(session, part)

        monkeypatch.setattr(people_import, "_write_people", failing_once)
        worker.execute(worker.dequeue())
        assert staff.get(location).json()["status"] == "queued"  # to be tried again
        assert count_people(own_url) == 1000 and stored.exists()
        progress = client.get(f"/registry/import/{location.rsplit('/', 1)[1]}/progress")
        assert progress.status_code == 200 and 'id="import-progress"' in progress.text

        first_run = list(seen)
        assert first_run == [("running", "check", 1000, 1200), ("running", "check", 1200, 1200),
                             ("running", "write", 1000, 1200)]
        (retry,) = worker.scheduled()
        seen.clear()
        worker.execute(retry, timestamp=retry.eta)
        done = staff.get(location).json()
        assert (done["status"], done["total"], done["created"], done["unchanged"]) == ("done", 1200, 200, 1000)
        assert count_people(own_url) == 1200  # nobody twice
        assert not stored.exists()
        # Run again, it checks every row and writes what is left: the 200 the first run did not reach.
        assert seen == [("running", "check", 1000, 1200), ("running", "check", 1200, 1200),
                        ("running", "write", 200, 200)]
        # Its page now reloads whole with the result.
        ended = client.get(f"/registry/import/{location.rsplit('/', 1)[1]}/progress")
        assert ended.headers.get("hx-refresh") == "true"
        assert "新增" in client.get(f"/registry/import/{location.rsplit('/', 1)[1]}").text
        # Asked to run it again (a duplicate delivery), the worker leaves it alone.
        assert tasks.run_queued(Database(own_url), GRID_A[:6], uuid.UUID(done["id"]), settings=settings) == "skipped"


def test_in_immediate_mode_a_queued_import_runs_when_it_is_queued(own_url: str, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_for(own_url, tmp_path, import_worker_rows=100)
    monkeypatch.setattr(tasks, "get_settings", lambda: settings)
    monkeypatch.setattr(jobs, "queue", lambda: MemoryHuey("test-imports-now", immediate=True))
    with TestClient(create_app(settings)) as client:
        staff = ApiUser(client, PERSONAS["grid_a"])
        data = csv_bytes("people", people(150))
        r = staff.post(f"{API}/imports/people", files={"file": ("p.csv", data, "text/csv")})
        assert r.status_code == 202
        done = staff.get(r.headers["location"]).json()
        assert (done["status"], done["created"], done["rows_done"], done["rows_total"]) == ("done", 150, 150, 150)
        # The same file again, in the request this time (fewer rows than the threshold would be), changes nothing.
        again = staff.post(f"{API}/imports/people", files={"file": ("p.csv", data, "text/csv")})
        assert again.status_code == 202 and staff.get(again.headers["location"]).json()["unchanged"] == 150
    assert count_people(own_url) == 150


def test_a_file_that_fails_in_the_worker_says_why(own_url: str, tmp_path: Path, worker: MemoryHuey,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A file read in the worker that turns out over a limit (a cell beyond column IV in row 150): failed, with the
    problem and the row, in the API and translated on its page; the sealed file is gone."""
    settings = settings_for(own_url, tmp_path, import_worker_rows=100)
    monkeypatch.setattr(tasks, "get_settings", lambda: settings)
    text = csv_bytes("people", people(200)).decode("utf-8-sig").splitlines()
    text[150] += "," * 300 + "x"
    with TestClient(create_app(settings)) as client:
        staff = ApiUser(client, PERSONAS["grid_a"])
        r = staff.post(f"{API}/imports/people", files={"file": ("p.csv", "\n".join(text).encode(), "text/csv")})
        assert r.status_code == 202
        worker.execute(worker.dequeue())
        failed = staff.get(r.headers["location"]).json()
        assert failed["status"] == "failed" and failed["created"] == 0
        assert failed["failure"]["field"] == "file"
        assert failed["failure"]["details"] == {"problem": "too_many_columns", "row": 151, "cell": "LB151",
                                                "limit": 256}
        page_login(client, PERSONAS["grid_a"].username)
        page = client.get(f"/registry/import/{r.headers['location'].rsplit('/', 1)[1]}")
        assert 'id="import-failure"' in page.text and "LB151" in page.text and "256" in page.text
    assert count_people(own_url) == 0
    assert list((tmp_path / "var" / "uploads" / "imports").rglob("*.sealed")) == []


def test_a_crafted_workbook_is_refused_before_anything_is_queued_or_written(client: TestClient, api: Any) -> None:
    from tests.kit.test_excel_limits import SHEET, rewrite, workbook

    crafted = rewrite(workbook(), SHEET, lambda xml: xml.replace(b'<dimension ref="A1:B4"', b'<dimension ref="A1:XFD1048576"'))
    r = api("grid_a").post(f"{API}/imports/people", files={"file": ("p.xlsx", crafted, "application/octet-stream")})
    assert r.status_code == 422 and r.json()["field"] == "file"
    assert r.json()["details"] == {"problem": "too_many_columns", "cell": "XFD1048576", "limit": 256}
