"""Search terms have a maximum length (kit.text.MAX_SEARCH_TERM) on every list and search box: one character more
is a 422 naming the field — JSON for the API, a message on a page — never a search that runs (a long LIKE pattern
and the pinyin and address arms of a name search held the database until it answered 503), nor a term silently
cut. Every GET route of the app with a `q` or `search` parameter is tried, as a role that may use it, on real
records of a small world (tests/world.py); then the posted searches, one per domain."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from jiayuan.kit.text import MAX_SEARCH_TERM
from tests.conftest import csrf_from, page_login
from tests.personas import PERSONAS
from tests.world import World, as_persona, build_world

SEARCH_PARAMETERS = ("q", "search")
ROLES = ("admin", "community", "street", "grid_a", "hotline", "department", "resident", "provider", "volunteer")
TOO_LONG = "张" * (MAX_SEARCH_TERM + 1)
LONGEST = "张" * MAX_SEARCH_TERM
MESSAGE = f"搜索词最多 {MAX_SEARCH_TERM} 个字符"


def routes(items: Any) -> Iterator[APIRoute]:
    for r in items:
        if isinstance(r, APIRoute):
            yield r
        elif hasattr(r, "original_router"):  # an included router (FastAPI 0.12x+)
            yield from routes(r.original_router.routes)


def query_names(route: APIRoute) -> set[str]:
    names: set[str] = set()

    def walk(dependant: Any) -> None:
        names.update(p.alias or p.name for p in dependant.query_params)
        for sub in dependant.dependencies:
            walk(sub)

    walk(route.dependant)
    return names


def searched_routes(app: Any) -> list[tuple[str, str]]:
    """(path, parameter) of every GET route that takes a search term in its query string."""
    found = {(r.path, name) for r in routes(app.routes) if "GET" in r.methods
             for name in query_names(r) & set(SEARCH_PARAMETERS)}
    return sorted(found)


def test_the_walk_finds_the_search_boxes_of_every_domain(app: Any) -> None:
    paths = [p for p, _ in searched_routes(app)]
    for expected in ("/api/v1/cases", "/workbench", "/api/v1/registry/people", "/registry/people",
                     "/api/v1/care/profiles", "/care", "/api/v1/services/providers", "/services/providers",
                     "/hsds/services", "/volunteers/new", "/activities/{activity_id}/attendance",
                     "/api/v1/charity/supermarkets/{supermarket_id}/households", "/charity/{sid}/counter"):
        assert expected in paths, expected


@pytest.fixture
def world(api: Any, client: Any, session: Session) -> World:
    return build_world(api, client, session)


def _as(api: Any, client: Any, w: World, role: str) -> Any:
    return as_persona(client, w.users[role]) if role in w.users else api(role)


def _path(template: str, w: World) -> str:
    values = {**{k: v[0] for k, v in w.path_values().items()}, "sid": w.a.supermarket}
    path = template
    for name, value in values.items():
        path = path.replace("{" + name + "}", str(value))
    assert "{" not in path, f"no value for a path parameter of {template}"
    return path


def test_a_search_term_one_character_too_long_is_a_422_naming_the_field(api: Any, client: Any, world: World,
                                                                          app: Any) -> None:
    checked = []
    for template, name in searched_routes(app):
        path = _path(template, world)
        for role in ROLES:
            caller = _as(api, client, world, role)
            r = caller.get(path, params={name: TOO_LONG})
            if r.status_code not in (401, 403) and not r.headers.get("location"):
                break
        else:
            pytest.fail(f"no role may open {path}")
        where = f"{role} GET {path}?{name}=<{len(TOO_LONG)} characters>"
        assert r.status_code == 422, f"{where}: {r.status_code} {r.text[:300]}"
        if r.headers["content-type"].startswith("application/json"):
            body = r.json()
            field = body.get("field") or (body[0]["description"].split(":")[0] if isinstance(body, list) else "")
            assert field == name, f"{where}: {body}"
        else:
            assert MESSAGE in r.text, f"{where}: no message on the page"
        # The longest term allowed is a search like any other.
        ok = caller.get(path, params={name: LONGEST})
        assert ok.status_code == 200, f"{role} GET {path} with {MAX_SEARCH_TERM} characters: {ok.status_code}"
        checked.append(path)
    assert len(checked) >= 20


def test_posted_searches_are_bounded_too(api: Any, client: Any, world: World) -> None:
    """By ID number, phone or name: in a body, never a URL, and bounded all the same."""
    r = api("community").post("/api/v1/registry/people/search", json={"q": TOO_LONG})
    assert r.status_code == 422 and r.json()["field"] == "q" and r.json()["reason"] == "too_long"
    assert api("community").post("/api/v1/registry/people/search", json={"q": LONGEST}).status_code == 200
    page_login(client, PERSONAS["community"].username)
    html = client.get("/registry/people").text
    r = client.post("/registry/people/search", data={"csrf_token": csrf_from(html), "q": TOO_LONG})
    assert r.status_code == 422 and MESSAGE in r.text
    project = world.a.project
    html = client.get(f"/services/projects/{project}").text
    r = client.post(f"/services/projects/{project}/find", data={"csrf_token": csrf_from(html), "q": TOO_LONG})
    assert r.status_code == 422 and MESSAGE in r.text
