"""The `empty_day` rows: days of a spec answered with no video at all once, and when that first
happened. Whether an empty answer confirms a day or only records it is decided by the crawl
(`crawlspec.crawl.empty_windows`). None of these commits.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crawlspec.storage.bulk import chunked, dialect_insert
from crawlspec.storage.models.base import table_of
from crawlspec.storage.models.enrichment import EmptyDay

EMPTY = table_of(EmptyDay)


def empty_days_between(conn: Connection, fingerprint: str, start: date, end: date) -> dict[date, datetime]:
    """The spec's recorded empty days in [start, end], each with when it was first answered empty."""
    rows = conn.execute(sa.select(EMPTY.c.day, EMPTY.c.first_empty_at).where(
        EMPTY.c.fingerprint == fingerprint, EMPTY.c.day >= start, EMPTY.c.day <= end)).all()
    return {day: first for day, first in rows}


def empty_days_among(conn: Connection, fingerprint: str, days: list[date]) -> dict[date, datetime]:
    """Which of `days` are recorded empty, each with when it was first answered empty."""
    return dict(conn.execute(sa.select(EMPTY.c.day, EMPTY.c.first_empty_at).where(
        EMPTY.c.fingerprint == fingerprint, EMPTY.c.day.in_(days))).all())


def all_empty_days(conn: Connection, fingerprint: str) -> list[date]:
    """Every recorded empty day of the spec, sorted."""
    return sorted(conn.execute(sa.select(EMPTY.c.day).where(EMPTY.c.fingerprint == fingerprint)).scalars())


def record_empty_days(conn: Connection, fingerprint: str, days: list[date], *, now: datetime) -> None:
    """Record the days as answered empty for the first time at `now` (a day already recorded keeps its row)."""
    rows = [{"fingerprint": fingerprint, "day": day, "first_empty_at": now} for day in days]
    for part in chunked(rows):
        conn.execute(dialect_insert(conn, EMPTY).on_conflict_do_nothing(index_elements=["fingerprint", "day"]),
                     list(part))


def delete_empty_days(conn: Connection, fingerprint: str, days: list[date]) -> None:
    """Forget the days' empty answers."""
    for part in chunked(days):
        conn.execute(sa.delete(EMPTY).where(EMPTY.c.fingerprint == fingerprint, EMPTY.c.day.in_(list(part))))
