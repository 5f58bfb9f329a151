"""Dashboard metrics over 1,000,000 cases: a district and a city of 10 districts, against count(*).

The city: the demo district's units copied to the first ten county codes of Ji'an (bench/data/
3608-counties.csv, real codes), and a year of cases made by the demo's own generator (demo/cases.py: every
state, category, channel and grid, with the working calendar's timings) for the demo district, copied to
the other nine in one INSERT … SELECT ordered by report time, so that the districts' cases are interleaved
on disk as a city's are. The period asked for is the whole year, so the city's figures aggregate every one
of the 1,000,000 cases and the district's its 100,000.

The baseline is `SELECT count(*)` over the same cohort (the same WHERE clause): what reading those rows costs
before computing anything. Each figure is timed as the page and the API compute it (metrics.compute, one
aggregate query and the roll-up in Python), alternating with its baseline; medians of ROUNDS runs each."""

from __future__ import annotations

import csv
import random
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from bench import common
from jiayuan.accounts.roles import Role
from jiayuan.accounts.service import Principal
from jiayuan.cases.calendar import calendar_for
from jiayuan.cases.metrics import service as metrics
from jiayuan.cases.models import PHONE_CONTEXT, Case, Category
from jiayuan.demo import cases as demo_cases
from jiayuan.kit.clock import local_today
from jiayuan.kit.crypto import get_cipher
from jiayuan.kit.db import Database, analyze, utcnow
from jiayuan.kit.scope import Scope
from jiayuan.units.models import Unit

COUNTIES = Path(__file__).resolve().parent / "data" / "3608-counties.csv"
HOME = "360802"  # the demo district


def counties(n: int = 10) -> list[str]:
    with COUNTIES.open(encoding="utf-8", newline="") as fh:
        codes = [row["code"] for row in csv.DictReader(fh)]
    assert codes[0] == HOME and len(codes) >= n
    return codes[:n]


def _copy_units(db: Database, districts: list[str]) -> None:
    """The demo district's unit tree under each other county code (names say which copy they are)."""
    cols = ("district_code", "id", "code", "name", "level", "parent_code", "geometry", "created_at", "updated_at")
    with db.engine.begin() as conn:
        for d in districts:
            if d == HOME:
                continue
            assert d.isdigit() and len(d) == 6  # written into the statement as a literal
            conn.execute(text(
                f"INSERT INTO units ({', '.join(cols)}) SELECT '{d}', gen_random_uuid(), '{d}' || substr(code, 7), "
                f"CASE WHEN level = 'district' THEN '{d}' ELSE name END, level, "
                f"CASE WHEN parent_code IS NULL THEN NULL ELSE '{d}' || substr(parent_code, 7) END, geometry, "
                f"created_at, updated_at FROM units WHERE district_code = '{HOME}'"))


def _seed_cases(session: Session, n: int, seed: int = 2026) -> list[dict[str, Any]]:
    """n cases of the demo district over the year ending now, from the demo's generator (no timeline)."""
    rng = random.Random(seed)
    now = utcnow()
    cal = calendar_for(session)
    categories = list(session.scalars(select(Category).where(Category.parent_code.is_not(None), Category.is_active)))
    weights = [6 if c.handling_level == "grid" else 3 if c.handling_level == "community" else 1 for c in categories]
    grids = list(session.execute(select(Unit.code, Unit.geometry).where(Unit.level == "grid",
                                                                       Unit.district_code == HOME).order_by(Unit.code)))
    from shapely.geometry import shape

    shapes = {code: shape(geom) for code, geom in grids}
    people = demo_cases._people(session)
    cipher = get_cipher()
    numbers: dict[str, int] = {}
    rows = []
    for _ in range(n):
        grid = rng.choice(grids)[0]
        category = rng.choices(categories, weights)[0]
        age = timedelta(days=365 * rng.random() ** 1.6)
        reported = demo_cases._office_hour(rng, now - age)
        case, _events = demo_cases._simulate(rng, cal, category, grid, shapes[grid], reported, now, people)
        day = reported.astimezone(demo_cases.TIMEZONE).strftime("%y%m%d")
        numbers[day] = numbers.get(day, 0) + 1
        case["number"] = f"{day}{numbers[day]:05d}"
        phone = case["reporter_phone"]
        case["reporter_phone"] = cipher.encrypt(phone, context=PHONE_CONTEXT) if phone else None
        case["reporter_phone_index"] = demo_cases.phone_key(phone) if phone else None
        rows.append(case)
    return rows


def build(url: str, per_district: int, districts: list[str], log: Any = print) -> Database:
    """The city's database: units of every district, per_district cases in each."""
    db = common.migrated(url)
    common.load_demo_parts(db, "district", cases=False)
    _copy_units(db, districts)
    with db.sessions() as s:
        rows = _seed_cases(s, per_district)
    log(f"  dashboard: {len(rows):,} cases generated for {HOME}; copying to {len(districts)} districts")
    columns = [c.name for c in Case.__table__.columns]
    # Python-side defaults the ORM would have filled in (flags false, counters zero).
    defaults = {c.name: c.default.arg for c in Case.__table__.columns if c.default is not None and c.default.is_scalar}
    with db.engine.begin() as conn:
        conn.exec_driver_sql("CREATE UNLOGGED TABLE bench_seed (LIKE cases)")
        raw = conn.connection.dbapi_connection
        with raw.cursor() as cur, cur.copy(f"COPY bench_seed ({', '.join(columns)}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row([_value(r[c] if c in r else defaults.get(c), c) for c in columns])
        rest = [c for c in columns if c not in ("district_code", "id", "origin_code", "unit_code", "grid_code",
                                                 "reporter_id", "idempotency_key", "merged_into_id")]
        conn.exec_driver_sql(
            f"INSERT INTO cases (district_code, id, origin_code, unit_code, grid_code, {', '.join(rest)}) "
            f"SELECT d, gen_random_uuid(), d || substr(origin_code, 7), d || substr(unit_code, 7), "
            f"CASE WHEN grid_code IS NULL THEN NULL ELSE d || substr(grid_code, 7) END, {', '.join(rest)} "
            f"FROM bench_seed CROSS JOIN unnest(%(ds)s::text[]) AS d ORDER BY reported_at, d",
            {"ds": districts})
        conn.exec_driver_sql("DROP TABLE bench_seed")
    analyze(db.engine, "cases", vacuum=True)  # as autovacuum leaves a table after a bulk load
    analyze(db.engine, "units")
    return db


def _value(v: Any, column: str) -> Any:
    if column == "attributes" and v is not None:
        import json

        return json.dumps(v)
    return v


def principals(districts: list[str]) -> dict[str, Principal]:
    admin = uuid.UUID(int=1)
    return {
        "district": Principal(admin, "bench", "bench", Role.district_admin, HOME, Scope((HOME,))),
        "city": Principal(admin, "bench", "bench", Role.district_admin, "3608", Scope(("3608",))),
    }


def run(url: str, *, per_district: int = 100_000, rounds: int = 7, log: Any = print) -> dict[str, Any]:
    districts = counties()
    db = build(url, per_district, districts, log)
    end = local_today() + timedelta(days=1)
    start = end - timedelta(days=366)
    out: dict[str, Any] = {"per_district": per_district, "districts": len(districts), "start": start, "end": end}
    try:
        for label, principal, by in (("district", principals(districts)["district"], "street"),
                                     ("city", principals(districts)["city"], "district")):
            with db.read_sessions() as s:
                cohort = metrics.cohort(s, principal, start, end)

                def figures(s: Session = s, principal: Principal = principal, by: str = by) -> None:
                    metrics.compute(s, principal, start, end, by)

                def count(s: Session = s, cohort: Any = cohort) -> None:
                    s.scalar(select(func.count()).select_from(Case).where(cohort))

                report = metrics.compute(s, principal, start, end, by)  # warm-up: caches, unit names
                rows = s.scalar(select(func.count()).select_from(Case).where(cohort)) or 0
                assert report.totals.reported == rows, (report.totals.reported, rows)
                times = common.alternate({"count": count, "metrics": figures}, rounds)
            out[label] = {"cases": rows, "metrics_ms": common.median_ms(times["metrics"]),
                          "count_ms": common.median_ms(times["count"]), "groups": len(report.rows),
                          "metrics_all_ms": [t * 1000 for t in times["metrics"]],
                          "count_all_ms": [t * 1000 for t in times["count"]]}
            out[label]["ratio"] = out[label]["metrics_ms"] / out[label]["count_ms"]
            log(f"  dashboard {label}: {rows:,} cases, metrics {out[label]['metrics_ms']:.0f} ms, "
                f"count(*) {out[label]['count_ms']:.0f} ms")
    finally:
        db.dispose()
    return out
