"""Alembic environment for crawlspec.

`crawlspec.storage.database.upgrade_database` hands over an open connection (already inside the
transaction that serialises concurrent upgrades) in `config.attributes["connection"]`. The plain
alembic CLI gets its URL from `-x url=...`, CRAWLSPEC_DB_URL, or alembic.ini.
"""

from __future__ import annotations

import os

import sqlalchemy as sa

from alembic import context
from crawlspec.storage.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def _url() -> str:
    return (context.get_x_argument(as_dictionary=True).get("url")
            or os.environ.get("CRAWLSPEC_DB_URL")
            or config.get_main_option("sqlalchemy.url"))


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = sa.create_engine(_url(), poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
