"""Point in grid: Jiayuan's GridIndex against a raw Shapely STRtree, in the same run.

1,000,000 random points against 10,000 grids (a Voronoi tiling of about 1 km cells around Ji'an). The two are
run alternately (A B A B …) and the medians compared, so that the ratio holds on a noisy machine.
Targets (issue 7): bulk throughput ≥ 0.9 × raw STRtree; single-point lookup ≤ 20 µs median.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import shapely

from jiayuan.units.locate import GridIndex

GRIDS = 10_000
POINTS = 1_000_000
ROUNDS = 5
X0, Y0, SIZE = 114.5, 26.8, 1.0


def tiling(rng: np.random.Generator) -> list[shapely.Geometry]:
    box = shapely.box(X0, Y0, X0 + SIZE, Y0 + SIZE)
    seeds = shapely.multipoints(np.column_stack([rng.uniform(X0, X0 + SIZE, GRIDS), rng.uniform(Y0, Y0 + SIZE, GRIDS)]))
    cells = shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=box))
    return list(shapely.intersection(cells, box))


def run() -> dict[str, float]:
    rng = np.random.default_rng(2026)
    geoms = tiling(rng)
    index = GridIndex((f"360802001{i:06d}", g) for i, g in enumerate(geoms))
    raw_tree = shapely.STRtree(geoms)
    lons = rng.uniform(X0 - 0.05, X0 + SIZE + 0.05, POINTS)
    lats = rng.uniform(Y0 - 0.05, Y0 + SIZE + 0.05, POINTS)

    def baseline() -> None:
        raw_tree.query(shapely.points(lons, lats), predicate="intersects")

    def ours() -> None:
        index.locate_many(lats, lons)

    times: dict[str, list[float]] = {"raw": [], "ours": []}
    for _ in range(ROUNDS):
        for name, fn in (("raw", baseline), ("ours", ours)):
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    raw, mine = statistics.median(times["raw"]), statistics.median(times["ours"])

    single = []
    locate = index.locate
    for lat, lon in zip(lats[:100_000].tolist(), lons[:100_000].tolist(), strict=True):
        t0 = time.perf_counter_ns()
        locate(lat, lon)
        single.append(time.perf_counter_ns() - t0)
    return {
        "raw_s": raw,
        "ours_s": mine,
        "ratio": raw / mine,
        "single_median_us": statistics.median(single) / 1000,
        "single_p99_us": float(np.percentile(single, 99)) / 1000,
    }
