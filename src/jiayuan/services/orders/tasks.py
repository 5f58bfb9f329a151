"""Service jobs: the offer sweep, every minute — offers past their deadline expire and the next candidate is
asked; an order nobody took becomes unassigned and the 12343 operators are alerted."""

from __future__ import annotations

from huey import Huey, crontab

from jiayuan.config import get_settings
from jiayuan.kit.db import Database
from jiayuan.services.orders.offers import expire_offers, rules_from


def register(huey: Huey) -> None:
    """Register the sweep on `huey` (the worker calls this at start)."""

    @huey.periodic_task(crontab(minute="*"), name="services.expire_offers")
    def expire_every_minute() -> int:
        settings = get_settings()
        db = Database(settings.database_url)
        try:
            return expire_offers(db, rules=rules_from(settings))
        finally:
            db.dispose()
