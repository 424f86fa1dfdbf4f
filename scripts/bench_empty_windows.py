"""What confirming empty windows costs: requests spent on the second ask of windows that answered no video,
as a share of all requests of a 60-day crawl of a sparse keyword query.

    python scripts/bench_empty_windows.py                    # seed 42, 10,000 videos over 60 days, "streetwear"
    python scripts/bench_empty_windows.py --keyword thrift --days-per-query 1 7

For each `days_per_query`, a seeded simulator (no outage), a fresh SQLite database, then two nightly runs of
the installed `crawlspec run` one day apart (CRAWLSPEC_TODAY): the first crawls every window, the second
only re-asks the windows that came back empty (one request each) and covers their days.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

from crawlspec.sim import SimOptions, start_simulator

VIDEO_PATH = "/v2/research/video/query/"
START, DAYS = date(2024, 3, 1), 60


def crawl(exe: str, work: Path, sim_url: str, today: date) -> None:
    env = dict(os.environ, CRAWLSPEC_CLIENT_KEY="bench", CRAWLSPEC_CLIENT_SECRET="bench-secret",
               CRAWLSPEC_TODAY=today.isoformat())
    result = subprocess.run([exe, "run", "+spec=sparse", f"api.base_url={sim_url}", "api.credentials_file=null",
                             f"db.url=sqlite:///{work / 'bench.db'}", "api.daily_quota=100000",
                             "api.on_quota_exhausted=exit", "log.format=json", "log.level=warning"],
                            cwd=work, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"crawlspec run exited {result.returncode}:\n{result.stderr[-3000:]}")


def measure(exe: str, args: argparse.Namespace, days_per_query: int) -> tuple[int, int]:
    """(requests of the first run, requests of the confirming run)."""
    sim = start_simulator(SimOptions(seed=args.seed, videos=args.videos, start=START, days=DAYS,
                                     daily_quota=100_000, client_key="bench", client_secret="bench-secret"))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            (work / "specs").mkdir()
            end = START + timedelta(days=DAYS - 1)
            (work / "specs" / "sparse.yaml").write_text(json.dumps({
                "name": "sparse", "query": {"include_any_keywords": [args.keyword]},
                "window": {"start": START.isoformat(), "end": end.isoformat(), "days_per_query": days_per_query}}))
            today = end + timedelta(days=10)
            crawl(exe, work, sim.url, today)
            first = sim.stats()["requests"].get(VIDEO_PATH, 0)
            crawl(exe, work, sim.url, today + timedelta(days=1))
            return first, sim.stats()["requests"].get(VIDEO_PATH, 0) - first
    finally:
        sim.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--videos", type=int, default=10_000)
    parser.add_argument("--keyword", default="streetwear")
    parser.add_argument("--days-per-query", type=int, nargs="+", default=[1, 7, 30])
    args = parser.parse_args()
    exe = shutil.which("crawlspec", path=str(Path(sys.executable).parent)) or shutil.which("crawlspec")
    if exe is None:
        sys.exit("the crawlspec console script is not installed")
    print(f"seed {args.seed}, {args.videos} videos over {DAYS} days, keyword {args.keyword!r}")
    print(f"{'days/query':>10} {'first run':>10} {'confirming':>11} {'share':>7}")
    for days_per_query in args.days_per_query:
        first, confirming = measure(exe, args, days_per_query)
        share = confirming / (first + confirming)
        print(f"{days_per_query:>10} {first:>10} {confirming:>11} {share:>7.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
