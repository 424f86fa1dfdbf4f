"""Windows that answer no video at all: an outage can answer 0 videos for every day without an error,
so one empty answer is not proof that the days are empty.

The days of an empty window are recorded in `empty_day`, not covered. A later run asks them again
(grouped among themselves, one request per window when they are still empty) once
`run.confirm_empty_after_hours` have passed; the second empty answer confirms them and covers them.
If the second answer has videos, the days are stored and covered like any other. Days inside the API's
index lag are never covered anyway, so they are not recorded here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crawlspec.storage import models
from crawlspec.storage.bulk import chunked, dialect_insert
from crawlspec.storage.models.base import table_of
from crawlspec.storage.models.enrichment import EmptyDay

EMPTY = table_of(EmptyDay)
WINDOWS = table_of(models.CrawlWindow)
DEFAULT_CONFIRM_AFTER_HOURS = 24.0


@dataclass(frozen=True)
class EmptyDays:
    """A spec's days answered empty once: those to leave alone this run, and those due for the check."""

    waiting: frozenset[date]
    due: frozenset[date]


def load(conn: Connection, fingerprint: str, start: date, end: date, *, now: datetime,
         confirm_after: timedelta) -> EmptyDays:
    rows = conn.execute(sa.select(EMPTY.c.day, EMPTY.c.first_empty_at).where(
        EMPTY.c.fingerprint == fingerprint, EMPTY.c.day >= start, EMPTY.c.day <= end)).all()
    due = frozenset(day for day, first in rows if first <= now - confirm_after)
    return EmptyDays(waiting=frozenset(day for day, _ in rows) - due, due=due)


def unconfirmed_days(conn: Connection, fingerprint: str) -> list[date]:
    """For `crawlspec status`: every day of the spec answered empty once and not confirmed yet."""
    return sorted(conn.execute(sa.select(EMPTY.c.day).where(EMPTY.c.fingerprint == fingerprint)).scalars())


def settle_window(conn: Connection, fingerprint: str, days: Iterable[date], *, videos: int,
                  now: datetime, confirm_after: timedelta) -> list[date]:
    """Call in the transaction of a window's last page, with the window's coverable days and the
    videos it delivered in all. Returns the days to cover now; records the others as empty once."""
    days = sorted(set(days))
    if not days:
        return []
    if videos:
        _clear(conn, fingerprint, days)
        return days
    known = dict(conn.execute(sa.select(EMPTY.c.day, EMPTY.c.first_empty_at).where(
        EMPTY.c.fingerprint == fingerprint, EMPTY.c.day.in_(days))).all())
    confirmed = [day for day in days if day in known and known[day] <= now - confirm_after]
    _clear(conn, fingerprint, confirmed)
    first_time = [{"fingerprint": fingerprint, "day": day, "first_empty_at": now} for day in days if day not in known]
    for part in chunked(first_time):
        conn.execute(dialect_insert(conn, EMPTY).on_conflict_do_nothing(index_elements=["fingerprint", "day"]),
                     list(part))
    return confirmed


def spec_had_videos(conn: Connection, fingerprint: str) -> bool:
    """Whether other windows of the same spec delivered videos (an empty answer after them is
    suspicious: the API may be answering empty for everything)."""
    query = sa.select(WINDOWS.c.id).where(WINDOWS.c.fingerprint == fingerprint, WINDOWS.c.videos > 0).limit(1)
    return conn.execute(query).first() is not None


def _clear(conn: Connection, fingerprint: str, days: list[date]) -> None:
    for part in chunked(days):
        conn.execute(sa.delete(EMPTY).where(EMPTY.c.fingerprint == fingerprint, EMPTY.c.day.in_(list(part))))
