"""`crawlspec run` end to end: the installed CLI in a subprocess, real HTTP to a seeded simulator,
a real SQLite file or PostgreSQL database, faults injected; the stored ids must equal what the
dumped corpus says matches."""

from __future__ import annotations

import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import read_corpus_dump

pytestmark = pytest.mark.slow  # every test here starts processes

SPEC = """\
name: e2e
query:
  include_any_hashtags: ["#Shoes", sneakers]
window: {start: "2024-03-01", end: "2024-03-20", days_per_query: 7}
tags: [e2e, footwear]
"""
WANTED_TAGS = {"shoes", "sneakers"}


def expected_ids(dump: Path, first: str = "2024-03-01", last: str = "2024-03-20") -> set[int]:
    """A deliberately plain reading of the corpus: live videos in the window with a wanted hashtag."""
    ids = set()
    for video in read_corpus_dump(dump)["video"]:
        day = datetime.fromtimestamp(video["create_time"], timezone.utc).strftime("%Y-%m-%d")
        tags = {t.lower() for t in video.get("hashtag_names", [])}
        if not video["_deleted"] and first <= day <= last and tags & WANTED_TAGS:
            ids.add(video["id"])
    return ids


def run_cli(exe: str, cwd: Path, env: dict, *overrides: str) -> subprocess.CompletedProcess:
    return subprocess.run([exe, "run", "+spec=e2e", *overrides], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def sim_overrides(sim, db_url: str) -> list[str]:
    return [f"api.base_url={sim.url}", "api.credentials_file=null", f"db.url={db_url}",
            "api.retry.base_wait_s=0", "api.retry.search_id_wait_s=0", "log.format=json"]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "e2e.yaml").write_text(SPEC)
    return tmp_path


def test_crawl_with_faults_stores_exactly_the_matching_videos(crawlspec_exe, start_sim, sim_env, workdir,
                                                              db_url):
    sim = start_sim(fail_rate=0.15, invalid_search_id_rate=0.2, deleted_rate=0.05)
    dump = workdir / "corpus.jsonl"
    sim.dump_corpus(dump)
    want = expected_ids(dump)
    assert len(want) > 150, "the corpus should give this query several pages"

    result = run_cli(crawlspec_exe, workdir, sim_env, *sim_overrides(sim, db_url))

    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout == ""
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        stored = [row[0] for row in conn.execute(sa.text("SELECT id FROM video"))]
        links = conn.execute(sa.text("SELECT count(*) FROM videos_to_crawls")).scalar_one()
        tag_names = {row[0] for row in conn.execute(sa.text(
            "SELECT DISTINCT t.name FROM crawl_tag t JOIN videos_to_crawl_tags v ON v.crawl_tag_id = t.id"))}
        hashtag_links = conn.execute(sa.text("SELECT count(*) FROM videos_to_hashtags")).scalar_one()
    engine.dispose()
    assert len(stored) == len(set(stored)), "no duplicated video rows"
    assert set(stored) == want
    assert links == len(want)
    assert tag_names == {"e2e", "footwear"}
    assert hashtag_links >= len(want)


def test_rerun_of_a_finished_spec_sends_no_request(crawlspec_exe, start_sim, sim_env, workdir, sqlite_url):
    sim = start_sim()
    first = run_cli(crawlspec_exe, workdir, sim_env, *sim_overrides(sim, sqlite_url))
    assert first.returncode == 0, first.stderr[-3000:]
    before = sim.stats()

    second = run_cli(crawlspec_exe, workdir, sim_env, *sim_overrides(sim, sqlite_url))

    assert second.returncode == 0, second.stderr[-3000:]
    after = sim.stats()
    assert after["requests"] == before["requests"], "a covered spec must cost nothing, not even a token"


def test_extending_the_window_fetches_only_the_new_day(crawlspec_exe, start_sim, sim_env, workdir, sqlite_url):
    sim = start_sim()
    assert run_cli(crawlspec_exe, workdir, sim_env, *sim_overrides(sim, sqlite_url)).returncode == 0
    video_path = "/v2/research/video/query/"
    before = sim.stats()["requests"].get(video_path, 0)

    result = run_cli(crawlspec_exe, workdir, sim_env, *sim_overrides(sim, sqlite_url),
                     "spec.window.end=2024-03-21")

    assert result.returncode == 0, result.stderr[-3000:]
    dump = workdir / "corpus.jsonl"
    sim.dump_corpus(dump)
    new_day = expected_ids(dump, "2024-03-21", "2024-03-21")
    pages_needed = max(1, -(-len(new_day) // 100))
    assert sim.stats()["requests"][video_path] - before == pages_needed
    engine = sa.create_engine(sqlite_url)
    with engine.connect() as conn:
        stored = {row[0] for row in conn.execute(sa.text("SELECT id FROM video"))}
    assert stored == expected_ids(dump, "2024-03-01", "2024-03-21")


def test_embedded_demo_runs_in_an_empty_directory(crawlspec_exe, tmp_path):
    result = subprocess.run([crawlspec_exe, "run", "+spec=demo", "api=sim"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    db = tmp_path / "crawlspec.db"
    assert db.exists()
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        videos = conn.execute(sa.text("SELECT count(*) FROM video")).scalar_one()
    assert videos > 0
    assert f"{videos} videos stored" in result.stderr
    assert "crawlspec status" in result.stderr
