"""End-to-end crawl throughput: `crawlspec run` (a real subprocess) against a simulator over HTTP.

Prints videos stored per second for the README demo and for a crawl of every video of an N-video
corpus (default 20,000), on SQLite and (with --pg-url) PostgreSQL. The target is to be limited by the
API, not by crawlspec: compare with the simulator's own page rate (scripts/bench_sim.py).

    python scripts/bench_pipeline.py
    python scripts/bench_pipeline.py --videos 20000 --pg-url postgresql://user@127.0.0.1:5432/db

`--vs-older` instead times, side by side against one simulator (SQLite, the same 30 days, the same 14
fields, one 30-day window), `crawlspec run`, the older tool's `fetch_and_store_all`
(tiktok-research-api-helper 0.1.3 from PyPI, installed into a temporary virtualenv; it has no base URL
setting, so its `requests` sessions are given one that sends `https://open.tiktokapis.com/...` to the
simulator) and a bare loop of `requests` fetching the same pages. Each is a whole subprocess
(start-up included), the best of `--repeat` interleaved rounds; it prints both ratios. crawlspec's
bytecode is written first, as installing a wheel does (the older tool's was written by pip).

    python scripts/bench_pipeline.py --vs-older --videos 30000 --repeat 3
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
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from crawlspec.sim import SimOptions, start_simulator

KEY, SECRET = "bench-key", "bench-secret-51ce"
EVERYTHING = """\
name: everything
query:
  raw:
    or: [{operation: IN, field_name: video_length, field_values: [SHORT, MID, LONG, EXTRA_LONG]}]
window: {start: "2024-03-01", end: "2024-03-31", days_per_query: 7}
"""


def exe() -> str:
    return shutil.which("crawlspec", path=str(Path(sys.executable).parent)) or "crawlspec"


def timed_run(args: list[str], cwd: Path, env: dict) -> float:
    started = time.perf_counter()
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"crawl failed ({result.returncode}): {result.stderr[-2000:]}")
    return elapsed


def count_videos(db_url: str) -> int:
    engine = sa.create_engine(db_url.replace("postgresql://", "postgresql+psycopg2://", 1))
    with engine.connect() as conn:
        n = conn.execute(sa.text("SELECT count(*) FROM video")).scalar_one()
    engine.dispose()
    return n


def fresh_pg_database(server_url: str, name: str) -> str:
    base = sa.engine.make_url(server_url).set(drivername="postgresql+psycopg2")
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def bench_demo(workdir: Path) -> dict:
    """The README's first block, as a user runs it (embedded simulator, SQLite in the cwd)."""
    demo_dir = workdir / "demo"
    demo_dir.mkdir()
    seconds = timed_run([exe(), "run", "+spec=demo", "api=sim", "log.format=json"], demo_dir, dict(os.environ))
    videos = count_videos(f"sqlite:///{demo_dir / 'crawlspec.db'}")
    return {"crawl": "demo (api=sim, whole command incl. start-up)", "backend": "sqlite", "videos": videos,
            "seconds": round(seconds, 2), "videos_per_s": round(videos / seconds)}


def bench_everything(workdir: Path, sim, backend: str, db_url: str) -> dict:
    env = {**os.environ, "CRAWLSPEC_CLIENT_KEY": KEY, "CRAWLSPEC_CLIENT_SECRET": SECRET}
    args = [exe(), "run", "+spec=everything", f"api.base_url={sim.url}", "api.credentials_file=null",
            f"db.url={db_url}", "log.format=json"]
    before = sim.stats()["requests"].get("/v2/research/video/query/", 0)
    seconds = timed_run(args, workdir, env)
    pages = sim.stats()["requests"].get("/v2/research/video/query/", 0) - before
    videos = count_videos(db_url)
    return {"crawl": f"all {videos} videos of the corpus", "backend": backend, "videos": videos, "pages": pages,
            "seconds": round(seconds, 2), "videos_per_s": round(videos / seconds)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=20000)
    parser.add_argument("--pg-url", default=os.environ.get("CRAWLSPEC_TEST_PG_URL"))
    parser.add_argument("--vs-older", action="store_true", help="crawlspec vs the older tool vs a bare loop")
    parser.add_argument("--repeat", type=int, default=3, help="--vs-older: rounds (best of)")
    parser.add_argument("--older-venv", type=Path, default=None,
                        help="--vs-older: reuse this virtualenv holding the older tool (default: a new temporary one)")
    args = parser.parse_args()
    if args.vs_older:
        from bench_vs_older import compare_with_older

        for row in compare_with_older(videos=args.videos, repeat=args.repeat, older_venv=args.older_venv):
            print(json.dumps(row))
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="crawlspec-bench-"))
    (workdir / "specs").mkdir()
    (workdir / "specs" / "everything.yaml").write_text(EVERYTHING)
    results = [bench_demo(workdir)]
    options = SimOptions(seed=5, videos=args.videos, start=date(2024, 3, 1), days=31, client_key=KEY,
                         client_secret=SECRET, daily_quota=1_000_000)
    with start_simulator(options, host="127.0.0.1", port=0) as sim:
        results.append(bench_everything(workdir, sim, "sqlite", f"sqlite:///{workdir / 'all.db'}"))
        if args.pg_url:
            results.append(bench_everything(workdir, sim, "postgresql",
                                            fresh_pg_database(args.pg_url, "crawlspec_bench_pipeline")))
    for row in results:
        print(json.dumps(row))
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
