"""A database that fails in the middle of a command: a clear message and an exit code, never a traceback.

A lost PostgreSQL connection is resumable (75: pages committed before are safe), and so is a SQLite file
another process kept locked past the busy timeout (its lock ends: the next run gets through); any other
SQLite error (disk full, read-only file) is 1, naming the file. Failures to connect in the first place are
sorted by `connect_errors`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import exc

from crawlspec.errors import CrawlspecError, DatabaseUnavailable
from crawlspec.storage.database import SQLITE_BUSY_TIMEOUT_MS, display_url


@contextlib.contextmanager
def database_errors(db_url: str) -> Iterator[None]:
    """A database that fails mid-run becomes a clear message and an exit code, never a traceback:
    a lost PostgreSQL connection is resumable (75: committed pages are safe); a SQLite write error
    (disk full, read-only file) is 1, naming the file."""
    try:
        yield
    except (exc.OperationalError, exc.InterfaceError) as err:
        detail = str(getattr(err, "orig", err)).strip().splitlines()[0] if str(err).strip() else "error"
        if db_url.startswith("sqlite") and is_lock_timeout(err):
            raise DatabaseUnavailable(
                f"the SQLite database {display_url(db_url)} stayed locked by another process for more than "
                f"{SQLITE_BUSY_TIMEOUT_MS // 1000} s ({detail}): another program holds a write transaction open; "
                "pages committed before are safe; run the same command again once it is free") from None
        if db_url.startswith("sqlite"):
            raise CrawlspecError(f"the SQLite database {display_url(db_url)} failed: {detail}; pages "
                                 "committed before are safe; fix the file or disk and run again") from None
        raise DatabaseUnavailable(f"lost the connection to {display_url(db_url)}: {detail}; pages committed "
                                  "before are safe; run the same command again to resume") from None


def is_lock_timeout(error: BaseException) -> bool:
    """A SQLite operation that waited out its busy timeout on another connection's lock ("database is
    locked", SQLITE_BUSY; not "database table is locked", a conflict inside one connection)."""
    return isinstance(error, exc.OperationalError) and "database is locked" in str(getattr(error, "orig", error))
