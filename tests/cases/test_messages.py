"""The case pages' messages by (field, reason): each error a case page shows reads as it did when the pages
matched the English text, without reading it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from starlette.requests import Request

from jiayuan.cases import photos
from jiayuan.cases.pages import case_error
from jiayuan.kit.errors import Conflict, DomainError, Forbidden, Invalid, NotFound


def zh_request() -> Request:
    app = SimpleNamespace(state=SimpleNamespace(settings=SimpleNamespace(default_locale="zh_CN")))
    return Request({"type": "http", "headers": [], "app": app})


def photo_error(data: bytes, max_bytes: int = 1000) -> Invalid:
    with pytest.raises(Invalid) as caught:
        photos.process_photo(data, field="photos[1]", max_bytes=max_bytes)
    return caught.value


@pytest.mark.parametrize(("exc", "field", "message"), [
    (Invalid("photos: 5 photos sent, at most 4 allowed", field="photos", reason="too_many", limit=4),
     "photos", "最多只能传 4 张照片。"),
    (photo_error(b"not an image"), "photos", "第 2 张照片不是图片"),
    (photo_error(b""), "photos", "第 2 张照片"),
    (photo_error(b"x" * 2000), "photos", "第 2 张照片"),
    (Invalid("outside the district", field="lat", reason="outside_grids", nearest="文山社区第一网格",
             distance_m=1234), "location", "文山社区第一网格"),
    (Invalid("give both lat and lon, or neither", field="lon"), "location", None),
    (Invalid("required for category 0101", field="attributes.height", reason="required"), "attr_height", None),
    (Conflict("a case handled at district level cannot go higher", field="action", reason="top_level"),
     "action", None),
    (Conflict("an extension is already waiting for approval", field="hours", reason="already_requested"),
     "hours", None),
    (Conflict("cannot close a case that is reported", field="action"), "version", None),
    (Forbidden("staff only", field="action"), "action", None),
    (Conflict("the case has been rated already", field="rating", reason="already_rated"), "rating", None),
    (Invalid("required", field="description", reason="required"), "description", "请描述问题。"),
    (Invalid("5000 characters; at most 4000", field="description", reason="too_long", limit=4000),
     "description", "4000"),
    (NotFound("no case with this tracking number and phone", field="number"), "number", None),
])
def test_every_case_error_reads_by_its_reason(exc: DomainError, field: str, message: str | None) -> None:
    shown_field, shown = case_error(zh_request(), exc)
    assert shown_field == field
    assert exc.message not in shown and any("\u4e00" <= c <= "\u9fff" for c in shown), shown  # Chinese
    if message:
        assert message in shown


def test_distinct_reasons_read_differently() -> None:
    texts = {case_error(zh_request(), e)[1] for e in (
        Conflict("x", field="action", reason="top_level"), Conflict("x", field="action"),
        Conflict("x", field="hours", reason="already_requested"), Invalid("x", field="hours"))}
    assert len(texts) == 4
