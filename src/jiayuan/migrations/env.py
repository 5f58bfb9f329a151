"""Alembic environment: the URL comes from the caller (jiayuan init, tests) or JIAYUAN_DATABASE_URL."""

from __future__ import annotations

from alembic import context

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


def _run(connection) -> None:  # noqa: ANN001
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `jiayuan init`")
run_migrations_online()
