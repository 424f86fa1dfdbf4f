"""`crawlspec run -m`: Hydra sweeps through the installed CLI against one simulator over real HTTP.

Every job is its own crawl in one shared database; the stored ids must equal the union of what the
dumped corpus says each job matches; a bad job does not stop the others; the exit code is the worst."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import read_corpus_dump

SPEC = """\
name: sweep
query:
  include_any_hashtags: [shoes, sneakers, fashion]
window: {start: "2024-03-01", end: "2024-03-14", days_per_query: 7}
tags: [sweep-test]
"""
WANTED = {"shoes", "sneakers", "fashion"}
PAGE = 10  # videos per API page: small, so every job pages through several cursors
REGIONS = "spec.query.regions=[US],[GB]"
WINDOWS = 'spec.window={start:"2024-03-01",end:"2024-03-07"},{start:"2024-03-08",end:"2024-03-14"}'
JOBS = [(("US",), "2024-03-01", "2024-03-07"), (("US",), "2024-03-08", "2024-03-14"),
        (("GB",), "2024-03-01", "2024-03-07"), (("GB",), "2024-03-08", "2024-03-14")]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "sweep.yaml").write_text(SPEC)
    return tmp_path


def matching(dump: Path, regions: tuple[str, ...] | None, first: str, last: str, *,
             live_only: bool = True) -> set[int]:
    """A plain reading of the corpus: videos of these regions (None: any) in [first, last] with a wanted
    hashtag; deleted ones only when `live_only` is off (the API's cursor counts them)."""
    ids = set()
    for video in read_corpus_dump(dump)["video"]:
        day = datetime.fromtimestamp(video["create_time"], timezone.utc).strftime("%Y-%m-%d")
        tags = {t.lower() for t in video.get("hashtag_names", [])}
        if (first <= day <= last and tags & WANTED and not (live_only and video["_deleted"])
                and (regions is None or video.get("region_code") in regions)):
            ids.add(video["id"])
    return ids


def sweep(exe: str, cwd: Path, env: dict, sim, db_url: str, *overrides: str) -> subprocess.CompletedProcess:
    argv = [exe, "run", "-m", "+spec=sweep", f"api.base_url={sim.url}", "api.credentials_file=null",
            f"db.url={db_url}", "api.retry.base_wait_s=0", "api.retry.search_id_wait_s=0", "log.format=json",
            f"spec.limits.max_count={PAGE}", *overrides]
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def events(stderr: str, name: str) -> list[dict]:
    parsed = [json.loads(line) for line in stderr.splitlines()]
    return [event for event in parsed if event["event"] == name]


def crawl_rows(db_url: str) -> list[dict]:
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        rows = [dict(row._mapping) for row in conn.execute(sa.text(
            "SELECT id, fingerprint, overrides, start_date, end_date, outcome, exit_code, requests, videos "
            "FROM crawl ORDER BY id"))]
        for row in rows:
            row["tags"] = {name for (name,) in conn.execute(sa.text(
                "SELECT t.name FROM crawl_tag t JOIN crawls_to_crawl_tags c ON c.crawl_tag_id = t.id "
                "WHERE c.crawl_id = :id"), {"id": row["id"]})}
            if isinstance(row["overrides"], str):
                row["overrides"] = json.loads(row["overrides"])
    engine.dispose()
    return rows


def stored_ids(db_url: str) -> list[int]:
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        ids = [row[0] for row in conn.execute(sa.text("SELECT id FROM video"))]
    engine.dispose()
    return ids


def ledger_total(db_url: str) -> int:
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        total = conn.execute(sa.text("SELECT coalesce(sum(used), 0) FROM quota_ledger "
                                     "WHERE pool = 'research'")).scalar_one()
    engine.dispose()
    return int(total)


def test_two_by_two_sweep_stores_the_union_of_every_job(crawlspec_exe, start_sim, sim_env, workdir, sqlite_url):
    sim = start_sim(videos=4000)
    dump = workdir / "corpus.jsonl"
    sim.dump_corpus(dump)
    per_job = [matching(dump, *job) for job in JOBS]
    assert all(per_job) and max(map(len, per_job)) > 2 * PAGE, "jobs need several pages"

    result = sweep(crawlspec_exe, workdir, sim_env, sim, sqlite_url, REGIONS, WINDOWS)

    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout == ""
    ids = stored_ids(sqlite_url)
    assert len(ids) == len(set(ids)) and set(ids) == set().union(*per_job)
    crawls = crawl_rows(sqlite_url)
    assert len(crawls) == 4, "one crawl row per job"
    assert len({c["fingerprint"] for c in crawls}) == 2, "the region changes the query, the window does not"
    for crawl, (regions, first, last) in zip(crawls, JOBS, strict=True):
        assert f"spec.query.regions=[{regions[0]}]" in crawl["overrides"]
        assert any(o.startswith("spec.window=") and first in o for o in crawl["overrides"])
        assert (str(crawl["start_date"]), str(crawl["end_date"])) == (first, last)
        assert crawl["tags"] == {"sweep-test"}
        assert (crawl["outcome"], crawl["exit_code"]) == ("complete", 0)
    summaries = events(result.stderr, "run_summary")
    assert [s["job"] for s in summaries] == [0, 1, 2, 3]
    assert [s["videos"] for s in summaries] == [len(ids) for ids in per_job]
    assert sum(s["requests"] for s in summaries) == ledger_total(sqlite_url) == sim.stats()["quota_used"]
    (table,) = events(result.stderr, "sweep_summary")
    assert table["exit_code"] == 0 and [j["outcome"] for j in table["jobs"]] == ["complete"] * 4


def test_a_bad_job_does_not_stop_the_others_and_the_sweep_exits_2(crawlspec_exe, start_sim, sim_env, workdir,
                                                                  sqlite_url):
    sim = start_sim()
    dump = workdir / "corpus.jsonl"
    sim.dump_corpus(dump)

    result = sweep(crawlspec_exe, workdir, sim_env, sim, sqlite_url, REGIONS, "spec.window.days_per_query=0,7")

    assert result.returncode == 2, result.stderr[-3000:]
    summaries = {s["job"]: s for s in events(result.stderr, "run_summary")}
    assert [summaries[n]["exit_code"] for n in range(4)] == [2, 0, 2, 0]
    assert "days_per_query: 0 is outside 1..30" in summaries[0]["message"]
    crawls = crawl_rows(sqlite_url)
    assert len(crawls) == 2 and all(c["outcome"] == "complete" for c in crawls)
    want = matching(dump, ("US",), "2024-03-01", "2024-03-14") | matching(dump, ("GB",), "2024-03-01", "2024-03-14")
    assert set(stored_ids(sqlite_url)) == want


def test_console_sweep_prints_a_readable_summary_table(crawlspec_exe, start_sim, sim_env, workdir, sqlite_url):
    sim = start_sim(videos=500)
    result = sweep(crawlspec_exe, workdir, sim_env, sim, sqlite_url, REGIONS, "spec.window.days_per_query=0,7",
                   "log.format=console")
    assert result.returncode == 2
    table = result.stderr[result.stderr.index("sweep: 4 jobs"):].splitlines()
    assert table[0].startswith("sweep: 4 jobs, 2 complete, exit 2; every job: +spec=sweep")
    assert table[1].split() == ["job", "overrides", "videos", "requests", "outcome"]
    assert table[2].split()[:3] == ["0", "spec.query.regions=[US]", "spec.window.days_per_query=0"]
    assert table[2].endswith("invalid input (exit 2)") and table[3].endswith("complete")
    assert "[job 0] crawlspec: spec.window.days_per_query: 0 is outside 1..30" in result.stderr


def test_relative_paths_resolve_in_the_start_directory_when_hydra_changes_it(crawlspec_exe, start_sim, sim_env,
                                                                               workdir):
    sim = start_sim(videos=500)
    (workdir / "data").mkdir()

    result = sweep(crawlspec_exe, workdir, sim_env, sim, "sqlite:///data/crawl.db", REGIONS,
                   "hydra.job.chdir=true", "storage.raw_dir=raw")

    assert result.returncode == 0, result.stderr[-3000:]
    db_file = workdir / "data" / "crawl.db"
    assert len(crawl_rows(f"sqlite:///{db_file}")) == 2
    assert list((workdir / "raw").glob("*.jsonl.gz")), "the raw archive lands in the start directory too"
    assert {s["database"] for s in events(result.stderr, "run_summary")} == {f"sqlite:///{db_file}"}
    assert sorted(p.name for p in workdir.iterdir()) == ["data", "raw", "specs"], "nothing else is written"
