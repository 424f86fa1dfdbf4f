"""Sweep benchmark: the same four-job sweep (two regions x two windows) run one job after another
(Hydra's basic launcher), at once in worker processes (`hydra/launcher=joblib`) and at once as
submitit jobs (`hydra/launcher=submitit_local`, the SLURM code path on one machine), against one
simulator whose latency makes the crawl API-bound, as the real Research API is.

    python scripts/bench_sweep.py [--latency-ms 300] [--page 10] [--pg-url postgresql://...]

Each mode gets a fresh database (SQLite in WAL mode, or a fresh PostgreSQL database created on the
server of --pg-url / CRAWLSPEC_TEST_PG_URL and dropped afterwards) and a fresh simulator with the same
seed, so every mode fetches exactly the same pages. Prints the wall time of each mode, the requests and
videos each stored (they must agree) and the speed-ups; exits 1 if a sweep failed or the modes disagree.
A launcher that is not installed is left out.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from crawlspec.sim import SimOptions, start_simulator

SPEC = """\
name: bench
query:
  include_any_hashtags: [shoes, sneakers, fashion, food, travel]
window: {start: "2024-03-01", end: "2024-03-28", days_per_query: 7}
tags: [bench-sweep]
"""
SWEEP = ["spec.query.regions=[US],[GB]",
         'spec.window={start:"2024-03-01",end:"2024-03-14",days_per_query:7},'
         '{start:"2024-03-15",end:"2024-03-28",days_per_query:7}']
KEY, SECRET = "bench-key", "bench-secret-0123456789"


@dataclass
class Measured:
    mode: str
    seconds: float
    requests: int
    videos: int


def crawlspec_exe() -> str:
    candidate = Path(sys.executable).parent / "crawlspec"
    return str(candidate) if candidate.exists() else "crawlspec"


@contextmanager
def fresh_database(workdir: Path, mode: str, pg_server: str | None) -> Iterator[str]:
    if not pg_server:
        yield f"sqlite:///{workdir / f'{mode}.db'}"
        return
    base = sa.engine.make_url(pg_server).set(drivername="postgresql+psycopg2")
    name = f"bench_sweep_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def stored(db_url: str) -> tuple[int, int]:
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        requests = conn.execute(sa.text("SELECT coalesce(sum(used), 0) FROM quota_ledger")).scalar_one()
        videos = conn.execute(sa.text("SELECT count(*) FROM video")).scalar_one()
    engine.dispose()
    return int(requests), int(videos)


def run_sweep(mode: str, launcher: list[str], args: argparse.Namespace, workdir: Path) -> Measured:
    sim = start_simulator(SimOptions(seed=11, videos=args.videos, start=date(2024, 3, 1), days=31,
                                     latency_ms=args.latency_ms, client_key=KEY, client_secret=SECRET),
                          host="127.0.0.1", port=0)
    env = dict(os.environ, CRAWLSPEC_CLIENT_KEY=KEY, CRAWLSPEC_CLIENT_SECRET=SECRET)
    try:
        with fresh_database(workdir, mode, args.pg_url) as db_url:
            argv = [crawlspec_exe(), "run", "-m", "+spec=bench", f"api.base_url={sim.url}",
                    "api.credentials_file=null", f"db.url={db_url}", "log.format=json",
                    f"spec.limits.max_count={args.page}", *SWEEP, *launcher]
            started = time.perf_counter()
            result = subprocess.run(argv, cwd=workdir, env=env, capture_output=True, text=True)
            seconds = time.perf_counter() - started
            if result.returncode != 0:
                sys.exit(f"{mode} sweep failed (exit {result.returncode}):\n{result.stderr[-3000:]}")
            requests, videos = stored(db_url)
    finally:
        sim.stop()
    return Measured(mode, seconds, requests, videos)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=int, default=300, help="simulator latency per request")
    parser.add_argument("--page", type=int, default=10, help="videos per API page (spec.limits.max_count)")
    parser.add_argument("--videos", type=int, default=6000, help="corpus size")
    parser.add_argument("--pg-url", default=os.environ.get("CRAWLSPEC_TEST_PG_URL"),
                        help="PostgreSQL server URL (default: SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        workdir = Path(tmp)
        (workdir / "specs").mkdir()
        (workdir / "specs" / "bench.yaml").write_text(SPEC)
        measured = [run_sweep(mode, launcher, args, workdir) for mode, launcher in MODES.items()
                     if _installed(mode)]
    backend = "PostgreSQL" if args.pg_url else "SQLite (WAL)"
    print(f"four-job sweep (2 regions x 2 windows), simulator latency {args.latency_ms} ms, "
          f"{args.page} videos/page, {backend}")
    sequential = measured[0].seconds
    for m in measured:
        print(f"  {m.mode:<15} {m.seconds:7.2f} s  {m.requests} requests  {m.videos} videos  "
              f"{sequential / m.seconds:.2f}x")
    if len({(m.requests, m.videos) for m in measured}) != 1:
        print("  MISMATCH: the modes did not fetch the same data")
        return 1
    return 0


MODES = {"sequential": [], "joblib": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=4"],
         "submitit_local": ["hydra/launcher=submitit_local"]}


def _installed(mode: str) -> bool:
    import importlib.util

    plugin = {"joblib": "hydra_plugins.hydra_joblib_launcher",
              "submitit_local": "hydra_plugins.hydra_submitit_launcher"}.get(mode)
    return plugin is None or importlib.util.find_spec(plugin) is not None


if __name__ == "__main__":
    sys.exit(main())
