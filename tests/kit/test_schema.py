"""The schema keeps the rules that let it be sharded by district later (DESIGN.md §6), and the migrations
build exactly what the models declare."""

from __future__ import annotations

import warnings

import uuid

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import String, UniqueConstraint

from jiayuan.kit.db import uuid7
from jiayuan.models import Base


def _kind(table) -> str:  # noqa: ANN001
    for mapper in Base.registry.mappers:
        if mapper.local_table is table:
            return mapper.class_.__table_kind__
    raise AssertionError(f"table {table.name} has no model, so no kind")


def test_every_table_is_tenant_reference_or_local() -> None:
    for table in Base.metadata.sorted_tables:
        assert _kind(table) in ("tenant", "reference", "local"), table.name


def test_tenant_tables_are_keyed_by_district() -> None:
    tenant = {t.name for t in Base.metadata.sorted_tables if _kind(t) == "tenant"}
    assert {"units", "grid_members", "audit_log"} <= tenant
    for table in Base.metadata.sorted_tables:
        if table.name not in tenant:
            continue
        col = table.c.district_code
        assert isinstance(col.type, String) and col.type.length == 6 and not col.nullable, table.name
        assert [c.name for c in table.primary_key.columns] == ["district_code", "id"], table.name
        for cons in table.constraints:
            if isinstance(cons, UniqueConstraint):
                assert "district_code" in cons.columns, f"{table.name}.{cons.name}"
        for index in table.indexes:
            if index.unique:
                assert "district_code" in index.columns, f"{table.name}.{index.name}"
        for fk in table.foreign_key_constraints:
            target = fk.referred_table
            if target.name in tenant:
                assert "district_code" in fk.column_keys, f"{table.name}.{fk.name} must include district_code"
                assert fk.elements[fk.column_keys.index("district_code")].column.name == "district_code"


def test_reference_tables_never_point_into_tenant_tables() -> None:
    tenant = {t.name for t in Base.metadata.sorted_tables if _kind(t) == "tenant"}
    for table in Base.metadata.sorted_tables:
        if _kind(table) == "reference":
            for fk in table.foreign_key_constraints:
                assert fk.referred_table.name not in tenant, f"{table.name} → {fk.referred_table.name}"


def test_constraints_are_named() -> None:
    for table in Base.metadata.sorted_tables:
        for cons in table.constraints:
            assert cons.name, f"unnamed constraint on {table.name}"


def test_migrations_match_the_models(migrated) -> None:  # noqa: ANN001
    with migrated.engine.connect() as conn, warnings.catch_warnings():
        # SQLite cannot reflect an index on an expression (the name search's); alembic leaves them out of the
        # comparison on both sides.
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression-based index")
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []


def test_uuid7_ids_are_time_ordered_and_unique() -> None:
    ids = [uuid7() for _ in range(5000)]
    assert ids == sorted(ids, key=lambda u: u.bytes)
    assert len(set(ids)) == len(ids)
    assert all(u.version == 7 and u.variant == uuid.RFC_4122 for u in ids)
