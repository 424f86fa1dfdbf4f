"""Test databases: the PostgreSQL test server (CRAWLSPEC_TEST_PG_URL), fresh databases on it, and raw reads."""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa


def configured_pg_server_url() -> str | None:
    """The test server's URL, or None on a laptop without one; fails in CI (`CI` set) without one."""
    url = os.environ.get("CRAWLSPEC_TEST_PG_URL")
    if url:
        return url
    if os.environ.get("CI"):
        pytest.fail("CI is set but CRAWLSPEC_TEST_PG_URL is missing: PostgreSQL is required in CI")
    return None


def pg_server_url() -> str:
    """The test server's URL; skips on a laptop without one, fails in CI."""
    server_url = configured_pg_server_url()
    if server_url is None:
        pytest.skip("no PostgreSQL server (set CRAWLSPEC_TEST_PG_URL)")
    return server_url


@contextlib.contextmanager
def pg_database(server_url: str, prefix: str = "t") -> Iterator[str]:
    """A fresh, empty database on the test server (its URL), dropped afterwards."""
    import sqlalchemy as sa

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    # crawlspec depends on psycopg2; SQLAlchemy 2.1 would pick psycopg 3 for a bare postgresql:// URL.
    base = sa.engine.make_url(server_url).set(drivername="postgresql+psycopg2")
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def sqlite_file_url(directory) -> str:
    """A real SQLite file in `directory` (created on first use)."""
    return f"sqlite:///{directory / 'crawl.db'}"


def sqlite_path(url: str) -> Path | None:
    """The file of a `sqlite:///PATH` URL, None for any other URL."""
    return Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None


def copy_sqlite(template: Path, url: str) -> None:
    """Put a copy of a closed SQLite database (its WAL, if any, included) where `url` points: the same
    bytes as building it again, in a fraction of the time."""
    target = sqlite_path(url)
    assert target is not None, url
    shutil.copyfile(template, target)
    for suffix in ("-wal", "-shm"):
        if Path(f"{template}{suffix}").exists():
            shutil.copyfile(f"{template}{suffix}", f"{target}{suffix}")


def query_rows(db_url: str, sql: str) -> list[tuple]:
    """The rows of one raw SQL query, as tuples (a fresh engine, disposed after)."""
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        found = [tuple(row) for row in conn.execute(sa.text(sql))]
    engine.dispose()
    return found
