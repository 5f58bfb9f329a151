"""GridIndex: point-in-grid lookup, the shared-edge rule, vectorised lookup and nearest-grid distances."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely

from jiayuan.units.locate import GridIndex

LON0, LAT0, STEP = 114.98, 27.11, 0.01
XS = [LON0 + STEP * k for k in range(4)]
YS = [LAT0 + STEP * k for k in range(4)]
# Codes deliberately not in insertion order, so "smallest code" is not "first given".
CODE = {
    (i, j): f"360802001001{n:03d}"
    for (i, j), n in zip([(i, j) for j in range(3) for i in range(3)], [5, 3, 9, 1, 7, 2, 8, 4, 6])
}
M_PER_DEG = 6371008.8 * math.pi / 180


def cell(i: int, j: int) -> shapely.Polygon:
    return shapely.box(XS[i], YS[j], XS[i + 1], YS[j + 1])


@pytest.fixture
def tiling() -> GridIndex:
    return GridIndex((CODE[i, j], cell(i, j)) for (i, j) in CODE)


def brute_force(items: list[tuple[str, shapely.Geometry]], lats: np.ndarray, lons: np.ndarray) -> list:
    """The shared-edge rule spelled out naively: interior first, then the smallest code."""
    geoms = [g for _, g in items]
    touch = np.array([shapely.intersects_xy(g, lons, lats) for g in geoms])
    inner = np.array([shapely.contains_xy(g, lons, lats) for g in geoms])
    out = []
    for k in range(lats.size):
        pool = [items[i][0] for i in np.flatnonzero(inner[:, k])] or [
            items[i][0] for i in np.flatnonzero(touch[:, k])
        ]
        out.append(min(pool) if pool else None)
    return out


def test_interior_points(tiling: GridIndex) -> None:
    for (i, j), code in CODE.items():
        assert tiling.locate(YS[j] + STEP / 2, XS[i] + STEP / 2) == code
        assert tiling.locate(YS[j] + STEP * 0.01, XS[i] + STEP * 0.99) == code


def test_shared_edge_goes_to_smallest_code(tiling: GridIndex) -> None:
    # Vertical edge between (0,0) code 005 and (1,0) code 003.
    assert tiling.locate(YS[0] + STEP / 3, XS[1]) == CODE[1, 0] == "360802001001003"
    # Horizontal edge between (2,0) code 009 and (2,1) code 002.
    assert tiling.locate(YS[1], XS[2] + STEP / 3) == "360802001001002"


def test_shared_corner_of_four_goes_to_smallest_code(tiling: GridIndex) -> None:
    # Corner shared by (0,0)=005, (1,0)=003, (0,1)=001, (1,1)=007.
    assert tiling.locate(YS[1], XS[1]) == "360802001001001"
    assert tiling.locate(YS[2], XS[2]) == min(CODE[1, 1], CODE[2, 1], CODE[1, 2], CODE[2, 2])


def test_outer_boundary_belongs_to_its_only_grid(tiling: GridIndex) -> None:
    assert tiling.locate(YS[0] + STEP / 2, XS[0]) == CODE[0, 0]
    assert tiling.locate(YS[3], XS[3]) == CODE[2, 2]  # far corner of the whole extent
    assert tiling.locate(YS[0], XS[0]) == CODE[0, 0]


def test_outside_is_none_and_nearest_measures_metres(tiling: GridIndex) -> None:
    lat, lon = YS[1] + STEP / 2, XS[0] - 0.005
    assert tiling.locate(lat, lon) is None
    code, metres = tiling.nearest(lat, lon)
    assert code == CODE[0, 1]
    assert metres == pytest.approx(0.005 * M_PER_DEG * math.cos(math.radians(lat)), rel=0.01)
    code, metres = tiling.nearest(YS[0] - 0.003, XS[2] + STEP / 2)
    assert code == CODE[2, 0]
    assert metres == pytest.approx(0.003 * M_PER_DEG, rel=0.01)


def test_nearest_inside_a_grid_is_zero(tiling: GridIndex) -> None:
    assert tiling.nearest(YS[1], XS[1]) == ("360802001001001", 0.0)


def test_nearest_in_metres_not_in_degrees() -> None:
    lat, lon = 27.11, 114.98
    east = shapely.box(lon + 0.010, lat - 0.001, lon + 0.011, lat + 0.001)  # 0.0100° ≈ 990 m
    north = shapely.box(lon - 0.001, lat + 0.0095, lon + 0.001, lat + 0.0105)  # 0.0095° ≈ 1056 m
    index = GridIndex([("360802001001002", east), ("360802001001001", north)])
    code, metres = index.nearest(lat, lon)
    assert code == "360802001001002"
    assert metres == pytest.approx(0.010 * M_PER_DEG * math.cos(math.radians(lat)), rel=0.01)


def test_nearest_tie_goes_to_smallest_code() -> None:
    left = shapely.box(113.0, 27.0, 113.5, 28.0)
    right = shapely.box(114.5, 27.0, 115.0, 28.0)
    index = GridIndex([("360802001001009", left), ("360802001001004", right)])
    assert index.nearest(27.5, 114.0)[0] == "360802001001004"


def test_locate_many_matches_locate_and_the_rule(tiling: GridIndex) -> None:
    rng = np.random.default_rng(20240611)
    n = 3000
    lons = rng.uniform(XS[0] - 0.005, XS[3] + 0.005, n)
    lats = rng.uniform(YS[0] - 0.005, YS[3] + 0.005, n)
    # A third of the points sit exactly on grid lines, and some on corners.
    on_x, on_y = rng.random(n) < 0.33, rng.random(n) < 0.33
    lons[on_x] = rng.choice(XS, on_x.sum())
    lats[on_y] = rng.choice(YS, on_y.sum())
    many = tiling.locate_many(lats, lons)
    assert many.dtype == object and many.shape == (n,)
    single = [tiling.locate(a, b) for a, b in zip(lats.tolist(), lons.tolist())]
    assert many.tolist() == single
    items = [(CODE[i, j], cell(i, j)) for (i, j) in CODE]
    assert single == brute_force(items, lats, lons)
    assert sum(c is None for c in single) > 100
    assert (on_x & on_y).sum() > 100


def test_irregular_tiling_at_shared_vertices() -> None:
    rng = np.random.default_rng(7)
    frame = shapely.box(LON0, LAT0, LON0 + 0.1, LAT0 + 0.1)
    seeds = shapely.multipoints(rng.uniform([LON0, LAT0], [LON0 + 0.1, LAT0 + 0.1], (300, 2)))
    cells = shapely.intersection(shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=frame)), frame)
    items = [(f"360802001{k:06d}", g) for k, g in zip(rng.permutation(len(cells)), cells)]
    index = GridIndex(items)
    vertices = np.unique(shapely.get_coordinates(cells), axis=0)
    inside = rng.uniform([LON0 - 0.01, LAT0 - 0.01], [LON0 + 0.11, LAT0 + 0.11], (2000, 2))
    pts = np.vstack([vertices, inside])
    lons, lats = pts[:, 0], pts[:, 1]
    many = index.locate_many(lats, lons)
    single = [index.locate(a, b) for a, b in zip(lats.tolist(), lons.tolist())]
    assert many.tolist() == single == brute_force(items, lats, lons)
    assert all(c is not None for c in single[: len(vertices)])


def test_mixed_sizes_and_sparse_grids() -> None:
    # One big grid beside small ones, plus a far-away grid: exercises the bucket sizing.
    items = [("360802001002000", shapely.box(115.0, 27.0, 115.1, 27.1))]
    items += [(f"360802001001{k:03d}", shapely.box(115.1 + (k % 10) * 0.01, 27.0 + (k // 10) * 0.01,
                                                     115.11 + (k % 10) * 0.01, 27.01 + (k // 10) * 0.01))
              for k in range(100)]
    items.append(("460100001001001", shapely.box(110.3, 20.0, 110.3001, 20.0001)))
    index = GridIndex(items)
    rng = np.random.default_rng(3)
    lons = np.append(rng.uniform(114.99, 115.21, 3000), [110.30005, 115.1, 115.1])
    lats = np.append(rng.uniform(26.99, 27.11, 3000), [20.00005, 27.0, 27.05])
    many = index.locate_many(lats, lons)
    single = [index.locate(a, b) for a, b in zip(lats.tolist(), lons.tolist())]
    assert many.tolist() == single == brute_force(items, lats, lons)
    # The big grid's code sorts after the small ones', so it loses every shared edge.
    assert single[-3:] == ["460100001001001", "360802001001000", "360802001001040"]


def test_tiny_grids_scattered_over_china() -> None:
    # Span / grid size is ~10^5 per axis, so the bucket grid has to coarsen itself.
    rng = np.random.default_rng(11)
    corners = rng.uniform([75.0, 20.0], [135.0, 50.0], (200, 2))
    items = [(f"110101001{k:06d}", shapely.box(x, y, x + 1e-4, y + 1e-4)) for k, (x, y) in enumerate(corners)]
    index = GridIndex(items)
    pick = rng.integers(0, 200, 3000)
    pts = corners[pick] + rng.uniform(-2e-5, 1.2e-4, (3000, 2))
    many = index.locate_many(pts[:, 1], pts[:, 0])
    single = [index.locate(a, b) for a, b in zip(pts[:, 1].tolist(), pts[:, 0].tolist())]
    assert many.tolist() == single == brute_force(items, pts[:, 1], pts[:, 0])
    assert index.locate(corners[5, 1] + 5e-5, corners[5, 0] + 5e-5) == items[5][0]


def test_multipolygon_grid() -> None:
    parts = shapely.MultiPolygon([cell(0, 0), cell(2, 2)])
    index = GridIndex([("360802001001001", parts), ("360802001001002", cell(1, 1))])
    assert index.locate(YS[0] + 0.005, XS[0] + 0.005) == "360802001001001"
    assert index.locate(YS[2] + 0.005, XS[2] + 0.005) == "360802001001001"
    assert index.locate(YS[1] + 0.005, XS[0] + 0.005) is None
    assert index.locate(YS[1], XS[1]) == "360802001001001"  # corner touching both grids
    assert index.nearest(YS[2] + 0.005, XS[3] + 0.001)[0] == "360802001001001"
    lats = np.array([YS[0] + 0.005, YS[2] + 0.005, YS[1] + 0.005])
    assert index.locate_many(lats, np.array([XS[0], XS[2], XS[1]]) + 0.005).tolist() == [
        "360802001001001", "360802001001001", "360802001001002"]


def test_overlap_interior_beats_boundary() -> None:
    # Bad data: the larger-code grid covers the smaller one's edge. Interior wins there.
    small = shapely.box(0.0 + LON0, LAT0, 0.01 + LON0, 0.01 + LAT0)
    big = shapely.box(LON0 - 0.005, LAT0 - 0.005, LON0 + 0.005, LAT0 + 0.015)
    index = GridIndex([("360802001001001", small), ("360802001001009", big)])
    assert index.locate(LAT0 + 0.005, LON0) == "360802001001009"
    assert index.locate(LAT0 + 0.005, LON0 + 0.002) == "360802001001001"  # inside both: smallest
    got = index.locate_many(np.array([LAT0 + 0.005] * 2), np.array([LON0, LON0 + 0.002]))
    assert got.tolist() == ["360802001001009", "360802001001001"]


def test_empty_index() -> None:
    index = GridIndex([])
    assert len(index) == 0 and index.codes == ()
    assert index.locate(27.11, 114.98) is None
    assert index.locate_many(np.array([27.11, 0.0]), np.array([114.98, 0.0])).tolist() == [None, None]
    with pytest.raises(ValueError, match="nearest"):
        index.nearest(27.11, 114.98)


def test_len_codes_and_shapes(tiling: GridIndex) -> None:
    assert len(tiling) == 9
    assert tiling.codes == tuple(CODE.values())
    lats = np.full((2, 3), YS[1] + 0.005)
    lons = np.full((2, 3), XS[1] + 0.005)
    lats[1, 2] = np.nan
    got = tiling.locate_many(lats, lons)
    assert got.shape == (2, 3) and got[1, 2] is None and got[0, 0] == CODE[1, 1]
    assert tiling.locate_many(np.array([]), np.array([])).shape == (0,)
    with pytest.raises(ValueError, match="lats/lons"):
        tiling.locate_many(np.zeros(2), np.zeros(3))


def test_non_finite_points(tiling: GridIndex) -> None:
    assert tiling.locate(math.nan, XS[1]) is None
    assert tiling.locate(YS[1], math.inf) is None
    with pytest.raises(ValueError, match="lat/lon"):
        tiling.nearest(math.nan, XS[1])


@pytest.mark.parametrize(
    ("code", "geom", "field"),
    [
        ("36080200100100", cell(0, 0), "code"),
        ("36080200100100x", cell(0, 0), "code"),
        (360802001001001, cell(0, 0), "code"),
        ("360802001001001", shapely.Point(LON0, LAT0), "geometry"),
        ("360802001001001", shapely.LineString([(LON0, LAT0), (XS[1], YS[1])]), "geometry"),
        ("360802001001001", shapely.Polygon(), "geometry"),
    ],
)
def test_bad_items_name_the_field(code: object, geom: shapely.Geometry, field: str) -> None:
    with pytest.raises(ValueError, match=f"^{field}:"):
        GridIndex([(code, geom)])  # type: ignore[list-item]


def test_duplicate_code_rejected() -> None:
    with pytest.raises(ValueError, match="^code: duplicate"):
        GridIndex([("360802001001001", cell(0, 0)), ("360802001001001", cell(1, 0))])
