"""Server time of three pages with the district's demo data, against GET /healthz in the same run.

The server is the one the intake benchmark uses (bench/server.py: the application plus a Server-Timing
header holding the time from the request entering the outermost middleware to its answer starting). One
client asks in turn for /healthz, the grid worker's workbench, a case page and the resident's report page,
ROUNDS times, each request on its own (nothing else is loading the server), so the figure is the server's
work for one page and not time spent queueing. Target (issue 7): p95 ≤ 100 ms.

- Workbench: GET /workbench signed in (session cookie) as the lead of the grid with the most open cases:
  the busiest to-do list of the district.
- Case page: GET /cases/{number} as that grid worker, over the cases of their grid (open and closed, with
  their timelines), a different case each time.
- Report page: GET /report, anonymous (the resident's form: categories, the map of the district)."""

from __future__ import annotations

import re
import statistics
from typing import Any

import httpx
from sqlalchemy import func, select

from bench.common import percentile
from jiayuan.accounts.models import User
from jiayuan.cases.models import Case
from jiayuan.cases.workflow import OPEN
from jiayuan.demo.load import DEMO_PASSWORD
from jiayuan.kit.db import Database
from jiayuan.units.models import GridMember

PAGES = ("healthz", "workbench", "case", "report")


def busiest_lead(db: Database) -> tuple[str, list[str]]:
    """The lead of the grid with the most open cases, and the numbers of that grid's cases (newest first)."""
    with db.sessions() as s:
        grid = s.scalar(select(Case.grid_code).where(Case.status.in_(OPEN), Case.grid_code.is_not(None))
                        .group_by(Case.grid_code).order_by(func.count().desc(), Case.grid_code).limit(1))
        username = s.scalar(select(User.username).join(GridMember, GridMember.user_id == User.id)
                            .where(GridMember.grid_code == grid, GridMember.is_lead))
        numbers = list(s.scalars(select(Case.number).where(Case.district_code == grid[:6], Case.origin_code == grid)
                                 .order_by(Case.reported_at.desc()).limit(200)))
    return username, numbers


def sign_in(client: httpx.Client, username: str) -> None:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    answer = client.post("/login", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token,
                                         "next": "/home"})
    if answer.status_code != 303:
        raise RuntimeError(f"sign-in of {username} failed: {answer.status_code}")


def _server_ms(answer: httpx.Response) -> float:
    if answer.status_code != 200:
        raise RuntimeError(f"{answer.request.url.path}: {answer.status_code}")
    return float(answer.headers["server-timing"].split("dur=")[1])


def run(db: Database, port: int, *, rounds: int = 200, log: Any = print) -> dict[str, Any]:
    username, numbers = busiest_lead(db)
    base = f"http://127.0.0.1:{port}"
    worker = httpx.Client(base_url=base, follow_redirects=False, timeout=60)
    anonymous = httpx.Client(base_url=base, follow_redirects=False, timeout=60)
    try:
        sign_in(worker, username)
        fetch = {
            "healthz": lambda i: anonymous.get("/healthz"),
            "workbench": lambda i: worker.get("/workbench"),
            "case": lambda i: worker.get(f"/cases/{numbers[i % len(numbers)]}"),
            "report": lambda i: anonymous.get("/report"),
        }
        for i in range(5):  # warm-up: templates compiled, caches filled
            for page in PAGES:
                _server_ms(fetch[page](i))
        samples: dict[str, list[float]] = {p: [] for p in PAGES}
        client_ms: dict[str, list[float]] = {p: [] for p in PAGES}
        for i in range(rounds):
            for page in PAGES:
                answer = fetch[page](i)
                samples[page].append(_server_ms(answer))
                client_ms[page].append(answer.elapsed.total_seconds() * 1000)
    finally:
        worker.close()
        anonymous.close()
    out: dict[str, Any] = {"rounds": rounds, "user": username, "cases": len(numbers)}
    for page in PAGES:
        out[page] = {"p50_ms": statistics.median(samples[page]), "p95_ms": percentile(samples[page], 95),
                     "client_p50_ms": statistics.median(client_ms[page])}
        log(f"  page {page:>9}: p50 {out[page]['p50_ms']:6.1f} ms, p95 {out[page]['p95_ms']:6.1f} ms (server)")
    for page in PAGES[1:]:
        out[page]["ratio"] = out[page]["p95_ms"] / out["healthz"]["p95_ms"]
    return out
