"""The access matrix: every role against every endpoint family, in scope and out of scope, with the status each
must get. It reads as the specification of who may do what (DESIGN.md §2, docs/api.md, docs/registry.md,
docs/cases.md, docs/services.md):

- anonymous callers get 401 from everything but the public endpoints;
- a role that may not do a thing gets 403 (audited), before any lookup;
- a record outside the caller's scope does not exist for them: 404, never 403;
- grid A and grid B are neighbouring grids of the personas' community; "another community" lies in the same street.

The records come from tests/world.py: each kind in grid A, in grid B and in another community, a centre of the
personas' street and one of another street, an active provider serving grid A with a staff account (the provider
column), a volunteer with an account (the volunteer column) and a resident's order in grid A offered to that provider.
Every case and order was reported by the resident persona.

Families not in the matrix yet: care (关爱), volunteers' API, charity supermarkets and activities — their JSON APIs
were not committed when these rows were written; add their rows when they are.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from tests.personas import COMMUNITY, GRID_A
from tests.services.provider_helpers import application
from tests.world import OTHER_COMMUNITY, STREET, World, build_world

ROLES = ("anon", "grid_a", "community", "street", "admin", "hotline", "department", "resident", "provider",
         "volunteer")
PERSONA = {"anon": None, "grid_a": "grid_a", "community": "community", "street": "street", "admin": "admin",
           "hotline": "hotline", "department": "department", "resident": "resident", "provider": "provider",
           "volunteer": "volunteer"}
R, S = "/api/v1/registry", "/api/v1/services"

# Each row: what is asked; the request (method, path with {placeholders} from the world, body); then the status
# each role gets, in the order of ROLES.
#                                                                       anon gridA comm street admin hotl dept  res  prov  vol
MATRIX: list[tuple[str, str, str, Any, str]] = [
    # Registry: people (人)
    ("read a person of grid A", "GET", R + "/people/{a.person}", None,         "401  200  200  200  200  403  403  403  403  403"),
    ("read a person of grid B", "GET", R + "/people/{b.person}", None,         "401  404  200  200  200  403  403  403  403  403"),
    ("read a person of another community", "GET", R + "/people/{other.person}", None,
                                                                               "401  404  404  200  200  403  403  403  403  403"),
    ("list people", "GET", R + "/people", None,                                "401  200  200  200  200  403  403  403  403  403"),
    ("search people by ID number", "POST", R + "/people/search", {"q": "{id_number}"},
                                                                               "401  200  200  200  200  403  403  403  403  403"),
    ("change a person of grid A", "PATCH", R + "/people/{a.person}", {"notes": "行动不便"},
                                                                               "401  200  200  200  200  403  403  403  403  403"),
    ("change a person of another community", "PATCH", R + "/people/{other.person}", {"notes": "越界"},
                                                                               "401  404  404  200  200  403  403  403  403  403"),
    ("tag a person of grid B", "POST", R + "/people/{b.person}/tags", {"tag": "empty_nest"},
                                                                               "401  404  201  201  201  403  403  403  403  403"),
    ("unmask a person of grid A", "POST", R + "/people/{a.person}/unmask", {"reason": "核实身份，上门走访"},
                                                                               "401  403  200  200  200  403  403  403  403  403"),
    ("unmask a person of another community", "POST", R + "/people/{other.person}/unmask", {"reason": "核实身份信息"},
                                                                               "401  404  404  200  200  403  403  403  403  403"),
    ("export everything held about a person", "GET", R + "/people/{a.person}/export", None,
                                                                               "401  403  403  403  200  403  403  403  403  403"),
    ("export people", "GET", R + "/people/export", None,                       "401  200  200  200  200  403  403  403  403  403"),
    # Registry: houses, things, organizations (房、物、组织)
    ("read a compound of grid A", "GET", R + "/compounds/{a.compound}", None,  "401  200  200  200  200  403  403  403  403  403"),
    ("read a compound of another community", "GET", R + "/compounds/{other.compound}", None,
                                                                               "401  404  404  200  200  403  403  403  403  403"),
    ("create a compound in grid A", "POST", R + "/compounds", {"name": "{role}小区", "grid_code": GRID_A},
                                                                               "401  201  201  201  201  403  403  403  403  403"),
    ("read a room of grid B", "GET", R + "/rooms/{b.room}", None,              "401  404  200  200  200  403  403  403  403  403"),
    ("change a facility of grid A", "PATCH", R + "/things/{a.thing}", {"status": "damaged"},
                                                                               "401  200  200  200  200  403  403  403  403  403"),
    ("read an organization of another community", "GET", R + "/organizations/{other.organization}", None,
                                                                               "401  404  404  200  200  403  403  403  403  403"),
    ("read the profile of grid A", "GET", R + "/profile/" + GRID_A, None,      "401  200  200  200  200  403  403  403  403  403"),
    ("read the profile of another community", "GET", R + "/profile/" + OTHER_COMMUNITY, None,
                                                                               "401  404  404  200  200  403  403  403  403  403"),
    # Cases (事)
    ("report a case", "POST", "/api/v1/cases", "{case_body}",                  "401  201  201  201  201  201  201  201  201  201"),
    ("read a case of grid A", "GET", "/api/v1/cases/{a.case}", None,           "401  200  200  200  200  200  404  200  404  404"),
    ("read a case of another community", "GET", "/api/v1/cases/{other.case}", None,
                                                                               "401  404  404  200  200  200  404  200  404  404"),
    ("supervise a case of grid A", "POST", "/api/v1/cases/{a.case}/actions/supervise", {"level": "yellow", "note": "请加快"},
                                                                               "401  403  200  200  200  403  404  403  404  404"),
    ("supervise a case of another community", "POST", "/api/v1/cases/{other.case}/actions/supervise",
     {"level": "yellow", "note": "请加快"},                                     "401  404  404  200  200  403  404  403  404  404"),
    ("read case metrics", "GET", "/api/v1/cases/metrics", None,                "401  200  200  200  200  200  200  403  403  403"),
    ("change a case category", "PATCH", "/api/v1/cases/categories/1101", {"time_limit_hours": 48},
                                                                               "401  403  403  403  200  403  403  403  403  403"),
    ("track a case by number and phone", "POST", "/api/v1/cases/track", {"number": "{a.case}", "phone": "13900000000"},
                                                                               "404  404  404  404  404  404  404  404  404  404"),
    # Units and accounts
    ("read grid A", "GET", "/api/v1/units/" + GRID_A, None,                    "401  200  200  200  200  200  200  404  200  200"),
    ("read another community", "GET", "/api/v1/units/" + OTHER_COMMUNITY, None,
                                                                               "401  404  404  200  200  200  200  404  200  404"),
    ("see the workers of grid A", "GET", "/api/v1/units/" + GRID_A + "/workers", None,
                                                                               "401  200  200  200  200  200  200  403  403  403"),
    ("list accounts", "GET", "/api/v1/users", None,                            "401  403  200  200  200  403  403  403  403  403"),
    ("create an account", "POST", "/api/v1/users", {"username": "{role}-new", "full_name": "新同事", "role": "grid_worker",
                                                    "scope": GRID_A, "password": "jiayuan-new-1"},
                                                                               "401  403  403  403  201  403  403  403  403  403"),
    ("locate a point", "GET", "/api/v1/units/locate?lat={lat}&lon={lon}", None,
                                                                               "200  200  200  200  200  200  200  200  200  200"),
    # Services: centres, projects, produce points (8+X)
    ("read a centre", "GET", S + "/centres/{centre}", None,                    "200  200  200  200  200  200  200  200  200  200"),
    ("change a centre of the street", "PATCH", S + "/centres/{centre}", {"capacity": 40},
                                                                               "401  404  404  200  200  403  403  404  403  404"),
    ("change a centre of another street", "PATCH", S + "/centres/{other_centre}", {"capacity": 40},
                                                                               "401  404  404  404  200  403  403  404  403  404"),
    ("record that a centre opened today", "POST", S + "/centres/{centre}/openings", {},
                                                                               "401  404  404  201  403  403  403  404  403  404"),
    ("read the subsidy report", "GET", S + "/subsidies/report", None,          "401  403  403  200  200  403  403  403  403  403"),
    ("read a project of the community", "GET", S + "/projects/{a.project}", None,
                                                                               "401  404  200  200  200  200  200  404  403  403"),
    ("read a project of another community", "GET", S + "/projects/{other.project}", None,
                                                                               "401  404  404  200  200  200  200  404  403  404"),
    ("change a produce point of another community", "PATCH", S + "/produce-points/{other.produce_point}",
     {"supplier": "合作社"},                                                   "401  404  404  200  200  403  403  404  403  404"),
    # Services: member providers and orders (12343)
    ("create a provider", "POST", S + "/providers", "{provider_body}",         "401  403  403  403  201  403  403  403  403  403"),
    ("read a provider", "GET", S + "/providers/{provider}", None,              "401  404  404  404  200  200  404  404  200  404"),
    ("change a provider", "PATCH", S + "/providers/{provider}", {"address": "文山路 9 号"},
                                                                               "401  404  404  404  200  403  404  404  403  404"),
    ("read the public directory of providers", "GET", S + "/providers/public", None,
                                                                               "200  200  200  200  200  200  200  200  200  200"),
    ("place an order", "POST", S + "/orders", "{order_body}",                  "401  403  403  403  403  201  403  201  403  403"),
    ("see an order", "GET", S + "/orders/{order}", None,                       "401  200  200  200  200  200  404  200  200  404"),
    # Public feeds
    ("list Open311 services", "GET", "/open311/v2/services.json", None,        "200  200  200  200  200  200  200  200  200  200"),
    ("read the HSDS services", "GET", "/hsds/services", None,                  "200  200  200  200  200  200  200  200  200  200"),
]


def _fill(value: Any, w: World, role: str, extra: dict[str, Any]) -> Any:
    if isinstance(value, str):
        if value.startswith("{") and value.endswith("_body}"):
            return extra[value[1:-1]](role)
        names = {"a": w.a, "b": w.b, "other": w.other, "centre": w.centre, "other_centre": w.other_centre,
                 "provider": w.provider, "order": w.order, "role": role, **{k: v for k, v in extra.items()
                                                                            if not callable(v)}}
        return value.format(**names)
    if isinstance(value, dict):
        return {k: _fill(v, w, role, extra) for k, v in value.items()}
    return value


def _status_table() -> list[tuple[str, str, str, Any, dict[str, int]]]:
    rows = []
    for label, method, path, body, cells in MATRIX:
        codes = cells.split()
        assert len(codes) == len(ROLES), f"{label}: {len(codes)} cells for {len(ROLES)} roles"
        rows.append((label, method, path, body, dict(zip(ROLES, map(int, codes), strict=True))))
    return rows


def test_every_role_gets_the_status_the_matrix_says(api: Any, client: Any, session: Any) -> None:
    from tests.cases.helpers import point_in
    from tests.services.helpers import window
    from tests.world import PERSON_ID_NUMBER, as_persona

    w = build_world(api, client, session)
    lat, lon = point_in(api, GRID_A)
    extra: dict[str, Any] = {
        "id_number": PERSON_ID_NUMBER, "lat": lat, "lon": lon,
        "case_body": lambda role: {"category": "1101", "description": f"{role}: 路灯不亮", "lat": lat, "lon": lon},
        "provider_body": lambda role: application(),
        "order_body": lambda role: {"item": "0201", "address": "文山路 12 号", "lat": lat, "lon": lon, **window(),
                                    **({"unit_code": GRID_A, "contact_name": "刘阿姨", "contact_phone": "13911112222"}
                                       if role == "hotline" else {})},
    }
    users: dict[str, Callable[..., Any]] = {}
    for role, persona in PERSONA.items():
        if persona is None:
            users[role] = client.request
            continue
        user = as_persona(client, w.users[persona]) if persona in w.users else api(persona)
        users[role] = lambda method, url, user=user, **kw: user.client.request(
            method, url, headers={**user.headers, **kw.pop("headers", {})}, **kw)

    wrong = []
    for label, method, path, body, expected in _status_table():
        for role in ROLES:
            url = _fill(path, w, role, extra)
            payload = _fill(body, w, role, extra)
            r = users[role](method, url, **({"json": payload} if payload is not None else {}))
            if r.status_code != expected[role]:
                wrong.append(f"{label:45} {role:10} expected {expected[role]}, got {r.status_code}: {r.text[:160]}")
    assert not wrong, f"{len(wrong)} cells differ from the matrix:\n" + "\n".join(wrong)


def test_the_matrix_is_well_formed() -> None:
    rows = _status_table()
    assert len({label for label, *_ in rows}) == len(rows), "two rows with one label"
    assert OTHER_COMMUNITY[:9] == STREET and OTHER_COMMUNITY != COMMUNITY  # "another community, same street"
    assert uuid.UUID(int=0)  # placeholders are filled from the world, never guessed
