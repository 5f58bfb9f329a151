"""Order pages through the test client: the resident's order form and orders, the order page's action forms,
the provider's workbench and the 12343 console."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.kit.db import utcnow
from jiayuan.kit.i18n import TIMEZONE
from jiayuan.services.orders.models import OrderOffer, ServiceOrder
from tests.cases.helpers import point_in
from tests.conftest import csrf_from, page_login
from tests.personas import GRID_A, GRID_B, PERSONAS
from tests.services.helpers import make_provider, quiet_other_providers, staff_of


def _fields(client: TestClient, path: str) -> dict[str, str]:
    html = client.get(path).text
    fields = {"csrf_token": csrf_from(html)}
    m = re.search(r'name="idempotency_key" value="([^"]+)"', html)
    if m:
        fields["idempotency_key"] = m.group(1)
    return fields


def _tomorrow() -> str:
    return (utcnow().astimezone(TIMEZONE).date() + timedelta(days=1)).isoformat()


def _order_form(api, client: TestClient, **extra) -> dict[str, str]:  # noqa: ANN001, ANN003
    lat, lon = point_in(api, GRID_A)
    return {**_fields(client, "/services/order"), "item": "0201", "address": "文山路 12 号 3 栋 401",
            "lat": str(lat), "lon": str(lon), "day": _tomorrow(), "slot": "10:00-12:00",
            "notes": "厨房水管漏水", "contact_name": "居民甲", "contact_phone": "13700001111", **extra}


def _act(client: TestClient, number: str, action: str, **data: str):  # noqa: ANN202
    token = csrf_from(client.get(f"/services/orders/{number}").text)
    return client.post(f"/services/orders/{number}/actions/{action}", data={"csrf_token": token, **data},
                       follow_redirects=False)


def test_a_resident_orders_and_the_provider_serves_through_the_pages(api, client, session: Session) -> None:  # noqa: ANN001
    quiet_other_providers(session)
    provider = make_provider(session, "一号水电", items={"0201": 8000}, staff=1)
    worker = staff_of(session, provider)[0]

    page_login(client, PERSONAS["resident"].username)
    form = client.get("/services/order")
    assert form.status_code == 200
    for words in ("维修服务", "水管维修", "使用我的位置", "尽快", "提交订单"):
        assert words in form.text, words
    # Without a place: the form comes back with the message by the map, and what was typed is kept.
    missing = client.post("/services/order", data=_order_form(api, client, lat="", lon=""))
    assert missing.status_code == 422 and 'id="err-location"' in missing.text
    assert "文山路 12 号 3 栋 401" in missing.text and "13700001111" in missing.text
    # A time already passed.
    yesterday = (utcnow().astimezone(TIMEZONE).date() - timedelta(days=1)).isoformat()
    past = client.post("/services/order", data=_order_form(api, client, day=yesterday))
    assert past.status_code == 422 and "已经过去" in past.text
    assert session.scalar(select(ServiceOrder.id)) is None

    data = _order_form(api, client)
    placed = client.post("/services/order", data=data)
    assert placed.status_code == 200, placed.text
    number = re.search(r'id="order-number"><span>(S\d{11})<', placed.text).group(1)
    assert "正在为您联系服务商" in placed.text
    # Sending the same form again (a double tap, a reload) makes no second order.
    assert number in client.post("/services/order", data=data).text
    assert len(session.scalars(select(ServiceOrder)).all()) == 1
    mine = client.get("/services/my-orders").text
    assert number in mine and "水管维修" in mine

    # The provider's workbench: the offer with its countdown; taking it.
    page_login(client, worker.username)
    desk = client.get("/provider")
    assert desk.status_code == 200 and f'id="offer-{number}"' in desk.text and "data-deadline" in desk.text
    assert "*******1111" not in desk.text and "13700001111" not in desk.text  # no phone before it is taken
    took = _act(client, number, "accept", next="/provider")
    assert took.status_code == 303 and took.headers["location"] == "/provider"
    desk = client.get("/provider").text
    assert f'id="held-{number}"' in desk and "13700001111" in desk and "开始服务" in desk
    assert _act(client, number, "start", next="/provider").status_code == 303
    assert _act(client, number, "complete", next="/provider").status_code == 303
    assert "服务已完成" in client.get(f"/services/orders/{number}").text

    # The resident rates it with stars and a comment; the form is gone afterwards.
    page_login(client, PERSONAS["resident"].username)
    page = client.get(f"/services/orders/{number}").text
    assert 'id="act-rate"' in page and 'id="act-complain"' in page
    bad = _act(client, number, "rate", rating="9")
    assert bad.status_code == 422 and "1 到 5 星" in bad.text
    assert _act(client, number, "rate", rating="5", comment="师傅很专业").status_code == 303
    page = client.get(f"/services/orders/{number}").text
    assert 'id="act-rate"' not in page and "师傅很专业" in page and 'aria-label="5 星（满分 5 星）"' in page
    assert "一号水电师傅" not in page  # the resident's timeline names no staff member


def test_the_resident_cancels_with_a_reason_and_complains(api, client, session: Session) -> None:  # noqa: ANN001
    quiet_other_providers(session)
    provider = make_provider(session, "一号水电", staff=1)
    page_login(client, PERSONAS["resident"].username)
    number = re.search(r"S\d{11}", client.post("/services/order", data=_order_form(api, client)).text).group(0)
    page_login(client, staff_of(session, provider)[0].username)
    _act(client, number, "accept")
    page_login(client, PERSONAS["resident"].username)
    empty = _act(client, number, "cancel", note="")
    assert empty.status_code == 422 and "请说明原因" in empty.text
    complained = _act(client, number, "complain", note="师傅电话打不通")
    assert complained.status_code == 303
    page = client.get(complained.headers["location"]).text
    case = re.search(r'href="/cases/(\d{11})"', page).group(1)
    assert client.get(f"/cases/{case}").status_code == 200
    done = _act(client, number, "cancel", note="等不及了")
    assert done.status_code == 303
    assert "已取消" in client.get(f"/services/orders/{number}").text


def test_the_hotline_console_orders_for_a_caller_and_offers_by_hand(api, client, session: Session) -> None:  # noqa: ANN001
    quiet_other_providers(session)
    make_provider(session, "别格水电", areas=(GRID_B,), staff=1)
    page_login(client, PERSONAS["hotline"].username)
    console = client.get("/hotline/orders")
    assert console.status_code == 200 and "代来电人下单" in console.text
    data = {**_fields(client, "/hotline/orders"), "contact_phone": "13911112222", "contact_name": "刘阿姨",
            "item": "0201", "unit_code": GRID_A, "address": "古南路 8 号", "day": _tomorrow(),
            "slot": "14:00-16:00", "notes": ""}
    missing = client.post("/hotline/orders", data={**data, "contact_name": ""})
    assert missing.status_code == 422 and 'id="err-contact_name"' in missing.text
    made = client.post("/hotline/orders", data=data)
    assert made.status_code == 200
    number = re.search(r'id="order-number"><span>(S\d{11})<', made.text).group(1)
    # Nobody serves grid A: unassigned at once, and listed with its "offer to …" form.
    assert "待人工派单" in made.text and f'action="/services/orders/{number}/actions/offer"' not in made.text
    state = client.get(f"/hotline/orders/{number}/state")
    assert state.status_code == 200 and 'id="order-state"' in state.text
    # A provider joins for grid A; the operator offers it the order from the console.
    helper = make_provider(session, "新来水电", staff=1)
    console = client.get("/hotline/orders").text
    assert f'action="/services/orders/{number}/actions/offer"' in console and "新来水电" in console
    offered = _act(client, number, "offer", provider_id=str(helper.id), next="/hotline/orders")
    assert offered.status_code == 303 and offered.headers["location"] == "/hotline/orders"
    assert session.scalar(select(OrderOffer.status).where(OrderOffer.provider_id == helper.id)) == "pending"
    page = client.get(f"/services/orders/{number}").text
    assert "新来水电" in page and 'id="offers"' in page and "*******2222" in page


def test_who_may_open_which_page(api, client, session: Session) -> None:  # noqa: ANN001
    assert client.get("/services/order", follow_redirects=False).status_code == 303  # sign in first
    page_login(client, PERSONAS["resident"].username)
    assert client.get("/provider").status_code == 403
    assert client.get("/hotline/orders").status_code == 403
    assert client.get("/services/orders/S26010100000").status_code == 404
    page_login(client, PERSONAS["hotline"].username)
    assert client.get("/services/order", follow_redirects=False).headers["location"] == "/hotline/orders"
    page_login(client, PERSONAS["community"].username)
    assert client.get("/services/order").status_code == 403
    provider = make_provider(session, "一号水电", staff=1)
    page_login(client, staff_of(session, provider)[0].username)
    home = client.get("/home").text
    assert 'href="/provider"' in home
    assert client.get("/provider").status_code == 200
