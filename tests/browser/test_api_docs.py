"""The API reference at /docs works offline and under the page's own Content-Security-Policy: Swagger UI comes from
this site (node_modules), not from a CDN that is blank without the internet and unreliable inside China."""

from __future__ import annotations

from urllib.parse import urlparse

from playwright.sync_api import expect


def test_the_api_reference_lists_the_operations_from_this_site_alone(server, browser) -> None:  # noqa: ANN001
    base = server[0]
    page = browser.new_page(locale="zh-CN")
    hosts, problems = set(), []
    page.on("request", lambda r: hosts.add(urlparse(r.url).netloc))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(f"{base}/docs")
    # The first operations of the document (Swagger UI renders the rest while it goes on; on a busy machine that
    # takes a while for some 300 operations).
    expect(page.locator(".opblock-summary-path[data-path='/api/v1/auth/token']").first).to_be_visible(timeout=30000)
    assert hosts == {urlparse(base).netloc}, hosts
    assert not problems, problems
    icon = page.request.get(f"{base}/favicon.ico")
    assert icon.ok and icon.headers["content-type"].startswith("image/svg+xml")
    page.close()
