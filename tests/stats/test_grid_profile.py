"""The grid profile (网格画像) through the JSON API: counts of what was created in a unit and the units above it,
age groups from birth dates, anonymized people left out, the child units' table adding up, scope as a 404."""

from __future__ import annotations

from typing import Any

from tests.personas import COMMUNITY, GRID_A, GRID_B

R = "/api/v1/registry"


def created(response: Any, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()


def refused(response: Any, status: int, field: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["field"] == field, response.text


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


def test_profile_counts_what_was_created(api: Any) -> None:
    a = api("grid_a")
    before_grid, before_community = _profile(api, "grid_a", GRID_A), _profile(api, "community", COMMUNITY)
    path = {"grid_code": GRID_A, "compound": "画像小区", "building": "1栋"}
    created(a.post(f"{R}/rooms", json={**path, "number": "101", "use": "self_occupied"}))
    created(a.post(f"{R}/rooms", json={**path, "number": "102", "use": "rented"}))
    created(a.post(f"{R}/rooms", json={**path, "number": "102", "use": "rented"}), 200)  # no double count
    for kind in ("street_lamp", "street_lamp", "camera"):
        created(a.post(f"{R}/things", json={"kind": kind, "grid_code": GRID_A,
                                            "status": "damaged" if kind == "camera" else "ok"}))
    created(a.post(f"{R}/organizations", json={"kind": "homeowners_committee", "name": "画像业委会",
                                               "grid_code": GRID_A}))
    created(api("grid_b").post(f"{R}/things", json={"kind": "hydrant", "grid_code": GRID_B}))

    after_grid, after_community = _profile(api, "grid_a", GRID_A), _profile(api, "community", COMMUNITY)

    def delta(after: dict, before: dict, *keys: str) -> dict[str, int]:
        for k in keys:
            after, before = after[k], before[k]
        return {k: after[k] - before[k] for k in after if after[k] != before[k]}

    assert delta(after_grid, before_grid, "rooms", "by_use") == {"self_occupied": 1, "rented": 1}
    assert delta(after_grid, before_grid, "things", "by_kind") == {"street_lamp": 2, "camera": 1}
    assert delta(after_grid, before_grid, "things", "by_status") == {"ok": 2, "damaged": 1}
    assert delta(after_grid, before_grid, "organizations", "by_kind") == {"homeowners_committee": 1}
    assert after_grid["rooms"]["total"] - before_grid["rooms"]["total"] == 2
    # The community holds grid A and grid B: it counts both grids' new things.
    assert COMMUNITY == GRID_B[:12]
    assert delta(after_community, before_community, "things", "by_kind") == {
        "street_lamp": 2, "camera": 1, "hydrant": 1}
    assert delta(after_community, before_community, "rooms", "by_use") == {"self_occupied": 1, "rented": 1}
    assert set(after_grid["people"]["by_residence_type"]) >= {"registered", "floating"}
    assert isinstance(after_grid["open_cases"], int)

    assert a.get(f"{R}/profile/{GRID_B}").status_code == 404
    assert a.get(f"{R}/profile/{COMMUNITY}").status_code == 404
    assert api("other_community").get(f"{R}/profile/{GRID_A}").status_code == 404
    refused(a.get(f"{R}/profile/abc"), 422, "unit_code")
    assert _profile(api, "admin", GRID_A[:6])["things"]["total"] >= 4


def test_profile_counts_age_groups_from_birth_dates_and_leaves_anonymized_people_out(
        api: Any, session: Any) -> None:
    from jiayuan.kit.identity import id_check_char
    from jiayuan.stats import grid_profile as profile

    before = _profile(api, "grid_a", GRID_A)
    first17 = "360802" + "19400505" + "321"
    old = created(api("grid_a").post(f"{R}/people", json={"name": "百岁老人", "grid_code": GRID_A,
                                                            "id_number": first17 + id_check_char(first17)}))
    assert created(api("grid_a").post(f"{R}/people/{old['id']}/tags", json={"tag": "living_alone"}))
    after = _profile(api, "grid_a", GRID_A)
    by_tag = {k: after["people"]["by_tag"][k] - before["people"]["by_tag"][k] for k in after["people"]["by_tag"]}
    assert {k: n for k, n in by_tag.items() if n} == {"aged_60": 1, "aged_80": 1, "living_alone": 1}
    # The community's table of grids adds up to the community's own total.
    community = _principal(session, "community")
    per_grid = profile.people_by_child(session, community, COMMUNITY)
    assert per_grid[GRID_A] >= 1 and all(c.startswith(COMMUNITY) and len(c) == 15 for c in per_grid)
    assert sum(per_grid.values()) == _profile(api, "community", COMMUNITY)["people"]["total"]
    created(api("admin").post(f"{R}/people/{old['id']}/anonymize", json={"reason": "erasure request"}), 200)
    assert _profile(api, "grid_a", GRID_A)["people"] == before["people"]
    assert profile.people_by_child(session, community, COMMUNITY).get(GRID_A, 0) == per_grid[GRID_A] - 1
