"""Crawling one month with auto windows, in-process: a `CrawlSession` over real HTTP to a seeded simulator,
with an injected clock and no real waits, and the oracle's view of what it stored (shared by the auto-window
and stale-window tests)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, datetime, timezone
from pathlib import Path

from crawlspec.api.fields import quota_pool_limits
from crawlspec.client import TikTokApiRequestClient
from crawlspec.client.credentials import Credentials
from crawlspec.crawl.quota import QuotaWaiter, RequestBudget
from crawlspec.crawl.session import CrawlResult, CrawlSession
from crawlspec.crawl.videos import RunnerSettings
from crawlspec.spec.compile import CompiledSpec, compile_spec
from crawlspec.storage.database import open_database
from crawlspec.storage.ledger import QuotaLedger
from support.corpus import read_corpus_dump, video_day
from support.databases import query_rows
from support.sim import SIM_KEY, SIM_SECRET

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


def rows(db_url: str, sql: str) -> list[tuple]:
    """Rows of a raw query, ISO date strings (SQLite's) read as dates."""
    return [tuple(as_date(value) for value in row) for row in query_rows(db_url, sql)]


def as_date(value: object) -> object:
    if isinstance(value, str) and len(value) == 10 and value[4] == "-":
        return date.fromisoformat(value)
    return value


def stored_ids(db_url: str) -> list[int]:
    return [int(row[0]) for row in rows(db_url, "SELECT id FROM video ORDER BY id")]


def live_ids(results: list[dict]) -> list[int]:
    return sorted(int(v["id"]) for v in results if not v["_deleted"])
