"""`make bench`: run every benchmark on scratch PostgreSQL databases, print a table, write docs/performance.md.

    python -m bench.run [--only locate,intake,pages,dashboard,registry]

Each figure is a ratio against a baseline measured in the same run (alternating A B A B, medians); the absolute
figures are printed beside it, and the target is judged on what the issue names (a ratio, or a time). The
scratch databases (jiayuan_bench_<pid>_*) are dropped at the end, Ctrl+C included. With --only, the table is
printed but docs/performance.md is left alone (it always holds a whole run)."""

from __future__ import annotations

import argparse
import os
import platform
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench import common, scratch
from bench.common import Figure
from bench.docfile import write_keeping_chaos

DOC = Path(__file__).resolve().parent.parent / "docs" / "performance.md"
PARTS = ("locate", "intake", "pages", "dashboard", "registry")


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}"


def postgres_version() -> str:
    with scratch._admin() as conn:
        return str(conn.execute("SHOW server_version").fetchone()[0])


# --- The parts; each returns its rows of the table. ------------------------------------------------------------


def part_locate(log: Any) -> list[Figure]:
    from bench import locate

    loc = locate.run()
    return [
        Figure("Point in grid, bulk (1M points, 10k grids)", f"{loc['ratio']:.2f} × raw STRtree",
               f"{loc['ours_s']:.2f} s vs {loc['raw_s']:.2f} s", "≥ 0.9 ×", loc["ratio"] >= 0.9),
        Figure("Point in grid, one point (median)", f"{loc['single_median_us']:.1f} µs",
               f"p99 {loc['single_p99_us']:.1f} µs", "≤ 20 µs", loc["single_median_us"] <= 20),
    ]


def district_database(log: Any) -> str:
    """A scratch database with the whole demo district, as `make run` loads it (cases, registry, services, care)."""
    from jiayuan.demo.load import load_demo
    from jiayuan.kit.db import analyze

    url = scratch.create("district")
    db = common.migrated(url)
    t = time.perf_counter()
    with db.unit_of_work() as s:
        load_demo(s, "district")
    analyze(db.engine, vacuum=True)  # as after `jiayuan demo`
    db.dispose()
    log(f"  district demo loaded in {time.perf_counter() - t:.0f} s")
    return url


def part_pages(url: str, log: Any) -> list[Figure]:
    from bench import intake, pages
    from jiayuan.kit.db import Database

    server = intake.start_server(url, workers=1)
    db = Database(url)
    try:
        res = pages.run(db, server.port, log=log)
    finally:
        intake.stop_server(server)
        db.dispose()
    names = {"workbench": "grid worker's workbench", "case": "case page", "report": "resident's report page"}
    return [Figure(f"Page: {names[p]} (server p95)", f"{res[p]['p95_ms']:.1f} ms",
                   f"p50 {res[p]['p50_ms']:.1f} ms; {res[p]['ratio']:.1f} × /healthz p95 "
                   f"({res['healthz']['p95_ms']:.2f} ms)", "≤ 100 ms", res[p]["p95_ms"] <= 100)
            for p in ("workbench", "case", "report")]


def part_intake(url: str, log: Any) -> list[Figure]:
    from bench import intake

    res = intake.run(url, log=log)
    base = res["baseline"]
    rows = []
    for kind, label in (("api", "JSON API"), ("open311", "Open311")):
        r = res[kind]
        rows.append(Figure(
            f"Case intake, {label}: throughput (32 clients, {res['rounds']} × {res['seconds']:.0f} s)",
            f"{r['throughput_ratio']:.2f} × one-INSERT baseline",
            f"{r['throughput']:,.0f} vs {base['throughput']:,.0f} req/s; errors {r['errors']}", "≥ 0.5 ×",
            r["throughput_ratio"] >= 0.5 and r["errors"] == 0))
        rows.append(Figure(f"Case intake, {label}: p99 latency", f"{r['p99_ratio']:.2f} × baseline p99",
                           f"{r['p99_ms']:.0f} vs {base['p99_ms']:.0f} ms (p50 {r['p50_ms']:.0f} vs "
                           f"{base['p50_ms']:.0f} ms)", "≤ 2 ×", r["p99_ratio"] <= 2))
    return rows


def part_dashboard(log: Any) -> list[Figure]:
    from bench import dashboard

    url = scratch.create("city")
    try:
        res = dashboard.run(url, log=log)
    finally:
        scratch.drop(url)
    rows = []
    for label, what, target in (("district", "a district (100,000 cases)", 200),
                                ("city", "a city of 10 districts (1,000,000 cases)", 500)):
        r = res[label]
        rows.append(Figure(f"Dashboard metrics, {what}", f"{r['metrics_ms']:.0f} ms",
                           f"{r['ratio']:.1f} × count(*) of the same cases ({r['count_ms']:.0f} ms)",
                           f"≤ {target} ms", r["metrics_ms"] <= target))
    return rows


def part_registry(log: Any) -> list[Figure]:
    from bench import registry

    imp = registry.run_import(225_000, log=log)
    url = scratch.create("people")
    try:
        look = registry.run_lookups(url, log=log)
    finally:
        scratch.drop(url)
    kinds = ", ".join(f"{k} {v:.1f}" for k, v in look["by_kind_ms"].items())
    return [
        Figure("Registry: import 225,000 people from Excel", f"{imp['import_s']:.0f} s",
               f"{imp['ratio']:.1f} × reading the workbook alone ({imp['read_s']:.0f} s; {imp['file_mb']:.0f} MB)",
               "≤ 60 s", imp["import_s"] <= 60),
        Figure(f"Registry: exact ID number look-up among {look['people']:,} people (median)",
               f"{look['id_ms']:.2f} ms", f"p95 {look['id_p95_ms']:.2f} ms; {look['id_ratio']:.1f} × by primary key "
               f"({look['pk_ms']:.2f} ms)", "≤ 5 ms", look["id_ms"] <= 5),
        Figure(f"Registry: name search among {look['people']:,} people (median)", f"{look['name_ms']:.1f} ms",
               f"p95 {look['name_p95_ms']:.1f} ms; {look['name_ratio']:.1f} × an exact name "
               f"({look['exact_name_ms']:.2f} ms); by kind (ms): {kinds}", "≤ 50 ms", look["name_ms"] <= 50),
    ]


# --- The run ---------------------------------------------------------------------------------------------------


def run(parts: tuple[str, ...], console: Console) -> tuple[list[Figure], dict[str, float]]:
    log = console.log
    rows: list[Figure] = []
    took: dict[str, float] = {}

    def timed(name: str, fn: Any, *args: Any) -> None:
        t = time.perf_counter()
        console.rule(name)
        rows.extend(fn(*args, log))
        took[name] = time.perf_counter() - t

    if "locate" in parts:
        timed("point in grid", part_locate)
    if "pages" in parts or "intake" in parts:
        url = district_database(log)
        try:
            if "pages" in parts:  # before intake adds its cases to the district
                timed("pages", part_pages, url)
            if "intake" in parts:
                timed("case intake", part_intake, url)
        finally:
            scratch.drop(url)
    if "dashboard" in parts:
        timed("dashboard metrics", part_dashboard)
    if "registry" in parts:
        timed("registry", part_registry)
    return rows, took


def table(rows: list[Figure]) -> Table:
    out = Table(title="Jiayuan benchmarks")
    for col in ("Figure", "Result", "Absolute", "Target", "Met"):
        out.add_column(col)
    for f in rows:
        out.add_row(f.name, f.result, f.absolute, f.target, "yes" if f.met else "NO")
    return out


def document(rows: list[Figure], took: dict[str, float], pg: str) -> str:
    notes = (Path(__file__).resolve().parent / "notes.md").read_text(encoding="utf-8")
    minutes = sum(took.values()) / 60
    return "\n".join([
        "# Performance",
        "",
        "Written by `make bench` (`bench/run.py`); every figure is measured in one run on the machine below, against a",
        "baseline measured in the same run (alternating A B A B and taking medians), never as a timed assertion in",
        "tests. Run it again to check these figures on your own hardware: it needs the local PostgreSQL",
        "(`JIAYUAN_BENCH_DATABASE_URL`, default `postgresql://postgres@127.0.0.1:5432/postgres`), creates and drops its",
        "own scratch databases, and takes about " + f"{minutes:.0f} minutes.",
        "",
        f"- Machine: {machine()}; PostgreSQL {pg}",
        f"- Date: {datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}",
        "- Time per part: " + ", ".join(f"{k} {v / 60:.1f} min" for k, v in took.items()),
        "",
        "| Figure | Result | Absolute | Target | Met |",
        "|---|---|---|---|---|",
        *[f"| {f.name} | {f.result} | {f.absolute} | {f.target} | {'yes' if f.met else '**no**'} |" for f in rows],
        "",
        notes.rstrip("\n"),
        "",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", default=",".join(PARTS), help="comma-separated parts: " + ", ".join(PARTS))
    args = parser.parse_args()
    parts = tuple(p.strip() for p in args.only.split(",") if p.strip())
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown part(s): {', '.join(sorted(unknown))}")
    console = Console()
    # The benchmark's processes and its servers share one configuration: the data they write is read by the other.
    from bench.intake import SECRET

    for name in [k for k in os.environ if k.startswith("JIAYUAN_") and not k.startswith("JIAYUAN_BENCH_")]:
        del os.environ[name]
    os.environ["JIAYUAN_SECRET_KEY"] = SECRET
    with scratch.session_of_run():
        pg = postgres_version()
        rows, took = run(parts, console)
    console.print(table(rows))
    if set(parts) == set(PARTS):
        write_keeping_chaos(DOC, document(rows, took, pg))  # the "Load with faults" section is `make chaos`'s
        console.print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
