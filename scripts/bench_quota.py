"""Quota efficiency of a crawl with comments and creator info: requests spent / the minimum the API allows.

    python scripts/bench_quota.py                       # seed 42, 10,000 videos, 2024-03-01..31 (3 windows)
    python scripts/bench_quota.py --seed 7 --videos 20000 --tags fashion

Starts a seeded simulator, runs `crawlspec run` (the installed CLI, a subprocess) against it with
`fetch: {comments: true, user_info: true}`, then prints, per endpoint, the requests the simulator counted,
the minimum computed from the corpus dump, and their ratio (target 1.00). The minimum:
- video pages: per window, ceil(matching videos incl. deleted ones / 100), at least 1 (the cursor
  counts deleted videos);
- comment pages: per matching live video with comment_count > 0, ceil(listed items / 100), at least 1:
  the `video_id` listing holds the comments with their replies, 1,000 items at most in all;
- user info: one per distinct creator of the matching live videos (the database starts empty).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from crawlspec.sim import SimOptions, start_simulator

PATHS = {"video query": "/v2/research/video/query/", "comments": "/v2/research/video/comment/list/",
         "user info": "/v2/research/user/info/"}


def read_dump(path: Path) -> tuple[list[dict], list[dict]]:
    videos, comments = [], []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            if record["kind"] == "video":
                videos.append({**record["data"], "_deleted": record["deleted"]})
            elif record["kind"] == "comment":
                comments.append(record["data"])
    return videos, comments


def windows(start: date, end: date, days: int) -> list[tuple[date, date]]:
    spans, day = [], start
    while day <= end:
        spans.append((day, min(end, day + timedelta(days=days - 1))))
        day += timedelta(days=days)
    return spans


def minimum(videos: list[dict], comments: list[dict], tags: set[str], spans: list[tuple[date, date]]) -> dict:
    def day_of(video: dict) -> date:
        return datetime.fromtimestamp(video["create_time"], timezone.utc).date()

    matching = [v for v in videos if {t.lower() for t in v.get("hashtag_names", [])} & tags
                and spans[0][0] <= day_of(v) <= spans[-1][1]]
    pages = sum(max(1, math.ceil(sum(1 for v in matching if a <= day_of(v) <= b) / 100)) for a, b in spans)
    live = [v for v in matching if not v["_deleted"]]
    wanted = {v["id"] for v in live}
    listed: dict[int, int] = {}   # the video_id listing: comments and their replies, 1,000 items at most
    for comment in comments:
        if comment["video_id"] in wanted:
            listed[comment["video_id"]] = listed.get(comment["video_id"], 0) + 1
    comment_pages = sum(max(1, math.ceil(min(listed.get(v["id"], 0), 1000) / 100))
                        for v in live if v.get("comment_count", 0))
    creators = {v["username"].replace("\x00", "") for v in live if v.get("username")}
    return {"video query": pages, "comments": comment_pages, "user info": len(creators)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--videos", type=int, default=10_000)
    parser.add_argument("--tags", nargs="+", default=["shoes", "sneakers", "fashion"])
    parser.add_argument("--days-per-query", type=int, default=14)
    args = parser.parse_args()
    exe = shutil.which("crawlspec", path=str(Path(sys.executable).parent)) or shutil.which("crawlspec")
    if exe is None:
        sys.exit("the crawlspec console script is not installed")
    start, end = date(2024, 3, 1), date(2024, 3, 31)
    sim = start_simulator(SimOptions(seed=args.seed, videos=args.videos, start=start, days=31, daily_quota=100_000,
                                     client_key="bench", client_secret="bench-secret"))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            sim.dump_corpus(work / "corpus.jsonl")
            (work / "specs").mkdir()
            (work / "specs" / "bench.yaml").write_text(json.dumps({
                "name": "bench", "query": {"include_any_hashtags": args.tags},
                "window": {"start": start.isoformat(), "end": end.isoformat(), "days_per_query": args.days_per_query},
                "fetch": {"comments": True, "user_info": True}}))
            env = dict(os.environ, CRAWLSPEC_CLIENT_KEY="bench", CRAWLSPEC_CLIENT_SECRET="bench-secret")
            began = time.perf_counter()
            result = subprocess.run([exe, "run", "+spec=bench", f"api.base_url={sim.url}", "api.credentials_file=null",
                                     f"db.url=sqlite:///{work / 'bench.db'}", "api.daily_quota=100000",
                                     "api.on_quota_exhausted=exit", "log.format=json", "log.level=warning"],
                                    cwd=work, env=env, capture_output=True, text=True)
            elapsed = time.perf_counter() - began
            if result.returncode != 0:
                sys.exit(f"crawlspec run exited {result.returncode}:\n{result.stderr[-3000:]}")
            videos, comments = read_dump(work / "corpus.jsonl")
            need = minimum(videos, comments, {t.lower() for t in args.tags},
                           windows(start, end, args.days_per_query))
        spent = sim.stats()["requests"]
    finally:
        sim.stop()
    print(f"seed {args.seed}, {args.videos} videos, tags {args.tags}, {start}..{end}; crawl took {elapsed:.1f} s")
    print(f"{'endpoint':<12} {'requests':>9} {'minimum':>9} {'ratio':>6}")
    total_spent = total_need = 0
    for name, path in PATHS.items():
        got = spent.get(path, 0)
        total_spent, total_need = total_spent + got, total_need + need[name]
        print(f"{name:<12} {got:>9} {need[name]:>9} {got / need[name] if need[name] else float('nan'):>6.2f}")
    print(f"{'total':<12} {total_spent:>9} {total_need:>9} {total_spent / total_need:>6.2f}")
    return 0 if total_spent == total_need else 1


if __name__ == "__main__":
    sys.exit(main())
