"""Grouped figures as domains hand them to stats: plain rows of (unit code, figure name, value), each domain
counting its own tables under a unit filter that stats gives it (the unit asked for, within the caller's scope)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement

# The unit filter: given a table's unit-code column and its district column, the clause selecting its rows in the
# unit asked for and in the caller's scope (stats.Target.where).
Within = Callable[[Any, Any], ColumnElement[bool]]


class Figure(NamedTuple):
    """One grouped count: `value` of the figure `name` ("volunteers.minutes") for the rows of unit `unit`."""

    unit: str | None
    name: str
    value: int | float | None
