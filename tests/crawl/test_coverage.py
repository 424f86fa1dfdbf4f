"""Coverage rules: covered days are never fetched again, days inside the
API's index lag are fetched but not covered, and `run.refetch=true` fetches covered days on purpose."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest
from conftest import read_corpus_dump

pytestmark = pytest.mark.slow  # every test here starts processes

VIDEO_PATH = "/v2/research/video/query/"
SPEC = """\
name: lag
query: {include_any_hashtags: [shoes, sneakers, fashion]}
window: {start: "2024-03-10", end: "2024-03-14", days_per_query: 5}
"""


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "lag.yaml").write_text(SPEC)
    return tmp_path


def crawl(exe: str, sim, db_url: str, cwd: Path, env: dict, today: str, *extra: str):
    cmd = [exe, "run", "+spec=lag", f"api.base_url={sim.url}", "api.credentials_file=null", f"db.url={db_url}",
           "api.retry.base_wait_s=0", "api.retry.search_id_wait_s=0", "log.format=json", *extra]
    result = subprocess.run(cmd, cwd=cwd, env=dict(env, CRAWLSPEC_TODAY=today), capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]


def pages_for(dump: Path, first: str, last: str) -> int:
    n = 0
    for video in read_corpus_dump(dump)["video"]:
        day = datetime.fromtimestamp(video["create_time"], timezone.utc).strftime("%Y-%m-%d")
        if first <= day <= last and {t.lower() for t in video.get("hashtag_names", [])} & {
                "shoes", "sneakers", "fashion"}:
            n += 1
    return max(1, -(-n // 100))


def test_days_inside_the_index_lag_are_fetched_again_until_old_enough(crawlspec_exe, start_sim, sim_env,
                                                                      workdir, sqlite_url):
    sim = start_sim(videos=6000)
    dump = workdir / "corpus.jsonl"
    sim.dump_corpus(dump)
    requests = lambda: sim.stats()["requests"].get(VIDEO_PATH, 0)  # noqa: E731

    events = crawl(crawlspec_exe, sim, sqlite_url, workdir, sim_env, "2024-03-15")
    assert requests() == pages_for(dump, "2024-03-10", "2024-03-14")
    assert any(e["event"] == "window_in_index_lag" for e in events)

    before = requests()
    crawl(crawlspec_exe, sim, sqlite_url, workdir, sim_env, "2024-03-15")
    assert requests() - before == pages_for(dump, "2024-03-14", "2024-03-14"), "only the lagging day again"

    before = requests()
    crawl(crawlspec_exe, sim, sqlite_url, workdir, sim_env, "2024-03-20")
    assert requests() - before == pages_for(dump, "2024-03-14", "2024-03-14"), "old enough now: fetched, covered"

    before = requests()
    crawl(crawlspec_exe, sim, sqlite_url, workdir, sim_env, "2024-03-21")
    assert requests() == before, "everything covered: nothing sent"


def test_refetch_fetches_covered_days_on_purpose(crawlspec_exe, start_sim, sim_env, workdir, sqlite_url):
    sim = start_sim(videos=6000)
    dump = workdir / "corpus.jsonl"
    sim.dump_corpus(dump)
    crawl(crawlspec_exe, sim, sqlite_url, workdir, sim_env, "2025-01-01")
    before = sim.stats()["requests"][VIDEO_PATH]

    crawl(crawlspec_exe, sim, sqlite_url, workdir, sim_env, "2025-01-01", "run.refetch=true")

    assert sim.stats()["requests"][VIDEO_PATH] - before == pages_for(dump, "2024-03-10", "2024-03-14")
