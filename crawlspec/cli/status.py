"""`crawlspec status [--db URL] [--json]`: what each spec fingerprint has covered, what is pending or in
progress, what failed, and today's quota. Read-only; never imports Hydra (it starts fast)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, timedelta
from typing import Any

from crawlspec import exit_codes
from crawlspec.errors import CrawlspecError
from crawlspec.storage.database_url import DB_OPTION_HELP, default_db_url


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="crawlspec status", description=__doc__)
    parser.add_argument("--db", default=default_db_url(), help=DB_OPTION_HELP)
    parser.add_argument("--json", action="store_true", help="one stable JSON document on stdout")
    parser.add_argument("--daily-quota", type=int, default=1000,
                        help="the research requests/day budget to report against (default 1000)")
    parser.add_argument("--refresh-days", type=int, default=15,
                        help="refresh period the API terms require, in days: OVERDUE beyond it (default 15)")
    parser.add_argument("--stats-lag-days", type=int, default=10,
                        help="days after publication before a video's metrics are final (default 10)")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        report = collect_status(args.db, daily_quota=args.daily_quota, refresh_days=args.refresh_days,
                                stats_lag_days=args.stats_lag_days)
    except CrawlspecError as err:
        print(f"crawlspec status: {err}", file=sys.stderr)
        return err.exit_code
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True, default=str))
    else:
        print(render_text(report))
    return exit_codes.OK


def collect_status(db_url: str, *, daily_quota: int = 1000, refresh_days: int = 15,
                   stats_lag_days: int = 10) -> dict[str, Any]:
    import sqlalchemy as sa

    from crawlspec.clock import utc_now, utc_today
    from crawlspec.compliance import status as compliance_status
    from crawlspec.storage.database import open_existing_database, resolve_db_url

    url = resolve_db_url(db_url)
    engine = open_existing_database(url)
    today = utc_today()
    try:
        with engine.connect() as conn:
            specs = [_spec_status(conn, row) for row in conn.execute(sa.text(
                "SELECT fingerprint, name, query, \"fetch\" FROM crawl_spec ORDER BY name, fingerprint")).mappings()]
            videos_total = conn.execute(sa.text("SELECT count(*) FROM video")).scalar_one()
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


def _endpoints_not_authorized(conn: Any) -> list[dict[str, str]]:
    """Endpoints the project is not approved for (empty on a database older than the table)."""
    import sqlalchemy as sa

    if not sa.inspect(conn).has_table("endpoint_access"):
        return []
    from crawlspec.clock import iso_utc

    return [{"endpoint": r.endpoint, "checked_at": iso_utc(r.checked_at), "message": r.message or ""}
            for r in conn.execute(sa.text(
                "SELECT endpoint, checked_at, message FROM endpoint_access ORDER BY endpoint"))]


def _safe_url(url: str) -> str:
    import sqlalchemy as sa

    return sa.engine.make_url(url).render_as_string(hide_password=True)


def _quota_status(conn: Any, today: date, daily_quota: int) -> dict[str, Any]:
    import sqlalchemy as sa

    from crawlspec.api.fields import quota_pool_limits

    limits = quota_pool_limits(daily_quota)
    used = dict(conn.execute(sa.text("SELECT pool, used FROM quota_ledger WHERE day = :d"),
                             {"d": today}).all())
    return {pool: {"used": used.get(pool, 0), "limit": limit, "remaining": max(0, limit - used.get(pool, 0))}
            for pool, limit in limits.items()}


def _spec_status(conn: Any, spec: Any) -> dict[str, Any]:
    import sqlalchemy as sa

    from crawlspec.clock import iso_utc, utc_today
    from crawlspec.compliance import status as compliance_status
    from crawlspec.storage import stage_progress

    fp = spec["fingerprint"]
    last = conn.execute(sa.text(
        "SELECT id, start_date, end_date, started_at, finished_at, outcome, exit_code, requests, videos "
        "FROM crawl WHERE fingerprint = :fp ORDER BY id DESC LIMIT 1"), {"fp": fp}).mappings().first()
    covered = {_as_date(r[0]) for r in conn.execute(
        sa.text("SELECT day FROM covered_day WHERE fingerprint = :fp"), {"fp": fp})}
    windows = [dict(r) for r in conn.execute(sa.text(
        "SELECT start_date, end_date, status, cursor, pages, videos, failures, last_error, updated_at "
        "FROM crawl_window WHERE fingerprint = :fp AND status <> 'done' ORDER BY start_date"),
        {"fp": fp}).mappings()]
    videos = conn.execute(sa.text(
        "SELECT count(DISTINCT vc.video_id) FROM videos_to_crawls vc JOIN crawl c ON c.id = vc.crawl_id "
        "WHERE c.fingerprint = :fp"), {"fp": fp}).scalar_one()
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
        "stages": None if users_spec else _video_stages(conn, spec, stage_progress),
        "windows_in_progress": [_window(w) for w in started],
        "windows_not_started": sum(1 for w in windows if w["status"] != "failed" and w not in started),
        "windows_failed": [_window(w) for w in windows if w["status"] == "failed"],
        "failing_days": compliance_status.failing_days_of(conn, fp),
        "empty_days_unconfirmed": [str(day) for day in sorted(stage_progress.unconfirmed_empty_days(conn, fp))],
        "failed_requests": compliance_status.failed_requests(conn, utc_today(), fp),
        "last_run": None if not last else {
            "crawl_id": last["id"], "started_at": iso_utc(last["started_at"]),
            "finished_at": iso_utc(last["finished_at"]),
            "outcome": last["outcome"] or "running or killed", "exit_code": last["exit_code"],
            "requests": last["requests"], "videos": last["videos"]},
    }


def _video_stages(conn: Any, spec: Any, progress: Any) -> dict[str, Any]:
    """The stages after the videos that this spec asked for (or that have done work): done/pending."""
    fetch = spec.get("fetch") or {}
    if isinstance(fetch, str):
        fetch = json.loads(fetch or "{}")
    stages: dict[str, Any] = {}
    comments = progress.comment_stage(conn, spec["fingerprint"])
    if fetch.get("comments") or comments.done:
        stages["comments"] = comments.as_dict()
    creators = progress.creator_stage(conn, spec["fingerprint"])
    if fetch.get("user_info"):
        stages["creators"] = creators.as_dict()
    return stages


def _is_users_spec(query: Any) -> bool:
    """A `users:` spec has no video query (its crawl_spec row stores `{}`)."""
    if isinstance(query, str):
        query = json.loads(query or "{}")
    return not query


def _window(row: dict) -> dict[str, Any]:
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


def render_text(report: dict[str, Any]) -> str:
    from crawlspec.compliance.status import render_data_quality, render_refresh, render_spec_failures

    research = report["quota"]["research"]
    lines = [f"database: {report['database']}",
             f"quota today ({report['today']} UTC): {research['used']} used, {research['remaining']} left "
             f"of {research['limit']} research requests",
             f"videos stored: {report['videos_total']}"]
    failed = research.get("failed_requests") or report["quota"].get("failed_requests") or {}
    if failed.get("total"):
        lines.append(f"quota spent on failed requests (5xx, timeouts; charged all the same): "
                     f"{failed['today']} today, {failed['total']} in total")
    lines += render_refresh(report)
    lines += render_data_quality(report)
    lines += [f"not authorized for this project: {e['endpoint']} (last asked {e['checked_at']}; asked again "
              "from the next UTC day)" for e in report.get("endpoints_not_authorized", [])]
    if not report["specs"]:
        lines.append("no crawls yet")
    variants: dict[str, int] = {}
    for spec in report["specs"]:
        variants[spec["name"]] = variants.get(spec["name"], 0) + 1
    shown: set[str] = set()
    for spec in report["specs"]:
        if variants[spec["name"]] > 1:
            if spec["name"] not in shown:
                lines.append(f"\nspec {spec['name']}: {variants[spec['name']]} variants (sweep jobs or changed "
                             "queries; each has its own coverage)")
                shown.add(spec["name"])
            lines.append(f"  variant [fingerprint {spec['fingerprint'][:12]}]")
        else:
            lines.append(f"\nspec {spec['name']}  [fingerprint {spec['fingerprint'][:12]}]")
        if spec["requested"]:
            lines.append(f"  days: {spec['days_covered']} covered, {spec['days_pending']} pending of "
                         f"{spec['requested']['start']}..{spec['requested']['end']}")
        if spec.get("user_lists") is not None:
            counts = ", ".join(f"{n} {status}" for status, n in spec["user_lists"].items()) or "none yet"
            lines.append(f"  user lists: {counts}")
        lines.append(f"  videos: {spec['videos']}")
        for name, counts in (spec.get("stages") or {}).items():
            extra = f", {counts['comments_stored']} comments stored" if "comments_stored" in counts else ""
            lines.append(f"  {name}: {counts['done']} done, {counts['pending']} pending{extra}")
        for w in spec["windows_in_progress"]:
            lines.append(f"  in progress: {w['start_date']}..{w['end_date']} cursor {w['cursor']} "
                         f"({w['pages']} pages, {w['videos']} videos)")
        if spec.get("windows_not_started"):
            lines.append(f"  pending windows not started yet: {spec['windows_not_started']}")
        for w in spec["windows_failed"]:
            lines.append(f"  FAILED: {w['start_date']}..{w['end_date']} after {w['failures']} failures: "
                         f"{w['last_error']}")
        run = spec["last_run"]
        if run:
            code = "" if run["exit_code"] is None else f", exit {run['exit_code']}"
            lines.append(f"  last run: {run['started_at']} {run['outcome']}{code}, {run['requests']} requests")
        if spec.get("empty_days_unconfirmed"):
            empty = spec["empty_days_unconfirmed"]
            lines.append(f"  answered empty once, not covered until confirmed: {len(empty)} days "
                         f"({empty[0]}..{empty[-1]})")
        lines += render_spec_failures(spec)
    return "\n".join(lines)
