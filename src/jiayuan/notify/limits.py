"""Limits on text messages to phones nobody has shown to be theirs (OWASP ASVS 2.4.1; SMS pumping and bombing).

A phone typed into a report — an anonymous one on the web, a resident's, an Open311 client's — has not proven it
is reachable by whoever typed it (no code was sent to it and typed back). Without a limit anyone could have the
platform text a stranger again and again, or run up its SMS bill. So each report that would text such a number is
counted, per day, against the number (`sms_unproven_per_number_day`) and against its source: the network address
(`sms_unproven_per_source_day`), or for an Open311 client its key (`sms_unproven_per_client_day`: one client
relays many residents from one server). Past a limit the report is still taken — a resident with a real problem
must not lose it, and it can be tracked by number and phone on the web — but no SMS about it is sent, ever; the
caller records and audits that. Days are UTC days (kit.throttle's windows are aligned on the epoch). Staff typing a
caller's number (the hotline, a grid worker) are not limited: they heard the caller.

Only reports that do text count (a later limit that refuses takes the earlier counts back), and the counts are in
the report's own transaction: a report that fails counts nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from jiayuan.config import Settings
from jiayuan.kit import throttle
from jiayuan.kit.db import utcnow
from jiayuan.kit.throttle import Limit

DAY = timedelta(days=1)


@dataclass(frozen=True)
class TextLimits:
    per_number: int
    per_source: int
    per_client: int

    @classmethod
    def of(cls, settings: Settings) -> TextLimits:
        return cls(settings.sms_unproven_per_number_day, settings.sms_unproven_per_source_day,
                   settings.sms_unproven_per_client_day)


def may_text(session: Session, phone: str, limits: TextLimits, *, source: str | None = None,
             client: str | None = None) -> str | None:
    """Count one report's texts to `phone` from `source` (a network address) or Open311 `client`. None when they
    may be sent; otherwise the limit reached: "number", "source" or "client"."""
    now = utcnow()
    checks = [(Limit("sms.number", limits.per_number, DAY), phone, "number")]
    if client:
        checks.append((Limit("sms.client", limits.per_client, DAY), client, "client"))
    else:
        checks.append((Limit("sms.source", limits.per_source, DAY), source or "unknown", "source"))
    counted: list[tuple[Limit, str]] = []
    for limit, subject, name in checks:
        counted.append((limit, subject))
        if throttle.hit(session, limit, subject, now=now).over:
            for taken_limit, taken_subject in counted:
                throttle.forgive(session, taken_limit, taken_subject, now=now)
            return name
    return None
