"""Model-based test, as storage systems test themselves: hypothesis draws sequences of crawls of a
video spec and a users spec against one `crawlspec sim` process (real HTTP) and a real SQLite file or
PostgreSQL database, SIGKILLs runs after a drawn number of API requests, injects bursts of 500s,
exhausts the daily quota, moves the simulator's day and changes the spec's window. After every step the
database holds only the corpus's rows (exactly them for covered days and finished lists), no link row
points nowhere and none is duplicated, the quota ledger matches what the simulator charged, and the
requests stay within the minimum plus one per kill plus one per injected 500. The long version is
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
from model_harness import Oracle, SimProcess
from model_machine import ModelEnv, machine_for

VIDEO_PATH = "/v2/research/video/query/"


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
        database, sequences = (lambda _workdir: pg_database(server, prefix="model")), 2
    else:
        database, sequences = sqlite_database, 3
    env = ModelEnv(crawlspec_exe, sim, oracle, tmp_path, database)

    run_state_machine_as_test(machine_for(env), settings=model_settings(sequences, steps=3))

    assert env.stats.sequences >= sequences and not env.stats.violations
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
    from crawlspec.query import Cond, Fields, Op, VideoQuery

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
