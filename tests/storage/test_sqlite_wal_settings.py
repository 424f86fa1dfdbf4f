"""SQLite connections copy the WAL back into the database rarely (a crawl rewrites the same pages commit
after commit) and never keep a large WAL file once copied."""

from __future__ import annotations

from pathlib import Path

from crawlspec.storage.database import SQLITE_WAL_AUTOCHECKPOINT_PAGES, SQLITE_WAL_KEEP_BYTES, open_database


def test_every_sqlite_connection_checkpoints_rarely_and_bounds_the_wal(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'crawl.db'}")
    with engine.connect() as conn:
        pragma = conn.exec_driver_sql
        assert pragma("PRAGMA journal_mode").scalar() == "wal"
        assert pragma("PRAGMA wal_autocheckpoint").scalar() == SQLITE_WAL_AUTOCHECKPOINT_PAGES >= 10_000
        assert pragma("PRAGMA journal_size_limit").scalar() == SQLITE_WAL_KEEP_BYTES
    engine.dispose()
    assert not (tmp_path / "crawl.db-wal").exists()     # the last connection closed: the WAL is gone
