"""Browser tests: the app served by uvicorn on its own SQLite database, and Debian's Chromium driven by
Playwright. Without Chromium they are skipped with the reason, unless JIAYUAN_REQUIRE_BROWSER=1 (CI)."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from jiayuan.app import create_app
from jiayuan.config import Settings
from jiayuan.kit.db import Database
from tests.databases import SMALL_DEMO, sqlite_copy

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if Path(CHROMIUM).exists() or os.environ.get("JIAYUAN_REQUIRE_BROWSER") == "1":
        return
    skip = pytest.mark.skip(reason=f"no Chromium at {CHROMIUM}: apt-get install chromium")
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(skip)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Database]]:
    """(base URL, database): the app on a SQLite database of its own with the reference data and the small demo (a
    copy of SMALL_DEMO). No base map (there is no internet here): the outlines must be enough to find one's way."""
    folder = tmp_path_factory.mktemp("browser")
    url = sqlite_copy(SMALL_DEMO, folder / "b.db")
    db = Database(url)
    settings = Settings(database_url=url, secret_key="browser-" + "x" * 32, node_modules=ROOT / "node_modules",
                        tile_url="", var_dir=folder / "var")
    srv = uvicorn.Server(uvicorn.Config(create_app(settings, db), host="127.0.0.1", port=_free_port(),
                                        log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    while not srv.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{srv.config.port}", db
    srv.should_exit = True
    thread.join(10)
    db.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"Chromium is required at {CHROMIUM} (apt-get install chromium)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()
