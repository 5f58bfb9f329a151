"""Key rotation: re-encrypt every Encrypted column's tokens that are still under an old data key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Column, String, Table, and_, func, literal, or_, select, type_coerce
from sqlalchemy.orm import Session

import jiayuan.models  # noqa: F401 - every table registered, so that no encrypted column is missed
from jiayuan.kit.crypto import Cipher, Encrypted, get_cipher
from jiayuan.kit.db import Base

BATCH = 500


@dataclass(frozen=True)
class EncryptedColumn:
    table: Table
    column: Column
    context: str

    @property
    def name(self) -> str:
        return f"{self.table.name}.{self.column.name}"


def encrypted_columns() -> list[EncryptedColumn]:
    """Found from the metadata rather than listed, so that a new encrypted column is rotated too."""
    return [EncryptedColumn(table, col, col.type.context)
            for table in Base.metadata.sorted_tables for col in table.columns if isinstance(col.type, Encrypted)]


def _raw(col: Column) -> object:
    # The token as stored: bypass the Encrypted type, which would decrypt it.
    return type_coerce(col, String)


def _stale(col: Column, cipher: Cipher) -> object:
    return _raw(col).is_not(None) & ~_raw(col).startswith(f"v1.{cipher.current_key_id}.", autoescape=True)


def count_stale(session: Session, cipher: Cipher | None = None) -> dict[str, int]:
    """Tokens per column not yet under the current key."""
    cipher = cipher or get_cipher()
    return {c.name: session.scalar(select(func.count()).select_from(c.table).where(_stale(c.column, cipher))) or 0
            for c in encrypted_columns()}


def rotate_keys(session: Session, *, cipher: Cipher | None = None, batch_size: int = BATCH,
                on_batch: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Rewrite stale tokens under the current key, `batch_size` rows at a time; returns the count per column.

    Walks each table by primary key, so a token that cannot be opened (a dropped key) raises instead of being
    selected again forever. Each update compares the old token first: a row changed meanwhile is left alone
    and picked up by the next run. `on_batch(column, n)` lets the caller show progress or commit.
    """
    cipher = cipher or get_cipher()
    done: dict[str, int] = {}
    for enc in encrypted_columns():
        keys = list(enc.table.primary_key.columns)
        raw = _raw(enc.column)
        done[enc.name] = 0
        after: tuple | None = None
        while True:
            stmt = select(*keys, raw).where(_stale(enc.column, cipher)).order_by(*keys).limit(batch_size)
            if after is not None:
                stmt = stmt.where(_after(keys, after))
            rows = session.execute(stmt).all()
            if not rows:
                break
            for *pk, token in rows:
                fresh = cipher.rotate(token, context=enc.context)
                where = [k == v for k, v in zip(keys, pk, strict=True)]
                session.execute(enc.table.update().where(*where, raw == token)
                                .values({enc.column.name: literal(fresh, String())}))
            after = tuple(rows[-1][:len(keys)])
            done[enc.name] += len(rows)
            session.flush()
            if on_batch:
                on_batch(enc.name, len(rows))
    return done


def _after(keys: list[Column], values: tuple) -> object:
    """Rows after `values` in primary-key order (a row-value comparison, spelled out for every database)."""
    clauses = []
    for i, key in enumerate(keys):
        clauses.append(and_(*[k == v for k, v in zip(keys[:i], values[:i], strict=True)], key > values[i]))
    return or_(*clauses)
