"""`crawlspec.storage.failures.database_errors`: a database failing mid-command becomes a message and an
exit code cron can act on."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import exc

from crawlspec import exit_codes
from crawlspec.errors import CrawlspecError
from crawlspec.storage.database import open_database
from crawlspec.storage.failures import database_errors, is_lock_timeout


def test_a_sqlite_file_another_process_keeps_locked_is_resumable(tmp_path: Path) -> None:
    """Another program holding a write transaction past the busy timeout: 75 (the lock ends; the next run
    gets through), with a message naming the lock, not the disk."""
    db = tmp_path / "crawl.db"
    url = f"sqlite:///{db}"
    engine = open_database(url)
    holder = sqlite3.connect(db, timeout=0)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(CrawlspecError) as caught, database_errors(url), engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA busy_timeout = 1")
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    finally:
        holder.rollback()
        holder.close()
        engine.dispose()
    assert caught.value.exit_code == exit_codes.RESUMABLE
    assert "locked by another process" in str(caught.value) and str(db) in str(caught.value)


def test_any_other_sqlite_failure_is_a_failure_naming_the_file() -> None:
    url = "sqlite:////data/crawl.db"
    with pytest.raises(CrawlspecError) as caught, database_errors(url):
        raise exc.OperationalError("INSERT", {}, sqlite3.OperationalError("database or disk is full"))
    assert caught.value.exit_code == exit_codes.FAILURE and "/data/crawl.db" in str(caught.value)
    assert not is_lock_timeout(exc.OperationalError("INSERT", {}, sqlite3.OperationalError("disk I/O error")))
