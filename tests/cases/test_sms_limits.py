"""Text messages to a phone nobody has shown to be theirs (an anonymous report's, an Open311 request's, a resident's
typed number) are limited per number and per source and day (notify/limits.py): past a limit the report is still
taken — a resident with a real problem must not lose it — but neither its confirmation nor any later news about it
goes out by SMS; the page says so, and the withholding is audited. Staff typing a caller's number are not limited."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from jiayuan.accounts.models import AuditEntry
from jiayuan.app import create_app
from jiayuan.cases.models import Case
from jiayuan.cases.open311_keys import create_client
from jiayuan.notify.models import OutboxMessage
from tests.cases.helpers import act, point_in, report
from tests.conftest import csrf_from
from tests.personas import GRID_A

VICTIM = "13800138000"


@pytest.fixture
def strict(settings, db):  # noqa: ANN001, ANN201
    return create_app(settings.model_copy(update={"sms_unproven_per_number_day": 2, "sms_unproven_per_source_day": 3,
                                                  "sms_unproven_per_client_day": 4}), db=db)


@pytest.fixture
def browser(strict) -> Iterator[TestClient]:  # noqa: ANN001
    with TestClient(strict) as c:
        yield c


@pytest.fixture
def other_browser(strict) -> Iterator[TestClient]:  # noqa: ANN001
    with TestClient(strict, client=("198.51.100.30", 40000)) as c:
        yield c


def _texts(db: Any, number: str) -> list[str]:
    """The SMS queued about a case (their recipients are encrypted: found by the case number they are about)."""
    with db.sessions() as s:
        return [m.recipient for m in s.scalars(select(OutboxMessage).where(OutboxMessage.channel == "sms",
                                                                          OutboxMessage.ref == number))]


def _withheld(db: Any, number: str) -> bool:
    with db.sessions() as s:
        return s.scalar(select(Case.sms_withheld).where(Case.number == number))


def _report_on_the_page(client: TestClient, api: Any, phone: str) -> Any:
    lat, lon = point_in(api, GRID_A)
    html = client.get("/report").text
    key = re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)
    return client.post("/report", data={"csrf_token": csrf_from(html), "idempotency_key": key, "category": "1101",
                                        "description": "楼道里堆满杂物，堵住了消防通道", "lat": str(lat),
                                        "lon": str(lon), "reporter_phone": phone, "anonymous": "1"})


def _number(html: str) -> str:
    return re.sub(r"<[^>]+>", "", re.search(r'id="tracking-number">(.*?)</p>', html).group(1))


def test_reports_naming_one_phone_text_it_at_most_the_limit(browser, other_browser, api, db) -> None:  # noqa: ANN001
    numbers = []
    for client in (browser, other_browser, browser):  # from two addresses: the number's limit holds across them
        page = _report_on_the_page(client, api, VICTIM)
        assert page.status_code == 200, page.text
        numbers.append(_number(page.text))
    first, second, third = numbers
    assert _texts(db, first) == [VICTIM] and _texts(db, second) == [VICTIM]
    assert _texts(db, third) == [] and _withheld(db, third)  # taken, but not texted ...
    assert "不会发送短信" in page.text  # ... and the page says so
    with db.sessions() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "sms_withheld", AuditEntry.target == third))
        assert entry is not None and entry.detail == {"limit": "number"} and VICTIM not in str(entry.detail)
    # Later news of the case is not texted either; it is still tracked by number and phone.
    for who, step, body in (("grid_a", "handle", {"note": "已清理"}), ("community", "check", {}),
                            ("community", "close", {})):  # someone else checks
        act(api, who, third, step, **body)
    assert _texts(db, third) == []
    assert browser.post("/api/v1/cases/track", json={"number": third, "phone": VICTIM}).status_code == 200


def test_one_address_texts_at_most_the_limit_of_numbers(browser, other_browser, api, db) -> None:  # noqa: ANN001
    numbers = [_number(_report_on_the_page(browser, api, f"1390000000{n}").text) for n in range(4)]
    assert [bool(_texts(db, n)) for n in numbers] == [True, True, True, False]
    assert _number(page := _report_on_the_page(other_browser, api, "13900000009").text) and "不会发送短信" not in page
    with db.sessions() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "sms_withheld",
                                                  AuditEntry.target == numbers[3]))
        assert entry.detail == {"limit": "source"}


def test_open311_requests_are_limited_alike(browser, api, db) -> None:  # noqa: ANN001
    with db.sessions() as s:
        _client, key = create_client(s, "第三方应用")
        s.commit()
    lat, lon = point_in(api, GRID_A)

    def post(phone: str) -> str:
        r = browser.post("/open311/v2/requests.json", data={
            "api_key": key, "service_code": "0101", "lat": lat, "long": lon, "attribute[cover_state]": "missing",
            "description": "井盖丢失，夜里很危险", "phone": phone})
        assert r.status_code == 201, r.text
        return r.json()[0]["service_request_id"]

    same = [post(VICTIM) for _ in range(3)]
    assert [bool(_texts(db, n)) for n in same] == [True, True, False]
    others = [post(f"1370000000{n}") for n in range(3)]  # the client's fourth and fifth texts of the day
    assert [bool(_texts(db, n)) for n in others] == [True, True, False]


def test_staff_typing_a_callers_number_are_not_limited(api, strict, db) -> None:  # noqa: ANN001
    with TestClient(strict) as client:
        token = client.post("/api/v1/auth/token", data={"username": "admin", "password": "jiayuan2026"})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        lat, lon = point_in(api, GRID_A)
        for _ in range(4):
            r = client.post("/api/v1/cases", headers=headers, json={
                "category": "1101", "description": "来电反映垃圾未清运", "lat": lat, "lon": lon,
                "reporter_phone": VICTIM})
            assert r.status_code == 201 and _texts(db, r.json()["number"]) == [VICTIM]


def test_a_residents_typed_number_counts_too(api, db) -> None:  # noqa: ANN001
    numbers = [report(api, "resident", GRID_A, reporter_phone=VICTIM)["number"] for _ in range(4)]
    # The resident persona's API goes to the default settings: 3 a day for one number.
    assert [bool(_texts(db, n)) for n in numbers] == [True, True, True, False]
