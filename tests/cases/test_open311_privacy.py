"""What the public sees of a case (the Open311 feed, the tracking page): staff's replies to the public and never
their notes, and phone and ID numbers masked in every form people type them — a property test with generated
numbers (mobiles with spaces, dashes, +86 or 0086; ID numbers with valid GB 11643 check characters, in groups,
with a lower-case x; full-width digits) inside generated Chinese and ASCII text."""

from __future__ import annotations

import re
import unicodedata
import xml.etree.ElementTree as ET
from datetime import date
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jiayuan.kit.identity import id_check_char, mask_free_text, mask_id_number, mask_phone
from tests.cases.helpers import act, report
from tests.cases.test_open311 import V2, check, key, point, post  # noqa: F401 - key and point are fixtures
from tests.cases.test_pages import _post_action
from tests.conftest import csrf_from, page_login
from tests.personas import GRID_A, PERSONAS

# What people type between the digits (the masker's separators, read independently here after NFKC).
SEPARATED = re.compile(r"[0-9]+(?:[\s\-\u2010-\u2015\u2212._/()\u00b7\u30fb]{1,3}[0-9]+)*")
FULL_WIDTH = str.maketrans("0123456789Xx+", "０１２３４５６７８９Ｘｘ＋")


# Generated numbers and the forms they are typed in.

mobiles = st.builds(lambda second, rest: f"1{second}{rest}", st.sampled_from("3456789"),
                    st.text("0123456789", min_size=9, max_size=9))


@st.composite
def id_numbers(draw: st.DrawFn) -> str:
    region = draw(st.sampled_from(["360802", "110101", "130102", "440305", "510107", "652801"]))
    born = draw(st.dates(min_value=date(1920, 1, 1), max_value=date(2025, 12, 31)))
    serial = draw(st.text("0123456789", min_size=3, max_size=3))
    first17 = f"{region}{born:%Y%m%d}{serial}"
    return first17 + id_check_char(first17)


def _groups(digits: str, sizes: list[int], sep: str) -> str:
    out, at = [], 0
    for size in sizes:
        out.append(digits[at:at + size])
        at += size
    out.append(digits[at:])
    return sep.join(p for p in out if p)


@st.composite
def typed_mobile(draw: st.DrawFn, number: str) -> str:
    sep = draw(st.sampled_from(["", " ", "-", " - ", "－", "\u3000", "."]))
    body = draw(st.sampled_from([number, _groups(number, [3, 4], sep), _groups(number, [3, 3], sep)]))
    prefix = draw(st.sampled_from(["", "+86", "+86 ", "+86-", "0086", "0086 ", "86", "(+86)", "＋86 "]))
    text = prefix + body
    return text.translate(FULL_WIDTH) if draw(st.booleans()) else text


@st.composite
def typed_id(draw: st.DrawFn, number: str) -> str:
    if draw(st.booleans()):
        number = number[:-1] + number[-1].lower()  # a lower-case x (or a digit, unchanged)
    sep = draw(st.sampled_from([" ", "-", "－", "  "]))
    text = draw(st.sampled_from([number, _groups(number, [6, 8], sep), _groups(number, [6, 4, 4], sep),
                                 _groups(number, [4, 4, 4, 4], sep), _groups(number, [3, 3, 4, 4], sep)]))
    return text.translate(FULL_WIDTH) if draw(st.booleans()) else text


# Random text around them: Chinese, ASCII letters, digits and punctuation; next to the number a character that
# is neither a digit nor a separator, as in "电话13812345678谢谢" (digits right beside it would be one number).
words = st.text(st.sampled_from(list("路灯不亮井盖丢失楼道堆物请尽快处理谢谢联系电话身份证号abcXYZ0123456789 ，。：、!?")),
                max_size=30)
edges = st.sampled_from(list("电话号码是：，。!?、abc"))


@st.composite
def embedded(draw: st.DrawFn, typed: str) -> str:
    return draw(words) + draw(edges) + typed + draw(edges) + draw(words)


@st.composite
def personal_text(draw: st.DrawFn) -> tuple[str, str, str, str]:
    """(phone, ID number, text with the phone, text with the ID number)."""
    phone, id_number = draw(mobiles), draw(id_numbers())
    return (phone, id_number, draw(embedded(draw(typed_mobile(phone)))),
            draw(embedded(draw(typed_id(id_number)))))


def reidentifies(published: str | None, phone: str, id_number: str) -> list[str]:
    """Runs of digits in the published text (as a reader joins them across spaces and dashes, full-width
    folded) that give away the phone or the ID number: seven consecutive digits of either, or the birth date."""
    if not published:
        return []
    found = []
    for run in SEPARATED.findall(unicodedata.normalize("NFKC", published)):
        digits = re.sub(r"\D", "", run)
        pieces = {phone[i:i + 7] for i in range(len(phone) - 6)} | {
            id_number[i:i + 7] for i in range(len(id_number) - 7)} | {id_number[6:14]}
        found += [f"{run!r} holds {p}" for p in pieces if p in digits]
    return found


@settings(max_examples=400, deadline=None)
@given(personal_text())
def test_the_masker_leaves_no_phone_or_id_number_in_any_typed_form(sample: tuple[str, str, str, str]) -> None:
    phone, id_number, with_phone, with_id = sample
    for text in (with_phone, with_id, f"{with_phone}\n{with_id}"):
        masked = mask_free_text(text)
        assert reidentifies(masked, phone, id_number) == [], (text, masked)
        assert len(masked) <= len(text) + 4  # masked in place ("+86 " at most is written again)


def test_the_masker_keeps_the_text_readable() -> None:
    """Numbers masked as kit.identity masks them everywhere (mask_phone, mask_id_number); the rest as typed."""
    mobile, landline, id_number = mask_phone("13812345678"), mask_phone("07968221234"), mask_id_number(
        "36080219900101123X")
    assert mask_free_text("联系13812345678 3栋，2026-01-05 09:30 发现，井盖 2 个") == (
        f"联系{mobile} 3栋，2026-01-05 09:30 发现，井盖 2 个")
    assert mask_free_text("电话 +86 138-1234-5678，身份证 3608 0219 9001 0112 3x，邮箱 a.b@example.cn") == (
        f"电话 +86 {mobile}，身份证 {id_number}，邮箱 ***@***")
    assert mask_free_text("座机 0796-8221234，手机 １３８ １２３４ ５６７８") == f"座机 {landline}，手机 {mobile}"
    assert mask_free_text("") == "" and mask_free_text(None) is None


def _feed_items(client: TestClient, number: str) -> list[dict[str, Any]]:
    """The request as the JSON and the XML feed publish it (the JSON validated against the official schema)."""
    (as_json,) = check("requests", client.get(f"{V2}/requests/{number}.json").json())
    tree = ET.fromstring(client.get(f"{V2}/requests/{number}.xml").content)
    as_xml = {child.tag: child.text for child in tree.find("request")}
    return [as_json, as_xml]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(sample=personal_text())
def test_the_feed_publishes_no_phone_or_id_number_in_any_typed_form(client: TestClient, api: Any, key: str,
                                                                     point: tuple[float, float],
                                                                     sample: tuple[str, str, str, str]) -> None:
    phone, id_number, with_phone, with_id = sample
    posted = post(client, key, point, description=f"{with_phone} {with_id}", address_string=with_id[:200])
    assert posted.status_code == 201, posted.text
    number = posted.json()[0]["service_request_id"]
    act(api, "admin", number, "supervise", level="normal", reply=f"已派人处理。{with_id}，回电 {with_phone}")
    for item in _feed_items(client, number):
        for name in ("description", "address", "status_notes"):
            assert item[name], name
            assert reidentifies(item[name], phone, id_number) == [], (name, item[name])
        assert "已派人处理。" in item["status_notes"]


def test_the_feed_and_the_tracking_page_publish_replies_to_the_public_never_notes(
        client: TestClient, api: Any, key: str, point: tuple[float, float]) -> None:
    phone = "13912345678"
    posted = post(client, key, point, phone=phone, description="楼道堆满杂物").json()[0]
    number = posted["service_request_id"]
    act(api, "admin", number, "supervise", level="yellow", note="内部：举报人情绪激动，联系 13800001111 核实")
    assert all(item["status_notes"] is None for item in _feed_items(client, number))
    act(api, "admin", number, "supervise", level="normal", note="内部：已电话核实",
        reply="已受理，请保持电话 139 1234 5678 畅通；如有疑问拨打 0796－8221234")
    said = f"已受理，请保持电话 {mask_phone('13912345678')} 畅通；如有疑问拨打 {mask_phone('07968221234')}"
    for item in _feed_items(client, number):
        assert item["status_notes"] == said
    everything = client.get(f"{V2}/requests.json").text + client.get(f"{V2}/requests.xml").text
    assert "内部" not in everything and "13800001111" not in everything and "1234 5678" not in everything
    # The tracking page and its API show the same reply, masked, and no note.
    tracked = client.post("/api/v1/cases/track", json={"number": number, "phone": phone})
    assert tracked.status_code == 200, tracked.text
    replies = [step["reply"] for step in tracked.json()["timeline"] if step.get("reply")]
    assert replies == [said]
    assert "内部" not in tracked.text
    # Only staff reply to the public; a reply is bounded like a note.
    assert act(api, "admin", number, "supervise", 422, level="normal", reply="很" * 2001)["field"] == "reply"


def test_a_reply_is_typed_on_the_case_page_and_shown_on_the_tracking_page(client: TestClient, api: Any) -> None:
    phone = "13912345678"
    number = report(api, "resident", GRID_A, category="1502", reporter_phone=phone)["number"]
    page_login(client, PERSONAS["community"].username)
    r = _post_action(client, number, "accept", note="内部备注：电话 13800001111",
                     reply="您好，已受理，网格员今天到场。身份证 360802199001011234 请勿公开")
    assert r.status_code in (200, 303), r.text
    assert "您好，已受理" in client.get(f"/cases/{number}").text
    client.cookies.clear()
    page = client.get("/track")
    shown = client.post("/track", data={"csrf_token": csrf_from(page.text), "number": number, "phone": phone}).text
    assert f"您好，已受理，网格员今天到场。身份证 {mask_id_number('360802199001011234')} 请勿公开" in shown
    assert "内部备注" not in shown and "13800001111" not in shown and "19900101" not in shown
