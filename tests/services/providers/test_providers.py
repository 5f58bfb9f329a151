"""Member providers (加盟企业): applications with a validated credit code, the status table of docs/services.md with
reasons and history, one winner of two changes at once, who may do what, items at a price, areas, staff accounts
and provider_of, the lists, the public directory, the export and the pages."""

from __future__ import annotations

import io
import threading
import uuid
from itertools import pairwise
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jiayuan.accounts.models import User
from jiayuan.accounts.service import create_user, principal_of
from jiayuan.kit.errors import Conflict, Forbidden
from jiayuan.registry.models import Organization
from jiayuan.services.providers import service as providers
from jiayuan.services.providers.models import (
    Provider,
    ProviderArea,
    ProviderEvent,
    ProviderItem,
    ProviderStaff,
)
from tests.conftest import csrf_from, page_login
from tests.personas import COMMUNITY, GRID_A, PERSONAS
from tests.services.provider_helpers import (
    DISTRICT,
    PATHS,
    P,
    application,
    credit_code,
    delete,
    new_provider,
    principal,
    put,
)

STREET = COMMUNITY[:9]
ALLOWED = [("applied", "approved"), ("applied", "withdrawn"), ("approved", "active"), ("approved", "withdrawn"),
           ("active", "suspended"), ("active", "withdrawn"), ("suspended", "active"), ("suspended", "withdrawn")]
REFUSED = [("applied", "active"), ("applied", "suspended"), ("approved", "suspended"), ("approved", "applied"),
           ("active", "approved"), ("active", "active"), ("suspended", "approved"), ("withdrawn", "active"),
           ("withdrawn", "applied")]


def count(session: Session, model: Any) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def counts(session: Session) -> tuple[int, ...]:
    return tuple(count(session, m) for m in (Provider, ProviderEvent, ProviderItem, ProviderArea, ProviderStaff))


# --- The application ---------------------------------------------------------------------------------------


def test_an_application_with_items_area_and_hours(api: Any, session: Session) -> None:
    code = credit_code()
    # The registry knows the enterprise already: the provider is linked to it by its credit code.
    org = Organization(district_code=DISTRICT, grid_code=GRID_A, kind="enterprise", name="吉州便民家政有限公司",
                       credit_code=code)
    session.add(org)
    session.commit()
    body = application(credit_code=code.lower(), items=[{"item": "0201", "price_fen": 8000},
                                                        {"item": "0401", "price_fen": 1000}],
                       areas=[STREET, GRID_A], reason="街道推荐")
    r = api("admin").post(P, json=body)
    assert r.status_code == 201, r.text
    p = r.json()
    assert p["status"] == "applied" and p["credit_code"] == code and p["organization_id"] == str(org.id)
    assert p["contact_phone"] == "*******1234"  # masked; the column holds it encrypted
    assert p["weekly_hours"]["1"] == [["08:00", "12:00"], ["14:00", "18:00"]] and p["round_the_clock"] is False
    assert {(i["item"], i["price_fen"]) for i in p["items"]} == {("0201", 8000), ("0401", 1000)}
    assert p["areas"] == sorted([STREET, GRID_A])
    history = api("admin").get(f"{P}/{p['id']}/history").json()
    assert [(h["from_status"], h["to_status"], h["reason"]) for h in history] == [(None, "applied", "街道推荐")]
    stored = session.get(Provider, (DISTRICT, uuid.UUID(p["id"])))
    assert stored.contact_phone == "13807961234" and stored.unit_code == DISTRICT


def test_round_the_clock_needs_no_week(api: Any) -> None:
    p = new_provider(api, round_the_clock=True, weekly_hours=None)
    assert p["round_the_clock"] is True and p["weekly_hours"] is None


@pytest.mark.parametrize(("credit", "why"), [
    ("91360802MA35XY12", "18 characters"),
    ("9136080200000001XX", "check character"),
    ("91360802I0000001XX", "capital letters"),
    ("", "required"),
])
def test_a_bad_credit_code_is_refused_by_name_and_nothing_is_stored(api: Any, session: Session, credit: str,
                                                                  why: str) -> None:
    before = counts(session)
    r = api("admin").post(P, json=application(credit_code=credit, items=[{"item": "0201", "price_fen": 100}]))
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "credit_code" and why in r.json()["message"]
    assert counts(session) == before


def test_a_credit_code_already_registered_in_the_district_is_a_conflict(api: Any, session: Session) -> None:
    first = new_provider(api)
    before = counts(session)
    r = api("admin").post(P, json=application(credit_code=first["credit_code"], areas=[STREET]))
    assert r.status_code == 409 and r.json()["field"] == "credit_code"
    assert counts(session) == before
    # Nor may an edit take another provider's code.
    other = new_provider(api)
    r = api("admin").patch(f"{P}/{other['id']}", json={"credit_code": first["credit_code"]})
    assert r.status_code == 409 and r.json()["field"] == "credit_code"


@pytest.mark.parametrize(("fields", "field"), [
    ({"weekly_hours": {"1": [["18:00", "08:00"]]}}, "weekly_hours.1[0]"),
    ({"weekly_hours": {"8": []}}, "weekly_hours.8"),
    ({"weekly_hours": {"1": [["08:00", "12:00"], ["11:00", "13:00"]]}}, "weekly_hours.1[1]"),
    ({"weekly_hours": None}, "weekly_hours"),
    ({"weekly_hours": {"1": [], "2": []}}, "weekly_hours"),
    ({"contact_phone": "12345"}, "contact_phone"),
    ({"service_phone": "12"}, "service_phone"),
    ({"name": "  "}, "name"),
    ({"lat": 27.1}, "lon"),
    ({"lat": 127.1, "lon": 114.9}, "lat"),
    ({"items": [{"item": "9999", "price_fen": 100}]}, "items[0].item"),
    ({"items": [{"item": "0201", "price_fen": -1}]}, "items[0].price_fen"),
    ({"items": [{"item": "0401", "price_fen": 1501}]}, "items[0].price_fen"),  # public welfare: at most ¥15
    ({"items": [{"item": "0401", "price_fen": None}]}, "items[0].price_fen"),
    ({"items": [{"item": "0201", "price_fen": 1}, {"item": "0201", "price_fen": 2}]}, "items[1].item"),
    ({"areas": ["360803"]}, "areas[0]"),
    ({"areas": [STREET, "360802999"]}, "areas[1]"),
    ({"areas": ["abc"]}, "areas[0]"),
])
def test_bad_fields_are_named_and_nothing_is_stored(api: Any, session: Session, fields: dict, field: str) -> None:
    before = counts(session)
    r = api("admin").post(P, json=application(**fields))
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field, r.json()
    assert counts(session) == before


# --- Status ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("start", "to"), ALLOWED)
def test_every_step_of_the_status_table_with_its_reason_in_the_history(api: Any, start: str, to: str) -> None:
    p = new_provider(api, start)
    assert p["status"] == start
    r = api("admin").post(f"{P}/{p['id']}/status", json={"to": to, "reason": "按规定办理", "version": p["version"]})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == to and r.json()["version"] == p["version"] + 1
    history = api("admin").get(f"{P}/{p['id']}/history").json()
    steps = [(h["from_status"], h["to_status"]) for h in history]
    walk = ["applied", *PATHS[start], to]
    assert steps == [(None, "applied"), *pairwise(walk)]
    assert history[-1]["reason"] == "按规定办理" and history[-1]["actor_name"]


@pytest.mark.parametrize(("start", "to"), REFUSED)
def test_a_step_not_in_the_table_is_a_conflict_naming_both_ends(api: Any, session: Session, start: str,
                                                                 to: str) -> None:
    p = new_provider(api, start)
    events = count(session, ProviderEvent)
    r = api("admin").post(f"{P}/{p['id']}/status", json={"to": to, "reason": "试试看"})
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["field"] == "to" and f"from {start} to {to}" in body["message"]
    assert body["details"]["from"] == start and body["details"]["to"] == to
    assert api("admin").get(f"{P}/{p['id']}").json()["status"] == start
    assert count(session, ProviderEvent) == events


def test_a_reason_is_required_and_the_status_must_be_known(api: Any) -> None:
    p = new_provider(api)
    for body, field in (({"to": "approved", "reason": "  "}, "reason"), ({"to": "approved"}, "reason"),
                        ({"to": "closed", "reason": "x"}, "to")):
        r = api("admin").post(f"{P}/{p['id']}/status", json=body)
        assert r.status_code == 422 and r.json()["field"] == field, r.text
    assert api("admin").get(f"{P}/{p['id']}").json()["status"] == "applied"
    # And the status does not move through an edit.
    r = api("admin").patch(f"{P}/{p['id']}", json={"name": "新名称"})
    assert r.status_code == 200 and r.json()["status"] == "applied"


def test_a_change_based_on_a_stale_version_is_refused(api: Any) -> None:
    p = new_provider(api, "active")
    first = api("admin").post(f"{P}/{p['id']}/status", json={"to": "suspended", "reason": "投诉较多",
                                                              "version": p["version"]})
    assert first.status_code == 200
    second = api("admin").post(f"{P}/{p['id']}/status", json={"to": "withdrawn", "reason": "主动退出",
                                                               "version": p["version"]})
    assert second.status_code == 409 and second.json()["field"] == "version"
    assert second.json()["details"]["status"] == "suspended"
    edit = api("admin").patch(f"{P}/{p['id']}", json={"name": "改名", "version": p["version"]})
    assert edit.status_code == 409


def test_two_status_changes_at_once_exactly_one_wins(migrated) -> None:
    """Two administrators act on the same application at the same moment (real transactions, two sessions):
    one step is kept, the other is a 409 — on SQLite the second waits for the lock and finds the status moved,
    on PostgreSQL its UPDATE finds the version moved."""
    with migrated.unit_of_work() as s:
        admin = principal(s, "admin")
        made = providers.create_provider(s, admin, **application())
        pid = made.id
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def change(to: str) -> None:
        with migrated.sessions() as s:
            p = principal(s, "admin")
        barrier.wait()
        try:
            with migrated.unit_of_work() as s:
                providers.get_provider(s, p, pid)  # both read version 1 (on PostgreSQL, at the same time)
                providers.change_status(s, p, pid, to, f"并发：{to}", version=1)
            outcomes.append(to)
        except Conflict:
            outcomes.append("Conflict")

    threads = [threading.Thread(target=change, args=(to,)) for to in ("approved", "withdrawn")]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(outcomes) in (["Conflict", "approved"], ["Conflict", "withdrawn"]), outcomes
        winner = next(o for o in outcomes if o != "Conflict")
        with migrated.sessions() as s:
            row = s.get(Provider, (DISTRICT, pid))
            assert row.status == winner and row.version == 2
            steps = s.scalars(select(ProviderEvent.to_status).where(ProviderEvent.provider_id == pid)).all()
            assert sorted(steps) == sorted(["applied", winner])
    finally:
        with migrated.unit_of_work() as s:
            s.execute(ProviderEvent.__table__.delete().where(ProviderEvent.provider_id == pid))
            s.execute(Provider.__table__.delete().where(Provider.id == pid))


# --- Who may do what -----------------------------------------------------------------------------------------


def test_only_the_district_admin_changes_a_provider(api: Any, client: TestClient, session: Session) -> None:
    p = new_provider(api, "approved")
    url = f"{P}/{p['id']}"
    step = {"to": "active", "reason": "越权"}
    # The 12343 operators read every provider of the district, but may not change one: 403.
    assert api("hotline").get(url).status_code == 200
    for method, path, body in (("post", "/status", step), ("patch", "", {"name": "x"}),
                               ("post", "/items", {"item": "0201", "price_fen": 1}),
                               ("post", "/areas", {"unit_code": STREET}),
                               ("post", "/staff", {"username": "pstaffx", "full_name": "x", "password": "x" * 8})):
        r = getattr(api("hotline"), method)(url + path, json=body)
        assert r.status_code == 403, (path, r.text)
    r = api("hotline").post(P, json=application())
    assert r.status_code == 403
    # Staff of a street or community, departments and residents do not see the district's providers: 404.
    for who in ("street", "community", "grid_a", "department", "resident"):
        assert api(who).get(url).status_code == 404, who
        assert api(who).post(f"{url}/status", json=step).status_code == 404, who
    # Nor does the administrator of another district.
    create_user(session, username="admin360803", full_name="青原区管理员", role="district_admin",
                scope_code="360803", password="jiayuan2026")
    session.commit()
    other = client.post("/api/v1/auth/token", data={"username": "admin360803", "password": "jiayuan2026"})
    headers = {"Authorization": f"Bearer {other.json()['access_token']}"}
    assert client.get(url, headers=headers).status_code == 404
    assert client.post(f"{url}/status", json=step, headers=headers).status_code == 404
    assert api("admin").get(url).json()["status"] == "approved"


# --- Staff accounts and provider_of ---------------------------------------------------------------------------


def test_staff_accounts_and_provider_of(api: Any, client: TestClient, session: Session) -> None:
    mine, theirs = new_provider(api, "active"), new_provider(api, "active")
    r = api("admin").post(f"{P}/{mine['id']}/staff",
                          json={"username": "Plumber.Wang", "full_name": "王师傅", "password": "secret-123"})
    assert r.status_code == 201, r.text
    assert r.json()["username"] == "plumber.wang"
    user = session.scalar(select(User).where(User.username == "plumber.wang"))
    assert user.role == "provider" and user.scope_code == DISTRICT
    assert providers.provider_of(session, principal_of(user)).id == uuid.UUID(mine["id"])
    # The same user name again: 409, nothing linked.
    links = count(session, ProviderStaff)
    r = api("admin").post(f"{P}/{theirs['id']}/staff",
                          json={"username": "plumber.wang", "full_name": "李", "password": "secret-123"})
    assert r.status_code == 409 and r.json()["field"] == "username"
    assert count(session, ProviderStaff) == links
    r = api("admin").post(f"{P}/{theirs['id']}/staff", json={"username": "li", "full_name": "李", "password": "short"})
    assert r.status_code == 422 and r.json()["field"] == "password"
    # The staff account reads its own provider and nobody else's, and changes nothing.
    token = client.post("/api/v1/auth/token", data={"username": "plumber.wang", "password": "secret-123"})
    staff = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert client.get(f"{P}/{mine['id']}", headers=staff).status_code == 200
    assert client.get(f"{P}/{theirs['id']}", headers=staff).status_code == 404
    listed = client.get(P, headers=staff).json()
    assert [p["id"] for p in listed["items"]] == [mine["id"]]
    assert client.post(f"{P}/{mine['id']}/status", json={"to": "suspended", "reason": "x"},
                       headers=staff).status_code == 403
    assert client.post(f"{P}/{theirs['id']}/status", json={"to": "suspended", "reason": "x"},
                       headers=staff).status_code == 404
    assert [u["username"] for u in api("admin").get(f"{P}/{mine['id']}/staff").json()] == ["plumber.wang"]
    # Off the staff: the account is closed and works for no provider.
    assert delete(api("admin"), f"{P}/{mine['id']}/staff/{user.id}").status_code == 204
    session.expire_all()
    assert session.get(User, user.id).is_active is False
    with pytest.raises(Forbidden):
        providers.provider_of(session, principal_of(user))
    assert client.get(f"{P}/{mine['id']}", headers=staff).status_code == 401


def test_provider_of_refuses_accounts_that_work_for_no_provider(session: Session) -> None:
    loose = create_user(session, username="pstaff-none", full_name="无主", role="provider", scope_code=DISTRICT,
                        password="secret-123")
    for who in (principal_of(loose), principal(session, "admin")):
        with pytest.raises(Forbidden) as err:
            providers.provider_of(session, who)
        assert err.value.field == "role"


# --- Items and areas -----------------------------------------------------------------------------------------


def test_items_at_a_price(api: Any) -> None:
    p = new_provider(api)
    url = f"{P}/{p['id']}/items"
    r = put(api("admin"), url, json=[{"item": "0201", "price_fen": 8000}, {"item": "0202", "price_fen": None},
                                    {"item": "0401", "price_fen": 1500}])  # welfare: exactly its highest price
    assert r.status_code == 200, r.text
    assert {(i["item"], i["price_fen"]) for i in r.json()} == {("0201", 8000), ("0202", None), ("0401", 1500)}
    r = api("admin").post(url, json={"item": "0201", "price_fen": 9000})
    assert {i["item"]: i["price_fen"] for i in r.json()}["0201"] == 9000
    for body, field in (({"item": "0401", "price_fen": 1501}, "price_fen"), ({"item": "0411", "price_fen": 1},
                                                                             "price_fen"),
                        ({"item": "02", "price_fen": 1}, "item"), ({"item": "0201", "price_fen": -5}, "price_fen")):
        r = api("admin").post(url, json=body)
        assert r.status_code == 422 and r.json()["field"] == field, (body, r.text)
    assert delete(api("admin"), f"{url}/0202").status_code == 200
    assert delete(api("admin"), f"{url}/0202").status_code == 404
    r = put(api("admin"), url, json=[{"item": "0205", "price_fen": 5000}])
    assert [i["item"] for i in r.json()] == ["0205"]
    assert [i["item"] for i in api("hotline").get(url).json()] == ["0205"]


def test_service_area(api: Any) -> None:
    p = new_provider(api)
    url = f"{P}/{p['id']}/areas"
    assert put(api("admin"), url, json=[STREET, STREET]).json() == [STREET]
    assert api("admin").post(url, json={"unit_code": GRID_A}).json() == sorted([STREET, GRID_A])
    r = api("admin").post(url, json={"unit_code": "360803"})
    assert r.status_code == 422 and r.json()["field"] == "unit_code"
    assert delete(api("admin"), f"{url}/{STREET}").json() == [GRID_A]
    assert delete(api("admin"), f"{url}/{STREET}").status_code == 404
    assert providers.serves([STREET], GRID_A) and providers.serves([DISTRICT], GRID_A)
    assert not providers.serves([GRID_A], STREET) and not providers.serves([], GRID_A)


def test_a_withdrawn_provider_no_longer_changes(api: Any) -> None:
    p = new_provider(api, "withdrawn")
    r = api("admin").post(f"{P}/{p['id']}/items", json={"item": "0201", "price_fen": 1})
    assert r.status_code == 409 and r.json()["field"] == "status"


# --- Lists, directory, export ----------------------------------------------------------------------------------


def test_list_filters_and_the_public_directory(api: Any, client: TestClient, session: Session) -> None:
    active = new_provider(api, "active", items=[{"item": "0201", "price_fen": 8000}], areas=[STREET])
    applied = new_provider(api, items=[{"item": "0401", "price_fen": 800}], areas=[GRID_A])
    flagged = new_provider(api, "active", items=[{"item": "0202", "price_fen": 100}], areas=[DISTRICT])
    row = session.get(Provider, (DISTRICT, uuid.UUID(flagged["id"])))
    row.flagged_at, row.flag_reason = row.created_at, "评分过低"
    session.commit()
    mine = {active["id"], applied["id"], flagged["id"]}

    def ids(**params: Any) -> list[str]:
        r = api("admin").get(P, params={**params, "limit": 500})
        assert r.status_code == 200, r.text
        return [p["id"] for p in r.json()["items"] if p["id"] in mine]

    assert ids()[0] == flagged["id"]  # flagged first
    assert set(ids(status="active")) == {active["id"], flagged["id"]}
    assert ids(item="0401") == [applied["id"]] and set(ids(item="02")) == {active["id"], flagged["id"]}
    assert set(ids(area=GRID_A)) == mine  # the street and the district cover the grid
    assert set(ids(area=STREET)) == mine  # the grid lies within the street
    assert ids(flagged=True) == [flagged["id"]] and flagged["id"] not in ids(flagged=False)
    assert api("admin").get(P, params={"status": "closed"}).status_code == 422
    assert api("street").get(P).status_code == 403
    # Anyone reads the active providers' public fields.
    r = client.get(f"{P}/public", params={"district": DISTRICT, "limit": 500})
    assert r.status_code == 200
    public = {p["id"]: p for p in r.json()["items"]}
    assert active["id"] in public and flagged["id"] in public and applied["id"] not in public
    assert "credit_code" not in public[active["id"]] and "contact_phone" not in public[active["id"]]
    assert public[active["id"]]["items"][0]["price_fen"] == 8000
    r = client.get(f"{P}/public", params={"district": DISTRICT, "area": GRID_A, "item": "0201"})
    assert active["id"] in {p["id"] for p in r.json()["items"]}


def test_export_of_the_list(api: Any) -> None:
    p = new_provider(api, "active", items=[{"item": "0201", "price_fen": 8050}], areas=[STREET])
    r = api("admin").get(f"{P}/export", params={"status": "active"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    rows = list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("企业名称", "统一社会信用代码", "状态")
    row = next(x for x in rows[1:] if x[1] == p["credit_code"])
    assert row[2] == "服务中" and row[5] == "*******1234" and "水管维修 80.50元" in row[9]
    assert all("13807961234" not in str(v) for x in rows for v in x)


# --- Pages -----------------------------------------------------------------------------------------------------


def login(client: TestClient, who: str) -> None:
    assert page_login(client, PERSONAS[who].username).status_code == 200


def test_pages_list_apply_and_change_status(client: TestClient, session: Session) -> None:
    login(client, "admin")
    form = client.get("/services/providers/new")
    assert form.status_code == 200
    code = credit_code()
    data = {"csrf_token": csrf_from(form.text), "name": "吉州快修", "credit_code": code, "contact_phone": "13807961234",
            "service_phone": "0796-8221234", "hours_1": "08:00-12:00, 14:00-18:00", "hours_3": "9:00至17:00"}
    bad = client.post("/services/providers/new", data={**data, "credit_code": code[:-1] + "0"
                                                       if code[-1] != "0" else code[:-1] + "1"})
    assert bad.status_code == 422 and 'id="err-provider-credit_code"' in bad.text
    made = client.post("/services/providers/new", data=data, follow_redirects=False)
    assert made.status_code == 303, made.text
    page = client.get(made.headers["location"])
    assert page.status_code == 200 and "吉州快修" in page.text and "*******1234" in page.text
    assert "13807961234" not in page.text
    pid = made.headers["location"].rsplit("/", 1)[-1]
    stored = session.get(Provider, (DISTRICT, uuid.UUID(pid)))
    assert stored.weekly_hours["1"] == [["08:00", "12:00"], ["14:00", "18:00"]]
    assert stored.weekly_hours["3"] == [["09:00", "17:00"]]
    # The status form refuses a blank reason by its field, then takes the step.
    token = csrf_from(page.text)
    refused = client.post(f"/services/providers/{pid}/status", data={"csrf_token": token, "to": "approved",
                                                                     "reason": ""})
    assert refused.status_code == 422 and 'id="err-status-reason"' in refused.text
    done = client.post(f"/services/providers/{pid}/status", data={"csrf_token": token, "to": "approved",
                                                                  "reason": "资料齐全"}, follow_redirects=True)
    assert done.status_code == 200 and "资料齐全" in done.text
    session.expire_all()
    assert session.get(Provider, (DISTRICT, uuid.UUID(pid))).status == "approved"
    # Items, area and a staff account through the page's forms.
    for path, body in (("items", {"item": "0201", "price": "80.5"}), ("areas", {"unit_code": STREET}),
                       ("staff", {"username": "kuaixiu1", "full_name": "张师傅", "password": "secret-123"})):
        r = client.post(f"/services/providers/{pid}/{path}", data={"csrf_token": token, **body},
                        follow_redirects=True)
        assert r.status_code == 200, (path, r.text)
    page = client.get(f"/services/providers/{pid}").text
    assert "80.50" in page and "kuaixiu1" in page
    over = client.post(f"/services/providers/{pid}/items", data={"csrf_token": token, "item": "0401", "price": "15.01"})
    assert over.status_code == 422 and "15.00" in over.text


def test_the_list_page_shows_the_flag(client: TestClient, api: Any, session: Session) -> None:
    p = new_provider(api, "active")
    row = session.get(Provider, (DISTRICT, uuid.UUID(p["id"])))
    row.flagged_at, row.flag_reason = row.created_at, "近 90 天平均评分 2.80（6 次评价），低于 3.5"
    session.commit()
    login(client, "admin")
    html = client.get("/services/providers", params={"flagged": "1"}).text
    assert p["name"] in html and "flag-suspend" in html
    assert client.get(f"/services/providers/{p['id']}").status_code == 200
    login(client, "street")
    assert client.get("/services/providers").status_code == 403
