"""Fuzzing the whole OpenAPI of the app with schemathesis, signed in as every role: no answer is a server error, and
every error body has the shape its family promises — {"error", "reason", "message", "field"?, "params"?, "details"?} under /api/ and
/hsds/, the GeoReport v2 error list under /open311/.

What is sent, for each operation (deterministic, so that a failure reproduces; JIAYUAN_FUZZ_SEED=<n> draws other
random examples, JIAYUAN_FUZZ_CASES / _RANDOM raise the counts):
- a sample of schemathesis' coverage cases (boundaries, missing and mistyped fields, wrong content types,
  unexpected methods), a few random examples from its Hypothesis strategies (valid and invalid), and
- one hostile value per parameter and top-level body field that the schema itself allows: integers past 64 bits,
  NaN and 1e308, strings with a NUL character or longer than any column, the extreme dates.
Path parameters are real records of a small world (tests/world.py) unless the case is about the path itself, so that
bodies reach the services and not only the router.
Roles: the first case of an operation goes out as every role (anonymous, grid worker, community, street, district,
hotline operator, department, resident, provider staff, volunteer); the rest go round-robin to the roles that were
not refused (401, or 403 naming the role), so that every case reaches a role that may act.

Cost: generation is done once per run and shared by the databases; the requests take about 25 s of CPU on SQLite.
PostgreSQL runs the same cases when it is configured (JIAYUAN_TEST_DATABASE_URL): it is where NUL characters and
overlong strings fail, so it must not be skipped.
"""

from __future__ import annotations

import contextlib
import os
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis.config import GenerationConfig
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation import GenerationMode

from tests.personas import GRID_A
from tests.world import World, build_world

CASES = int(os.environ.get("JIAYUAN_FUZZ_CASES", "5"))
RANDOM = int(os.environ.get("JIAYUAN_FUZZ_RANDOM", "2"))
SEED = os.environ.get("JIAYUAN_FUZZ_SEED")
TIMEOUT = 20  # seconds for one request: past it the request counts as a failure
ROLES = ("anonymous", "grid_a", "community", "street", "admin", "hotline", "department", "resident", "provider",
         "volunteer")
# Argon2 makes every sign-in slow on purpose: a few are enough.
FEWER = {"POST /api/v1/auth/token": 4}
OPEN311 = "/open311/"


# What is sent.

@dataclass
class Planned:
    label: str
    cases: list[Any] = field(default_factory=list)  # coverage and random cases, the first a valid one
    hostile: list[Any] = field(default_factory=list)


_PLAN: list[Planned] = []
# The roles not refused by each operation, learnt on the first database and reused on the second.
_ALLOWED: dict[str, list[str]] = {}


def _spread(cases: list[Any], n: int) -> list[Any]:
    """n cases spread evenly over the list (coverage cases come grouped by parameter and scenario)."""
    if len(cases) <= n:
        return cases
    step = len(cases) / n
    return [cases[int(i * step)] for i in range(n)]


def _random(op: Any, n: int) -> list[Any]:
    if n <= 0:
        return []
    out: list[Any] = []
    strategy = (op.as_strategy(generation_mode=GenerationMode.POSITIVE)
                | op.as_strategy(generation_mode=GenerationMode.NEGATIVE))

    @settings(max_examples=n, derandomize=SEED is None, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def draw(case: Any) -> None:
        out.append(case)

    if SEED is not None:
        draw = seed(int(SEED))(draw)
    with contextlib.suppress(Exception):  # a schema Hypothesis cannot satisfy: the coverage cases remain
        draw()
    return out[:n]


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while isinstance(schema, dict) and "$ref" in schema:
        schema = root["components"]["schemas"][schema["$ref"].split("/")[-1]]
    if isinstance(schema, dict) and "anyOf" in schema:  # Optional[X]: the X
        kinds = [s for s in schema["anyOf"] if s.get("type") != "null"]
        if len(kinds) == 1:
            return _resolve(kinds[0], root)
    return schema


def hostile(schema: dict[str, Any], root: dict[str, Any], where: str) -> list[Any]:
    """Values the schema allows that databases and code often do not."""
    s = _resolve(schema, root)
    if not isinstance(s, dict) or "enum" in s or "const" in s:
        return []
    kind, fmt = s.get("type"), s.get("format")
    if kind == "integer":
        return [] if "maximum" in s or "exclusiveMaximum" in s else [2**64 + 1]
    if kind == "number":
        if "maximum" in s or "exclusiveMaximum" in s:
            return []
        return ["nan", "1e308"] if where != "body" else [1e308]
    if kind == "string":
        if fmt == "date":
            return ["9999-12-31", "0001-01-01"]
        if fmt == "date-time":
            return ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"]
        if fmt in ("uuid", "binary") or "pattern" in s:
            return []
        longest = min(s.get("maxLength", 3000), 3000)
        if s.get("minLength", 0) > longest:
            return []
        return ["a\x00b"[: max(longest, 1)], "长" * longest]
    return []


def _hostile_cases(op: Any, base: Any, root: dict[str, Any]) -> list[Any]:
    """One case per (parameter or top-level body field, hostile value), the rest as in `base` (a valid case)."""
    out = []
    raw = op.definition.raw
    for param in raw.get("parameters", []):
        loc = param["in"]
        if loc not in ("query", "path"):
            continue
        for value in hostile(param.get("schema", {}), root, loc):
            query, path = dict(base.query or {}), dict(base.path_parameters or {})
            (query if loc == "query" else path)[param["name"]] = value
            out.append(op.Case(query=query, path_parameters=path, body=base.body, media_type=base.media_type))
    content = raw.get("requestBody", {}).get("content", {})
    if base.media_type in content and isinstance(base.body, dict):
        props = _resolve(content[base.media_type].get("schema", {}), root).get("properties", {})
        for name, prop in props.items():
            for value in hostile(prop, root, "body"):
                if base.media_type.startswith("multipart") and not isinstance(value, str):
                    continue
                body = {**base.body, name: value}
                out.append(op.Case(query=dict(base.query or {}), path_parameters=dict(base.path_parameters or {}),
                                   body=body, media_type=base.media_type))
    return out


def plan(schema: Any, root: dict[str, Any]) -> list[Planned]:
    """Every operation's cases, made once per run (generation costs more than sending)."""
    if _PLAN:
        return _PLAN
    config = GenerationConfig(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
    for result in schema.get_all_operations():
        op = result.ok()
        coverage = list(schema.iter_coverage_cases(op, generation_modes=config.modes, generation_config=config))
        positive = [c for c in coverage if c.meta is not None and not c.meta.generation.mode.is_negative]
        limit = FEWER.get(op.label)
        cases = _spread(coverage, limit or CASES) + _random(op, 0 if limit else RANDOM)
        hostile = _hostile_cases(op, positive[0], root) if positive and not limit else []
        _PLAN.append(Planned(op.label, [positive[0], *cases] if positive and not limit else cases, hostile))
    return _PLAN


# How an answer is judged.

def error_shape(path: str, status: int, response: Any) -> str | None:
    """What is wrong with an error body (None when it is well-formed)."""
    ctype = response.headers.get("content-type", "")
    ctype = ctype[0] if isinstance(ctype, list) else ctype  # schemathesis keeps every value of a header
    if path.startswith(OPEN311):
        if path.endswith(".xml") and "xml" in ctype:
            text = response.text
            return None if "<errors>" in text and "<description>" in text else f"not an Open311 XML error: {text[:200]}"
        try:
            body = response.json()
        except ValueError:
            return f"not JSON ({ctype}): {response.text[:200]}"
        if (isinstance(body, list) and body and all(isinstance(e, dict) and set(e) == {"code", "description"}
                                                    and e["code"] == status and isinstance(e["description"], str)
                                                    for e in body)):
            return None
        return f"not an Open311 error list: {body!r:.200}"
    if not ctype.startswith("application/json"):
        return f"not JSON ({ctype}): {response.text[:200]}"
    body = response.json()
    if not isinstance(body, dict) or not isinstance(body.get("error"), str) or not isinstance(body.get("message"), str):
        return f"no error and message: {body!r:.200}"
    if extra := set(body) - {"error", "reason", "message", "field", "params", "details"}:
        return f"unexpected keys {sorted(extra)}: {body!r:.200}"
    if "field" in body and not isinstance(body["field"], str):
        return f"field is not a string: {body!r:.200}"
    return None


@dataclass
class Finding:
    operation: str
    role: str
    problem: str
    request: str

    def __str__(self) -> str:
        return f"{self.operation} as {self.role}: {self.problem}\n    {self.request}"


def _refused(status: int, response: Any) -> bool:
    if status == 401:
        return True
    if status != 403:
        return False
    try:
        return response.json().get("field") == "role"
    except (ValueError, AttributeError):
        return False


def _root_cause(exc: BaseException) -> str:
    """The exception the app raised (schemathesis wraps it) and where."""
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    where = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    at = f" at {where[0].filename.split('/src/')[-1]}:{where[0].lineno}" if where else ""
    return f"{type(exc).__name__}: {str(exc)[:300]}{at}"


def _with_real_path(case: Any, values: dict[str, list[str]], i: int) -> Any:
    """Point the case at real records unless its path parameters are what it is testing."""
    if case.meta is not None and case.meta.is_negative_at(ParameterLocation.PATH):
        return case
    if not case.path_parameters:
        return case
    for name in case.path_parameters:
        if name in values:
            case.path_parameters[name] = values[name][i % len(values[name])]
    return case


# The message of app.py's answer to a value the database could not hold: no server error, but a route that could
# bound the value itself. Printed, not failed.
UNBOUNDED = "a value is out of range, or too long, for this field"


def send(app: Any, planned: list[Planned], tokens: dict[str, str | None], values: dict[str, list[str]],
         *, hostile_only: bool = False) -> tuple[list[Finding], int]:
    findings: list[Finding] = []
    unbounded: set[str] = set()
    sent = 0
    for item in planned:
        accepted: list[str] | None = _ALLOWED.get(item.label) if hostile_only else None
        cases = [*item.cases[:1], *item.hostile] if hostile_only else [*item.cases, *item.hostile]
        for i, case in enumerate(cases):
            case = _with_real_path(case, values, i)
            roles = list(tokens) if accepted is None else [accepted[i % len(accepted)]]
            allowed = []
            for role in roles:
                headers = {"Authorization": tokens[role]} if tokens[role] else {}
                try:
                    response = case.call(headers=headers, app=app, timeout=TIMEOUT)
                except Exception as exc:  # noqa: BLE001 - an exception out of the app is a server error
                    findings.append(Finding(item.label, role, _root_cause(exc), case.as_curl_command()))
                    continue
                sent += 1
                status = response.status_code
                if status >= 500:
                    findings.append(Finding(item.label, role, f"{status} {response.text[:300]}",
                                            case.as_curl_command()))
                elif status >= 400 and (problem := error_shape(case.formatted_path, status, response)):
                    findings.append(Finding(item.label, role, f"{status} {problem}", case.as_curl_command()))
                elif status == 422 and UNBOUNDED in response.text:
                    unbounded.add(item.label)
                if not _refused(status, response):
                    allowed.append(role)
            if accepted is None:
                accepted = _ALLOWED[item.label] = allowed or list(tokens)
    if unbounded:
        print(f"\nvalues only the database refused (422 from app.py, no bound in the route) in {len(unbounded)} "
              "operations:\n  " + "\n  ".join(sorted(unbounded)))
    return findings, sent


def _token(client: Any, username: str) -> str:
    from jiayuan.demo.load import DEMO_PASSWORD

    r = client.post("/api/v1/auth/token", data={"username": username, "password": DEMO_PASSWORD})
    assert r.status_code == 200, r.text
    return f"Bearer {r.json()['access_token']}"


@pytest.fixture
def world(api: Any, client: Any, session: Any) -> World:
    return build_world(api, client, session)


def test_no_operation_answers_a_server_error_or_a_malformed_error(app: Any, client: Any, api: Any,
                                                                   world: World) -> None:
    tokens: dict[str, str | None] = {"anonymous": None}
    for role in ROLES[1:]:
        persona = world.users.get(role)
        tokens[role] = _token(client, persona.username) if persona else api(role).headers["Authorization"]
    root = app.openapi()
    schema = schemathesis.openapi.from_dict(root)
    schema.app = app
    t0, c0 = time.perf_counter(), time.process_time()
    planned = plan(schema, root)
    t1, c1 = time.perf_counter(), time.process_time()
    # PostgreSQL gets the valid case and the hostile values (NUL, overlong text, huge numbers are where it differs
    # from SQLite), sent to the roles SQLite found allowed: the whole plan there would double the cost.
    postgres = app.state.db.engine.dialect.name == "postgresql"
    findings, sent = send(app, planned, tokens, world.path_values(), hostile_only=postgres)
    t2, c2 = time.perf_counter(), time.process_time()
    print(f"\nfuzz: {len(planned)} operations, {sent} requests; generation {t1 - t0:.1f} s ({c1 - c0:.1f} s CPU), "
          f"requests {t2 - t1:.1f} s ({c2 - c1:.1f} s CPU)")
    assert not findings, f"{len(findings)} findings:\n" + "\n".join(str(f) for f in findings[:60])


def test_the_error_shape_check_rejects_what_it_should() -> None:
    class R:
        def __init__(self, body: Any, ctype: str = "application/json") -> None:
            import json

            self.text = json.dumps(body) if not isinstance(body, str) else body
            self.headers = {"content-type": ctype}

        def json(self) -> Any:
            import json

            return json.loads(self.text)

    assert error_shape("/api/v1/x", 404, R({"error": "not_found", "message": "no"})) is None
    assert error_shape("/api/v1/x", 422, R({"error": "invalid", "message": "m", "field": "f", "details": []})) is None
    assert error_shape("/api/v1/x", 422, R({"detail": [{"loc": ["body"]}]})) is not None  # FastAPI's own 422
    assert error_shape("/api/v1/x", 404, R("<html>", "text/html")) is not None
    assert error_shape("/api/v1/x", 404, R({"error": "x", "message": "m", "stack": "…"})) is not None
    assert error_shape("/open311/v2/requests.json", 400, R([{"code": 400, "description": "d"}])) is None
    assert error_shape("/open311/v2/requests.json", 400, R({"error": "invalid", "message": "m"})) is not None
    assert error_shape("/open311/v2/requests.xml", 400, R("<errors><error><code>400</code><description>d"
                                                           "</description></error></errors>", "text/xml")) is None


# Regression tests of what the fuzzing found.

@pytest.mark.parametrize("url", [
    "/api/v1/users", "/api/v1/cases", "/api/v1/registry/people", "/api/v1/registry/compounds",
    "/api/v1/services/providers", "/api/v1/services/orders", "/api/v1/cases/metrics/cases"])
def test_an_offset_past_any_table_is_refused_naming_it(api: Any, url: str) -> None:
    # Was a 500: OverflowError on SQLite, "bigint out of range" on PostgreSQL.
    r = api("admin").get(url, params={"offset": 2**64 + 1, "figure": "reported"})
    assert r.status_code == 422 and r.json()["field"] == "offset", r.text


def test_a_page_past_any_table_is_refused_by_hsds(client: Any) -> None:
    r = client.get("/hsds/organizations", params={"page": 2**64 + 1})
    assert r.status_code == 422 and r.json()["field"] == "page", r.text


def test_hsds_errors_are_json_whatever_raised_them(client: Any) -> None:
    # A NUL in the search made PostgreSQL raise; the answer was an HTML error page under /hsds/.
    r = client.get("/hsds/services", params={"search": "a\x00b"})
    assert r.status_code in (200, 422) and r.headers["content-type"].startswith("application/json"), r.text


def test_a_value_the_database_cannot_hold_is_bad_input_not_a_server_error(api: Any) -> None:
    # `floors` has no bound of its own: what the database refuses is the caller's error, said as such.
    r = api("grid_a").post("/api/v1/registry/buildings", json={"name": "1栋", "grid_code": GRID_A, "floors": 2**64})
    assert r.status_code == 422 and r.json()["error"] == "invalid", r.text
