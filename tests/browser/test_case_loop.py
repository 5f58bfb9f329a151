"""In a real browser on a phone-sized screen: a resident files a case, the grid worker handles, checks and
closes it, and the resident tracks it by number and phone and rates it."""

from __future__ import annotations

import os
import re
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect
from shapely.geometry import shape

from jiayuan.demo.load import DEMO_PASSWORD
from jiayuan.kit.db import Database
from jiayuan.units import service as units
from tests.personas import COMMUNITY, GRID_A, PERSONAS

PHONE = "13812345678"
PHONE_SCREEN = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
                "device_scale_factor": 2, "locale": "zh-CN"}

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def grid_a_point(server: tuple[str, Database]) -> tuple[float, float]:
    """A point well inside grid A (lat, lon)."""
    with server[1].sessions() as s:
        geometry = units.chain_of(s, GRID_A)[-1].geometry
    p = shape(geometry).representative_point()
    return p.y, p.x


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: JIAYUAN_SCREENSHOTS (to look at them), else a temporary folder."""
    folder = Path(os.environ.get("JIAYUAN_SCREENSHOTS") or tmp_path_factory.mktemp("pages"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _jpeg() -> bytes:
    out = BytesIO()
    Image.new("RGB", (640, 480), (90, 90, 90)).save(out, "JPEG")
    return out.getvalue()


def _sign_in(page, base: str, username: str, target: str) -> None:  # noqa: ANN001
    page.goto(f"{base}{target}")  # → the sign-in page, coming back to the target
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{target}")


def test_resident_files_worker_closes_resident_rates(server, browser, grid_a_point, shots) -> None:  # noqa: ANN001
    base = server[0]
    lat, lon = grid_a_point

    # The resident, without an account, on a phone: category, description, a photo, a pin in grid A.
    resident = browser.new_context(**PHONE_SCREEN, geolocation={"latitude": lat, "longitude": lon},
                                   permissions=["geolocation"])
    page = resident.new_page()
    page.goto(f"{base}/report")
    page.select_option("[data-category-group]", "11")
    page.select_option("select[name=category]", "1101")
    page.fill("textarea[name=description]", "小区东门口有一堆暴露垃圾，已经两天没人清理，气味很大。")
    photo = [{"name": "rubbish.jpg", "mimeType": "image/jpeg", "buffer": _jpeg()}]
    page.set_input_files("input[name=photos]", files=photo)
    page.fill("input[name=reporter_name]", "张阿姨")
    page.fill("input[name=reporter_phone]", PHONE)
    # Sent without a place: the form comes back with the message by the map, and what was typed is kept.
    page.click("button[type=submit].huge")
    page.wait_for_selector("#err-location")
    assert "请在地图上标出位置" in page.inner_text("#err-location")
    assert "两天没人清理" in page.input_value("textarea[name=description]")
    assert page.input_value("input[name=reporter_phone]") == PHONE
    page.screenshot(path=str(shots / "report-error.png"), full_page=True)
    page.set_input_files("input[name=photos]", files=photo)  # a browser never keeps chosen files
    # "Use my location" fills the pin from the phone's position...
    page.click("[data-locate]")
    expect(page.locator("input[name=lat]")).not_to_have_value("")
    assert abs(float(page.input_value("input[name=lat]")) - lat) < 1e-6
    page.click("[data-clear-pin]")
    assert page.input_value("input[name=lat]") == ""
    # ...and so does a tap on the map: tap exactly where grid A's inner point is drawn.
    page.locator("#pickmap").scroll_into_view_if_needed()
    to_pixel = "([la, lo]) => document.getElementById('pickmap').leafletMap.latLngToContainerPoint([la, lo])"
    spot = page.evaluate(to_pixel, [lat, lon])
    page.locator("#pickmap").click(position={"x": spot["x"], "y": spot["y"]})
    expect(page.locator("input[name=lat]")).not_to_have_value("")
    tapped = float(page.input_value("input[name=lat]")), float(page.input_value("input[name=lon]"))
    assert abs(tapped[0] - lat) < 2e-4 and abs(tapped[1] - lon) < 2e-4, tapped  # within a pixel or two
    page.screenshot(path=str(shots / "report-filled.png"), full_page=True)
    page.click("button[type=submit].huge")
    page.wait_for_selector("#tracking-number")
    number = page.inner_text("#tracking-number").strip()
    assert re.fullmatch(r"\d{11}", number), number
    page.screenshot(path=str(shots / "reported.png"), full_page=True)

    # The grid worker of grid A: the to-do, the case, handle with a note.
    worker = browser.new_context(**PHONE_SCREEN).new_page()
    _sign_in(worker, base, PERSONAS["grid_a"].username, "/home")
    assert re.search(r"待办 [1-9]", worker.inner_text("main"))  # the demo's own cases may wait there too
    worker.screenshot(path=str(shots / "home-grid-worker.png"), full_page=True)
    worker.click("a[href='/workbench']")
    row = worker.locator(f"a.case-row[href='/cases/{number}']")
    assert "正常" in row.inner_text() and "还剩" in row.inner_text()
    expect(worker.locator("#wbmap")).to_have_attribute("data-points", re.compile(r"^[1-9][0-9]*$"))
    worker.screenshot(path=str(shots / "workbench.png"), full_page=True)
    row.click()
    worker.wait_for_url(f"{base}/cases/{number}")
    assert worker.locator(".thumbs img").count() == 1
    worker.screenshot(path=str(shots / "case-dispatched.png"), full_page=True)
    worker.fill("#act-handle textarea[name=note]", "已联系保洁清运，现场已清理干净。")
    worker.click("#act-handle button[type=submit]")
    expect(worker.locator(".case-head")).to_contain_text("已处置")
    assert worker.locator("#act-check").count() == 0  # who handled it does not check it

    # Someone else of the community checks and closes it.
    checker = browser.new_context(**PHONE_SCREEN).new_page()
    _sign_in(checker, base, PERSONAS["community"].username, f"/cases/{number}")
    checker.click("#act-check button[type=submit]")
    checker.wait_for_selector("#act-close")
    checker.click("#act-close button[type=submit]")
    checker.wait_for_selector(".status-closed")
    assert "已结案" in checker.inner_text(".case-head")
    assert "已联系保洁清运" in checker.inner_text("#timeline")
    checker.screenshot(path=str(shots / "case-closed.png"), full_page=True)
    checker.context.close()

    # The resident tracks it by number and phone, and rates it satisfied.
    page.goto(f"{base}/track")
    page.fill("input[name=number]", number)
    page.fill("input[name=phone]", PHONE)
    page.click("button[type=submit].huge")
    page.wait_for_selector("#result")
    assert "已结案" in page.inner_text("#result")
    assert PERSONAS["grid_a"].username not in page.content()
    page.screenshot(path=str(shots / "track-closed.png"), full_page=True)
    page.click("button[name=rating][value=satisfied]")
    page.wait_for_selector("text=感谢您的评价")
    result = page.inner_text("#result")
    assert "已结案" in result and "您的评价：满意" in result.replace(" ", "").replace("\n", "")
    assert page.locator("button[name=rating]").count() == 0
    page.screenshot(path=str(shots / "track-rated.png"), full_page=True)
    resident.close()
    worker.context.close()


def test_staff_pages_on_a_desk(server, browser, shots) -> None:  # noqa: ANN001
    """The hotline desk files a case, the dispatcher's queue shows it; screenshots of the staff pages."""
    base = server[0]
    desk = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = desk.new_page()
    _sign_in(page, base, PERSONAS["hotline"].username, "/hotline")
    page.fill("input[name=reporter_phone]", PHONE)
    page.fill("input[name=reporter_name]", "王先生")
    page.select_option("select[name=category]", "1503")
    page.select_option("select[name=attr_1503_noise_time]", "night")
    page.select_option("select[name=unit_code]", COMMUNITY)
    page.fill("textarea[name=description]", "楼下工地每天晚上十一点以后还在施工，噪音很大。")
    page.click("form[action='/hotline'] button[type=submit]")
    page.wait_for_selector("#tracking-number")
    number = page.inner_text("#tracking-number").strip()
    page.screenshot(path=str(shots / "hotline.png"), full_page=True)
    desk.close()

    desk = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = desk.new_page()
    _sign_in(page, base, PERSONAS["community"].username, "/workbench")
    assert page.locator("table.queue tbody tr").count() >= 1
    page.screenshot(path=str(shots / "queue.png"), full_page=True)
    page.click(f"table.queue a[href='/cases/{number}']")
    page.wait_for_selector("#act-accept")
    page.click("#act-accept button[type=submit]")
    page.wait_for_selector("#act-register")
    page.click("#act-register button[type=submit]")
    page.wait_for_selector("#act-dispatch select[name=assignee]")
    assert "已立案" in page.inner_text(".case-head")
    page.screenshot(path=str(shots / "case-dispatcher.png"), full_page=True)
    desk.close()

    desk = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = desk.new_page()
    _sign_in(page, base, "admin", "/admin/categories")
    page.screenshot(path=str(shots / "categories.png"))
    desk.close()

    phone = browser.new_context(**PHONE_SCREEN).new_page()
    _sign_in(phone, base, PERSONAS["grid_a"].username, "/patrol")
    phone.wait_for_selector("#pickmap.leaflet-container")  # Leaflet made its map there
    phone.screenshot(path=str(shots / "patrol.png"), full_page=True)
    phone.context.close()
