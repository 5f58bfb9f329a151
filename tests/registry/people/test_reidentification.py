"""No re-identification through search or partial fields (issue 12, item 1).

A masked ID number beside a full birth date and sex left a handful of candidates, and an exact search by ID number
then confirmed one, unaudited. Now: no role that reads the register sees the full birth date outside an unmasked
view, masked numbers keep at most the first two characters and the check character of an ID number and the last
four digits of a phone; an exact look-up needs a reason and is audited with it; look-ups that find no one (and
registrations refused because the number is held elsewhere) are counted per account, and a burst of them locks the
look-up (429) and tells the district's administrators in-app."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from jiayuan.accounts.models import User
from jiayuan.kit import throttle
from jiayuan.kit.identity import id_check_char
from jiayuan.notify.models import OutboxMessage
from jiayuan.registry.people import lookups
from tests.conftest import csrf_from
from tests.personas import GRID_A, GRID_B, PERSONAS
from tests.registry.page_helpers import PEOPLE, audits, login, post_form

BIRTH = date(1975, 6, 15)
PHONE = "13912348765"
WHY = "核实来访居民身份"
MISSES = 3


def _id(serial: str, birth: str = "19750615", region: str = "360802") -> str:
    first17 = region + birth + serial
    return first17 + id_check_char(first17)


ID = _id("482")


@pytest.fixture
def few_misses(monkeypatch: pytest.MonkeyPatch) -> throttle.Limit:
    """The look-up limit made small, with a window so long that no test run straddles two of them."""
    rule = throttle.Limit(lookups.LIMIT_NAME, MISSES, timedelta(days=20000))
    monkeypatch.setattr(lookups, "limit", lambda: rule)
    return rule


def _register(api: Any, who: str = "grid_a", **fields: Any) -> dict[str, Any]:
    body = {"name": "李秀英", "grid_code": GRID_B if who == "grid_b" else GRID_A, "id_number": ID, "phone": PHONE,
            **fields}
    r = api(who).post(PEOPLE, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def _leaks(text: str) -> list[str]:
    """Whatever of the birth date, or of the phone beyond its last four digits, `text` shows."""
    found = [s for s in (ID, ID[6:14], BIRTH.isoformat(), "1975年6月15日", "1975/06/15", PHONE[:7], PHONE[:3] + "****")
             if s in text]
    return found + [f"phone digits {PHONE[i:i + 5]}" for i in range(len(PHONE) - 4) if PHONE[i:i + 5] in text]


def _search(api: Any, who: str, q: str, **body: Any):  # noqa: ANN202
    return api(who).post(f"{PEOPLE}/search", json={"q": q, **body})


# What a grid worker sees.


def test_a_grid_worker_gets_neither_the_birth_date_nor_more_than_four_phone_digits_anywhere(
        client: TestClient, api: Any) -> None:
    p = _register(api)
    api("grid_a").post(f"{PEOPLE}/{p['id']}/tags", json={"tag": "living_alone"})
    answers = {
        "created": str(p),
        "read": api("grid_a").get(f"{PEOPLE}/{p['id']}").text,
        "list": api("grid_a").get(PEOPLE, params={"grid": GRID_A}).text,
        "by name": _search(api, "grid_a", "李秀英").text,
        "by ID number": _search(api, "grid_a", ID, reason=WHY).text,
        "by phone": _search(api, "grid_a", PHONE, reason=WHY).text,
        "changed": api("grid_a").patch(f"{PEOPLE}/{p['id']}", json={"notes": "行动不便"}).text,
    }
    read = api("grid_a").get(f"{PEOPLE}/{p['id']}").json()
    assert (read["sex"], read["birth_year"], read["age"]) == ("female", 1975, _age())
    assert read["id_number"] == "36***************" + ID[-1] and read["phone"] == "*******8765"
    login(client, "grid_a")
    for path in (f"/registry/people?grid={GRID_A}", "/registry/people?q=李秀英", f"/registry/people/{p['id']}"):
        page = client.get(path)
        assert page.status_code == 200, path
        answers[path] = page.text
        assert "*******8765" in page.text and "36***************" + ID[-1] in page.text, path
    found = client.post("/registry/people/search", data={
        "csrf_token": csrf_from(client.get("/registry/people").text), "q": ID, "reason": WHY})
    assert found.status_code == 200 and "李秀英" in found.text
    answers["page search"] = found.text
    export = api("grid_a").get("/api/v1/registry/people/export")
    assert export.status_code == 200
    answers["export"] = _workbook_text(export.content)
    assert "*******8765" in answers["export"]
    for where, text in answers.items():
        assert not _leaks(text), (where, _leaks(text))


def _age() -> int:
    today = date.today()
    return today.year - BIRTH.year - ((today.month, today.day) < (BIRTH.month, BIRTH.day))


def _workbook_text(data: bytes) -> str:
    from tests.registry.helpers import sheet_rows

    return str(sheet_rows(data))


def test_the_full_birth_date_is_in_the_unmasked_view_only(api: Any) -> None:
    p = _register(api)
    r = api("community").post(f"{PEOPLE}/{p['id']}/unmask", json={"reason": "办理高龄津贴核对出生日期"})
    assert r.status_code == 200, r.text
    assert r.json() == {"id_number": ID, "phone": PHONE, "birth_date": BIRTH.isoformat()}
    assert api("grid_a").post(f"{PEOPLE}/{p['id']}/unmask", json={"reason": WHY}).status_code == 403


# Exact look-ups: a reason, an audit entry, a count of misses.


@pytest.mark.parametrize("reason", [None, "", "   ", "。。。", "......", "\u200b\u200b", "\u200b\u200d\ufeff", "啊啊啊啊",
                                    "看看"])
def test_an_exact_look_up_without_a_real_reason_is_refused_naming_the_field(api: Any, db: Any,
                                                                           reason: str | None) -> None:
    _register(api)
    for q in (ID, PHONE, "139 1234 8765"):
        r = _search(api, "grid_a", q, **({} if reason is None else {"reason": reason}))
        assert r.status_code == 422 and r.json()["field"] == "reason", (q, r.text)
        assert "李秀英" not in r.text
    assert audits(db, "person_looked_up") == [] and audits(db, "person_lookup_missed") == []
    # A name is no exact look-up: no reason asked.
    assert [x["name"] for x in _search(api, "grid_a", "李秀英").json()] == ["李秀英"]


def test_a_page_search_by_number_asks_for_the_reason_beside_its_field(client: TestClient, api: Any) -> None:
    _register(api)
    login(client, "grid_a")
    page = client.get("/registry/people").text
    assert 'name="reason"' in page and "按身份证号或手机号查找的事由" in page
    r = client.post("/registry/people/search", data={"csrf_token": csrf_from(page), "q": ID, "reason": "。。。"})
    assert r.status_code == 422
    error = re.search(r'<p class="field-error" id="err-search-reason" role="alert">([^<]+)</p>', r.text)
    assert error and "事由" in error.group(1)
    assert re.search(r'name="reason"[^>]*aria-invalid="true"', r.text) and 'id="search-results"' not in r.text


def test_each_exact_look_up_is_audited_with_who_whom_and_why(api: Any, db: Any, few_misses: Any) -> None:
    p = _register(api)
    assert [x["id"] for x in _search(api, "grid_a", ID, reason=WHY).json()] == [p["id"]]
    [hit] = audits(db, "person_looked_up")
    assert hit.actor == PERSONAS["grid_a"].username and hit.target == p["id"]
    assert hit.detail == {"by": "id_number", "reason": WHY, "people": [p["id"]]}
    assert ID not in str(hit.detail) and ID not in (hit.target or "")

    assert _search(api, "grid_a", "13900001111", reason="回访来电居民，核对手机号").json() == []
    [miss] = audits(db, "person_lookup_missed")
    assert miss.actor == PERSONAS["grid_a"].username
    assert miss.detail == {"by": "phone", "reason": "回访来电居民，核对手机号"}
    # Someone outside the caller's scope is not found, and the miss is counted as any other.
    assert _search(api, "grid_b", ID, reason=WHY).json() == []
    with db.sessions() as s:
        user = s.scalar(select(User).where(User.username == PERSONAS["grid_b"].username))
        assert throttle.peek(s, few_misses, str(user.id)).count == 1


def test_a_burst_of_misses_locks_the_look_up_and_alerts_the_district_admin(api: Any, db: Any,
                                                                          few_misses: Any) -> None:
    p = _register(api)
    for serial in range(MISSES):
        r = _search(api, "grid_a", _id(f"{serial + 100:03d}"), reason=WHY)
        assert r.status_code == 200 and r.json() == []
    locked = _search(api, "grid_a", ID, reason=WHY)  # even a number that would be found
    assert locked.status_code == 429, locked.text
    assert (locked.json()["field"], locked.json()["reason"]) == ("q", "lookup_locked")
    assert int(locked.headers["Retry-After"]) > 0 and "李秀英" not in locked.text
    assert _search(api, "grid_a", PHONE, reason=WHY).status_code == 429
    # Registering or changing an ID number answers the same question: locked too.
    r = api("grid_a").post(PEOPLE, json={"name": "王五", "grid_code": GRID_A, "id_number": _id("999")})
    assert (r.status_code, r.json()["field"]) == (429, "id_number")
    assert api("grid_a").get(f"{PEOPLE}/{p['id']}").status_code == 200  # the rest of the register is not locked
    assert [x["name"] for x in _search(api, "grid_a", "李秀英").json()] == ["李秀英"]
    # Another account is not locked by this one.
    assert [x["id"] for x in _search(api, "community", ID, reason=WHY).json()] == [p["id"]]

    assert len(audits(db, "person_lookup_missed")) == MISSES and len(audits(db, "person_lookup_locked")) == 3
    [out] = audits(db, "person_lookups_locked_out")
    assert out.actor == PERSONAS["grid_a"].username and out.detail["misses"] == MISSES
    with db.sessions() as s:
        admin = s.scalar(select(User).where(User.username == PERSONAS["admin"].username))
        [alert] = s.scalars(select(OutboxMessage).where(OutboxMessage.user_id == admin.id,
                                                        OutboxMessage.channel == "inapp")).all()
        assert PERSONAS["grid_a"].username in alert.body and "暂停" in alert.body
        assert ID not in alert.body and alert.district_code == GRID_A[:6]
        # The community's staff are not the ones told.
        staff = s.scalar(select(User).where(User.username == PERSONAS["community"].username))
        assert s.scalar(select(OutboxMessage.id).where(OutboxMessage.user_id == staff.id)) is None


def test_a_locked_page_search_says_so_beside_the_field(client: TestClient, api: Any, few_misses: Any) -> None:
    _register(api)
    login(client, "grid_a")
    for serial in range(MISSES + 1):
        r = client.post("/registry/people/search", data={
            "csrf_token": csrf_from(client.get("/registry/people").text), "q": _id(f"{serial + 200:03d}"),
            "reason": WHY})
    assert r.status_code == 429
    error = re.search(r'<p class="field-error" id="err-search-q" role="alert">([^<]+)</p>', r.text)
    assert error and "暂停" in error.group(1)


# The 409 that says "already registered elsewhere in the district".


def test_the_conflict_on_a_taken_id_number_is_audited_counted_and_says_nothing_of_the_holder(
        api: Any, db: Any, client: TestClient, few_misses: Any) -> None:
    p = _register(api)
    r = api("grid_b").post(PEOPLE, json={"name": "张三", "grid_code": GRID_B, "id_number": ID})
    assert (r.status_code, r.json()["field"]) == (409, "id_number")
    assert "李秀英" not in r.text and GRID_A not in r.text and p["id"] not in r.text
    [entry] = audits(db, "person_id_number_taken")
    assert entry.actor == PERSONAS["grid_b"].username and ID not in str(entry.detail)
    with db.sessions() as s:
        user = s.scalar(select(User).where(User.username == PERSONAS["grid_b"].username))
        assert throttle.peek(s, few_misses, str(user.id)).count == 1

    # Through the form too, and a change of ID number on a record of theirs is the same question.
    mine = _register(api, "grid_b", name="赵六", id_number=_id("700"), phone=None)
    login(client, "grid_b")
    r = post_form(client, "/registry/people/new", "/registry/people/new", name="张三", grid_code=GRID_B,
                  id_number=ID, residence_type="registered")
    assert r.status_code == 409 and "李秀英" not in r.text
    r = api("grid_b").patch(f"{PEOPLE}/{mine['id']}", json={"id_number": ID})
    assert r.status_code == 409
    assert len(audits(db, "person_id_number_taken")) == MISSES
    # That was the third: the district is told, and the account may no longer ask.
    [out] = audits(db, "person_lookups_locked_out")
    assert out.actor == PERSONAS["grid_b"].username
    r = api("grid_b").post(PEOPLE, json={"name": "张三", "grid_code": GRID_B, "id_number": ID})
    assert (r.status_code, r.json()["reason"]) == (429, "lookup_locked")
    assert _search(api, "grid_b", _id("701"), reason=WHY).status_code == 429
    with db.sessions() as s:
        admin = s.scalar(select(User).where(User.username == PERSONAS["admin"].username))
        assert s.scalar(select(OutboxMessage.id).where(OutboxMessage.user_id == admin.id)) is not None
    # Keeping one's own number is no question at all.
    assert api("grid_b").patch(f"{PEOPLE}/{mine['id']}", json={"id_number": _id("700")}).status_code == 200


def test_an_import_answers_for_no_more_numbers_held_elsewhere_than_the_account_has_left(
        api: Any, db: Any, few_misses: Any) -> None:
    """A file of guessed numbers is the same question asked in bulk: each row held outside the importer's scope is
    audited and counted, and a file with more of them than the account has left is refused whole."""
    from tests.registry.helpers import workbook

    held = [_register(api, name=f"甲{n}", id_number=_id(f"{n:03d}"), phone=None) for n in (301, 302, 303, 304)]
    assert len(held) == 4

    def upload(serials: list[int]):  # noqa: ANN202
        rows = [{"name": "乙", "id_number": _id(f"{n:03d}"), "grid_code": GRID_B} for n in serials]
        return api("grid_b").post("/api/v1/registry/imports/people",
                                  files={"file": ("people.xlsx", workbook("people", rows))})

    r = upload([301, 302])
    assert r.status_code == 201 and r.json()["rejected"] == 2 and not r.json()["written"]
    assert {e["column"] for e in r.json()["errors"]} == {"id_number"}
    [entry] = audits(db, "person_id_number_taken")
    assert entry.detail == {"field": "id_number", "via": "import", "rows": 2}
    with db.sessions() as s:
        user = s.scalar(select(User).where(User.username == PERSONAS["grid_b"].username))
        assert throttle.peek(s, few_misses, str(user.id)).count == 2
    r = upload([303, 304])  # two more, with one left: the file says nothing of them
    assert (r.status_code, r.json()["reason"]) == (429, "lookup_locked"), r.text
    assert "303" not in r.text and "甲" not in r.text
    with db.sessions() as s:
        assert throttle.peek(s, few_misses, str(user.id)).count == MISSES
    assert [e.actor for e in audits(db, "person_lookups_locked_out")] == [PERSONAS["grid_b"].username]


def test_other_domains_search_by_number_only_as_an_audited_look_up(client: TestClient, api: Any, db: Any) -> None:
    """The pages that find a person by a query in their URL (a new volunteer) search names only: a number there
    finds no one and is no look-up at all; the posted ones (a service project's) ask for a reason (test_projects)."""
    _register(api)
    login(client, "community")
    assert "李秀英" in client.get("/volunteers/new", params={"q": "李秀英"}).text
    page = client.get("/volunteers/new", params={"q": ID})
    assert page.status_code == 200 and "李秀英" not in page.text
    assert audits(db, "person_looked_up") == [] and audits(db, "person_lookup_missed") == []
