"""The caller's scope: a set of unit-code prefixes, turned into one SQL filter in one place.

A scope covers a unit and everything under it. Unit codes are digit strings whose prefixes are their
ancestors (DESIGN.md §3), so "under" is a prefix match, written as a range so that it uses the index on
both SQLite and PostgreSQL, and always paired with the district code so that it stays inside one shard.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, true

# ':' is the character after '9': every code that starts with p lies in [p, p + ':').
_PAST_DIGITS = ":"


def under(code_column: Any, code: str, district_column: Any = None) -> ColumnElement[bool]:
    """Rows whose unit code is `code` or lies under it, as an index range; with the district column too when
    `code` names a district or a unit in one (the query then stays in one shard)."""
    conds = [code_column >= code, code_column < code + _PAST_DIGITS]
    if district_column is not None and len(code) >= 6:
        conds.insert(0, district_column == code[:6])
    return and_(*conds)


def strictly_under(code_column: Any, code: str) -> ColumnElement[bool]:
    """Rows of the units below `code`, not `code` itself."""
    return and_(code_column > code, code_column < code + _PAST_DIGITS)


@dataclass(frozen=True)
class Scope:
    prefixes: tuple[str, ...]

    @classmethod
    def everything(cls) -> Scope:
        """Only for the CLI and the system itself, never for a request."""
        return cls(("",))

    @classmethod
    def nothing(cls) -> Scope:
        return cls(())

    @property
    def districts(self) -> tuple[str, ...]:
        return tuple(sorted({p[:6] for p in self.prefixes}))

    def covers(self, code: str | None) -> bool:
        return code is not None and any(code.startswith(p) for p in self.prefixes)

    def is_within(self, code: str) -> bool:
        """True when the scope reaches a unit at or above `code` (an ancestor of what it covers)."""
        return any(p.startswith(code) for p in self.prefixes)

    def clause(self, code_column: Any, district_column: Any) -> ColumnElement[bool]:
        """The WHERE clause selecting rows whose unit code lies in the scope."""
        if not self.prefixes:
            return false()
        if "" in self.prefixes:
            return true()
        return or_(*(under(code_column, p, district_column) for p in self.prefixes))

    def district_clause(self, district_column: Any, districts: Iterable[str]) -> ColumnElement[bool]:
        """The scope's districts, stated on the district code alone, so that a query starts from an index led
        by it. A prefix above a district (a city, "3608") is spelt out as the `districts` (6-digit codes known
        to the caller) under it, so that the index is searched per district rather than scanned over a range;
        with none known under it the range still selects the right rows."""
        exact: set[str] = set()
        ranges: list[ColumnElement[bool]] = []
        known = [d for d in districts if len(d) == 6]
        for p in self.prefixes:
            if p == "":
                return true()
            if len(p) >= 6:
                exact.add(p[:6])
                continue
            found = [d for d in known if d.startswith(p)]
            if found:
                exact.update(found)
            else:
                ranges.append(under(district_column, p))
        parts: list[ColumnElement[bool]] = list(ranges)
        if exact:
            parts.insert(0, (district_column == next(iter(exact))) if len(exact) == 1
                         else district_column.in_(sorted(exact)))
        return or_(*parts) if parts else false()

    def where(self, model: Any) -> ColumnElement[bool]:
        """The filter for a model whose `__scope_column__` names its unit-code column."""
        return self.clause(getattr(model, model.__scope_column__), model.district_code)
