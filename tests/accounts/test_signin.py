"""Signing in: the form with its CSRF token and session cookie, API tokens, and the audit log."""

from __future__ import annotations

from sqlalchemy import select

from jiayuan.accounts.models import AuditEntry
from jiayuan.demo.load import DEMO_PASSWORD
from tests.conftest import csrf_from, page_login


def _audit(db, action: str) -> list[AuditEntry]:  # noqa: ANN001
    with db.sessions() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.at)))


def test_sign_in_page_then_home(client, personas) -> None:  # noqa: ANN001
    r = page_login(client, personas["community"].username)
    assert r.status_code == 200 and r.url.path == "/home"
    assert "社区工作者" in r.text  # the role, in Chinese by default


def test_wrong_password_on_the_form_says_so_and_is_audited(client, db) -> None:  # noqa: ANN001
    before = len(_audit(db, "sign_in_failed"))
    r = page_login(client, "admin", "wrong-password")
    assert r.status_code == 401 and "用户名或密码错误" in r.text
    failed = _audit(db, "sign_in_failed")
    assert len(failed) == before + 1 and failed[-1].actor == "admin" and failed[-1].district_code == "360802"
    assert client.get("/home", follow_redirects=False).status_code == 303


def test_successful_sign_in_is_audited(client, db) -> None:  # noqa: ANN001
    page_login(client, "admin")
    assert _audit(db, "sign_in")[-1].actor == "admin"


def test_form_without_csrf_token_is_refused(client) -> None:  # noqa: ANN001
    client.get("/login")
    r = client.post("/login", data={"username": "admin", "password": DEMO_PASSWORD})
    assert r.status_code == 403
    r = client.post("/login", data={"username": "admin", "password": DEMO_PASSWORD, "csrf_token": "forged"})
    assert r.status_code == 403


def test_sign_out_needs_the_token_and_ends_the_session(client) -> None:  # noqa: ANN001
    home = page_login(client, "admin")
    assert client.post("/logout", data={}).status_code == 403
    client.post("/logout", data={"csrf_token": csrf_from(home.text)})
    assert client.get("/map", follow_redirects=False).headers["location"].startswith("/login")


def test_next_only_goes_to_this_site(client) -> None:  # noqa: ANN001
    token = csrf_from(client.get("/login").text)
    r = client.post("/login", data={"username": "admin", "password": DEMO_PASSWORD, "csrf_token": token,
                                    "next": "//evil.example/"}, follow_redirects=False)
    assert r.headers["location"] == "/home"


def test_api_token_wrong_password_names_the_field(client) -> None:  # noqa: ANN001
    r = client.post("/api/v1/auth/token", data={"username": "admin", "password": "nope"})
    assert r.status_code == 401 and r.json()["field"] == "password"
    r = client.post("/api/v1/auth/token", data={"username": "admin"})
    assert r.status_code == 422 and r.json()["field"] == "password"


def test_refused_access_is_audited(api, db) -> None:  # noqa: ANN001
    r = api("grid_a").get("/api/v1/grids/without-workers")
    assert r.status_code == 403
    refused = _audit(db, "access_refused")
    assert refused and refused[-1].target == "/api/v1/grids/without-workers"


def test_me_reports_role_and_scope(api, personas) -> None:  # noqa: ANN001
    body = api("grid_a").get("/api/v1/auth/me").json()
    assert body["role"] == "grid_worker" and body["grids"] == [personas["grid_a"].scope]


def test_admin_creates_users_only_inside_the_district(api) -> None:  # noqa: ANN001
    admin = api("admin")
    ok = admin.post("/api/v1/users", json={"username": "new.staff", "full_name": "新同事",
                                           "role": "community_staff", "scope": "360802001001",
                                           "password": "long-enough"})
    assert ok.status_code == 201, ok.text
    bad = admin.post("/api/v1/users", json={"username": "x1", "full_name": "x", "role": "street_staff",
                                            "scope": "360802001001", "password": "long-enough"})
    assert bad.status_code == 422 and bad.json()["field"] == "scope"
    outside = admin.post("/api/v1/users", json={"username": "x2", "full_name": "x", "role": "district_admin",
                                                "scope": "360803", "password": "long-enough"})
    assert outside.status_code == 403
    taken = admin.post("/api/v1/users", json={"username": "admin", "full_name": "x", "role": "district_admin",
                                              "scope": "360802", "password": "long-enough"})
    assert taken.status_code == 409 and taken.json()["field"] == "username"
    assert api("community").post("/api/v1/users", json={}).status_code in (403, 422)


def test_cookie_authenticated_api_changes_need_the_csrf_header(client, personas) -> None:  # noqa: ANN001
    home = page_login(client, personas["community"].username)
    assert client.get("/api/v1/auth/me").status_code == 200  # reading with the cookie is fine
    body = {"username": personas["grid_a"].username, "is_lead": True}
    grid = personas["grid_a"].scope
    assert client.post(f"/api/v1/units/{grid}/workers", json=body).status_code == 403
    r = client.post(f"/api/v1/units/{grid}/workers", json=body, headers={"X-CSRF-Token": csrf_from(home.text)})
    assert r.status_code == 200
