"""The JSON API under /api/v1/charity, as the personas: status codes and the fields they name, the ID number that
never travels in a URL, retries that count once, the resident who sees their own household by its card, and the
report with its Excel file."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.accounts.models import AuditEntry
from jiayuan.charity import points
from jiayuan.charity.service import COUNTER_PURPOSE, month_start
from jiayuan.kit import throttle
from jiayuan.kit.clock import local_today
from jiayuan.registry.people import lookups
from tests.charity.helpers import LONG_AGO, household
from tests.personas import COMMUNITY, GRID_A
from tests.registry.helpers import id_number, principal

C = "/api/v1/charity"


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def put(user: Any, url: str, **kw: Any) -> Any:
    return user.client.put(url, headers=user.headers, **kw)


def refused(response: Any, status: int, field: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["field"] == field, body
    return body


def setup(api: Any, session: Session) -> dict[str, Any]:
    """Through the API: the supermarket, two items, the allowance rule; a household on the allowance (made through
    the registry), this month issued, 3 rice and 1 oil donated."""
    staff = api("community")
    sm = ok(staff.post(f"{C}/supermarkets", json={"unit_code": COMMUNITY, "name": "文化社区爱心超市"}), 201)
    tag = uuid.uuid4().hex[:4]
    rice = ok(staff.post(f"{C}/items", json={"name": f"大米{tag}", "unit": "袋", "points": 10}), 201)
    oil = ok(staff.post(f"{C}/items", json={"name": f"食用油{tag}", "unit": "瓶", "points": 30}), 201)
    ok(put(api("admin"), f"{C}/rules/allowance", json={"points": 50, "valid_months": 2}))
    who = principal(session, "community")
    h = household(session, who, "API低保户", "8000001", {"allowance": (LONG_AGO, None)}, serial=801)
    session.commit()  # the savepoint of the test's session: the app's requests see it
    ok(staff.post(f"{C}/supermarkets/{sm['id']}/issues", json={}), 201)
    for item, n in ((rice, 3), (oil, 1)):
        ok(staff.post(f"{C}/supermarkets/{sm['id']}/donations",
                      json={"kind": "goods", "item_id": item["id"], "quantity": n, "value_fen": 100}), 201)
    return {"sm": sm, "rice": rice, "oil": oil, "h": h, "url": f"{C}/supermarkets/{sm['id']}"}


def test_supermarkets_items_and_rules(api: Any, session: Session) -> None:
    s = setup(api, session)
    staff = api("community")
    refused(staff.post(f"{C}/supermarkets", json={"unit_code": COMMUNITY, "name": "又一个"}), 409, "unit_code")
    refused(staff.post(f"{C}/items", json={"name": s["rice"]["name"], "unit": "袋", "points": 3}), 409, "name")
    refused(staff.post(f"{C}/items", json={"name": "面粉", "unit": "袋", "points": 0}), 422, "points")
    refused(put(staff, f"{C}/rules/allowance", json={"points": 10}), 403, "role")
    refused(put(api("admin"), f"{C}/rules/rich", json={"points": 10}), 422, "tag")
    assert [r["tag"] for r in ok(staff.get(f"{C}/rules"))] == ["allowance"]
    assert [m["id"] for m in ok(api("street").get(f"{C}/supermarkets"))] == [s["sm"]["id"]]
    assert ok(api("other_community").get(f"{C}/supermarkets")) == []
    refused(api("other_community").get(s["url"]), 404, "supermarket_id")
    refused(api("grid_a").get(s["url"] + "/stock"), 404, "supermarket_id")
    assert ok(api("resident").get(f"{C}/supermarkets")) == []


def test_donation_retried_with_the_same_key_counts_once(api: Any, session: Session) -> None:
    s = setup(api, session)
    staff = api("community")
    body = {"kind": "goods", "item_id": s["oil"]["id"], "quantity": 4, "value_fen": 8000, "donor_name": "某公司"}
    key = {"Idempotency-Key": f"k-{uuid.uuid4()}"}
    first = ok(staff.post(f"{s['url']}/donations", json=body, headers=key), 201)
    again = ok(staff.post(f"{s['url']}/donations", json=body, headers=key), 200)
    assert again["id"] == first["id"]
    levels = {lv["item"]["id"]: lv["on_hand"] for lv in ok(staff.get(f"{s['url']}/stock"))}
    assert levels[s["oil"]["id"]] == 5
    refused(staff.post(f"{s['url']}/donations", json={**body, "quantity": 5}, headers=key), 422, "idempotency_key")
    refused(staff.post(f"{s['url']}/donations", json={"kind": "goods", "quantity": 1}), 422, "item_id")
    ledger = ok(staff.get(f"{s['url']}/stock/ledger", params={"item_id": s["oil"]["id"]}))
    assert ledger["total"] == 2 and {e["kind"] for e in ledger["entries"]} == {"donation"}


def test_finding_a_household_by_id_number_is_an_audited_look_up_whose_misses_lock_it(
        api: Any, session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """The counter's look-up confirms that a number belongs to someone of the unit, as the registry's does: audited
    with the counter's purpose, its misses counted against the same per-account limit (issue 12, item 1)."""
    rule = throttle.Limit(lookups.LIMIT_NAME, 2, timedelta(days=20000))
    monkeypatch.setattr(lookups, "limit", lambda: rule)
    s = setup(api, session)
    staff = api("community")
    assert ok(staff.post(f"{s['url']}/households/search", json={"id_number": id_number(801)}))[0]["id"] == str(
        s["h"].id)
    session.expire_all()
    hit = session.scalars(select(AuditEntry).where(AuditEntry.action == "person_looked_up")).one()
    assert hit.detail == {"by": "id_number", "reason": COUNTER_PURPOSE, "households": [str(s["h"].id)]}
    for n in (802, 803):
        assert ok(staff.post(f"{s['url']}/households/search", json={"id_number": id_number(n)})) == []
    locked = staff.post(f"{s['url']}/households/search", json={"id_number": id_number(801)})
    assert (locked.status_code, locked.json()["reason"]) == (429, "lookup_locked")
    session.expire_all()
    assert len(session.scalars(select(AuditEntry).where(AuditEntry.action == "person_lookup_missed")).all()) == 2


def test_counter_search_and_redemption(api: Any, session: Session) -> None:
    s = setup(api, session)
    staff = api("community")
    found = ok(staff.get(f"{s['url']}/households", params={"q": "API低保"}))
    assert [(f["id"], f["balance"]) for f in found] == [(str(s["h"].id), 50)]
    # An ID number never goes into a URL: refused there, found when posted.
    refused(staff.get(f"{s['url']}/households", params={"q": id_number(801)}), 422, "q")
    posted = staff.post(f"{s['url']}/households/search", json={"id_number": id_number(801)})
    assert ok(posted)[0]["id"] == str(s["h"].id) and posted.headers["cache-control"] == "no-store"
    hh = f"{s['url']}/households/{s['h'].id}"
    before = ok(staff.get(hh))
    assert before["balance"] == 50 and before["lots"][0]["expires_on"] is not None

    lines = [{"item_id": s["rice"]["id"], "quantity": 2}, {"item_id": s["oil"]["id"], "quantity": 2}]
    body = refused(staff.post(f"{s['url']}/redemptions", json={"household_id": str(s["h"].id), "lines": lines}),
                   409, "items")
    assert [i["name"] for i in body["details"]["items"]] == [s["oil"]["name"]] and "points" in body["details"]
    lines = [{"item_id": s["rice"]["id"], "quantity": 3}, {"item_id": s["oil"]["id"], "quantity": 1}]
    body = refused(staff.post(f"{s['url']}/redemptions", json={"household_id": str(s["h"].id), "lines": lines}),
                   409, "points")
    assert body["details"] == {"points": {"balance": 50, "needed": 60}}
    assert ok(staff.get(hh))["history"] == before["history"]  # nothing written

    key = {"Idempotency-Key": f"r-{uuid.uuid4()}"}
    lines = [{"item_id": s["rice"]["id"], "quantity": 2}, {"item_id": s["oil"]["id"], "quantity": 1}]
    receipt = ok(staff.post(f"{s['url']}/redemptions", json={"household_id": str(s["h"].id), "lines": lines},
                            headers=key), 201)
    assert (receipt["points"], receipt["balance"]) == (50, 0)
    again = ok(staff.post(f"{s['url']}/redemptions", json={"household_id": str(s["h"].id), "lines": lines},
                          headers=key), 200)
    assert again["id"] == receipt["id"]
    assert ok(staff.get(f"{s['url']}/redemptions/{receipt['id']}"))["points"] == 50
    levels = {lv["item"]["id"]: lv["on_hand"] for lv in ok(staff.get(f"{s['url']}/stock"))}
    assert (levels[s["rice"]["id"]], levels[s["oil"]["id"]]) == (1, 0)

    # The resident holding the receipt sees the household's points by its card, sent in the body.
    mine = ok(api("resident").post(f"{C}/card", json={"card": receipt["card"]}))
    assert mine["balance"] == 0 and mine["redemptions"][0]["id"] == receipt["id"]
    forged = receipt["card"][:-1] + ("A" if receipt["card"][-1] != "A" else "B")
    refused(api("resident").post(f"{C}/card", json={"card": forged}), 404, "card")
    refused(api("resident").get(hh), 404, "supermarket_id")


def test_issue_once_and_the_report(api: Any, session: Session) -> None:
    s = setup(api, session)
    staff = api("community")
    again = ok(staff.post(f"{s['url']}/issues", json={}), 200)
    assert (again["households"], again["points"]) == (1, 50)
    assert len(ok(staff.get(f"{s['url']}/issues"))) == 1
    refused(staff.post(f"{s['url']}/issues", json={"month": "2999-01-01"}), 422, "month")
    today = local_today()
    period = {"start": month_start(today).isoformat(), "end": today.isoformat()}
    report = ok(staff.get(f"{s['url']}/report", params=period))
    assert report["balanced"] and report["points"]["issued"] == 50 and report["points"]["balances"] == 50
    assert {r["name"]: r["closing"] for r in report["stock"]} == {s["rice"]["name"]: 3, s["oil"]["name"]: 1}
    refused(staff.get(f"{s['url']}/report", params={"start": "2026-05-01", "end": "2026-04-01"}), 422, "end")
    xlsx = staff.get(f"{s['url']}/report.xlsx", params=period)
    assert xlsx.status_code == 200 and "attachment" in xlsx.headers["content-disposition"]
    book = load_workbook(io.BytesIO(xlsx.content), read_only=True)
    assert book.sheetnames == ["概况", "库存", "积分"]


def test_hours_conversion_through_the_api(api: Any, session: Session) -> None:
    from jiayuan.volunteers import service as volunteers

    s = setup(api, session)
    who = principal(session, "community")
    h = household(session, who, "志愿者户", "8000002", {}, grid=GRID_A)
    volunteer = volunteers.create_volunteer(session, who, {"person_id": h.head_id})
    volunteers.credit_hours(session, volunteer.id, volunteer.district_code, 200, "service", "test", uuid.uuid4())
    session.commit()
    staff = api("community")
    body = ok(staff.post(f"{C}/conversions", json={"volunteer_id": str(volunteer.id), "hours": 3}), 201)
    assert (body["hours"], body["points"], body["household_id"]) == (3, 30, str(h.id))
    refused(staff.post(f"{C}/conversions", json={"volunteer_id": str(volunteer.id), "hours": 1}), 409, "minutes")
    assert ok(staff.get(f"{s['url']}/households/{h.id}"))["balance"] == 30
    assert points.converted_hours(session.get(points.PointsEntry, (volunteer.district_code,
                                                                   uuid.UUID(body["lot_id"])))) == 3
    # The district rule caps a month's conversions (20 hours by default): beyond it, refused whole.
    volunteers.credit_hours(session, volunteer.id, volunteer.district_code, 30 * 60, "service", "test", uuid.uuid4())
    session.commit()
    over = staff.post(f"{C}/conversions", json={"volunteer_id": str(volunteer.id), "hours": 18})
    refused(over, 409, "hours")
    assert over.json()["reason"] == "monthly_cap" and over.json()["details"]["left_hours"] == 17
    assert ok(staff.post(f"{C}/conversions", json={"volunteer_id": str(volunteer.id), "hours": 17}), 201)


def test_hostile_values_are_named_never_a_server_error(api: Any, session: Session) -> None:
    s = setup(api, session)
    staff = api("community")
    hh = str(s["h"].id)
    for method, url, body, field in (
        ("post", f"{C}/items", {"name": "米\x00", "unit": "袋", "points": 1}, "name"),
        ("post", f"{C}/items", {"name": "米", "unit": "袋", "points": 2**70}, "points"),
        ("post", f"{s['url']}/donations", {"kind": "money", "value_fen": 2**63, "donor_name": "x"}, "value_fen"),
        ("post", f"{s['url']}/donations", {"kind": "money", "value_fen": 1, "received_at": "0001-01-01T00:00:00Z"},
         "received_at"),
        ("post", f"{s['url']}/donations", {"kind": "money", "value_fen": 1, "idempotency_key": "k\x00"},
         "idempotency_key"),
        ("post", f"{s['url']}/redemptions", {"household_id": hh, "lines": [{"item_id": s["rice"]["id"],
                                                                             "quantity": 2**64}]},
         "lines[0].quantity"),
        ("post", f"{s['url']}/issues", {"month": "0001-01-01"}, "month"),
        ("post", f"{s['url']}/issues", {"month": "9999-12-31"}, "month"),
        ("get", f"{s['url']}/report?start=0001-01-01&end=9999-12-31", None, "start"),
        ("get", f"{s['url']}/households?q=%00", None, "q"),
        ("post", f"{s['url']}/stocktakes", {"lines": [{"item_id": s["rice"]["id"], "counted": -1}]},
         "lines[0].counted"),
    ):
        response = getattr(staff, method)(url, json=body) if body is not None else staff.get(url)
        refused(response, 422, field)
