"""Sessions that end (OWASP ASVS 7.x): signing out, a password change, an administrator's reset of two-factor
sign-in or of the password end the session on the server, so that a copy of the cookie stops working at once;
signing in starts a session of its own (no fixation). Bearer tokens end with the account's token version."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from jiayuan.accounts import security, sessions
from jiayuan.accounts.models import AuditEntry, User, UserSession
from jiayuan.accounts.service import check_password, create_user
from jiayuan.demo.load import DEMO_PASSWORD
from tests.conftest import csrf_from, page_login

COOKIE = "jiayuan_session"
NEW_PASSWORD = "Lanterns-by-the-Gan-river"


@pytest.fixture
def worker(session: Session) -> User:
    """An account of this test's own (its sessions and password change without touching the shared personas)."""
    user = create_user(session, username="grid.li", full_name="李网格", role="community_staff",
                       scope_code="360802001001", password=DEMO_PASSWORD)
    session.commit()
    return user


@pytest.fixture
def second(app) -> Iterator[TestClient]:  # noqa: ANN001
    """Another browser on the same site."""
    with TestClient(app) as c:
        yield c


def _signed_out(client: TestClient) -> None:
    """What an anonymous browser gets: 401 from the API, the sign-in page for a page that needs an account."""
    assert client.get("/api/v1/auth/me").status_code == 401
    page = client.get("/home", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")


def _signed_in(client: TestClient, username: str) -> None:
    r = client.get("/api/v1/auth/me")
    assert r.status_code == 200 and r.json()["username"] == username


def test_a_copied_cookie_stops_working_after_sign_out(client, second, worker) -> None:  # noqa: ANN001
    home = page_login(client, worker.username)
    copied = client.cookies.get(COOKIE)
    second.cookies.set(COOKIE, copied)
    _signed_in(second, worker.username)  # the copy works while the session lasts ...
    assert client.post("/logout", data={"csrf_token": csrf_from(home.text)}).status_code == 200
    _signed_out(client)
    _signed_out(second)  # ... and not after signing out, although the copy was never told
    # Replaying the old cookie in the browser that signed out does not bring the session back either.
    client.cookies.set(COOKIE, copied)
    _signed_out(client)


def test_signing_in_starts_a_new_session(client, second, worker) -> None:  # noqa: ANN001
    """A cookie planted before the sign-in (session fixation) is not the one that is signed in afterwards."""
    client.get("/login")
    planted = client.cookies.get(COOKIE)
    page_login(client, worker.username)
    assert client.cookies.get(COOKIE) != planted
    second.cookies.set(COOKIE, planted)
    _signed_out(second)
    # Signing in again in the same browser ends the session it had.
    before = client.cookies.get(COOKIE)
    page_login(client, worker.username)
    second.cookies.set(COOKIE, before)
    _signed_out(second)
    _signed_in(client, worker.username)


def test_a_password_change_signs_every_other_browser_and_token_out(client, second, worker) -> None:  # noqa: ANN001
    page_login(second, worker.username)
    token = client.post("/api/v1/auth/token", data={"username": worker.username, "password": DEMO_PASSWORD}
                        ).json()["access_token"]
    page_login(client, worker.username)
    form = client.get("/account/password")
    assert form.status_code == 200
    done = client.post("/account/password", data={"csrf_token": csrf_from(form.text), "current": DEMO_PASSWORD,
                                                  "password": NEW_PASSWORD, "repeat": NEW_PASSWORD})
    assert done.status_code == 200 and "密码已更改" in done.text
    _signed_in(client, worker.username)  # the browser that changed it stays signed in ...
    _signed_out(second)  # ... every other one is out
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    # The new password signs in; the old one no longer does.
    assert page_login(second, worker.username, NEW_PASSWORD).url.path == "/home"
    assert client.post("/api/v1/auth/token", data={"username": worker.username, "password": DEMO_PASSWORD}
                       ).status_code == 401


def test_the_password_change_form_names_what_is_wrong(client, worker) -> None:  # noqa: ANN001
    page_login(client, worker.username)
    form = client.get("/account/password")
    wrong = client.post("/account/password", data={"csrf_token": csrf_from(form.text), "current": "not-mine-at-all",
                                                   "password": NEW_PASSWORD, "repeat": NEW_PASSWORD})
    assert wrong.status_code == 422 and "当前密码不对" in wrong.text
    short = client.post("/account/password", data={"csrf_token": csrf_from(form.text), "current": DEMO_PASSWORD,
                                                   "password": "short-1", "repeat": "short-1"})
    assert short.status_code == 422 and "至少 10 个字符" in short.text
    differ = client.post("/account/password", data={"csrf_token": csrf_from(form.text), "current": DEMO_PASSWORD,
                                                    "password": NEW_PASSWORD, "repeat": NEW_PASSWORD + "x"})
    assert differ.status_code == 422 and "两次输入的新密码不一致" in differ.text
    _signed_in(client, worker.username)


def test_a_password_change_through_the_api_gives_a_new_token(client, worker) -> None:  # noqa: ANN001
    old = client.post("/api/v1/auth/token", data={"username": worker.username, "password": DEMO_PASSWORD}
                      ).json()["access_token"]
    other = client.post("/api/v1/auth/token", data={"username": worker.username, "password": DEMO_PASSWORD}
                        ).json()["access_token"]
    auth = {"Authorization": f"Bearer {old}"}
    wrong = client.post("/api/v1/auth/password", headers=auth,
                        json={"current_password": "not-mine-at-all", "new_password": NEW_PASSWORD})
    assert wrong.status_code == 422 and wrong.json()["field"] == "current_password"
    common = client.post("/api/v1/auth/password", headers=auth,
                         json={"current_password": DEMO_PASSWORD, "new_password": "1qaz2wsx3edc"})
    assert common.status_code == 422 and common.json()["field"] == "new_password"
    r = client.post("/api/v1/auth/password", headers=auth,
                    json={"current_password": DEMO_PASSWORD, "new_password": NEW_PASSWORD})
    assert r.status_code == 200, r.text
    for revoked in (old, other):
        assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {revoked}"}).status_code == 401
    fresh = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert client.get("/api/v1/auth/me", headers=fresh).status_code == 200


def test_an_admins_two_factor_reset_signs_the_account_out(client, second, api, worker, session) -> None:  # noqa: ANN001
    page_login(client, worker.username)
    security.start_totp(session, worker)
    session.commit()
    _signed_in(client, worker.username)
    r = api("admin").post(f"/api/v1/users/{worker.username}/reset-totp")
    assert r.status_code == 200, r.text
    _signed_out(client)
    session.expire_all()
    assert session.get(User, worker.id).totp_secret is None
    # Only the district administrator may; an unknown name is a 404.
    assert api("street").post(f"/api/v1/users/{worker.username}/reset-totp").status_code == 403
    assert api("admin").post("/api/v1/users/no.such.user/reset-totp").status_code == 404


def test_an_admins_password_reset_signs_the_account_out(client, api, worker) -> None:  # noqa: ANN001
    page_login(client, worker.username)
    r = api("admin").post(f"/api/v1/users/{worker.username}/password", json={"password": "a123456"})
    assert r.status_code == 422 and r.json()["field"] == "password"
    r = api("admin").post(f"/api/v1/users/{worker.username}/password", json={"password": NEW_PASSWORD})
    assert r.status_code == 200, r.text
    _signed_out(client)
    assert page_login(client, worker.username, NEW_PASSWORD).url.path == "/home"


def test_a_disabled_account_is_signed_out(client, worker, session) -> None:  # noqa: ANN001
    page_login(client, worker.username)
    user = session.scalar(select(User).where(User.username == worker.username))
    user.is_active = False
    session.commit()
    _signed_out(client)


def test_the_operators_password_reset_signs_the_account_out(database_url, migrated) -> None:  # noqa: ANN001
    """`jiayuan users set-password`: the rule applies, the account's sessions and tokens end."""
    from tests.cli import run_cli

    with migrated.unit_of_work() as s:
        user = create_user(s, username="cli.reset", full_name="重置", role="community_staff",
                           scope_code="360802001001", password=DEMO_PASSWORD)
        key = sessions.start(s, user, now=time.time())
        version = user.token_version
    try:
        weak = run_cli(database_url, "users", "set-password", "cli.reset", "--password-stdin", input="5201314520\n")
        assert weak.returncode == 2 and "password: one of the most common passwords" in weak.stderr
        done = run_cli(database_url, "users", "set-password", "cli.reset", "--password-stdin",
                       input=NEW_PASSWORD + "\n")
        assert done.returncode == 0, done.stderr
        with migrated.unit_of_work() as s:
            user = s.scalar(select(User).where(User.username == "cli.reset"))
            assert check_password(user.password_hash, NEW_PASSWORD) and user.token_version == version + 1
            assert sessions.resume(s, key, now=time.time(), max_age=3600, idle=3600).principal is None
    finally:
        with migrated.unit_of_work() as s:
            s.execute(delete(UserSession).where(UserSession.user_id == user.id))
            s.execute(delete(AuditEntry).where(AuditEntry.target == "cli.reset"))
            s.execute(delete(User).where(User.username == "cli.reset"))


def test_a_cookie_of_the_kind_before_server_side_sessions_opens_nothing(client, settings, worker) -> None:  # noqa: ANN001
    """A cookie copied before the upgrade (it held the account id and token version, signed) is signed out."""
    import base64
    import json

    from itsdangerous import TimestampSigner

    now = int(time.time())
    data = {"uid": str(worker.id), "tv": worker.token_version, "iat": now, "seen": now, "csrf": "x" * 43}
    value = TimestampSigner(settings.secret_key).sign(base64.b64encode(json.dumps(data).encode()))
    client.cookies.set(COOKIE, value.decode())
    _signed_out(client)
