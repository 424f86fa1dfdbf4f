"""Parallel sweeps: `hydra/launcher=joblib` runs the jobs in worker processes at once against one
real PostgreSQL database (the `pg_url` fixture) and one simulator over real HTTP.

What must hold under concurrency: exact data (no duplicated or missing rows, no deadlock), the shared
quota ledger counting exactly what the API served and never more than the daily budget, and two jobs
of the same spec never fetching the same window twice (the runner's leases)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
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

pytest.importorskip("hydra_plugins.hydra_joblib_launcher", reason="pip install 'crawlspec[joblib]'")

VIDEO_PATH = "/v2/research/video/query/"
PARALLEL = ["hydra/launcher=joblib", "hydra.launcher.n_jobs=4"]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return sweep_workdir(tmp_path)


def worker_pids(stderr: str) -> set[int]:
    return {event["pid"] for event in events(stderr, "run_summary")}


def test_four_parallel_jobs_on_postgres_store_exact_data_within_budget(crawlspec_exe, start_sim, sim_env,
                                                                        workdir, pg_url):
    sim = start_sim(videos=4000, latency_ms=15)
    dump = workdir / "corpus.jsonl"
    sim.dump_corpus(dump)
    per_job = [matching(dump, *job) for job in JOBS]
    budget = 40

    result = sweep(crawlspec_exe, workdir, sim_env, sim, pg_url, REGIONS, WINDOWS, *PARALLEL,
                   f"spec.limits.max_api_requests={budget}")

    assert result.returncode == 0, result.stderr[-3000:]
    assert len(worker_pids(result.stderr)) > 1, "the jobs ran in several worker processes"
    ids = stored_ids(pg_url)
    assert len(ids) == len(set(ids)) and set(ids) == set().union(*per_job)
    crawls = crawl_rows(pg_url)
    assert len(crawls) == 4 and all(c["outcome"] == "complete" for c in crawls)
    assert all(c["requests"] <= budget for c in crawls), "no job over its budget"
    assert sorted(c["videos"] for c in crawls) == sorted(map(len, per_job))
    assert ledger_total(pg_url) == sim.stats()["quota_used"] == sum(c["requests"] for c in crawls)
    assert _link_rows_are_unique(pg_url)


def test_parallel_jobs_never_spend_more_than_the_shared_daily_quota(crawlspec_exe, start_sim, sim_env, workdir,
                                                                    pg_url):
    sim = start_sim(videos=4000, latency_ms=15)
    daily_quota = 9  # far less than the four jobs need: they race for the last requests

    result = sweep(crawlspec_exe, workdir, sim_env, sim, pg_url, REGIONS, WINDOWS, *PARALLEL,
                   f"api.daily_quota={daily_quota}", "api.on_quota_exhausted=exit")

    assert result.returncode == 75, result.stderr[-3000:]
    assert ledger_total(pg_url) == sim.stats()["quota_used"] == daily_quota
    (summary,) = events(result.stderr, "sweep_summary")
    assert {job["outcome"] for job in summary["jobs"]} <= {"resumable", "complete"}
    assert sum(job["requests"] for job in summary["jobs"]) == daily_quota


def test_two_parallel_jobs_of_one_spec_never_fetch_a_window_twice(crawlspec_exe, start_sim, sim_env, workdir,
                                                                  pg_url):
    sim = start_sim(videos=4000, latency_ms=25)
    dump = workdir / "corpus.jsonl"
    sim.dump_corpus(dump)
    # tags are not part of the fingerprint: both jobs crawl the same windows of the same spec
    same_spec = ["spec.tags=[first],[second]", "spec.window.days_per_query=2", *PARALLEL]

    result = sweep(crawlspec_exe, workdir, sim_env, sim, pg_url, *same_spec)

    assert result.returncode in (0, 75), result.stderr[-3000:]
    windows = [(f"2024-03-{d:02d}", f"2024-03-{d + 1:02d}") for d in range(1, 14, 2)]
    pages = sum(max(1, -(-len(matching(dump, None, a, b, live_only=False)) // PAGE)) for a, b in windows)
    assert sim.stats()["requests"][VIDEO_PATH] == pages, "every page of every window was fetched once"
    assert set(stored_ids(pg_url)) == matching(dump, None, "2024-03-01", "2024-03-14")
    assert len(crawl_rows(pg_url)) == 2


def _link_rows_are_unique(db_url: str) -> bool:
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        hashtags = conn.execute(sa.text("SELECT count(*), count(DISTINCT name) FROM hashtag")).one()
        tags = conn.execute(sa.text("SELECT count(*), count(DISTINCT name) FROM crawl_tag")).one()
    engine.dispose()
    return hashtags[0] == hashtags[1] and tags[0] == tags[1] == 1

