"""A `crawlspec run` subprocess read line by line as it runs, and what it left behind (requests the
simulator served, the crawl row, covered days, the quota ledger)."""

from __future__ import annotations

import queue
import subprocess
import threading
import time
from pathlib import Path

import requests
import sqlalchemy as sa

VIDEO_PATH = "/v2/research/video/query/"
GENEROUS_S = 60   # far below what the interrupted waits would have taken (back-off 20 s, 40 s, ...; midnight)


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


def first_request_event(sim) -> threading.Event:
    """An event set when the first request reaches the in-process simulator."""
    arrived = threading.Event()
    handle = sim.app.handle

    def noting_arrival(*args):
        arrived.set()
        return handle(*args)

    sim.app.handle = noting_arrival
    return arrived
