"""The import page without a browser: the form, an upload with errors shown row by row, a file refused with a
message in Chinese, the result only for its importer, and no page for roles outside the registry."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import csrf_from, page_login
from tests.personas import GRID_A, PERSONAS
from tests.registry.helpers import id_number, workbook, wrong_check

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _upload(client: TestClient, data: bytes, name: str = "居民.xlsx", **form: Any):  # noqa: ANN202
    token = csrf_from(client.get("/registry/import").text)
    return client.post("/registry/import", data={"csrf_token": token, "kind": "people", **form},
                       files={"file": (name, data, XLSX)}, follow_redirects=False)


def test_upload_with_errors_shows_each_row_and_column(client: TestClient) -> None:
    page_login(client, PERSONAS["grid_a"].username)
    form = client.get("/registry/import?kind=houses")
    assert form.status_code == 200 and "从 Excel 导入" in form.text and "只导入无误的行" in form.text
    assert 'value="houses" selected' in form.text and "/api/v1/registry/templates/people.xlsx" in form.text

    bad = wrong_check(id_number(2))
    rows = [{"name": "张一", "id_number": id_number(1), "grid_code": GRID_A},
            {"name": "张二", "id_number": bad, "grid_code": GRID_A}]
    r = _upload(client, workbook("people", rows))
    assert r.status_code == 303 and re.fullmatch(r"/registry/import/[0-9a-f-]{36}", r.headers["location"])
    result = client.get(r.headers["location"])
    assert result.status_code == 200
    assert "未导入任何数据" in result.text and "第3行" in result.text and "身份证号" in result.text
    assert "校验码" in result.text and bad not in result.text
    assert "/errors.xlsx" in result.text

    r = _upload(client, workbook("people", rows), valid_only="1")
    done = client.get(r.headers["location"]).text
    assert "无误的行已导入" in done and 'id="count-created">1<' in done

    # Someone else's result does not exist for them.
    other = TestClient(client.app)
    page_login(other, PERSONAS["grid_b"].username)
    assert other.get(r.headers["location"]).status_code == 404
    assert other.get("/registry/import/not-an-id").status_code == 404


def test_a_bad_file_is_refused_on_the_page(client: TestClient) -> None:
    page_login(client, PERSONAS["community"].username)
    r = _upload(client, "姓名,手机号\n张三,13812345678\n".encode(), "people.csv")
    assert r.status_code == 422 and "文件缺少必填列" in r.text and "身份证号 (id_number)" in r.text
    r = _upload(client, b"hello", "notes.txt")
    assert r.status_code == 422 and "文件须为 Excel 工作簿" in r.text


def test_roles_outside_the_registry_get_no_page(client: TestClient) -> None:
    page_login(client, PERSONAS["hotline"].username)
    assert client.get("/registry/import").status_code == 403
