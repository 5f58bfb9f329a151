"""The `jiayuan` command on a database of its own of each backend: the refusal on an unmigrated database, units
import/export/locate, users create and --help (the demo loader: tests/demo/test_district_demo.py). Run in this
process (tests/cli.py) except where the process itself is under test: the console script's exit status and help,
and the product's password hashing."""

from __future__ import annotations

import copy
import json
import math
import re
from collections import Counter
from pathlib import Path
from typing import Any

import shapely
from argon2 import PasswordHasher, extract_parameters
from shapely.geometry import shape

from jiayuan.accounts.service import check_password
from jiayuan.units.geo import wgs84_to_gcj02
from tests.cli import export, ok, run_cli, run_process, said, units_snapshot
from tests.databases import query

DISTRICT = "360802"
COMMUNITY = "360802001001"  # 光明社区 in the small demo
LEVELS = ("district", "street", "community", "grid")


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def feature(collection: dict[str, Any], code: str) -> dict[str, Any]:
    return next(f for f in collection["features"] if f["properties"]["code"] == code)


# 1. Unmigrated database.


def test_a_command_on_an_unmigrated_database_says_to_run_init(fresh_url: str, tmp_path: Path) -> None:
    out = tmp_path / "units.geojson"
    result = run_cli(fresh_url, "units", "export", str(out))
    assert result.returncode == 2, result.stderr
    assert said(result) == "error: the database is not initialised or not up to date; run `jiayuan init` first"
    assert result.stdout == ""
    assert not out.exists()


def test_the_console_script_exits_2_with_the_message_on_stderr(tmp_path: Path) -> None:
    """The same refusal from a real process: its exit status, and the message on stderr with nothing else."""
    out = tmp_path / "units.geojson"
    result = run_process(f"sqlite:///{tmp_path}/empty.db", "units", "export", str(out))
    assert result.returncode == 2, result.stderr
    assert said(result) == "error: the database is not initialised or not up to date; run `jiayuan init` first"
    assert result.stdout == ""
    assert not out.exists()


# 2 and 3. Export; import of the same file; import of bad files (exit 2, the field named, nothing written).


def test_units_export_import_round_trip_and_bad_files_change_nothing(demo_url: str, tmp_path: Path) -> None:
    path = tmp_path / "units.geojson"
    original = export(demo_url, path)

    assert original["type"] == "FeatureCollection"
    features = original["features"]
    assert Counter(f["properties"]["level"] for f in features) == {
        "district": 1, "street": 2, "community": 4, "grid": 12}
    assert sorted(f["properties"]["code"] for f in features) == [code for code, _, _ in units_snapshot(demo_url)]
    for f in features:
        assert f["type"] == "Feature"
        props = f["properties"]
        assert set(props) == {"code", "name", "level", "parent_code"}
        code = props["code"]
        assert props["level"] == LEVELS[len(code) // 3 - 2]
        assert props["parent_code"] == (None if len(code) == 6 else code[: 6 if len(code) == 9 else -3])
        if props["level"] == "grid":
            assert shape(f["geometry"]).geom_type in ("Polygon", "MultiPolygon")
    assert feature(original, DISTRICT)["properties"]["name"] == "吉州区"

    # The same file back: every unit updated in place, none created.
    before = units_snapshot(demo_url)
    assert "imported: 0 created, 19 updated" in ok(run_cli(demo_url, "units", "import", str(path))).stdout
    assert units_snapshot(demo_url) == before

    # Bad files.
    grid = feature(original, "360802001001001")

    def collection(*features: dict[str, Any]) -> dict[str, Any]:
        return {"type": "FeatureCollection", "features": list(features)}

    def unit(code: str, name: str, geometry: dict | None = None) -> dict[str, Any]:
        return {"type": "Feature", "geometry": geometry, "properties": {"code": code, "name": name}}

    # A copy of grid 001 under a new code in the same community: inside the community, but it covers 001.
    overlapping = copy.deepcopy(grid)
    overlapping["properties"].update(code="360802001001099", name="重叠网格")
    # A new street (no polygon needed) would import on its own; here it is first in a file whose second is bad.
    new_street = unit("360802009", "新街道")

    bad_json = tmp_path / "bad.geojson"
    bad_json.write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
    cases: dict[str, tuple[Path, list[str]]] = {
        "invalid JSON": (bad_json, ["FILE: not valid GeoJSON"]),
        "malformed code": (write_json(tmp_path / "code.geojson", collection(unit("36080200", "短码"))),
                           ["features[0].properties.code", "'36080200' is not a unit code"]),
        # Printed literally: the file's text must not be read as Rich markup (it crashed with MarkupError).
        "markup-like code": (write_json(tmp_path / "markup.geojson", collection(unit("[/x]", "标记"))),
                             ["features[0].properties.code", "'[/x]' is not a unit code"]),
        "unknown parent": (write_json(tmp_path / "parent.geojson", collection(
            unit("360802009009001", "孤儿网格", grid["geometry"]))),
            ["features[0].properties.parent_code", "unknown parent code 360802009009"]),
        "overlapping grid": (write_json(tmp_path / "overlap.geojson", collection(overlapping)),
                             ["features[0].geometry", "360802001001099 overlaps 360802001001001"]),
        "second feature bad": (write_json(tmp_path / "second.geojson", collection(new_street, overlapping)),
                               ["features[1].geometry", "360802001001099 overlaps 360802001001001"]),
    }
    for case, (file, expected) in cases.items():
        result = run_cli(demo_url, "units", "import", str(file))
        assert result.returncode == 2, f"{case}: exit {result.returncode}\n{result.stderr}"
        assert "Traceback" not in result.stderr, case
        message = said(result)
        assert message.startswith("error:"), f"{case}: {message}"
        for part in expected:
            assert part in message, f"{case}: {part!r} not in {message!r}"
        assert "imported" not in result.stdout, case
        assert units_snapshot(demo_url) == before, case
    # All or nothing: the valid first feature of the last file was not written either.
    assert query(demo_url, "SELECT count(*) FROM units WHERE code = :c", c="360802009") == [(0,)]
    after = export(demo_url, tmp_path / "after.geojson")
    assert len(after["features"]) == len(original["features"]) == 19
    assert after == original


# 4. Point in grid.


def test_locate_prints_the_chain_and_names_the_nearest_grid_when_outside(demo_url: str, tmp_path: Path) -> None:
    collection = export(demo_url, tmp_path / "units.geojson")
    grids = {f["properties"]["code"]: shape(f["geometry"]) for f in collection["features"]
             if f["properties"]["level"] == "grid"}
    code = "360802003002002"
    point = grids[code].representative_point()
    lat, lon = point.y, point.x
    glat, glon = wgs84_to_gcj02(lat, lon)
    assert math.dist((glat, glon), (lat, lon)) > 1e-4  # the datums really differ here: hundreds of metres

    # Well north of the district; the nearest grid by distance on the ground (longitude scaled by cos(lat)).
    top = max(grids.values(), key=lambda g: g.bounds[3])
    far_lat, far_lon = top.bounds[3] + 0.05, top.representative_point().x
    squash = math.cos(math.radians(far_lat))

    def flat(g: shapely.Geometry) -> shapely.Geometry:
        return shapely.transform(g, lambda xy: xy * [squash, 1.0])

    nearest = min(grids, key=lambda c: flat(grids[c]).distance(flat(shapely.Point(far_lon, far_lat))))

    wgs, gcj, far, bd09, as_json = (run_cli(demo_url, "units", "locate", *args) for args in (
        [str(lat), str(lon)],
        [str(glat), str(glon), "--crs", "gcj02"],
        [str(far_lat), str(far_lon)],
        [str(lat), str(lon), "--crs", "bd09"],
        [str(glat), str(glon), "--crs", "gcj02", "--json"],
    ))

    rows = [line.split() for line in ok(wgs).stdout.splitlines() if line.strip()]
    assert rows == [
        ["district", "360802", "吉州区"],
        ["street", "360802003", "文山街道"],
        ["community", "360802003002", "赣江社区"],
        ["grid", code, "赣江社区第2网格"],
    ]
    assert ok(gcj).stdout == wgs.stdout
    located = json.loads(ok(as_json).stdout)
    assert located["grid"]["code"] == code and [u["level"] for u in located["chain"]][0] == "district"
    assert abs(located["lat"] - lat) < 1e-6  # converted back to WGS-84

    assert far.returncode == 1, far.stderr
    assert "outside every grid" in said(far)
    assert f"({nearest})" in said(far)
    assert far.stdout == ""

    assert bd09.returncode == 2, bd09.stderr
    assert said(bd09).startswith("error: crs:")
    assert "'bd09'" in said(bd09)


# 5. Creating accounts.


def test_users_create_reads_the_password_from_stdin_and_names_each_bad_field(demo_url: str) -> None:
    users_before = query(demo_url, "SELECT count(*) FROM users")[0][0]

    def create(username: str, role: str, scope: str | None, *, stdin: bool = True) -> list[str]:
        return ["users", "create", "--username", username, "--role", role,
                *(["--scope", scope] if scope else []), *(["--password-stdin"] if stdin else [])]

    # As a real process: this test run hashes its own accounts with the cheapest Argon2 parameters (conftest.py);
    # the command must hash with the product's (argon2-cffi's defaults).
    result = ok(run_process(demo_url, *create("u1", "community_staff", COMMUNITY), input="s3cret-pass\n"))
    assert f"created u1 (community_staff, scope {COMMUNITY})" in result.stdout
    (role, scope, password_hash), = query(
        demo_url, "SELECT role, scope_code, password_hash FROM users WHERE username = 'u1'")
    assert (role, scope) == ("community_staff", COMMUNITY)
    product, made = PasswordHasher(), extract_parameters(password_hash)
    assert (made.time_cost, made.memory_cost, made.parallelism) == (
        product.time_cost, product.memory_cost, product.parallelism)
    assert check_password(password_hash, "s3cret-pass")
    assert not check_password(password_hash, "s3cret-pass\n")
    assert "s3cret-pass" not in result.stdout + result.stderr

    failures = {
        "taken": (create("u1", "community_staff", COMMUNITY), "another-pass\n", "username: user name u1 is taken"),
        "bad role": (create("u2", "mayor", COMMUNITY), "s3cret-pass\n", "role: unknown role"),
        "scope length": (create("u3", "community_staff", "360802001"), "s3cret-pass\n",
                         "scope: a community_staff needs a unit code of 12 digits"),
        "unknown unit": (create("u4", "community_staff", "360802009009"), "s3cret-pass\n",
                         "scope: unknown unit code 360802009009"),
        "short password": (create("u5", "community_staff", COMMUNITY), "short77\n",
                           "password: at least 10 characters"),
        "no --password-stdin": (create("u6", "community_staff", COMMUNITY, stdin=False), "s3cret-pass\n",
                                "--password-stdin"),
    }
    for case, (args, stdin, expected) in failures.items():
        result = run_cli(demo_url, *args, input=stdin)
        assert result.returncode == 2, f"{case}: exit {result.returncode}\n{result.stderr}"
        assert expected in said(result), f"{case}: {expected!r} not in {said(result)!r}"
        assert "created" not in result.stdout, case
    assert query(demo_url, "SELECT count(*) FROM users")[0][0] == users_before + 1
    # The refused second u1 did not replace the first one's password.
    assert check_password(query(demo_url, "SELECT password_hash FROM users WHERE username = 'u1'")[0][0],
                          "s3cret-pass")


# 6. Help.


def test_help_lists_the_commands(tmp_path: Path) -> None:
    result = ok(run_process(f"sqlite:///{tmp_path}/help.db", "--help"))
    listed = set(re.findall(r"^\W*([a-z]+)\s{2,}\S", result.stdout, flags=re.MULTILINE))
    assert {"init", "serve", "units", "users", "demo"} <= listed
