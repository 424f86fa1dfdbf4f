"""`crawlspec report --db URL --out report.html`: the command line of the HTML report and its exit codes;
the page itself is `crawlspec.export.report.build_report`."""

from __future__ import annotations

import argparse
import sys

from crawlspec import exit_codes
from crawlspec.errors import CrawlspecError
from crawlspec.spec.database_url import DB_OPTION_HELP, default_db_url


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="crawlspec report", description="One self-contained HTML page picturing every crawl.")
    parser.add_argument("--db", default=default_db_url(), help=DB_OPTION_HELP)
    parser.add_argument("--out", default="report.html", help="the HTML file to write (default report.html)")
    parser.add_argument("--daily-quota", type=int, default=1000, help="the research requests/day budget (1000)")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    from crawlspec.export.output import atomic_output, check_out_path  # lazy: SQLAlchemy, for --help
    from crawlspec.export.report import build_report  # lazy: SQLAlchemy, plotly

    try:
        path = check_out_path(args.out, db_url=args.db)   # before the work: a bad --out costs nothing
        page = build_report(args.db, daily_quota=args.daily_quota)
        with atomic_output(path) as stream:
            stream.write(page.encode("utf-8"))
    except CrawlspecError as err:
        print(f"crawlspec report: {err}", file=sys.stderr)
        return err.exit_code
    except OSError as err:
        print(f"crawlspec report: cannot write {args.out}: {err.strerror or err}", file=sys.stderr)
        return exit_codes.FAILURE
    print(f"crawlspec report: wrote {args.out}", file=sys.stderr)
    return exit_codes.OK
