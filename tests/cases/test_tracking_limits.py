"""Tracking a case by number and phone without an account is throttled per address (OWASP ASVS 2.4.1): look-ups that
find nothing are counted, atomically and before the look-up, and past the limit the address waits (429 with
Retry-After; the page says so in Chinese). A look-up that finds the case does not count, and other addresses are not
affected."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from jiayuan.app import create_app
from tests.cases.helpers import act, report
from tests.conftest import csrf_from
from tests.personas import GRID_A

PHONE = "13912345678"
LIMIT = 3


@pytest.fixture
def strict(settings, db):  # noqa: ANN001, ANN201
    return create_app(settings.model_copy(update={"track_misses_per_source_hour": LIMIT}), db=db)


@pytest.fixture
def here(strict) -> Iterator[TestClient]:  # noqa: ANN001
    with TestClient(strict) as c:
        yield c


@pytest.fixture
def elsewhere(strict) -> Iterator[TestClient]:  # noqa: ANN001
    with TestClient(strict, client=("198.51.100.20", 40000)) as c:
        yield c


def _track(client: TestClient, number: str, phone: str = PHONE):  # noqa: ANN202
    return client.post("/api/v1/cases/track", json={"number": number, "phone": phone})


def test_misses_are_limited_per_address(api, here, elsewhere) -> None:  # noqa: ANN001
    number = report(api, "hotline", GRID_A, reporter_phone=PHONE)["number"]
    for _ in range(LIMIT + 2):  # finding one's case does not count
        assert _track(here, number).status_code == 200
    for guess in range(LIMIT):
        assert _track(here, f"{number[:6]}{guess:05d}").status_code == 404
    refused = _track(here, number)  # even the right number now waits
    assert refused.status_code == 429 and refused.json()["field"] == "number"
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    # Rating by number and phone is a look-up too.
    rate = here.post("/api/v1/cases/track/rate", json={"number": number, "phone": PHONE, "rating": "satisfied"})
    assert rate.status_code == 429
    assert _track(elsewhere, number).status_code == 200


def test_the_tracking_page_says_why_and_when(api, here) -> None:  # noqa: ANN001
    number = report(api, "grid_a", GRID_A, reporter_phone=PHONE)["number"]
    for who, step, body in (("grid_a", "handle", {"note": "已清理"}), ("community", "check", {}),
                            ("community", "close", {})):  # someone else checks
        act(api, who, number, step, **body)
    token = csrf_from(here.get("/track").text)
    for guess in range(LIMIT):
        r = here.post("/track", data={"csrf_token": token, "number": number, "phone": f"1390000000{guess}"})
        assert r.status_code == 404
    page = here.post("/track", data={"csrf_token": token, "number": number, "phone": PHONE})
    assert page.status_code == 429 and "查询次数过多" in page.text and int(page.headers["Retry-After"]) > 0
    rate = here.post("/track/rate", data={"csrf_token": token, "number": number, "phone": PHONE,
                                         "rating": "satisfied"})
    assert rate.status_code == 429 and "查询次数过多" in rate.text
