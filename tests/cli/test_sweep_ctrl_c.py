"""Ctrl-C in the process that started a sweep (`run -m` with joblib, submitit_local or the basic
launcher): the jobs it launched stop (their page in flight committed, their leases released), the process exits 75 without a
traceback, no job process outlives it, and running the same command again finishes the crawl exactly.
The installed `crawlspec`, real signals, the test PostgreSQL server, a slow simulator over real HTTP."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import signal
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import read_corpus_dump

from crawlspec.crawl.leases import LeaseOwner

pytestmark = pytest.mark.slow

SPEC = """\
name: sweep
query:
  include_any_hashtags: [shoes, sneakers, fashion]
window: {start: "2024-03-01", end: "2024-03-14", days_per_query: 14}
tags: [ctrl-c]
"""
WANTED = {"shoes", "sneakers", "fashion"}
REGIONS = ("US", "GB")
LAUNCHERS = {
    "submitit_local": ["hydra/launcher=submitit_local"],
    "joblib": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
}


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "sweep.yaml").write_text(SPEC)
    return tmp_path


def sweep_args(exe: str, sim, db_url: str, sweep_dir: Path, *overrides: str) -> list[str]:
    return [exe, "run", "-m", "+spec=sweep", f"api.base_url={sim.url}", "api.credentials_file=null",
            f"db.url={db_url}", "api.retry.base_wait_s=0", "log.format=json", "spec.limits.max_count=10",
            f"hydra.sweep.dir={sweep_dir}", f"spec.query.regions=[{'],['.join(REGIONS)}]", *overrides]


def events(stderr: str, name: str) -> list[dict]:
    parsed = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    return [event for event in parsed if event["event"] == name]


def lease_owners(db_url: str) -> set[str]:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            return set(conn.execute(sa.text(
                "SELECT lease_owner FROM crawl_window WHERE lease_owner IS NOT NULL")).scalars())
    finally:
        engine.dispose()


def crawling_jobs(db_url: str, proc: subprocess.Popen, jobs: int, timeout: float = 240) -> set[str]:
    """The lease owners (host:pid:start-token) of `jobs` jobs paging at once: each one's first request
    reached the simulator and its window is leased."""
    deadline = time.monotonic() + timeout
    seen: set[str] = set()
    while time.monotonic() < deadline and proc.poll() is None:
        with contextlib.suppress(sa.exc.DBAPIError):
            seen |= lease_owners(db_url)
        if len(seen) >= jobs:
            return seen
        time.sleep(0.05)   # polling the database for the moment the jobs are mid-crawl
    raise AssertionError(f"{len(seen)} of {jobs} jobs were seen crawling")


def matching(dump: Path, region: str) -> set[int]:
    ids = set()
    for video in read_corpus_dump(dump)["video"]:
        day = datetime.fromtimestamp(video["create_time"], timezone.utc).strftime("%Y-%m-%d")
        tags = {t.lower() for t in video.get("hashtag_names", [])}
        if "2024-03-01" <= day <= "2024-03-14" and tags & WANTED and not video["_deleted"] \
                and video.get("region_code") == region:
            ids.add(video["id"])
    return ids


def assert_the_same_command_finishes_the_crawl(args: list[str], workdir: Path, env: dict, sim, db_url: str,
                                               dump: Path) -> None:
    """The interrupted sweep run again (the simulator fast now): complete, every video exactly once."""
    sim.app.opts = dataclasses.replace(sim.app.opts, latency_ms=0)
    rerun = subprocess.run(args, cwd=workdir, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        ids = conn.execute(sa.text("SELECT id FROM video")).scalars().all()
    engine.dispose()
    assert len(ids) == len(set(ids)) and set(ids) == set().union(*(matching(dump, r) for r in REGIONS))


@pytest.mark.parametrize("launcher", sorted(LAUNCHERS))
def test_ctrl_c_stops_every_job_exits_75_and_leaves_no_process(crawlspec_exe, start_sim, sim_env, workdir,
                                                                 pg_url, launcher):
    pytest.importorskip(f"hydra_plugins.hydra_{launcher.split('_')[0]}_launcher")
    sim = start_sim(videos=12000, latency_ms=400)
    dump = workdir / "corpus.jsonl"
    sim.dump_corpus(dump)
    args = sweep_args(crawlspec_exe, sim, pg_url, workdir / "sweep", *LAUNCHERS[launcher])
    proc = subprocess.Popen(args, cwd=workdir, env=sim_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    owners = crawling_jobs(pg_url, proc, jobs=len(REGIONS))

    proc.send_signal(signal.SIGINT)
    _stdout, stderr = proc.communicate(timeout=120)

    assert proc.returncode == 75, stderr[-3000:]
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr[-3000:]
    (interrupted,) = events(stderr, "sweep_interrupted")
    assert interrupted["jobs_stopping"] == [0, 1]
    (summary,) = events(stderr, "sweep_summary")
    assert [job["exit_code"] for job in summary["jobs"]] == [75, 75]
    for owner in owners:
        parsed = LeaseOwner.parse(owner)
        assert parsed is not None and parsed.process_state() == "dead", f"job process {parsed} still alive"
    assert lease_owners(pg_url) == set(), "the jobs stopped cleanly: they released their leases"
    engine = sa.create_engine(pg_url)
    with engine.connect() as conn:
        outcomes = conn.execute(sa.text("SELECT outcome FROM crawl ORDER BY id")).scalars().all()
    engine.dispose()
    assert outcomes == ["stopped:interrupted"] * len(REGIONS)

    assert_the_same_command_finishes_the_crawl(args, workdir, sim_env, sim, pg_url, dump)


def test_ctrl_c_in_a_basic_sweep_skips_the_jobs_not_started(crawlspec_exe, start_sim, sim_env, workdir,
                                                             sqlite_url):
    """The basic launcher runs the jobs one after the other in this process: the job running stops (its
    page committed), the next one is not started, and the same command later finishes the crawl."""
    sim = start_sim(videos=12000, latency_ms=300)
    dump = workdir / "corpus.jsonl"
    sim.dump_corpus(dump)
    args = sweep_args(crawlspec_exe, sim, sqlite_url, workdir / "sweep")
    proc = subprocess.Popen(args, cwd=workdir, env=sim_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    crawling_jobs(sqlite_url, proc, jobs=1)
    proc.send_signal(signal.SIGINT)
    _stdout, stderr = proc.communicate(timeout=120)

    assert proc.returncode == 75, stderr[-3000:]
    assert "Traceback" not in stderr
    (summary,) = events(stderr, "sweep_summary")
    assert [job["exit_code"] for job in summary["jobs"]] == [75, 75]
    (skipped,) = [event for event in events(stderr, "command_failed") if event.get("job") == 1]
    assert skipped["exit_code"] == 75 and "not started" in skipped["message"]
    engine = sa.create_engine(sqlite_url)
    with engine.connect() as conn:   # only the first job ever ran (a crawl row per job that runs)
        assert conn.execute(sa.text("SELECT count(*) FROM crawl")).scalar_one() == 1
    engine.dispose()

    assert_the_same_command_finishes_the_crawl(args, workdir, sim_env, sim, sqlite_url, dump)
