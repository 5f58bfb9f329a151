"""Migration 0011 on a database that has visits from before it, on SQLite and PostgreSQL: built with the migrations
up to the one before 0011, filled with rows written as the old code wrote them (every visit credited when
logged, confirmed or not), then upgraded. Already-credited hours stay exactly as they were; each visit records when
it was credited, and those credited without a confirmation are marked `credited_unconfirmed`; the visits' photos
survive (no table is copied and dropped). Afterwards the new rules hold for those rows too: confirming a visit
credited before credits nothing twice, approving one never credited credits it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from jiayuan.care import visits
from jiayuan.care.models import Visit
from jiayuan.kit.db import Database
from jiayuan.kit.migrate import alembic_config, current_revision, head_revision, upgrade
from jiayuan.kit.scope import Scope
from jiayuan.accounts.roles import Role
from jiayuan.accounts.service import Principal
from jiayuan.volunteers import service as volunteers
from tests.databases import backends, fresh_database

DISTRICT, GRID = "360802", "360802001001001"
THIS = "0011"


def before_this() -> str:
    """The revision 0011 follows (0009 when written; whatever the migrations are re-chained to)."""
    down = ScriptDirectory.from_config(alembic_config()).get_revision(THIS).down_revision
    assert isinstance(down, str)
    return down


@pytest.fixture(params=backends())
def old_database(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # noqa: ANN001
    with fresh_database(request.param, tmp_path, prefix="jiayuan_m0011") as url:
        yield url


def table(name: str, *columns: tuple[str, sa.types.TypeEngine]) -> sa.TableClause:
    return sa.table(name, *(sa.column(c, t) for c, t in columns))


ID, S, I, B, T, D = sa.Uuid(), sa.String(), sa.Integer(), sa.Boolean(), sa.DateTime(timezone=True), sa.Date()
PEOPLE = table("people", ("district_code", S), ("id", ID), ("grid_code", S), ("name", S), ("residence_type", S),
               ("created_at", T), ("updated_at", T))
VOLUNTEERS = table("volunteers", ("district_code", S), ("id", ID), ("person_id", ID), ("unit_code", S),
                   ("joined_on", D), ("active", B), ("created_at", T), ("updated_at", T))
PAIRINGS = table("care_pairings", ("district_code", S), ("id", ID), ("person_id", ID), ("volunteer_id", ID),
                 ("grid_code", S), ("started_on", D), ("active", B), ("created_at", T), ("updated_at", T))
VISITS = table("care_visits", ("district_code", S), ("id", ID), ("pairing_id", ID), ("person_id", ID),
               ("volunteer_id", ID), ("grid_code", S), ("kind", S), ("visited_at", T), ("duration_minutes", I),
               ("confirm_attempts", I), ("confirmed_at", T), ("confirm_method", S), ("created_at", T))
PHOTOS = table("care_visit_photos", ("district_code", S), ("id", ID), ("visit_id", ID), ("key", S),
               ("thumb_key", S), ("content_type", S), ("size", I), ("width", I), ("height", I), ("created_at", T))
HOURS = table("volunteer_hours", ("district_code", S), ("id", ID), ("volunteer_id", ID), ("at", T), ("minutes", I),
              ("kind", S), ("source_type", S), ("source_id", ID))


def test_upgrading_keeps_credited_hours_and_marks_the_unconfirmed(old_database: str) -> None:
    db = Database(old_database)
    try:
        upgrade(db.engine, before_this())
        assert current_revision(db.engine) == before_this()
        now = datetime.now(UTC).replace(microsecond=0)
        person, helper, volunteer, pairing = (uuid.uuid4() for _ in range(4))
        confirmed, unconfirmed, never = (uuid.uuid4() for _ in range(3))  # never: not credited (cannot happen
        # under the old code, but a database may hold one: it must not be marked)
        common = {"district_code": DISTRICT}
        with db.engine.begin() as conn:
            conn.execute(sa.insert(PEOPLE), [
                {**common, "id": pid, "grid_code": GRID, "name": name, "residence_type": "registered",
                 "created_at": now, "updated_at": now} for pid, name in ((person, "老人甲"), (helper, "义工乙"))])
            conn.execute(sa.insert(VOLUNTEERS).values(**common, id=volunteer, person_id=helper, unit_code=GRID[:12],
                                                      joined_on=date(2025, 1, 1), active=True, created_at=now,
                                                      updated_at=now))
            conn.execute(sa.insert(PAIRINGS).values(**common, id=pairing, person_id=person, volunteer_id=volunteer,
                                                    grid_code=GRID, started_on=date(2025, 1, 1), active=True,
                                                    created_at=now, updated_at=now))
            for vid, days, minutes, confirmed_at in ((confirmed, 5, 60, now - timedelta(days=5)),
                                                     (unconfirmed, 4, 45, None), (never, 3, 30, None)):
                conn.execute(sa.insert(VISITS).values(
                    **common, id=vid, pairing_id=pairing, person_id=person, volunteer_id=volunteer, grid_code=GRID,
                    kind="meals", visited_at=now - timedelta(days=days), duration_minutes=minutes,
                    confirm_attempts=0, confirmed_at=confirmed_at, confirm_method="code" if confirmed_at else None,
                    created_at=now - timedelta(days=days)))
            for vid, days, minutes in ((confirmed, 5, 60), (unconfirmed, 4, 45)):
                conn.execute(sa.insert(HOURS).values(**common, id=uuid.uuid4(), volunteer_id=volunteer,
                                                     at=now - timedelta(days=days), minutes=minutes, kind="service",
                                                     source_type="visit", source_id=vid))
            conn.execute(sa.insert(PHOTOS).values(**common, id=uuid.uuid4(), visit_id=unconfirmed, key="care/k.jpg",
                                                  thumb_key="care/k-thumb.jpg", content_type="image/jpeg", size=10,
                                                  width=1, height=1, created_at=now))

        upgrade(db.engine)
        assert current_revision(db.engine) == head_revision()

        with db.unit_of_work() as session:
            rows = {v.id: v for v in session.query(Visit)}
            assert rows[confirmed].credited_at is not None and not rows[confirmed].credited_unconfirmed
            assert rows[unconfirmed].credited_at is not None and rows[unconfirmed].credited_unconfirmed
            assert rows[never].credited_at is None and not rows[never].credited_unconfirmed
            assert abs(rows[unconfirmed].credited_at - (now - timedelta(days=4))) < timedelta(seconds=1)
            assert all(v.approved_at is None and v.approved_by is None for v in rows.values())
            assert visits.state_of(rows[unconfirmed]) == "pending"
            # The ledger is as it was: 105 minutes, two entries.
            assert volunteers.balance_minutes(session, DISTRICT, volunteer) == 105
            assert session.scalar(sa.select(sa.func.count()).select_from(PHOTOS)) == 1

            # The new rules on the old rows: approving the visit credited before credits nothing twice; approving
            # the one never credited credits it.
            staff = Principal(uuid.uuid4(), "t-community", "测试员", Role.community_staff, GRID[:12],
                              Scope((GRID[:12],)))
            visits.approve_visit(session, staff, unconfirmed)
            assert volunteers.balance_minutes(session, DISTRICT, volunteer) == 105
            visits.approve_visit(session, staff, never)
            assert volunteers.balance_minutes(session, DISTRICT, volunteer) == 135
            listed, total = visits.list_visits(session, staff, credited_unconfirmed=True)
            assert total == 1 and listed[0].id == unconfirmed
    finally:
        db.dispose()
