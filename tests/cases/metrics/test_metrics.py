"""Case metrics on a hand-made set: every formula's value per community, per grid and in total, the cohort's
period, scope, the cases behind each figure, the API's refusals, the page and the Excel export."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from io import BytesIO
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from jiayuan.accounts.models import User
from jiayuan.accounts.service import Principal, principal_of
from jiayuan.cases.metrics import service as metrics
from jiayuan.cases.metrics.service import ALL_KEY, FIGURES, NONE_KEY, presets
from jiayuan.cases.models import Case
from jiayuan.deps import get_read_db
from jiayuan.kit.db import Database
from jiayuan.kit.scope import Scope
from jiayuan.units.service import grids_of_user
from tests.personas import COMMUNITY, GRID_A, GRID_B, PERSONAS

START, END = date(2025, 3, 1), date(2025, 4, 1)
Q = {"start": "2025-03-01", "end": "2025-04-01"}
OTHER_COMMUNITY = PERSONAS["other_community"].scope
OTHER_GRID = OTHER_COMMUNITY + "001"
PAST, FUTURE = datetime(2025, 3, 20, tzinfo=UTC), datetime(2099, 1, 1, tzinfo=UTC)
MID = datetime(2025, 3, 10, 2, tzinfo=UTC)  # 10:00 Beijing time

# The hand-made set. A = grid A, B = grid B (both in COMMUNITY), C = reported to COMMUNITY without a grid,
# O = a grid of the other community, X = reported outside the period.
# A7 is reported at 00:00 on 1 March Beijing time (16:00 UTC the day before): inside. X1 one second earlier,
# X2 at 00:00 on 1 April Beijing time: both outside.
#        status        reg  handled hot    cot    rework rating              resp  hand  due    who
SET: dict[str, tuple[Any, ...]] = {
    "A1": ("closed",      1,   1,      True,  True,  0,     "satisfied",        1.5,  4.0,  PAST,   "grid_a"),
    "A2": ("closed",      1,   1,      False, False, 1,     "fairly_satisfied", 2.5,  10.0, PAST,   "grid_a"),
    "A3": ("in_progress", 1,   0,      None,  None,  0,     None,               0.5,  None, PAST,   "grid_a"),
    "A4": ("dispatched",  1,   0,      None,  None,  0,     None,               1.0,  None, FUTURE, "grid_b"),
    "A5": ("suspended",   1,   0,      None,  None,  0,     None,               None, None, PAST,   None),
    "A6": ("voided",      0,   0,      None,  None,  0,     None,               None, None, None,   None),
    "A7": ("reported",    0,   0,      None,  None,  0,     None,               None, None, None,   None),
    "A8": ("closed",      1,   1,      True,  True,  2,     "dissatisfied",     3.0,  6.0,  PAST,   "department"),
    "B1": ("closed",      1,   1,      True,  True,  0,     "satisfied",        2.0,  2.0,  PAST,   "grid_b"),
    "B2": ("accepted",    0,   0,      None,  None,  0,     None,               0.5,  None, None,   None),
    "C1": ("checking",    1,   1,      True,  None,  0,     None,               1.0,  3.0,  FUTURE, None),
    "O1": ("closed",      1,   1,      True,  True,  0,     "satisfied",        1.0,  1.0,  PAST,   None),
    "X1": ("closed",      1,   1,      True,  True,  0,     "satisfied",        1.0,  1.0,  PAST,   "grid_a"),
    "X2": ("closed",      1,   1,      True,  True,  0,     "satisfied",        1.0,  1.0,  PAST,   "grid_a"),
}
ORIGIN = {"A": GRID_A, "B": GRID_B, "C": COMMUNITY, "O": OTHER_GRID, "X": GRID_A}
REPORTED_AT = {"A7": datetime(2025, 2, 28, 16, 0, tzinfo=UTC), "X1": datetime(2025, 2, 28, 15, 59, 59, tzinfo=UTC),
               "X2": datetime(2025, 3, 31, 16, 0, tzinfo=UTC)}
LOCATED = {"A1": (27.10, 114.97), "A2": (27.11, 114.98), "B1": (27.12, 114.99), "O1": (27.13, 115.0),
           "X1": (27.1, 114.9)}


def num(label: str) -> str:
    return f"MT{label}"


def nums(*labels: str) -> set[str]:
    return {num(x) for x in labels}


# Every count of COMMUNITY (A*, B*, C1), worked out by hand from the table above.
COMMUNITY_COUNTS = {
    "reported": 11, "voided": 1, "valid": 10, "registered": 8, "due_to_handle": 7, "handled_on_time": 4,
    "due_to_close": 7, "closed": 4, "closed_on_time": 3, "handled": 5, "rework": 2, "rated": 4, "satisfied": 2,
    "fairly_satisfied": 1, "dissatisfied": 1, "responded": 8, "handling_timed": 5,
}
COMMUNITY_DERIVED = {
    "registration_rate": 8 / 10, "handled_on_time_rate": 4 / 7, "closure_rate": 4 / 7,
    "closed_on_time_rate": 3 / 7, "rework_rate": 2 / 5, "satisfaction_rate": 3 / 4,
    "mean_response_hours": 1.5,  # (1.5 + 2.5 + 0.5 + 1.0 + 3.0 + 2.0 + 0.5 + 1.0) / 8
    "mean_handling_hours": 5.0,  # (4 + 10 + 6 + 2 + 3) / 5
}
GRID_A_ROW = {
    "reported": 8, "voided": 1, "valid": 7, "registered": 6, "due_to_handle": 5, "handled_on_time": 2,
    "due_to_close": 5, "closed": 3, "closed_on_time": 2, "handled": 3, "rework": 2, "rated": 3, "satisfied": 1,
    "fairly_satisfied": 1, "dissatisfied": 1, "responded": 5, "handling_timed": 3,
    "registration_rate": 6 / 7, "handled_on_time_rate": 2 / 5, "closure_rate": 3 / 5, "closed_on_time_rate": 2 / 5,
    "rework_rate": 2 / 3, "satisfaction_rate": 2 / 3, "mean_response_hours": 1.7, "mean_handling_hours": 6.67,
}
GRID_B_ROW = {
    "reported": 2, "voided": 0, "valid": 2, "registered": 1, "due_to_handle": 1, "handled_on_time": 1,
    "due_to_close": 1, "closed": 1, "closed_on_time": 1, "handled": 1, "rework": 0, "rated": 1, "satisfied": 1,
    "fairly_satisfied": 0, "dissatisfied": 0, "responded": 2, "handling_timed": 1,
    "registration_rate": 0.5, "handled_on_time_rate": 1.0, "closure_rate": 1.0, "closed_on_time_rate": 1.0,
    "rework_rate": 0.0, "satisfaction_rate": 1.0, "mean_response_hours": 1.25, "mean_handling_hours": 2.0,
}
# The community's case without a grid: nothing rated, so its satisfaction rate has no denominator.
NO_GRID_ROW = {
    "reported": 1, "voided": 0, "valid": 1, "registered": 1, "due_to_handle": 1, "handled_on_time": 1,
    "due_to_close": 1, "closed": 0, "closed_on_time": 0, "handled": 1, "rework": 0, "rated": 0, "satisfied": 0,
    "fairly_satisfied": 0, "dissatisfied": 0, "responded": 1, "handling_timed": 1,
    "registration_rate": 1.0, "handled_on_time_rate": 1.0, "closure_rate": 0.0, "closed_on_time_rate": 0.0,
    "rework_rate": 0.0, "satisfaction_rate": None, "mean_response_hours": 1.0, "mean_handling_hours": 3.0,
}
# The cases behind each figure of COMMUNITY.
BEHIND = {
    "reported": nums("A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8", "B1", "B2", "C1"),
    "voided": nums("A6"),
    "valid": nums("A1", "A2", "A3", "A4", "A5", "A7", "A8", "B1", "B2", "C1"),
    "registered": nums("A1", "A2", "A3", "A4", "A5", "A8", "B1", "C1"),
    "due_to_handle": nums("A1", "A2", "A3", "A5", "A8", "B1", "C1"),
    "handled_on_time": nums("A1", "A8", "B1", "C1"),
    "due_to_close": nums("A1", "A2", "A3", "A4", "A8", "B1", "C1"),
    "closed": nums("A1", "A2", "A8", "B1"),
    "closed_on_time": nums("A1", "A8", "B1"),
    "handled": nums("A1", "A2", "A8", "B1", "C1"),
    "rework": nums("A2", "A8"),
    "rated": nums("A1", "A2", "A8", "B1"),
    "satisfied": nums("A1", "B1"),
    "fairly_satisfied": nums("A2"),
    "dissatisfied": nums("A8"),
    "responded": nums("A1", "A2", "A3", "A4", "A8", "B1", "B2", "C1"),
    "handling_timed": nums("A1", "A2", "A8", "B1", "C1"),
}


def _user(s: Session, persona: str) -> User:
    return s.scalar(select(User).where(User.username == PERSONAS[persona].username))


def principal(s: Session, persona: str) -> Principal:
    user = _user(s, persona)
    return principal_of(user, grids_of_user(s, user.id))


@dataclass
class World:
    session: Session
    ids: dict[str, Any]  # persona → user id

    def as_(self, persona: str) -> Principal:
        return principal(self.session, persona)


@pytest.fixture
def world(db) -> Any:  # noqa: ANN001
    """The hand-made set, committed (to the test's savepoint) so the API sees it too."""
    with db.sessions() as s:
        ids = {p: _user(s, p).id for p in ("grid_a", "grid_b", "department")}
        for label, (status, reg, handled, hot, cot, rework, rating, resp, hand, due, who) in SET.items():
            origin = ORIGIN[label[0]]
            at = REPORTED_AT.get(label, MID)
            lat, lon = LOCATED.get(label, (None, None))
            s.add(Case(
                district_code=origin[:6], number=num(label), category_code="1101", channel="resident",
                status=status, description=f"测试案件 {label}", origin_code=origin, unit_code=origin,
                grid_code=origin if len(origin) == 15 else None, level="grid" if len(origin) == 15 else "community",
                reported_at=at, accepted_at=at if status != "reported" else None,
                registered_at=at if reg else None, handled_at=at if handled else None, due_at=due,
                handled_on_time=hot, closed_on_time=cot, rework_count=rework, rating=rating,
                response_hours=resp, handling_hours=hand, lat=lat, lon=lon,
                department=PERSONAS["department"].username if who == "department" else None,
                assignee_id=ids[who] if who else None,
            ))
        s.commit()
    with db.sessions() as s:
        yield World(s, ids)


def row_values(row: metrics.Row) -> dict[str, Any]:
    return {k: v for k, v in row.as_dict().items() if k not in ("key", "name")}


def assert_row(row: metrics.Row, expected: dict[str, Any]) -> None:
    got = row_values(row)
    for k, v in expected.items():
        if v is None or isinstance(v, int):
            assert got[k] == v, f"{row.key} {k}: {got[k]} != {v}"
        else:
            assert got[k] == pytest.approx(v), f"{row.key} {k}: {got[k]} != {v}"
    assert set(got) == set(expected)


# The formulas.


def test_every_formula_for_a_community(world: World) -> None:
    report = metrics.compute(world.session, world.as_("street"), START, END, "community")
    rows = {r.key: r for r in report.rows}
    assert set(rows) == {COMMUNITY, OTHER_COMMUNITY}
    assert_row(rows[COMMUNITY], {**COMMUNITY_COUNTS, **COMMUNITY_DERIVED})
    assert rows[COMMUNITY].name and rows[COMMUNITY].name != COMMUNITY  # the unit's name, not its code
    assert rows[OTHER_COMMUNITY].reported == 1 and rows[OTHER_COMMUNITY].closed_on_time == 1


def test_every_formula_per_grid_and_in_total(world: World) -> None:
    report = metrics.compute(world.session, world.as_("community"), START, END, "grid")
    rows = {r.key: r for r in report.rows}
    assert list(rows) == [GRID_A, GRID_B, NONE_KEY]  # the group without a grid comes last
    assert_row(rows[GRID_A], GRID_A_ROW)
    assert_row(rows[GRID_B], GRID_B_ROW)
    assert_row(rows[NONE_KEY], NO_GRID_ROW)
    assert rows[NONE_KEY].name is None
    assert report.totals.key == ALL_KEY
    assert_row(report.totals, {**COMMUNITY_COUNTS, **COMMUNITY_DERIVED})


def test_a_zero_denominator_is_null_not_an_error(world: World) -> None:
    # 1 March holds only A7, valid but untouched: 0 of 1 registered (a rate of 0), every other rate has no
    # denominator, and no case has a time to average.
    report = metrics.compute(world.session, world.as_("grid_a"), date(2025, 3, 1), date(2025, 3, 2), "grid")
    (row,) = report.rows
    assert (row.reported, row.valid) == (1, 1)
    for rate in metrics.RATES:
        expected = 0.0 if rate == "registration_rate" else None
        assert getattr(row, rate) == expected, rate
    assert row.mean_response_hours is None and row.mean_handling_hours is None
    empty = metrics.compute(world.session, world.as_("grid_a"), date(2024, 1, 1), date(2024, 2, 1), "grid")
    assert empty.rows == [] and empty.totals.reported == 0
    assert all(getattr(empty.totals, r) is None for r in (*metrics.RATES, *metrics.MEANS))


def test_the_cohort_is_the_cases_reported_in_the_period(world: World) -> None:
    report = metrics.compute(world.session, world.as_("admin"), START, END, "district")
    assert report.totals.reported == 12  # the community's 11 and the other community's one; not X1, X2
    behind = set(world.session.scalars(metrics.cases_behind(
        world.session, world.as_("admin"), START, END, ALL_KEY, "district", "reported").with_only_columns(
        Case.number)))
    assert num("A7") in behind and not behind & nums("X1", "X2")
    # Shift the period by a day: X2 (1 April, Beijing) comes in, A7 (1 March) goes out.
    later = metrics.compute(world.session, world.as_("admin"), date(2025, 3, 2), date(2025, 4, 2), "district")
    assert later.totals.reported == 12


def test_by_street_and_district_a_case_without_a_grid_counts_at_every_level_its_code_reaches(
        world: World) -> None:
    street = metrics.compute(world.session, world.as_("street"), START, END, "street")
    assert [(r.key, r.reported) for r in street.rows] == [(COMMUNITY[:9], 12)]
    district = metrics.compute(world.session, world.as_("admin"), START, END, "district")
    assert [(r.key, r.reported) for r in district.rows] == [(COMMUNITY[:6], 12)]


def test_by_person_and_by_department(world: World) -> None:
    me = world.as_("community")
    report = metrics.compute(world.session, me, START, END, "person")
    rows = {r.key: r for r in report.rows}
    assert {k: r.reported for k, r in rows.items()} == {
        str(world.ids["grid_a"]): 3, str(world.ids["grid_b"]): 2, str(world.ids["department"]): 1, NONE_KEY: 5}
    lead_a = _user(world.session, "grid_a")
    assert rows[str(lead_a.id)].name == lead_a.full_name
    assert rows[str(world.ids["grid_b"])].closed_on_time == 1
    by_dept = {r.key: r for r in metrics.compute(world.session, me, START, END, "department").rows}
    dept = PERSONAS["department"].username
    assert {k: r.reported for k, r in by_dept.items()} == {dept: 1, NONE_KEY: 10}
    assert by_dept[dept].name == _user(world.session, "department").full_name
    assert by_dept[dept].dissatisfied == 1 and by_dept[dept].rework_rate == 1.0
    # The department account itself sees only what was transferred to it.
    mine = metrics.compute(world.session, world.as_("department"), START, END, "department")
    assert [(r.key, r.reported) for r in mine.rows] == [(dept, 1)]


# Scope.


def test_a_city_wide_scope_counts_every_district_under_it(world: World) -> None:
    admin = world.as_("admin")
    city = Principal(admin.user_id, admin.username, admin.full_name, admin.role, admin.scope_code, Scope(("3608",)))
    for by in ("street", "grid"):
        mine, theirs = (metrics.compute(world.session, p, START, END, by) for p in (city, admin))
        assert [row_values(r) for r in mine.rows] == [row_values(r) for r in theirs.rows]
    assert metrics.compute(world.session, city, START, END, "district").totals.reported == 12
    elsewhere = dataclasses.replace(city, scope=Scope(("3609",)))
    assert metrics.compute(world.session, elsewhere, START, END, "district").rows == []


def test_a_grid_worker_sees_only_their_grid(world: World) -> None:
    report = metrics.compute(world.session, world.as_("grid_a"), START, END, "grid")
    assert [r.key for r in report.rows] == [GRID_A]
    assert_row(report.rows[0], GRID_A_ROW)
    assert_row(report.totals, GRID_A_ROW)
    community = metrics.compute(world.session, world.as_("grid_a"), START, END, "community")
    assert [(r.key, r.reported) for r in community.rows] == [(COMMUNITY, 8)]


def test_another_communitys_staff_sees_none_of_community_a(world: World) -> None:
    me = world.as_("other_community")
    for by in ("grid", "community", "street"):
        report = metrics.compute(world.session, me, START, END, by)
        assert report.totals.reported == 1, by
        assert not any(r.key.startswith(COMMUNITY) for r in report.rows), by
    stmt = metrics.cases_behind(world.session, me, START, END, COMMUNITY, "community", "reported")
    assert metrics.numbers_behind(world.session, stmt) == (0, [])


# The cases behind each figure.


@pytest.mark.parametrize("figure", FIGURES)
def test_each_figure_links_to_exactly_its_cases(world: World, figure: str) -> None:
    me = world.as_("street")
    report = metrics.compute(world.session, me, START, END, "community")
    row = next(r for r in report.rows if r.key == COMMUNITY)
    total, numbers = metrics.numbers_behind(
        world.session, metrics.cases_behind(world.session, me, START, END, COMMUNITY, "community", figure))
    assert set(numbers) == BEHIND[figure]
    assert total == len(numbers) == getattr(row, figure)


@pytest.mark.parametrize(("key", "figure", "expected"), [
    (GRID_A, "closed_on_time", nums("A1", "A8")),
    (GRID_B, "due_to_handle", nums("B1")),
    (NONE_KEY, "handled", nums("C1")),
    (NONE_KEY, "rated", set()),
    (ALL_KEY, "rework", nums("A2", "A8")),
    (ALL_KEY, "responded", BEHIND["responded"]),
])
def test_grid_groups_and_totals_link_to_their_cases(world: World, key: str, figure: str,
                                                    expected: set[str]) -> None:
    stmt = metrics.cases_behind(world.session, world.as_("community"), START, END, key, "grid", figure)
    assert set(metrics.numbers_behind(world.session, stmt)[1]) == expected


def test_person_and_department_groups_link_to_their_cases(world: World) -> None:
    me = world.as_("community")
    lead_b = str(world.ids["grid_b"])
    assert set(metrics.numbers_behind(world.session, metrics.cases_behind(
        world.session, me, START, END, lead_b, "person", "reported"))[1]) == nums("A4", "B1")
    assert set(metrics.numbers_behind(world.session, metrics.cases_behind(
        world.session, me, START, END, NONE_KEY, "person", "registered"))[1]) == nums("A5", "C1")
    assert set(metrics.numbers_behind(world.session, metrics.cases_behind(
        world.session, me, START, END, PERSONAS["department"].username, "department", "rework"))[1]) == nums("A8")


# The API.


def test_api_figures(world: World, api) -> None:  # noqa: ANN001
    r = api("community").get("/api/v1/cases/metrics", params={**Q, "by": "grid"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["start"], body["end"], body["by"]) == ("2025-03-01", "2025-04-01", "grid")
    rows = {row["key"]: row for row in body["rows"]}
    for key, expected in ((GRID_A, GRID_A_ROW), (GRID_B, GRID_B_ROW), (NONE_KEY, NO_GRID_ROW)):
        for k, v in expected.items():
            assert rows[key][k] == (pytest.approx(v) if isinstance(v, float) else v), (key, k)
    assert rows[NONE_KEY]["name"] == "（无网格）" and rows[NONE_KEY]["satisfaction_rate"] is None
    assert body["totals"]["key"] == ALL_KEY and body["totals"]["name"] == "合计"
    assert body["totals"]["reported"] == 11 and body["totals"]["closure_rate"] == pytest.approx(4 / 7)


def test_api_cases_behind_a_figure_paginated(world: World, api) -> None:  # noqa: ANN001
    url = "/api/v1/cases/metrics/cases"
    params = {**Q, "by": "community", "key": COMMUNITY, "figure": "registered", "limit": 3}
    pages = [api("street").get(url, params={**params, "offset": o}).json() for o in (0, 3, 6)]
    assert [p["total"] for p in pages] == [8, 8, 8]
    assert [len(p["numbers"]) for p in pages] == [3, 3, 2]
    assert {n for p in pages for n in p["numbers"]} == BEHIND["registered"]
    r = api("street").get(url, params={**Q, "by": "grid", "figure": "closed"})  # key defaults to the totals
    assert set(r.json()["numbers"]) == BEHIND["closed"] | nums("O1")  # the street holds both communities
    # Outside the caller's scope only what was dispatched to them (A4, in grid A, handled by grid B's lead).
    r = api("grid_b").get(url, params={**Q, "by": "grid", "key": GRID_A, "figure": "reported"})
    assert r.status_code == 200 and set(r.json()["numbers"]) == nums("A4")
    r = api("other_community").get(url, params={**Q, "by": "grid", "key": GRID_A, "figure": "reported"})
    assert r.status_code == 200 and r.json()["total"] == 0


def test_api_map_points_are_scoped(world: World, api) -> None:  # noqa: ANN001
    body = api("community").get("/api/v1/cases/metrics/points", params=Q).json()
    assert body["fields"] == ["number", "lat", "lon", "status"] and body["truncated"] is False
    assert {p[0] for p in body["points"]} == nums("A1", "A2", "B1")
    assert next(p for p in body["points"] if p[0] == num("B1"))[1:] == [27.12, 114.99, "closed"]
    assert {p[0] for p in api("grid_b").get("/api/v1/cases/metrics/points", params=Q).json()["points"]} == nums("B1")


@pytest.mark.parametrize(("params", "field"), [
    ({"start": "2025-13-01", "end": "2025-04-01"}, "start"),
    ({"start": "2025-03-01", "end": "April"}, "end"),
    ({**Q, "by": "planet"}, "by"),
    ({"start": "2025-03-01", "end": "2025-03-01"}, "end"),
    ({"start": "2025-03-02", "end": "2025-03-01"}, "end"),
    ({"start": "2023-01-01", "end": "2025-01-03"}, "end"),
    ({"start": "0001-01-01", "end": "0001-01-02"}, "start"),
    ({"start": "9999-12-01"}, "start"),
    ({"end": "9999-12-31"}, "end"),
])
def test_api_refuses_bad_periods_and_groupings(api, params: dict[str, str], field: str) -> None:  # noqa: ANN001
    for url in ("/api/v1/cases/metrics", "/api/v1/cases/metrics/points"):
        if url.endswith("points") and field == "by":
            continue
        r = api("admin").get(url, params=params)
        assert r.status_code == 422, r.text
        assert r.json()["field"] == field


def test_two_years_is_the_longest_period(api) -> None:  # noqa: ANN001
    r = api("admin").get("/api/v1/cases/metrics", params={"start": "2023-01-01", "end": "2025-01-01"})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(("params", "field"), [
    ({**Q, "figure": "happiness"}, "figure"),
    ({**Q, "by": "grid", "key": "3608", "figure": "closed"}, "key"),
    ({**Q, "by": "person", "key": "not-a-user-id", "figure": "closed"}, "key"),
    ({**Q, "figure": "closed", "limit": 0}, "limit"),
])
def test_api_refuses_bad_figures_and_keys(api, params: dict[str, Any], field: str) -> None:  # noqa: ANN001
    r = api("admin").get("/api/v1/cases/metrics/cases", params=params)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field


def test_residents_may_not_see_metrics(api, client) -> None:  # noqa: ANN001
    for url in ("/api/v1/cases/metrics", "/api/v1/cases/metrics/cases?figure=closed",
                "/api/v1/cases/metrics/points"):
        assert api("resident").get(url).status_code == 403
        assert client.get(url).status_code == 401
    assert api("resident").get("/cases/metrics").status_code == 403
    assert client.get("/cases/metrics", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("persona", ["grid_a", "community", "street", "admin", "hotline", "department"])
def test_every_staff_role_may(api, persona: str) -> None:  # noqa: ANN001
    r = api(persona).get("/api/v1/cases/metrics")  # this month by default
    assert r.status_code == 200, r.text
    start = date.fromisoformat(r.json()["start"])
    assert start.day == 1 and (date.fromisoformat(r.json()["end"]) - start).days in (28, 29, 30, 31)


# The page and the export.


@pytest.mark.parametrize(("today", "expected"), [
    (date(2025, 3, 15), [(date(2025, 3, 1), date(2025, 4, 1)), (date(2025, 2, 1), date(2025, 3, 1)),
                         (date(2025, 1, 1), date(2025, 4, 1)), (date(2025, 1, 1), date(2026, 1, 1))]),
    (date(2025, 1, 1), [(date(2025, 1, 1), date(2025, 2, 1)), (date(2024, 12, 1), date(2025, 1, 1)),
                        (date(2025, 1, 1), date(2025, 4, 1)), (date(2025, 1, 1), date(2026, 1, 1))]),
    (date(2025, 12, 31), [(date(2025, 12, 1), date(2026, 1, 1)), (date(2025, 11, 1), date(2025, 12, 1)),
                          (date(2025, 10, 1), date(2026, 1, 1)), (date(2025, 1, 1), date(2026, 1, 1))]),
])
def test_the_quick_periods(today: date, expected: list[tuple[date, date]]) -> None:
    assert [(s, e) for _name, s, e in presets(str, today)] == expected


def test_the_page_shows_the_figures_in_chinese_with_links(world: World, api) -> None:  # noqa: ANN001
    r = api("community").get("/cases/metrics", params={**Q, "by": "grid"})
    assert r.status_code == 200, r.text
    html = r.text
    for text in ("案件统计", "2025年3月1日", "2025年3月31日", "上报数", "立案率", "按期处置率", "结案率", "按期结案率",
                 "返工率", "满意率", "（无网格）", "合计", "57.1%", "/vendor/echarts/echarts.min.js",
                 "/api/v1/cases/metrics/points?start=2025-03-01&amp;end=2025-04-01"):
        assert text in html, text
    links = re.findall(r'href="(/cases/metrics/cases\?[^"]+)"', html)
    targets = [{k: v[0] for k, v in parse_qs(urlparse(link.replace("&amp;", "&")).query).items()} for link in links]
    assert {**Q, "by": "grid", "key": GRID_A, "figure": "closed_on_time"} in targets
    assert {**Q, "by": "grid", "key": ALL_KEY, "figure": "reported"} in targets
    # Every count of the table is a link (15 counts and the 2 means per row; 3 groups and the totals).
    counted = [t for t in targets if t["figure"] in metrics.COUNTS]
    assert len(counted) >= 4 * 17
    # Follow one: the list of the cases behind it, each linking to its case page.
    page = api("community").get("/cases/metrics/cases", params={**Q, "by": "grid", "key": GRID_A,
                                                                "figure": "closed_on_time"})
    assert page.status_code == 200
    assert set(re.findall(r'href="/cases/(MT\w+)"', page.text)) == nums("A1", "A8")
    assert "按期结案" in page.text and "共 2 件" in page.text


def test_the_page_explains_bad_input_and_refuses_residents(world: World, api) -> None:  # noqa: ANN001
    r = api("admin").get("/cases/metrics", params={"start": "2025-03-05", "end": "2025-03-01"})
    assert r.status_code == 422 and "截止日期不能早于起始日期" in r.text
    r = api("admin").get("/cases/metrics", params={"start": "yesterday"})
    assert r.status_code == 422 and "YYYY-MM-DD" in r.text
    r = api("admin").get("/cases/metrics", params={"start": "2025-03-01", "to": "2025-03-31", "by": "grid"})
    assert r.status_code == 200 and GRID_A in r.text  # "to" is the last day, included


def test_the_page_in_english(world: World, api) -> None:  # noqa: ANN001
    r = api("street").get("/cases/metrics", params={**Q, "by": "community"}, headers={"Cookie": "jiayuan_lang=en"})
    assert r.status_code == 200
    for text in ("Case metrics", "On-time closure rate", "Satisfaction rate", "Total", "March 1, 2025"):
        assert text in r.text, text


def test_the_page_refuses_dates_out_of_range_without_failing(world: World, api) -> None:  # noqa: ANN001
    for params in ({"start": "2025-03-01", "to": "9999-12-31"}, {"start": "0001-01-01"}, {"end": "0001-01-01"}):
        r = api("admin").get("/cases/metrics", params=params)
        assert r.status_code == 422 and "1900" in r.text, params
    r = api("admin").get("/cases/metrics.xlsx", params={"start": "2025-03-01", "to": "9999-12-31"})
    assert r.status_code == 422


def test_figures_read_through_the_replica_when_there_is_one(migrated: Database) -> None:
    request = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(db=migrated)))
    primary = object()
    it = get_read_db(request, primary)  # type: ignore[arg-type]
    assert next(it) is primary  # no replica: the request's own session (SQLite would wait on its own lock)
    replica = Database(migrated.url, replica_url=migrated.url)
    try:
        request.app.state.db = replica
        it = get_read_db(request, primary)  # type: ignore[arg-type]
        session = next(it)
        assert session is not primary and session.get_bind() is replica.replica_engine
        it.close()
    finally:
        replica.dispose()


def test_the_excel_export_holds_the_same_numbers(world: World, api) -> None:  # noqa: ANN001
    r = api("community").get("/cases/metrics.xlsx", params={**Q, "by": "grid"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(BytesIO(r.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert "2025年3月1日" in rows[0][0]
    header = rows[1]
    assert header[:4] == ("网格", "编码", "上报数", "作废数")
    assert "按期结案率" in header and "满意率" in header
    by_code = {row[1]: dict(zip(header, row, strict=True)) for row in rows[2:]}
    a = by_code[GRID_A]
    assert (a["上报数"], a["有效上报"], a["立案数"], a["应处置"], a["按期处置"], a["结案数"]) == (8, 7, 6, 5, 2, 3)
    assert a["按期结案率"] == pytest.approx(0.4) and a["返工率"] == pytest.approx(2 / 3)
    assert a["平均处置时长（工作小时）"] == pytest.approx(6.67)
    totals = rows[-1]
    assert totals[0] == "合计" and totals[2] == 11
    no_grid = next(row for row in rows[2:] if row[0] == "（无网格）")
    assert no_grid[header.index("满意率")] == "—"
