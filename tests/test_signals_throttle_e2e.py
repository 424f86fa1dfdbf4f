"""The installed `crawlspec run` with real signals and a real simulator: a signal ends a retry back-off or
a quota wait at once (exit 75, nothing sent after it, committed pages kept), a second signal exits at
once; a crawl through a throttling simulator completes in one run even with on_quota_exhausted=exit."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

VIDEO_PATH = "/v2/research/video/query/"
SPEC = """\
name: waits
query:
  include_any_hashtags: [shoes, sneakers, fashion]
window: {start: "2024-03-01", end: "2024-03-12", days_per_query: 6}
tags: [waits]
"""
FIRST_WINDOW_DAYS = 6
GENEROUS_S = 60   # far below what the interrupted waits would have taken (back-off 20 s, 40 s, ...; midnight)

pytestmark = pytest.mark.slow


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "waits.yaml").write_text(SPEC)
    return tmp_path


class Run:
    """A `crawlspec run` subprocess whose stderr lines are read as they come."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str]):
        self.proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, text: str, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while True:
            line = self._queue.get(timeout=max(0.1, deadline - time.monotonic()))
            if line is None:
                raise AssertionError(f"exited before {text!r}:\n" + "".join(self.lines)[-3000:])
            self.lines.append(line)
            if text in line:
                return line

    def finish(self, timeout: float) -> tuple[int, str]:
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise
        while (line := self._queue.get(timeout=10)) is not None:
            self.lines.append(line)
        return code, "".join(self.lines)


def run_args(exe: str, base_url: str, db_url: str, *extra: str) -> list[str]:
    return [exe, "run", "+spec=waits", f"api.base_url={base_url}", "api.credentials_file=null",
            f"db.url={db_url}", "log.format=json", *extra]


def video_requests(base_url: str) -> int:
    return int(requests.get(base_url + "/_sim/stats", timeout=10).json()["requests"].get(VIDEO_PATH, 0))


def crawl_row(db_url: str) -> dict:
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT outcome, exit_code, requests FROM crawl ORDER BY id DESC")).first()
        covered = conn.execute(sa.text("SELECT count(*) FROM covered_day")).scalar_one()
        videos = conn.execute(sa.text("SELECT count(*) FROM video")).scalar_one()
        ledger = conn.execute(sa.text("SELECT coalesce(sum(used), 0) FROM quota_ledger")).scalar_one()
    engine.dispose()
    assert row is not None
    return {"outcome": row[0], "exit_code": row[1], "requests": row[2], "covered": covered, "videos": videos,
            "ledger": ledger}


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


def first_request_event(sim) -> threading.Event:
    """An event set when the first request reaches the in-process simulator."""
    arrived = threading.Event()
    handle = sim.app.handle

    def noting_arrival(*args):
        arrived.set()
        return handle(*args)

    sim.app.handle = noting_arrival
    return arrived
