"""The caller's scope: a set of unit-code prefixes, turned into one SQL filter in one place.

A scope covers a unit and everything under it. Unit codes are digit strings whose prefixes are their
ancestors (DESIGN.md §3), so "under" is a prefix match, written as a range so that it uses the index on
both SQLite and PostgreSQL, and always paired with the district code so that it stays inside one shard.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, true

# ':' is the character after '9': every code that starts with p lies in [p, p + ':').
_PAST_DIGITS = ":"


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
        parts = []
        for p in self.prefixes:
            if p == "":
                return true()
            conds = [code_column >= p, code_column < p + _PAST_DIGITS]
            if len(p) >= 6:
                conds.insert(0, district_column == p[:6])
            parts.append(and_(*conds))
        return or_(*parts)

    def where(self, model: Any) -> ColumnElement[bool]:
        """The filter for a model whose `__scope_column__` names its unit-code column."""
        return self.clause(getattr(model, model.__scope_column__), model.district_code)
