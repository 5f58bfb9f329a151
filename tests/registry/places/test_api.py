"""Houses, things and organizations through the JSON API: create and read, scope isolation, placing by
point, credit codes, phone masking and idempotent room paths (the grid profile is tested in tests/stats)."""

from __future__ import annotations

from typing import Any

from shapely.geometry import shape
from sqlalchemy import text

from tests.personas import GRID_A, GRID_B

R = "/api/v1/registry"
PHONE = "13812345678"

# GB 32100 written out again here rather than imported, so that a mistake in the validator cannot hide
# behind the same mistake in the test.
_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def credit_code(department: str, kind: str, body8: str, region: str = "360802") -> str:
    """A unified social credit code with both check characters right."""
    total = sum(int(c, 36) * w for c, w in zip(body8, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    org_check = {10: "X", 11: "0"}.get(11 - total % 11, str(11 - total % 11))
    first17 = f"{department}{kind}{region}{body8}{org_check}"
    total = sum(_ALPHABET.index(c) * pow(3, i, 31) for i, c in enumerate(first17))
    return first17 + _ALPHABET[(31 - total % 31) % 31]


def centre(api: Any, code: str) -> tuple[float, float]:
    p = shape(api("admin").get(f"/api/v1/units/{code}").json()["geometry"]).representative_point()
    return p.y, p.x


def created(response: Any, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()


def refused(response: Any, status: int, field: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["field"] == field, response.text


def test_known_credit_codes_match_the_test_algorithm() -> None:
    # Real codes quoted in kit/identity.py: the test's own algorithm must agree with them.
    assert credit_code("9", "1", "70846113", "440300") == "91440300708461136T"


def test_houses_created_and_read(api: Any) -> None:
    a = api("grid_a")
    compound = created(a.post(f"{R}/compounds", json={"name": "滨江小区", "grid_code": GRID_A,
                                                      "address": "滨江路 1 号"}))
    assert compound["grid_code"] == GRID_A and compound["property_company"] is None  # 无物业
    building = created(a.post(f"{R}/buildings", json={"compound_id": compound["id"], "name": "3栋", "floors": 6}))
    assert building["grid_code"] == GRID_A
    room = created(a.post(f"{R}/rooms", json={"building_id": building["id"], "entrance": "2单元",
                                              "number": "502", "use": "rented", "area": 88.5}))
    assert (room["entrance"], room["number"], room["use"]) == ("2单元", "502", "rented")
    assert a.get(f"{R}/rooms/{room['id']}").json()["area"] == 88.5
    assert a.get(f"{R}/compounds/{compound['id']}").json()["name"] == "滨江小区"
    assert a.get(f"{R}/buildings/{building['id']}").json()["floors"] == 6
    changed = a.patch(f"{R}/rooms/{room['id']}", json={"use": "vacant"}).json()
    assert changed["use"] == "vacant"
    rooms = a.get(f"{R}/rooms", params={"building_id": building["id"], "use": "vacant"}).json()
    assert rooms["total"] == 1 and rooms["items"][0]["id"] == room["id"]
    # Bad input names the field.
    refused(a.post(f"{R}/rooms", json={"building_id": building["id"], "number": "1", "use": "palace"}), 422, "use")
    refused(a.post(f"{R}/compounds", json={"name": " ", "grid_code": GRID_A}), 422, "name")
    refused(a.post(f"{R}/compounds", json={"name": "滨江小区", "grid_code": GRID_A}), 409, "name")
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    refused(a.post(f"{R}/compounds", json={"name": "蝴蝶", "grid_code": GRID_A, "geometry": bowtie}), 422, "geometry")


def test_same_room_path_twice_updates_never_duplicates(api: Any) -> None:
    a = api("grid_a")
    path = {"grid_code": GRID_A, "compound": "幸福家园", "building": "1栋", "entrance": "1单元", "number": "101"}
    first = created(a.post(f"{R}/rooms", json={**path, "use": "self_occupied"}))
    again = created(a.post(f"{R}/rooms", json={**path, "use": "rented", "area": 60}), 200)
    assert again["id"] == first["id"] and again["use"] == "rented" and again["area"] == 60
    assert a.get(f"{R}/rooms", params={"building_id": first["building_id"]}).json()["total"] == 1
    compounds = a.get(f"{R}/compounds", params={"grid": GRID_A}).json()["items"]
    assert [c["name"] for c in compounds].count("幸福家园") == 1
    buildings = a.get(f"{R}/buildings", params={"compound_id": compounds[0]["id"]}).json()
    assert buildings["total"] == 1


def test_things_placed_by_point(api: Any) -> None:
    a = api("grid_a")
    lat, lon = centre(api, GRID_A)
    lamp = created(a.post(f"{R}/things", json={"kind": "street_lamp", "lat": lat, "lon": lon, "code": "LD-0001",
                                               "owner": "城管局", "maintainer": "路灯所"}))
    assert lamp["grid_code"] == GRID_A and lamp["status"] == "ok"
    refused(a.post(f"{R}/things", json={"kind": "hydrant", "lat": 1.0, "lon": 1.0}), 422, "lat")
    refused(a.post(f"{R}/things", json={"kind": "hydrant", "lat": lat}), 422, "lon")
    refused(a.post(f"{R}/things", json={"kind": "ufo", "grid_code": GRID_A}), 422, "kind")
    refused(a.post(f"{R}/things", json={"kind": "well", "grid_code": GRID_A, "code": "LD-0001"}), 409, "code")
    # The point of grid B is outside grid A's scope: as if the grid did not exist.
    b_lat, b_lon = centre(api, GRID_B)
    assert a.post(f"{R}/things", json={"kind": "camera", "lat": b_lat, "lon": b_lon}).status_code == 404
    assert created(api("community").post(f"{R}/things", json={"kind": "camera", "lat": b_lat, "lon": b_lon})
                   )["grid_code"] == GRID_B
    broken = a.patch(f"{R}/things/{lamp['id']}", json={"status": "damaged"}).json()
    assert broken["status"] == "damaged"
    refused(a.patch(f"{R}/things/{lamp['id']}", json={"status": "exploded"}), 422, "status")
    listed = a.get(f"{R}/things", params={"kind": "street_lamp", "status": "damaged"}).json()
    assert [t["id"] for t in listed["items"]] == [lamp["id"]]


def test_credit_codes(api: Any) -> None:
    a = api("grid_a")
    good = credit_code("9", "1", "MA35X7K2")
    org = created(a.post(f"{R}/organizations", json={"kind": "enterprise", "name": "家园科技有限公司",
                                                     "grid_code": GRID_A, "credit_code": good, "staff_count": 12}))
    assert org["credit_code"] == good and org["staff_count"] == 12
    wrong = good[:17] + next(c for c in _ALPHABET if c != good[17])
    refused(a.post(f"{R}/organizations", json={"kind": "enterprise", "name": "错", "grid_code": GRID_A,
                                               "credit_code": wrong}), 422, "credit_code")
    for n, department in enumerate("ANY"):
        code = credit_code(department, "1", f"1234567{n}")
        created(a.post(f"{R}/organizations", json={"kind": "social_service", "name": f"组织{department}",
                                                   "grid_code": GRID_A, "credit_code": code}))
    refused(a.post(f"{R}/organizations", json={"kind": "enterprise", "name": "重复", "grid_code": GRID_A,
                                               "credit_code": good}), 409, "credit_code")
    # Also a duplicate when someone outside grid A registers it: the code is unique in the district.
    refused(api("grid_b").post(f"{R}/organizations", json={"kind": "enterprise", "name": "重复", "grid_code": GRID_B,
                                                           "credit_code": good.lower()}), 409, "credit_code")
    refused(a.post(f"{R}/organizations", json={"kind": "enterprise", "name": "无码", "grid_code": GRID_A}),
            422, "credit_code")
    created(a.post(f"{R}/organizations", json={"kind": "homeowners_committee", "name": "业委会", "grid_code": GRID_A}))
    refused(a.post(f"{R}/organizations", json={"kind": "enterprise", "name": "负", "grid_code": GRID_A,
                                               "credit_code": credit_code("9", "1", "87654321"),
                                               "staff_count": -1}), 422, "staff_count")


def test_contact_phone_masked_in_api_and_encrypted_in_table(api: Any, db: Any) -> None:
    a = api("grid_a")
    body = {"kind": "property_company", "name": "安居物业", "grid_code": GRID_A, "contact_name": "王经理",
            "contact_phone": "+86 138-1234-5678", "credit_code": credit_code("9", "1", "11223344")}
    org = created(a.post(f"{R}/organizations", json=body))
    assert org["contact_phone"] == "*******5678"
    assert a.get(f"{R}/organizations/{org['id']}").json()["contact_phone"] == "*******5678"
    assert PHONE not in a.get(f"{R}/organizations", params={"kind": "property_company"}).text
    with db.sessions() as s:
        raw = s.execute(text("SELECT contact_phone FROM organizations WHERE name = :n"), {"n": "安居物业"}).scalar()
    assert raw and PHONE not in raw and "5678" not in raw
    refused(a.post(f"{R}/organizations", json={**body, "name": "坏号", "contact_phone": "12345",
                                               "credit_code": credit_code("9", "1", "55667788")}),
            422, "contact_phone")


def test_scope_isolation_between_grids(api: Any) -> None:
    b = api("grid_b")
    building = created(b.post(f"{R}/buildings", json={"name": "独栋", "grid_code": GRID_B}))
    room = created(b.post(f"{R}/rooms", json={"building_id": building["id"], "number": "1", "use": "commercial"}))
    thing = created(b.post(f"{R}/things", json={"kind": "manhole_cover", "grid_code": GRID_B}))
    org = created(b.post(f"{R}/organizations", json={"kind": "homeowners_committee", "name": "B业委会",
                                                     "grid_code": GRID_B}))
    a = api("grid_a")
    for url in (f"buildings/{building['id']}", f"rooms/{room['id']}", f"things/{thing['id']}",
                f"organizations/{org['id']}"):
        assert a.get(f"{R}/{url}").status_code == 404, url
        assert a.patch(f"{R}/{url}", json={}).status_code == 404, url
        assert api("community").get(f"{R}/{url}").status_code == 200, url
        assert api("other_community").get(f"{R}/{url}").status_code == 404, url
    assert a.get(f"{R}/rooms", params={"grid": GRID_B}).json()["total"] == 0
    assert room["id"] not in a.get(f"{R}/rooms", params={"limit": 500}).text
    # Writing into grid B, directly or through grid B's building, is refused as if it did not exist.
    assert a.post(f"{R}/things", json={"kind": "well", "grid_code": GRID_B}).status_code == 404
    assert a.post(f"{R}/compounds", json={"name": "越界", "grid_code": GRID_B}).status_code == 404
    assert a.post(f"{R}/rooms", json={"building_id": building["id"], "number": "2", "use": "vacant"}
                  ).status_code == 404
    assert a.post(f"{R}/organizations", json={"kind": "homeowners_committee", "name": "越界",
                                              "grid_code": GRID_B}).status_code == 404
    # Roles that do not keep the registry are refused outright.
    assert api("hotline").get(f"{R}/things").status_code == 403


def _profile(api: Any, who: str, code: str) -> dict[str, Any]:
    r = api(who).get(f"{R}/profile/{code}")
    assert r.status_code == 200, r.text
    return r.json()


def _principal(session: Any, who: str) -> Any:
    from jiayuan.accounts.service import principal_of, user_by_username
    from jiayuan.units.service import grids_of_user
    from tests.personas import PERSONAS

    user = user_by_username(session, PERSONAS[who].username)
    return principal_of(user, grids_of_user(session, user.id) if user.role == "grid_worker" else ())


def test_room_addresses_within_scope(api: Any, session: Any) -> None:
    import uuid

    from jiayuan.registry.places import houses

    room = created(api("grid_a").post(f"{R}/rooms", json={"grid_code": GRID_A, "compound": "地址小区",
                                                           "building": "5栋", "entrance": "1单元", "number": "203",
                                                           "use": "vacant"}))
    rid = uuid.UUID(room["id"])
    found = houses.room_addresses(session, _principal(session, "grid_a"), [rid, None])
    assert {k: found[rid][k] for k in ("compound", "building", "entrance", "number")} == {
        "compound": "地址小区", "building": "5栋", "entrance": "1单元", "number": "203"}
    assert houses.room_addresses(session, _principal(session, "grid_b"), [rid]) == {}


def test_organizations_listed_by_whether_they_operate(api: Any) -> None:
    org = created(api("grid_a").post(f"{R}/organizations", json={"kind": "homeowners_committee",
                                                                  "name": "停运业委会", "grid_code": GRID_A}))
    created(api("grid_a").patch(f"{R}/organizations/{org['id']}", json={"active": False}), 200)

    def names(**params: Any) -> list[str]:
        body = api("grid_a").get(f"{R}/organizations", params={"grid": GRID_A, "limit": 500, **params}).json()
        return [o["name"] for o in body["items"]]

    assert "停运业委会" in names() and "停运业委会" in names(active="false")
    assert "停运业委会" not in names(active="true")
    before = _profile(api, "grid_a", GRID_A)["organizations"]["by_kind"]["homeowners_committee"]
    assert before == api("grid_a").get(f"{R}/organizations", params={
        "grid": GRID_A, "kind": "homeowners_committee", "active": "true"}).json()["total"]
