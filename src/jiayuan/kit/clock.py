"""The district's clock: Beijing time, in which "a day" of every domain is a local calendar day."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

TIMEZONE = ZoneInfo("Asia/Shanghai")


def local_today(now: datetime | None = None) -> date:
    """Today in the district's time zone (or the local day of `now`)."""
    return (now or datetime.now(TIMEZONE)).astimezone(TIMEZONE).date()
