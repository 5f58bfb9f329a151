"""In a real browser on a phone-sized screen: a resident orders a plumber, the provider that is asked takes the
order, starts and completes it on its workbench, and the resident rates it with five stars."""

from __future__ import annotations

import os
import re
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from shapely.geometry import shape
from sqlalchemy import select

from jiayuan.accounts.service import create_user
from jiayuan.demo.load import DEMO_PASSWORD
from jiayuan.kit.db import Database, utcnow
from jiayuan.kit.i18n import TIMEZONE
from jiayuan.services.orders.models import OrderOffer, ServiceOrder
from jiayuan.services.providers.models import Provider, ProviderArea, ProviderItem, ProviderStaff
from jiayuan.units import service as units
from tests.personas import GRID_A

PHONE_SCREEN = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
                "device_scale_factor": 2, "locale": "zh-CN"}
ROOT = Path(__file__).resolve().parents[2]
RESIDENT, WORKER = "order_resident", "order_worker"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("JIAYUAN_SCREENSHOTS") or tmp_path_factory.mktemp("pages"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def accounts(server: tuple[str, Database]) -> tuple[float, float]:
    """A resident account and a plumber serving grid A (the demo's own providers may be asked first: whichever
    is, the test's provider account joins its staff). Returns a point inside grid A."""
    db = server[1]
    with db.unit_of_work() as s:
        create_user(s, username=RESIDENT, full_name="王阿姨", role="resident", scope_code=None,
                    password=DEMO_PASSWORD)
        provider = Provider(district_code="360802", unit_code="360802", name="红杜鹃水电维修",
                            credit_code="91360802TEST00001X", status="active", round_the_clock=True,
                            service_phone="0796-8220001")
        s.add(provider)
        s.flush()
        s.add(ProviderItem(district_code="360802", provider_id=provider.id, item_code="0201", price_fen=8000))
        s.add(ProviderArea(district_code="360802", provider_id=provider.id, unit_code=GRID_A[:9]))
        geometry = units.chain_of(s, GRID_A)[-1].geometry
    p = shape(geometry).representative_point()
    return p.y, p.x


def _sign_in(page, base: str, username: str, target: str) -> None:  # noqa: ANN001
    page.goto(f"{base}{target}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{target}")


def _asked(db: Database, number: str) -> Provider:
    """The provider whose offer is pending, with the test's staff account among its staff."""
    with db.unit_of_work() as s:
        order = s.scalar(select(ServiceOrder).where(ServiceOrder.number == number))
        offer = s.scalar(select(OrderOffer).where(OrderOffer.order_id == order.id, OrderOffer.status == "pending"))
        provider = s.get(Provider, (offer.district_code, offer.provider_id))
        worker = create_user(s, username=WORKER, full_name="李师傅", role="provider", scope_code="360802",
                             password=DEMO_PASSWORD)
        s.add(ProviderStaff(district_code="360802", provider_id=provider.id, user_id=worker.id))
        return provider


def test_resident_orders_provider_serves_resident_rates(server, browser, accounts, shots) -> None:  # noqa: ANN001
    base, db = server
    lat, lon = accounts

    # The resident, on a phone: a plumber, the place from "use my location", tomorrow 10–12.
    ctx = browser.new_context(**PHONE_SCREEN, geolocation={"latitude": lat, "longitude": lon},
                              permissions=["geolocation"])
    page = ctx.new_page()
    _sign_in(page, base, RESIDENT, "/services/order")
    page.select_option("[data-category-group]", "02")
    page.select_option("select[name=item]", "0201")
    page.click("[data-locate]")
    expect(page.locator("input[name=lat]")).not_to_have_value("")
    assert abs(float(page.input_value("input[name=lat]")) - lat) < 1e-6
    page.fill("input[name=address]", "文山路 12 号 3 栋 401 室")
    tomorrow = (utcnow().astimezone(TIMEZONE).date() + timedelta(days=1)).isoformat()
    page.select_option("select[name=day]", tomorrow)
    page.click("label.slot:has(input[value='10:00-12:00'])")
    page.fill("textarea[name=notes]", "厨房水管漏水，上门前请先打电话")
    page.fill("input[name=contact_phone]", "13812345678")
    page.screenshot(path=str(shots / "services-order.png"), full_page=True)
    if os.environ.get("JIAYUAN_SCREENSHOTS"):
        # The figure of the docs: the order form filled in, on a phone.
        shutil.copy(shots / "services-order.png", ROOT / "docs" / "screenshots" / "services-order.png")
    page.click("button[type=submit].huge")
    page.wait_for_selector("#order-number")
    number = page.inner_text("#order-number").strip()
    assert re.fullmatch(r"S\d{11}", number), number
    assert "正在派单" in page.inner_text("#placed")
    page.screenshot(path=str(shots / "services-order-placed.png"), full_page=True)

    # The provider asked: its workbench shows the offer with a countdown; it takes, starts and completes it.
    provider = _asked(db, number)
    worker = browser.new_context(**PHONE_SCREEN).new_page()
    _sign_in(worker, base, WORKER, "/home")
    worker.click("a.tile[href='/provider']")
    card = worker.locator(f"#offer-{number}")
    card.wait_for()
    expect(worker.locator(f"#offer-{number} .countdown")).to_contain_text("还剩")
    assert "文山路 12 号" in card.inner_text() and "水管维修" in card.inner_text()
    worker.screenshot(path=str(shots / "services-provider-offer.png"), full_page=True)
    card.locator("button[data-accept]").click()
    held = worker.locator(f"#held-{number}")
    held.wait_for()
    assert "13812345678" in held.inner_text()  # the customer's phone, once the order is its own
    held.locator("button[data-start]").click()
    worker.locator(f"#held-{number} button[data-complete]").click()
    worker.wait_for_selector(f"#held-{number}", state="detached")
    worker.screenshot(path=str(shots / "services-provider-done.png"), full_page=True)
    worker.context.close()

    # The resident sees it done, and rates it with five stars and a comment.
    page.goto(f"{base}/services/my-orders")
    page.click(f"a.order-row[href='/services/orders/{number}']")
    page.wait_for_selector("#act-rate")
    assert "服务已完成" in page.inner_text(".order-head") and provider.name in page.inner_text("main")
    page.click("label[for=star-5]")
    page.fill("#act-rate textarea[name=comment]", "师傅准时上门，修得很好")
    page.screenshot(path=str(shots / "services-order-rate.png"), full_page=True)
    page.click("#act-rate button[type=submit]")
    page.wait_for_selector("#rating")
    assert page.locator("#act-rate").count() == 0
    assert "师傅准时上门" in page.inner_text("#rating")
    assert page.locator("#rating .stars .on").count() == 5
    page.screenshot(path=str(shots / "services-order-rated.png"), full_page=True)
    with db.sessions() as s:
        order = s.scalar(select(ServiceOrder).where(ServiceOrder.number == number))
        assert (order.status, order.rating, order.provider_id) == ("completed", 5, provider.id)
    ctx.close()


def test_the_hotline_console_on_a_desk(server, browser, accounts, shots) -> None:  # noqa: ANN001
    """A 12343 operator orders for a caller: the number to read out, the candidates and the live state."""
    from tests.personas import PERSONAS

    base = server[0]
    desk = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = desk.new_page()
    _sign_in(page, base, PERSONAS["hotline"].username, "/hotline/orders")
    page.fill("input[name=contact_phone]", "13911112222")
    page.fill("input[name=contact_name]", "刘阿姨")
    page.select_option("[data-category-group]", "02")
    page.select_option("select[name=item]", "0201")
    page.select_option("#new-order select[name=unit_code]", GRID_A)
    page.fill("#new-order input[name=address]", "古南路 8 号 2 栋 301")
    page.click("#new-order label.slot:has(input[value=asap])")
    page.click("#new-order button[type=submit]")
    page.wait_for_selector("#created #order-state")
    number = page.inner_text("#order-number").strip()
    assert re.fullmatch(r"S\d{11}", number)
    state = page.inner_text("#order-state")
    assert "正在询问" in state and "还剩" in state
    assert page.locator("#order-state table.candidates tbody tr").count() >= 1
    page.screenshot(path=str(shots / "services-hotline-orders.png"), full_page=True)
    page.goto(f"{base}/services/orders/{number}")
    assert "*******2222" in page.inner_text("main") and page.locator("#offers").count() == 1
    page.screenshot(path=str(shots / "services-hotline-order.png"), full_page=True)
    desk.close()
