"""Requests (and time) a compliance refresh of N stored videos needs, measured against the simulator.

    python scripts/bench_refresh.py                       # 100,000 videos, tasks Processing for 2 polls
    python scripts/bench_refresh.py --videos 100000 --polls 5 --unavailable-rate 0.01

Stores N video ids in a fresh SQLite database, lets one simulated day pass (so some videos become
unavailable), runs `Refresher` (the code behind `crawlspec refresh`) over real HTTP with no waits, and
prints the tasks, requests per endpoint, the quota ledger's count and the rows removed.
Each task costs 1 create + (polls + 1) status + 1 download requests; ids per task: 10,000.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date, datetime, timezone
from pathlib import Path

import sqlalchemy as sa

from crawlspec.client import Credentials
from crawlspec.client.compliance import ComplianceClient
from crawlspec.compliance.refresh import Refresher
from crawlspec.crawl.quota import RequestBudget
from crawlspec.sim import SimOptions, start_simulator
from crawlspec.storage.database import open_database
from crawlspec.storage.ledger import QuotaLedger
from crawlspec.storage.models import Video


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=100_000)
    parser.add_argument("--polls", type=int, default=2, help="status polls a task stays Processing")
    parser.add_argument("--unavailable-rate", type=float, default=0.01)
    args = parser.parse_args()

    started = time.perf_counter()
    options = SimOptions(seed=9, videos=args.videos, compliance_polls=args.polls, daily_quota=1_000_000,
                         unavailable_rate=args.unavailable_rate, today=date(2024, 4, 1))
    with start_simulator(options) as sim, tempfile.TemporaryDirectory() as tmp:
        print(f"simulator with {args.videos} videos ready in {time.perf_counter() - started:.1f} s")
        engine = open_database(f"sqlite:///{Path(tmp) / 'refresh.db'}")
        now = datetime.now(timezone.utc)
        with engine.begin() as conn:
            conn.execute(sa.insert(Video.__table__), [{"id": int(i), "crawled_at": now} for i in sim.corpus.ids])
        sim.advance_day()
        ledger = QuotaLedger(engine, limits={"research": 1_000_000, "follow": 20_000})
        client = ComplianceClient(Credentials("sim-key", "sim-secret", "bench"), sim.url,
                                  before_request=RequestBudget(ledger))
        began = time.perf_counter()
        report = Refresher(engine, client, poll_wait_s=0, sleep=lambda _s: None).run()
        elapsed = time.perf_counter() - began
        with engine.connect() as conn:
            left = conn.execute(sa.text("SELECT count(*) FROM video")).scalar_one()
            tasks = conn.execute(sa.text("SELECT count(*) FROM compliance_task")).scalar_one()
        print(f"refresh of {args.videos} stored videos: complete={report.complete}, {tasks} tasks, "
              f"{report.requests} requests ({dict(client.requests_sent)}), quota ledger {ledger.used()} , "
              f"{report.removed['video']} removed, {left} left, {elapsed:.1f} s")
        print(f"per task: 1 create + {args.polls + 1} status + 1 download = {args.polls + 3} requests; "
              f"formula for N videos: ceil(N / 10,000) * (polls + 3)")
        client.close()
        engine.dispose()


if __name__ == "__main__":
    main()
