"""`window.days_per_query: auto` end to end, in-process: a `CrawlSession` over real HTTP to a seeded
simulator, real SQLite (and PostgreSQL where storage is claimed), an injected clock and no real waits.
The oracle is the simulator's corpus dump: the ids a query must deliver and the fewest requests any
window plan could have used."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import SIM_KEY, SIM_SECRET, read_corpus_dump
from support.corpus import video_day
from support.databases import query_rows

from crawlspec.api.fields import quota_pool_limits
from crawlspec.cli.status import render_text
from crawlspec.client import TikTokApiRequestClient
from crawlspec.client.credentials import Credentials
from crawlspec.crawl import auto_windows
from crawlspec.crawl.quota import QuotaWaiter, RequestBudget
from crawlspec.crawl.session import CrawlResult, CrawlSession
from crawlspec.crawl.videos import RunnerSettings
from crawlspec.export.overview import collect_status
from crawlspec.spec.compile import CompiledSpec, compile_spec
from crawlspec.storage import checkpoints
from crawlspec.storage.database import open_database
from crawlspec.storage.ledger import QuotaLedger

START, END = date(2024, 3, 1), date(2024, 3, 31)
NOW = datetime(2024, 4, 20, 12, 0, tzinfo=timezone.utc)
VIDEO_PATH = "/v2/research/video/query/"

Match = Callable[[dict], bool]
QUERIES: dict[str, tuple[dict, Match]] = {
    "hashtag": ({"include_any_hashtags": ["fashion", "shoes"]},
                lambda v: bool({t.lower() for t in v.get("hashtag_names", [])} & {"fashion", "shoes"})),
    "region": ({"regions": ["GB"]}, lambda v: str(v.get("region_code", "")).upper() == "GB"),
    "keyword": ({"include_any_keywords": ["recipe"]},
                lambda v: "recipe" in str(v.get("video_description", "")).lower()),
}


def plan_of(query: dict, end: date = END) -> CompiledSpec:
    return compile_spec({"name": "auto", "query": query, "window": {"start": START.isoformat(), "end": end.isoformat()}},
                        today=NOW.date())


def crawl(sim_url: str, db_url: str, query: dict, *, end: date = END,
          before_request: Callable[[str], None] | None = None) -> CrawlResult:
    plan = plan_of(query, end)
    assert plan.auto_windows   # the default
    engine = open_database(db_url)
    budget = RequestBudget(QuotaLedger(engine, limits=quota_pool_limits(100_000), clock=lambda: NOW))

    def reserve(path: str) -> None:
        if before_request is not None:
            before_request(path)
        budget(path)

    stop = threading.Event()
    client = TikTokApiRequestClient(Credentials(SIM_KEY, SIM_SECRET, "test"), sim_url, before_request=reserve,
                                    stop_event=stop, sleep=lambda _s: None)
    waiter = QuotaWaiter("exit", stop_event=stop, clock=lambda: NOW, sleep=lambda _s: None)
    try:
        return CrawlSession(plan, engine, client, budget, waiter, stop_event=stop,
                            runner=RunnerSettings(on_quota_exhausted="exit"), clock=lambda: NOW).run()
    finally:
        client.close()
        engine.dispose()


def corpus(sim, tmp_path: Path, match: Match) -> list[dict]:
    """The query's search results in the crawled days, deleted videos included (the cursor counts them)."""
    sim.dump_corpus(tmp_path / "corpus.jsonl")
    return [v for v in read_corpus_dump(tmp_path / "corpus.jsonl")["video"]
            if START.isoformat() <= video_day(v) <= END.isoformat() and match(v)]


def floor_requests(results: list[dict], page: int = 100) -> int:
    """The fewest requests any plan of windows of at most 30 days could use (a dynamic programme)."""
    days = [START + timedelta(days=i) for i in range((END - START).days + 1)]
    per_day = [sum(1 for v in results if video_day(v) == d.isoformat()) for d in days]
    best = [0] + [math.inf] * len(days)
    for end in range(1, len(days) + 1):
        for start in range(max(0, end - 30), end):
            cost = best[start] + max(1, math.ceil(sum(per_day[start:end]) / page))
            best[end] = min(best[end], cost)
    return int(best[-1])


def window_cost(results: list[dict], first: date, last: date, page: int = 100) -> int:
    inside = sum(1 for v in results if first.isoformat() <= video_day(v) <= last.isoformat())
    return max(1, math.ceil(inside / page))


def rows(db_url: str, sql: str) -> list[tuple]:
    """Rows of a raw query, ISO date strings (SQLite's) read as dates."""
    return [tuple(as_date(value) for value in row) for row in query_rows(db_url, sql)]


def learned_scale(db_url: str) -> float | None:
    """The failure scale the stored lessons of the (only) fingerprint give."""
    engine = open_database(db_url)
    try:
        with engine.connect() as conn:
            fingerprint = conn.execute(sa.text("SELECT fingerprint FROM window_learning")).scalar_one()
            learned, _expected = auto_windows.load(conn, fingerprint)
    finally:
        engine.dispose()
    return learned.scale


def as_date(value: object) -> object:
    if isinstance(value, str) and len(value) == 10 and value[4] == "-":
        return date.fromisoformat(value)
    return value


def stored_ids(db_url: str) -> list[int]:
    return [int(row[0]) for row in rows(db_url, "SELECT id FROM video ORDER BY id")]


def live_ids(results: list[dict]) -> list[int]:
    return sorted(int(v["id"]) for v in results if not v["_deleted"])


@pytest.mark.parametrize("kind", list(QUERIES))
def test_auto_windows_fetch_every_query_kind_exactly_at_the_floor(kind: str, start_sim, sqlite_url: str,
                                                                   tmp_path: Path) -> None:
    sim = start_sim(deleted_rate=0.05)
    query, match = QUERIES[kind]
    result = crawl(sim.url, sqlite_url, query)
    results = corpus(sim, tmp_path, match)
    assert len(results) > 100                 # several pages: the request count means something
    assert (result.exit_code, result.outcome) == (0, "complete")
    assert stored_ids(sqlite_url) == live_ids(results)
    windows = [(date(2024, 3, 1), date(2024, 3, 30)), (date(2024, 3, 31), date(2024, 3, 31))]
    assert rows(sqlite_url, "SELECT start_date, end_date FROM crawl_window ORDER BY start_date") == windows
    requests = sim.stats()["requests"][VIDEO_PATH]
    assert requests == result.requests == sum(window_cost(results, *window) for window in windows)
    # the floor knows every day's count in advance; a first run does not: one partial page more at most
    assert floor_requests(results) <= requests <= floor_requests(results) + 1


def test_under_the_large_search_failure_model_the_crawl_is_exact_and_its_failures_are_recorded(
        db_url: str, start_sim, tmp_path: Path) -> None:
    sim = start_sim(videos=20_000, dense_fail_videos=300)
    query, match = QUERIES["hashtag"]
    result = crawl(sim.url, db_url, query)
    results = corpus(sim, tmp_path, match)
    assert (result.exit_code, result.outcome) == (0, "complete")
    assert stored_ids(db_url) == live_ids(results)
    assert result.videos.videos == len(live_ids(results))   # pages fetched again after a split counted once
    stats = sim.stats()
    faults = stats["faults"]["dense_window"]
    assert faults > 0                         # the model bit: the checks below mean something
    assert result.requests == stats["requests"][VIDEO_PATH]
    assert result.videos.failed_requests == faults
    assert rows(db_url, "SELECT sum(requests) FROM failure_spend") == [(faults,)]
    (failures, splits), = rows(db_url, "SELECT failures, splits FROM window_learning")
    assert failures >= 1 and splits >= 1      # a window was given back after a failed page
    assert learned_scale(db_url) is not None  # the failures are stored for the next run, as a fitted scale
    # `crawlspec status` says what was learned
    report = collect_status(db_url)
    sizes = report["specs"][0]["window_sizes"]
    assert sizes["failures"] == failures and sizes["failure_scale"] == round(learned_scale(db_url))
    assert f"auto windows: {failures} 5xx answers seen" in render_text(report)
    # no day left out, none fetched as two overlapping windows
    done = rows(db_url, "SELECT start_date, end_date FROM crawl_window WHERE status = 'done' ORDER BY start_date")
    days = [d for start, end in done for d in (start + timedelta(days=i) for i in range((end - start).days + 1))]
    assert days == [START + timedelta(days=i) for i in range(31)]


def test_a_later_run_plans_its_new_days_with_what_an_earlier_run_learned(start_sim, sqlite_url: str,
                                                                        tmp_path: Path) -> None:
    """A nightly back-fill: the first run crawls the first half of March under the failure model and
    learns; the second run, over the second half, starts with windows sized by what was learned."""
    sim = start_sim(videos=20_000, dense_fail_videos=300)
    query, match = QUERIES["hashtag"]
    middle = date(2024, 3, 15)
    first = crawl(sim.url, sqlite_url, query, end=middle)
    assert first.exit_code == 0
    assert learned_scale(sqlite_url) is not None
    before = len(rows(sqlite_url, "SELECT id FROM crawl_window"))
    rest = crawl(sim.url, sqlite_url, query)
    assert rest.exit_code == 0
    assert stored_ids(sqlite_url) == live_ids(corpus(sim, tmp_path, match))
    second_run = rows(sqlite_url, "SELECT start_date, end_date FROM crawl_window ORDER BY id")[before:]
    first_window = second_run[0]
    assert first_window[0] == middle + timedelta(days=1)
    assert (first_window[1] - first_window[0]).days + 1 < 16     # not the 16 days a fresh spec would ask


def test_days_another_process_took_while_this_run_went_on_are_left_to_it(start_sim, sqlite_url: str,
                                                                          tmp_path: Path) -> None:
    """Two runs of one spec plan their auto windows as each learns, so their windows need not meet on the
    same bounds: days another live process leased after this run planned are not fetched twice."""
    sim = start_sim()
    query, match = QUERIES["region"]
    other = date(2024, 3, 31)
    engine = open_database(sqlite_url)

    taken: list[bool] = []

    def another_process_takes_the_last_days(_path: str) -> None:   # 30..31, not our windows' bounds
        if taken:
            return
        with engine.begin() as conn:
            window = checkpoints.open_window(conn, fingerprint=plan_of(query).fingerprint,
                                             start_date=other - timedelta(days=1), end_date=other, crawl_id=None,
                                             now=NOW)
            taken.append(checkpoints.claim_window(conn, window, owner="elsewhere.example:4242:1-x", now=NOW,
                                                  until=NOW + timedelta(hours=1)))

    try:
        result = crawl(sim.url, sqlite_url, query, before_request=another_process_takes_the_last_days)
    finally:
        engine.dispose()
    assert taken == [True]
    assert (result.exit_code, result.videos.windows_leased_elsewhere) == (75, 1)   # resumable: a day is left
    ours = rows(sqlite_url, "SELECT start_date, end_date FROM crawl_window WHERE lease_owner IS NULL")
    assert ours == [(START, date(2024, 3, 30))]
    assert stored_ids(sqlite_url) == live_ids([v for v in corpus(sim, tmp_path, match) if video_day(v) != str(other)])
