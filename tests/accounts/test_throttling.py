"""Sign-in throttling (accounts/throttling.py): counted atomically before the password or code is checked, so that
parallel guesses cannot pass more than the limit (real threads, both databases); locked per account and address, so
that a stranger's failures do not lock the owner out on another address; a limit per address across accounts
(spraying) and one per account across addresses that spares the addresses the account signs in from."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from jiayuan.accounts import security
from jiayuan.accounts import service as accounts_service
from jiayuan.accounts.models import AuditEntry, User
from jiayuan.accounts.throttling import DEFAULT
from jiayuan.app import create_app
from jiayuan.demo.load import DEMO_PASSWORD
from jiayuan.kit.db import Database, utcnow
from jiayuan.kit.throttle import ThrottleCounter
from tests.conftest import page_login

TOKEN = "/api/v1/auth/token"
LIMIT = DEFAULT.pair.attempts  # 5 failures from one address
ADDRESS_B = ("198.51.100.7", 40000)


def _token(client: TestClient, username: str, password: str = DEMO_PASSWORD, **extra: str):  # noqa: ANN202
    return client.post(TOKEN, data={"username": username, "password": password, **extra})


def _actions(session: Session, username: str) -> list[str]:
    session.expire_all()
    return list(session.scalars(select(AuditEntry.action).where(AuditEntry.actor == username)
                                .order_by(AuditEntry.at, AuditEntry.id)))


def _window_ends(session: Session, name: str = "signin.pair") -> None:
    """As if the current window of `name` had ended (its counts gone; kit/test_throttle.py tests the windows)."""
    session.execute(delete(ThrottleCounter).where(ThrottleCounter.key.like(f"{name}:%")))
    session.commit()


@pytest.fixture
def elsewhere(app) -> Iterator[TestClient]:  # noqa: ANN001
    """A browser on another network address."""
    with TestClient(app, client=ADDRESS_B) as c:
        yield c


def test_failures_lock_this_address_even_for_the_right_password(client, elsewhere, session, personas) -> None:  # noqa: ANN001
    name = personas["street"].username
    for _ in range(LIMIT):
        assert _token(client, name, "wrong-password").status_code == 401
    locked = _token(client, name)  # the right password, but locked
    assert locked.status_code == 429, locked.text
    assert locked.json()["field"] == "password" and 0 < int(locked.headers["Retry-After"]) <= 15 * 60
    assert _actions(session, name)[-2:] == ["account_locked", "sign_in_locked"]
    assert _actions(session, name).count("sign_in_failed") == LIMIT
    # The form says so too, in Chinese.
    page = page_login(client, name)
    assert page.status_code == 429 and "已锁定" in page.text

    # The owner on another address is not locked out by someone else's failures.
    assert _token(elsewhere, name).status_code == 200

    # Once the window has ended the right password goes through, and a whole sign-in starts the count again.
    _window_ends(session)
    assert _token(client, name).status_code == 200
    for _ in range(LIMIT - 1):
        assert _token(client, name, "one-slip-more").status_code == 401
    assert _token(client, name).status_code == 200
    assert _token(client, name, "yet-another-slip").status_code == 401
    assert _token(client, name).status_code == 200


def test_unknown_names_lock_alike(client) -> None:  # noqa: ANN001
    """A lock must not tell whether a name exists."""
    for _ in range(LIMIT):
        assert _token(client, "no-such-user", "x" * 10).status_code == 401
    assert _token(client, "no-such-user", "x" * 10).status_code == 429


def test_a_day_of_failures_locks_the_address_until_the_next_day(client, session, personas) -> None:  # noqa: ANN001
    name = personas["community"].username
    for _ in range(DEFAULT.pair_day.attempts // LIMIT):
        for _ in range(LIMIT):
            assert _token(client, name, "wrong-password").status_code == 401
        _window_ends(session, "signin.pair")  # the short lock waited out, each time
    assert _token(client, name).status_code == 429
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "sign_in_locked")
                            .order_by(AuditEntry.at.desc())).first()
    assert entry.actor == name and entry.detail["limit"] == "account_and_address_day"


def test_wrong_codes_of_two_factor_sign_in_count_too(client, session, personas) -> None:  # noqa: ANN001
    """A guesser who knows the password cannot try codes without end: the right password does not wipe the count
    of wrong codes, only a whole sign-in does."""
    name = personas["community"].username
    user = session.scalar(select(User).where(User.username == name))
    security.start_totp(session, user)
    totp = pyotp.TOTP(user.totp_secret)
    security.confirm_totp(session, user, totp.at(utcnow() - timedelta(seconds=30)), ip=None)
    session.commit()
    for _ in range(LIMIT):
        assert _token(client, name, totp="000000").json()["field"] == "totp"
    locked = _token(client, name, totp=totp.now())
    assert locked.status_code == 429
    assert _actions(session, name).count("sign_in_failed") == LIMIT


def test_password_spraying_from_one_address_is_limited(settings, db, session, personas) -> None:  # noqa: ANN001
    strict = settings.model_copy(update={"signin_failures_per_source_hour": 3})
    app = create_app(strict, db=db)
    with TestClient(app) as client, TestClient(app, client=ADDRESS_B) as other:
        for persona in ("grid_a", "grid_b", "community"):
            assert _token(client, personas[persona].username, "Summer2026!").status_code == 401
        refused = _token(client, personas["street"].username)  # a fourth account, even with its password
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) <= 3600
        assert _token(other, personas["street"].username).status_code == 200
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "sign_in_locked")
                                .order_by(AuditEntry.at.desc())).first()
        assert entry.detail["limit"] == "address"


def test_a_guess_from_many_addresses_spares_the_owner_at_a_known_address(settings, db, personas) -> None:  # noqa: ANN001
    strict = settings.model_copy(update={"signin_failures_per_account_hour": 3})
    app = create_app(strict, db=db)
    name = personas["street"].username
    with TestClient(app, client=("203.0.113.10", 1)) as office:
        assert _token(office, name).status_code == 200  # the owner signs in at the office: a known address
        for n in range(3):
            with TestClient(app, client=(f"192.0.2.{n + 1}", 1)) as machine:
                assert _token(machine, name, "guess-number-" + str(n)).status_code == 401
        with TestClient(app, client=("192.0.2.99", 1)) as machine:
            assert _token(machine, name).status_code == 429  # a new address waits for the hour to end
        assert _token(office, name).status_code == 200  # the owner at the office does not


@pytest.fixture
def own_account(migrated: Database) -> Iterator[str]:
    """An account committed for real (the threads use connections of their own), and everything its attempts
    leave removed afterwards."""
    with migrated.unit_of_work() as s:
        accounts_service.create_user(s, username="guessed.worker", full_name="被猜的人", role="grid_worker",
                                     scope_code="360802001001001", password=DEMO_PASSWORD)
    yield "guessed.worker"
    with migrated.unit_of_work() as s:
        s.execute(delete(ThrottleCounter).where(ThrottleCounter.key.like("signin.%")))
        s.execute(delete(AuditEntry).where(AuditEntry.actor == "guessed.worker"))
        s.execute(delete(User).where(User.username == "guessed.worker"))


def test_parallel_wrong_guesses_never_pass_more_than_the_limit(settings, migrated, own_account,  # noqa: ANN001
                                                               monkeypatch) -> None:
    checked, lock = [], threading.Lock()
    real = accounts_service.check_password

    def counting(password_hash: str, password: str) -> bool:
        with lock:
            checked.append(password)
        return real(password_hash, password)

    monkeypatch.setattr(accounts_service, "check_password", counting)
    app = create_app(settings, db=migrated)
    start, statuses, errors = threading.Barrier(20), [], []

    def guess(client: TestClient, n: int) -> None:
        try:
            start.wait()
            statuses.append(_token(client, own_account, f"wrong-guess-{n:02d}").status_code)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    with TestClient(app) as client:
        threads = [threading.Thread(target=guess, args=(client, n)) for n in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not errors, errors
        assert sorted(statuses) == [401] * LIMIT + [429] * (20 - LIMIT), statuses
        assert len(checked) == LIMIT  # the others were refused without looking at the password
        assert _token(client, own_account).status_code == 429  # locked here ...
    with TestClient(app, client=ADDRESS_B) as elsewhere:
        assert _token(elsewhere, own_account).status_code == 200  # ... not for the owner elsewhere
