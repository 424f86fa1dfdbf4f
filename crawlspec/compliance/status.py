"""The parts of `crawlspec status` about compliance, data quality and failures: the age of the last compliance
refresh (and whether it breaks the refresh period, 15 days by default), records quarantined as unstorable,
videos whose metrics were still provisional when fetched, persistently failing days per spec, and the quota spent
on failed requests.

Read-only and tolerant of databases migrated before revisions 0003 and 0005 (the tables may be missing).
The figures are read through `crawlspec.storage.overview`; this module turns them into the report and its lines.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy.engine import Connection

from crawlspec.clock import iso_utc
from crawlspec.storage import overview as stored
from crawlspec.storage.matured import fetched_within

REFRESH_MAX_AGE_DAYS = 15
"""Default refresh period: the 2023 Research API terms say at least every 15 days (the 2026 terms are quoted
with 30); `crawlspec status --refresh-days N` / `compliance.refresh_days` set another."""
STATS_LAG_DAYS = 10
"""The API's statistics (views, likes, ...) keep changing for up to this many days after publication."""


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    moment: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def refresh_status(conn: Connection, now: datetime, max_age_days: int = REFRESH_MAX_AGE_DAYS) -> dict[str, Any]:
    """Age of the last complete refresh; `overdue` when older than `max_age_days`, or when nothing was
    ever refreshed and some stored video is older than that."""
    tables: dict[str, Any] = {}
    last: datetime | None = None
    for row in stored.table_refreshes(conn):
        refreshed = _aware(row["refreshed_at"])
        tables[row["table_name"]] = {"refreshed_at": iso_utc(refreshed), "rows_checked": row["rows_checked"],
                                     "rows_removed": row["rows_removed"], "total_removed": row["total_removed"]}
        last = refreshed if last is None or (refreshed and refreshed < last) else last
    running = stored.running_refresh(conn)
    oldest = stored.oldest_crawled_at(conn)
    age_days = None if last is None else round((now - last).total_seconds() / 86400, 1)
    if last is not None:
        overdue = age_days is not None and age_days > max_age_days
    else:
        oldest_at = _aware(oldest)
        overdue = oldest_at is not None and (now - oldest_at).total_seconds() > max_age_days * 86400
    return {"last_refresh_at": iso_utc(last), "age_days": age_days, "overdue": overdue,
            "max_age_days": max_age_days, "tables": tables,
            "in_progress": None if running is None else {"refresh_id": running[0],
                                                         "started_at": iso_utc(_aware(running[1]))}}


def failing_days_of(conn: Connection, fingerprint: str) -> list[dict[str, Any]]:
    rows = stored.failing_days(conn, fingerprint)
    return [{"day": str(row["day"])[:10], "failures": row["failures"], "requests": row["requests"],
             "last_log_id": row["last_log_id"], "last_error": row["last_error"],
             "first_failed_at": iso_utc(_aware(row["first_failed_at"])),
             "last_failed_at": iso_utc(_aware(row["last_failed_at"])),
             "retry_after": str(row["retry_after"])[:10]} for row in rows]


def failed_requests(conn: Connection, today: date, fingerprint: str | None = None) -> dict[str, int]:
    """Requests that failed (and were charged): today and in total, for one spec or all."""
    rows = stored.failure_spend(conn, fingerprint)
    return {"today": sum(r[1] for r in rows if str(r[0])[:10] == today.isoformat()),
            "total": sum(r[1] for r in rows)}


def render_refresh(report: dict[str, Any]) -> list[str]:
    refresh = report.get("refresh")
    if not refresh:
        return []
    limit = refresh["max_age_days"]
    if refresh["last_refresh_at"] is None:
        line = "compliance refresh: never run"
        if refresh["overdue"]:
            line += (f"; OVERDUE: stored data is older than {limit} days (the refresh period set) and the API "
                     "terms require regular refreshes: run `crawlspec refresh`")
    else:
        line = f"compliance refresh: last {refresh['last_refresh_at']} ({refresh['age_days']} days ago)"
        if refresh["overdue"]:
            line += (f"; OVERDUE: older than {limit} days (the refresh period set), the API terms require a "
                     "refresh: run `crawlspec refresh`")
    lines = [line]
    for table, info in refresh["tables"].items():
        lines.append(f"  {table}: {info['rows_checked']} checked, {info['rows_removed']} removed "
                     f"({info['total_removed']} removed by all refreshes)")
    if refresh["in_progress"]:
        lines.append(f"  a refresh started {refresh['in_progress']['started_at']} is unfinished: "
                     "`crawlspec refresh` continues it")
    return lines


def render_spec_failures(spec: dict[str, Any]) -> list[str]:
    lines = [f"  FAILING DAY {d['day']}: {d['failures']} failures, {d['requests']} requests, last "
             f"{d['last_failed_at']} (log_id {d['last_log_id']}); next retry on or after {d['retry_after']}"
             for d in spec.get("failing_days", [])]
    spent = spec.get("failed_requests") or {}
    if spent.get("total"):
        lines.append(f"  quota spent on failed requests: {spent['today']} today, {spent['total']} in total")
    return lines


def quarantine_status(conn: Connection) -> dict[str, Any]:
    """Records kept in `quarantine` (unstorable as sent), in total and per endpoint."""
    rows = stored.quarantined_by_endpoint(conn)
    return {"total": sum(n for _, n in rows), "by_endpoint": {endpoint: n for endpoint, n in rows}}


def provisional_status(conn: Connection, now: datetime, lag_days: int = STATS_LAG_DAYS) -> dict[str, Any]:
    """Stored videos whose metrics were fetched less than `lag_days` after publication (still changing
    then), and how many of those are mature now (a re-fetch would give final counts)."""
    provisional, mature = stored.provisional_videos(conn, fetched_within(conn, lag_days),
                                                    created_before=now - timedelta(days=lag_days))
    return {"stats_lag_days": lag_days, "provisional": provisional, "provisional_now_mature": mature}


def render_data_quality(report: dict[str, Any]) -> list[str]:
    lines = []
    quarantine = report.get("quarantine") or {}
    if quarantine.get("total"):
        parts = ", ".join(f"{n} from {endpoint}" for endpoint, n in quarantine["by_endpoint"].items())
        lines.append(f"quarantined records (unstorable as sent, kept whole): {quarantine['total']} ({parts}); "
                     "`crawlspec export --table quarantine` writes them")
    metrics = report.get("metrics") or {}
    if metrics.get("provisional"):
        lines.append(f"provisional metrics: {metrics['provisional']} stored videos were fetched less than "
                     f"{metrics['stats_lag_days']} days after publication (counts still changing then); "
                     f"{metrics['provisional_now_mature']} are mature now: `run.refetch_provisional=true` "
                     "re-fetches their days once")
    return lines
