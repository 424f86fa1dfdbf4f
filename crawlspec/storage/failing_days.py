"""The rows behind persistently failing days: `failing_day` (one row per spec and day that still
answers 5xx after every retry) and `failure_spend` (failed attempts per UTC day and spec).

Plain reads and writes; when a day is retried and how far its retry moves are decided by the crawl
(`crawlspec.crawl.failing_days`). None of these commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crawlspec.storage.bulk import dialect_insert
from crawlspec.storage.models import FailingDay, FailureSpend
from crawlspec.storage.models.base import table_of

FAILING_TABLE = table_of(FailingDay)
SPEND_TABLE = table_of(FailureSpend)


@dataclass(frozen=True)
class FailingDayRow:
    """A failing day as stored."""

    day: date
    failures: int
    retry_after: date
    last_failed_at: datetime
    requests: int
    last_log_id: str | None
    last_error: str | None


@dataclass(frozen=True)
class FailureCount:
    """How often a day failed so far, and the requests those failures cost."""

    failures: int
    requests: int


def load_failing_days(conn: Connection, fingerprint: str, start: date, end: date) -> list[FailingDayRow]:
    """The spec's failing days in [start, end]."""
    table = FAILING_TABLE
    rows = conn.execute(sa.select(table).where(
        table.c.fingerprint == fingerprint, table.c.day >= start, table.c.day <= end))
    return [FailingDayRow(row.day, row.failures, row.retry_after, row.last_failed_at, row.requests,
                          row.last_log_id, row.last_error) for row in rows]


def failure_count(conn: Connection, fingerprint: str, day: date) -> FailureCount | None:
    """The day's failures and requests so far; None when the day is not failing."""
    table = FAILING_TABLE
    row = conn.execute(sa.select(table.c.failures, table.c.requests).where(
        table.c.fingerprint == fingerprint, table.c.day == day)).first()
    return None if row is None else FailureCount(int(row.failures), int(row.requests))


def write_failing_day(conn: Connection, fingerprint: str, day: date, *, first: bool, failures: int,
                      requests: int, last_log_id: str | None, last_error: str, last_failed_at: datetime,
                      retry_after: date) -> None:
    """Insert the day's row (`first`: it was not failing before) or update it."""
    table = FAILING_TABLE
    values: dict[str, Any] = {"failures": failures, "requests": requests, "last_log_id": last_log_id,
                              "last_error": last_error, "last_failed_at": last_failed_at,
                              "retry_after": retry_after}
    if first:
        conn.execute(sa.insert(table).values(fingerprint=fingerprint, day=day, first_failed_at=last_failed_at,
                                             **values))
    else:
        conn.execute(sa.update(table).where(table.c.fingerprint == fingerprint, table.c.day == day)
                     .values(**values))


def delete_failing_days(conn: Connection, fingerprint: str, days: list[date]) -> int:
    """Remove the days' rows; returns how many there were."""
    table = FAILING_TABLE
    result = conn.execute(sa.delete(table).where(table.c.fingerprint == fingerprint, table.c.day.in_(days)))
    return result.rowcount or 0


def add_failure_spend(conn: Connection, fingerprint: str, day: date, requests: int) -> None:
    """Add `requests` failed attempts to the spec's count of `day` (nothing when there are none)."""
    if requests <= 0:
        return
    stmt = dialect_insert(conn, SPEND_TABLE)
    stmt = stmt.on_conflict_do_update(index_elements=["day", "fingerprint"],
                                      set_={"requests": SPEND_TABLE.c.requests + stmt.excluded.requests})
    conn.execute(stmt, {"day": day, "fingerprint": fingerprint, "requests": int(requests)})

