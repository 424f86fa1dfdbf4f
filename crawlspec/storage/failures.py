"""A database that fails in the middle of a command: a clear message and an exit code, never a traceback.

A lost PostgreSQL connection is resumable (75: pages committed before are safe); a SQLite write error
(disk full, read-only file) is 1, naming the file. Failures to connect in the first place are sorted
by `connect_errors`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import exc

from crawlspec.errors import CrawlspecError, DatabaseUnavailable
from crawlspec.storage.database import display_url


@contextlib.contextmanager
def database_errors(db_url: str) -> Iterator[None]:
    """A database that fails mid-run becomes a clear message and an exit code, never a traceback:
    a lost PostgreSQL connection is resumable (75: committed pages are safe); a SQLite write error
    (disk full, read-only file) is 1, naming the file."""
    try:
        yield
    except (exc.OperationalError, exc.InterfaceError) as err:
        detail = str(getattr(err, "orig", err)).strip().splitlines()[0] if str(err).strip() else "error"
        if db_url.startswith("sqlite"):
            raise CrawlspecError(f"the SQLite database {display_url(db_url)} failed: {detail}; pages "
                                 "committed before are safe; fix the file or disk and run again") from None
        raise DatabaseUnavailable(f"lost the connection to {display_url(db_url)}: {detail}; pages committed "
                                  "before are safe; run the same command again to resume") from None
