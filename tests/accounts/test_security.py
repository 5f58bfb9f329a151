"""Sign-in security: two-factor sign-in (TOTP), session idle and absolute expiry, security headers (the throttling of
sign-ins: test_throttling.py)."""

from __future__ import annotations

import re
import time
import types
from datetime import timedelta

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.accounts import security
from jiayuan.accounts.models import AuditEntry, User
from jiayuan.app import create_app
from jiayuan.config import Settings
from jiayuan.demo.load import DEMO_PASSWORD
from jiayuan.kit.db import utcnow
from tests.conftest import csrf_from, page_login

TOKEN = "/api/v1/auth/token"


def _token(client: TestClient, username: str, password: str = DEMO_PASSWORD, **extra: str):  # noqa: ANN202
    return client.post(TOKEN, data={"username": username, "password": password, **extra})


def _actions(session: Session, username: str) -> list[str]:
    session.expire_all()
    return list(session.scalars(select(AuditEntry.action).where(AuditEntry.actor == username)
                                .order_by(AuditEntry.at, AuditEntry.id)))


def _enable_totp(session: Session, username: str) -> pyotp.TOTP:
    user = session.scalar(select(User).where(User.username == username))
    security.start_totp(session, user)
    totp = pyotp.TOTP(user.totp_secret)
    security.confirm_totp(session, user, totp.at(utcnow() - timedelta(seconds=30)), ip=None)
    return totp


def test_api_token_needs_the_code_once_two_factor_is_on(client, session, personas) -> None:
    name = personas["community"].username
    totp = _enable_totp(session, name)
    without = _token(client, name)
    assert without.status_code == 401 and without.json()["field"] == "totp"
    assert _token(client, name, totp="000000").json()["field"] == "totp"
    code = totp.now()
    assert _token(client, name, totp=code).status_code == 200
    # The same code a second time is refused: it may have been seen over someone's shoulder.
    assert _token(client, name, totp=code).status_code == 401
    assert "sign_in_failed" in _actions(session, name)


def test_page_sign_in_asks_for_the_code(client, session, personas) -> None:
    name = personas["community"].username
    totp = _enable_totp(session, name)
    first = page_login(client, name)
    assert first.url.path == "/login/code" and "验证码" in first.text
    assert client.get("/home", follow_redirects=False).headers["location"].startswith("/login")  # not yet in
    wrong = client.post("/login/code", data={"code": "123456", "csrf_token": csrf_from(first.text)})
    assert wrong.status_code == 401 and "验证码错误" in wrong.text
    done = client.post("/login/code", data={"code": totp.now(), "csrf_token": csrf_from(wrong.text)})
    assert done.status_code == 200 and done.url.path == "/home"


def test_staff_must_set_up_two_factor_when_required(settings, db, session, personas) -> None:
    strict = settings.model_copy(update={"require_totp_for_staff": True})
    with TestClient(create_app(strict, db=db)) as client:
        name = personas["grid_a"].username
        refused = _token(client, name)
        assert refused.status_code == 403 and refused.json()["field"] == "totp"
        setup = page_login(client, name)
        assert setup.url.path == "/login/setup" and "data:image/svg+xml;base64," in setup.text
        secret = re.search(r'class="secret">([A-Z2-7]+)<', setup.text).group(1)
        done = client.post("/login/setup", data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_from(setup.text)})
        assert done.url.path == "/home"
        assert "totp_enabled" in _actions(session, name)
        # Residents are not staff: nothing more is asked of them.
        assert _token(client, personas["resident"].username).status_code == 200


def test_admin_reset_ends_sessions_and_two_factor(session, personas) -> None:
    name = personas["community"].username
    _enable_totp(session, name)
    user = session.scalar(select(User).where(User.username == name))
    version = user.token_version
    security.reset_totp(session, user, actor="admin")
    assert user.totp_enabled_at is None and user.totp_secret is None and user.token_version == version + 1


@pytest.mark.parametrize(("idle", "age"), [(True, 2 * 3600 + 5), (False, 12 * 3600 + 5)])
def test_sessions_expire_when_idle_and_absolutely(client, personas, monkeypatch, idle: bool, age: int) -> None:
    page_login(client, personas["community"].username)
    assert client.get("/home").url.path == "/home"
    real = time.time
    if not idle:  # keep it busy: a request every hour until the absolute limit
        for hour in range(1, 12):
            monkeypatch.setattr("jiayuan.deps.time", types.SimpleNamespace(time=lambda h=hour: real() + h * 3600))
            assert client.get("/home").url.path == "/home"
    monkeypatch.setattr("jiayuan.deps.time", types.SimpleNamespace(time=lambda: real() + age))
    expired = client.get("/api/v1/auth/me")
    assert expired.status_code == 401 and expired.json()["field"] == "session"
    # Public pages still show to the now anonymous visitor.
    assert client.get("/track").status_code == 200
    assert client.get("/home", follow_redirects=False).headers["location"].startswith("/login")


def test_security_headers(client) -> None:
    page = client.get("/login")
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp.split(
        "script-src")[1].split(";")[0]
    assert page.headers["X-Frame-Options"] == "DENY" and page.headers["X-Content-Type-Options"] == "nosniff"
    assert "geolocation=(self)" in page.headers["Permissions-Policy"]
    assert "Strict-Transport-Security" not in page.headers  # development is plain HTTP
    assert "script-src 'self';" in client.get("/docs").headers["Content-Security-Policy"]  # Swagger UI is ours


def test_production_adds_hsts(db) -> None:
    prod = Settings(production=True, secret_key="s" * 40, data_keys="k1:" + "A" * 43 + "=", index_key="B" * 43 + "=")
    with TestClient(create_app(prod, db=db)) as client:
        assert client.get("/login").headers["Strict-Transport-Security"].startswith("max-age=")
