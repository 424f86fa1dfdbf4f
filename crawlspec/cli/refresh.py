"""`crawlspec refresh [--db URL]`: the 15-day compliance refresh the Research API terms require.

Sends every stored video and comment id to the API's compliance endpoints and deletes what it no longer
serves; a refresh killed at any point continues on the next call. Exit codes as for `run`: 0 complete,
75 resumable work left (a Failed or still-processing task, quota, SIGINT/SIGTERM), 77 credentials
rejected, 2 bad arguments, 1 anything else. The work is `crawlspec.compliance.refresh`.
"""

from __future__ import annotations

import argparse
import sys

from crawlspec.errors import CrawlspecError
from crawlspec.logs import configure_logging, redact_text
from crawlspec.spec.database_url import DB_OPTION_HELP, default_db_url


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="crawlspec refresh", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add = parser.add_argument
    add("--db", default=default_db_url(), help=DB_OPTION_HELP)
    add("--base-url", default=None, help="API base URL (default $CRAWLSPEC_API_BASE_URL, else the real API)")
    add("--credentials-file", default="secrets.yaml",
        help="client key/secret YAML (default secrets.yaml); CRAWLSPEC_CLIENT_KEY/SECRET take precedence")
    add("--daily-quota", type=int, default=1000, help="research requests/day shared with `run` (default 1000)")
    add("--poll-wait", type=float, default=10.0,
        help="seconds before the first status poll is repeated; doubles up to 300 (default 10)")
    add("--log-format", default="auto", choices=("auto", "console", "json"))
    add("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    try:
        args = parse_args(argv)
    except SystemExit as stop:
        return int(stop.code or 0)

    configure_logging(args.log_format, args.log_level)
    from crawlspec.compliance.refresh import refresh, summary  # lazy: SQLAlchemy, requests; --help skips them

    try:
        report, db_display = refresh(args.db, base_url=args.base_url, credentials_file=args.credentials_file,
                                     daily_quota=args.daily_quota, poll_wait_s=args.poll_wait)
    except CrawlspecError as err:
        print(f"crawlspec refresh: {redact_text(str(err))}", file=sys.stderr)
        return err.exit_code
    print(summary(report, db_display), file=sys.stderr)
    return report.exit_code


