"""The care pages' messages by (field, reason): conflicts of the code, the pairings and the centres each read
as their own message, never as the English text of the error."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from starlette.requests import Request

from jiayuan.care.pages import care_error
from jiayuan.kit.errors import Conflict, DomainError, Forbidden, Invalid, NotFound


def zh_request() -> Request:
    app = SimpleNamespace(state=SimpleNamespace(settings=SimpleNamespace(default_locale="zh_CN")))
    return Request({"type": "http", "headers": [], "app": app})


REASONS = [("code", "expired"), ("code", "locked"), ("code", "no_code"), ("person_id", "already_in_care"),
           ("person_id", "not_paired"), ("person_id", "ended"), ("person_id", "already_enrolled"),
           ("person_id", "already_checked_in"), ("person_id", "already_checked_out"),
           ("person_id", "not_checked_in"), ("person_id", "not_enrolled"), ("volunteer_id", "already_paired"),
           ("volunteer_id", "inactive"), ("visit_id", "already_confirmed"), ("visit_id", "pairing_ended")]


def test_each_conflict_has_its_own_message() -> None:
    texts = {care_error(zh_request(), Conflict("english words", field=f, reason=r))[f] for f, r in REASONS}
    assert len(texts) == len(REASONS)
    assert not any("english" in t for t in texts)


@pytest.mark.parametrize(("exc", "field"), [
    (Invalid("the person is in no care group", field="person_id", reason="no_care_group"), "person_id"),
    (Invalid("a phone number is required", field="contacts[0].phone"), "contact_phone"),
    (Invalid(field="contacts[0].name", reason="required"), "contact_name"),
    (NotFound("no such pairing", field="pairing_id"), "pairing_id"),
    (Forbidden("your role does not deal with people in care", field="role"), "role"),
    (Conflict("this centre is closed", field="centre_id"), "centre_id"),
    (Invalid(field="notes", reason="too_long", limit=2000), "notes"),
])
def test_errors_land_beside_their_field_in_chinese(exc: DomainError, field: str) -> None:
    shown = care_error(zh_request(), exc, "form")
    assert shown["field"] == field and shown["form"] == "form"
    assert exc.message not in shown[field] and any("\u4e00" <= c <= "\u9fff" for c in shown[field]), shown
