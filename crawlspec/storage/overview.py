"""The read model of `crawlspec status` and `crawlspec report` beyond the stages' progress: the stored
specs, their last crawl, covered days and unfinished windows, today's quota per pool, endpoints not
authorized, the compliance refresh's bookkeeping, quarantined records, failing days, quota spent on
failed requests and provisional metrics.

Read-only: every function takes a `Connection` and returns plain values (rows as dicts, tuples or
counts, as stored: dates and timestamps are normalised by the callers). Tolerant of databases migrated
before a table existed: a missing table reads as no rows.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crawlspec.storage.models import Video


def has_table(conn: Connection, table: str) -> bool:
    return sa.inspect(conn).has_table(table)


def specs(conn: Connection) -> list[dict[str, Any]]:
    """Every `crawl_spec` row (fingerprint, name, query, fetch), by name then fingerprint."""
    return [dict(row) for row in conn.execute(sa.text(
        "SELECT fingerprint, name, query, \"fetch\" FROM crawl_spec ORDER BY name, fingerprint")).mappings()]


def videos_total(conn: Connection) -> int:
    count: int = conn.execute(sa.text("SELECT count(*) FROM video")).scalar_one()
    return count


def quota_used(conn: Connection, day: date) -> dict[str, int]:
    """Requests charged to each quota pool on `day`."""
    return {pool: used for pool, used in
            conn.execute(sa.text("SELECT pool, used FROM quota_ledger WHERE day = :d"), {"d": day})}


def endpoints_not_authorized(conn: Connection) -> list[tuple[str, Any, str | None]]:
    """(endpoint, checked_at, message) of each endpoint recorded as not authorized, by endpoint."""
    if not has_table(conn, "endpoint_access"):
        return []
    return [(r.endpoint, r.checked_at, r.message) for r in conn.execute(sa.text(
        "SELECT endpoint, checked_at, message FROM endpoint_access ORDER BY endpoint"))]


def last_crawl(conn: Connection, fingerprint: str) -> dict[str, Any] | None:
    """The newest `crawl` row of a spec (id, range, times, outcome, exit code, requests, videos)."""
    row = conn.execute(sa.text(
        "SELECT id, start_date, end_date, started_at, finished_at, outcome, exit_code, requests, videos "
        "FROM crawl WHERE fingerprint = :fp ORDER BY id DESC LIMIT 1"), {"fp": fingerprint}).mappings().first()
    return None if row is None else dict(row)


def covered_days(conn: Connection, fingerprint: str) -> list[Any]:
    """The spec's covered days, as stored."""
    return list(conn.execute(sa.text("SELECT day FROM covered_day WHERE fingerprint = :fp"),
                             {"fp": fingerprint}).scalars())


def unfinished_windows(conn: Connection, fingerprint: str) -> list[dict[str, Any]]:
    """The spec's `crawl_window` rows not done, by start date."""
    return [dict(r) for r in conn.execute(sa.text(
        "SELECT start_date, end_date, status, cursor, pages, videos, failures, last_error, updated_at "
        "FROM crawl_window WHERE fingerprint = :fp AND status <> 'done' ORDER BY start_date"),
        {"fp": fingerprint}).mappings()]


def spec_videos(conn: Connection, fingerprint: str) -> int:
    """Distinct videos stored by any crawl of the spec."""
    count: int = conn.execute(sa.text(
        "SELECT count(DISTINCT vc.video_id) FROM videos_to_crawls vc JOIN crawl c ON c.id = vc.crawl_id "
        "WHERE c.fingerprint = :fp"), {"fp": fingerprint}).scalar_one()
    return count


def table_refreshes(conn: Connection) -> list[dict[str, Any]]:
    """The compliance refresh's `table_refresh` rows, by table name."""
    if not has_table(conn, "table_refresh"):
        return []
    return [dict(row) for row in conn.execute(sa.text(
        "SELECT table_name, refreshed_at, finished_at, rows_checked, rows_removed, total_removed "
        "FROM table_refresh ORDER BY table_name")).mappings()]


def running_refresh(conn: Connection) -> tuple[int, Any] | None:
    """(id, started_at) of the newest refresh run still marked running."""
    if not has_table(conn, "table_refresh"):
        return None
    row = conn.execute(sa.text(
        "SELECT id, started_at FROM refresh_run WHERE status = 'running' ORDER BY id DESC LIMIT 1")).first()
    return None if row is None else (row[0], row[1])


def oldest_crawled_at(conn: Connection) -> Any:
    """When the longest-stored video was first fetched (None without videos), as stored."""
    return conn.execute(sa.text("SELECT min(crawled_at) FROM video")).scalar()


def failing_days(conn: Connection, fingerprint: str) -> list[dict[str, Any]]:
    """The spec's `failing_day` rows, by day."""
    if not has_table(conn, "failing_day"):
        return []
    return [dict(row) for row in conn.execute(sa.text(
        "SELECT day, failures, requests, last_log_id, last_error, first_failed_at, last_failed_at, retry_after "
        "FROM failing_day WHERE fingerprint = :fp ORDER BY day"), {"fp": fingerprint}).mappings()]


def failure_spend(conn: Connection, fingerprint: str | None = None) -> list[tuple[Any, int]]:
    """(day, requests) spent on failed requests, of one spec or (None) of all."""
    if not has_table(conn, "failure_spend"):
        return []
    where, params = ("WHERE fingerprint = :fp", {"fp": fingerprint}) if fingerprint else ("", {})
    return [(day, requests) for day, requests in
            conn.execute(sa.text(f"SELECT day, requests FROM failure_spend {where}"), params)]


def quarantined_by_endpoint(conn: Connection) -> list[tuple[str, int]]:
    """Quarantined records per endpoint, by endpoint."""
    if not has_table(conn, "quarantine"):
        return []
    return [(endpoint, n) for endpoint, n in conn.execute(sa.text(
        "SELECT endpoint, count(*) FROM quarantine GROUP BY endpoint ORDER BY endpoint"))]


def provisional_videos(conn: Connection, fetched_early: sa.ColumnElement[bool], *,
                       created_before: datetime) -> tuple[int, int]:
    """Stored videos matching `fetched_early` (their counts were provisional when fetched), and how many
    of them were created on or before `created_before` (mature now)."""
    provisional = sa.select(sa.func.count()).select_from(Video).where(Video.create_time.is_not(None), fetched_early)
    mature = provisional.where(Video.create_time <= created_before)
    return conn.execute(provisional).scalar_one(), conn.execute(mature).scalar_one()
