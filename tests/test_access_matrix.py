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

Neighbourhood care (docs/care.md, docs/charity.md, docs/api.md): each place's person is in care; the volunteer serves
the personas' community and is paired with grid A's person only (so grid B's and the other community's are out of
their sight), the other community's person with a volunteer of their own; each community has a care centre, a
charity supermarket, an opportunity and an activity (the personas' public, the other community's not); the volunteer's
household in grid A holds 40 points, and the personas' supermarket 10 bags of the district's one item.
Where a role that may not act gets 404 rather than 403 below, the service looks the record up first and finds nothing
the role may see (a supermarket outside a resident's or a grid worker's scope, a volunteer or an opportunity to a role
that sees none): no different from the records of other families that these roles do not see.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
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
CARE, V, ACT, CH = "/api/v1/care", "/api/v1/volunteers", "/api/v1/activities", "/api/v1/charity"

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
    ("search people by ID number", "POST", R + "/people/search", {"q": "{id_number}", "reason": "核实来访居民身份"},
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
    ("export people unmasked", "POST", R + "/people/export", {"reason": "按民政局通知核对低保户信息"},
                                                                               "401  403  200  200  200  403  403  403  403  403"),
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
    # Neighbourhood care: people in care, pairings, visits, alerts (关爱)
    ("read a person in care of grid A", "GET", CARE + "/profiles/{a.care_profile}", None,
                                                                               "401  200  200  200  200  403  403  403  403  200"),
    ("read a person in care of grid B", "GET", CARE + "/profiles/{b.care_profile}", None,
                                                                               "401  404  200  200  200  403  403  403  403  404"),
    ("read a person in care of another community", "GET", CARE + "/profiles/{other.care_profile}", None,
                                                                               "401  404  404  200  200  403  403  403  403  404"),
    ("list people in care", "GET", CARE + "/profiles", None,                   "401  200  200  200  200  403  403  403  403  200"),
    ("change a person in care of grid A", "PATCH", CARE + "/profiles/{a.care_profile}", {"level": "high"},
                                                                               "401  200  200  200  200  403  403  403  403  403"),
    ("change a person in care of another community", "PATCH", CARE + "/profiles/{other.care_profile}",
     {"notes": "越界"},                                                        "401  404  404  200  200  403  403  403  403  403"),
    ("list pairings", "GET", CARE + "/pairings", None,                         "401  200  200  200  200  403  403  403  403  200"),
    ("read a visit of grid A", "GET", CARE + "/visits/{a.visit}", None,        "401  200  200  200  200  403  403  403  403  200"),
    ("read a visit of another community", "GET", CARE + "/visits/{other.visit}", None,
                                                                               "401  404  404  200  200  403  403  403  403  404"),
    # Each role logs its visit at a time of its own: a volunteer's visits may not overlap.
    ("log a visit in grid A", "POST", CARE + "/visits", "{visit_a_body}",
                                                                               "401  201  201  201  201  403  403  403  403  201"),
    ("log a visit in another community", "POST", CARE + "/visits", "{visit_other_body}",
                                                                               "401  404  404  201  201  403  403  403  403  403"),
    # Approval (已审核) by the front line: grid A's worker approves first, so the community's staff find it done.
    ("approve a visit of grid A", "POST", CARE + "/visits/{a.pending_visit}/approve", None,
                                                                               "401  200  409  403  403  403  403  403  403  403"),
    ("approve a visit of another community", "POST", CARE + "/visits/{other.visit}/approve", None,
                                                                               "401  404  404  403  403  403  403  403  403  403"),
    ("list care alerts", "GET", CARE + "/alerts", None,                        "401  200  200  200  200  403  403  403  403  403"),
    # Care centres and figures
    ("read a care centre of the community", "GET", CARE + "/centres/{a.care_centre}", None,
                                                                               "401  403  200  200  200  403  403  403  403  403"),
    ("change a care centre of another community", "PATCH", CARE + "/centres/{other.care_centre}", {"capacity": 30},
                                                                               "401  403  404  200  200  403  403  403  403  403"),
    ("read the care figures of one's own unit", "GET", CARE + "/figures", None,
                                                                               "401  200  200  200  200  403  403  403  403  403"),
    ("read the care figures of the community", "GET", CARE + "/figures?unit=" + COMMUNITY, None,
                                                                               "401  200  200  200  200  403  403  403  403  403"),
    ("read the care figures of another community", "GET", CARE + "/figures?unit=" + OTHER_COMMUNITY, None,
                                                                               "401  404  404  200  200  403  403  403  403  403"),
    # Volunteers (七彩义工)
    ("list volunteers", "GET", V, None,                                        "401  200  200  200  200  403  403  403  403  403"),
    ("read the volunteer's hours", "GET", V + "/{volunteer}/hours", None,      "401  200  200  200  200  404  404  404  404  200"),
    ("read a volunteer of another community", "GET", V + "/{other.volunteer}", None,
                                                                               "401  404  404  200  200  404  404  404  404  404"),
    ("adjust the volunteer's hours", "POST", V + "/{volunteer}/hours", {"minutes": 30, "note": "补录服务时长"},
                                                                               "401  403  201  201  201  404  404  404  404  403"),
    ("read an opportunity of the community", "GET", V + "/opportunities/{a.opportunity}", None,
                                                                               "401  200  200  200  200  404  404  404  404  200"),
    ("read an opportunity of another community", "GET", V + "/opportunities/{other.opportunity}", None,
                                                                               "401  404  404  200  200  404  404  404  404  404"),
    ("create an opportunity", "POST", V + "/opportunities",
     {"unit_code": COMMUNITY, "title": "{role}助老服务", "slots": 3, "starts_at": "{starts_at}", "ends_at": "{ends_at}"},
                                                                               "401  403  201  201  201  403  403  403  403  403"),
    ("create an opportunity in another community", "POST", V + "/opportunities",
     {"unit_code": OTHER_COMMUNITY, "title": "{role}助老服务", "slots": 3, "starts_at": "{starts_at}",
      "ends_at": "{ends_at}"},                                                 "401  403  404  201  201  403  403  403  403  403"),
    ("sign oneself up for an opportunity", "POST", V + "/opportunities/{a.opportunity}/signups", None,
                                                                               "401  404  404  404  404  404  404  404  404  201"),
    ("sign oneself up in another community", "POST", V + "/opportunities/{other.opportunity}/signups", None,
                                                                               "401  404  404  404  404  404  404  404  404  404"),
    # Activities
    ("list public activities", "GET", ACT, None,                               "200  200  200  200  200  200  200  200  200  200"),
    ("read a public activity", "GET", ACT + "/{a.activity}", None,             "200  200  200  200  200  200  200  200  200  200"),
    ("read a private activity of another community", "GET", ACT + "/{other.activity}", None,
                                                                               "404  404  404  200  200  404  404  404  404  404"),
    ("list every activity in scope", "GET", ACT + "?staff=true", None,         "401  200  200  200  200  403  403  403  403  403"),
    ("create an activity", "POST", ACT, "{activity_body}",                     "401  403  201  201  201  403  403  403  403  403"),
    ("create an activity in another community", "POST", ACT, "{other_activity_body}",
                                                                               "401  403  404  201  201  403  403  403  403  403"),
    ("register for a public activity", "POST", ACT + "/{a.activity}/registrations", None,
                                                                               "401  201  201  201  201  201  201  201  201  201"),
    ("register for a private activity of another community", "POST", ACT + "/{other.activity}/registrations", None,
                                                                               "401  404  404  201  201  404  404  404  404  404"),
    ("see who comes to an activity of the community", "GET", ACT + "/{a.activity}/attendance", None,
                                                                               "401  404  200  200  200  404  404  404  404  404"),
    # Charity supermarkets (爱心慈善超市)
    ("list the district's charity items", "GET", CH + "/items", None,          "401  403  200  200  200  403  403  403  403  200"),
    ("change an item's price", "PATCH", CH + "/items/{item}", {"points": 10},  "401  403  403  403  200  403  403  403  403  403"),
    ("read the stock of the community's supermarket", "GET", CH + "/supermarkets/{a.supermarket}/stock", None,
                                                                               "401  404  200  200  200  403  403  404  403  200"),
    ("read the stock of another community's supermarket", "GET", CH + "/supermarkets/{other.supermarket}/stock", None,
                                                                               "401  404  404  200  200  403  403  404  403  404"),
    ("read a household's points at the counter", "GET", CH + "/supermarkets/{a.supermarket}/households/{a.household}",
     None,                                                                     "401  404  200  200  200  403  403  404  403  200"),
    ("redeem points at the counter", "POST", CH + "/supermarkets/{a.supermarket}/redemptions",
     {"household_id": "{a.household}", "lines": [{"item_id": "{item}", "quantity": 1}]},
                                                                               "401  404  201  201  201  403  403  404  403  201"),
    ("record a donation at the community's supermarket", "POST", CH + "/supermarkets/{a.supermarket}/donations",
     {"kind": "money", "value_fen": 10000, "donor_name": "{role}"},            "401  404  201  201  201  403  403  404  403  201"),
    ("record a donation at another community's supermarket", "POST", CH + "/supermarkets/{other.supermarket}/donations",
     {"kind": "money", "value_fen": 10000, "donor_name": "{role}"},            "401  404  404  201  201  403  403  404  403  404"),
    ("record a purchase at the community's supermarket", "POST", CH + "/supermarkets/{a.supermarket}/purchases",
     {"item_id": "{item}", "quantity": 2},                                     "401  404  201  201  201  403  403  404  403  403"),
    # Public feeds
    ("list Open311 services", "GET", "/open311/v2/services.json", None,        "200  200  200  200  200  200  200  200  200  200"),
    ("read the HSDS services", "GET", "/hsds/services", None,                  "200  200  200  200  200  200  200  200  200  200"),
]


def _fill(value: Any, w: World, role: str, extra: dict[str, Any]) -> Any:
    if isinstance(value, str):
        if value.startswith("{") and value.endswith("_body}"):
            return extra[value[1:-1]](role)
        names = {"a": w.a, "b": w.b, "other": w.other, "centre": w.centre, "other_centre": w.other_centre,
                 "provider": w.provider, "order": w.order, "volunteer": w.volunteer, "item": w.item, "role": role,
                 **{k: v for k, v in extra.items() if not callable(v)}}
        return value.format(**names)
    if isinstance(value, dict):
        return {k: _fill(v, w, role, extra) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, w, role, extra) for v in value]
    return value


def _status_table() -> list[tuple[str, str, str, Any, dict[str, int]]]:
    rows = []
    for label, method, path, body, cells in MATRIX:
        codes = cells.split()
        assert len(codes) == len(ROLES), f"{label}: {len(codes)} cells for {len(ROLES)} roles"
        rows.append((label, method, path, body, dict(zip(ROLES, map(int, codes), strict=True))))
    return rows


def test_every_role_gets_the_status_the_matrix_says(api: Any, client: Any, session: Any) -> None:
    from jiayuan.kit.db import utcnow
    from tests.cases.helpers import point_in
    from tests.services.helpers import window
    from tests.world import PERSON_ID_NUMBER, as_persona

    w = build_world(api, client, session)
    lat, lon = point_in(api, GRID_A)
    start = (utcnow() + timedelta(days=3)).replace(second=0, microsecond=0)
    when = {"starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=2)).isoformat()}

    def activity(community: str) -> Callable[[str], dict[str, Any]]:
        return lambda role: {"unit_code": community, "kind": "lecture", "title": f"{role}: 防诈骗讲座",
                             "organizer": "社区居委会", "place": "社区活动室", **when}

    def visit(place: Any, volunteer: str) -> Callable[[str], dict[str, Any]]:
        return lambda role: {"person_id": place.person, "volunteer_id": volunteer, "kind": "housekeeping",
                             "duration_minutes": 30, "visited_at": (utcnow() - timedelta(
                                 hours=5, minutes=40 * ROLES.index(role))).isoformat()}

    extra: dict[str, Any] = {
        "id_number": PERSON_ID_NUMBER, "lat": lat, "lon": lon, **when,
        "visit_a_body": visit(w.a, w.volunteer), "visit_other_body": visit(w.other, w.other.volunteer),
        "activity_body": activity(COMMUNITY), "other_activity_body": activity(OTHER_COMMUNITY),
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
