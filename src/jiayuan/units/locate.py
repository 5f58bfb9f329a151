"""Point-in-grid lookup: which 15-digit grid holds a coordinate, and the nearest grid when none does."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import shapely

EARTH_RADIUS_M = 6371008.8  # IUGG mean radius; the haversine error it leaves (<0.5%) is fine for "320 m away"

_POLYGON_TYPES = (int(shapely.GeometryType.POLYGON), int(shapely.GeometryType.MULTIPOLYGON))
# Bucket-grid limits: enough resolution for a city's grids, bounded memory for odd inputs.
_MAX_CELLS = 1 << 20
_MAX_ENTRIES = 1 << 24
# locate_many works in chunks so the candidate-pair arrays stay a few tens of MB.
_CHUNK = 1 << 18


class GridIndex:
    """Spatial index over grid polygons given in lon/lat (x = lon, y = lat).

    Shared-edge rule (a product rule): a point in the interior of a grid belongs to that grid;
    a point lying exactly on a boundary shared by several grids belongs to the one with the
    smallest code. Should bad data make grids overlap, interior still beats boundary and the
    smallest code wins among equals.
    """

    def __init__(self, items: Iterable[tuple[str, shapely.Geometry]]) -> None:
        codes: list[str] = []
        geoms: list[shapely.Geometry] = []
        seen: set[str] = set()
        for code, geom in items:
            if not (isinstance(code, str) and len(code) == 15 and code.isascii() and code.isdigit()):
                raise ValueError(f"code: expected a 15-digit string, got {code!r}")
            if code in seen:
                raise ValueError(f"code: duplicate grid code {code}")
            seen.add(code)
            codes.append(code)
            geoms.append(geom)
        n = len(codes)
        self._codes = np.array(codes, dtype=object)
        # Filled element-wise: numpy must not try to unpack geometries into nested arrays.
        self._geoms = np.empty(n, dtype=object)
        self._geoms[:] = geoms
        if n:
            kinds = shapely.get_type_id(self._geoms)
            bad = ~np.isin(kinds, _POLYGON_TYPES) | shapely.is_empty(self._geoms)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ValueError(
                    f"geometry: grid {codes[i]} must be a non-empty Polygon or MultiPolygon, "
                    f"got {geoms[i]!r:.60}"
                )
        # Prepared polygons make every point-in-polygon test an indexed lookup.
        shapely.prepare(self._geoms)
        self._tree = shapely.STRtree(self._geoms)
        # Codes are equal-length digit strings, so string order is numeric order.
        self._rank = np.empty(n, dtype=np.int64)
        self._rank[np.argsort(np.array(codes, dtype="U15"), kind="stable")] = np.arange(n)
        self._build_buckets()

    def _build_buckets(self) -> None:
        # A uniform bucket grid over the polygons' bounding boxes. Lookups compute a bucket
        # from the raw coordinates, so no GEOS point is ever built: that allocation alone costs
        # as much as an STRtree query, and skipping it is what makes locate/locate_many fast.
        bounds = shapely.bounds(self._geoms).reshape(-1, 4)
        self._minx, self._miny, self._maxx, self._maxy = (np.ascontiguousarray(c) for c in bounds.T)
        self._x0 = self._y0 = 0.0
        self._cx = self._cy = 1.0
        self._nx = self._ny = 0
        self._offsets = np.zeros(1, dtype=np.int64)
        self._cand = np.zeros(0, dtype=np.intp)
        if not len(self):
            return
        x0, y0 = float(self._minx.min()), float(self._miny.min())
        spanx, spany = float(self._maxx.max()) - x0, float(self._maxy.max()) - y0
        # Buckets about the size of a typical grid keep 1-4 candidates per bucket.
        cx = float(np.median(self._maxx - self._minx)) or spanx or 1.0
        cy = float(np.median(self._maxy - self._miny)) or spany or 1.0
        while True:
            nx, ny = math.floor(spanx / cx) + 1, math.floor(spany / cy) + 1
            if nx * ny > _MAX_CELLS:
                grow = max(math.sqrt(nx * ny / _MAX_CELLS), 1.01)
                cx, cy = cx * grow, cy * grow
                continue
            # floor((v - x0) / cx) is monotone in v, so a point inside a bbox always lands in a
            # bucket the bbox was registered in, even when it sits exactly on a bucket edge.
            ix0 = np.floor((self._minx - x0) / cx).astype(np.int64)
            ix1 = np.floor((self._maxx - x0) / cx).astype(np.int64)
            iy0 = np.floor((self._miny - y0) / cy).astype(np.int64)
            iy1 = np.floor((self._maxy - y0) / cy).astype(np.int64)
            width = ix1 - ix0 + 1
            counts = width * (iy1 - iy0 + 1)
            total = int(counts.sum())
            if total <= _MAX_ENTRIES:
                break
            cx, cy = cx * 2, cy * 2
        poly = np.repeat(np.arange(len(self)), counts)
        k = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        cell = (iy0[poly] + k // width[poly]) * nx + ix0[poly] + k % width[poly]
        self._cand = poly[np.argsort(cell, kind="stable")].astype(np.intp)
        self._offsets = np.zeros(nx * ny + 1, dtype=np.int64)
        np.cumsum(np.bincount(cell, minlength=nx * ny), out=self._offsets[1:])
        self._x0, self._y0, self._cx, self._cy, self._nx, self._ny = x0, y0, cx, cy, nx, ny

    def __len__(self) -> int:
        return len(self._codes)

    @property
    def codes(self) -> tuple[str, ...]:
        """The grid codes, in the order they were given."""
        return tuple(self._codes)

    def locate(self, lat: float, lon: float) -> str | None:
        """The code of the grid containing the point (see the shared-edge rule), or None."""
        fx = (lon - self._x0) / self._cx
        fy = (lat - self._y0) / self._cy
        # Also rejects NaN, which compares false.
        if not (0.0 <= fx < self._nx and 0.0 <= fy < self._ny):
            return None
        cell = int(fy) * self._nx + int(fx)
        cand = self._cand[self._offsets[cell] : self._offsets[cell + 1]]
        if not cand.size:
            return None
        hit = cand[shapely.intersects_xy(self._geoms[cand], lon, lat)]
        if hit.size <= 1:
            return self._codes[hit[0]] if hit.size else None
        inside = hit[shapely.contains_xy(self._geoms[hit], lon, lat)]
        pool = inside if inside.size else hit
        return self._codes[pool[np.argmin(self._rank[pool])]]

    def locate_many(self, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
        """Vectorised `locate`: an object array of codes or None, shaped like the inputs."""
        lat = np.asarray(lats, dtype=np.float64)
        lon = np.asarray(lons, dtype=np.float64)
        if lat.shape != lon.shape:
            raise ValueError(f"lats/lons: shapes differ ({lat.shape} vs {lon.shape})")
        out = np.full(lat.shape, None, dtype=object)
        flat, x, y = out.reshape(-1), lon.ravel(), lat.ravel()
        for start in range(0, x.size if len(self) else 0, _CHUNK):
            stop = start + _CHUNK
            self._locate_chunk(x[start:stop], y[start:stop], flat[start:stop])
        return out

    def _locate_chunk(self, x: np.ndarray, y: np.ndarray, out: np.ndarray) -> None:
        fx = (x - self._x0) / self._cx
        fy = (y - self._y0) / self._cy
        pts = np.flatnonzero((fx >= 0) & (fx < self._nx) & (fy >= 0) & (fy < self._ny))
        cell = fy[pts].astype(np.int64) * self._nx + fx[pts].astype(np.int64)
        lo = self._offsets[cell]
        cnt = self._offsets[cell + 1] - lo
        # Expand to (point, candidate grid) pairs without a Python loop.
        pair_pt = np.repeat(pts, cnt)
        pos = np.arange(pair_pt.size) - np.repeat(np.cumsum(cnt) - cnt - lo, cnt)
        pair_g = self._cand[pos]
        px, py = x[pair_pt], y[pair_pt]
        # Most candidates fail on their bounding box; rejecting them in numpy is cheaper than in GEOS.
        box = (self._minx[pair_g] <= px) & (px <= self._maxx[pair_g])
        box &= (self._miny[pair_g] <= py) & (py <= self._maxy[pair_g])
        pair_pt, pair_g, px, py = pair_pt[box], pair_g[box], px[box], py[box]
        hit = shapely.intersects_xy(self._geoms[pair_g], px, py)
        pair_pt, pair_g = pair_pt[hit], pair_g[hit]
        out[pair_pt] = self._codes[pair_g]
        many = np.bincount(pair_pt, minlength=x.size)[pair_pt] > 1
        if not many.any():
            return
        # Points on shared edges (or in overlaps): interior first, then smallest code.
        tp, tg = pair_pt[many], pair_g[many]
        on_edge = ~shapely.contains_xy(self._geoms[tg], x[tp], y[tp])
        order = np.lexsort((self._rank[tg], on_edge, tp))
        tp, tg = tp[order], tg[order]
        first = np.ones(tp.size, dtype=bool)
        first[1:] = tp[1:] != tp[:-1]
        out[tp[first]] = self._codes[tg[first]]

    def nearest(self, lat: float, lon: float) -> tuple[str, float]:
        """The nearest grid's code and its distance in metres; (locate's code, 0.0) inside a grid."""
        if not len(self):
            raise ValueError("nearest: the index holds no grids")
        if not (math.isfinite(lat) and math.isfinite(lon)):
            raise ValueError(f"lat/lon: must be finite, got ({lat!r}, {lon!r})")
        code = self.locate(lat, lon)
        if code is not None:
            return code, 0.0
        point = shapely.Point(lon, lat)
        _, deg = self._tree.query_nearest(point, return_distance=True)
        # The nearest grid in degrees need not be nearest in metres (a degree of longitude is
        # shorter), but the one that is lies within this many degrees of the point.
        coslat = max(math.cos(math.radians(lat)), 1e-6)
        reach = float(deg.min()) / coslat * 1.001
        cand = self._tree.query(point, predicate="dwithin", distance=reach)
        # Measure on a local equirectangular plane, then report the haversine length.
        scale = np.array([coslat, 1.0])
        flat = shapely.transform(self._geoms[cand], lambda xy: xy * scale)
        lines = shapely.shortest_line(shapely.Point(lon * coslat, lat), flat)
        ends = shapely.get_coordinates(shapely.get_point(lines, 1))
        metres = haversine_m(lat, lon, ends[:, 1], ends[:, 0] / coslat)
        best = np.lexsort((self._rank[cand], metres))[0]
        return self._codes[cand[best]], float(metres[best])


def haversine_m(lat1: float, lon1: float, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Great-circle distance in metres from one point to many."""
    p1, p2 = math.radians(lat1), np.radians(lat2)
    h = np.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(h, 1.0)))
