"""A crawl through a throttling simulator (429 `rate_limit_exceeded` + Retry-After past N requests in S
seconds): requests and wall time, before and after telling a throttle from an exhausted day.

    python scripts/bench_throttle.py [--burst-limit 5/5] [--videos 10000] [--max-count 50]

"before" is the old rule (every 429 is the day's end), reproduced with `api.throttle_max_wait_s=0`
and `api.on_quota_exhausted=exit`: the run stops with 75 at the first 429; with the default strategy
(`wait_next_utc_midnight`) it would then have slept until 00:00 UTC, which the script reports.
"after" is the default configuration, also with `on_quota_exhausted=exit`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from crawlspec.sim import SimOptions, start_simulator

KEY, SECRET = "bench-throttle-key", "bench-throttle-secret"
SPEC = """\
name: throttle
query:
  include_any_hashtags: [shoes, sneakers, fashion, music, dance]
window: {start: "2024-03-01", end: "2024-03-31", days_per_query: 7}
tags: [bench]
"""


def crawl(exe: str, workdir: Path, burst: str, videos: int, max_count: int, *extra: str) -> dict:
    sim = start_simulator(SimOptions(seed=42, videos=videos, client_key=KEY, client_secret=SECRET,
                                     burst_limit=burst), host="127.0.0.1", port=0)
    db = workdir / f"crawl-{len(list(workdir.glob('crawl-*.db')))}.db"
    env = dict(os.environ, CRAWLSPEC_CLIENT_KEY=KEY, CRAWLSPEC_CLIENT_SECRET=SECRET)
    args = [exe, "run", "+spec=throttle", f"api.base_url={sim.url}", "api.credentials_file=null",
            f"db.url=sqlite:///{db}", "log.format=json", f"spec.limits.max_count={max_count}",
            "api.on_quota_exhausted=exit", *extra]
    started = time.perf_counter()
    try:
        result = subprocess.run(args, cwd=workdir, env=env, capture_output=True, text=True, timeout=3600)
        seconds = time.perf_counter() - started
        stats = sim.stats()
    finally:
        sim.stop()
    events = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    waits = [e["wait_s"] for e in events if e.get("event") == "api_throttled"]
    return {"exit": result.returncode, "seconds": round(seconds, 1), "requests": stats["quota_used"],
            "throttled_429": stats["faults"].get("burst_limited", 0), "throttle_waits": len(waits),
            "waited_s": round(sum(waits), 1), "pages": sum(1 for e in events if e.get("event") == "page")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--burst-limit", default="5/5")
    parser.add_argument("--videos", type=int, default=10_000)
    parser.add_argument("--max-count", type=int, default=50)
    args = parser.parse_args()
    exe = shutil.which("crawlspec", path=str(Path(sys.executable).parent)) or "crawlspec"
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        (workdir / "specs").mkdir()
        (workdir / "specs" / "throttle.yaml").write_text(SPEC)
        before = crawl(exe, workdir, args.burst_limit, args.videos, args.max_count, "api.throttle_max_wait_s=0")
        after = crawl(exe, workdir, args.burst_limit, args.videos, args.max_count)
    now = datetime.now(timezone.utc)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc)
    idle = midnight - now
    print(f"burst limit {args.burst_limit} (requests/seconds), {args.videos} videos, max_count {args.max_count}, "
          f"{date.today()}")
    print(f"before (every 429 = day's end): exit {before['exit']} after {before['requests']} requests, "
          f"{before['pages']} pages, {before['seconds']} s; with the default wait_next_utc_midnight it would "
          f"then idle {idle.seconds // 3600} h {idle.seconds % 3600 // 60} min (until 00:00 UTC) with "
          f"{1000 - before['requests']} of 1,000 requests unspent")
    print(f"after (throttle waited out): exit {after['exit']}, {after['pages']} pages, {after['requests']} "
          f"charged requests + {after['throttled_429']} throttled 429s, {after['throttle_waits']} waits "
          f"totalling {after['waited_s']} s, wall {after['seconds']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
