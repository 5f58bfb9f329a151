"""Reference data every database needs, loaded by `jiayuan init` (and the tests) after the migrations."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from jiayuan.cases.calendar import seed_from_chinese_calendar
from jiayuan.cases.categories import load_categories
from jiayuan.services.service import catalogue
from jiayuan.volunteers.teams import load_teams


@dataclass
class Loaded:
    categories: int
    calendar_days: int
    catalogue: int
    volunteer_teams: int = 0


def load_reference_data(session: Session) -> Loaded:
    """Idempotent: adds what is missing, never overwrites what an administrator has edited."""
    return Loaded(categories=load_categories(session), calendar_days=seed_from_chinese_calendar(session),
                  catalogue=catalogue.load_catalogue(session), volunteer_teams=load_teams(session))
