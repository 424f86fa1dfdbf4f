"""`crawlspec status [--db URL] [--json]`: what each spec fingerprint has covered, what is pending or in
progress, what failed, and today's quota. Read-only; never imports Hydra, and SQLAlchemy only once the
arguments are parsed (`--help` starts fast)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from crawlspec import exit_codes
from crawlspec.errors import CrawlspecError
from crawlspec.spec.database_url import DB_OPTION_HELP, default_db_url


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
    from crawlspec.export.overview import collect_status  # lazy: imports SQLAlchemy

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


def render_text(report: dict[str, Any]) -> str:
    # lazy: the compliance package imports SQLAlchemy
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
        sizes = spec.get("window_sizes")
        if sizes and sizes["failures"]:
            scale = (f"a search of about {sizes['failure_scale']} videos fails half the time"
                     if sizes["failure_scale"] is not None else "failure scale not known yet")
            lines.append(f"  auto windows: {sizes['failures']} 5xx answers seen, {sizes['windows_given_back']} windows "
                         f"planned again; {scale}; day limit {sizes['max_days']}")
        if spec.get("empty_days_unconfirmed"):
            empty = spec["empty_days_unconfirmed"]
            lines.append(f"  answered empty once, not covered until confirmed: {len(empty)} days "
                         f"({empty[0]}..{empty[-1]})")
        lines += render_spec_failures(spec)
    return "\n".join(lines)
