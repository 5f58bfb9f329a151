"""Care jobs: the not-visited sweep, every hour (it raises each alert once, so running it often is harmless and
an alert appears within the hour the day turns)."""

from __future__ import annotations

from huey import Huey, crontab

from jiayuan.care.alerts import raise_alerts
from jiayuan.config import get_settings
from jiayuan.kit.db import Database


def register(huey: Huey) -> None:
    """Register the sweep on `huey` (the worker calls this at start)."""

    @huey.periodic_task(crontab(minute="5"), name="care.raise_alerts")
    def sweep_every_hour() -> int:
        db = Database(get_settings().database_url)
        try:
            return raise_alerts(db)
        finally:
            db.dispose()
