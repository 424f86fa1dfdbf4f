"""An empty answer is not proof that days are empty: during a simulated outage keyword searches answer
0 videos without an error. The days are not covered on one answer; a later run asks again (one request
per empty window), collects the videos once the outage is over, or confirms the days as empty. Real HTTP,
the installed CLI, SQLite and PostgreSQL."""

from __future__ import annotations

import json
import subprocess
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import read_corpus_dump

VIDEO_PATH = "/v2/research/video/query/"
KEYWORD = "streetwear"


def spec(start: str, end: str) -> str:
    return (f"name: sparse\nquery:\n  include_any_keywords: [{KEYWORD}]\n"
            f"window: {{start: \"{start}\", end: \"{end}\", days_per_query: 5}}\n")


def expected_ids(dump: Path, start: str, end: str) -> set[int]:
    found = set()
    for video in read_corpus_dump(dump)["video"]:
        day = datetime.fromtimestamp(video["create_time"], timezone.utc).strftime("%Y-%m-%d")
        if not video["_deleted"] and start <= day <= end and KEYWORD in video.get("video_description", "").lower():
            found.add(video["id"])
    return found


def run(exe: str, workdir: Path, env: dict, sim, db_url: str, today: str) -> subprocess.CompletedProcess:
    overrides = [f"api.base_url={sim.url}", "api.credentials_file=null", f"db.url={db_url}",
                 "api.retry.base_wait_s=0", "log.format=json"]
    return subprocess.run([exe, "run", "+spec=sparse", *overrides], cwd=workdir,
                          env={**env, "CRAWLSPEC_TODAY": today}, capture_output=True, text=True, timeout=300)


def video_requests(sim) -> int:
    return sim.stats()["requests"].get(VIDEO_PATH, 0)


def scalar_set(db_url: str, sql: str) -> set:
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        found = {row[0] for row in conn.execute(sa.text(sql))}
    engine.dispose()
    return found


def write_spec(workdir: Path, start: str, end: str) -> None:
    (workdir / "specs").mkdir(exist_ok=True)
    (workdir / "specs" / "sparse.yaml").write_text(spec(start, end))


@pytest.mark.slow
def test_outage_days_are_asked_again_and_collected_after_it(crawlspec_exe, start_sim, sim_env, tmp_path, db_url):
    sim = start_sim(empty_outage="keyword", today=date(2024, 4, 10))
    sim.dump_corpus(tmp_path / "corpus.jsonl")
    want = expected_ids(tmp_path / "corpus.jsonl", "2024-03-01", "2024-03-10")
    assert want, "the keyword should match videos in both windows"
    write_spec(tmp_path, "2024-03-01", "2024-03-10")

    during = run(crawlspec_exe, tmp_path, sim_env, sim, db_url, "2024-04-10")

    assert during.returncode == 0, during.stderr[-3000:]
    assert video_requests(sim) == 2 and sim.stats()["faults"]["empty_outage"] == 2
    assert scalar_set(db_url, "SELECT day FROM covered_day") == set(), "one empty answer covers nothing"
    assert len(scalar_set(db_url, "SELECT day FROM empty_day")) == 10
    report = json.loads(subprocess.run([crawlspec_exe, "status", "--db", db_url, "--json"], cwd=tmp_path,
                                       env=sim_env, capture_output=True, text=True, check=True).stdout)
    assert len(report["specs"][0]["empty_days_unconfirmed"]) == 10

    same_day = run(crawlspec_exe, tmp_path, sim_env, sim, db_url, "2024-04-10")

    assert same_day.returncode == 0, same_day.stderr[-3000:]
    assert video_requests(sim) == 2, "not asked again before run.confirm_empty_after_hours"

    sim.advance_day()   # the outage ends with the simulator's day
    after = run(crawlspec_exe, tmp_path, sim_env, sim, db_url, "2024-04-11")

    assert after.returncode == 0, after.stderr[-3000:]
    assert scalar_set(db_url, "SELECT id FROM video") == want
    assert len(scalar_set(db_url, "SELECT day FROM covered_day")) == 10
    assert scalar_set(db_url, "SELECT day FROM empty_day") == set()
    assert video_requests(sim) == 2 + 2   # one page per window: fewer than 100 matches each


@pytest.mark.slow
def test_truly_empty_days_cost_one_extra_request_and_an_outage_after_videos_warns(
        crawlspec_exe, start_sim, sim_env, tmp_path, db_url):
    healthy = start_sim(today=date(2024, 4, 10))
    write_spec(tmp_path, "2024-03-01", "2024-03-05")
    assert run(crawlspec_exe, tmp_path, sim_env, healthy, db_url, "2024-04-10").returncode == 0
    assert scalar_set(db_url, "SELECT count(*) FROM video") != {0}

    outage = start_sim(empty_outage="keyword", today=date(2024, 4, 10))
    write_spec(tmp_path, "2024-03-01", "2024-03-10")
    during = run(crawlspec_exe, tmp_path, sim_env, outage, db_url, "2024-04-10")

    assert during.returncode == 0, during.stderr[-3000:]
    events = [json.loads(line) for line in during.stderr.splitlines() if line.startswith("{")]
    assert any(e["event"] == "empty_window_suspicious" and e["level"] == "warning" for e in events)
    assert video_requests(outage) == 1   # 03-01..05 is covered already

    # a window of days with no video at all (after the corpus): confirmed by exactly one more request
    write_spec(tmp_path, "2024-04-01", "2024-04-05")
    empty = start_sim(today=date(2024, 4, 10))
    assert run(crawlspec_exe, tmp_path, sim_env, empty, db_url, "2024-04-10").returncode == 0
    assert run(crawlspec_exe, tmp_path, sim_env, empty, db_url, "2024-04-11").returncode == 0
    assert run(crawlspec_exe, tmp_path, sim_env, empty, db_url, "2024-04-12").returncode == 0
    assert video_requests(empty) == 2
    covered = scalar_set(db_url, "SELECT day FROM covered_day WHERE day >= '2024-04-01'")
    assert {str(d)[:10] for d in covered} == {f"2024-04-0{i}" for i in range(1, 6)}
