"""Several processes opening one new SQLite file at once (the jobs of a sweep): switching it to WAL can be
refused with `database is locked` without SQLite waiting its busy timeout, so it is retried."""

from __future__ import annotations

import sqlite3

import pytest

from crawlspec.storage import database


class LockedCursor:
    """A DB-API cursor whose `PRAGMA journal_mode = WAL` is refused `refusals` times."""

    def __init__(self, refusals: int, message: str = "database is locked"):
        self.refusals, self.message, self.statements = refusals, message, []

    def execute(self, statement: str) -> None:
        self.statements.append(statement)
        if self.refusals:
            self.refusals -= 1
            raise sqlite3.OperationalError(self.message)


@pytest.fixture(autouse=True)
def no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(database, "SQLITE_LOCKED_RETRY_S", 0.0)


def test_switching_a_locked_new_file_to_wal_is_retried_until_it_succeeds() -> None:
    cursor = LockedCursor(refusals=3)
    database._switch_to_wal(cursor)
    assert cursor.statements == ["PRAGMA journal_mode = WAL"] * 4


def test_a_lock_that_outlasts_the_busy_timeout_is_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_MS", -1)   # the deadline has passed at once
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        database._switch_to_wal(LockedCursor(refusals=1))


def test_any_other_error_is_raised_at_once() -> None:
    cursor = LockedCursor(refusals=5, message="file is not a database")
    with pytest.raises(sqlite3.OperationalError, match="not a database"):
        database._switch_to_wal(cursor)
    assert len(cursor.statements) == 1
