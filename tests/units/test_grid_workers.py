"""Grid workers (issue 12, item 9g): a supervisor adds to a grid of their scope only grid workers of their scope, and
takes them off again; both are audited, through the API and on the grid's page. A grid outside the scope does not
exist for them (404)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.accounts.models import AuditEntry
from jiayuan.accounts.service import create_user
from jiayuan.demo.load import DEMO_PASSWORD
from jiayuan.units.models import GridMember
from tests.conftest import csrf_from, page_login
from tests.personas import GRID_A, PERSONAS

W = "/api/v1/units"


def worker(session: Session, scope: str, name: str | None = None) -> str:
    """A grid worker's account whose home is `scope`, on no grid yet; its user name."""
    username = name or f"gw{uuid.uuid4().hex[:8]}"
    create_user(session, username=username, full_name="新网格员", role="grid_worker", scope_code=scope,
                password=DEMO_PASSWORD)
    session.commit()
    return username


def other_community_grid(api) -> str:  # noqa: ANN001
    other = PERSONAS["other_community"].scope
    return next(u["code"] for u in api("admin").get(f"{W}", params={"level": "grid"}).json()
                if u["code"].startswith(other))


def audited(session: Session, action: str) -> list[AuditEntry]:
    session.expire_all()
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_only_a_worker_of_the_scope_is_added_to_a_grid_of_the_scope(api, session: Session) -> None:  # noqa: ANN001
    stranger = worker(session, other_community_grid(api))  # a worker of the next community
    r = api("community").post(f"{W}/{GRID_A}/workers", json={"username": stranger})
    assert r.status_code == 422 and (r.json()["field"], r.json()["reason"]) == ("username", "no_worker")
    unknown = api("community").post(f"{W}/{GRID_A}/workers", json={"username": "no-such-worker"})
    assert unknown.json() == {**r.json(), "message": unknown.json()["message"]}  # read alike
    assert session.scalar(select(GridMember).where(GridMember.grid_code == GRID_A,
                                                   GridMember.district_code == GRID_A[:6]).limit(1)) is not None
    # The street above both may.
    assert api("street").post(f"{W}/{GRID_A}/workers", json={"username": stranger}).status_code == 200
    # A grid of another community does not exist for the community's staff, whoever is added.
    ours = worker(session, GRID_A)
    assert api("community").post(f"{W}/{other_community_grid(api)}/workers",
                                 json={"username": ours}).status_code == 404
    added = api("community").post(f"{W}/{GRID_A}/workers", json={"username": ours})
    assert added.status_code == 200 and ours in [m["username"] for m in added.json()]
    assert [(a.target, a.detail["user"]) for a in audited(session, "grid_member_added")][-1] == (GRID_A, ours)


def test_a_worker_is_taken_off_a_grid_and_loses_it_at_once(api, client, session: Session) -> None:  # noqa: ANN001
    name = worker(session, GRID_A)
    user_id = api("community").post(f"{W}/{GRID_A}/workers", json={"username": name}).json()
    user_id = next(m["user_id"] for m in user_id if m["username"] == name)
    token = client.post("/api/v1/auth/token", data={"username": name, "password": DEMO_PASSWORD}).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    assert client.get(f"{W}/{GRID_A}", headers=headers).status_code == 200
    # Not theirs to take off: a grid worker (403), another community (404, the grid does not exist for them).
    assert api("grid_a").client.delete(f"{W}/{GRID_A}/workers/{user_id}",
                                       headers=api("grid_a").headers).status_code == 403
    assert api("other_community").client.delete(f"{W}/{GRID_A}/workers/{user_id}",
                                                headers=api("other_community").headers).status_code == 404
    r = api("community").client.delete(f"{W}/{GRID_A}/workers/{user_id}", headers=api("community").headers)
    assert r.status_code == 200 and name not in [m["username"] for m in r.json()]
    assert client.get(f"{W}/{GRID_A}", headers=headers).status_code == 404  # their next request
    assert [(a.target, a.detail["user"]) for a in audited(session, "grid_member_removed")][-1] == (GRID_A, name)
    again = api("community").client.delete(f"{W}/{GRID_A}/workers/{user_id}", headers=api("community").headers)
    assert again.status_code == 404
    # The lead stays until another is named.
    lead = next(m for m in api("community").get(f"{W}/{GRID_A}/workers").json() if m["is_lead"])
    kept = api("community").client.delete(f"{W}/{GRID_A}/workers/{lead['user_id']}",
                                          headers=api("community").headers)
    assert kept.status_code == 409


def test_the_grid_page_adds_and_takes_off_workers(api, client, session: Session) -> None:  # noqa: ANN001
    name = worker(session, GRID_A)
    page_login(client, PERSONAS["community"].username)
    page = client.get(f"/units/{GRID_A}")
    assert 'id="add-worker"' in page.text
    token = csrf_from(page.text)
    refused = client.post(f"/units/{GRID_A}/workers", data={"csrf_token": token, "username": "no-such-worker"})
    assert refused.status_code == 422 and "辖区内没有这个用户名的网格员" in refused.text
    done = client.post(f"/units/{GRID_A}/workers", data={"csrf_token": token, "username": name})
    assert done.status_code == 200 and "已加入本网格" in done.text and "新网格员" in done.text
    user_id = next(m["user_id"] for m in api("community").get(f"{W}/{GRID_A}/workers").json()
                   if m["username"] == name)
    gone = client.post(f"/units/{GRID_A}/workers/{user_id}/remove", data={"csrf_token": token})
    assert gone.status_code == 200 and "已将这位网格员移出本网格" in gone.text and "新网格员" not in gone.text
    assert [a.detail["user"] for a in audited(session, "grid_member_removed")][-1] == name
    # A grid worker sees the page without the forms, and may not post them.
    client.cookies.clear()
    page_login(client, PERSONAS["grid_a"].username)
    page = client.get(f"/units/{GRID_A}")
    assert page.status_code == 200 and 'id="add-worker"' not in page.text and "/remove" not in page.text
    assert client.post(f"/units/{GRID_A}/workers", data={"csrf_token": csrf_from(page.text),
                                                        "username": name}).status_code == 403
