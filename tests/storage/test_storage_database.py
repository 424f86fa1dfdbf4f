"""open_database: URL resolution, SQLite settings, and the errors a user can cause (with their fix)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import sqlalchemy as sa

from crawlspec import exit_codes
from crawlspec.errors import DatabaseLocationError, DatabaseUnavailable
from crawlspec.storage.database import create_engine_for, open_database, resolve_db_url


def test_relative_sqlite_paths_resolve_against_the_base_dir(tmp_path: Path) -> None:
    assert resolve_db_url("sqlite:///crawl.db", tmp_path) == f"sqlite:///{tmp_path / 'crawl.db'}"
    assert resolve_db_url("sqlite:///data/../crawl.db", tmp_path) == f"sqlite:///{tmp_path / 'crawl.db'}"
    assert resolve_db_url(f"sqlite:///{tmp_path}/x.db", Path("/elsewhere")) == f"sqlite:///{tmp_path}/x.db"
    assert resolve_db_url("sqlite:///:memory:") == "sqlite:///:memory:"
    assert resolve_db_url("postgresql://u:pw@h:5/d", tmp_path) == "postgresql://u:pw@h:5/d"


def test_relative_sqlite_path_is_created_in_the_base_dir(tmp_path: Path) -> None:
    engine = open_database("sqlite:///crawlspec.db", base_dir=tmp_path)
    engine.dispose()
    assert (tmp_path / "crawlspec.db").is_file()


def test_sqlite_runs_in_wal_mode_with_busy_timeout_and_foreign_keys(sqlite_url: str) -> None:
    engine = open_database(sqlite_url)
    with engine.connect() as conn:
        pragmas = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                   for name in ("journal_mode", "busy_timeout", "foreign_keys")}
    engine.dispose()
    assert pragmas == {"journal_mode": "wal", "busy_timeout": 30000, "foreign_keys": 1}


def test_missing_directory_is_a_location_error_naming_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "dir"
    with pytest.raises(DatabaseLocationError) as caught:
        open_database(f"sqlite:///{missing / 'crawl.db'}")
    assert str(missing) in str(caught.value) and "mkdir -p" in str(caught.value)
    assert caught.value.exit_code == exit_codes.INVALID_INPUT
    assert not missing.exists()


def test_a_directory_is_not_a_database(tmp_path: Path) -> None:
    with pytest.raises(DatabaseLocationError, match="is a directory"):
        open_database(f"sqlite:///{tmp_path}")


def test_a_file_that_is_not_sqlite_is_a_location_error(tmp_path: Path) -> None:
    junk = tmp_path / "notes.db"
    junk.write_text("these are not the tables you are looking for\n" * 100)
    with pytest.raises(DatabaseLocationError, match="notes.db"):
        open_database(f"sqlite:///{junk}")


@pytest.mark.parametrize("url", ["not a url", "mysql+nodriver://u:pw@h/d", "oracle+nosuch://h/d"])
def test_malformed_or_unsupported_urls_are_location_errors(url: str) -> None:
    with pytest.raises(DatabaseLocationError) as caught:
        open_database(url)
    assert "pw" not in str(caught.value)
    assert "sqlite:///" in str(caught.value)  # the message shows what a valid URL looks like


def test_malformed_url_message_masks_credentials() -> None:
    with pytest.raises(DatabaseLocationError) as caught:
        open_database("postgresql://user:hunter2 with spaces@host:notaport/db")
    assert "hunter2" not in str(caught.value)
    assert "'postgresql://***@host:notaport/db' is malformed" in str(caught.value)
    assert "db.url=postgresql://USER@HOST:5432/DBNAME" in str(caught.value), "the message shows the fix"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_postgres_refusing_connection_is_unavailable_without_the_password() -> None:
    secret = "s3cret-Pa55word"
    with pytest.raises(DatabaseUnavailable) as caught:
        open_database(f"postgresql://crawler:{secret}@127.0.0.1:{_closed_port()}/crawl")
    message = str(caught.value)
    assert secret not in message
    assert "127.0.0.1" in message and "***" in message
    assert caught.value.exit_code == exit_codes.RESUMABLE


def test_plain_postgresql_urls_use_the_installed_psycopg2_driver() -> None:
    engine = create_engine_for("postgresql://u@localhost/db")
    assert engine.dialect.driver == "psycopg2"


@pytest.mark.slow
def test_postgres_wrong_user_is_a_configuration_error_with_a_clear_message(pg_url: str) -> None:
    url = sa.engine.make_url(pg_url).set(username="nobody_here", password="pw-x1y2").render_as_string(
        hide_password=False)
    with pytest.raises(DatabaseLocationError) as caught:
        open_database(url)
    assert "nobody_here" in str(caught.value) and "pw-x1y2" not in str(caught.value)
    assert caught.value.exit_code == exit_codes.INVALID_INPUT


def test_postgres_missing_database_is_a_configuration_error(pg_url: str) -> None:
    url = sa.engine.make_url(pg_url).set(database="no_such_db_y3", password="pw-x1y2")
    with pytest.raises(DatabaseLocationError, match="'no_such_db_y3' does not exist") as caught:
        open_database(url.render_as_string(hide_password=False))
    assert "pw-x1y2" not in str(caught.value) and caught.value.exit_code == exit_codes.INVALID_INPUT
