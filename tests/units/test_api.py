"""Units through the JSON API: scope per persona, GeoJSON import and export, point in grid, grid workers."""

from __future__ import annotations

import copy
import time
import uuid
from unittest.mock import patch

import pytest
from shapely.geometry import shape
from sqlalchemy.exc import IntegrityError

from jiayuan.accounts.service import issue_token
from jiayuan.demo.load import DEMO_PASSWORD
from jiayuan.units.geo import wgs84_to_gcj02
from tests.personas import COMMUNITY, GRID_A, GRID_B


def me(client, token):  # noqa: ANN001, ANN201
    return client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token['access_token']}"}).json()["id"]


def _centre(api, code):  # noqa: ANN001, ANN202
    geom = api("admin").get(f"/api/v1/units/{code}").json()["geometry"]
    p = shape(geom).representative_point()
    return p.y, p.x


def test_grid_worker_sees_own_grid_not_the_neighbours(api) -> None:  # noqa: ANN001
    a = api("grid_a")
    assert a.get(f"/api/v1/units/{GRID_A}").status_code == 200
    r = a.get(f"/api/v1/units/{GRID_B}")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    assert a.get(f"/api/v1/units/{GRID_B}/workers").status_code == 404
    grids = [u["code"] for u in a.get("/api/v1/units", params={"level": "grid"}).json()]
    assert grids == [GRID_A]
    b = api("grid_b")
    assert b.get(f"/api/v1/units/{GRID_A}").status_code == 404
    assert b.get(f"/api/v1/units/{GRID_B}").status_code == 200


def test_ancestors_are_visible_for_the_breadcrumb_but_not_their_other_children(api) -> None:  # noqa: ANN001
    r = api("grid_a").get(f"/api/v1/units/{COMMUNITY}")
    assert r.status_code == 200
    assert [c["code"] for c in r.json()["children"]] == [GRID_A]


def test_community_staff_sees_every_grid_of_the_community_only(api) -> None:  # noqa: ANN001
    grids = [u["code"] for u in api("community").get("/api/v1/units", params={"level": "grid"}).json()]
    assert GRID_A in grids and GRID_B in grids and all(g.startswith(COMMUNITY) for g in grids)
    other = api("other_community").get(f"/api/v1/units/{GRID_A}")
    assert other.status_code == 404


def test_district_admin_sees_the_whole_district(api) -> None:  # noqa: ANN001
    units = api("admin").get("/api/v1/units").json()
    levels = [u["level"] for u in units]
    assert levels.count("district") == 1 and levels.count("street") == 2 and levels.count("grid") == 12


def test_a_resident_has_no_unit_scope(api) -> None:  # noqa: ANN001
    assert api("resident").get("/api/v1/units", params={"level": "grid"}).json() == []
    assert api("resident").get(f"/api/v1/units/{GRID_A}").status_code == 404


def test_unauthenticated_and_expired_tokens_are_refused(client, settings) -> None:  # noqa: ANN001
    r = client.get("/api/v1/units")
    assert r.status_code == 401 and r.json()["field"] == "token"
    assert client.get("/api/v1/units", headers={"Authorization": "Bearer forged"}).status_code == 401
    admin = client.post("/api/v1/auth/token", data={"username": "admin", "password": DEMO_PASSWORD}).json()
    assert client.get("/api/v1/units", headers={"Authorization": f"Bearer {admin['access_token']}"}).is_success
    # The same kind of token, signed as if it had been issued a day ago.
    from jiayuan.accounts.models import User

    user = User(id=uuid.UUID(me(client, admin)), token_version=0)
    past = int(time.time()) - settings.token_ttl_seconds - 60
    with patch("itsdangerous.timed.TimestampSigner.get_timestamp", return_value=past):
        token = issue_token(settings.secret_key, user)
    r = client.get("/api/v1/units", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401 and "expired" in r.json()["message"]


def test_export_is_one_feature_collection_of_every_level(api) -> None:  # noqa: ANN001
    r = api("admin").get("/api/v1/units/export")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    fc = r.json()
    assert fc["type"] == "FeatureCollection"
    props = [f["properties"] for f in fc["features"]]
    assert {p["level"] for p in props} == {"district", "street", "community", "grid"}
    assert all(set(p) == {"code", "name", "level", "parent_code"} for p in props)
    assert sum(p["level"] == "grid" for p in props) == 12


def test_export_then_import_round_trips(api) -> None:  # noqa: ANN001
    admin = api("admin")
    fc = admin.get("/api/v1/units/export").json()
    r = admin.post("/api/v1/units/import", json=fc)
    assert r.status_code == 200, r.text
    assert r.json() == {"created": 0, "updated": len(fc["features"])}


def _new_grid_collection(api):  # noqa: ANN001, ANN202
    """A 13th grid carved out of nothing: a copy of grid A's feature with a new code, shifted away."""
    fc = api("admin").get("/api/v1/units/export").json()
    feature = copy.deepcopy(next(f for f in fc["features"] if f["properties"]["code"] == GRID_A))
    feature["properties"].update(code=COMMUNITY + "099", name="新网格")
    return {"type": "FeatureCollection", "features": [feature]}


@pytest.mark.parametrize(
    ("mutate", "field", "words"),
    [
        (lambda f: f.update(type="Nope"), "features[0].type", "Feature"),
        (lambda f: f["properties"].update(code="36080x"), "features[0].properties.code", "unit code"),
        (lambda f: f["properties"].update(code="3608021", parent_code=None), "features[0].properties.code",
         "unit code"),
        (lambda f: f["properties"].update(code="360802009009001", parent_code="360802009009"),
         "features[0].properties.parent_code", "unknown parent"),
        (lambda f: f["properties"].update(parent_code="360802001002"), "features[0].properties.parent_code",
         "not the parent"),
        (lambda f: f["properties"].update(name=""), "features[0].properties.name", "required"),
        (lambda f: f.update(geometry={"type": "Polygon", "coordinates": [[[114.98, 27.1], [114.99, 27.11],
                                                                           [114.99, 27.1], [114.98, 27.11],
                                                                           [114.98, 27.1]]]}),
         "features[0].geometry", "invalid polygon"),
        (lambda f: f.update(geometry={"type": "Point", "coordinates": [114.98, 27.1]}), "features[0].geometry",
         "Polygon"),
        (lambda f: f.update(geometry={"type": "Polygon", "coordinates": "nonsense"}), "features[0].geometry",
         "GeoJSON"),
        (lambda f: f.update(geometry=None), "features[0].geometry", "polygon"),
    ],
)
def test_bad_features_are_refused_naming_the_field(api, mutate, field, words) -> None:  # noqa: ANN001
    fc = _new_grid_collection(api)
    mutate(fc["features"][0])
    r = api("admin").post("/api/v1/units/import", json=fc)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["field"] == field and words in body["message"]


def test_overlapping_grid_is_refused_and_nothing_is_written(api) -> None:  # noqa: ANN001
    admin = api("admin")
    fc = _new_grid_collection(api)  # same polygon as grid A → overlaps it
    good = copy.deepcopy(fc["features"][0])
    good["properties"].update(code=COMMUNITY + "098", name="另一个新网格")
    fc["features"].insert(0, good)  # a first feature that alone would be fine… but it overlaps A too
    r = admin.post("/api/v1/units/import", json=fc)
    assert r.status_code == 422
    assert "overlaps" in r.json()["message"]
    assert admin.get(f"/api/v1/units/{COMMUNITY}098").status_code == 404


def test_grid_outside_its_community_is_refused(api) -> None:  # noqa: ANN001
    fc = _new_grid_collection(api)
    fc["features"][0]["geometry"] = {"type": "Polygon", "coordinates": [[[115.5, 27.5], [115.51, 27.5],
                                                                          [115.51, 27.51], [115.5, 27.5]]]}
    r = api("admin").post("/api/v1/units/import", json=fc)
    assert r.status_code == 422 and "outside its parent" in r.json()["message"]


def test_not_a_feature_collection_and_wrong_role(api) -> None:  # noqa: ANN001
    r = api("admin").post("/api/v1/units/import", json={"type": "Feature"})
    assert r.status_code == 422 and r.json()["field"] == "type"
    fc = _new_grid_collection(api)
    assert api("community").post("/api/v1/units/import", json=fc).status_code == 403


def test_locate_returns_the_grid_and_its_chain(api, client) -> None:  # noqa: ANN001
    lat, lon = _centre(api, GRID_A)
    r = client.get("/api/v1/units/locate", params={"lat": lat, "lon": lon})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["grid"]["code"] == GRID_A
    assert [u["level"] for u in body["chain"]] == ["district", "street", "community", "grid"]
    assert body["chain"][0]["code"] == "360802"


def test_locate_accepts_gcj02(api, client) -> None:  # noqa: ANN001
    lat, lon = _centre(api, GRID_A)
    glat, glon = wgs84_to_gcj02(lat, lon)
    r = client.get("/api/v1/units/locate", params={"lat": glat, "lon": glon, "crs": "gcj02"})
    assert r.json()["grid"]["code"] == GRID_A
    assert abs(r.json()["lat"] - lat) < 1e-6


def test_locate_outside_every_grid_names_the_nearest(client) -> None:  # noqa: ANN001
    r = client.get("/api/v1/units/locate", params={"lat": 28.0, "lon": 114.98})
    assert r.status_code == 404
    body = r.json()
    assert body["details"]["nearest"]["code"].startswith("360802")
    assert body["details"]["nearest"]["distance_m"] > 50_000
    assert body["details"]["nearest"]["code"] in body["message"]


@pytest.mark.parametrize(("params", "field"), [({"lat": 91, "lon": 114}, "lat"), ({"lat": 27, "lon": 181}, "lon"),
                                               ({"lat": 27, "lon": 114, "crs": "bd09"}, "crs"),
                                               ({"lat": "north", "lon": 114}, "lat")])
def test_locate_bad_input(client, params, field) -> None:  # noqa: ANN001
    r = client.get("/api/v1/units/locate", params=params)
    assert r.status_code == 422 and r.json()["field"] == field


def test_locate_sees_a_new_grid_at_once(api, client) -> None:  # noqa: ANN001
    """The spatial index is rebuilt when units change (the version row moves in the same transaction)."""
    admin = api("admin")
    fc = admin.get("/api/v1/units/export").json()
    grid = next(f for f in fc["features"] if f["properties"]["code"] == GRID_A)
    grid["properties"]["name"] = "改名后的网格"
    assert admin.post("/api/v1/units/import", json={"type": "FeatureCollection", "features": [grid]}).is_success
    lat, lon = _centre(api, GRID_A)
    r = client.get("/api/v1/units/locate", params={"lat": lat, "lon": lon})
    assert r.json()["grid"]["name"] == "改名后的网格"


def test_workers_lead_and_grids_without_workers(api) -> None:  # noqa: ANN001
    workers = api("community").get(f"/api/v1/units/{GRID_A}/workers").json()
    assert sum(w["is_lead"] for w in workers) == 1 and len(workers) >= 2
    assert api("community").get("/api/v1/grids/without-workers").json() == []
    # A new grid has nobody answerable for it, and shows up in the list.
    fc = _new_grid_collection(api)
    fc["features"][0]["geometry"] = None
    assert api("grid_a").get("/api/v1/grids/without-workers").status_code == 403


def test_assign_a_new_lead_keeps_exactly_one(api, personas) -> None:  # noqa: ANN001
    workers = api("community").get(f"/api/v1/units/{GRID_A}/workers").json()
    other = next(w for w in workers if not w["is_lead"])
    r = api("community").post(f"/api/v1/units/{GRID_A}/workers", json={"username": other["username"],
                                                                       "is_lead": True})
    assert r.status_code == 200, r.text
    leads = [w["username"] for w in r.json() if w["is_lead"]]
    assert leads == [other["username"]]
    # Outside one's scope: the grid does not exist.
    r = api("other_community").post(f"/api/v1/units/{GRID_A}/workers", json={"username": other["username"]})
    assert r.status_code == 404


def test_two_leads_named_at_once_leave_exactly_one(migrated) -> None:  # noqa: ANN001
    """Two dispatchers name different leads of one grid at the same moment, each in its own transaction:
    afterwards the grid has exactly one lead (the loser is refused with a conflict, or runs after the winner)."""
    import threading

    from sqlalchemy import select

    from jiayuan.kit.errors import Conflict
    from jiayuan.kit.scope import Scope
    from jiayuan.units import service
    from jiayuan.units.models import GridMember

    grid = GRID_B
    with migrated.unit_of_work() as s:
        members = list(s.scalars(select(GridMember).where(GridMember.grid_code == grid)))
    original = next(m.user_id for m in members if m.is_lead)
    others = [m.user_id for m in members if not m.is_lead]
    candidates = [others[0], original] if len(others) == 1 else others[:2]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def name_lead(user_id) -> None:  # noqa: ANN001
        barrier.wait()
        try:
            with migrated.unit_of_work() as s:
                service.assign_member(s, Scope(("360802",)), grid, user_id, is_lead=True)
            outcomes.append("ok")
        except (IntegrityError, Conflict):
            outcomes.append("conflict")

    threads = [threading.Thread(target=name_lead, args=(u,)) for u in candidates]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        with migrated.unit_of_work() as s:
            leads = list(s.scalars(select(GridMember.user_id).where(GridMember.grid_code == grid,
                                                                  GridMember.is_lead)))
        assert len(leads) == 1 and len(outcomes) == 2 and "ok" in outcomes
    finally:
        with migrated.unit_of_work() as s:
            service.assign_member(s, Scope(("360802",)), grid, original, is_lead=True)


def test_shrinking_a_community_off_its_grids_is_refused(api) -> None:  # noqa: ANN001
    admin = api("admin")
    fc = admin.get("/api/v1/units/export").json()
    community = next(f for f in fc["features"] if f["properties"]["code"] == COMMUNITY)
    grid_a = shape(next(f for f in fc["features"] if f["properties"]["code"] == GRID_A)["geometry"])
    from shapely.geometry import mapping

    community["geometry"] = mapping(shape(community["geometry"]).difference(grid_a.buffer(0.0001)))
    if community["geometry"]["type"] == "MultiPolygon":  # keep it a valid single piece for the test
        community["geometry"] = mapping(max(shape(community["geometry"]).geoms, key=lambda g: g.area))
    r = admin.post("/api/v1/units/import", json={"type": "FeatureCollection", "features": [community]})
    assert r.status_code == 422 and f"no longer covers its unit {GRID_A}" in r.text
    assert r.json()["field"] == "features[0].geometry"
