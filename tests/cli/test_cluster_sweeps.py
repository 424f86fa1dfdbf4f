"""Sweeps across machines: the installed `crawlspec` with real signals, Hydra's submitit launcher
(`submitit_local`, the SLURM code path on one machine) and joblib, against the test PostgreSQL server.

What must hold when a job does not end normally: a time-limit signal commits the page in flight and
exits 75; a killed job shows up in the sweep table as resumable while the others keep their outcomes;
running the same command again finishes the crawl exactly."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from support.live_run import (
    GENEROUS_S,
    Run,
    crawl_row,
    first_request_event,
    run_args,
    video_requests,
)
from support.sweep import JOBS, PAGE, REGIONS, WINDOWS, events, matching, stored_ids, sweep_workdir

pytestmark = pytest.mark.slow

WAITS_SPEC = """\
name: waits
query:
  include_any_hashtags: [shoes, sneakers, fashion]
window: {start: "2024-03-01", end: "2024-03-12", days_per_query: 6}
tags: [waits]
"""


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return sweep_workdir(tmp_path)


@pytest.fixture
def waits_dir(tmp_path: Path) -> Path:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "waits.yaml").write_text(WAITS_SPEC)
    return tmp_path


@pytest.mark.parametrize("signum", [signal.SIGUSR2, signal.SIGTERM])
def test_a_time_limit_signal_commits_the_page_in_flight_and_exits_75(crawlspec_exe, start_sim, sim_env,
                                                                     waits_dir, pg_url, signum):
    sim = start_sim(videos=3000, latency_ms=1500)
    arrived = first_request_event(sim)
    run = Run(run_args(crawlspec_exe, sim.url, pg_url), waits_dir, sim_env)
    assert arrived.wait(GENEROUS_S), "no request reached the simulator"
    run.proc.send_signal(signum)
    code, stderr = run.finish(timeout=GENEROUS_S)
    assert code == 75, stderr[-3000:]
    assert f'"signal": "{signal.Signals(signum).name}"' in stderr
    crawl = crawl_row(pg_url)
    assert (crawl["outcome"], crawl["exit_code"]) == ("stopped:interrupted", 75)
    assert video_requests(sim.url) == 1 and crawl["videos"] > 0, "the page in flight was committed"


# ---- a job killed mid-crawl -------------------------------------------------------------------

LAUNCHERS = {
    "submitit_local": ["hydra/launcher=submitit_local"],
    "joblib": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=4"],
}


def sweep_args(exe: str, sim, db_url: str, *overrides: str) -> list[str]:
    return [exe, "run", "-m", "+spec=sweep", f"api.base_url={sim.url}", "api.credentials_file=null",
            f"db.url={db_url}", "api.retry.base_wait_s=0", "api.retry.search_id_wait_s=0", "log.format=json",
            f"spec.limits.max_count={PAGE}", REGIONS, WINDOWS, *overrides]


def crawling_pid(db_url: str, proc: subprocess.Popen, timeout: float = 180) -> int:
    """The process id of a job holding a window's lease (host:pid:token) while it pages through it."""
    engine = sa.create_engine(db_url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            with contextlib.suppress(sa.exc.DBAPIError), engine.connect() as conn:
                owner = conn.execute(sa.text(
                    "SELECT lease_owner FROM crawl_window WHERE status = 'in_progress' AND lease_owner IS NOT NULL "
                    "ORDER BY id LIMIT 1")).scalar()
                if owner:
                    return int(owner.rsplit(":", 2)[1])
            time.sleep(0.05)   # polling the database for the moment a job is mid-crawl
    finally:
        engine.dispose()
    raise AssertionError("no job was seen crawling")


@pytest.mark.parametrize("launcher", sorted(LAUNCHERS))
def test_a_job_killed_mid_crawl_is_resumable_in_a_full_table_and_a_rerun_finishes_exactly(
        crawlspec_exe, start_sim, sim_env, workdir, pg_url, launcher):
    pytest.importorskip(f"hydra_plugins.hydra_{launcher.split('_')[0]}_launcher")
    sim = start_sim(videos=4000, latency_ms=150)
    dump = workdir / "corpus.jsonl"
    sim.dump_corpus(dump)
    args = sweep_args(crawlspec_exe, sim, pg_url, *LAUNCHERS[launcher])

    proc = subprocess.Popen(args, cwd=workdir, env=sim_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    victim = crawling_pid(pg_url, proc)
    os.kill(victim, signal.SIGKILL)
    _stdout, stderr = proc.communicate(timeout=600)

    assert proc.returncode == 75, stderr[-3000:]
    assert "unexpected error" not in stderr
    (summary,) = events(stderr, "sweep_summary")
    assert len(summary["jobs"]) == 4 and summary["exit_code"] == 75
    assert {job["outcome"] for job in summary["jobs"]} <= {"complete", "resumable"}
    assert any(job["outcome"] == "resumable" for job in summary["jobs"])
    reasons = [e["message"] for e in events(stderr, "command_failed")]
    assert any(("without a result" in r or "worker process died" in r) and "run the same command again" in r
               for r in reasons), reasons
    (kept,) = events(stderr, "sweep_dir_kept")
    assert Path(kept["path"]).is_dir(), "the sweep directory of a lost job is kept"
    assert len(list(Path(kept["path"]).glob(".crawlspec/job-*.json"))) < 4, "the killed job wrote no result"
    shutil.rmtree(kept["path"])

    rerun = subprocess.run(args, cwd=workdir, env=sim_env, capture_output=True, text=True, timeout=600)

    assert rerun.returncode == 0, rerun.stderr[-3000:]
    ids = stored_ids(pg_url)
    assert len(ids) == len(set(ids)) and set(ids) == set().union(*(matching(dump, *job) for job in JOBS))


# ---- what a cluster sweep cannot do -----------------------------------------------------------


def test_a_slurm_sweep_into_a_relative_sqlite_file_exits_2_before_anything_is_sent(
        crawlspec_exe, start_sim, sim_env, workdir):
    sim = start_sim(videos=300)
    result = subprocess.run(sweep_args(crawlspec_exe, sim, "sqlite:///crawl.db", "hydra/launcher=slurm"),
                            cwd=workdir, env=sim_env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr[-3000:]
    (failed,) = events(result.stderr, "command_failed")
    assert "PostgreSQL" in failed["message"] and "cluster.shared_sqlite=true" in failed["message"]
    assert video_requests(sim.url) == 0 and not (workdir / "crawl.db").exists()


def test_a_slurm_sweep_without_slurm_exits_2_with_the_launchers_message(crawlspec_exe, start_sim, sim_env,
                                                                       workdir, pg_url):
    sim = start_sim(videos=300)
    result = subprocess.run(sweep_args(crawlspec_exe, sim, pg_url, "hydra/launcher=slurm"),
                            cwd=workdir, env={**sim_env, "PATH": os.path.dirname(crawlspec_exe)},
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stderr[-3000:]
    (failed,) = events(result.stderr, "command_failed")
    assert "srun" in failed["message"] and "unexpected error" not in failed["message"]
    assert video_requests(sim.url) == 0


# ---- crawl rows of jobs that died --------------------------------------------------------------


def open_crawls(db_url: str) -> list[tuple]:
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, outcome, exit_code, finished_at IS NOT NULL FROM crawl "
                                    "ORDER BY id")).all()
    engine.dispose()
    return [tuple(row) for row in rows]


def test_the_next_run_closes_the_crawl_row_of_a_killed_run_as_interrupted(crawlspec_exe, start_sim, sim_env,
                                                                         waits_dir, pg_url):
    sim = start_sim(videos=3000, latency_ms=300)
    args = run_args(crawlspec_exe, sim.url, pg_url, "spec.limits.max_count=10")
    proc = subprocess.Popen(args, cwd=waits_dir, env=sim_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    os.kill(crawling_pid(pg_url, proc), signal.SIGKILL)
    proc.communicate(timeout=60)
    ((killed_id, outcome, _code, finished),) = open_crawls(pg_url)
    assert (outcome, finished) == (None, False)

    rerun = subprocess.run(args, cwd=waits_dir, env=sim_env, capture_output=True, text=True, timeout=300)

    assert rerun.returncode == 0, rerun.stderr[-3000:]
    (closed,) = events(rerun.stderr, "dead_crawls_closed")
    assert closed["crawl_ids"] == [killed_id]
    rows = open_crawls(pg_url)
    assert rows[0] == (killed_id, "interrupted", 75, True)
    assert rows[1][1:] == ("complete", 0, True)


def test_a_crawl_row_whose_process_is_alive_stays_open(db_url):
    import socket
    from datetime import date, datetime, timedelta, timezone

    from crawlspec.cli.run import lease_holder_gone
    from crawlspec.storage import checkpoints, crawls
    from crawlspec.storage.database import open_database

    engine = open_database(db_url)
    now = datetime.now(timezone.utc)
    dead = subprocess.Popen(["true"])
    dead.wait()
    here = socket.gethostname()
    leases = {"alive": (f"{here}:{os.getpid()}:a", now - timedelta(hours=1)),
              "dead": (f"{here}:{dead.pid}:b", now + timedelta(hours=1)),
              "elsewhere, expired": (f"{here}-node7:4242:c", now - timedelta(minutes=1)),
              "elsewhere, held": (f"{here}-node7:4243:d", now + timedelta(minutes=10))}
    ids = {}
    with engine.begin() as conn:
        for day, (name, (owner, until)) in enumerate(leases.items(), start=1):
            ids[name] = crawls.start_crawl(conn, spec_name="s", fingerprint="f" * 64, query={}, tags=[],
                                           start_date=date(2024, 3, day), end_date=date(2024, 3, day),
                                           overrides=None, now=now)
            window = checkpoints.open_window(conn, fingerprint="f" * 64, start_date=date(2024, 3, day),
                                             end_date=date(2024, 3, day), crawl_id=ids[name], now=now)
            assert checkpoints.claim_window(conn, window, owner=owner, until=until, now=now - timedelta(days=1))
        closed = crawls.close_dead_crawls(conn, "f" * 64, holder_gone=lease_holder_gone, now=now)
    engine.dispose()
    assert sorted(closed) == sorted([ids["dead"], ids["elsewhere, expired"]])


# ---- the presets --------------------------------------------------------------------------------


def test_the_submitit_extra_brings_hydras_submitit_launcher():
    from importlib.metadata import requires

    extras = [r.replace(" ", "") for r in requires("crawlspec") or []]
    assert any(r.startswith("hydra-submitit-launcher") and 'extra=="submitit"' in r for r in extras)
    assert any(r.startswith("hydra-submitit-launcher") and 'extra=="test"' in r for r in extras)


def test_the_slurm_preset_takes_the_documented_keys(tmp_path, monkeypatch):
    from hydra import compose, initialize_config_module

    from crawlspec.cli import hydra_app

    monkeypatch.chdir(tmp_path)
    hydra_app.register_plugins()
    keys = {"partition": "short", "timeout_min": 90, "cpus_per_task": 2, "mem_gb": 4, "array_parallelism": 3}
    with initialize_config_module(config_module="crawlspec.conf", version_base="1.3"):
        config = compose("config", overrides=["hydra/launcher=slurm", *(f"hydra.launcher.{k}={v}" for k, v in
                                                                        keys.items())], return_hydra_config=True)
        local = compose("config", overrides=["hydra/launcher=submitit_local"], return_hydra_config=True)
    launcher = config.hydra.launcher
    assert launcher._target_.endswith("SlurmLauncher")
    assert {k: launcher[k] for k in keys} == keys
    assert local.hydra.launcher._target_.endswith("submitit_launcher.LocalLauncher")
