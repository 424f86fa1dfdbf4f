"""A killed `auto` crawl resumes exactly: the installed `crawlspec run` under the large-search failure
model is SIGKILLed right after it gave a window back (a page answered 5xx); the decision (the dropped
window and what the planner learned) survives, and the next run finishes with every video once."""

from __future__ import annotations

import json
import signal
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest
from conftest import read_corpus_dump
from support.databases import query_rows
from support.live_run import Run

pytestmark = pytest.mark.slow  # starts processes

SPEC = """\
name: auto_kill
query:
  include_any_hashtags: [fashion, shoes]
window: {start: "2024-03-01", end: "2024-03-31"}
"""
WANTED = {"fashion", "shoes"}


def command(exe: str, sim, db_url: str) -> list[str]:
    return [exe, "run", "+spec=auto_kill", f"api.base_url={sim.url}", "api.credentials_file=null",
            f"db.url={db_url}", "api.retry.base_wait_s=0", "api.retry.max_wait_s=0", "log.format=json"]


def expected_ids(dump: Path) -> set[int]:
    return {int(v["id"]) for v in read_corpus_dump(dump)["video"] if not v["_deleted"]
            and {t.lower() for t in v.get("hashtag_names", [])} & WANTED
            and "2024-03-01" <= datetime.fromtimestamp(v["create_time"], timezone.utc).strftime("%Y-%m-%d")
            <= "2024-03-31"}


def test_a_killed_auto_crawl_keeps_its_split_and_resumes_exactly(crawlspec_exe, start_sim, sim_env, tmp_path,
                                                                 sqlite_url):
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "auto_kill.yaml").write_text(SPEC)
    sim = start_sim(videos=20_000, dense_fail_videos=300, latency_ms=30)
    sim.dump_corpus(tmp_path / "corpus.jsonl")

    run = Run(command(crawlspec_exe, sim, sqlite_url), tmp_path, sim_env)
    split = json.loads(run.wait_for('"window_split"'))
    run.proc.send_signal(signal.SIGKILL)
    run.proc.wait(timeout=60)

    given_back = split["window"]
    windows = {f"{str(start).replace('-', '')}-{str(end).replace('-', '')}"
               for start, end in query_rows(sqlite_url, "SELECT start_date, end_date FROM crawl_window")}
    assert given_back not in windows                    # dropped in the transaction that recorded why
    (failures, splits), = query_rows(sqlite_url, "SELECT failures, splits FROM window_learning")
    assert failures >= 1 and splits >= 1                # what the failure taught was committed too

    final = subprocess.run(command(crawlspec_exe, sim, sqlite_url), cwd=tmp_path, env=sim_env,
                           capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr[-3000:]
    events = [json.loads(line) for line in final.stderr.splitlines() if line.startswith("{")]
    assert all(e.get("window") != given_back for e in events if e.get("event") == "page")   # not asked again
    ids = [row[0] for row in query_rows(sqlite_url, "SELECT id FROM video")]
    assert len(ids) == len(set(ids)) and set(ids) == expected_ids(tmp_path / "corpus.jsonl")
    assert query_rows(sqlite_url, "SELECT count(*) FROM covered_day") == [(31,)]
