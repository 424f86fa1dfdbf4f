"""Today's query language: `view_count` / `comment_count` conditions in raw queries, and `sample: true`
(the API's `is_random`), run in-process over real HTTP against the simulator into SQLite and PostgreSQL."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import SIM_KEY, SIM_SECRET, read_corpus_dump

from crawlspec import exit_codes
from crawlspec.api.fields import VIDEO_QUERY_PATH
from crawlspec.cli.run import run
from crawlspec.spec.compile import compile_spec
from crawlspec.spec.validate import validate_spec


@pytest.fixture(autouse=True)
def sim_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRAWLSPEC_CLIENT_KEY", SIM_KEY)
    monkeypatch.setenv("CRAWLSPEC_CLIENT_SECRET", SIM_SECRET)


def config_for(sim, db_url: str, spec: dict[str, Any], raw_dir: Path | None = None) -> dict[str, Any]:
    return {
        "db": {"url": db_url},
        "api": {"base_url": sim.url, "credentials_file": None, "on_quota_exhausted": "exit",
                "daily_quota": 1000, "index_lag_days": 2, "timeout_s": 10,
                "retry": {"max_tries": 3, "base_wait_s": 0, "search_id_wait_s": 0}},
        "storage": {"raw_dir": str(raw_dir) if raw_dir else None},
        "log": {"format": "json", "level": "warning"},
        "run": {"refetch": False},
        "spec": spec,
    }


def live_videos(sim, tmp_path: Path, first: str, last: str) -> list[dict]:
    dump = tmp_path / "corpus.jsonl"
    sim.dump_corpus(dump)
    return [v for v in read_corpus_dump(dump)["video"] if not v["_deleted"]
            and first <= datetime.fromtimestamp(v["create_time"], timezone.utc).strftime("%Y-%m-%d") <= last]


def stored_ids(db_url: str) -> list[int]:
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        ids = [row[0] for row in conn.execute(sa.text("SELECT id FROM video"))]
    engine.dispose()
    return ids


COUNT_QUERY = {"and": [{"operation": "GTE", "field_name": "view_count", "field_values": ["5000"]},
                       {"operation": "LT", "field_name": "comment_count", "field_values": ["3"]}],
               "not": [{"operation": "IN", "field_name": "comment_count", "field_values": ["1"]}]}


@pytest.mark.slow
def test_raw_count_conditions_store_exactly_the_matching_videos(start_sim, db_url, tmp_path) -> None:
    sim = start_sim(videos=3000, deleted_rate=0.05)
    want = {v["id"] for v in live_videos(sim, tmp_path, "2024-03-01", "2024-03-10")
            if v["view_count"] >= 5000 and v["comment_count"] < 3 and v["comment_count"] != 1}
    assert len(want) > 20
    spec = {"name": "counts", "query": {"raw": COUNT_QUERY},
            "window": {"start": "2024-03-01", "end": "2024-03-10", "days_per_query": 10},
            "limits": {"max_count": 20}}
    outcome = run(config_for(sim, db_url, spec))
    assert outcome.exit_code == exit_codes.OK, outcome.message
    stored = stored_ids(db_url)
    assert len(stored) == len(set(stored))
    assert set(stored) == want


@pytest.mark.parametrize(("condition", "problem"), [
    ({"operation": "GT", "field_name": "view_count", "field_values": ["1e3"]}, "is not a count"),
    ({"operation": "EQ", "field_name": "comment_count", "field_values": ["-2"]}, "is not a count"),
    ({"operation": "GT", "field_name": "music_id", "field_values": ["5"]}, "only applies to"),
])
def test_validator_rejects_bad_count_conditions(condition: dict, problem: str) -> None:
    spec = {"name": "x", "query": {"raw": {"and": [condition]}},
            "window": {"start": "2024-03-01", "end": "2024-03-02"}}
    problems = validate_spec(spec)
    assert any(problem in p for p in problems), problems


def test_count_conditions_validate_and_compile_with_every_ordered_operation() -> None:
    ops = ["EQ", "IN", "GT", "GTE", "LT", "LTE"]
    raw = {"and": [{"operation": op, "field_name": f, "field_values": ["10"]}
                   for op in ops for f in ("view_count", "comment_count")]}
    spec = {"name": "x", "query": {"raw": raw}, "window": {"start": "2024-03-01", "end": "2024-03-02"}}
    assert validate_spec(spec) == []
    assert len(compile_spec(spec).query["and"]) == 12


def test_sim_rejects_bad_count_values_with_400(start_sim) -> None:
    import requests

    sim = start_sim(videos=100)
    token = requests.post(f"{sim.url}/v2/oauth/token/", data={
        "client_key": SIM_KEY, "client_secret": SIM_SECRET, "grant_type": "client_credentials"}, timeout=10).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    body = {"query": {"and": [{"operation": "GT", "field_name": "view_count", "field_values": ["many"]}]},
            "start_date": "20240301", "end_date": "20240302"}
    answer = requests.post(f"{sim.url}{VIDEO_QUERY_PATH}?fields=id", json=body, headers=headers, timeout=10)
    assert answer.status_code == 400
    body["query"]["and"][0]["field_values"] = ["100"]
    assert requests.post(f"{sim.url}{VIDEO_QUERY_PATH}?fields=id,view_count", json=body, headers=headers,
                         timeout=10).status_code == 200


SAMPLE_SPEC = {"name": "sampled", "sample": True, "query": {"regions": ["US"]},
               "window": {"start": "2024-03-01", "end": "2024-03-06", "days_per_query": 3},
               "limits": {"max_count": 10}}


@pytest.mark.slow
def test_sample_run_sends_is_random_is_recorded_as_a_sample_and_never_covers_days(start_sim, db_url,
                                                                                    tmp_path) -> None:
    sim = start_sim(videos=3000)
    us_in_window = {v["id"] for v in live_videos(sim, tmp_path, "2024-03-01", "2024-03-06")
                    if v["region_code"].upper() == "US"}
    raw_dir = tmp_path / "raw"
    for _ in range(2):
        outcome = run(config_for(sim, db_url, SAMPLE_SPEC, raw_dir))
        assert outcome.exit_code == exit_codes.OK, outcome.message
        assert outcome.requests == 2   # one request per window, every run: nothing is ever covered
    assert sim.stats()["requests"][VIDEO_QUERY_PATH] == 4
    bodies = [json.loads(line)["request"] for path in raw_dir.glob("*.jsonl.gz")
              for line in gzip.decompress(path.read_bytes()).decode("utf-8").splitlines()]
    assert len(bodies) == 4 and all(body["is_random"] is True for body in bodies)
    stored = set(stored_ids(db_url))
    assert 0 < len(stored) <= 40 and stored <= us_in_window
    assert stored != set(sorted(us_in_window, reverse=True)[:len(stored)]), "random, not the newest ids"
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        covered = conn.execute(sa.text("SELECT count(*) FROM covered_day")).scalar_one()
        extras = [row[0] for row in conn.execute(sa.text("SELECT extra_data FROM crawl ORDER BY id"))]
    engine.dispose()
    assert covered == 0
    assert [e if isinstance(e, dict) else json.loads(e) for e in extras] == [{"sample": True, "is_random": True}] * 2


def test_sample_has_its_own_fingerprint_and_says_so_in_the_compiled_plan() -> None:
    sampled = compile_spec(SAMPLE_SPEC)
    full = compile_spec({**SAMPLE_SPEC, "sample": False})
    assert sampled.fingerprint != full.fingerprint
    assert sampled.to_document()["sample"] is True
    assert "sample" not in full.to_document()
    assert validate_spec({**SAMPLE_SPEC, "sample": "yes"})
