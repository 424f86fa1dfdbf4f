"""`crawlspec export`: stream a stored table to csv, JSON lines or Parquet.

    crawlspec export --db URL --table video --format csv --out video.csv [--tag T] [--spec NAME]

The command line and its exit codes; the work is `crawlspec.export.table.export_table`. Never imports
Hydra or pandas, and SQLAlchemy only once the arguments are parsed: `--help` starts fast.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator

from crawlspec import exit_codes
from crawlspec.errors import CrawlspecError
from crawlspec.export import DEFAULT_BATCH_SIZE
from crawlspec.spec.database_url import DB_OPTION_HELP, default_db_url


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crawlspec export", description="Stream a stored table to csv, JSON lines or Parquet.",
        epilog="Tables: video (with hashtag_names, effect_ids, crawl_tags), comment, user_info, crawl, "
               "crawl_tag, hashtag, ... --tag/--spec keep the videos carrying that crawl tag / found by "
               "crawls of that spec; for comment: the comments of those videos; for user_info: their "
               "creators; for crawl: the crawls with that tag / spec.")
    parser.add_argument("--db", default=default_db_url(), help=DB_OPTION_HELP)
    parser.add_argument("--table", default="video", help="table to export (default video)")
    parser.add_argument("--format", dest="fmt", metavar="{csv,jsonl,parquet}",
                        help="output format (default: from the --out suffix; csv for stdout)")
    parser.add_argument("--out", required=True, help="output file, or - for stdout (csv / jsonl)")
    parser.add_argument("--tag", help="only rows linked to videos carrying this crawl tag")
    parser.add_argument("--spec", help="only rows linked to videos found by crawls of this spec name")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
                        help=f"rows fetched per round trip (default {DEFAULT_BATCH_SIZE})")
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    from crawlspec.export.table import export_table  # lazy: SQLAlchemy is slow to import; --help skips it

    try:
        with _sigterm_interrupts():
            result = export_table(args.db, args.table, args.out, fmt=args.fmt, tag=args.tag, spec=args.spec,
                                  batch_size=args.batch_size)
    except KeyboardInterrupt:
        _warn(f"interrupted; {args.out} was not written (run the export again)")
        return exit_codes.RESUMABLE
    except CrawlspecError as err:
        _warn(str(err))
        return err.exit_code
    except BrokenPipeError:
        # `crawlspec export --out - | head`: the reader went away; say nothing more on a dead pipe.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return exit_codes.FAILURE
    except OSError as err:
        _warn(f"cannot write {args.out}: {err.strerror or err}")
        return exit_codes.FAILURE
    print(result.summary(), file=sys.stderr)
    return exit_codes.OK


def _warn(message: str) -> None:
    print(f"crawlspec export: {message}", file=sys.stderr)


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C, so that the partial temporary file is removed (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


