"""What the benchmarks share: figures for the table, A B A B timing, and databases built like `jiayuan init`."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jiayuan.kit.db import Database, analyze
from jiayuan.kit.migrate import upgrade


@dataclass
class Figure:
    """One row of the table: the ratio (or value) judged against the target, the absolute figures beside."""

    name: str
    result: str
    absolute: str
    target: str
    met: bool
    notes: list[str] = field(default_factory=list)


def alternate(sides: dict[str, Callable[[], Any]], rounds: int) -> dict[str, list[float]]:
    """Run each side once per round, in turn (A B A B …), and return each side's seconds per run."""
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(rounds):
        for name, fn in sides.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    return times


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def migrated(url: str, *, reference: bool = True) -> Database:
    """Migrations applied and reference data loaded, as `jiayuan init` does."""
    from jiayuan.reference import load_reference_data

    db = Database(url)
    upgrade(db.engine)
    if reference:
        with db.unit_of_work() as s:
            load_reference_data(s)
    return db


def load_demo_parts(db: Database, scale: str, *, cases: bool, registry: bool = False) -> Any:
    """The demo district's units, staff and grid workers, with or without its year of cases and its registry.
    Services and care are left out: none of the measured queries read them, and they double the load time."""
    from jiayuan.demo.load import load_demo

    with db.unit_of_work() as s:
        loaded = load_demo(s, scale, with_cases=cases, with_registry=registry, with_services=False, with_care=False)
    analyze(db.engine)
    return loaded
