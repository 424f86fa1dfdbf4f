"""The installed `crawlspec run` with real signals and a real simulator: a signal ends a retry back-off or
a quota wait at once (exit 75, nothing sent after it, committed pages kept), a second signal exits at
once; a crawl through a throttling simulator completes in one run even with on_quota_exhausted=exit."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
from support.live_run import GENEROUS_S, Run, crawl_row, first_request_event, run_args, video_requests

SPEC = """\
name: waits
query:
  include_any_hashtags: [shoes, sneakers, fashion]
window: {start: "2024-03-01", end: "2024-03-12", days_per_query: 6}
tags: [waits]
"""
FIRST_WINDOW_DAYS = 6

pytestmark = pytest.mark.slow


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "waits.yaml").write_text(SPEC)
    return tmp_path


def test_sigint_ends_the_retry_backoff_at_once(crawlspec_exe, start_sim, sim_env, workdir, db_url):
    sim = start_sim(videos=3000, failing_days="2024-03-07..2024-03-12")   # the second window answers 500s
    run = Run(run_args(crawlspec_exe, sim.url, db_url, "api.retry.base_wait_s=20"), workdir, sim_env)
    run.wait_for('"api_retry"')                     # the first back-off (20 s; 40 s, 80 s, ... to follow)
    sent_at_signal = video_requests(sim.url)
    signalled = time.monotonic()
    run.proc.send_signal(signal.SIGINT)
    code, stderr = run.finish(timeout=GENEROUS_S)
    assert time.monotonic() - signalled < GENEROUS_S
    assert code == 75, stderr[-3000:]
    assert video_requests(sim.url) == sent_at_signal, "a request was sent after the signal"
    assert '"signal_received"' in stderr and "Traceback" not in stderr
    summary = json.loads(next(line for line in stderr.splitlines() if '"run_summary"' in line))
    assert summary["exit_code"] == 75
    crawl = crawl_row(db_url)
    assert (crawl["outcome"], crawl["exit_code"]) == ("stopped:interrupted", 75)
    assert crawl["covered"] == FIRST_WINDOW_DAYS and crawl["videos"] > 0   # the healthy window is committed
    assert crawl["ledger"] == crawl["requests"] == sent_at_signal


def test_sigterm_ends_a_quota_wait_at_once(crawlspec_exe, start_sim, sim_env, workdir, sqlite_url):
    sim = start_sim(videos=3000)
    run = Run(run_args(crawlspec_exe, sim.url, sqlite_url, "api.daily_quota=1",
                       "api.on_quota_exhausted=wait_next_utc_midnight"), workdir, sim_env)
    run.wait_for('"quota_wait"')
    sent_at_signal = video_requests(sim.url)
    run.proc.send_signal(signal.SIGTERM)
    code, stderr = run.finish(timeout=GENEROUS_S)
    assert code == 75, stderr[-3000:]
    assert sent_at_signal == 1 and video_requests(sim.url) == 1
    crawl = crawl_row(sqlite_url)
    assert (crawl["outcome"], crawl["ledger"]) == ("stopped:interrupted", 1) and crawl["videos"] > 0


def test_a_second_sigint_exits_at_once_during_a_slow_request(crawlspec_exe, start_sim, sim_env, workdir,
                                                            sqlite_url):
    sim = start_sim(videos=300, latency_ms=30_000)
    arrived = first_request_event(sim)
    run = Run(run_args(crawlspec_exe, sim.url, sqlite_url), workdir, sim_env)
    assert arrived.wait(GENEROUS_S), "no request reached the simulator"
    first = time.monotonic()
    run.proc.send_signal(signal.SIGINT)
    run.wait_for('"signal_received"')
    assert run.proc.poll() is None                  # the first signal lets the in-flight request finish
    run.proc.send_signal(signal.SIGINT)
    code, stderr = run.finish(timeout=GENEROUS_S)
    assert code == 75, stderr[-3000:]
    assert time.monotonic() - first < 30, "the second signal did not exit before the 30 s answer"
    assert "second SIGINT: exiting now" in stderr
    assert video_requests(sim.url) == 0


def test_a_crawl_through_a_throttling_simulator_completes_in_one_run(crawlspec_exe, sim_env, workdir,
                                                                     sqlite_url):
    args = [crawlspec_exe, "run", "+spec=waits", "api=sim", f"db.url={sqlite_url}", "log.format=json",
            "api.simulator.videos=3000", "api.simulator.seed=7", "api.simulator.burst_limit=2/1",
            "spec.limits.max_count=20", "api.on_quota_exhausted=exit"]
    result = subprocess.run(args, cwd=workdir, env=sim_env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert '"api_throttled"' in result.stderr and '"quota_wait"' not in result.stderr
    crawl = crawl_row(sqlite_url)
    assert (crawl["outcome"], crawl["covered"]) == ("complete", 12)


def test_throttled_requests_are_not_counted_as_spent(crawlspec_exe, start_sim, sim_env, workdir, sqlite_url):
    """The API does not charge a 429: the ledger, the crawl's request count and `status` hold what the
    simulator charged, not the throttled attempts too."""
    sim = start_sim(videos=3000, seed=7, burst_limit="2/1")
    args = [crawlspec_exe, "run", "+spec=waits", f"api.base_url={sim.url}", "api.credentials_file=null",
            f"db.url={sqlite_url}", "log.format=json", "spec.limits.max_count=20"]
    result = subprocess.run(args, cwd=workdir, env=sim_env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    throttled = result.stderr.count('"api_throttled"')
    charged = sim.stats()["quota_used"]
    sent = sum(sim.stats()["requests"].values())
    assert throttled > 0 and sent >= charged + throttled   # the 429s reached the simulator
    crawl = crawl_row(sqlite_url)
    assert crawl["ledger"] == crawl["requests"] == charged
