"""Units on the pages: the map, a unit's page and the staffing list, each within the caller's scope."""

from __future__ import annotations

from tests.conftest import page_login
from tests.personas import GRID_A, GRID_B


def test_grid_worker_pages_show_own_grid_not_the_neighbours(client, personas) -> None:  # noqa: ANN001
    page_login(client, personas["grid_a"].username)
    assert client.get(f"/units/{GRID_A}").status_code == 200
    r = client.get(f"/units/{GRID_B}")
    assert r.status_code == 404 and "责任网格员" not in r.text and "第2网格" not in r.text
    home = client.get("/home").text
    assert GRID_A in home and GRID_B not in home
    m = client.get("/map").text
    assert f'data-code="{GRID_A}"' in m and f'data-code="{GRID_B}"' not in m


def test_grid_b_cannot_open_grid_a(client, personas) -> None:  # noqa: ANN001
    page_login(client, personas["grid_b"].username)
    assert client.get(f"/units/{GRID_A}").status_code == 404
    assert client.get(f"/units/{GRID_B}").status_code == 200


def test_unit_page_names_the_lead(client, personas) -> None:  # noqa: ANN001
    page_login(client, personas["community"].username)
    r = client.get(f"/units/{GRID_A}")
    assert "网格长" in r.text and "责任网格员" in r.text


def test_pages_need_sign_in(client) -> None:  # noqa: ANN001
    r = client.get("/map", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/map"


def test_staffing_list_for_supervisors_only(client, personas) -> None:  # noqa: ANN001
    page_login(client, personas["community"].username)
    assert "每个网格都已配备" in client.get("/grids/without-workers").text
    client.cookies.clear()
    page_login(client, personas["grid_a"].username)
    assert client.get("/grids/without-workers").status_code == 403


def test_chinese_by_default_english_on_request(client, personas) -> None:  # noqa: ANN001
    page_login(client, personas["admin"].username)
    zh = client.get("/home").text
    assert '<html lang="zh-CN">' in zh and "网格" in zh
    client.get("/lang/en?next=/home")
    en = client.get("/home").text
    assert '<html lang="en">' in en and "Grids" in en and "网格" not in en.split("<main")[1].split("吉州区")[0]


def test_health_and_openapi(client) -> None:  # noqa: ANN001
    assert client.get("/healthz").json()["status"] == "ok"
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/v1/units/locate" in paths and "/api/v1/auth/token" in paths
    assert client.get("/docs").status_code == 200


def test_security_headers(client) -> None:  # noqa: ANN001
    r = client.get("/login")
    assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
