"""A users crawl killed with SIGKILL mid-list resumes from each list's committed cursor: every list ends
exactly as the corpus says, no row twice, and each kill costs at most one repeated request."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest
from support.user_lists import LISTS, PATHS, TABLES, UserLists, command, rows, write_spec

pytestmark = pytest.mark.slow  # every test here starts processes


def list_requests(sim) -> int:
    spent = sim.stats()["requests"]
    return sum(spent.get(path, 0) for path in PATHS.values())


def kill_after(sim, proc: subprocess.Popen, more: int) -> bool:
    """SIGKILL the crawl once the simulator has seen `more` further list requests (False if it ended)."""
    target = list_requests(sim) + more
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if list_requests(sim) >= target:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.005)
    raise AssertionError("the users crawl made no progress")


def test_killed_users_crawl_resumes_each_list_from_its_cursor(crawlspec_exe, start_sim, sim_env, tmp_path,
                                                              sqlite_url):
    sim = start_sim(latency_ms=15)
    sim.dump_corpus(tmp_path / "corpus.jsonl")
    corpus = UserLists(tmp_path / "corpus.jsonl")
    users = corpus.pick()
    write_spec(tmp_path, users)
    kills = 0
    for step in (2, 3, 2):
        proc = subprocess.Popen(command(crawlspec_exe, sim, sqlite_url), cwd=tmp_path, env=sim_env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        kills += kill_after(sim, proc, step)
    final = subprocess.run(command(crawlspec_exe, sim, sqlite_url), cwd=tmp_path, env=sim_env,
                           capture_output=True, text=True, timeout=600)

    assert final.returncode == 0, final.stderr[-3000:]
    assert kills == 3
    minimum = sum(corpus.pages(users, name) + 1 for name in LISTS)  # +1: the unknown user, refused once
    assert list_requests(sim) <= minimum + kills
    for name in LISTS:
        table, other = TABLES[name]
        stored = rows(sqlite_url, f"SELECT username, {other} FROM {table}")
        assert len(stored) == len(set(stored)), name
        assert set(stored) == corpus.expected_rows(users, name), name

    status = subprocess.run([crawlspec_exe, "status", "--db", sqlite_url, "--json"], capture_output=True,
                            text=True, timeout=60)
    [spec] = json.loads(status.stdout)["specs"]
    assert spec["requested"] is None and spec["days_pending"] == 0   # no date window for a users spec
    lists = rows(sqlite_url, "SELECT status, count(*) FROM user_list_progress GROUP BY status")
    assert spec["user_lists"] == dict(lists) and "in_progress" not in spec["user_lists"]
