"""Test set-up: migrated databases (SQLite always, PostgreSQL when JIAYUAN_TEST_DATABASE_URL is set) with the small
demo district's units and staff, built once per run and copied for each test process (tests/databases.py), each
test in a transaction rolled back after it; databases of its own for a test that needs one; personas; the order in
which pytest-xdist hands out the files. docs/testing.md describes the whole."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from jiayuan.accounts import service as accounts_service
from jiayuan.accounts.service import create_user
from jiayuan.app import create_app
from jiayuan.config import Settings
from jiayuan.demo.load import DEMO_PASSWORD, load_demo
from jiayuan.kit.db import Database
from jiayuan.kit.migrate import upgrade
from jiayuan.reference import load_reference_data
from tests import databases, logscan
from tests.databases import (  # noqa: F401 - PG_URL, REQUIRE_PG and scratch_postgres: imported from here too
    PG_URL,
    REQUIRE_PG,
    SMALL_DEMO,
    Recipe,
    backends,
    fresh_database,
    scratch_postgres,
)
from tests.personas import PERSONAS, Persona

ROOT = Path(__file__).resolve().parent.parent

# Argon2 is slow on purpose (about 170 ms a hash or a check on two cores), and the tests create and sign in
# thousands of accounts. Theirs are hashed with the cheapest parameters instead: a hash carries its parameters, so
# checking one costs what making it did. The product's own hashing (argon2-cffi's defaults) is untouched, and the
# `jiayuan` subprocesses of the CLI tests use it (tests/test_cli.py checks the parameters of a hash one makes).
accounts_service._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
accounts_service.DUMMY_HASH = accounts_service._hasher.hash("not-a-password")
RESIDENT = "resident1"


def pytest_report_header(config: pytest.Config) -> list[str]:
    pg = f"PostgreSQL at {make_url(PG_URL).render_as_string(hide_password=True)}" if PG_URL else (
        "PostgreSQL: SKIPPED (set JIAYUAN_TEST_DATABASE_URL to run every database test on it too)")
    return [f"databases: SQLite; {pg}"]


# The files that take longest, slowest first (docs/testing.md). pytest-xdist hands whole files to its workers
# (--dist loadfile), by default those with the most tests first: a slow file of few tests (the district demo, the
# browser) would start last and keep one worker busy while the others have finished. These go first instead; the
# rest follow, most tests first as before. A file missing here only costs time, never a test.
SLOWEST_FILES = (
    "tests/demo/test_district_demo.py",
    "tests/test_fuzz.py",
    "tests/notify/test_worker_process.py",
    "tests/test_backup.py",
    "tests/browser/",
    "tests/test_access_matrix.py",
    "tests/test_cli.py",
    "tests/registry/imports/test_cli.py",
)


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # the controlling process (or the only one): before any worker starts
        databases.start_run()
    if hasattr(config.option, "loadscopereorder"):  # pytest-xdist: keep the order below, not most tests first
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    def file_of(item: pytest.Item) -> str:
        return item.nodeid.split("::", 1)[0]

    tests_in: dict[str, int] = {}
    for item in items:
        tests_in[file_of(item)] = tests_in.get(file_of(item), 0) + 1

    def rank(item: pytest.Item) -> tuple[int, int]:
        path = file_of(item)
        slow = next((i for i, p in enumerate(SLOWEST_FILES) if path == p or path.startswith(p.rstrip("/") + "/")),
                    len(SLOWEST_FILES))
        return slow, -tests_in[path]

    items.sort(key=rank)  # stable: a file's tests keep their order, and files of equal rank theirs


def pytest_unconfigure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # every worker has ended: the prepared databases go
        databases.end_run()


def pytest_sessionstart(session: pytest.Session) -> None:
    logscan.install()  # every log record of the run is searched for ID numbers and phones (tests/logscan.py)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # a pytest-xdist worker: its hits go to the controller, which judges the run
        workeroutput["logscan"] = [(h.source, h.kind, h.excerpt) for h in logscan.SCAN.hits]
        return
    if logscan.SCAN.hits:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:  # noqa: ANN001 - pytest-xdist's controller, as each worker ends
    logscan.SCAN.hits.extend(logscan.Hit(*h) for h in getattr(node, "workeroutput", {}).get("logscan", []))


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:  # noqa: ANN001
    if logscan.SCAN.hits:
        terminalreporter.section("personal data in the logs", sep="=", red=True, bold=True)
        terminalreporter.line(logscan.SCAN.report(), red=True)


def _build_migrated(url: str) -> None:
    database = Database(url)
    try:
        upgrade(database.engine)
        with database.unit_of_work() as session:
            load_reference_data(session)
            load_demo(session, "small", with_cases=False, with_registry=False, with_services=False,
                      with_care=False)
            create_user(session, username=RESIDENT, full_name="居民甲", role="resident", scope_code=None,
                        password=DEMO_PASSWORD)
    finally:
        database.dispose()


# The schema built through the migrations, with the small demo's units and staff (no cases, registry, services or
# care: tests make what they need) and a resident: built once per run and backend, copied for each test process.
UNITS_AND_STAFF = Recipe("units_and_staff", _build_migrated)


class ProcessDatabases:
    """This process's database of each backend, made on first use (a copy of UNITS_AND_STAFF) and kept to the end
    of the session. Not made by the parametrized fixtures themselves: pytest tears a parametrized session fixture
    down whenever the next test has the other parameter, and under xdist's loadfile that is at every file (its
    SQLite tests, then its PostgreSQL ones), which made and loaded a database twice per file."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._tmp, self._stack = tmp_path_factory, ExitStack()
        self._made: dict[str, tuple[str, Database]] = {}

    def url(self, backend: str) -> str:
        if backend not in self._made:
            url = self._stack.enter_context(fresh_database(backend, self._tmp.mktemp("db"), UNITS_AND_STAFF,
                                                           "jiayuan_test"))
            database = Database(url)
            self._stack.callback(database.dispose)
            self._made[backend] = (url, database)
        return self._made[backend][0]

    def database(self, url: str) -> Database:
        return next(database for made, database in self._made.values() if made == url)

    def close(self) -> None:
        self._stack.close()


@pytest.fixture(scope="session")
def process_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProcessDatabases]:
    made = ProcessDatabases(tmp_path_factory)
    yield made
    made.close()


@pytest.fixture(scope="session", params=backends())
def database_url(request: pytest.FixtureRequest, process_databases: ProcessDatabases) -> str:
    """This process's database of each backend, for its whole run."""
    return process_databases.url(request.param)


@pytest.fixture(scope="session")
def migrated(database_url: str, process_databases: ProcessDatabases) -> Database:
    """The database of the run: migrated, with the small demo's units and staff and a resident committed."""
    return process_databases.database(database_url)


@pytest.fixture(params=backends())
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of its own for one test, of each backend: a SQLite file, or a scratch PostgreSQL one."""
    with fresh_database(request.param, tmp_path, prefix="jiayuan_fresh") as url:
        yield url


@pytest.fixture(params=backends())
def demo_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of its own for one test, of each backend, holding the small demo as `jiayuan init` and `jiayuan
    demo --scale small` leave it (a copy of databases.SMALL_DEMO)."""
    with fresh_database(request.param, tmp_path, SMALL_DEMO, prefix="jiayuan_demo") as url:
        yield url


class BoundDatabase(Database):
    """The app's Database, its sessions joined to one outer transaction that the test rolls back."""

    def __init__(self, engine: Engine, connection: Connection) -> None:
        self.url = str(engine.url)
        self.engine = self.replica_engine = engine
        self.sessions = self.read_sessions = sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)


@pytest.fixture
def db(migrated: Database) -> Iterator[BoundDatabase]:
    connection = migrated.engine.connect()
    outer = connection.begin()
    try:
        yield BoundDatabase(migrated.engine, connection)
    finally:
        outer.rollback()
        connection.close()


@pytest.fixture
def session(db: BoundDatabase) -> Iterator[Session]:
    with db.sessions() as s:
        yield s


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, secret_key="test-secret-" + "x" * 32,
                    node_modules=ROOT / "node_modules")


@pytest.fixture
def app(settings: Settings, db: BoundDatabase):  # noqa: ANN201
    return create_app(settings, db=db)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # noqa: ANN001
    with TestClient(app) as c:
        yield c


_TOKENS: dict[tuple[str, str], str] = {}
_DEMO_USERNAMES = frozenset(p.username for p in PERSONAS.values())


def api_token(client: TestClient, username: str, password: str = DEMO_PASSWORD) -> str:
    """A bearer token. The demo's accounts, committed once per database, keep theirs for the run (tokens are
    stateless, and Argon2 is slow on purpose); an account a test made is gone with its transaction, and one of the
    same name made by a later test is another account, so its token is asked for each time."""
    key = (str(client.app.state.db.url), username)
    if key in _TOKENS and password == DEMO_PASSWORD:
        return _TOKENS[key]
    r = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    if password == DEMO_PASSWORD and username in _DEMO_USERNAMES:
        _TOKENS[key] = r.json()["access_token"]
    return r.json()["access_token"]


class ApiUser:
    """A persona calling the JSON API with a bearer token."""

    def __init__(self, client: TestClient, persona: Persona) -> None:
        self.client, self.persona = client, persona
        self.headers = {"Authorization": f"Bearer {api_token(client, persona.username)}"}

    def get(self, url: str, headers: dict | None = None, **kw):  # noqa: ANN003, ANN201
        return self.client.get(url, headers={**self.headers, **(headers or {})}, **kw)

    def post(self, url: str, headers: dict | None = None, **kw):  # noqa: ANN003, ANN201
        return self.client.post(url, headers={**self.headers, **(headers or {})}, **kw)

    def patch(self, url: str, headers: dict | None = None, **kw):  # noqa: ANN003, ANN201
        return self.client.patch(url, headers={**self.headers, **(headers or {})}, **kw)


def page_login(client: TestClient, username: str, password: str = DEMO_PASSWORD):  # noqa: ANN201
    """Sign in through the form, as a browser does; returns the response after the redirect."""
    token = csrf_from(client.get("/login").text)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token,
                                       "next": "/home"})


def csrf_from(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token in the page"
    return m.group(1)


@pytest.fixture
def personas() -> dict[str, Persona]:
    return PERSONAS


@pytest.fixture
def api(client: TestClient):  # noqa: ANN201
    """api("grid_a") → the API as that persona."""
    cache: dict[str, ApiUser] = {}

    def as_(name: str) -> ApiUser:
        if name not in cache:
            cache[name] = ApiUser(client, PERSONAS[name])
        return cache[name]

    return as_
