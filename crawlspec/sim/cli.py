"""`crawlspec sim`: serve the simulator until SIGINT/SIGTERM.

The first stdout line is `listening on http://HOST:PORT` (the real port when --port 0), printed only
after `--dump-corpus` has been written and closed, so a script can wait for that line and then read
the dump. The accepted client key goes to stderr.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from datetime import date

from crawlspec import exit_codes
from crawlspec.sim.corpus import generate_corpus
from crawlspec.sim.dump import dump_corpus
from crawlspec.sim.options import SimOptions
from crawlspec.sim.server import start_simulator

DEFAULTS = SimOptions()


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {text!r}") from None


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a probability between 0 and 1, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a probability between 0 and 1, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crawlspec sim", description="Run the local TikTok Research API simulator.")
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    add("--port", type=int, default=0, help="port; 0 picks a free one (default 0)")
    add("--seed", type=int, default=DEFAULTS.seed, help=f"corpus and fault seed (default {DEFAULTS.seed})")
    add("--videos", type=int, default=DEFAULTS.videos, help=f"videos in the corpus (default {DEFAULTS.videos})")
    add("--start", type=_date, default=DEFAULTS.start, help="first UTC day of the corpus (default 2024-03-01)")
    add("--days", type=int, default=DEFAULTS.days, help=f"days the corpus spans (default {DEFAULTS.days})")
    add("--daily-quota", type=int, default=DEFAULTS.daily_quota, help="research requests per UTC day (default 1000)")
    add("--token-ttl", type=int, default=DEFAULTS.token_ttl, help="access token lifetime in seconds (default 7200)")
    add("--client-key", default=DEFAULTS.client_key, help=f"accepted client key (default {DEFAULTS.client_key})")
    add("--client-secret", default=DEFAULTS.client_secret, help="accepted client secret (default sim-secret)")
    add("--fail-rate", type=_rate, default=0.0, help="share of research requests failing with 500/504 (default 0)")
    add("--invalid-search-id-rate", type=_rate, default=0.0,
        help="share of new searches whose first follow-up page is told the search id is invalid (default 0)")
    add("--deleted-rate", type=_rate, default=0.0,
        help="share of videos deleted: they hold cursor slots but are not returned (default 0)")
    add("--latency-ms", type=int, default=0, help="added latency per API request in ms (default 0)")
    add("--today", type=_date, default=None,
        help="the simulator's first UTC day (default $CRAWLSPEC_TODAY, else the real date)")
    add("--token-error-status", type=int, default=200, choices=(200, 400, 401),
        help="HTTP status of token error bodies (default 200)")
    add("--unavailable-rate", type=_rate, default=0.0,
        help="share of live videos and comments that become unavailable at each new simulated day (default 0)")
    add("--failing-days", default="", metavar="START..END[,START..END]",
        help="UTC date ranges whose video queries always answer 500 internal_error (default none)")
    add("--compliance-polls", type=int, default=DEFAULTS.compliance_polls,
        help="status polls a validation task stays Processing (default 1)")
    add("--lowercase-region-rate", type=_rate, default=0.0,
        help="share of video pages answered with lower-case region codes, as real pages were (default 0)")
    add("--oversize-id-rate", type=_rate, default=0.0,
        help="share of video and comment pages carrying one extra record with a 20-digit id (default 0)")
    add("--compliance-file-style", default="plain", choices=("plain", "header_crlf"),
        help="shape of the validation download: one id a line, or a header line, blank lines and CRLF")
    add("--burst-limit", default=None, metavar="N/SECONDS",
        help="short-term limit: more than N research requests in any SECONDS answer 429 rate_limit_exceeded "
             "with Retry-After (not charged; default none)")
    add("--playlist-500-ok", action="store_true",
        help="playlist info answers HTTP 500 with its complete ok body (an observed quirk)")
    add("--unauthorized-endpoints", default="", metavar="NAME[,NAME]",
        help="endpoints answering 401 scope_not_authorized, e.g. followers,following (default none)")
    add("--hidden-likes-status", type=int, default=400, choices=(400, 403),
        help="HTTP status refusing a hidden liked-videos list (default 400)")
    add("--empty-outage", default="", choices=("", "keyword", "all"),
        help="searches of this kind answer 0 videos without an error until the day advances (default none)")
    add("--empty-outage-requests", type=int, default=0, metavar="N",
        help="with --empty-outage: the outage ends after N such searches instead (default 0: at the next day)")
    add("--dense-fail-videos", type=int, default=0, metavar="N",
        help="a video search matching M videos answers 500 with chance M/(M+N), seeded (default 0: off)")
    add("--fault-seed", type=int, default=None, metavar="N",
        help="seed of the fault draws only: other faults over the same corpus (default: --seed)")
    add("--dump-corpus", metavar="FILE", help="write the corpus as JSON lines before serving")
    return parser


def options_from(args: argparse.Namespace) -> SimOptions:
    return SimOptions(seed=args.seed, videos=args.videos, start=args.start, days=args.days,
                      daily_quota=args.daily_quota, token_ttl=args.token_ttl, client_key=args.client_key,
                      client_secret=args.client_secret, fail_rate=args.fail_rate,
                      invalid_search_id_rate=args.invalid_search_id_rate, deleted_rate=args.deleted_rate,
                      latency_ms=args.latency_ms, today=args.today, token_error_status=args.token_error_status,
                      unavailable_rate=args.unavailable_rate, failing_days=args.failing_days,
                      compliance_polls=args.compliance_polls, lowercase_region_rate=args.lowercase_region_rate,
                      oversize_id_rate=args.oversize_id_rate, compliance_file_style=args.compliance_file_style,
                      burst_limit=args.burst_limit,
                      playlist_500_ok=args.playlist_500_ok, unauthorized_endpoints=args.unauthorized_endpoints,
                      hidden_likes_status=args.hidden_likes_status, empty_outage=args.empty_outage,
                      empty_outage_requests=args.empty_outage_requests, dense_fail_videos=args.dense_fail_videos,
                      fault_seed=args.fault_seed)


def main(argv: list[str]) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:            # argparse: --help exits 0, bad options 2
        return int(stop.code or 0)
    problems = [] if 0 <= args.port <= 65535 else [f"port must be 0..65535, got {args.port}"]
    try:
        opts = options_from(args)
    except ValueError as error:
        problems.append(str(error))
    if problems:
        parser.print_usage(sys.stderr)
        print(f"crawlspec sim: error: {'; '.join(problems)}", file=sys.stderr)
        return exit_codes.INVALID_INPUT
    return serve(opts, args.host, args.port, args.dump_corpus)


def serve(opts: SimOptions, host: str, port: int, dump_path: str | None) -> int:
    corpus = generate_corpus(opts)
    if dump_path:
        try:
            dump_corpus(corpus, dump_path)
        except OSError as error:
            print(f"crawlspec sim: error: cannot write --dump-corpus {dump_path}: {error}", file=sys.stderr)
            return exit_codes.INVALID_INPUT
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        sim = start_simulator(opts, host, port, corpus=corpus)
    except OSError as error:
        print(f"crawlspec sim: error: cannot listen on {host}:{port}: {error}", file=sys.stderr)
        return exit_codes.INVALID_INPUT
    with sim:
        print(f"listening on {sim.url}", flush=True)
        secret = f" client_secret={opts.client_secret}" if opts.client_secret == DEFAULTS.client_secret else ""
        print(f"crawlspec sim: {len(corpus)} videos, seed {opts.seed}; accepted client_key={opts.client_key}{secret}; "
              f"token endpoint {sim.url}/v2/oauth/token/; stats at {sim.url}/_sim/stats", file=sys.stderr, flush=True)
        while not stop.wait(0.5):
            pass
    return exit_codes.OK
