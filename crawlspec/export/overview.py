"""What the database holds, spec by spec: days covered and pending, windows in progress or failed, the
stages after the videos, today's quota, the refresh and data-quality figures. The data of
`crawlspec status` (which renders it) and of `crawlspec report` (which draws it). Read-only: the
statements are in `crawlspec.storage.overview` and `crawlspec.storage.stage_progress`.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from sqlalchemy.engine import Connection, make_url

from crawlspec.api.fields import quota_pool_limits
from crawlspec.clock import iso_utc, utc_now, utc_today
from crawlspec.compliance import status as compliance_status
from crawlspec.crawl import auto_windows
from crawlspec.storage import overview as stored
from crawlspec.storage import stage_progress, window_learning
from crawlspec.storage.database import open_existing_database, resolve_db_url


def collect_status(db_url: str, *, daily_quota: int = 1000, refresh_days: int = 15,
                   stats_lag_days: int = 10) -> dict[str, Any]:
    url = resolve_db_url(db_url)
    engine = open_existing_database(url)
    today = utc_today()
    try:
        with engine.connect() as conn:
            specs = [_spec_status(conn, row) for row in stored.specs(conn)]
            videos_total = stored.videos_total(conn)
            quota = _quota_status(conn, today, daily_quota)
            quota["failed_requests"] = compliance_status.failed_requests(conn, today)
            refresh = compliance_status.refresh_status(conn, utc_now(), refresh_days)
            quarantine = compliance_status.quarantine_status(conn)
            metrics = compliance_status.provisional_status(conn, utc_now(), stats_lag_days)
            not_authorized = _endpoints_not_authorized(conn)
    finally:
        engine.dispose()
    return {"database": _safe_url(url), "today": today.isoformat(), "quota": quota,
            "videos_total": videos_total, "refresh": refresh, "quarantine": quarantine, "metrics": metrics,
            "specs": specs, "endpoints_not_authorized": not_authorized}


def _endpoints_not_authorized(conn: Connection) -> list[dict[str, Any]]:
    """Endpoints the project is not approved for (empty on a database older than the table)."""
    return [{"endpoint": endpoint, "checked_at": iso_utc(checked_at), "message": message or ""}
            for endpoint, checked_at, message in stored.endpoints_not_authorized(conn)]


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _quota_status(conn: Connection, today: date, daily_quota: int) -> dict[str, Any]:
    limits = quota_pool_limits(daily_quota)
    used = stored.quota_used(conn, today)
    return {pool: {"used": used.get(pool, 0), "limit": limit, "remaining": max(0, limit - used.get(pool, 0))}
            for pool, limit in limits.items()}


def _spec_status(conn: Connection, spec: dict[str, Any]) -> dict[str, Any]:
    fp = spec["fingerprint"]
    last = stored.last_crawl(conn, fp)
    covered = {_as_date(day) for day in stored.covered_days(conn, fp)}
    windows = stored.unfinished_windows(conn, fp)
    videos = stored.spec_videos(conn, fp)
    users_spec = _is_users_spec(spec["query"])
    requested = set() if users_spec else _requested_days(last)
    started = [w for w in windows if w["status"] != "failed" and (w["pages"] or w["cursor"])]
    return {
        "name": spec["name"], "fingerprint": fp, "videos": videos,
        "requested": None if not last or users_spec else {"start": str(_as_date(last["start_date"])),
                                                          "end": str(_as_date(last["end_date"]))},
        # days of the requested range only: coverage from earlier, wider runs is not counted twice
        "days_covered": len(covered & requested) if requested else len(covered),
        "days_pending": len(requested - covered),
        "user_lists": stage_progress.user_list_stage(conn, fp) if users_spec else None,
        "stages": None if users_spec else _video_stages(conn, spec),
        "windows_in_progress": [_window(w) for w in started],
        "windows_not_started": sum(1 for w in windows if w["status"] != "failed" and w not in started),
        "windows_failed": [_window(w) for w in windows if w["status"] == "failed"],
        "failing_days": compliance_status.failing_days_of(conn, fp),
        "empty_days_unconfirmed": [str(day) for day in sorted(stage_progress.unconfirmed_empty_days(conn, fp))],
        "failed_requests": compliance_status.failed_requests(conn, utc_today(), fp),
        "window_sizes": _window_sizes(conn, fp),
        "last_run": None if not last else {
            "crawl_id": last["id"], "started_at": iso_utc(last["started_at"]),
            "finished_at": iso_utc(last["finished_at"]),
            "outcome": last["outcome"] or "running or killed", "exit_code": last["exit_code"],
            "requests": last["requests"], "videos": last["videos"]},
    }


def _window_sizes(conn: Connection, fingerprint: str) -> dict[str, Any] | None:
    """What auto-sized windows learned for the spec (None: it never ran with `days_per_query: auto`)."""
    if not stored.has_table(conn, "window_learning") or window_learning.load_learning(conn, fingerprint) is None:
        return None
    learned, _expected = auto_windows.load(conn, fingerprint)
    scale = learned.scale
    return {"failures": learned.failures, "windows_given_back": learned.splits, "max_days": learned.max_days,
            "failure_scale": None if scale is None else round(scale)}


def _video_stages(conn: Connection, spec: dict[str, Any]) -> dict[str, Any]:
    """The stages after the videos that this spec asked for (or that have done work): done/pending."""
    fetch = spec.get("fetch") or {}
    if isinstance(fetch, str):
        fetch = json.loads(fetch or "{}")
    stages: dict[str, Any] = {}
    comments = stage_progress.comment_stage(conn, spec["fingerprint"])
    if fetch.get("comments") or comments.done:
        stages["comments"] = comments.as_dict()
    creators = stage_progress.creator_stage(conn, spec["fingerprint"])
    if fetch.get("user_info"):
        stages["creators"] = creators.as_dict()
    return stages


def _is_users_spec(query: Any) -> bool:
    """A `users:` spec has no video query (its crawl_spec row stores `{}`)."""
    if isinstance(query, str):
        query = json.loads(query or "{}")
    return not query


def _window(row: dict[str, Any]) -> dict[str, Any]:
    return {"start_date": str(_as_date(row["start_date"])), "end_date": str(_as_date(row["end_date"])),
            "status": row["status"], "cursor": row["cursor"], "pages": row["pages"], "videos": row["videos"],
            "failures": row["failures"], "last_error": row["last_error"]}


def _requested_days(last: Any) -> set[date]:
    if not last or not last["start_date"] or not last["end_date"]:
        return set()
    start, end = _as_date(last["start_date"]), _as_date(last["end_date"])
    return {start + timedelta(days=i) for i in range((end - start).days + 1)}


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
