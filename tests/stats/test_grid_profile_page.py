"""The grid profile page (网格画像, /registry) through the test client: every count drills down to the list
holding exactly those records, the open-case count to the dispatchers' queue, and a map."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from fastapi.testclient import TestClient

from tests.cases.helpers import report
from tests.personas import COMMUNITY, GRID_A, GRID_B
from tests.registry.page_helpers import (
    PEOPLE,
    R,
    id_number,
    login,
    new_person,
    total,
)


def _figures(html: str) -> list[tuple[str, int]]:
    return [(unescape(href), int(n.replace(",", ""))) for href, n in re.findall(
        r'<a class="(?:fig[^"]*|big-n)" href="([^"]+)">(?:<span>[^<]*</span><strong>)?([\d,]+)', html)]


def test_profile_counts_link_to_lists_that_hold_exactly_those_records(client: TestClient, api: Any) -> None:
    a = api("grid_a")
    alone = new_person(api, name="孤老甲", id_number=id_number(birth="19400505"), phone=None)
    a.post(f"{PEOPLE}/{alone['id']}/tags", json={"tag": "living_alone"})
    new_person(api, name="流动乙", id_number=id_number(serial="456"), phone=None, residence_type="floating",
               floating_expires_on="2030-01-01")
    path = {"grid_code": GRID_A, "compound": "画像小区", "building": "1栋"}
    a.post(f"{R}/rooms", json={**path, "number": "101", "use": "rented"})
    a.post(f"{R}/things", json={"kind": "manhole_cover", "grid_code": GRID_A, "status": "damaged"})
    a.post(f"{R}/organizations", json={"kind": "homeowners_committee", "name": "画像业委会", "grid_code": GRID_A})
    report(api, "grid_a", GRID_A)

    login(client, "grid_a")
    page = client.get(f"/registry?unit={GRID_A}").text
    figures = _figures(page)
    assert len(figures) >= 30
    shown = dict(figures)
    assert shown[f"/registry/people?grid={GRID_A}&tag=living_alone"] >= 1
    assert shown[f"/registry/people?grid={GRID_A}&tag=aged_80"] >= 1
    assert shown[f"/registry/things?grid={GRID_A}&status=damaged"] >= 1
    for href, n in figures:
        if href.startswith("/workbench"):
            continue
        r = client.get(href)
        assert r.status_code == 200, href
        assert total(r.text) == n, href
    alone_list = client.get(f"/registry/people?grid={GRID_A}&tag=living_alone").text
    assert "孤老甲" in alone_list and "流动乙" not in alone_list

    # A dispatcher's open-case count opens the queue filtered to the unit's open cases.
    client.cookies.clear()
    login(client, "community")
    page = client.get(f"/registry?unit={COMMUNITY}").text
    [(href, n)] = [(h, n) for h, n in _figures(page) if h.startswith("/workbench")]
    assert n >= 1 and f"unit={COMMUNITY}" in href and "status=open" in href
    assert f"共 {n} 件" in client.get(href).text.replace(",", "")
    # The table of grids below, each with its people, drills down too.
    assert f'href="/registry?unit={GRID_A}"' in page and f'href="/registry?unit={GRID_B}"' in page
    row = page.split(f'href="/registry/people?grid={GRID_A}">', 1)[1]
    assert int(row.split("<", 1)[0].replace(",", "")) == total(client.get(f"/registry/people?grid={GRID_A}").text)
    assert 'id="profile-map"' in page and '"geometry"' in page
