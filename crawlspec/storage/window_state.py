"""What a spec's stored checkpoints say before a run plans its windows, read without changing the
database: the days already covered and the windows left unfinished. Used to tell a progress display
how many windows a run will crawl; a database that does not exist yet (or has no checkpoints) has none."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from crawlspec.storage import checkpoints
from crawlspec.storage.database import create_engine_for


@dataclass(frozen=True)
class StoredWindows:
    covered: frozenset[date]
    unfinished: tuple[checkpoints.WindowState, ...]


def stored_windows(db_url: str, fingerprint: str, start: date, end: date, *, refetch: bool = False) -> StoredWindows:
    """The covered days in [start, end] (none with `refetch`) and the unfinished windows of `fingerprint`.
    Raises what the database raises (a missing directory, a refused connection)."""
    engine = create_engine_for(db_url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table(checkpoints.WINDOW_TABLE.name):
                return StoredWindows(frozenset(), ())
            covered = set() if refetch else checkpoints.covered_days(conn, fingerprint, start, end)
            return StoredWindows(frozenset(covered), tuple(checkpoints.unfinished_windows(conn, fingerprint)))
    finally:
        engine.dispose()
