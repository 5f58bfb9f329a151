"""What every registry import shares: row errors that never carry the value, the result, readers of cells that
record what is wrong instead of raising, and look-ups in chunks."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from typing import Any, TypeVar

from sqlalchemy import Insert
from sqlalchemy import text as sql
from sqlalchemy.orm import Session

from jiayuan.accounts.service import Principal
from jiayuan.kit.errors import DomainError, Invalid
from jiayuan.kit.excel import N_, cell_date, cell_text

T = TypeVar("T")
MODES = ("all_or_nothing", "valid_only")
CHUNK = 1000  # keys per look-up query and rows per INSERT / UPDATE
MAX_ERRORS = 20_000  # kept in the result and the record; rejected rows are all counted
GRID_LENGTH = 15
_GRID_CODE = re.compile(r"[0-9]{15}")
# progress(stage, done, total): stage "check" while rows are read and checked, "write" while they are written.
Progress = Callable[[str, int, int | None], None]
# Where an import reads and writes: each `with tx() as session:` is one transaction. An import opens one for the
# look-ups of a chunk of keys and one for each chunk of rows written, never one for the whole file, so that on SQLite
# (where a transaction takes the write lock at its first statement) other requests write between them. `within`
# runs it all in one given session instead (the tests of the rules, the benchmarks).
Transactions = Callable[[], AbstractContextManager[Session]]


def within(session: Session) -> Transactions:
    """Every step in `session`'s own transaction: the import is one unit of work, committed by its caller."""
    return lambda: nullcontext(session)


@dataclass(frozen=True, slots=True)
class RowError:
    """Row `row` (as the user sees it), column `column` (a key; "" for the whole row), and why.

    `reason` is an English message of the catalogue with %(name)s placeholders filled from `params`; neither
    ever holds the cell's value, so a report can be shown, stored and sent without leaking an ID number."""

    row: int
    column: str
    reason: str
    params: dict[str, Any] | None = None

    def message(self, gettext: Callable[[str], str] | None = None) -> str:
        text = gettext(self.reason) if gettext else self.reason
        return text % self.params if self.params else text

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "reason": self.reason, "params": self.params}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RowError:
        return cls(int(data["row"]), str(data["column"]), str(data["reason"]), data.get("params"))


@dataclass
class ImportResult:
    kind: str
    mode: str
    total: int = 0  # data rows read
    valid: int = 0  # rows without errors
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0  # rows with errors (not imported)
    written: bool = False  # whether anything was written (nothing is when all_or_nothing meets an error)
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0  # every error, also those past MAX_ERRORS

    def counts(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("total", "valid", "created", "updated", "unchanged", "rejected",
                                              "written", "error_count")}


class Errors:
    """The errors of one import, and which rows have any."""

    def __init__(self) -> None:
        self.items: list[RowError] = []
        self.count = 0
        self.rows: set[int] = set()

    def add(self, row: int, column: str, reason: str, params: dict[str, Any] | None = None) -> None:
        self.count += 1
        self.rows.add(row)
        if len(self.items) < MAX_ERRORS:
            self.items.append(RowError(row, column, reason, params))


# Validator errors whose message names the value, by reason, worded without it (an error report never repeats what
# was typed); the others' messages name no value already.
_VALUE_FREE = {
    "id_length": N_("ID number must be 18 characters"),
    "id_birth_date": N_("ID number holds an impossible birth date"),
    "credit_length": N_("Credit code must be 18 characters"),
    "credit_department": N_("Credit code has an unknown registration department"),
    "credit_category": N_("Credit code's organization category (2nd character) is not one its department issues"),
}


def value_free(exc: DomainError) -> str:
    return _VALUE_FREE.get(exc.reason, exc.message)


def _key(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().lower().replace(" ", "")


def lookup(labels: dict[str, str]) -> dict[str, str]:
    """Chinese label or English code → code."""
    found = {_key(label): code for code, label in labels.items()}
    found.update({_key(code): code for code in labels})
    return found


_SEPARATORS = re.compile(r"[;；,，、/\s]+")


class Row:
    """One row's cells, read with the rules of the API; every problem is recorded, nothing is raised."""

    def __init__(self, number: int, values: dict[str, Any], errors: Errors) -> None:
        self.number, self.values, self._errors = number, values, errors
        self.ok = True

    def fail(self, column: str, reason: str, **params: Any) -> None:
        self.ok = False
        self._errors.add(self.number, column, reason, params or None)

    def given(self, key: str) -> bool:
        return cell_text(self.values.get(key)) is not None

    def text(self, key: str, max_length: int, *, required: bool = False) -> str | None:
        text = cell_text(self.values.get(key))
        if text is None:
            if required:
                self.fail(key, N_("required"))
            return None
        if len(text) > max_length:
            self.fail(key, N_("at most %(n)s characters"), n=max_length)
            return None
        return text

    def validated(self, key: str, parse: Callable[[str], T], *, required: bool = False) -> T | None:
        """The cell through one of the API's validators (parse_id_number, parse_mobile …)."""
        text = cell_text(self.values.get(key))
        if text is None:
            if required:
                self.fail(key, N_("required"))
            return None
        try:
            return parse(text)
        except Invalid as exc:
            self.fail(key, value_free(exc))
            return None

    def choice(self, key: str, labels: dict[str, str], *, required: bool = False) -> str | None:
        text = cell_text(self.values.get(key))
        if text is None:
            if required:
                self.fail(key, N_("required"))
            return None
        code = lookup_cached(labels).get(_key(text))
        if code is None:
            self.fail(key, N_("not one of: %(choices)s"), choices="、".join(labels.values()))
        return code

    def choices(self, key: str, labels: dict[str, str]) -> tuple[str, ...]:
        """Several values in one cell ("独居;低保"), each one of `labels`."""
        text = cell_text(self.values.get(key))
        if text is None:
            return ()
        found = []
        table = lookup_cached(labels)
        for part in _SEPARATORS.split(text):
            if not part:
                continue
            code = table.get(_key(part))
            if code is None:
                self.fail(key, N_("not one of: %(choices)s"), choices="、".join(labels.values()))
                return ()
            if code not in found:
                found.append(code)
        return tuple(found)

    def date(self, key: str, *, required: bool = False, not_future: bool = False) -> date | None:
        value = self.values.get(key)
        try:
            day = cell_date(value)
        except (ValueError, OverflowError):
            self.fail(key, N_("not a date (write it as 2026-12-31)"))
            return None
        if day is None and required:
            self.fail(key, N_("required"))
        if day is not None and not_future and day > date.today():
            self.fail(key, N_("must not be in the future"))
            return None
        return day

    def decimal(self, key: str, low: float, high: float) -> float | None:
        value = self.values.get(key)
        if value is None:
            return None
        try:
            number = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else float(
                cell_text(value) or "")
        except ValueError:
            self.fail(key, N_("must be a number"))
            return None
        if not low <= number <= high:
            self.fail(key, N_("must be between %(low)s and %(high)s"), low=low, high=high)
            return None
        return number

    def integer(self, key: str, low: int, high: int) -> int | None:
        number = self.decimal(key, low, high)
        if number is None:
            return None
        if not number.is_integer():
            self.fail(key, N_("must be a whole number"))
            return None
        return int(number)

    def grid(self, key: str, principal: Principal, grids: set[str], *, required: bool = True) -> str | None:
        """A grid of the importer's scope: outside it is a row error, before whether it exists."""
        code = cell_text(self.values.get(key))
        code = unicodedata.normalize("NFKC", code) if code else code  # full-width digits from an input method
        if code is None:
            if required:
                self.fail(key, N_("required"))
            return None
        if not _GRID_CODE.fullmatch(code):
            self.fail(key, N_("a grid code is 15 digits"))
            return None
        if not principal.scope.covers(code):
            self.fail(key, N_("this grid is outside your scope"))
            return None
        if code not in grids:
            self.fail(key, N_("no such grid"))
            return None
        return code


_LOOKUPS: dict[int, dict[str, str]] = {}


def lookup_cached(labels: dict[str, str]) -> dict[str, str]:
    # The label tables are module constants: build each reverse table once.
    table = _LOOKUPS.get(id(labels))
    if table is None:
        table = _LOOKUPS[id(labels)] = lookup(labels)
    return table


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def read_rows(rows: Iterable[tuple[int, dict[str, Any]]], progress: Progress | None,
              total: int | None) -> Iterator[tuple[int, dict[str, Any]]]:
    """The rows, reporting progress every thousand."""
    done = 0
    for item in rows:
        yield item
        done += 1
        if progress and done % CHUNK == 0:
            progress("check", done, total)
    if progress:
        progress("check", done, done)


class FirstSeen:
    """Duplicates inside one file: the row that first held a key."""

    def __init__(self) -> None:
        self._rows: dict[Any, int] = {}

    def check(self, row: Row, column: str, key: Any, reason: str) -> bool:
        first = self._rows.setdefault(key, row.number)
        if first != row.number:
            row.fail(column, reason, row=first)
            return False
        return True


def finish(result: ImportResult, errors: Errors) -> ImportResult:
    result.errors, result.error_count, result.rejected = errors.items, errors.count, len(errors.rows)
    result.errors.sort(key=lambda e: (e.row, e.column))
    return result


class Lazy:
    """Rows made as they are written, a chunk at a time: a district's worth of dicts never sits in memory."""

    def __init__(self, count: int, rows: Iterable[dict[str, Any]]) -> None:
        self.count, self.rows = count, rows

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows)


def write(tx: Transactions, batches: Sequence[tuple[Any, Sequence[dict[str, Any]] | Lazy]],
          progress: Progress | None) -> bool:
    """Run each (INSERT or UPDATE statement, rows) in chunks, in order, each chunk in a transaction of its own;
    True when anything was written.

    The ORM sends one executemany per run of rows with the same keys: INSERTs render NULLs rather than leave
    them out, and UPDATEs are ordered by the columns they change, so that a chunk is one batch, not hundreds
    (on PostgreSQL, row-by-row batches made an import ten times slower)."""
    steps = sum(len(items) for _, items in batches)
    done = 0
    for statement, items in batches:
        rows = iter(items) if isinstance(statement, Insert) else iter(sorted(items, key=lambda i: tuple(sorted(i))))
        while part := list(islice(rows, CHUNK)):
            with tx() as session:
                write_chunk(session, statement, part)
            done += len(part)
            if progress:
                progress("write", done, steps)
        if len(items) >= CHUNK:
            with tx() as session:
                analyze(session, statement.table.name)
    return steps > 0


def write_chunk(session: Session, statement: Any, rows: list[dict[str, Any]]) -> None:
    """One INSERT (by COPY on PostgreSQL) or UPDATE batch of rows with the same keys."""
    if not rows:
        return
    if isinstance(statement, Insert):
        if session.get_bind().dialect.name == "postgresql":
            _copy(session, statement.table, rows)
            return
        statement = statement.execution_options(render_nulls=True)
    else:
        rows = sorted(rows, key=lambda item: tuple(sorted(item)))
    session.execute(statement, rows)


def analyze(session: Session, table: str) -> None:
    """Fresh statistics for the foreign-key checks of the batches that follow (people → households, tags → people):
    PostgreSQL keeps the plan it made while the table was nearly empty, a scan of the whole table per row, which
    made a first import into an empty district quadratic. SQLite likewise picks the wrong index for list filters
    without statistics."""
    session.execute(sql(f'ANALYZE "{table}"'))


def _copy(session: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    """INSERT by COPY on PostgreSQL, in the session's transaction: several times faster than executemany. Each
    value goes through its column type's bind processing first (encryption of ID numbers and phones, UTC)."""
    dialect = session.get_bind().dialect
    columns = [c for c in table.columns if any(c.key in row for row in rows[:1])]
    process = [c.type._cached_bind_processor(dialect) for c in columns]  # noqa: SLF001 - SQLAlchemy's own hook
    names = ", ".join(f'"{c.name}"' for c in columns)
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([p(row.get(c.key)) if p else row.get(c.key) for c, p in zip(columns, process,
                                                                                    strict=True)])
