"""What a case's people hear, and when: the reporter on acceptance, dispatch and closure; the handler on
dispatch; reporters of merged duplicates when the original closes. Written to the outbox, sent by the worker."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.cases.models import Case
from jiayuan.notify.service import queue_message

REPORTER_TEXT = {
    "accept": "【家园】您反映的问题（编号 {number}）已受理，我们会尽快处理。",
    "dispatch": "【家园】您反映的问题（编号 {number}）已派往责任单位处理。",
    "close": "【家园】您反映的问题（编号 {number}）已办结，欢迎评价：满意 / 基本满意 / 不满意。",
}
MERGED_TEXT = "【家园】您反映的问题（编号 {number}）与编号 {original} 为同一问题，现已办结。"
HANDLER_TEXT = "新派遣案件 {number}，请在时限内处置。"


def after(session: Session, case: Case, action: str, actor: Any) -> None:
    text = REPORTER_TEXT.get(action)
    if text:
        tell_reporter(session, case, text.format(number=case.number))
    if action == "dispatch" and case.assignee_id is not None:
        queue_message(session, district_code=case.district_code, channel="inapp", recipient=str(case.assignee_id),
                      user_id=case.assignee_id, body=HANDLER_TEXT.format(number=case.number), ref=case.number)
    if action == "close":
        for dup in merged_into(session, case):
            tell_reporter(session, dup, MERGED_TEXT.format(number=dup.number, original=case.number))


def tell_reporter(session: Session, case: Case, body: str) -> None:
    """By SMS to the phone given with the report, unless the report came past the day's limits of texts to phones
    not proven reachable (notify/limits.py); in-app to a signed-in reporter."""
    if case.reporter_phone and not case.sms_withheld:
        queue_message(session, district_code=case.district_code, channel="sms", recipient=case.reporter_phone,
                      body=body, ref=case.number)
    if case.reporter_id:
        queue_message(session, district_code=case.district_code, channel="inapp", recipient=str(case.reporter_id),
                      user_id=case.reporter_id, body=body, ref=case.number)


def merged_into(session: Session, case: Case) -> list[Case]:
    """Cases merged into this one as duplicates (their reporters hear when it closes)."""
    return list(session.scalars(select(Case).where(Case.district_code == case.district_code,
                                                   Case.merged_into_id == case.id)))
