"""Sweeps across machines: the installed `crawlspec` with real signals, Hydra's submitit launcher
(`submitit_local`, the SLURM code path on one machine) and joblib, against the test PostgreSQL server.

What must hold when a job does not end normally: a time-limit signal commits the page in flight and
exits 75; a killed job shows up in the sweep table as resumable while the others keep their outcomes;
running the same command again finishes the crawl exactly."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import pytest
from test_signals_throttle_e2e import GENEROUS_S, Run, crawl_row, run_args, video_requests

pytestmark = pytest.mark.slow

WAITS_SPEC = """\
name: waits
query:
  include_any_hashtags: [shoes, sneakers, fashion]
window: {start: "2024-03-01", end: "2024-03-12", days_per_query: 6}
tags: [waits]
"""


@pytest.fixture
def waits_dir(tmp_path: Path) -> Path:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "waits.yaml").write_text(WAITS_SPEC)
    return tmp_path


@pytest.mark.parametrize("signum", [signal.SIGUSR2, signal.SIGTERM])
def test_a_time_limit_signal_commits_the_page_in_flight_and_exits_75(crawlspec_exe, start_sim, sim_env,
                                                                     waits_dir, pg_url, signum):
    sim = start_sim(videos=3000, latency_ms=1500)
    arrived = threading.Event()
    handle = sim.app.handle

    def noting_arrival(*args):
        arrived.set()
        return handle(*args)

    sim.app.handle = noting_arrival
    run = Run(run_args(crawlspec_exe, sim.url, pg_url), waits_dir, sim_env)
    assert arrived.wait(GENEROUS_S), "no request reached the simulator"
    run.proc.send_signal(signum)
    code, stderr = run.finish(timeout=GENEROUS_S)
    assert code == 75, stderr[-3000:]
    assert f'"signal": "{signal.Signals(signum).name}"' in stderr
    crawl = crawl_row(pg_url)
    assert (crawl["outcome"], crawl["exit_code"]) == ("stopped:interrupted", 75)
    assert video_requests(sim.url) == 1 and crawl["videos"] > 0, "the page in flight was committed"
