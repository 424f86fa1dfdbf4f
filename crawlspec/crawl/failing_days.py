"""Persistently failing days: some date ranges answer 500 `internal_error` for months, and every
failed attempt is charged. The runner splits a window that still fails after the client's
retries into halves, down to single days; a single day that still fails is recorded here and skipped
until `retry_after`, which moves 1, 2, 4, ... days further at each new failure, at most
`run.failing_retry_max_days` (default 7: after an API-wide outage no day waits more than a week).
`run.retry_failing=true` retries every parked day at once. Failing days are never marked covered; a
later success clears them.

`failure_spend` counts, per UTC day and spec, the attempts that failed (every attempt of a call except
its successful last one), so `crawlspec status` can show what failures cost. This module decides; the
rows are read and written by `crawlspec.storage.failing_days`. None of these commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.engine import Connection

from crawlspec.errors import ApiError
from crawlspec.spec.windows import Window
from crawlspec.storage import checkpoints
from crawlspec.storage import failing_days as storage

DEFAULT_MAX_SPACING_DAYS = 7
MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class FailingDayState:
    day: date
    failures: int
    retry_after: date
    requests: int
    last_log_id: str | None
    last_error: str | None


def retry_spacing(failures: int, max_days: int = DEFAULT_MAX_SPACING_DAYS) -> timedelta:
    """Days to wait after the `failures`-th failure: 1, 2, 4, 8, ..., never more than `max_days`."""
    return timedelta(days=max(1, min(max_days, 2 ** min(30, max(0, failures - 1)))))


def is_persistent_server_failure(err: ApiError) -> bool:
    """An answer of the API's servers (5xx) that survived every retry. Timeouts and connection errors
    (no status) are not: they say nothing about the days asked for."""
    return err.status is not None and err.status >= 500


def halves(window: Window) -> tuple[Window, Window]:
    """The window split in two (the first half gets the middle day of an odd span)."""
    return window.halves()


def failing_days(conn: Connection, fingerprint: str, start: date, end: date, *,
                 max_spacing_days: int = DEFAULT_MAX_SPACING_DAYS) -> dict[date, FailingDayState]:
    """The spec's failing days in [start, end]; a retry date recorded under a larger maximum spacing is
    brought back to at most `max_spacing_days` after the last failure."""
    return {row.day: FailingDayState(
        row.day, row.failures, min(row.retry_after, row.last_failed_at.date() + timedelta(days=max_spacing_days)),
        row.requests, row.last_log_id, row.last_error)
        for row in storage.load_failing_days(conn, fingerprint, start, end)}


def record_failing_day(conn: Connection, fingerprint: str, day: date, *, error: ApiError, requests: int,
                       now: datetime, max_spacing_days: int = DEFAULT_MAX_SPACING_DAYS) -> FailingDayState:
    """One more failure of `day`: count it, keep the API's log_id and message, move `retry_after`."""
    before = storage.failure_count(conn, fingerprint, day)
    failures = 1 if before is None else before.failures + 1
    retry_after = now.date() + retry_spacing(failures, max_spacing_days)
    total_requests = requests + (0 if before is None else before.requests)
    last_error = str(error)[:MAX_ERROR_CHARS]
    storage.write_failing_day(conn, fingerprint, day, first=before is None, failures=failures,
                              requests=total_requests, last_log_id=error.log_id, last_error=last_error,
                              last_failed_at=now, retry_after=retry_after)
    return FailingDayState(day, failures, retry_after, total_requests, error.log_id, last_error)


def clear_failing_days(conn: Connection, fingerprint: str, days: Iterable[date]) -> int:
    """The days were delivered after all: they are no longer failing."""
    days = sorted(set(days))
    if not days:
        return 0
    return storage.delete_failing_days(conn, fingerprint, days)


def drop_window(conn: Connection, window_id: int) -> None:
    """Remove a window's checkpoint: it was split into halves, or its single day is now a failing day
    (a retry starts that day from cursor 0; upserts absorb any page stored before)."""
    checkpoints.delete_window(conn, window_id)


def summary_lines(stats: object) -> list[str]:
    """The run summary's lines about failing days and the quota failures cost (`CrawlStats`)."""
    days: list[str] = list(getattr(stats, "days_failing", []))
    skipped = int(getattr(stats, "days_failing_skipped", 0))
    failed = int(getattr(stats, "failed_requests", 0))
    lines = [f"  failing day (API 5xx after every retry, skipped for now): {day}" for day in days[:20]]
    if len(days) > 20:
        lines.append(f"  ... and {len(days) - 20} more failing days")
    if skipped:
        next_retry = getattr(stats, "next_failing_retry", None)
        when = f", next retry on or after {next_retry}" if next_retry else ""
        lines.append(f"  {skipped} known failing days not yet due for a retry were skipped (0 requests{when}; "
                     "run.retry_failing=true retries them now)")
    if failed:
        lines.append(f"  {failed} requests failed this run (charged all the same); see `crawlspec status`")
    return lines
