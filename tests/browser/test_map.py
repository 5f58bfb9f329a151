"""In a real browser: sign in and see the grid polygons of one's scope on the map."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from jiayuan.demo.load import DEMO_PASSWORD
from tests.personas import COMMUNITY, GRID_A, PERSONAS

pytestmark = pytest.mark.browser


def _sign_in(page, base: str, username: str) -> None:  # noqa: ANN001
    page.goto(f"{base}/map")  # → the sign-in page, coming back to the map
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/map")
    page.wait_for_selector("#map.loaded")


def test_admin_signs_in_and_sees_every_grid_on_the_map(server, browser, tmp_path) -> None:  # noqa: ANN001
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    _sign_in(page, server[0], "admin")
    assert page.locator("path.unit-grid").count() == 12
    assert page.get_attribute("#map", "data-grids") == "12"
    page.screenshot(path=str(tmp_path / "map.png"))
    # Clicking a grid polygon shows its code and its workers.
    page.locator("path.unit-grid").first.click(force=True)
    expect(page.locator(".leaflet-popup-content")).to_contain_text("网格长")
    text = page.locator(".leaflet-popup-content").inner_text()
    assert re.search(r"编码：360802\d{9}", text), text
    # Picking a grid in the unit tree opens the same popup for that grid.
    page.locator(f'li:has(> a[data-code="{COMMUNITY}"]) > details > summary').click()
    page.click(f'.unit-link[data-code="{GRID_A}"]')
    expect(page.locator(".leaflet-popup-content")).to_contain_text(GRID_A)
    page.close()


def test_grid_worker_sees_only_own_grid_on_a_phone(server, browser) -> None:  # noqa: ANN001
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    _sign_in(page, server[0], PERSONAS["grid_a"].username)
    assert page.locator("path.unit-grid").count() == 1
    assert page.locator(f'.unit-link[data-code="{GRID_A}"]').count() == 1
    page.close()
