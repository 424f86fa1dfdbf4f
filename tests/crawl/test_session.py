"""One crawl session behind `crawlspec run` and the library's `fetch_and_store_all`: for the same plan both
paths go through `CrawlSession.run` once and leave the same rows (spec, crawl, windows, videos, comments,
creators), over real HTTP against the simulator, in a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import SIM_KEY, SIM_SECRET

from crawlspec.api.fields import VIDEO_FIELDS_DEFAULT
from crawlspec.api_client import ApiClientConfig, TikTokApiClient, VideoQueryConfig
from crawlspec.cli.run import run
from crawlspec.client import TikTokApiRequestClient
from crawlspec.client.credentials import Credentials
from crawlspec.crawl import session as crawl_session
from crawlspec.spec.query import Cond, Fields, Op, VideoQuery

QUERY = VideoQuery(and_=[Cond(Fields.region_code, ["GB"], Op.IN)])


@pytest.fixture
def sessions(monkeypatch: pytest.MonkeyPatch) -> list[crawl_session.CrawlResult]:
    """Every CrawlResult a session returned during the test."""
    results: list[crawl_session.CrawlResult] = []
    real_run = crawl_session.CrawlSession.run

    def recording_run(self: crawl_session.CrawlSession) -> crawl_session.CrawlResult:
        results.append(real_run(self))
        return results[-1]

    monkeypatch.setattr(crawl_session.CrawlSession, "run", recording_run)
    return results


def cli_config(sim_url: str, db_url: str, **fetch: bool) -> dict[str, Any]:
    return {"db": {"url": db_url},
            "api": {"base_url": sim_url, "credentials_file": None, "on_quota_exhausted": "exit"},
            "log": {"format": "json", "level": "warning"},
            "spec": {"name": "same", "query": {"raw": QUERY.as_dict()}, "tags": ["t"],
                     "window": {"start": "2024-03-01", "end": "2024-03-04", "days_per_query": 2},
                     "fetch": {"comments": False, "user_info": False, **fetch}}}


def library_store(sim_url: str, db_url: str, **fetch: bool) -> dict[str, Any]:
    engine = sa.create_engine(db_url)
    request_client = TikTokApiRequestClient(Credentials(SIM_KEY, SIM_SECRET, "test"), sim_url)
    client = TikTokApiClient(ApiClientConfig(engine=engine, api_rate_limit_wait_strategy="exit"),
                             request_client=request_client)
    query_config = VideoQueryConfig(query=QUERY, start_date=date(2024, 3, 1), end_date=date(2024, 3, 4),
                                    days_per_query=2, name="same", crawl_tags=["t"],
                                    fetch_comments=fetch.get("comments", False),
                                    fetch_user_info=fetch.get("user_info", False))
    result = client.fetch_and_store_all(query_config)
    engine.dispose()
    return result.data or {}


def stored_rows(db_url: str) -> dict[str, list[tuple]]:
    queries = {
        "crawl_spec": 'SELECT fingerprint, name, query, fields, "fetch" FROM crawl_spec',
        "crawl": "SELECT spec_name, fingerprint, query, start_date, end_date, outcome, exit_code, requests, videos, "
                 "overrides FROM crawl",
        "crawl_window": "SELECT fingerprint, start_date, end_date, status, pages, videos FROM crawl_window "
                        "ORDER BY start_date",
        "covered_day": "SELECT fingerprint, day FROM covered_day ORDER BY day",
        "video": "SELECT id FROM video ORDER BY id",
        "comment": "SELECT id FROM comment ORDER BY id",
        "user_info": "SELECT username FROM user_info ORDER BY username",
        "crawl_tag": "SELECT name FROM crawl_tag ORDER BY name",
    }
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        rows = {table: [tuple(map(decoded, row)) for row in conn.execute(sa.text(sql))]
                for table, sql in queries.items()}
    engine.dispose()
    return rows


def decoded(value: Any) -> Any:
    """A JSON column as Python (SQLite hands raw SQL its text, PostgreSQL the decoded value)."""
    if isinstance(value, str) and value[:1] in "[{":
        return json.loads(value)
    return value


def test_run_and_the_library_leave_the_same_rows_through_one_session(start_sim, db_url, tmp_path, monkeypatch,
                                                                      sessions):
    from conftest import pg_database, pg_server_url

    monkeypatch.setenv("CRAWLSPEC_CLIENT_KEY", SIM_KEY)
    monkeypatch.setenv("CRAWLSPEC_CLIENT_SECRET", SIM_SECRET)
    sim = start_sim(videos=600)
    stages = {"comments": True, "user_info": True}
    outcome = run(cli_config(sim.url, db_url, **stages))
    assert outcome.exit_code == 0, outcome.message
    after_cli = dict(sim.stats()["requests"])

    if db_url.startswith("sqlite"):
        other = f"sqlite:///{tmp_path / 'library.db'}"
        data = library_store(sim.url, other, **stages)
        library_rows = stored_rows(other)
    else:
        with pg_database(pg_server_url()) as other:
            data = library_store(sim.url, other, **stages)
            library_rows = stored_rows(other)

    cli_rows = stored_rows(db_url)
    assert [len(s.stages) for s in sessions] == [2, 2]   # one session per path, comments and creators in each
    assert cli_rows["crawl"][0][5:] == ("complete", 0, outcome.requests, outcome.videos, [])
    assert cli_rows == library_rows
    assert cli_rows["video"] and cli_rows["comment"] and cli_rows["user_info"]
    assert data == {"videos_stored": outcome.videos, "pages": sessions[0].videos.pages,
                    "requests": outcome.requests, "outcome": "complete"}
    library_requests = {path: n - after_cli.get(path, 0) for path, n in sim.stats()["requests"].items()}
    assert library_requests == after_cli                  # the same requests, path by path
    assert sessions[0].stored == sessions[1].stored == outcome.stored


def test_a_failed_stage_decides_the_outcome_on_both_paths(start_sim, sqlite_url, tmp_path, monkeypatch, sessions):
    """The run's rule for one outcome: a stage that failed fails the crawl row, on the library path too."""
    from crawlspec.crawl.stage import StageStats

    def failing_stages(plan, ctx, *, max_age_days):
        return [StageStats("comments", failed=1, errors=["comments of video 1: boom"])]

    monkeypatch.setattr("crawlspec.crawl.session.run_stages", failing_stages)
    monkeypatch.setenv("CRAWLSPEC_CLIENT_KEY", SIM_KEY)
    monkeypatch.setenv("CRAWLSPEC_CLIENT_SECRET", SIM_SECRET)
    sim = start_sim(videos=300)
    assert run(cli_config(sim.url, sqlite_url, comments=True)).exit_code == 1
    other = f"sqlite:///{tmp_path / 'library.db'}"
    assert library_store(sim.url, other, comments=True)["outcome"] == "failed"
    for url in (sqlite_url, other):
        assert stored_rows(url)["crawl"][0][5:7] == ("failed", 1)
    assert [s.errors for s in sessions] == [["comments of video 1: boom"]] * 2


def test_the_library_plan_fingerprint_is_the_one_of_its_query_and_fields_as_given():
    """Library crawls stored before keep resuming: the fingerprint is still that of the query and the fields
    in the caller's order (the spec compiler would reorder the fields)."""
    from crawlspec.api_client import library_plan
    from crawlspec.spec.compile import fingerprint

    fields = ("username", "id", "region_code")
    plan = library_plan(VideoQueryConfig(query=QUERY, start_date=date(2024, 3, 1), end_date=date(2024, 3, 9),
                                         fields=fields, fetch_comments=True, days_per_query=4))
    assert plan.fingerprint == fingerprint(QUERY.as_dict(), fields)
    assert plan.fields == fields and plan.query == QUERY.as_dict()
    assert [(w.start.day, w.end.day) for w in plan.windows] == [(1, 4), (5, 8), (9, 9)]
    assert (plan.stages.comments, plan.stages.user_info, plan.stages.playlists) == (True, False, False)
    assert library_plan(VideoQueryConfig(
        query=QUERY, start_date=date(2024, 3, 1), end_date=date(2024, 3, 1))).fields == VIDEO_FIELDS_DEFAULT
