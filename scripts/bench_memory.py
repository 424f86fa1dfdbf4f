"""Peak memory (RSS) of crawls as the number of videos grows: crawlspec streams, so it should be flat.

For each corpus size (default 10,000 and 100,000 videos) a `crawlspec sim` subprocess serves a corpus
and a query matching every video is crawled by:
  - `crawlspec run` (a subprocess, SQLite file),
  - the library's `fetch_and_store_all` (checkpointed runner into SQLite; returns counts only),
  - the library's `fetch_all` (returns every video in one object: memory grows by contract).
Each is its own child process; its peak RSS is the kernel's `ru_maxrss` from `os.wait4` on that child.
Target: `crawlspec run` and `fetch_and_store_all` grow by under 10% from the smallest to the largest.

    python scripts/bench_memory.py
    python scripts/bench_memory.py --sizes 10000 100000
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
from dataclasses import dataclass
from pathlib import Path

KEY, SECRET = "bench-memory-key", "bench-memory-secret-7d1e"
START, DAYS = "2024-03-01", 28
QUERY_ALL = {"or": [{"operation": "IN", "field_name": "video_length",
                     "field_values": ["SHORT", "MID", "LONG", "EXTRA_LONG"]}]}
SPEC = f"""\
name: everything
query:
  raw:
    or: [{{operation: IN, field_name: video_length, field_values: [SHORT, MID, LONG, EXTRA_LONG]}}]
window: {{start: "{START}", end: "2024-03-28", days_per_query: 7}}
"""
LIBRARY_CHILD = """\
import json
import sys
from datetime import date
import sqlalchemy as sa
from crawlspec.api_client import ApiClientConfig, TikTokApiClient, VideoQueryConfig
mode, url, db, query = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
engine = sa.create_engine(f"sqlite:///{db}") if mode == "fetch_and_store_all" else None
client = TikTokApiClient(ApiClientConfig(engine=engine, api_base_url=url, daily_quota=1_000_000))
query = VideoQueryConfig(query=query, start_date=date(2024, 3, 1), end_date=date(2024, 3, 28))
if mode == "fetch_all":
    print(len(client.fetch_all(query).videos))
else:
    print(client.fetch_and_store_all(query).data["videos_stored"])
"""


@dataclass
class Measurement:
    size: int
    how: str
    videos: int
    peak_rss_mb: float
    seconds: float


def crawlspec_exe() -> str:
    return shutil.which("crawlspec", path=str(Path(sys.executable).parent)) or "crawlspec"


def start_sim(videos: int, seed: int) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([crawlspec_exe(), "sim", "--videos", str(videos), "--seed", str(seed), "--start", START,
                             "--days", str(DAYS), "--daily-quota", "1000000", "--client-key", KEY,
                             "--client-secret", SECRET], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline().strip() if proc.stdout else ""
    if not line.startswith("listening on "):
        proc.kill()
        raise SystemExit(f"the simulator did not start: {line!r}")
    return proc, line.removeprefix("listening on ")


def measure_child(command: list[str], *, cwd: Path, env: dict[str, str]) -> tuple[str, float, float]:
    """Run a child to its end; (stdout, peak RSS in MiB of that child alone, wall seconds)."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out_file, err_file = proc.stdout, proc.stderr
    out = out_file.read() if out_file else ""
    err = err_file.read() if err_file else ""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command[:3])} failed with {proc.returncode}:\n{err[-3000:]}")
    return out, usage.ru_maxrss / 1024, time.perf_counter() - started   # ru_maxrss is KiB on Linux


def stored_videos(db: Path) -> int:
    import sqlite3

    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM video").fetchone()[0]


def measure_size(size: int, seed: int, work: Path) -> list[Measurement]:
    sim, url = start_sim(size, seed)
    env = {**os.environ, "CRAWLSPEC_CLIENT_KEY": KEY, "CRAWLSPEC_CLIENT_SECRET": SECRET}
    results = []
    try:
        (work / "specs").mkdir(exist_ok=True)
        (work / "specs" / "everything.yaml").write_text(SPEC)
        db = work / f"run-{size}.db"
        _, rss, seconds = measure_child(
            [crawlspec_exe(), "run", "+spec=everything", f"api.base_url={url}", "api.credentials_file=null",
             f"db.url=sqlite:///{db}", "api.daily_quota=1000000", "log.format=json", "log.level=warning"],
            cwd=work, env=env)
        results.append(Measurement(size, "crawlspec run", stored_videos(db), rss, seconds))
        for mode in ("fetch_and_store_all", "fetch_all"):
            db = work / f"{mode}-{size}.db"
            out, rss, seconds = measure_child([sys.executable, "-c", LIBRARY_CHILD, mode, url, str(db),
                                               json.dumps(QUERY_ALL)],
                                              cwd=work, env=env)
            results.append(Measurement(size, f"library {mode}", int(out.strip().splitlines()[-1]), rss, seconds))
    finally:
        sim.terminate()
        sim.wait()
    return results


def report(results: list[Measurement]) -> None:
    print(f"{'videos':>8}  {'how':<30} {'stored/held':>11} {'peak RSS MiB':>12} {'seconds':>8}")
    for m in results:
        print(f"{m.size:>8}  {m.how:<30} {m.videos:>11} {m.peak_rss_mb:>12.1f} {m.seconds:>8.1f}")
    sizes = sorted({m.size for m in results})
    small, large = sizes[0], sizes[-1]
    print(f"\ngrowth of peak RSS from {small:,} to {large:,} videos (target for streaming paths: < +10%):")
    for how in dict.fromkeys(m.how for m in results):
        first = next(m for m in results if m.how == how and m.size == small)
        last = next(m for m in results if m.how == how and m.size == large)
        print(f"  {how:<30} {first.peak_rss_mb:7.1f} -> {last.peak_rss_mb:7.1f} MiB  "
              f"({(last.peak_rss_mb / first.peak_rss_mb - 1) * 100:+.1f}%)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    results: list[Measurement] = []
    with tempfile.TemporaryDirectory(prefix="crawlspec-bench-memory-") as tmp:
        for size in args.sizes:
            results += measure_size(size, args.seed, Path(tmp))
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
