"""Pure-Python demo data for Jizhou District (吉州区, 360802): units, staff, grid members.

No database; deterministic: everything comes from ``random.Random`` seeded by ``seed``.
Geometry is cut top-down (district → jittered vertical street strips → community rows,
some split in two → Lloyd-relaxed Voronoi grids), noded on the 1e-7° output grid, then
``_conform`` makes shared edges vertex-identical so children tile parents exactly.
"""

from __future__ import annotations

import csv
import math
import random
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from itertools import accumulate
from pathlib import Path
from typing import TypeVar

import numpy as np
import shapely
from shapely.geometry import LineString, MultiPoint, Polygon
from shapely.geometry.polygon import orient

DATA_DIR = Path(__file__).parent / "data"
DEFAULT_DIVISIONS_CSV = DATA_DIR / "3608-streets.csv"
NAMES_FILE = DATA_DIR / "names.toml"

DISTRICT_CODE = "360802"
DISTRICT_NAME = "吉州区"
REQUIRED_STREET = "文山街道"
CENTER = (114.98, 27.11)  # Ji'an city centre (lon, lat)
HALF_SIZE = (0.0404, 0.027)  # ≈ 4 km × 3 km at 27°N, i.e. an 8 km × 6 km district
GRID = 1e-7  # output precision (7 decimals); every overlay snaps to it
SNAP_TOL = 1.5 * GRID  # how far snap rounding may leave a shared vertex off an edge
MIN_CLEARANCE = 10 * GRID  # ≈ 10 cm; smaller features are redrawn
_ATTEMPTS = 200  # redraws before giving up on an unlucky random cut
T = TypeVar("T")


@dataclass(frozen=True)
class UnitSpec:
    """One governance unit with its GeoJSON Polygon geometry (lon/lat, 7 decimals)."""

    code: str
    name: str
    level: str  # "district" | "street" | "community" | "grid"
    parent_code: str | None
    geometry: dict


@dataclass(frozen=True)
class StaffSpec:
    """A staff account; ``scope_code`` is the unit the role applies to."""

    username: str
    full_name: str
    # district_admin | street_staff | community_staff | grid_worker | hotline_operator | department
    role: str
    scope_code: str


@dataclass(frozen=True)
class GridMemberSpec:
    """Membership of a grid worker in a grid; exactly one lead per grid."""

    grid_code: str
    username: str
    is_lead: bool


@dataclass(frozen=True)
class DemoDistrict:
    """The whole demo: units ordered level by level (parents first), staff, memberships."""

    units: list[UnitSpec]
    staff: list[StaffSpec]
    grid_members: list[GridMemberSpec]


@dataclass(frozen=True)
class _Scale:
    streets: int
    communities_per_street: int
    grids: int  # total, spread as evenly as possible over the communities
    street_staff: int
    community_staff: int
    workers_per_grid: int  # the first one is the lead
    hotlines: int
    departments: tuple[str, ...]


SCALES: dict[str, _Scale] = {
    "district": _Scale(5, 7, 305, 2, 2, 4, 2, ("city", "water")),
    "small": _Scale(2, 2, 12, 1, 1, 2, 1, ("city",)),
}


def _pick_streets(divisions_csv: Path, n: int) -> list[tuple[str, str]]:
    """The first ``n`` 街道 of the district by code, forcing 文山街道 in."""
    with divisions_csv.open(encoding="utf-8", newline="") as fh:
        streets = sorted((row["code"], row["name"]) for row in csv.DictReader(fh)
                         if row["county_code"] == DISTRICT_CODE and row["name"].endswith("街道"))
    required = [s for s in streets if s[1] == REQUIRED_STREET]
    if len(streets) < n or not required:
        raise ValueError(f"{divisions_csv}: need {n} 街道 of {DISTRICT_CODE} incl. {REQUIRED_STREET}")
    picked = streets[:n]
    if required[0] not in picked:
        picked[-1] = required[0]
    return sorted(picked)


def _district_outline(rng: random.Random) -> Polygon:
    """A wobbly rounded rectangle (superellipse); star-shaped by construction, so simple."""
    (cx, cy), (a, b) = CENTER, HALF_SIZE
    waves = [(k, rng.uniform(0.01, 0.03), rng.uniform(0, 2 * math.pi)) for k in range(2, 6)]
    pts = []
    for i in range(120):
        t = 2 * math.pi * i / 120
        c, s = math.cos(t), math.sin(t)
        r = (abs(c / a) ** 4 + abs(s / b) ** 4) ** -0.25
        r *= 1 + sum(amp * math.cos(k * t + ph) for k, amp, ph in waves) + rng.uniform(-0.004, 0.004)
        pts.append((cx + r * c, cy + r * s))
    return shapely.set_precision(Polygon(pts), GRID)


def _ok(piece: shapely.Geometry, min_area: float) -> bool:
    """A usable piece: one hole-free polygon, not a sliver, nothing nearly touching.

    The clearance keeps vertices many pixels from non-adjacent edges, so ``_conform``
    can tell a snapped T-junction from a real feature.
    """
    return (piece.geom_type == "Polygon" and not piece.interiors and piece.area >= min_area
            and piece.minimum_clearance >= MIN_CLEARANCE)


def _wobble(rng: random.Random, amp: float, n: int) -> list[float]:
    """``n`` offsets within ±amp, smoothed so cut lines bend like roads rather than zigzag."""
    raw = [rng.uniform(-amp, amp) for _ in range(n + 2)]
    return [(raw[i] + 2 * raw[i + 1] + raw[i + 2]) / 4 for i in range(n)]


def _faces(poly: Polygon, lines: list) -> list[Polygon]:
    """The pieces of ``poly`` cut by ``lines``.

    One snap-rounded noding computes each intersection once, so neighbouring pieces
    share identical edges.
    """
    noded = shapely.union_all([poly.boundary, *lines], grid_size=GRID)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    return [f for f in faces if poly.contains(f.representative_point())]


def _cut_strips(poly: Polygon, n: int, axis: str, rng: random.Random) -> list[Polygon] | None:
    """Cut ``poly`` into ``n`` left→right strips (axis "x") or top→bottom bands ("y"), or None.

    Cut lines share sample levels and jitter less than half the narrowest strip: no crossings.
    """
    if n == 1:
        return [poly]
    weights = [rng.uniform(0.7, 1.4) for _ in range(n)]
    x0, y0, x1, y1 = poly.bounds
    lo, hi, olo, ohi = (x0, x1, y0, y1) if axis == "x" else (y0, y1, x0, x1)
    pad = (hi - lo) + (ohi - olo)  # outer lines and line ends lie well outside poly
    total = sum(weights)
    pos = [lo - pad] + [lo + (hi - lo) * acc / total for acc in accumulate(weights[:-1])] + [hi + pad]
    amp = 0.4 * (hi - lo) * min(weights) / total
    steps = 7
    levels = [olo - pad] + [olo + (ohi - olo) * i / steps for i in range(steps + 1)] + [ohi + pad]
    lines = [[p] * len(levels) for p in pos]  # the outer two stay straight, far outside
    for line in lines[1:-1]:
        line[:] = [x + d for x, d in zip(line, _wobble(rng, amp, len(levels)))]
    lines = [[(u, v) if axis == "x" else (v, u) for u, v in zip(line, levels)] for line in lines]
    faces = _faces(poly, [LineString(line) for line in lines[1:-1]])
    pieces = []
    for w, left, right in zip(weights, lines, lines[1:]):
        strip = Polygon(left + right[::-1])
        inside = [f for f in faces if strip.contains(f.representative_point())]
        if len(inside) != 1 or not _ok(inside[0], 0.35 * poly.area * w / total):
            return None
        pieces.append(inside[0])
    return pieces[::-1] if axis == "y" else pieces  # bands read top first


def _communities(street: Polygon, n: int, rng: random.Random) -> list[Polygon] | None:
    """Rows of communities; some rows split in two so it is not a brick wall."""
    rows = min(n, max(2, (n + 1) // 2))
    bands = _cut_strips(street, rows, "y", rng)
    if bands is None:
        return None
    split = set(rng.sample(range(rows), n - rows))
    out: list[Polygon] = []
    for i, band in enumerate(bands):
        parts = _cut_strips(band, 2, "x", rng) if i in split else [band]
        if parts is None:
            return None
        out += parts
    return out


def _grids(community: Polygon, n: int, rng: random.Random) -> list[Polygon] | None:
    """Tile ``community`` with ``n`` Voronoi cells of random, Lloyd-relaxed seeds."""
    if n == 1:
        return [community]
    x0, y0, x1, y1 = community.bounds
    pts: list[tuple[float, float]] = []
    while len(pts) < n:
        x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
        if shapely.contains_xy(community, x, y):
            pts.append((x, y))
    for _ in range(3):  # Lloyd relaxation evens out cell sizes, like planned grids
        cells = shapely.get_parts(shapely.voronoi_polygons(MultiPoint(pts), extend_to=community))
        clipped = shapely.intersection(cells, community)
        if shapely.is_empty(clipped).any():
            return None
        pts = [(c.x, c.y) for c in shapely.centroid(clipped)]
    cells = shapely.get_parts(shapely.voronoi_polygons(MultiPoint(pts), extend_to=community))
    tiles = _faces(community, list(shapely.boundary(cells)))
    if len(tiles) != n or not all(_ok(t, 0.3 * community.area / n) for t in tiles):
        return None
    # Reading order: bands from the top, left to right within a band.
    rows = max(1, round(math.sqrt(n * (y1 - y0) / ((x1 - x0) * math.cos(math.radians(CENTER[1]))))))
    tiles.sort(key=lambda t: (min(rows - 1, int((y1 - t.centroid.y) / (y1 - y0) * rows)), t.centroid.x))
    # Grid 2 must border grid 1 (tests use them as neighbouring grids A and B).
    if not tiles[0].relate_pattern(tiles[1], "****1****"):  # boundaries meet along a line?
        j = next(j for j in range(2, n) if tiles[0].relate_pattern(tiles[j], "****1****"))
        tiles.insert(1, tiles.pop(j))
    return tiles


def _retry(make: Callable[[random.Random], T | None], rng: random.Random, what: str) -> T:
    """Call ``make(rng)`` until it succeeds; the rng advances, so this stays deterministic."""
    for _ in range(_ATTEMPTS):
        result = make(rng)
        if result is not None:
            return result
    raise RuntimeError(f"could not generate {what}")


def _conform(polys: list[Polygon]) -> list[Polygon]:
    """Make shared boundaries vertex-identical across all polygons of all levels.

    Levels are noded separately: a child's cut point may sit ~0.7 px off its parent's edge,
    two communities' cuts may meet their shared edge a pixel apart. So merge vertices within
    SNAP_TOL, then add each vertex to every other ring's edge within SNAP_TOL of it.
    """
    coords = [np.asarray(p.exterior.coords)[:-1] for p in polys]
    vertices, inverse = np.unique(np.concatenate(coords), axis=0, return_inverse=True)
    points = shapely.points(vertices)
    root = list(range(len(vertices)))  # union-find; np.unique order makes the root the min point

    def find(i: int) -> int:
        while root[i] != i:
            i = root[i]
        return i

    for i, j in zip(*shapely.STRtree(points).query(points, "dwithin", SNAP_TOL).tolist()):
        ri, rj = find(i), find(j)
        root[max(ri, rj)] = min(ri, rj)
    merged = np.array([find(i) for i in range(len(vertices))])[inverse.ravel()]
    rings = [[v for k, v in enumerate(r.tolist()) if v != r[k - 1]]  # drop merged repeats
             for r in np.split(merged, np.cumsum([len(c) for c in coords])[:-1])]
    starts = [v for ring in rings for v in ring]
    ends = [v for ring in rings for v in ring[1:] + ring[:1]]
    owner = [r for r, ring in enumerate(rings) for _ in ring]
    has = set(zip(owner, starts))
    segments = shapely.linestrings(np.stack([vertices[starts], vertices[ends]], axis=1))
    # Each vertex goes into the nearest edge of a ring lacking it (one edge only: no spikes).
    best: dict[tuple[int, int], tuple[float, int]] = {}
    for seg, hit in zip(*shapely.STRtree(points).query(segments, "dwithin", SNAP_TOL).tolist()):
        key = (owner[seg], hit)
        if hit == root[hit] and key not in has:
            dist = shapely.distance(segments[seg], points[hit])
            best[key] = min(best.get(key, (math.inf, -1)), (dist, seg))
    extra: dict[int, list[tuple[float, int]]] = {}
    for (_, hit), (_, seg) in best.items():
        a, b = vertices[starts[seg]], vertices[ends[seg]]
        t = float(np.dot(vertices[hit] - a, b - a) / np.dot(b - a, b - a))  # position along the edge
        extra.setdefault(seg, []).append((t, hit))
    out: list[list[int]] = [[] for _ in rings]
    for seg, (start, ring) in enumerate(zip(starts, owner)):
        out[ring] += [start] + [v for _, v in sorted(extra.get(seg, []))]
    return [Polygon(vertices[ring]) for ring in out]


def _geojson(poly: Polygon) -> dict:
    poly = orient(poly, 1.0)  # RFC 7946: exterior ring counter-clockwise
    rings = [poly.exterior, *poly.interiors]
    coordinates = [[[round(x, 7), round(y, 7)] for x, y in r.coords] for r in rings]
    return {"type": "Polygon", "coordinates": coordinates}


def _person(rng: random.Random, names: dict) -> str:
    given = rng.choices(names["given_chars"], k=1 if rng.random() < 0.3 else 2)
    return rng.choice(names["surnames"]) + "".join(given)


def _units(cfg: _Scale, streets: list[tuple[str, str]], names: dict, geo: random.Random,
           name_rng: random.Random) -> list[UnitSpec]:
    """All units, level by level in code order (so parents precede children)."""
    district = _district_outline(geo)
    street_polys = _retry(partial(_cut_strips, district, cfg.streets, "x"), geo, "streets")
    n_comm = cfg.streets * cfg.communities_per_street
    # Even spread of grids; which communities get one extra is up to the seed.
    base, extra = divmod(cfg.grids, n_comm)
    bigger = set(geo.sample(range(n_comm), extra))
    pinned = names["pinned_communities"]
    taken = {name for group in pinned.values() for name in group}
    generated = [s + "社区" for s in names["community_stems"] if s + "社区" not in taken]
    name_rng.shuffle(generated)
    # rows[level] = [(code, name, level, parent_code, polygon), ...]
    rows: list[list[tuple]] = [[(DISTRICT_CODE, DISTRICT_NAME, "district", None, district)], [], [], []]
    for (s_code, s_name), s_poly in zip(streets, street_polys):
        rows[1].append((s_code, s_name, "street", DISTRICT_CODE, s_poly))
        comm_polys = _retry(partial(_communities, s_poly, cfg.communities_per_street), geo, s_name)
        comm_names = pinned.get(s_name, [])[: cfg.communities_per_street]
        comm_names += [generated.pop() for _ in range(cfg.communities_per_street - len(comm_names))]
        for i, (c_name, c_poly) in enumerate(zip(comm_names, comm_polys), start=1):
            c_code = f"{s_code}{i:03d}"
            k = base + (len(rows[2]) in bigger)
            rows[2].append((c_code, c_name, "community", s_code, c_poly))
            tiles = _retry(partial(_grids, c_poly, k), geo, c_name)
            for j, g_poly in enumerate(tiles, start=1):
                rows[3].append((f"{c_code}{j:03d}", f"{c_name}第{j}网格", "grid", c_code, g_poly))
    flat = [row for level in rows for row in level]
    polys = _conform([row[4] for row in flat])
    return [UnitSpec(*row[:4], _geojson(poly)) for row, poly in zip(flat, polys)]


def _staff(cfg: _Scale, units: list[UnitSpec], names: dict, rng: random.Random) -> list[StaffSpec]:
    """Accounts in a fixed order: district-wide roles, then per street, community, grid."""
    staff = [StaffSpec("admin", _person(rng, names), "district_admin", DISTRICT_CODE)]
    staff += [StaffSpec(f"hotline{i}", _person(rng, names), "hotline_operator", DISTRICT_CODE)
              for i in range(1, cfg.hotlines + 1)]
    staff += [StaffSpec(f"dept_{d}", names["departments"][d], "department", DISTRICT_CODE)
              for d in cfg.departments]
    per_level = {"street": ("street", "street_staff", cfg.street_staff),
                 "community": ("comm", "community_staff", cfg.community_staff),
                 "grid": ("gw", "grid_worker", cfg.workers_per_grid)}
    for u in units:
        if u.level in per_level:
            prefix, role, count = per_level[u.level]
            for i in range(1, count + 1):
                staff.append(StaffSpec(f"{prefix}{u.code}-{i}", _person(rng, names), role, u.code))
    return staff


def build_demo(scale: str = "district", seed: int = 2026, divisions_csv: Path | None = None) -> DemoDistrict:
    """Build the demo district for ``scale`` ("small" or "district") from ``seed``."""
    if scale not in SCALES:
        raise ValueError("scale: must be small or district")
    cfg = SCALES[scale]
    streets = _pick_streets(Path(divisions_csv or DEFAULT_DIVISIONS_CSV), cfg.streets)
    names = tomllib.loads(NAMES_FILE.read_text(encoding="utf-8"))
    names["given_chars"] = [c for c in names["given_chars"] if not c.isspace()]
    # Separate streams so editing the name material never moves the geometry.
    geo, name_rng = random.Random(f"{seed}:geometry"), random.Random(f"{seed}:names")
    units = _units(cfg, streets, names, geo, name_rng)
    staff = _staff(cfg, units, names, name_rng)
    # Worker "-1" of each grid is its lead.
    members = [GridMemberSpec(s.scope_code, s.username, s.username.endswith("-1"))
               for s in staff if s.role == "grid_worker"]
    return DemoDistrict(units, staff, members)


def feature_collection(demo: DemoDistrict) -> dict:
    """GeoJSON FeatureCollection of all units, parents before children."""
    features = [
        {"type": "Feature", "geometry": u.geometry,
         "properties": {"code": u.code, "name": u.name, "level": u.level, "parent_code": u.parent_code}}
        for u in demo.units
    ]
    return {"type": "FeatureCollection", "features": features}
