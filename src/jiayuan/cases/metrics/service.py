"""Case metrics of a period per unit, department or person from one aggregate query; the cases behind each."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, true
from sqlalchemy.orm import Session

from jiayuan.accounts import service as accounts
from jiayuan.accounts.roles import Role
from jiayuan.accounts.service import Principal
from jiayuan.cases.models import Case
from jiayuan.cases.policy import visible
from jiayuan.cases.workflow import CLOSED, LEVEL_LENGTH, SUSPENDED, VOIDED
from jiayuan.kit import cache
from jiayuan.kit.clock import local_today
from jiayuan.kit.db import utcnow
from jiayuan.kit.errors import Invalid
from jiayuan.kit.i18n import TIMEZONE
from jiayuan.kit.scope import Scope, under
from jiayuan.units import service as units

GROUPINGS = ("grid", "community", "street", "district", "department", "person")
# Keys that cannot collide with a unit code (digits), a department account (starts with a letter or digit)
# or a user id (hex and dashes): the group of cases without one, and the whole cohort.
NONE_KEY = "_none"
ALL_KEY = "_all"
# Two years, a leap day included: longer periods are refused (they are archive queries, not a dashboard's).
MAX_DAYS = 731
# Dates a period may start or end on: beyond them the Beijing-to-UTC conversion leaves Python's date range.
MIN_DATE, MAX_DATE = date(1900, 1, 1), date(2200, 1, 1)
MAX_POINTS = 5000

# The counts of a row, in the order the table shows them. "valid" is derived (reported − voided), not summed.
COUNTS = ("reported", "voided", "valid", "registered", "due_to_handle", "handled_on_time", "due_to_close",
          "closed", "closed_on_time", "handled", "rework", "rated", "satisfied", "fairly_satisfied",
          "dissatisfied", "responded", "handling_timed")
RATES = ("registration_rate", "handled_on_time_rate", "closure_rate", "closed_on_time_rate", "rework_rate",
         "satisfaction_rate")
MEANS = ("mean_response_hours", "mean_handling_hours")
# Every figure a link can ask for: the counts, and each mean through the cases it averages over.
FIGURES = COUNTS


def _conditions(now: datetime) -> dict[str, ColumnElement[bool]]:
    """Which cohort cases each count counts. One table for the sums and for the cases behind them, so that
    a figure and its list can never disagree."""
    registered = Case.registered_at.is_not(None)
    return {
        "reported": true(),
        "voided": Case.status == VOIDED,  # includes duplicates merged into their original
        "valid": Case.status != VOIDED,
        "registered": registered,
        "due_to_handle": and_(registered, or_(Case.handled_at.is_not(None), Case.due_at < now)),
        "handled_on_time": Case.handled_on_time.is_(True),
        "due_to_close": and_(registered, Case.status != SUSPENDED),
        "closed": Case.status == CLOSED,
        "closed_on_time": Case.closed_on_time.is_(True),
        "handled": Case.handled_at.is_not(None),
        "rework": Case.rework_count > 0,
        "rated": Case.rating.is_not(None),
        "satisfied": Case.rating == "satisfied",
        "fairly_satisfied": Case.rating == "fairly_satisfied",
        "dissatisfied": Case.rating == "dissatisfied",
        "responded": Case.response_hours.is_not(None),
        "handling_timed": Case.handling_hours.is_not(None),
    }


def _rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


@dataclass
class Row:
    """The figures of one group (or of the whole cohort): counts, then rates and means derived from them."""

    key: str
    name: str | None = None  # None for the group without a unit, department or assignee
    reported: int = 0
    voided: int = 0
    registered: int = 0
    due_to_handle: int = 0
    handled_on_time: int = 0
    due_to_close: int = 0
    closed: int = 0
    closed_on_time: int = 0
    handled: int = 0
    rework: int = 0
    rated: int = 0
    satisfied: int = 0
    fairly_satisfied: int = 0
    dissatisfied: int = 0
    responded: int = 0
    handling_timed: int = 0
    # Sums, not averages, so that groups add up into the totals exactly.
    response_hours_sum: float = 0.0
    handling_hours_sum: float = 0.0

    @property
    def valid(self) -> int:
        return self.reported - self.voided

    @property
    def registration_rate(self) -> float | None:
        return _rate(self.registered, self.valid)

    @property
    def handled_on_time_rate(self) -> float | None:
        return _rate(self.handled_on_time, self.due_to_handle)

    @property
    def closure_rate(self) -> float | None:
        return _rate(self.closed, self.due_to_close)

    @property
    def closed_on_time_rate(self) -> float | None:
        return _rate(self.closed_on_time, self.due_to_close)

    @property
    def rework_rate(self) -> float | None:
        return _rate(self.rework, self.handled)

    @property
    def satisfaction_rate(self) -> float | None:
        return _rate(self.satisfied + self.fairly_satisfied, self.rated)

    @property
    def mean_response_hours(self) -> float | None:
        return round(self.response_hours_sum / self.responded, 2) if self.responded else None

    @property
    def mean_handling_hours(self) -> float | None:
        return round(self.handling_hours_sum / self.handling_timed, 2) if self.handling_timed else None

    def as_dict(self) -> dict[str, Any]:
        figures = {c: getattr(self, c) for c in (*COUNTS, *RATES, *MEANS)}
        return {"key": self.key, "name": self.name, **figures}


@dataclass
class Report:
    start: date
    end: date
    by: str
    rows: list[Row]
    totals: Row
    generated_at: datetime = field(default_factory=utcnow)


# The period.


def month_of(day: date) -> tuple[date, date]:
    """The calendar month holding `day`: [first day, first day of the next month)."""
    first = day.replace(day=1)
    return first, (first.replace(year=first.year + 1, month=1) if first.month == 12
                   else first.replace(month=first.month + 1))


def check_date(day: date, field: str) -> date:
    if not MIN_DATE <= day <= MAX_DATE:
        raise Invalid(f"must lie between {MIN_DATE.isoformat()} and {MAX_DATE.isoformat()}", field=field,
                      reason="out_of_range", low=MIN_DATE.isoformat(), high=MAX_DATE.isoformat())
    return day


def check_period(start: date, end: date) -> None:
    check_date(start, "start")
    check_date(end, "end")
    if end <= start:
        raise Invalid("must be after start (the end date is not included)", field="end", reason="end_before_start")
    if (end - start).days > MAX_DAYS:
        raise Invalid(f"the period is longer than two years ({MAX_DAYS} days); choose a shorter one",
                      field="end", reason="period_too_long", limit=MAX_DAYS)


def default_period(start: date | None, end: date | None) -> tuple[date, date]:
    """This month when neither is given; otherwise the month the given bound lies in completes the other."""
    if start is not None:
        check_date(start, "start")
    if end is not None:
        check_date(end, "end")
    if start is None and end is None:
        return month_of(local_today())
    if start is None:
        assert end is not None
        start = month_of(end - timedelta(days=1))[0]
    if end is None:
        end = month_of(start)[1]
    return start, end


def presets(_: Callable[[str], str], today: date) -> list[tuple[str, date, date]]:
    """Quick periods: this month, last month, this quarter, this year (each [start, end))."""
    this_month = month_of(today)
    last_month = month_of(this_month[0] - timedelta(days=1))
    q_first = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
    after = q_first.month + 3
    q_end = date(q_first.year + (after > 12), (after - 1) % 12 + 1, 1)
    year = (today.replace(month=1, day=1), today.replace(year=today.year + 1, month=1, day=1))
    return [(_("This month"), *this_month), (_("Last month"), *last_month),
            (_("This quarter"), q_first, q_end), (_("This year"), *year)]


def bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """Dates in Beijing time as the UTC moments the reported_at range is compared with."""
    return (datetime.combine(start, time(0), TIMEZONE).astimezone(UTC),
            datetime.combine(end, time(0), TIMEZONE).astimezone(UTC))


def check_by(by: str) -> str:
    if by not in GROUPINGS:
        raise Invalid(f"one of {', '.join(GROUPINGS)}", field="by")
    return by


def default_by(principal: Principal) -> str:
    """The level just below the caller's scope: a district looks at its streets, a community at its grids."""
    if principal.role == Role.department:
        return "person"
    length = len(principal.scope_code or "")
    return {6: "street", 9: "community"}.get(length, "grid")


# The cohort and its groups.


def _district_clause(session: Session, principal: Principal) -> ColumnElement[bool]:
    """The caller's districts on district_code itself, so that the planner starts from the (district_code,
    reported_at) index (kit.scope.Scope.district_clause)."""
    return principal.scope.district_clause(Case.district_code, unit_names(session))


def _visible_clause(principal: Principal) -> ColumnElement[bool]:
    """visible(principal), left out when the district clause already says the same: when it is the plain
    scope filter and every prefix is a whole district or wider, its origin_code ranges only repeat the
    district (a case's district_code is the first six digits of its origin_code, both set once at intake).
    For a city of ten districts the ten-way OR otherwise costs more than the aggregation and misleads the
    planner into a bitmap scan of the wider index (measured, docs/metrics.md)."""
    clause = visible(principal)
    prefixes = principal.scope.prefixes
    if prefixes and all(len(p) <= 6 for p in prefixes) and clause.compare(principal.scope.where(Case)):
        return true()
    return clause


def cohort(session: Session, principal: Principal, start: date, end: date) -> ColumnElement[bool]:
    """The cases reported in [start, end) (Beijing dates) that the caller may see."""
    since, until = bounds(start, end)
    return and_(_district_clause(session, principal), Case.reported_at >= since, Case.reported_at < until,
                _visible_clause(principal))


def _group_column(by: str) -> ColumnElement[Any]:
    """What the query groups by. Units group by the whole origin_code and are rolled up to the level asked
    for in Python, once per distinct code (a few thousand in a city, never per case): hashing the column
    itself is cheaper than computing substr() on every row (measured, docs/metrics.md)."""
    if by == "department":
        return Case.department
    if by == "person":
        return Case.assignee_id
    return Case.origin_code


def _group_key(by: str, value: Any) -> str:
    """The group a grouped value belongs to; a case reported to a unit above the grid has a shorter
    origin_code, so it has no unit at the finer levels."""
    if value is None:
        return NONE_KEY
    if by in LEVEL_LENGTH:
        n = LEVEL_LENGTH[by]
        return value[:n] if len(value) >= n else NONE_KEY
    return str(value)


def _key_clause(by: str, key: str) -> ColumnElement[bool]:
    """The cases of one group, written so that a unit uses the (district_code, origin_code, …) index."""
    if key == ALL_KEY:
        return true()
    if by in LEVEL_LENGTH:
        n = LEVEL_LENGTH[by]
        if key == NONE_KEY:
            return func.length(Case.origin_code) < n
        if len(key) != n or not key.isdigit():
            raise Invalid(f"a {by} code of {n} digits, {NONE_KEY} or {ALL_KEY}", field="key")
        return under(Case.origin_code, key, Case.district_code)
    if by == "department":
        return Case.department.is_(None) if key == NONE_KEY else Case.department == key
    if key == NONE_KEY:
        return Case.assignee_id.is_(None)
    try:
        return Case.assignee_id == uuid.UUID(key)
    except ValueError:
        raise Invalid(f"a user id, {NONE_KEY} or {ALL_KEY}", field="key") from None


def compute(session: Session, principal: Principal, start: date, end: date, by: str, *,
            now: datetime | None = None) -> Report:
    """The figures of every group and the totals, from one aggregate query over the cohort."""
    check_period(start, end)
    check_by(by)
    now = now or utcnow()
    conds = _conditions(now)
    group = _group_column(by)
    # COUNT(*) FILTER (WHERE …) is SUM(CASE WHEN … THEN 1 ELSE 0 END) without building and adding a value per
    # row: about 15 % faster on PostgreSQL; SQLite has it since 3.30.
    counted = [c for c in COUNTS if c not in ("reported", "valid")]
    stmt = (
        select(group.label("grp"), func.count().label("reported"),
               *[func.count().filter(conds[c]).label(c) for c in counted],
               func.sum(Case.response_hours).label("response_hours_sum"),
               func.sum(Case.handling_hours).label("handling_hours_sum"))
        .where(cohort(session, principal, start, end))
        .group_by(group)
    )
    # Roll the grouped values up to the groups asked for, in plain lists: a city has thousands of codes.
    sums: dict[str, list[Any]] = {}
    for grp, *values in session.execute(stmt):
        key = _group_key(by, grp)
        acc = sums.get(key)
        if acc is None:
            sums[key] = [v or 0 for v in values]
        else:
            for i, v in enumerate(values):
                if v:
                    acc[i] += v
    names = ("reported", *counted, "response_hours_sum", "handling_hours_sum")
    rows = [Row(key=key, **dict(zip(names, acc, strict=True))) for key, acc in sums.items()]
    _name_rows(session, by, rows)
    # Named groups first in key order, the group without a unit / department / assignee last.
    rows.sort(key=lambda r: (r.key == NONE_KEY, r.key))
    # Every case is in exactly one group: the totals are the column sums (means from summed sums and counts).
    total = [sum(column) for column in zip(*sums.values(), strict=True)] if sums else [0] * len(names)
    totals = Row(key=ALL_KEY, **dict(zip(names, total, strict=True)))
    return Report(start, end, by, rows, totals, generated_at=now)


def cases_behind(session: Session, principal: Principal, start: date, end: date, key: str, by: str,
                 figure: str, *, now: datetime | None = None) -> Select[tuple[Case]]:
    """The cases a figure counts: the same cohort, the group `key` (ALL_KEY for the totals) and the figure's
    condition, newest first. The statement is the caller's to page and run (see numbers_behind); `session`
    only reads unit codes (a city-wide scope's districts) while building it."""
    check_period(start, end)
    check_by(by)
    if figure not in FIGURES:
        raise Invalid(f"one of {', '.join(FIGURES)}", field="figure")
    cond = _conditions(now or utcnow())[figure]
    return (select(Case).where(cohort(session, principal, start, end), _key_clause(by, key), cond)
            .order_by(Case.reported_at.desc(), Case.number))


def count_behind(session: Session, stmt: Select[tuple[Case]]) -> int:
    """How many cases a `cases_behind` statement selects."""
    where = stmt.whereclause if stmt.whereclause is not None else true()
    return session.scalar(select(func.count()).select_from(Case).where(where)) or 0


def numbers_behind(session: Session, stmt: Select[tuple[Case]], *, limit: int = 100,
                   offset: int = 0) -> tuple[int, list[str]]:
    """A page of the tracking numbers a `cases_behind` statement selects, and how many there are in all."""
    numbers = list(session.scalars(stmt.with_only_columns(Case.number).limit(limit).offset(offset)))
    return count_behind(session, stmt), numbers


def points(session: Session, principal: Principal, start: date, end: date, *,
           limit: int = MAX_POINTS) -> tuple[list[tuple[str, float, float, str]], bool]:
    """The cohort's located cases for the map, newest first: (number, lat, lon, status), and whether more
    than `limit` were left out."""
    check_period(start, end)
    rows = session.execute(
        select(Case.number, Case.lat, Case.lon, Case.status)
        .where(cohort(session, principal, start, end), Case.lat.is_not(None), Case.lon.is_not(None))
        .order_by(Case.reported_at.desc()).limit(limit + 1)).all()
    return [tuple(r) for r in rows[:limit]], len(rows) > limit


# Names of the groups.


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


@dataclass
class _Names:
    version: str
    names: dict[str, str]


_names_cache: dict[str, _Names] = {}
_names_lock = threading.Lock()


def unit_names(session: Session) -> dict[str, str]:
    """Every unit's name by code, kept per process until the units change (the grid index's version row):
    a grid-level table of a city would otherwise load thousands of polygons to read their names."""
    version = cache.current(session, units.UNITS_CACHE)
    key = str(session.get_bind().engine.url)
    cached = _names_cache.get(key)
    if cached is None or cached.version != version:
        with _names_lock:
            cached = _names_cache.get(key)
            if cached is None or cached.version != version:
                everything = units.list_units(session, Scope.everything())  # system use: names only
                cached = _names_cache[key] = _Names(version, {u.code: u.name for u in everything})
    return cached.names


def group_name(session: Session, by: str, key: str) -> str:
    """The name of one group (a unit, department or person) by its key; the key itself when unknown."""
    row = Row(key=key)
    _name_rows(session, check_by(by), [row])
    return row.name or key


def _name_rows(session: Session, by: str, rows: list[Row]) -> None:
    named = [r for r in rows if r.key != NONE_KEY]
    if not named:
        return
    if by in LEVEL_LENGTH:
        names = unit_names(session)
        for r in named:
            r.name = names.get(r.key, r.key)
    elif by == "person":
        ids = {r.key: _uuid(r.key) for r in named}
        users = accounts.users_by_ids(session, [i for i in ids.values() if i is not None])
        for r in named:
            user = users.get(ids[r.key])  # type: ignore[arg-type]
            r.name = user.full_name if user else r.key
    else:
        # Department accounts are few (one per line department); their user name is what cases store.
        for r in named:
            user = accounts.user_by_username(session, r.key)
            r.name = user.full_name if user else r.key


def none_label(_: Callable[[str], str], by: str) -> str:
    """The name of the group of cases without a unit at this level, a department or an assignee."""
    return {"grid": _("(no grid)"), "community": _("(no community)"), "street": _("(no street)"),
            "district": _("(no district)"), "department": _("(no department)"),
            "person": _("(unassigned)")}[by]


def row_name(_: Callable[[str], str], by: str, row: Row) -> str:
    """A row's name in the reader's language: the totals, the group without one, or the unit or person."""
    if row.key == ALL_KEY:
        return _("Total")
    if row.key == NONE_KEY:
        return none_label(_, by)
    return row.name or row.key
