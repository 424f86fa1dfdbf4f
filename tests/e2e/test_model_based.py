"""Model-based test, as storage systems test themselves: hypothesis draws sequences of crawls of a
video spec and a users spec against one `crawlspec sim` process (real HTTP) and a real SQLite file or
PostgreSQL database, SIGKILLs runs after a drawn number of API requests, injects bursts of 500s (some
longer than the client's retries: windows split, failing days, failed lists), exhausts the daily quota,
moves the simulator's day and changes the spec's window. After every step the database holds only the
corpus's rows (exactly them for covered days and finished lists), no link row points nowhere and none
is duplicated, the quota ledger matches what the simulator charged, and the requests stay within the
minimum plus one per kill plus one per injected 500. The long version is
`python scripts/model_drill.py --sequences 1000`."""

from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import pg_database, pg_server_url
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test
from support.model_harness import Oracle, SimProcess
from support.model_machine import ModelEnv, machine_for

VIDEO_PATH = "/v2/research/video/query/"
SEQUENCES, STEPS = 2, 3     # per back end: 20-25 s each at load average 7 on 2 cores, ~100 s at 11


def model_settings(sequences: int, steps: int) -> settings:
    return settings(max_examples=sequences, stateful_step_count=steps, deadline=None, derandomize=True,
                    database=None, suppress_health_check=list(HealthCheck), print_blob=False)


@pytest.fixture(scope="module")
def sim_process(crawlspec_exe: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SimProcess, Oracle]]:
    sim = SimProcess(crawlspec_exe, tmp_path_factory.mktemp("model-sim"))
    try:
        yield sim, Oracle(sim.dump)
    finally:
        sim.stop()


@contextlib.contextmanager
def sqlite_database(workdir: Path) -> Iterator[str]:
    yield f"sqlite:///{workdir / 'model.db'}"


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_any_sequence_of_runs_kills_faults_and_days_keeps_the_database_equal_to_the_corpus(
        backend, crawlspec_exe, sim_process, tmp_path):
    sim, oracle = sim_process
    if backend == "postgresql":
        server = pg_server_url()
        database = lambda _workdir: pg_database(server, prefix="model")  # noqa: E731
    else:
        database = sqlite_database
    env = ModelEnv(crawlspec_exe, sim, oracle, tmp_path, database)

    run_state_machine_as_test(machine_for(env), settings=model_settings(SEQUENCES, STEPS))

    assert env.stats.sequences >= SEQUENCES and not env.stats.violations
    assert env.stats.kills > 0 and env.stats.faults > 0, "the sequences exercised kills and injected faults"


def _post(url: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_fault_burst_endpoint_fails_exactly_the_next_n_research_requests(start_sim):
    from crawlspec.client import TikTokApiRequestClient, TikTokVideoRequest
    from crawlspec.client.credentials import Credentials
    from crawlspec.client.retry import RetryPolicy
    from crawlspec.errors import RetriesExhausted
    from crawlspec.spec.query import Cond, Fields, Op, VideoQuery

    sim = start_sim()
    status, stats = _post(f"{sim.url}/_sim/faults", b'{"server_errors": 2}')
    assert status == 200 and stats["fault_burst_left"] == 2
    assert _post(f"{sim.url}/_sim/faults", b'{"server_errors": -1}')[0] == 400
    assert _post(f"{sim.url}/_sim/faults", b"not json")[0] == 400

    client = TikTokApiRequestClient(Credentials("test-client-key", "test-client-secret-9f3a7c", "environment"),
                                    sim.url, retry=RetryPolicy(max_tries=2, base_wait_s=0))
    request = TikTokVideoRequest(query=VideoQuery(and_=[Cond(Fields.hashtag_name, "fyp", Op.EQ)]),
                                 start_date="20240301", end_date="20240302")
    with pytest.raises(RetriesExhausted):
        client.fetch_videos(request)               # both attempts meet the burst
    assert client.fetch_videos(request).videos     # the burst is over
    stats = sim.stats()
    assert stats["requests"][VIDEO_PATH] == 3 and stats["quota_used"] == 3   # the failed ones are charged
    assert stats["faults"]["server_error"] == 2 and stats["fault_burst_left"] == 0


def test_the_checks_see_an_orphan_link_a_missing_video_and_a_ledger_behind_the_simulator(tmp_path):
    """The oracle itself can fail: a tampered database is reported, the repaired one passes."""
    from datetime import date

    import sqlalchemy as sa
    from support.model_checks import ModelState, check

    from crawlspec.storage import models
    from crawlspec.storage.database import open_database

    day, today, url = date(2024, 3, 1), date(2030, 1, 1), f"sqlite:///{tmp_path / 'checks.db'}"
    oracle = Oracle.__new__(Oracle)
    oracle.matches, oracle.hashtags = {day: {10: False, 11: False, 12: True}}, {10: set(), 11: set(), 12: set()}
    oracle.lists, oracle.found_users, oracle.users = {}, set(), []
    model = ModelState(today=today, requested_days={day}, runs=1)
    model.requests["model"], model.sim_used[(today, "research")] = 1, 1
    open_database(url).dispose()
    engine = sa.create_engine(url)     # without crawlspec's foreign-key pragma: tampering is possible
    with engine.begin() as conn:
        conn.execute(sa.insert(models.Crawl.__table__), {"id": 1, "spec_name": "model", "fingerprint": "fp"})
        conn.execute(sa.insert(models.CrawlSpec.__table__), {"fingerprint": "fp", "name": "model"})
        conn.execute(sa.insert(models.CrawlWindow.__table__), {
            "fingerprint": "fp", "start_date": day, "end_date": day, "status": "done", "cursor": 3,
            "has_more": False, "pages": 1, "videos": 2, "crawl_id": 1, "failures": 0})
        conn.execute(sa.insert(models.CoveredDay.__table__), {"fingerprint": "fp", "day": day, "crawl_id": 1})
        conn.execute(sa.insert(models.Video.__table__), [{"id": 10}])
        conn.execute(sa.insert(models.videos_to_crawls), [{"video_id": 10, "crawl_id": 1}])
        conn.execute(sa.insert(models.videos_to_hashtags), {"video_id": 99, "hashtag_id": 5})
        conn.execute(sa.insert(models.QuotaUse.__table__), {"day": today, "pool": "research", "used": 0})

    problems = "\n".join(check(url, oracle, model))
    assert "rows of videos_to_hashtags.video_id point to no video" in problems
    assert "1 videos of covered days missing, e.g. [11]" in problems
    assert "quota ledger 2030-01-01 research: 0 reserved, the simulator charged 1" in problems

    with engine.begin() as conn:
        conn.execute(sa.delete(models.videos_to_hashtags))
        conn.execute(sa.insert(models.Video.__table__), [{"id": 11}])
        conn.execute(sa.insert(models.videos_to_crawls), [{"video_id": 11, "crawl_id": 1}])
        conn.execute(sa.update(models.QuotaUse.__table__).values(used=1))
    engine.dispose()
    assert check(url, oracle, model) == []
