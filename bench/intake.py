"""Case intake under load: POST /api/v1/cases and POST /open311/v2/requests.json against a one-INSERT baseline.

The server is the application as served (uvicorn, the app factory, N worker processes) on the district's
scratch database, plus bench/server.py's baseline route. Each round, a fresh load-generator process
(bench/loadgen.py) keeps 32 clients busy for ROUND_SECONDS on one endpoint; the endpoints take turns
(baseline, API, Open311, baseline, API, …), so that a disturbance of the shared machine falls on all of them
alike. Targets (issue 7): throughput ≥ 0.5 × the baseline's, p99 ≤ 2 × the baseline's p99."""

from __future__ import annotations

import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import shapely
from shapely.geometry import shape
from sqlalchemy import select, text

from bench import scratch
from jiayuan.accounts.models import User
from jiayuan.accounts.service import issue_token
from jiayuan.cases import open311_keys
from jiayuan.cases.models import Category
from jiayuan.kit.db import Database
from jiayuan.units.models import Unit

SECRET = "jiayuan-bench-secret-key-not-for-production-use-0123456789"
KINDS = ("baseline", "api", "open311")
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Server:
    proc: subprocess.Popen
    port: int
    var_dir: Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(url: str, var_dir: Path, secret: str = SECRET) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIAYUAN_")}
    env.update(JIAYUAN_DATABASE_URL=url, JIAYUAN_SECRET_KEY=secret, JIAYUAN_VAR_DIR=str(var_dir),
               JIAYUAN_LOG_LEVEL="WARNING", JIAYUAN_NODE_MODULES=str(ROOT / "node_modules"),
               PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""))
    return env


def start_server(url: str, workers: int, secret: str = SECRET) -> Server:
    """uvicorn with the app factory, as `jiayuan serve --workers N` runs it (access log off for both sides)."""
    port = free_port()
    var_dir = Path(tempfile.mkdtemp(prefix="jiayuan-bench-var-"))
    proc = scratch.spawn([sys.executable, "-m", "uvicorn", "bench.server:create_app", "--factory",
                          "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
                          "--no-access-log", "--log-level", "warning"],
                         env=server_env(url, var_dir, secret), cwd=ROOT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                # Every worker process imports the app on its own: give the others a moment too.
                for _ in range(workers * 4):
                    httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                return Server(proc, port, var_dir)
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError("the server did not answer /healthz within 2 minutes")


def stop_server(server: Server) -> None:
    scratch.stop(server.proc)


def _request(method: str, path: str, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> str:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Type: {content_type}",
             f"Content-Length: {len(body)}", "Accept: application/json"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    # Kept as latin-1 text in the JSON file: one character per byte, so the UTF-8 body survives as it is.
    return (("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body).decode("latin-1")


def points_in_grids(db: Database, n: int, rng: random.Random) -> list[tuple[float, float]]:
    """Random points inside the district's grids (so every report is located to a grid)."""
    with db.sessions() as s:
        geoms = [shape(g) for g in s.scalars(select(Unit.geometry).where(Unit.level == "grid"))]
    out: list[tuple[float, float]] = []
    while len(out) < n:
        g = rng.choice(geoms)
        minx, miny, maxx, maxy = g.bounds
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if shapely.contains_xy(g, x, y):
            out.append((round(y, 6), round(x, 6)))
    return out


def prepare(url: str, folder: Path, n: int = 2000) -> dict[str, Path]:
    """The baseline table, an Open311 key, a hotline operator's token, and n requests of each kind."""
    rng = random.Random(7)
    db = Database(url)
    from bench.server import TABLE

    with db.unit_of_work() as s:
        s.execute(text(TABLE))
        _client, key = open311_keys.create_client(s, "bench")
        operator = s.scalar(select(User).where(User.role == "hotline_operator").order_by(User.username))
        token = issue_token(SECRET, operator)
        # Items without required extra questions, weighted as the demo's cases are (grid-level ones most).
        items = [c for c in s.scalars(select(Category).where(Category.parent_code.is_not(None), Category.is_active))
                 if not any(a.get("required") for a in c.attributes or [])]
    points = points_in_grids(db, n, rng)
    db.dispose()
    weights = [6 if c.handling_level == "grid" else 3 if c.handling_level == "community" else 1 for c in items]
    reqs: dict[str, list[str]] = {k: [] for k in KINDS}
    for i, (lat, lon) in enumerate(points):
        item = rng.choices(items, weights)[0]
        text_ = f"{item.name_zh}，请尽快处理（压测 {i}）"
        phone = f"139{rng.randrange(10**8):08d}"
        reqs["baseline"].append(_request("POST", "/bench/insert", json.dumps(
            {"description": text_}, ensure_ascii=False).encode(), "application/json"))
        reqs["api"].append(_request("POST", "/api/v1/cases", json.dumps(
            {"category": item.code, "description": text_, "lat": lat, "lon": lon, "reporter_phone": phone,
             "reporter_name": "测试"}, ensure_ascii=False).encode(), "application/json",
            {"Authorization": f"Bearer {token}"}))
        reqs["open311"].append(_request("POST", "/open311/v2/requests.json", urlencode(
            {"api_key": key, "service_code": item.code, "lat": lat, "long": lon, "description": text_,
             "phone": phone, "first_name": "测", "last_name": "试"}).encode(),
            "application/x-www-form-urlencoded"))
    files = {}
    for kind, items_ in reqs.items():
        files[kind] = folder / f"{kind}.json"
        files[kind].write_text(json.dumps(items_), encoding="utf-8")
    return files


def load_round(files: dict[str, Path], kind: str, port: int, clients: int, seconds: float) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", "bench.loadgen", str(files[kind]), "--port", str(port),
                          "--clients", str(clients), "--seconds", str(seconds)],
                         capture_output=True, text=True, cwd=ROOT, check=True, timeout=seconds + 120)
    return json.loads(out.stdout)


def run(url: str, *, workers: int = 2, clients: int = 32, rounds: int = 3, seconds: float = 10,
        log: Any = print) -> dict[str, Any]:
    """ROUNDS × (baseline, API, Open311), each round `seconds` long; medians per endpoint."""
    folder = Path(tempfile.mkdtemp(prefix="jiayuan-bench-intake-"))
    files = prepare(url, folder)
    server = start_server(url, workers)
    results: dict[str, list[dict[str, Any]]] = {k: [] for k in KINDS}
    try:
        # A short warm-up of each route first (imports, caches, the grid index), not counted.
        for kind in KINDS:
            load_round(files, kind, server.port, clients, 2)
        for r in range(rounds):
            for kind in KINDS:
                res = load_round(files, kind, server.port, clients, seconds)
                results[kind].append(res)
                log(f"  intake round {r + 1}/{rounds} {kind:>8}: {res['throughput']:7.0f} req/s, "
                    f"p99 {res['p99_ms']:6.1f} ms, errors {res['errors']}")
    finally:
        stop_server(server)
    out: dict[str, Any] = {"rounds": rounds, "seconds": seconds, "clients": clients, "workers": workers,
                           "raw": results}
    for kind in KINDS:
        out[kind] = {
            "throughput": statistics.median(r["throughput"] for r in results[kind]),
            "p50_ms": statistics.median(r["p50_ms"] for r in results[kind]),
            "p99_ms": statistics.median(r["p99_ms"] for r in results[kind]),
            "errors": sum(r["errors"] for r in results[kind]),
            "requests": sum(r["requests"] for r in results[kind]),
        }
    for kind in ("api", "open311"):
        out[kind]["throughput_ratio"] = out[kind]["throughput"] / out["baseline"]["throughput"]
        out[kind]["p99_ratio"] = out[kind]["p99_ms"] / out["baseline"]["p99_ms"]
    return out
