"""Figures across domains (DESIGN.md §4: stats holds queries only, no tables of its own): the unit a figure is asked
for within the caller's scope, the period, and the roll-up of grouped unit codes into the unit's children.

Queries group by the full unit code of their rows (a few hundred grids at most) and the codes are rolled up here
in Python, once per distinct code, never per row and never with a query per unit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_
from sqlalchemy.orm import Session

from jiayuan.accounts.service import Principal
from jiayuan.cases.metrics.service import bounds, check_period, month_of
from jiayuan.kit.errors import Invalid, NotFound
from jiayuan.kit.scope import Scope
from jiayuan.units import service as units

__all__ = ["HERE", "Tally", "Target", "bounds", "check_period", "default_period", "month_of", "target"]

# The next level down from a unit, by the length of its code: district → street → community → grid.
CHILD_LENGTH = {6: 9, 9: 12, 12: 15}
LEVEL_OF_LENGTH = {6: "district", 9: "street", 12: "community", 15: "grid"}
# The group of rows kept at the unit itself rather than under one of its children (an activity of the whole
# district, a centre serving a street): a key no unit code can be.
HERE = "_here"


@dataclass(frozen=True)
class Target:
    """The unit figures are asked for, and how its rows are selected: under the unit and in the caller's scope."""

    code: str
    name: str
    level: str
    scope: Scope  # the caller's
    children: list[tuple[str, str]]  # (code, name) of the child units, in code order

    @property
    def child_length(self) -> int | None:
        return CHILD_LENGTH.get(len(self.code))

    def where(self, code_column: Any, district_column: Any) -> ColumnElement[bool]:
        """Rows whose unit code lies under the unit, and in the caller's scope when that is narrower (a grid
        worker of two grids asking for their community sees those two grids)."""
        under = Scope((self.code,)).clause(code_column, district_column)
        if self.scope.covers(self.code):
            return under
        return and_(under, self.scope.clause(code_column, district_column))

    def where_model(self, model: Any) -> ColumnElement[bool]:
        return self.where(getattr(model, model.__scope_column__), model.district_code)

    def key_of(self, code: str) -> str | None:
        """The child a row's unit code rolls up to; HERE for a row of the unit itself; None when the unit has
        no children (a grid)."""
        n = self.child_length
        if n is None:
            return None
        return code[:n] if len(code) >= n else HERE


def target(session: Session, principal: Principal, unit: str | None) -> Target:
    """The unit asked for (the caller's own unit when none is): within the caller's scope, or above it (then
    narrowed to the scope). A unit elsewhere is a 404, as if it did not exist."""
    code = (unit or principal.scope_code or "").strip()
    if not code:
        raise NotFound("no unit: this account has no scope", field="unit")
    if not code.isdigit() or len(code) not in LEVEL_OF_LENGTH:
        raise Invalid("a unit code of 6, 9, 12 or 15 digits", field="unit")
    found = units.get_unit(session, principal.scope, code)  # NotFound outside the scope
    children = [(u.code, u.name) for u in units.list_units(session, principal.scope, parent_code=code)]
    return Target(found.code, found.name, found.level, principal.scope, sorted(children))


def default_period(start: date | None, end: date | None, today: date) -> tuple[date, date]:
    """This month when neither bound is given; otherwise the month of the given bound completes the other."""
    if start is None and end is None:
        return month_of(today)
    if start is None:
        assert end is not None
        start = month_of(end - timedelta(days=1))[0]
    if end is None:
        end = month_of(start)[1]
    check_period(start, end)
    return start, end


@dataclass
class Tally:
    """Counts by group: the unit's children (and HERE), and the totals of the unit."""

    target: Target
    totals: Counter[str] = field(default_factory=Counter)
    groups: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, code: str | None, name: str, value: float | None) -> None:
        if not value:
            return
        self.totals[name] += value
        key = self.target.key_of(code or "")
        if key is not None:
            self.groups.setdefault(key, Counter())[name] += value

    def add_rows(self, rows: Iterable[tuple[Any, ...]], names: Iterable[str]) -> None:
        """Rows of (code, value, value, …) added under `names`, in order."""
        names = tuple(names)
        for code, *values in rows:
            for name, value in zip(names, values, strict=True):
                self.add(code, name, value)
