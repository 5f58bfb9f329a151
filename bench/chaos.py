"""`make chaos`: load with faults. Clients submit cases for a minute while the worker is SIGKILLed and PostgreSQL
restarts; afterwards the database must hold every acknowledged case exactly once and the outbox must be drained.

Loopback only and bounded in time. A scratch database is made on the PostgreSQL server of
JIAYUAN_CHAOS_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/postgres) and dropped at the end; the app
(`jiayuan serve --no-worker`) and the worker (`jiayuan worker`) run as separate processes so that the worker alone
can be killed and started again. Prints a summary, writes it between the chaos markers of docs/performance.md and
exits 1 when a check fails. See docs/performance.md, "Load with faults", for how to read it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from shapely.geometry import Point, shape
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from bench.docfile import write_chaos_section
from jiayuan.demo.load import DEMO_PASSWORD
from jiayuan.kit.db import normalize_url

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "performance.md"
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
BUDGET_SECONDS = 300  # the whole run, set-up and clean-up included; a hung step ends it instead of hanging
GRACE_SECONDS = 30  # after the load: how long clients keep retrying keys that were not yet acknowledged
# After the load the restarted worker empties the outbox: it fails the check if it stops making progress for
# STALL_SECONDS, or has not finished after DRAIN_SECONDS (a slow, shared machine delivers slowly, not never).
DRAIN_SECONDS = 90
STALL_SECONDS = 15
WORKER_DOWN_SECONDS = 2.0  # between the SIGKILL and the restart
CATEGORY = "1101"  # exposed garbage: handled by the grid, so each case is dispatched to the grid's lead at intake
console = Console(soft_wrap=True, highlight=False)


class Budget(Exception):
    """The run went over BUDGET_SECONDS."""


# ---------------------------------------------------------------------------------------------------- processes

class Service:
    """A child process in a session of its own, its output appended to a log file; can be killed and restarted."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], logs: Path) -> None:
        self.name, self.args, self.env = name, args, env
        self.log = logs / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.pids: list[int] = []

    def start(self) -> int:
        with self.log.open("ab") as out:
            out.write(f"--- {self.name} start {len(self.pids) + 1} at {stamp()}\n".encode())
            out.flush()
            self.proc = subprocess.Popen(self.args, env=self.env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        self.pids.append(self.proc.pid)
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> int:
        """SIGKILL, no chance to clean up: what an OOM killer or a pulled plug does."""
        assert self.proc is not None
        pid = self.proc.pid
        os.kill(pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        return pid

    def stop(self) -> None:
        """SIGINT to the process group, then SIGKILL if it has not gone within 10 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGINT)
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        except ProcessLookupError:
            pass


def run_command(args: list[str], env: dict[str, str], log: Path, timeout: float) -> None:
    with log.open("ab") as out:
        out.write(f"--- {' '.join(args[2:])} at {stamp()}\n".encode())
        out.flush()
        done = subprocess.run(args, env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out,
                              stderr=subprocess.STDOUT, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"`{' '.join(args[2:])}` exited with {done.returncode}; see {log}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stamp() -> str:
    return datetime.now(UTC).strftime("%H:%M:%S.%f")[:-3]


# ---------------------------------------------------------------------------------------------------- PostgreSQL

class Postgres:
    """The server of the scratch database: create and drop it, restart the server, make sure it is up."""

    def __init__(self, server_url: str) -> None:
        self.url = make_url(normalize_url(server_url))
        if (self.url.host or "localhost") not in LOOPBACK:
            raise SystemExit(f"chaos restarts the PostgreSQL server, so it must be on loopback, not {self.url.host}")
        self.port = self.url.port or 5432
        self.cluster = self._cluster()
        self.name = f"jiayuan_chaos_{uuid.uuid4().hex[:10]}"
        self.created = False

    def _cluster(self) -> tuple[str, str] | None:
        """(version, name) of the Debian cluster listening on our port, from pg_lsclusters."""
        try:
            out = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True, timeout=10,
                                 check=False).stdout
        except (OSError, subprocess.TimeoutExpired):
            return None
        for line in out.splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[2] == str(self.port):
                return parts[0], parts[1]
        return None

    @property
    def scratch_url(self) -> str:
        return self.url.set(database=self.name).render_as_string(hide_password=False)

    def admin(self) -> Engine:
        return create_engine(self.url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})

    def ready(self) -> bool:
        engine = self.admin()
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001 - any failure means not (yet) ready
            return False
        finally:
            engine.dispose()

    def wait_ready(self, seconds: float) -> bool:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if self.ready():
                return True
            time.sleep(0.5)
        return False

    def create(self) -> None:
        engine = self.admin()
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        engine.dispose()
        self.created = True

    def drop(self) -> None:
        if not self.created:
            return
        engine = self.admin()
        try:
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            self.created = False
        finally:
            engine.dispose()

    def _ctl(self, action: str) -> list[str]:
        if self.cluster is None:
            raise RuntimeError(f"no PostgreSQL cluster on port {self.port} in pg_lsclusters; use --db-fault cutoff")
        cmd = ["pg_ctlcluster", "--skip-systemctl-redirect", *self.cluster, action]
        return cmd if os.geteuid() == 0 else ["sudo", "-n", *cmd]

    def restart(self) -> None:
        subprocess.run(self._ctl("restart"), check=True, timeout=90, capture_output=True)

    def ensure_running(self) -> str:
        """Start the server if it is not answering (the finally clause of every run)."""
        if self.ready():
            return "running"
        if self.cluster is not None:
            subprocess.run(self._ctl("start"), check=False, timeout=90, capture_output=True)
        return "started again" if self.wait_ready(60) else "NOT RUNNING"

    def cutoff(self, seconds: float) -> None:
        """The scratch database alone goes away for a while (connections refused, sessions terminated): a stand-in
        for a restart on a server that others are using."""
        engine = self.admin()
        try:
            with engine.connect() as conn:
                conn.execute(text(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS false'))
                conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                  "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": self.name})
                time.sleep(seconds)
                conn.execute(text(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS true'))
        finally:
            engine.dispose()


# ---------------------------------------------------------------------------------------------------- load

@dataclass
class Account:
    username: str
    token: str
    points: list[tuple[float, float]]  # (lat, lon) inside the grids this account reports in


@dataclass
class Load:
    requests: int = 0
    retries: int = 0
    replays: int = 0  # acknowledged as a replay: an earlier attempt had committed but its answer was lost
    acked: dict[str, str] = field(default_factory=dict)  # stored idempotency key (user:key) -> case number
    unresolved: list[str] = field(default_factory=list)  # keys still unacknowledged when the clients gave up
    rejected: list[str] = field(default_factory=list)  # non-retriable answers (4xx): a bug in client or server
    errors: Counter[str] = field(default_factory=Counter)
    error_times: list[tuple[float, str]] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)  # of each 2xx answer
    ack_times: list[float] = field(default_factory=list)  # first attempt to acknowledgement, retries included
    submitted: set[str] = field(default_factory=set)


def retriable(status: int) -> bool:
    return status >= 500 or status in (409, 429)


async def client(http: httpx.AsyncClient, account: Account, load: Load, t0: float, stop_at: float,
                 give_up_at: float, timeout: float) -> None:
    rng = random.Random()
    while time.monotonic() < stop_at:
        key = uuid.uuid4().hex
        stored = f"{account.username}:{key}"
        load.submitted.add(stored)
        lat, lon = rng.choice(account.points)
        body = {"category": CATEGORY, "description": "混沌测试：路边有一堆暴露垃圾", "lat": lat, "lon": lon,
                "reporter_phone": f"139{rng.randrange(10**8):08d}"}
        headers = {"Authorization": f"Bearer {account.token}", "Idempotency-Key": key}
        first = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            load.requests += 1
            sent = time.monotonic()
            retry_after = None
            try:
                r = await http.post("/api/v1/cases", json=body, headers=headers, timeout=timeout)
            except httpx.TimeoutException:
                kind = "timeout"
            except httpx.TransportError as exc:
                kind = f"connection ({type(exc).__name__})"
            else:
                if r.status_code in (200, 201):
                    load.latencies.append(time.monotonic() - sent)
                    load.ack_times.append(time.monotonic() - first)
                    load.acked[stored] = r.json()["number"]
                    load.replays += r.status_code == 200
                    break
                kind = f"HTTP {r.status_code}"
                if not retriable(r.status_code):
                    load.rejected.append(f"{kind}: {r.text[:200]}")
                    break
                retry_after = r.headers.get("retry-after")
            load.errors[kind] += 1
            load.error_times.append((sent - t0, kind))
            if time.monotonic() >= give_up_at:
                load.unresolved.append(stored)
                return
            load.retries += 1
            delay = min(0.2 * 2 ** min(attempt, 4), 2.0) * (0.5 + rng.random())
            if retry_after:
                try:
                    delay = max(delay, min(float(retry_after), 5.0))
                except ValueError:
                    pass
            await asyncio.sleep(delay)


@dataclass
class Fault:
    at: float  # seconds from the start of the load
    kind: str
    effect: str = ""
    ok: bool = True


async def inject(plan: list[tuple[float, str]], t0: float, worker: Service, pg: Postgres, db_fault: str,
                 faults: list[Fault], restarts: list[tuple[datetime, datetime]]) -> None:
    for at, kind in plan:
        await asyncio.sleep(max(0.0, t0 + at - time.monotonic()))
        fault = Fault(round(time.monotonic() - t0, 1), kind)
        faults.append(fault)
        if kind == "worker":
            if not worker.alive():
                fault.ok = False
                fault.effect = "the worker was not running before the kill"
            killed = datetime.now(UTC)
            pid = await asyncio.to_thread(worker.kill) if worker.alive() else None
            await asyncio.sleep(WORKER_DOWN_SECONDS)
            restarts.append((killed, datetime.now(UTC)))
            new = await asyncio.to_thread(worker.start)
            fault.kind = f"worker SIGKILL (pid {pid})"
            fault.effect = (fault.effect + "; " if fault.effect else "") + \
                f"restarted as pid {new} at {time.monotonic() - t0:.1f} s"
        else:
            began = time.monotonic()
            try:
                if db_fault == "restart":
                    fault.kind = "PostgreSQL restart (pg_ctlcluster … restart)"
                    await asyncio.to_thread(pg.restart)
                else:
                    fault.kind = "scratch database cut off (connections refused, sessions terminated)"
                    await asyncio.to_thread(pg.cutoff, 3.0)
                fault.effect = f"back after {time.monotonic() - began:.1f} s"
            except Exception as exc:  # noqa: BLE001 - reported as a failed fault, the finally clause restarts
                fault.ok = False
                fault.effect = f"failed: {exc}"


async def enqueue_drains(queue_file: Path, until: float) -> None:
    """Ask the worker for an outbox drain every 2 s (it drains every 15 s by itself): the worker is then busy
    the whole run, so a SIGKILL may land in the middle of a delivery."""
    from huey import SqliteHuey

    from jiayuan.notify.tasks import register

    drain = register(SqliteHuey("jiayuan", filename=str(queue_file))).drain
    while time.monotonic() < until:
        await asyncio.to_thread(drain)
        await asyncio.sleep(2)


async def drive(base: str, accounts: list[Account], args: argparse.Namespace, worker: Service, pg: Postgres,
                queue_file: Path, load: Load, faults: list[Fault],
                restarts: list[tuple[datetime, datetime]]) -> tuple[float, float]:
    """The load and the faults; returns (wall clock time of the start, of the end) as epoch seconds."""
    seconds = args.seconds
    plan = [(0.2 * seconds, "worker"), (0.45 * seconds, "postgres"), (0.7 * seconds, "worker")]
    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    async with httpx.AsyncClient(base_url=base, limits=limits) as http:
        t0 = time.monotonic()
        started = time.time()
        stop_at, give_up_at = t0 + seconds, t0 + seconds + GRACE_SECONDS
        tasks = [asyncio.create_task(client(http, accounts[i % len(accounts)], load, t0, stop_at, give_up_at,
                                            args.timeout)) for i in range(args.clients)]
        injector = asyncio.create_task(inject(plan, t0, worker, pg, args.db_fault, faults, restarts))
        drains = asyncio.create_task(enqueue_drains(queue_file, stop_at))
        await asyncio.gather(*tasks, injector, drains)
    return started, time.time()


def sign_in(base: str, grid_points: dict[str, list[tuple[float, float]]]) -> list[Account]:
    """The hotline operator (anywhere in the district) and the first worker of each grid (in that grid)."""
    accounts = []
    with httpx.Client(base_url=base, timeout=30) as http:
        def token(username: str) -> str:
            r = http.post("/api/v1/auth/token", data={"username": username, "password": DEMO_PASSWORD})
            r.raise_for_status()
            return r.json()["access_token"]

        everywhere = [p for points in grid_points.values() for p in points]
        accounts.append(Account("hotline1", token("hotline1"), everywhere))
        for grid, points in sorted(grid_points.items()):
            accounts.append(Account(f"gw{grid}-1", token(f"gw{grid}-1"), points))
    return accounts


def grid_points(base: str, per_grid: int = 50) -> dict[str, list[tuple[float, float]]]:
    """Random points inside each grid of the demo, from the units API."""
    rng = random.Random(2026)
    with httpx.Client(base_url=base, timeout=30) as http:
        r = http.post("/api/v1/auth/token", data={"username": "admin", "password": DEMO_PASSWORD})
        r.raise_for_status()
        http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        grids = [u["code"] for u in http.get("/api/v1/units", params={"level": "grid"}).raise_for_status().json()]
        out = {}
        for code in grids:
            polygon = shape(http.get(f"/api/v1/units/{code}").raise_for_status().json()["geometry"])
            # Keep off the edges: a point on a shared border belongs to the neighbour with the smaller code.
            inner = polygon.buffer(-0.0002) if polygon.buffer(-0.0002).area > 0 else polygon
            minx, miny, maxx, maxy = inner.bounds
            points: list[tuple[float, float]] = []
            while len(points) < per_grid:
                x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
                if inner.contains(Point(x, y)):
                    points.append((y, x))
            out[code] = points
    return out


def wait_healthy(base: str, server: Service, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if not server.alive():
            raise RuntimeError(f"the app server exited; see {server.log}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the app server did not answer /healthz within {seconds:.0f} s; see {server.log}")


# ---------------------------------------------------------------------------------------------------- checks

@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def outbox_rows(engine: Engine, since: datetime) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(
            "SELECT ref, channel, status, attempts, claimed_at, sent_at FROM outbox WHERE created_at >= :since"),
            {"since": since}))


def drain_outbox(engine: Engine, queue_file: Path, since: datetime, last_start: datetime,
                 seconds: float) -> tuple[int, int, int, float]:
    """Wait for the running worker to deliver what is pending; returns (pending at first, pending left, claims of
    killed workers, seconds waited). A message left 'sending' with a claim older than the running worker was
    claimed by a worker killed before it could record the outcome."""
    from huey import SqliteHuey

    from jiayuan.notify.tasks import register

    drain = register(SqliteHuey("jiayuan", filename=str(queue_file))).drain
    began = progressed = time.monotonic()

    def count() -> tuple[int, int, int]:
        rows = outbox_rows(engine, since)
        stale = sum(1 for r in rows if r.status == "sending" and aware(r.claimed_at) < last_start)
        live = sum(1 for r in rows if r.status == "sending") - stale
        return sum(1 for r in rows if r.status == "pending"), live, stale

    backlog = least = count()[0]
    while True:
        drain()
        time.sleep(2)
        pending, live, stale = count()
        now = time.monotonic()
        if pending < least:
            least, progressed = pending, now
        if (pending == 0 and live == 0) or now - progressed > STALL_SECONDS or now - began > seconds:
            return backlog, pending, stale, now - began


def aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def reclaim_stale(url: str) -> int:
    """Deliver, with the clock moved past STALE_AFTER, the messages that killed workers had claimed: the
    normal delivery path must take them over (the worker itself would do so 5 minutes later)."""
    from jiayuan.kit.db import Database
    from jiayuan.notify.tasks import STALE_AFTER, deliver_pending

    db = Database(url)
    try:
        return deliver_pending(db, now=datetime.now(UTC) + STALE_AFTER + timedelta(minutes=3))
    finally:
        db.dispose()


def verify(engine: Engine, url: str, load: Load, started: datetime, restarts: list[tuple[datetime, datetime]],
           worker: Service, server: Service, base: str, queue_file: Path) -> tuple[list[Check], dict[str, Any]]:
    checks: list[Check] = []
    facts: dict[str, Any] = {}

    with engine.connect() as conn:
        rows = list(conn.execute(text("SELECT idempotency_key, number, status FROM cases "
                                      "WHERE channel = 'api' AND idempotency_key IS NOT NULL")))
    by_key: dict[str, list[str]] = defaultdict(list)
    status_of: dict[str, str] = {}
    for key, number, status in rows:
        by_key[key].append(number)
        status_of[number] = status
    run_keys = {k for k in by_key if k in load.submitted}
    facts["cases"] = sum(len(by_key[k]) for k in run_keys)

    missing = [k for k in load.acked if k not in by_key]
    wrong = [k for k, n in load.acked.items() if k in by_key and by_key[k] != [n]]
    checks.append(Check("every acknowledged case exists exactly once", not missing and not wrong,
                        f"{len(load.acked)} acknowledged; {len(missing)} missing, {len(wrong)} stored differently"
                        + (f" (e.g. {(missing + wrong)[0]})" if missing or wrong else "")))
    doubled = {k: v for k, v in by_key.items() if len(v) > 1}
    numbers = Counter(n for n in load.acked.values())
    shared = [n for n, c in numbers.items() if c > 1]
    checks.append(Check("no duplicate (no key twice, no number for two keys)", not doubled and not shared,
                        f"{len(doubled)} keys with several cases, {len(shared)} numbers acknowledged for two keys"))
    unacked_stored = [k for k in load.submitted if k in by_key and k not in load.acked]
    facts["committed_unacknowledged"] = len(unacked_stored)
    checks.append(Check("every key acknowledged in the end", not load.unresolved,
                        f"{len(load.unresolved)} keys given up after {GRACE_SECONDS} s of retries"
                        f" ({len(unacked_stored)} of those stored)"))
    checks.append(Check("nothing refused as invalid", not load.rejected,
                        f"{len(load.rejected)} refused" + (f": {load.rejected[0]}" if load.rejected else "")))
    bad = {k: n for k, n in load.errors.items() if k.startswith("HTTP 5") and k != "HTTP 503"}
    checks.append(Check("outages answered with 503, never another 5xx", not bad,
                        ", ".join(f"{k}: {n}" for k, n in bad.items()) or "none"))

    last_start = restarts[-1][1] if restarts else started
    backlog, pending, sending, waited = drain_outbox(engine, queue_file, started, last_start, DRAIN_SECONDS)
    facts["backlog"], facts["drain_seconds"] = backlog, waited
    # Each restarted worker must have delivered something before the next kill (the last one: by now). Read
    # before the reclaim below, whose deliveries carry a clock moved forward.
    checked = datetime.now(UTC)
    sent_at = [aware(m.sent_at) for m in outbox_rows(engine, started) if m.sent_at is not None]
    windows = [(r, restarts[i + 1][0] if i + 1 < len(restarts) else checked) for i, (_, r) in enumerate(restarts)]
    delivered = [sum(1 for t in sent_at if a < t <= b) for a, b in windows]
    reclaimed = reclaim_stale(url) if sending else 0
    facts["stale_claims"] = sending
    messages = outbox_rows(engine, started)
    run_numbers = set(load.acked.values()) | {n for k in unacked_stored for n in by_key[k]}
    per_case: dict[str, Counter[str]] = defaultdict(Counter)
    statuses: Counter[str] = Counter()
    for m in messages:
        if m.ref in run_numbers:
            per_case[m.ref][m.channel] += 1
            statuses[m.status] += 1
    facts["messages"] = dict(statuses)
    dispatched = [n for n in run_numbers if status_of.get(n) == "dispatched"]
    lost = [n for n in dispatched if per_case[n] != Counter({"sms": 1, "inapp": 1})]
    extra = [n for n in run_numbers if n not in dispatched and per_case[n]]
    checks.append(Check("every case's messages queued once (an SMS to the reporter, one to the grid's lead)",
                        not lost and not extra and len(dispatched) == len(run_numbers),
                        f"{len(dispatched)} of {len(run_numbers)} cases dispatched at intake; {len(lost)} with "
                        f"messages missing or doubled, {len(extra)} undispatched with messages"))
    undelivered = statuses["pending"] + statuses["sending"] + statuses["failed"]
    checks.append(Check("the outbox drained after the faults (none pending, none failed)", undelivered == 0,
                        f"{sum(statuses.values())} messages: {statuses['sent']} sent, {statuses['pending']} pending, "
                        f"{statuses['sending']} claimed, {statuses['failed']} failed; {backlog} pending when the "
                        f"load ended, {pending} after {waited:.0f} s of waiting; {sending} claimed by a killed worker, "
                        f"{reclaimed} of them taken over once STALE_AFTER had passed"))

    checks.append(Check("the worker delivered again after each restart",
                        len(delivered) == 2 and all(delivered) and worker.alive(),
                        "messages delivered by each restarted worker before the next kill (the last: before the "
                        f"check): {', '.join(f'{n:,}' for n in delivered) or 'no restart'}; worker "
                        f"{'running' if worker.alive() else 'NOT running'} at the end"))
    healthy = False
    try:
        healthy = httpx.get(f"{base}/healthz", timeout=5).status_code == 200
    except httpx.TransportError:
        pass
    checks.append(Check("the app server stayed up and healthy", server.alive() and healthy,
                        f"process {'running' if server.alive() else 'gone'}, /healthz "
                        f"{'200' if healthy else 'failing'}"))
    return checks, facts


# ---------------------------------------------------------------------------------------------------- report

def pct(values: list[float], q: int) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def outage_windows(load: Load, gap: float = 3.0) -> list[tuple[float, float, int]]:
    """Spans of the run in which clients saw errors: (from, to, count), errors less than `gap` s apart joined."""
    spans: list[list[float]] = []
    for t, _ in sorted(load.error_times):
        if spans and t - spans[-1][1] <= gap:
            spans[-1][1] = t
            spans[-1][2] += 1
        else:
            spans.append([t, t, 1])
    return [(a, b, int(n)) for a, b, n in spans]


def report(args: argparse.Namespace, load: Load, faults: list[Fault], checks: list[Check], facts: dict[str, Any],
           seconds: float, total: float, pg_state: str) -> str:
    from bench.run import machine

    ms = [x * 1000 for x in load.latencies]
    ack = [x * 1000 for x in load.ack_times]
    errors = ", ".join(f"{k}: {n}" for k, n in load.errors.most_common()) or "none"
    windows = "; ".join(f"{a:.1f}–{b:.1f} s ({n})" for a, b, n in outage_windows(load)) or "none"
    lines = [
        "## Load with faults",
        "",
        "Written by `make chaos` (`bench/chaos.py`): " + datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
        + f", {machine()}.",
        (f"{args.clients} clients posted cases to `POST /api/v1/cases` for {args.seconds:.0f} s, each with an "
        "`Idempotency-Key`,"),
        (f"retrying with the same key whatever was not acknowledged (timeouts after {args.timeout:.0f} s, connection "
        "errors,"),
        f"5xx, 409, 429) for up to {GRACE_SECONDS} s after the end. Database fault: `--db-fault {args.db_fault}`.",
        "",
        "| Figure | Value |",
        "|---|---|",
        f"| Requests | {load.requests:,} ({load.requests / seconds:.0f}/s) |",
        (f"| Acknowledged cases | {len(load.acked):,} ({load.replays} of them replays: an earlier attempt had "
        "committed but its answer was lost) |"),
        f"| Retries | {load.retries:,} |",
        f"| Errors by kind | {errors} |",
        f"| Client-side error windows (seconds into the run) | {windows} |",
        f"| Latency of acknowledged requests | p50 {pct(ms, 50):.0f} ms, p99 {pct(ms, 99):.0f} ms |",
        (f"| Time to acknowledgement, retries included | p50 {pct(ack, 50):.0f} ms, p99 {pct(ack, 99):.0f} ms, "
        f"max {max(ack, default=float('nan')):.0f} ms |"),
        f"| Outbox (the run's cases) | {outbox_line(facts)} |",
        f"| Whole run | {total:.0f} s ({phases_line(facts)}); PostgreSQL at the end: {pg_state} |",
        "",
        "| Fault (seconds into the run) | What happened |",
        "|---|---|",
        *[f"| {f.at:.1f} s: {f.kind} | {f.effect}{'' if f.ok else ' **(failed)**'} |" for f in faults],
        "",
        "| Check | Result | Detail |",
        "|---|---|---|",
        *[f"| {c.name} | {'pass' if c.ok else '**FAIL**'} | {c.detail} |" for c in checks],
        "",
        "**How to read it.** The figures under faults are not a benchmark: the latency includes the outage. What",
        "matters is the checks: the database is read after the run, and every case a client saw acknowledged",
        "(201, or 200 for a replay) must be there exactly once under its key and number; no key may have two",
        "cases; every key must end up acknowledged once the faults are over; a database outage must be",
        "answered with 503 and `Retry-After` (retriable), never with a 500; each case dispatched at intake queues",
        "an SMS to the reporter and an in-app message to the grid's lead in its own transaction, and the",
        "restarted worker must deliver them all (a message claimed by a worker killed mid-send is taken over once",
        "`STALE_AFTER`, 5 minutes, has passed; the run moves the clock forward to show it). Replays and the",
        "error windows show where the faults bit. `make chaos` exits 1 when a check fails.",
    ]
    return "\n".join(lines)


def outbox_line(facts: dict[str, Any]) -> str:
    m = facts.get("messages")
    if m is None:
        return "not checked"
    return (f"{sum(m.values()):,} messages, {m.get('sent', 0):,} sent in the end; {facts['backlog']:,} were pending "
            f"when the load ended and the worker delivered them in {facts['drain_seconds']:.0f} s; "
            f"{facts['stale_claims']} had been claimed by a killed worker")


def phases_line(facts: dict[str, Any]) -> str:
    return ", ".join(f"{name} {secs:.0f} s" for name, secs in facts.get("phases", {}).items())


def print_summary(load: Load, faults: list[Fault], checks: list[Check], seconds: float) -> None:
    ms = [x * 1000 for x in load.latencies]
    console.print(f"\n[bold]Load with faults[/bold]: {load.requests:,} requests in {seconds:.0f} s, "
                  f"{len(load.acked):,} acknowledged ({load.replays} replays), {load.retries:,} retries")
    console.print(f"errors: {', '.join(f'{k}: {n}' for k, n in load.errors.most_common()) or 'none'}")
    console.print(f"latency of acknowledged requests: p50 {pct(ms, 50):.0f} ms, p99 {pct(ms, 99):.0f} ms; "
                  f"time to acknowledgement p99 {pct([x * 1000 for x in load.ack_times], 99):.0f} ms")
    windows = "; ".join(f"{a:.1f}–{b:.1f} s ({n})" for a, b, n in outage_windows(load)) or "none"
    console.print(f"clients saw errors at: {windows}")
    for f in faults:
        console.print(f"  {f.at:5.1f} s  {f.kind}: {f.effect}" + ("" if f.ok else "  [red](failed)[/red]"))
    for c in checks:
        mark = "[green]pass[/green]" if c.ok else "[red]FAIL[/red]"
        console.print(f"  {mark}  {c.name}: {c.detail}")


# ---------------------------------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60, help="length of the load (default 60)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (default 32)")
    parser.add_argument("--timeout", type=float, default=10, help="client timeout of one request, seconds")
    parser.add_argument("--db-fault", choices=("restart", "cutoff"), default="restart",
                        help="restart the PostgreSQL server (default), or only cut the scratch database off")
    parser.add_argument("--no-doc", action="store_true", help="do not write docs/performance.md")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database and logs")
    args = parser.parse_args(argv)

    def over_budget(_signum: int, _frame: Any) -> None:
        raise Budget(f"the run took more than {BUDGET_SECONDS} s")

    began = time.monotonic()
    signal.signal(signal.SIGALRM, over_budget)
    signal.alarm(BUDGET_SECONDS)
    pg = Postgres(os.environ.get("JIAYUAN_CHAOS_DATABASE_URL", DEFAULT_SERVER))
    if args.db_fault == "restart" and pg.cluster is None:
        raise SystemExit(f"no PostgreSQL cluster on port {pg.port} in pg_lsclusters: cannot restart it "
                         "(use --db-fault cutoff)")
    scratch = Path(tempfile.mkdtemp(prefix="jiayuan-chaos-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIAYUAN_")}
    env.update(JIAYUAN_DATABASE_URL=pg.scratch_url, JIAYUAN_VAR_DIR=str(scratch / "var"),
               JIAYUAN_NODE_MODULES=str(ROOT / "node_modules"), JIAYUAN_LOG_LEVEL="WARNING",
               JIAYUAN_QUEUE_BACKEND="sqlite", PYTHONUNBUFFERED="1")
    cli = [sys.executable, "-m", "jiayuan.cli"]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = Service("server", [*cli, "serve", "--no-worker", "--host", "127.0.0.1", "--port", str(port)], env,
                     scratch)
    worker = Service("worker", [*cli, "worker"], env, scratch)
    load, faults, checks, restarts = Load(), [], [], []
    facts: dict[str, Any] = {}
    started = datetime.now(UTC)
    failed: str | None = None
    pg_state = "?"
    engine: Engine | None = None
    try:
        console.print(f"scratch database {pg.name} on {pg.url.render_as_string(hide_password=True)}; logs in {scratch}")
        pg.create()
        mark = time.monotonic()
        with console.status("jiayuan init and the small demo …"):
            run_command([*cli, "init"], env, scratch / "setup.log", timeout=120)
            run_command([*cli, "demo", "--scale", "small"], env, scratch / "setup.log", timeout=150)
        server.start()
        worker.start()
        wait_healthy(base, server, 60)
        points = grid_points(base)
        accounts = sign_in(base, points)
        console.print(f"{len(accounts)} accounts, {len(points)} grids; {args.clients} clients for "
                      f"{args.seconds:.0f} s, faults at {0.2 * args.seconds:.0f} s (worker), "
                      f"{0.45 * args.seconds:.0f} s (database), {0.7 * args.seconds:.0f} s (worker)")
        queue_file = scratch / "var" / "queue.db"
        phases = {"set-up": time.monotonic() - mark}
        mark = time.monotonic()
        with console.status(f"load with faults for {args.seconds:.0f} s (and up to {GRACE_SECONDS} s of retries) …"):
            t_start, _ = asyncio.run(drive(base, accounts, args, worker, pg, queue_file, load, faults, restarts))
        started = datetime.fromtimestamp(t_start, UTC)
        phases["load"] = time.monotonic() - mark
        mark = time.monotonic()
        engine = create_engine(pg.scratch_url, connect_args={"connect_timeout": 5})
        with console.status("checking the database and waiting for the worker to drain the outbox …"):
            checks, facts = verify(engine, pg.scratch_url, load, started, restarts, worker, server, base,
                                   queue_file)
        facts["phases"] = {**phases, "drain and checks": time.monotonic() - mark}
    except Exception as exc:  # noqa: BLE001 - reported, cleaned up, and the run fails
        failed = f"{type(exc).__name__}: {exc}"
        console.print(f"[red]chaos run failed:[/red] {failed}")
    finally:
        signal.alarm(0)
        server.stop()
        worker.stop()
        if engine is not None:
            engine.dispose()
        pg_state = pg.ensure_running()
        if not args.keep:
            try:
                pg.drop()
            except Exception as exc:  # noqa: BLE001
                console.print(f"[yellow]could not drop {pg.name}: {exc}[/yellow]")
    total = time.monotonic() - began
    if failed:
        checks.append(Check("the run completed", False, failed))
    if pg_state == "NOT RUNNING":
        checks.append(Check("PostgreSQL running at the end", False, "it did not come back; start it by hand"))
    print_summary(load, faults, checks, args.seconds)
    ok = all(c.ok for c in checks) and all(f.ok for f in faults) and len(faults) == 3
    if not args.no_doc:
        write_chaos_section(DOC, report(args, load, faults, checks, facts, args.seconds, total, pg_state))
        console.print(f"wrote the \"Load with faults\" section of {DOC.relative_to(ROOT)}")
    if ok and not args.keep:
        shutil.rmtree(scratch, ignore_errors=True)
    else:
        console.print(f"logs kept in {scratch}" + (f"; database {pg.name} kept" if args.keep else ""))
    console.print(f"[{'green' if ok else 'red'}]{'all checks passed' if ok else 'CHECKS FAILED'}[/] "
                  f"in {total:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
