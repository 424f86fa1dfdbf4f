"""A run whose videos completed but whose comments stage was stopped by Ctrl-C: the summary says the run
stopped (exit 75), not "complete". The installed `crawlspec`, a real signal, a slow simulator over HTTP."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

COMMENTS = "/v2/research/video/comment/list/"


def test_a_stage_stopped_by_a_signal_is_not_reported_complete(crawlspec_exe, start_sim, sim_env, tmp_path: Path):
    sim = start_sim(latency_ms=200)
    proc = subprocess.Popen([crawlspec_exe, "run", "+spec=demo", f"api.base_url={sim.url}", "api.credentials_file=null",
                             f"db.url=sqlite:///{tmp_path / 'x.db'}", "spec.fetch.comments=true", "log.format=console"],
                            cwd=tmp_path, env=sim_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while sim.stats()["requests"].get(COMMENTS, 0) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)   # until the comments stage is under way
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 75, err[-2000:]
    summary = next(line for line in err.splitlines() if line.startswith("crawlspec: spec 'demo'"))
    assert "complete" not in summary and "stopped" in summary, summary
