"""In a real browser, community staff import residents from Excel: download the template, fill it in, upload
a file with a mistyped ID number and an unknown residence type, read which row and column is wrong and why,
correct the file, upload it again, and find the people through the list API."""

from __future__ import annotations

import io
import os
import re
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook

from jiayuan.demo.load import DEMO_PASSWORD
from jiayuan.kit.identity import id_check_char
from tests.personas import GRID_A, PERSONAS

ROOT = Path(__file__).resolve().parents[2]
DESK = {"viewport": {"width": 1280, "height": 900}, "locale": "zh-CN", "accept_downloads": True}

pytestmark = pytest.mark.browser


def _id(serial: str) -> str:
    first17 = "36080219560704" + serial
    return first17 + id_check_char(first17)


PEOPLE = [("欧阳秀兰", _id("122"), "13970001111", "户籍"),
          ("司马建军", _id("131"), "13970002222", "流动"),
          ("上官小雨", _id("146"), "", "户籍")]
WRONG_ID = PEOPLE[1][1][:17] + ("0" if PEOPLE[1][1][17] != "0" else "1")


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("JIAYUAN_SCREENSHOTS") or tmp_path_factory.mktemp("pages"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _fill(template: bytes, *, broken: bool) -> bytes:
    """The downloaded template filled in as staff do: by the Chinese headers, ID numbers typed as text."""
    book = load_workbook(io.BytesIO(template))
    sheet = book.worksheets[0]
    column = {str(c.value).rstrip("*"): c.column for c in sheet[1] if c.value}
    for r, (name, ident, phone, residence) in enumerate(PEOPLE, 2):
        if broken and r == 3:
            ident = WRONG_ID
        if broken and r == 4:
            residence = "暂住"
        values = {"姓名": name, "身份证号": ident, "手机号": phone or None, "网格编码": GRID_A, "居住类型": residence,
                  "流动人口到期日": "2027-06-30" if residence == "流动" else None, "标签": "独居" if r == 2 else None}
        for title, value in values.items():
            if value is not None:
                sheet.cell(row=r, column=column[title], value=value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _upload(page, path: Path) -> None:  # noqa: ANN001
    page.select_option("select[name=kind]", "people")
    page.set_input_files("input[name=file]", str(path))
    page.click("#import-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/registry/import/[0-9a-f-]{36}$"))


def test_staff_import_people_read_the_errors_fix_and_import(server, browser, shots, tmp_path) -> None:  # noqa: ANN001
    base = server[0]
    page = browser.new_context(**DESK).new_page()
    page.goto(f"{base}/registry/import")  # → sign in, and back
    page.fill("input[name=username]", PERSONAS["community"].username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/registry/import")
    assert "从 Excel 导入" in page.inner_text("h1")

    # 1. The template, from the page's own link.
    with page.expect_download() as download:
        page.click("a[data-template=people]")
    template = tmp_path / "template.xlsx"
    download.value.save_as(template)
    book = load_workbook(template)
    assert [c.value for c in book.worksheets[0][1]][:3] == ["姓名*", "身份证号*", "手机号"]
    assert "说明" in book.sheetnames

    # 2. A file with two mistakes: nothing is imported, and the page says where and why.
    broken = tmp_path / "居民登记.xlsx"
    broken.write_bytes(_fill(template.read_bytes(), broken=True))
    _upload(page, broken)
    assert "未导入任何数据" in page.inner_text("#result")
    assert page.inner_text("#count-rejected") == "2" and page.inner_text("#count-created") == "0"
    rows = [[cell.strip() for cell in row.split("\t")] for row in
            page.locator("#import-errors tbody tr").all_inner_texts()]
    assert [r[:2] for r in rows] == [["第3行", "身份证号"], ["第4行", "居住类型"]], rows
    assert "校验码" in rows[0][2] and "户籍" in rows[1][2]
    assert WRONG_ID not in page.content()
    page.screenshot(path=str(shots / "registry-import-errors.png"), full_page=True)
    if os.environ.get("JIAYUAN_SCREENSHOTS"):
        # The figure of the docs: the result with its errors, as staff see it.
        shutil.copy(shots / "registry-import-errors.png", ROOT / "docs" / "screenshots" / "registry-import.png")
    report = page.request.get(f"{base}{page.get_attribute('#error-report', 'href')}")
    assert report.ok and report.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    # 3. Corrected, the same file goes in whole.
    fixed = tmp_path / "居民登记-已改正.xlsx"
    fixed.write_bytes(_fill(template.read_bytes(), broken=False))
    _upload(page, fixed)
    assert "导入成功" in page.inner_text("#result")
    assert page.inner_text("#count-created") == "3" and page.inner_text("#count-rejected") == "0"
    assert page.locator("#import-errors").count() == 0
    page.screenshot(path=str(shots / "registry-import-done.png"), full_page=True)

    # 4. The people are in the registry, masked in the list API.
    found = page.request.get(f"{base}/api/v1/registry/people", params={"grid": GRID_A, "q": "欧阳秀兰"})
    assert found.ok, found.text()
    items = found.json()["items"]
    assert [(p["name"], p["id_number"], p["tags"]) for p in items] == [
        ("欧阳秀兰", PEOPLE[0][1][:2] + "*" * 15 + PEOPLE[0][1][-1:], ["aged_60", "living_alone"])]
    floating = page.request.get(f"{base}/api/v1/registry/people", params={"q": "司马建军"}).json()["items"]
    assert floating[0]["residence_type"] == "floating" and floating[0]["floating_expires_on"] == "2027-06-30"

    # 5. The same file again: nothing new.
    _upload(page, fixed)
    assert page.inner_text("#count-unchanged") == "3" and page.inner_text("#count-created") == "0"
