"""The seven teams (七彩): reference data loaded from data/teams.toml by `jiayuan init`, then kept by the district
administrator (an edited team is never overwritten by a later load)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.kit.errors import Invalid
from jiayuan.volunteers.models import Team

DATA = Path(__file__).resolve().parent / "data"


def read_teams(path: Path = DATA / "teams.toml") -> list[dict[str, Any]]:
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    return [{"code": t["code"], "name_zh": t["zh"], "name_en": t["en"], "colour": t["colour"],
             "speciality_zh": t["speciality_zh"], "speciality_en": t["speciality_en"], "sort": i}
            for i, t in enumerate(raw["team"])]


def load_teams(session: Session) -> int:
    """Insert the teams the database does not have yet; returns how many."""
    have = set(session.scalars(select(Team.code)))
    new = [Team(**row) for row in read_teams() if row["code"] not in have]
    session.add_all(new)
    session.flush()
    return len(new)


def list_teams(session: Session) -> list[Team]:
    return list(session.scalars(select(Team).order_by(Team.sort, Team.code)))


def check_team(session: Session, code: Any, field: str = "team_code") -> str | None:
    """A team code that exists, or None when none is given."""
    if code is None or code == "":
        return None
    known = isinstance(code, str) and code.isascii() and code.isalpha() and len(code) <= 12
    team = session.get(Team, code) if known else None
    if team is None:
        raise Invalid(f"unknown team {code!r}; one of the seven colours", field=field)
    return team.code


def team_name(team: Team | None, locale: str) -> str:
    if team is None:
        return ""
    return team.name_zh if locale == "zh_CN" else team.name_en
