"""Quota spent on a month with 3 persistently failing days: crawlspec's runner (split down to single days,
record, retry after 1, 2, 4, 8... days) against a runner that retries the whole failing window every night.

    python scripts/bench_failing_days.py                  # 30 nightly runs of a 30-day spec, 7-day windows
    python scripts/bench_failing_days.py --nights 60 --days-per-query 30 --max-tries 6

Both strategies run the real `VideoCrawler` over real HTTP against the simulator with
`failing_days` set; "naive" is the same runner with splitting switched off (a window failing after the
client's retries is marked failed and tried again, whole, by the next night's run: crawlspec's behaviour
before failing days were split and parked). Retries wait 0 s (the clock is injected; the request counts are what matters). Prints,
per strategy: requests, failed requests, days collected of the 27 good ones.
"""

from __future__ import annotations

import argparse
import functools
import tempfile
import threading
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from unittest import mock

from crawlspec.client import Credentials, RetryPolicy, TikTokApiRequestClient
from crawlspec.crawl import failing_days as persistent_failures
from crawlspec.crawl.quota import QuotaWaiter, RequestBudget
from crawlspec.crawl.videos import RunContext, RunnerSettings, VideoCrawler
from crawlspec.sim import SimOptions, start_simulator
from crawlspec.spec.compile import compile_spec
from crawlspec.spec.schema import load_spec_defaults
from crawlspec.storage import checkpoints, crawls
from crawlspec.storage.database import open_database
from crawlspec.storage.ledger import QuotaLedger

MONTH_START, MONTH_END = date(2024, 3, 1), date(2024, 3, 30)
FAILING = "2024-03-05,2024-03-14,2024-03-23"


def night_clock(day: date) -> datetime:
    """Each nightly run happens at 03:00 UTC of its day."""
    return datetime.combine(day, time(3), tzinfo=timezone.utc)


def nightly(strategy: str, args: argparse.Namespace, workdir: Path) -> dict[str, int]:
    options = SimOptions(seed=5, videos=20_000, start=MONTH_START, days=31, daily_quota=1_000_000,
                         failing_days=FAILING, today=date(2024, 4, 2))
    spec = {**load_spec_defaults(), "name": "month",
            "query": {**load_spec_defaults()["query"], "include_any_hashtags": ["shoes", "sneakers", "fashion"]},
            "window": {"start": str(MONTH_START), "end": str(MONTH_END), "days_per_query": args.days_per_query}}
    engine = open_database(f"sqlite:///{workdir / f'{strategy}.db'}")
    totals = {"requests": 0, "failed_requests": 0}
    split = persistent_failures.is_persistent_server_failure if strategy == "crawlspec" else (lambda _err: False)
    with start_simulator(options) as sim, mock.patch.object(persistent_failures, "is_persistent_server_failure", split):
        for night in range(args.nights):
            today = date(2024, 4, 2) + timedelta(days=night)
            clock = functools.partial(night_clock, today)
            plan = compile_spec(spec, today=today)
            budget = RequestBudget(QuotaLedger(engine, limits={"research": 1_000_000, "follow": 1}, clock=clock))
            client = TikTokApiRequestClient(Credentials("sim-key", "sim-secret", "bench"), sim.url,
                                            retry=RetryPolicy(max_tries=args.max_tries, base_wait_s=0),
                                            before_request=budget, sleep=lambda _s: None)
            with engine.begin() as conn:
                crawls.register_spec(conn, fingerprint=plan.fingerprint, name=plan.name, query=plan.query,
                                     fields=list(plan.fields), fetch=dict(plan.fetch), now=clock())
                crawl_id = crawls.start_crawl(conn, spec_name=plan.name, fingerprint=plan.fingerprint,
                                              query=plan.query, start_date=plan.start, end_date=plan.end,
                                              tags=[], overrides=[], now=clock())
            stop = threading.Event()
            ctx = RunContext(engine=engine, client=client, budget=budget, crawl_id=crawl_id, stop_event=stop,
                             waiter=QuotaWaiter("exit", stop_event=stop), clock=clock)
            stats = VideoCrawler(plan, ctx, RunnerSettings(on_quota_exhausted="exit", index_lag_days=2)).run()
            totals["requests"] += stats.requests
            totals["failed_requests"] += stats.failed_requests
            client.close()
        with engine.connect() as conn:
            totals["days_collected"] = len(checkpoints.covered_days(conn, plan.fingerprint, MONTH_START, MONTH_END))
    engine.dispose()
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nights", type=int, default=30)
    parser.add_argument("--days-per-query", type=int, default=7)
    parser.add_argument("--max-tries", type=int, default=6, help="the client's attempts per request (default 6)")
    args = parser.parse_args()
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
    with tempfile.TemporaryDirectory() as tmp:
        results = {strategy: nightly(strategy, args, Path(tmp)) for strategy in ("crawlspec", "naive")}
    print(f"a 30-day spec ({MONTH_START}..{MONTH_END}), failing days {FAILING}, days_per_query "
          f"{args.days_per_query}, {args.max_tries} attempts per request, {args.nights} nightly runs:")
    for strategy, r in results.items():
        print(f"  {strategy:<10} {r['requests']:>5} requests, {r['failed_requests']:>5} of them failed; "
              f"{r['days_collected']} of 27 good days collected")


if __name__ == "__main__":
    main()
