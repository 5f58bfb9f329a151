"""Tests for the deterministic Jizhou demo generator (jiayuan.demo.generate)."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter, defaultdict
from itertools import combinations
from pathlib import Path

import pytest
import shapely
from shapely.geometry import Polygon, shape
from shapely.ops import unary_union

from jiayuan.demo.generate import (
    DEFAULT_DIVISIONS_CSV,
    DemoDistrict,
    UnitSpec,
    build_demo,
    feature_collection,
)

CODE_LENGTH = {"district": 6, "street": 9, "community": 12, "grid": 15}
PARENT_LEVEL = {"street": "district", "community": "street", "grid": "community"}
ROLE_LEVEL = {
    "district_admin": "district",
    "hotline_operator": "district",
    "department": "district",
    "street_staff": "street",
    "community_staff": "community",
    "grid_worker": "grid",
}
HAN = re.compile(r"^[\u4e00-\u9fff]{2,}$")


@pytest.fixture(scope="module")
def small() -> DemoDistrict:
    return build_demo("small")


@pytest.fixture(scope="module")
def district() -> DemoDistrict:
    return build_demo("district")


@pytest.fixture(params=["small", "district"])
def demo(request: pytest.FixtureRequest) -> DemoDistrict:
    return request.getfixturevalue(request.param)


def levels(demo: DemoDistrict) -> dict[str, list[UnitSpec]]:
    out: dict[str, list[UnitSpec]] = defaultdict(list)
    for u in demo.units:
        out[u.level].append(u)
    return out


def children(demo: DemoDistrict) -> dict[str, list[UnitSpec]]:
    out: dict[str, list[UnitSpec]] = defaultdict(list)
    for u in demo.units:
        if u.parent_code is not None:
            out[u.parent_code].append(u)
    return out


# --- counts and names ----------------------------------------------------------


def test_district_counts(district: DemoDistrict) -> None:
    by_level = levels(district)
    assert [u.code for u in by_level["district"]] == ["360802"]
    assert by_level["district"][0].name == "吉州区"
    streets = {u.name for u in by_level["street"]}
    assert len(streets) == 5 and "文山街道" in streets
    assert all(u.code.startswith("36080200") for u in by_level["street"])
    assert len(by_level["community"]) == 35
    assert len(by_level["grid"]) == 305
    roles = Counter(s.role for s in district.staff)
    assert roles["grid_worker"] >= 1000
    assert roles == {
        "district_admin": 1,
        "hotline_operator": 2,
        "department": 2,
        "street_staff": 10,
        "community_staff": 70,
        "grid_worker": 1220,
    }
    per_community = Counter(u.parent_code for u in by_level["grid"])
    assert sorted(Counter(per_community.values()).items()) == [(8, 10), (9, 25)]


def test_small_counts(small: DemoDistrict) -> None:
    by_level = levels(small)
    assert [u.name for u in by_level["street"]] == ["古南街道", "文山街道"]
    assert [u.code for u in by_level["street"]] == ["360802001", "360802003"]
    assert len(by_level["community"]) == 4
    assert len(by_level["grid"]) == 12
    assert Counter(u.parent_code for u in by_level["grid"]) == {u.code: 3 for u in by_level["community"]}
    assert {"admin", "hotline1", "dept_city"} <= {s.username for s in small.staff}
    roles = Counter(s.role for s in small.staff)
    assert roles == {
        "district_admin": 1,
        "hotline_operator": 1,
        "department": 1,
        "street_staff": 2,
        "community_staff": 4,
        "grid_worker": 24,
    }


def test_named_communities(small: DemoDistrict, district: DemoDistrict) -> None:
    for demo, required in ((district, {"光明社区", "平安里社区", "古南镇社区"}), (small, {"光明社区", "古南镇社区"})):
        by_level = levels(demo)
        streets = {u.code: u.name for u in by_level["street"]}
        communities = {u.name: u for u in by_level["community"]}
        assert required <= communities.keys()
        assert streets[communities["古南镇社区"].parent_code] == "古南街道"


def test_names(demo: DemoDistrict) -> None:
    by_level = levels(demo)
    names = [u.name for u in by_level["community"]]
    assert len(set(names)) == len(names)
    assert all(HAN.match(n) and n.endswith("社区") for n in names)
    community_names = {u.code: u.name for u in by_level["community"]}
    for g in by_level["grid"]:
        assert g.name == f"{community_names[g.parent_code]}第{int(g.code[-3:])}网格"
    assert all(HAN.match(s.full_name) for s in demo.staff)


# --- codes, staff, memberships ---------------------------------------------------


def test_codes(demo: DemoDistrict) -> None:
    units = {u.code: u for u in demo.units}
    assert len(units) == len(demo.units)
    for u in demo.units:
        assert u.code.isdigit() and len(u.code) == CODE_LENGTH[u.level]
        if u.level == "district":
            assert u.parent_code is None
            continue
        parent = units[u.parent_code]
        assert parent.level == PARENT_LEVEL[u.level]
        assert u.code.startswith(parent.code)
    # Parents come before their children (feature_collection relies on it).
    seen: set[str] = set()
    for u in demo.units:
        assert u.parent_code is None or u.parent_code in seen
        seen.add(u.code)


def test_staff(demo: DemoDistrict) -> None:
    usernames = [s.username for s in demo.staff]
    assert len(set(usernames)) == len(usernames)
    assert all(re.fullmatch(r"[a-z0-9_\-]+", n) for n in usernames)
    units = {u.code: u for u in demo.units}
    for s in demo.staff:
        assert units[s.scope_code].level == ROLE_LEVEL[s.role]
    admin = next(s for s in demo.staff if s.username == "admin")
    assert (admin.role, admin.scope_code) == ("district_admin", "360802")


def test_grid_members(demo: DemoDistrict) -> None:
    workers = {s.username: s for s in demo.staff if s.role == "grid_worker"}
    assert {m.username for m in demo.grid_members} == workers.keys()
    members: dict[str, list] = defaultdict(list)
    for m in demo.grid_members:
        assert workers[m.username].scope_code == m.grid_code
        members[m.grid_code].append(m)
    grids = [u.code for u in demo.units if u.level == "grid"]
    assert members.keys() == set(grids)
    minimum = 4 if len(grids) > 100 else 2
    for code in grids:
        assert len(members[code]) >= minimum
        leads = [m.username for m in members[code] if m.is_lead]
        assert leads == [f"gw{code}-1"]


# --- determinism ---------------------------------------------------------------------


def test_deterministic(small: DemoDistrict) -> None:
    assert build_demo("small", seed=2026) == small
    other = build_demo("small", seed=7)
    assert [u.geometry for u in other.units] != [u.geometry for u in small.units]


def test_district_deterministic(district: DemoDistrict) -> None:
    assert build_demo("district") == district


def test_unknown_scale() -> None:
    with pytest.raises(ValueError, match="scale: must be small or district"):
        build_demo("city")


def test_divisions_csv_filters_county(tmp_path: Path, small: DemoDistrict) -> None:
    # Other counties' rows in a full prefecture file must be ignored.
    csv_path = tmp_path / "divisions.csv"
    shutil.copy(DEFAULT_DIVISIONS_CSV, csv_path)
    with csv_path.open("a", encoding="utf-8") as fh:
        fh.write('360803001,"河东街道",360803,36,3608\n')
    assert build_demo("small", divisions_csv=csv_path) == small


def test_default_csv_is_jizhou_only() -> None:
    lines = DEFAULT_DIVISIONS_CSV.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "code,name,county_code,province_code,city_code"
    assert all(line.split(",")[2] == "360802" for line in lines[1:])


# --- geometry --------------------------------------------------------------------------


def test_geometry_valid(demo: DemoDistrict) -> None:
    for u in demo.units:
        g = shape(u.geometry)
        assert u.geometry["type"] == "Polygon" and isinstance(g, Polygon), u.code
        assert g.is_valid and g.area > 0, u.code
        assert g.area > 1e-8, u.code  # ≈ 100 m²: no slivers
        assert g.minimum_clearance > 1e-7, u.code  # nothing nearly touching at output precision
        assert shapely.is_ccw(g.exterior), u.code
        for ring in u.geometry["coordinates"]:
            assert all(round(c, 7) == c for pt in ring for c in pt), u.code


def test_geometry_location(demo: DemoDistrict) -> None:
    d = shape(levels(demo)["district"][0].geometry)
    minx, miny, maxx, maxy = d.bounds
    assert abs(d.centroid.x - 114.98) < 0.01 and abs(d.centroid.y - 27.11) < 0.01
    assert 0.06 < maxx - minx < 0.1  # ≈ 8 km of longitude at 27°N
    assert 0.04 < maxy - miny < 0.07  # ≈ 6 km of latitude


def test_geometry_hierarchy(demo: DemoDistrict) -> None:
    shapes = {u.code: shape(u.geometry) for u in demo.units}
    for parent_code, kids in children(demo).items():
        parent = shapes[parent_code]
        kid_shapes = [shapes[k.code] for k in kids]
        grown = parent.buffer(1e-6)
        for k, g in zip(kids, kid_shapes):
            assert grown.covers(g), k.code
        for (ka, a), (kb, b) in combinations(zip(kids, kid_shapes), 2):
            assert a.intersection(b).area < 1e-10, (ka.code, kb.code)
        assert abs(unary_union(kid_shapes).area - parent.area) / parent.area < 1e-6, parent_code


def test_small_first_grids_adjacent(small: DemoDistrict) -> None:
    first = levels(small)["community"][0]
    a, b = (shape(u.geometry) for u in levels(small)["grid"][:2])
    assert [u.parent_code for u in levels(small)["grid"][:2]] == [first.code] * 2
    assert a.boundary.intersection(b.boundary).length > 1e-5  # a shared edge, > ~1 m


def test_feature_collection(demo: DemoDistrict) -> None:
    fc = feature_collection(demo)
    assert fc["type"] == "FeatureCollection"
    assert len(fc["features"]) == len(demo.units)
    for f, u in zip(fc["features"], demo.units):
        assert f["type"] == "Feature"
        props = {"code": u.code, "name": u.name, "level": u.level, "parent_code": u.parent_code}
        assert f["properties"] == props
        assert f["geometry"] == u.geometry
    assert json.loads(json.dumps(fc, ensure_ascii=False)) == fc
