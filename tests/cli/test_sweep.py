"""`crawlspec run -m`: Hydra sweeps through the installed CLI against one simulator over real HTTP.

Every job is its own crawl in one shared database; the stored ids must equal the union of what the
dumped corpus says each job matches; a bad job does not stop the others; the exit code is the worst."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.sweep import (
    JOBS,
    PAGE,
    REGIONS,
    WINDOWS,
    crawl_rows,
    events,
    ledger_total,
    matching,
    stored_ids,
    sweep,
    sweep_workdir,
)

pytestmark = pytest.mark.slow  # every test here starts processes


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return sweep_workdir(tmp_path)


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


def test_a_kept_sweep_directory_holds_no_database_password(crawlspec_exe, tmp_path: Path):
    import subprocess

    secret = "SEKRET-zz9-plural"
    sweep_dir = tmp_path / "mysweep"
    result = subprocess.run([crawlspec_exe, "run", "-m", "+spec=demo", "api=sim", f"hydra.sweep.dir={sweep_dir}",
                             f"db.url=postgresql://crawler:{secret}@127.0.0.1:1/crawl",
                             "spec.window.end=2024-03-05,2024-03-06"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 75, result.stderr[-2000:]   # the database is down: resumable
    saved = sweep_dir / "multirun.yaml"
    assert "crawler:***@127.0.0.1:1" in saved.read_text() and saved.stat().st_mode & 0o077 == 0
    files = [path for path in sweep_dir.rglob("*") if path.is_file()]
    assert saved in files
    assert [path for path in files if secret.encode() in path.read_bytes()] == []
    assert secret not in result.stdout + result.stderr
