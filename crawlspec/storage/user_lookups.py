"""The creator-info cache's answers that are not profiles: one `user_lookup` row per username, saying
whether the API found it (`found`) or not (`not_found`, with the API's message) and when it was asked.

Functions take the caller's `Connection`; `record_lookup` writes inside the caller's transaction, so a
profile and its lookup row commit together.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crawlspec.storage.bulk import chunked, upsert_rows
from crawlspec.storage.models.base import table_of
from crawlspec.storage.models.enrichment import UserLookup

LOOKUP = table_of(UserLookup)


def recent_not_found(conn: Connection, usernames: Sequence[str], *, since: datetime) -> set[str]:
    """Those of `usernames` the API answered "not found" about at or after `since`."""
    found: set[str] = set()
    for part in chunked(sorted(set(usernames))):
        found.update(conn.execute(sa.select(LOOKUP.c.username).where(
            LOOKUP.c.username.in_(part), LOOKUP.c.status == "not_found", LOOKUP.c.checked_at >= since)).scalars())
    return found


def record_lookup(conn: Connection, username: str, *, status: str, message: str | None, now: datetime,
                  crawl_id: int | None) -> None:
    """Insert or replace the username's lookup row."""
    row = {"username": username, "status": status, "message": message, "checked_at": now, "crawl_id": crawl_id}
    upsert_rows(conn, LOOKUP, [row], keys=("username",),
                update=lambda excluded: {name: excluded[name] for name in ("status", "message", "checked_at",
                                                                           "crawl_id")})
