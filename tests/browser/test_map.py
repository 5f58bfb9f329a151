"""In a real browser: sign in and see the grid polygons of one's scope on the map."""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from jiayuan.app import create_app
from jiayuan.config import Settings
from jiayuan.demo.load import DEMO_PASSWORD, load_demo
from jiayuan.kit.db import Database
from jiayuan.kit.migrate import upgrade
from jiayuan.reference import load_reference_data
from tests.personas import COMMUNITY, GRID_A, PERSONAS

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.browser
if not Path(CHROMIUM).exists() and os.environ.get("JIAYUAN_REQUIRE_BROWSER") != "1":
    pytestmark = [pytest.mark.browser, pytest.mark.skip(reason=f"no Chromium at {CHROMIUM}: apt-get install chromium")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on its own SQLite database with the small demo, served by uvicorn on a free port."""
    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'b.db'}"
    db = Database(url)
    upgrade(db.engine)
    with db.unit_of_work() as s:
        load_reference_data(s)
        load_demo(s, "small")
    # No base map here (no internet): the polygons must draw without tiles.
    settings = Settings(database_url=url, secret_key="browser-" + "x" * 32, node_modules=ROOT / "node_modules",
                        tile_url="")
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(settings, db), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    while not srv.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)
    db.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    assert shutil.which(CHROMIUM) or Path(CHROMIUM).exists(), f"Chromium is required at {CHROMIUM}"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _sign_in(page, base: str, username: str) -> None:  # noqa: ANN001
    page.goto(f"{base}/map")  # → the sign-in page, coming back to the map
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/map")
    page.wait_for_selector("#map.loaded")


def test_admin_signs_in_and_sees_every_grid_on_the_map(server, browser, tmp_path) -> None:  # noqa: ANN001
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    _sign_in(page, server, "admin")
    assert page.locator("path.unit-grid").count() == 12
    assert page.get_attribute("#map", "data-grids") == "12"
    page.screenshot(path=str(tmp_path / "map.png"))
    # Clicking a grid polygon shows its code and its workers.
    page.locator("path.unit-grid").first.click(force=True)
    page.wait_for_function("document.querySelector('.leaflet-popup-content')?.textContent.includes('网格长')")
    text = page.locator(".leaflet-popup-content").inner_text()
    assert re.search(r"编码：360802\d{9}", text), text
    # Picking a grid in the unit tree opens the same popup for that grid.
    page.locator(f'li:has(> a[data-code="{COMMUNITY}"]) > details > summary').click()
    page.click(f'.unit-link[data-code="{GRID_A}"]')
    page.wait_for_function(f"document.querySelector('.leaflet-popup-content')?.textContent.includes('{GRID_A}')")
    page.close()


def test_grid_worker_sees_only_own_grid_on_a_phone(server, browser) -> None:  # noqa: ANN001
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    _sign_in(page, server, PERSONAS["grid_a"].username)
    assert page.locator("path.unit-grid").count() == 1
    assert page.locator(f'.unit-link[data-code="{GRID_A}"]').count() == 1
    page.close()
