"""Comments and creator info end to end: the installed CLI in a subprocess, real HTTP to a seeded
simulator, SQLite and PostgreSQL. Stored rows must equal what the corpus dump says, and the requests per
endpoint must equal the minimum computed from the dump; a re-run sends nothing; SIGKILL mid-comments
resumes without asking for a finished video's comments again."""

from __future__ import annotations

import signal
import subprocess
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from support.talk_crawl import (
    COMMENTS_PATH,
    SPEC,
    USER_INFO_PATH,
    VIDEO_PATH,
    command,
    dump_and_spec,
    requests_of,
    rows,
)

pytestmark = pytest.mark.slow  # every test here starts processes


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "specs").mkdir()
    return tmp_path


def test_every_comment_and_creator_at_the_minimum_quota_then_nothing(crawlspec_exe, start_sim, sim_env,
                                                                      workdir, db_url):
    sim = start_sim(videos=4000, deleted_rate=0.05)
    corpus = dump_and_spec(sim, workdir)
    per_video = corpus.listings()
    assert any(len(c) == 1000 for c in per_video.values()), "the corpus should hit the 1,000-comment limit"
    assert any(c["parent_comment_id"] != c["video_id"] for cs in per_video.values() for c in cs), "and list replies"
    assert any(v.get("comment_count", 0) == 0 for v in corpus.matching()), "and have videos without comments"

    first = subprocess.run(command(crawlspec_exe, sim, db_url), cwd=workdir, env=sim_env,
                           capture_output=True, text=True, timeout=600)

    assert first.returncode == 0, first.stderr[-3000:]
    spent = requests_of(sim)
    assert spent[VIDEO_PATH] == corpus.video_pages()
    assert spent[COMMENTS_PATH] == corpus.comment_pages()
    assert spent[USER_INFO_PATH] == len(corpus.creators())
    stored_comments = rows(db_url, "SELECT id, video_id, parent_comment_id FROM comment")
    assert len(stored_comments) == len({row[0] for row in stored_comments})
    assert {row[0] for row in stored_comments} == {c["id"] for cs in per_video.values() for c in cs}
    parents = {c["id"]: c["parent_comment_id"] for cs in per_video.values() for c in cs}
    assert all(parent == parents[comment_id] for comment_id, _video, parent in stored_comments)
    stored_users = {row[0]: row[1] for row in rows(db_url, "SELECT username, follower_count FROM user_info")}
    findable = corpus.creators() & set(corpus.users)
    assert set(stored_users) == findable
    assert all(stored_users[name] == corpus.users[name]["follower_count"] for name in findable)
    not_found = {row[0] for row in rows(db_url, "SELECT username FROM user_lookup WHERE status = 'not_found'")}
    assert not_found == corpus.creators() - findable
    assert "comments:" in first.stderr and "user_info:" in first.stderr

    second = subprocess.run(command(crawlspec_exe, sim, db_url), cwd=workdir, env=sim_env,
                            capture_output=True, text=True, timeout=600)

    assert second.returncode == 0, second.stderr[-3000:]
    assert requests_of(sim) == spent, "a second run fetches nothing new"


def wait_for(sim, path: str, target: int, proc: subprocess.Popen, limit_s: float = 120) -> bool:
    """Synchronise with the crawl: True once the simulator saw `target` requests at `path`."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if requests_of(sim).get(path, 0) >= target:
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.005)
    raise AssertionError("the crawl made no progress")


def test_killed_mid_comments_resumes_without_repeating_finished_videos(crawlspec_exe, start_sim, sim_env,
                                                                       workdir, db_url):
    sim = start_sim(videos=4000, latency_ms=15)
    corpus = dump_and_spec(sim, workdir)
    kills = 0
    for step in (5, 9, 4):
        proc = subprocess.Popen(command(crawlspec_exe, sim, db_url), cwd=workdir, env=sim_env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if wait_for(sim, COMMENTS_PATH, requests_of(sim).get(COMMENTS_PATH, 0) + step, proc):
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(timeout=60)
    done_before = {row[0] for row in rows(db_url, "SELECT target_id FROM comment_progress WHERE status = 'done'")}
    final = subprocess.run(command(crawlspec_exe, sim, db_url), cwd=workdir, env=sim_env,
                           capture_output=True, text=True, timeout=600)

    assert final.returncode == 0, final.stderr[-3000:]
    assert kills == 3 and done_before, "the kills should land while comments are fetched"
    spent = requests_of(sim)
    assert spent[COMMENTS_PATH] <= corpus.comment_pages() + kills
    assert spent[VIDEO_PATH] == corpus.video_pages()
    stored = rows(db_url, "SELECT id FROM comment")
    assert len(stored) == len(set(stored))
    assert {row[0] for row in stored} == {c["id"] for cs in corpus.listings().values() for c in cs}
    assert spent[USER_INFO_PATH] == len(corpus.creators())


def test_not_found_creator_is_not_asked_again_today_but_is_tomorrow(crawlspec_exe, start_sim, sim_env,
                                                                    workdir, sqlite_url):
    sim = start_sim(videos=1500)
    corpus = dump_and_spec(sim, workdir, SPEC.replace("comments: true", "comments: false"))
    gone = corpus.creators() - set(corpus.users)
    assert gone, "the corpus should have creators the API cannot find"
    today = datetime(2030, 1, 1).date()

    for offset, expected in ((0, len(corpus.creators())), (0, 0), (1, len(gone))):
        env = dict(sim_env, CRAWLSPEC_TODAY=(today + timedelta(days=offset)).isoformat())
        before = requests_of(sim).get(USER_INFO_PATH, 0)
        result = subprocess.run(command(crawlspec_exe, sim, sqlite_url, "run.refetch=false"), cwd=workdir,
                                env=env, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
        assert requests_of(sim).get(USER_INFO_PATH, 0) - before == expected
        today += timedelta(days=offset)
