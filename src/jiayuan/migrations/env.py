"""Alembic environment: the URL comes from the caller (jiayuan init, tests) or JIAYUAN_DATABASE_URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import DateTime, String, TypeDecorator

from jiayuan.config import get_settings
from jiayuan.kit.db import make_engine
from jiayuan.models import Base

config = context.config


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
    engine = make_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _render_item(kind: str, obj: object, autogen_context: object) -> str | bool:
    """Write our column types as the plain SQLAlchemy types they store, so migrations import nothing of ours."""
    if kind == "type" and isinstance(obj, TypeDecorator):
        impl = obj.impl_instance
        if isinstance(impl, DateTime):
            return f"sa.DateTime(timezone={impl.timezone})"
        if isinstance(impl, String):
            return f"sa.String(length={impl.length})"
    return False


def _run(connection) -> None:  # noqa: ANN001
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `jiayuan init`")
run_migrations_online()
