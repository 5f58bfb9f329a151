"""The one rule for every reason given to see personal data whole (kit.text.meaningful_reason)."""

from __future__ import annotations

import pytest

from jiayuan.kit.errors import Invalid
from jiayuan.kit.text import meaningful_reason


@pytest.mark.parametrize(("value", "reason"), [
    (None, "required"), ("", "required"), ("   \n\t", "required"), ("\u3000\u3000", "required"),
    ("。。。", "not_a_sentence"), ("....", "not_a_sentence"), ("？！，、", "not_a_sentence"),
    ("\u200b\u200b", "not_a_sentence"), ("\u200b\u200c\u200d\u2060\ufeff\u202e", "not_a_sentence"),
    ("\u00ad\u061c", "not_a_sentence"), ("12345678", "not_a_sentence"), ("😀😀😀", "not_a_sentence"),
    ("啊啊啊啊啊", "not_a_sentence"), ("aaaaaaaa", "not_a_sentence"), ("a.a.a.a.a", "not_a_sentence"),
    ("哈\u200b哈\u200b哈\u200b哈", "not_a_sentence"), ("测试测试", "not_a_sentence"),
    ("查询", "too_short"), ("查一下", "too_short"), ("ok!", "too_short"), ("核实 123", "too_short"),
    (42, "not_text"), ("核实\x00身份信息", "nul"), ("核实身份" * 200, "too_long"),
])
def test_a_reason_that_says_nothing_is_refused_naming_the_field(value: object, reason: str) -> None:
    with pytest.raises(Invalid) as caught:
        meaningful_reason(value, "export_reason")
    assert (caught.value.field, caught.value.reason, caught.value.status_code) == ("export_reason", reason, 422)


@pytest.mark.parametrize(("value", "kept"), [
    ("核实身份", "核实身份"), ("  核实来访居民身份  ", "核实来访居民身份"),
    ("核实\u200b身份，\u3000上门走访", "核实身份， 上门走访"), ("home visit", "home visit"),
    ("按民政局 2026 年第 3 号通知核对低保户", "按民政局 2026 年第 3 号通知核对低保户"),
])
def test_a_sentence_is_kept_as_typed_without_invisible_characters(value: str, kept: str) -> None:
    assert meaningful_reason(value) == kept
