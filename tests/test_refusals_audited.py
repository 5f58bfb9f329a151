"""Every access refused to a signed-in caller is audited as access_refused (issue 12, item 9h): a route's role gate,
a policy's check inside a use case, a page that shows the refusal as a form error, and a path that does not even
parse (the role gate runs before the path is read)."""

from __future__ import annotations

import re
import uuid

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiayuan.accounts.models import AuditEntry
from tests.care.helpers import make_person
from tests.conftest import csrf_from, page_login
from tests.personas import PERSONAS

# Roles that are refused most routes; each is asked every API route with an id in its path.
ASKED = ("resident", "grid_a", "hotline", "department")


def refusals(db, target: str | None = None) -> int:  # noqa: ANN001
    with db.sessions() as s:
        stmt = select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "access_refused")
        if target is not None:
            stmt = stmt.where(AuditEntry.target == target)
        return s.scalar(stmt) or 0


def _routes(routes):  # noqa: ANN001, ANN202
    for r in routes:
        if hasattr(r, "original_router"):  # an included router
            yield from _routes(r.original_router.routes)
        elif isinstance(r, APIRoute):
            yield r


def test_a_refusal_on_a_malformed_path_is_audited(api, db) -> None:  # noqa: ANN001
    path = "/api/v1/registry/people/not-a-uuid/export"
    r = api("grid_a").get(path)
    assert r.status_code == 403 and r.json()["field"] == "role"
    assert refusals(db, path) == 1
    r = api("grid_a").post("/api/v1/registry/people/%20%27;--/anonymize", json={"reason": "看看而已"})
    assert r.status_code == 403 and refusals(db) == 2


def test_a_refusal_inside_a_use_case_is_audited(api, db, session: Session) -> None:  # noqa: ANN001
    person = make_person(session)
    session.commit()
    path = f"/api/v1/registry/people/{person.id}/unmask"
    # A grid worker passes the registry's gate, and the unmasking use case refuses them.
    r = api("grid_a").post(path, json={"reason": "核实身份信息"})
    assert r.status_code == 403 and refusals(db, path) == 1


def test_a_page_that_shows_a_refusal_audits_it(client: TestClient, db, session: Session) -> None:  # noqa: ANN001
    person = make_person(session)
    session.commit()
    page_login(client, PERSONAS["grid_a"].username)
    page = client.get(f"/registry/people/{person.id}")
    url = f"/registry/people/{person.id}/anonymize"
    r = client.post(url, data={"csrf_token": csrf_from(page.text), "reason": "依法删除请求"})
    assert r.status_code == 403 and refusals(db, url) == 1


def test_every_api_route_audits_its_refusals_a_malformed_path_included(api, client: TestClient, db) -> None:  # noqa: ANN001
    """For each role above and each API route with an id in its path: when a well-formed id is refused (403), a
    malformed one is refused as well, not answered 422 before the role is looked at, and both are audited."""
    gaps = []
    for route in _routes(client.app.routes):
        if "{" not in route.path or not route.path.startswith("/api/"):
            continue
        for method in sorted(route.methods - {"HEAD"}):
            for who in ASKED:
                caller = api(who)
                for value in (str(uuid.uuid4()), "not-valid-xx"):
                    before = refusals(db)
                    r = caller.client.request(method, re.sub(r"\{[^}]+\}", value, route.path),
                                              headers=caller.headers, json={})
                    if value != "not-valid-xx" and r.status_code != 403:
                        break  # not refused to this role with a well-formed id: nothing to compare
                    if r.status_code != 403 or refusals(db) != before + 1:
                        gaps.append(f"{method} {route.path} as {who} with {value}: {r.status_code}")
    assert gaps == []
