"""Exact look-ups of people by ID number or phone: audited, with a reason, throttled per account.

A masked ID number beside a person's sex and age narrows little, but an exact search by a guessed number confirms
it: each exact look-up is therefore an act of its own, recorded with the reason given (`person_looked_up` when it
finds someone, `person_lookup_missed` when not). Look-ups that find no one are counted per account
(kit.throttle, limit "person_lookup_miss"): `person_lookup_misses` of them within `person_lookup_window_seconds`
(config.py) lock the account's exact look-ups until the window ends (429, `person_lookup_locked` audited on each
refusal), and the district's administrators are told in-app once (`person_lookups_locked_out`).

Registering a person, or changing their ID number, to a number held elsewhere in the district answers the same
question ("is this number registered?"): each such 409 is audited (`person_id_number_taken`) and counted against the
same limit, and a locked account cannot register or change ID numbers either, since a success would answer as well.
A 409 rolls its transaction back, so its count and alert are written after it (kit.db.defer_call).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.orm import Session

from jiayuan.accounts import service as accounts
from jiayuan.accounts.models import AuditEntry
from jiayuan.accounts.roles import Role
from jiayuan.accounts.security import TooManyAttempts
from jiayuan.accounts.service import Principal
from jiayuan.config import get_settings
from jiayuan.kit import throttle
from jiayuan.kit.clock import TIMEZONE
from jiayuan.kit.db import defer_call, utcnow
from jiayuan.kit.scope import Scope
from jiayuan.kit.text import meaningful_reason
from jiayuan.notify.service import queue_message

LIMIT_NAME = "person_lookup_miss"
ALERT_TEXT = ("【家园】账号 {username}（{name}）在 {minutes} 分钟内有 {count} 次按身份证号或手机号精确查找人员未找到，"
              "已暂停其精确查找至 {until}。请核实是否有人在试探身份证号或手机号。")


def limit() -> throttle.Limit:
    settings = get_settings()
    return throttle.Limit(LIMIT_NAME, settings.person_lookup_misses,
                          timedelta(seconds=settings.person_lookup_window_seconds))


def _subject(principal: Principal) -> str:
    return str(principal.user_id)


def reason_for(reason: object) -> str:
    """The reason an exact look-up needs (422 naming `reason` when it is none)."""
    return meaningful_reason(reason, "reason")


def refuse_if_locked(session: Session, principal: Principal, *, field: str, what: str, at_least: int = 0) -> None:
    """429 while the account's exact look-ups are locked (or will be once `at_least` more misses are counted); the
    refusal is audited."""
    rule = limit()
    count = throttle.peek(session, rule, _subject(principal))
    if count.count + at_least < rule.attempts:
        return
    wait = count.retry_after()
    accounts.audit_for(session, principal, "person_lookup_locked", target="registry/people",
                       detail={"what": what, "retry_after": wait})
    raise TooManyAttempts(f"too many look-ups that found no one; try again in {math.ceil(wait / 60)} minutes",
                          field=field, reason="lookup_locked", details={"retry_after": wait},
                          minutes=math.ceil(wait / 60))


def found(session: Session, principal: Principal, by: str, reason: str, people: Sequence[uuid.UUID], *,
          ip: str | None = None, kind: str = "people") -> None:
    """Audit an exact look-up: who looked up whom (`kind`: the people, or the households found through them), by
    what, why; one that found no one is counted."""
    ids = [str(p) for p in people]
    if ids:
        accounts.audit_for(session, principal, "person_looked_up", target=ids[0], ip=ip,
                           detail={"by": by, "reason": reason, kind: ids})
        return
    accounts.audit_for(session, principal, "person_lookup_missed", target=f"registry/{kind}", ip=ip,
                       detail={"by": by, "reason": reason})
    _count_miss(session, principal)


def number_taken(session: Session, principal: Principal, *, field: str = "id_number", rows: int = 1,
                 via: str = "registration") -> None:
    """Registrations refused because the ID number is held elsewhere in the district (`rows` of them at once in an
    import): audited and counted, after the transaction that the refusal rolls back. More of them than the account
    has left before its lock are a 429 for the whole request: an import file must not answer for a thousand
    guessed numbers at once."""
    rule = limit()
    left = max(0, rule.attempts - throttle.peek(session, rule, _subject(principal)).count)
    accounts.audit_for(session, principal, "person_id_number_taken", target="registry/people",
                       detail={"field": field, "via": via, "rows": rows})
    counted = min(rows, left)
    defer_call(session, lambda after: _count_miss(after, principal, deferred=True, times=counted))
    if rows > left:
        refuse_if_locked(session, principal, field=field, what=via, at_least=counted)


def _count_miss(session: Session, principal: Principal, *, deferred: bool = False, times: int = 1) -> None:
    rule = limit()
    for _ in range(times):
        count = throttle.hit(session, rule, _subject(principal))
        if count.count == rule.attempts:  # the miss that locks: tell the district once per window
            _alert(session, principal, count, deferred=deferred)


def _alert(session: Session, principal: Principal, count: throttle.Count, *, deferred: bool) -> None:
    district = principal.district_code
    admins = [u for u in accounts.list_users(session, Scope((district,)), role=Role.district_admin.value, limit=500)
              if u.is_active]
    until = count.resets_at.astimezone(TIMEZONE).strftime("%H:%M")
    body = ALERT_TEXT.format(username=principal.username, name=principal.full_name,
                             minutes=int(count.limit.window.total_seconds() // 60), count=count.count, until=until)
    for admin in admins:
        queue_message(session, district_code=district, channel="inapp", recipient=str(admin.id), user_id=admin.id,
                      subject="人员精确查找已暂停", body=body, ref=f"lookup:{principal.username}"[:60])
    detail = {"misses": count.count, "admins_told": len(admins), "until": count.resets_at.isoformat()}
    if deferred:  # already in the transaction written after the request's: the entry goes in as it is
        session.add(AuditEntry(district_code=district, actor=principal.username, actor_id=principal.user_id,
                               action="person_lookups_locked_out", target="registry/people", detail=detail,
                               at=utcnow()))
    else:
        accounts.audit_for(session, principal, "person_lookups_locked_out", target="registry/people", detail=detail)
