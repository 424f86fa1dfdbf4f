"""Checkpointed resume and unattended operation: real processes, a real simulator, SIGKILL
and SIGTERM at arbitrary moments, quota exhaustion day after day, and stale search ids."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import read_corpus_dump

pytestmark = pytest.mark.slow  # every test here starts processes

VIDEO_PATH = "/v2/research/video/query/"
SPEC = """\
name: resume
query:
  include_any_hashtags: [shoes, sneakers, fashion]
window: {start: "2024-03-01", end: "2024-03-12", days_per_query: 6}
tags: [resume]
"""
WINDOWS = [("2024-03-01", "2024-03-06"), ("2024-03-07", "2024-03-12")]
WANTED = {"shoes", "sneakers", "fashion"}


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "resume.yaml").write_text(SPEC)
    return tmp_path


def matching(dump: Path, first: str, last: str, *, live_only: bool = True) -> set[int]:
    ids = set()
    for video in read_corpus_dump(dump)["video"]:
        day = datetime.fromtimestamp(video["create_time"], timezone.utc).strftime("%Y-%m-%d")
        wanted = {t.lower() for t in video.get("hashtag_names", [])} & WANTED
        if first <= day <= last and wanted and not (live_only and video["_deleted"]):
            ids.add(video["id"])
    return ids


def minimum_pages(dump: Path) -> int:
    """Pages the API needs: the cursor counts deleted videos too, 100 per page, at least 1 per window."""
    return sum(max(1, -(-len(matching(dump, a, b, live_only=False)) // 100)) for a, b in WINDOWS)


def command(exe: str, sim, db_url: str, *extra: str) -> list[str]:
    return [exe, "run", "+spec=resume", f"api.base_url={sim.url}", "api.credentials_file=null",
            f"db.url={db_url}", "api.retry.base_wait_s=0", "api.retry.search_id_wait_s=0",
            "log.format=json", *extra]


def stored_ids(db_url: str) -> list[int]:
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        ids = [row[0] for row in conn.execute(sa.text("SELECT id FROM video"))]
    engine.dispose()
    return ids


def video_requests(sim) -> int:
    return sim.stats()["requests"].get(VIDEO_PATH, 0)


def wait_for_requests(sim, target: int, proc: subprocess.Popen, limit_s: float = 60) -> bool:
    """Synchronise with the crawl (not a timing assertion): True once the simulator has seen
    `target` video requests, False if the crawl ended first."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if video_requests(sim) >= target:
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.005)
    raise AssertionError("the crawl made no progress")


def test_killed_crawl_resumes_from_last_cursor_without_loss_or_duplicates(crawlspec_exe, start_sim, sim_env,
                                                                          workdir, sqlite_url):
    sim = start_sim(videos=6000, latency_ms=40)
    dump = workdir / "corpus.jsonl"
    sim.dump_corpus(dump)
    kills = 0
    for step in (2, 3, 2):
        proc = subprocess.Popen(command(crawlspec_exe, sim, sqlite_url), cwd=workdir, env=sim_env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if wait_for_requests(sim, video_requests(sim) + step, proc):
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(timeout=60)
    final = subprocess.run(command(crawlspec_exe, sim, sqlite_url), cwd=workdir, env=sim_env,
                           capture_output=True, text=True, timeout=300)

    assert final.returncode == 0, final.stderr[-3000:]
    assert kills >= 2
    ids = stored_ids(sqlite_url)
    assert len(ids) == len(set(ids))
    assert set(ids) == matching(dump, "2024-03-01", "2024-03-12")
    assert video_requests(sim) <= minimum_pages(dump) + kills


def test_sigterm_commits_and_exits_75_then_resumes(crawlspec_exe, start_sim, sim_env, workdir, sqlite_url):
    sim = start_sim(videos=6000, latency_ms=40)
    dump = workdir / "corpus.jsonl"
    sim.dump_corpus(dump)
    proc = subprocess.Popen(command(crawlspec_exe, sim, sqlite_url), cwd=workdir, env=sim_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert wait_for_requests(sim, 2, proc)
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 75, err[-3000:]
    assert "resumable" in err
    assert "Traceback" not in err

    final = subprocess.run(command(crawlspec_exe, sim, sqlite_url), cwd=workdir, env=sim_env,
                           capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr[-3000:]
    assert set(stored_ids(sqlite_url)) == matching(dump, "2024-03-01", "2024-03-12")
    assert video_requests(sim) <= minimum_pages(dump) + 1


def test_quota_exhaustion_exits_75_day_after_day_until_complete(crawlspec_exe, start_sim, sim_env, workdir,
                                                                 sqlite_url):
    sim = start_sim(videos=6000, daily_quota=2)
    dump = workdir / "corpus.jsonl"
    sim.dump_corpus(dump)
    codes = []
    day = date(2030, 1, 1)
    for _ in range(12):
        env = dict(sim_env, CRAWLSPEC_TODAY=day.isoformat())
        result = subprocess.run(command(crawlspec_exe, sim, sqlite_url, "api.on_quota_exhausted=exit"),
                                cwd=workdir, env=env, capture_output=True, text=True, timeout=300)
        codes.append(result.returncode)
        assert "Traceback" not in result.stderr
        if result.returncode == 0:
            break
        assert result.returncode == 75, result.stderr[-3000:]
        sim.advance_day()
        day += timedelta(days=1)
    assert codes[-1] == 0 and set(codes[:-1]) == {75}
    assert len(codes) == -(-minimum_pages(dump) // 2), "each day spends its whole quota on pages"
    assert set(stored_ids(sqlite_url)) == matching(dump, "2024-03-01", "2024-03-12")


def test_two_processes_sharing_a_database_stay_within_the_daily_budget(crawlspec_exe, start_sim, sim_env,
                                                                       workdir, db_url):
    sim = start_sim(videos=6000, latency_ms=5)
    procs = [subprocess.Popen(command(crawlspec_exe, sim, db_url, "api.daily_quota=5",
                                      "api.on_quota_exhausted=exit", f"spec.tags=[job{i}]",
                                      "spec.window.days_per_query=1",
                                      f"spec.query.include_any_hashtags=[{tag}]"),
                              cwd=workdir, env=sim_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True)
             for i, tag in enumerate(["shoes", "fashion"])]
    codes = [p.wait(timeout=300) for p in procs]
    assert set(codes) <= {0, 75} and 75 in codes
    assert sim.stats()["quota_used"] <= 5
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        ledger = conn.execute(sa.text("SELECT sum(used) FROM quota_ledger")).scalar_one()
    engine.dispose()
    assert ledger == sim.stats()["quota_used"]


def test_stale_search_id_restarts_the_window_from_cursor_zero(crawlspec_exe, start_sim, sim_env, workdir,
                                                              sqlite_url):
    first_sim = start_sim(videos=6000)
    one_window = "spec.window.days_per_query=12"
    stopped = subprocess.run(command(crawlspec_exe, first_sim, sqlite_url, one_window,
                                     "spec.limits.max_api_requests=2"),
                             cwd=workdir, env=sim_env, capture_output=True, text=True, timeout=300)
    assert stopped.returncode == 75, stopped.stderr[-3000:]
    engine = sa.create_engine(sqlite_url)
    with engine.connect() as conn:
        checkpoint = conn.execute(sa.text("SELECT search_id, cursor FROM crawl_window")).one()
    engine.dispose()
    assert checkpoint.search_id and checkpoint.cursor == 200, "stopped mid-window with a stored search_id"
    first_sim.stop()  # its cached searches die with it: the stored search_id is now unknown

    sim = start_sim(videos=6000)
    dump = workdir / "corpus.jsonl"
    sim.dump_corpus(dump)
    result = subprocess.run(command(crawlspec_exe, sim, sqlite_url, one_window), cwd=workdir, env=sim_env,
                            capture_output=True, text=True, timeout=300)

    assert result.returncode == 0, result.stderr[-3000:]
    events = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert any(e.get("event") == "window_restart" for e in events)
    # two stored pages cost less to fetch again than the search_id retries (charged, 50 s of waits)
    assert [e for e in events if e.get("event") == "api_retry"] == []
    pages = -(-len(matching(dump, "2024-03-01", "2024-03-12", live_only=False)) // 100)
    assert video_requests(sim) == 1 + pages
    ids = stored_ids(sqlite_url)
    assert len(ids) == len(set(ids))
    assert set(ids) == matching(dump, "2024-03-01", "2024-03-12")


def test_two_runs_of_the_same_spec_at_once_never_fetch_a_window_twice(crawlspec_exe, start_sim, sim_env,
                                                                      workdir, db_url):
    sim = start_sim(videos=6000, latency_ms=20)
    dump = workdir / "corpus.jsonl"
    sim.dump_corpus(dump)
    cmd = command(crawlspec_exe, sim, db_url, "spec.window.days_per_query=2")
    procs = [subprocess.Popen(cmd, cwd=workdir, env=sim_env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for _ in range(2)]
    codes = [p.wait(timeout=300) for p in procs]
    assert set(codes) <= {0, 75}
    finish = subprocess.run(cmd, cwd=workdir, env=sim_env, capture_output=True, text=True, timeout=300)
    assert finish.returncode == 0, finish.stderr[-3000:]

    day_windows = [(f"2024-03-{d:02d}", f"2024-03-{d + 1:02d}") for d in range(1, 12, 2)]
    minimum = sum(max(1, -(-len(matching(dump, a, b, live_only=False)) // 100)) for a, b in day_windows)
    assert video_requests(sim) == minimum, "every window page was fetched exactly once"
    assert set(stored_ids(db_url)) == matching(dump, "2024-03-01", "2024-03-12")


def test_a_window_an_interrupted_night_left_is_resumed_after_the_range_slid(crawlspec_exe, start_sim, sim_env,
                                                                            workdir, sqlite_url):
    """A nightly spec's range slides by a day: the window the stopped night left (its oldest day now outside
    the range) is resumed from its cursor, so that day is not lost and no stored page is fetched again."""
    sim = start_sim(videos=6000)
    dump = workdir / "corpus.jsonl"
    sim.dump_corpus(dump)
    night_one = ("spec.window.start=2024-03-03", "spec.window.end=2024-03-10", "spec.window.days_per_query=8")
    stopped = subprocess.run(command(crawlspec_exe, sim, sqlite_url, *night_one, "spec.limits.max_api_requests=1"),
                             cwd=workdir, env=sim_env, capture_output=True, text=True, timeout=300)
    assert stopped.returncode == 75, stopped.stderr[-3000:]
    sent_before = video_requests(sim)

    night_two = ("spec.window.start=2024-03-04", "spec.window.end=2024-03-11", "spec.window.days_per_query=8")
    result = subprocess.run(command(crawlspec_exe, sim, sqlite_url, *night_two), cwd=workdir, env=sim_env,
                            capture_output=True, text=True, timeout=300)

    assert result.returncode == 0, result.stderr[-3000:]
    events = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    (resuming,) = [e for e in events if e.get("event") == "resuming"]
    assert resuming["windows"] == ["20240303-20240310"] and resuming["cursors"] == [100]
    ids = stored_ids(sqlite_url)
    assert len(ids) == len(set(ids)) and set(ids) == matching(dump, "2024-03-03", "2024-03-11")
    pages = (-(-len(matching(dump, "2024-03-03", "2024-03-10", live_only=False)) // 100) - 1
             + max(1, -(-len(matching(dump, "2024-03-11", "2024-03-11", live_only=False)) // 100)))
    assert video_requests(sim) - sent_before == pages   # the stored first page is not fetched again
