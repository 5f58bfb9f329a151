"""The charity pages through the browser's forms (TestClient): open a supermarket, the counter's search (an ID
number only by POST and never written back), a redemption and its receipt, a refused one with the reason by the
items, donations, the stock-take, the monthly issue button twice, the report, the rules, and a resident's own
points by the card."""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.charity import points, stock
from jiayuan.charity.models import Item, Supermarket
from jiayuan.kit.clock import local_today
from tests.charity.helpers import LONG_AGO, household
from tests.conftest import RESIDENT, csrf_from, page_login
from tests.personas import COMMUNITY, PERSONAS
from tests.registry.helpers import id_number, principal


def post(client: TestClient, url: str, data: dict[str, Any], page: str | None = None) -> Any:
    token = csrf_from(client.get(page or "/charity").text)
    return client.post(url, data={**data, "csrf_token": token}, follow_redirects=False)


def opened(client: TestClient, session: Session) -> tuple[Supermarket, Any, Item, Item]:
    """Staff open the supermarket through the page; a household on the allowance; this month issued; stock."""
    page_login(client, PERSONAS["community"].username)
    r = post(client, "/charity/supermarkets", {"unit_code": COMMUNITY, "name": "文化社区爱心超市", "address": "文化路8号"})
    assert r.status_code == 303, r.text
    sm = session.scalar(select(Supermarket).where(Supermarket.unit_code == COMMUNITY))
    assert r.headers["location"] == f"/charity/{sm.id}/counter"
    who = principal(session, "community")
    admin = principal(session, "admin")
    from jiayuan.charity import service

    tag = uuid.uuid4().hex[:4]
    rice = service.create_item(session, who, name=f"大米{tag}", unit="袋", points=10)
    oil = service.create_item(session, who, name=f"食用油{tag}", unit="瓶", points=30)
    service.put_rule(session, admin, tag="allowance", points=50)
    h = household(session, who, "页面低保户", "8100001", {"allowance": (LONG_AGO, None)}, serial=811)
    points.issue_month(session, sm.id, local_today())
    stock.record_donation(session, who, sm.id, kind="goods", item_id=rice.id, quantity=5, value_fen=0)
    stock.record_donation(session, who, sm.id, kind="goods", item_id=oil.id, quantity=1, value_fen=0)
    session.commit()
    return sm, h, rice, oil


def test_counter_find_redeem_receipt(client: TestClient, session: Session) -> None:
    sm, h, rice, oil = opened(client, session)
    base = f"/charity/{sm.id}/counter"
    page = client.get(base, params={"q": "页面低保"})
    assert page.status_code == 200 and "页面低保户" in page.text and "找到 1 户" in page.text
    # An ID number typed into the GET box is refused and not written back into the page.
    number = id_number(811)
    bad = client.get(base, params={"q": number})
    assert bad.status_code == 422 and number not in bad.text and "身份证号请用下方表单查找" in bad.text
    found = post(client, f"{base}/search", {"id_number": number}, base)
    assert found.status_code == 200 and "页面低保户" in found.text and number not in found.text
    assert found.headers["cache-control"] == "no-store"

    chosen = client.get(base, params={"household": str(h.id)})
    assert "可用积分" in chosen.text and re.search(r'id="balance">50<', chosen.text)
    form = {"household_id": str(h.id), f"qty_{rice.id}": "2", f"qty_{oil.id}": "2",
            "idempotency_key": uuid.uuid4().hex}
    refused = post(client, f"{base}/redeem", form, base)
    assert refused.status_code == 409
    assert f"{oil.name} 库存不足：现有 1 瓶，需要 2。" in refused.text and "积分不足：余额 50，需要 80。" in refused.text
    form.update({f"qty_{oil.id}": "1"})
    done = post(client, f"{base}/redeem", form, base)
    assert done.status_code == 303 and "/receipts/" in done.headers["location"]
    again = post(client, f"{base}/redeem", form, base)  # the same form sent twice: once
    assert again.headers["location"] == done.headers["location"]
    receipt = client.get(done.headers["location"])
    assert receipt.status_code == 200 and "积分兑换小票" in receipt.text
    assert re.search(r'id="balance-after">0<', receipt.text)
    card = re.search(r"<code>([A-Z0-9 ]+)</code>", receipt.text).group(1)
    levels = {lv.item.id: lv.on_hand for lv in stock.stock_levels(session, principal(session, "community"), sm.id)}
    assert (levels[rice.id], levels[oil.id]) == (3, 0)

    # The resident holding the receipt: /charity leads to "my points", the card opens the household's balance.
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/home").text)})
    page_login(client, RESIDENT)
    assert client.get("/charity", follow_redirects=False).headers["location"] == "/charity/mine"
    wrong = post(client, "/charity/mine", {"card": card[:-1] + ("Q" if card[-1] != "Q" else "R")}, "/charity/mine")
    assert wrong.status_code == 404 and "没有与此卡号对应的家庭" in wrong.text
    assert post(client, "/charity/mine", {"card": card}, "/charity/mine").status_code == 303
    mine = client.get("/charity/mine")
    assert "可用积分" in mine.text and rice.name in mine.text
    assert client.get(base).status_code == 404


def test_donations_stock_take_issue_report_rules(client: TestClient, session: Session) -> None:
    sm, _h, rice, _oil = opened(client, session)
    s = f"/charity/{sm.id}"
    key = uuid.uuid4().hex
    gift = {"kind": "goods", "donor_name": "", "item_id": str(rice.id), "quantity": "4", "value": "30.5",
            "idempotency_key": key}
    assert post(client, f"{s}/donations", gift, f"{s}/donations").status_code == 303
    assert "捐赠已登记" in client.get(f"{s}/donations").text
    assert post(client, f"{s}/donations", gift, f"{s}/donations").status_code == 303
    assert "这笔捐赠已登记过" in client.get(f"{s}/donations").text
    bad = post(client, f"{s}/donations", {"kind": "goods", "item_id": str(rice.id), "quantity": "x"}, f"{s}/donations")
    assert bad.status_code == 422 and "请输入整数" in bad.text
    money = post(client, f"{s}/donations", {"kind": "money", "donor_name": "李女士", "value": "200"},
                 f"{s}/donations")
    assert money.status_code == 303
    stock_page = client.get(f"{s}/stock")
    assert stock_page.status_code == 200 and "库存流水" in stock_page.text and "爱心人士" not in stock_page.text

    take = post(client, f"{s}/stocktake", {f"count_{rice.id}": "8", "note": "月底盘点"}, f"{s}/stocktake")
    assert take.status_code == 303
    assert "盘点已记录：清点 1 种物品，调整 1 种。" in client.get(f"{s}/stock").text
    levels = {lv.item.id: lv.on_hand for lv in stock.stock_levels(session, principal(session, "community"), sm.id)}
    assert levels[rice.id] == 8  # 5 + 4 − 1 written off

    first = post(client, f"{s}/issue", {}, f"{s}/points")
    assert first.status_code == 303
    assert "积分此前已发放：1 户共 50 积分" in client.get(f"{s}/points").text

    report = client.get(f"{s}/report")
    assert report.status_code == 200 and "库存账与积分账均已平衡" in report.text
    xlsx = client.get(f"{s}/report.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert client.get(f"{s}/report", params={"start": "2026-05-01", "end": "2026-04-01"}).status_code == 422

    items = client.get("/charity/items")
    assert items.status_code == 200 and rice.name in items.text
    refused = post(client, "/charity/rules", {"tag": "disabled", "points": "20", "valid_months": "1",
                                              "active": "on"}, "/charity/items")
    assert refused.status_code == 403  # the district's rules are the administrator's
    added = post(client, "/charity/items", {"name": "面粉", "unit": "袋", "points": "15"}, "/charity/items")
    assert added.status_code == 303
    again = post(client, "/charity/items", {"name": "面粉", "unit": "袋", "points": "15"}, "/charity/items")
    assert again.status_code == 409 and "已有同名同单位的物品" in again.text

    client.post("/logout", data={"csrf_token": csrf_from(client.get("/home").text)})
    page_login(client, PERSONAS["admin"].username)
    assert post(client, "/charity/rules", {"tag": "disabled", "points": "20", "valid_months": "1", "active": "on"},
                "/charity/items").status_code == 303
    assert "规则已保存" in client.get("/charity/items").text
    listing = client.get("/charity")
    assert listing.status_code == 200 and "文化社区爱心超市" in listing.text


def test_every_page_renders_and_strangers_see_nothing(client: TestClient, session: Session) -> None:
    sm, h, _rice, _oil = opened(client, session)
    s = f"/charity/{sm.id}"
    for url in (f"{s}/counter", f"{s}/counter?household={h.id}", f"{s}/donations", f"{s}/stock",
                f"{s}/stocktake", f"{s}/points", f"{s}/report", "/charity/items", "/charity"):
        r = client.get(url)
        assert r.status_code == 200, (url, r.text[:300])
        assert "爱心慈善超市" in r.text or "文化社区爱心超市" in r.text
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/home").text)})
    page_login(client, PERSONAS["other_community"].username)
    assert client.get(f"{s}/counter").status_code == 404
    page_login(client, PERSONAS["grid_a"].username)
    assert client.get("/charity").status_code == 403
