"""The video crawler in-process and fast: a `CrawlSession` over real HTTP to a simulator thread, a real
SQLite file, and an injected clock whose quota waits advance time instead of sleeping. Checked against
the simulator's own corpus dump: every video of the window exactly once, whatever stopped the run."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import SIM_KEY, SIM_SECRET, read_corpus_dump
from support.corpus import video_day

from crawlspec.api.fields import quota_pool_limits
from crawlspec.client import TikTokApiRequestClient
from crawlspec.client.credentials import Credentials
from crawlspec.crawl.quota import QuotaWaiter, RequestBudget
from crawlspec.crawl.session import CrawlResult, CrawlSession
from crawlspec.crawl.videos import RunnerSettings
from crawlspec.spec.compile import CompiledSpec, compile_spec
from crawlspec.storage.database import open_database
from crawlspec.storage.ledger import QuotaLedger

START, END = date(2024, 3, 1), date(2024, 3, 10)


class FakeTime:
    """A UTC clock that only moves when a quota wait 'sleeps'."""

    def __init__(self) -> None:
        self.now = datetime(2024, 3, 20, 22, 0, tzinfo=timezone.utc)
        self.slept: list[float] = []

    def clock(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


def plan_of(max_api_requests: int | None = None, tags: tuple[str, ...] = ()) -> CompiledSpec:
    return compile_spec({"name": "crawler", "query": {"regions": ["GB", "FR"]}, "tags": list(tags),
                         "window": {"start": START.isoformat(), "end": END.isoformat(), "days_per_query": 5},
                         "limits": {"max_count": 20, "max_api_requests": max_api_requests}}, today=date(2024, 3, 20))


def crawl(sim_url: str, db_url: str, time: FakeTime, *, daily_quota: int = 1000, strategy: str = "exit",
          max_api_requests: int | None = None, stop_after_requests: int | None = None,
          tags: tuple[str, ...] = ()) -> CrawlResult:
    """`stop_after_requests`: the stop event is set (as by a signal) when that request is sent."""
    plan = plan_of(max_api_requests, tags)
    engine = open_database(db_url)
    budget = RequestBudget(QuotaLedger(engine, limits=quota_pool_limits(daily_quota), clock=time.clock),
                           max_api_requests=plan.max_api_requests)
    stop = threading.Event()

    def before_request(path: str) -> None:
        budget(path)
        if stop_after_requests is not None and budget.used >= stop_after_requests:
            stop.set()

    client = TikTokApiRequestClient(Credentials(SIM_KEY, SIM_SECRET, "test"), sim_url,
                                    before_request=before_request, stop_event=stop)
    waiter = QuotaWaiter(strategy, stop_event=stop, clock=time.clock, sleep=time.sleep)
    try:
        return CrawlSession(plan, engine, client, budget, waiter, stop_event=stop,
                            runner=RunnerSettings(on_quota_exhausted=strategy), clock=time.clock).run()
    finally:
        client.close()
        engine.dispose()


def expected_ids(sim, tmp_path: Path) -> list[int]:
    sim.dump_corpus(tmp_path / "corpus.jsonl")
    videos = read_corpus_dump(tmp_path / "corpus.jsonl")["video"]
    ids = sorted(int(v["id"]) for v in videos if not v["_deleted"] and v["region_code"] in ("GB", "FR")
                 and START.isoformat() <= video_day(v) <= END.isoformat())
    assert len(ids) > 100   # several pages per window: the checks below mean something
    return ids


def stored_ids(db_url: str) -> list[int]:
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        ids = [int(i) for i in conn.execute(sa.text("SELECT id FROM video ORDER BY id")).scalars()]
    engine.dispose()
    return ids


def ledger_total(db_url: str) -> int:
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        total = conn.execute(sa.text("SELECT coalesce(sum(used), 0) FROM quota_ledger")).scalar_one()
    engine.dispose()
    return int(total)


def video_requests(sim) -> int:
    return int(sim.stats()["requests"].get("/v2/research/video/query/", 0))


@pytest.fixture
def sim(start_sim):
    return start_sim(videos=2000)


def test_a_crawl_stores_every_video_of_its_windows_once(sim, sqlite_url: str, tmp_path: Path) -> None:
    result = crawl(sim.url, sqlite_url, FakeTime())
    assert (result.exit_code, result.outcome) == (0, "complete")
    assert stored_ids(sqlite_url) == expected_ids(sim, tmp_path)
    assert result.requests == result.videos.pages == video_requests(sim)


def test_the_ledger_counts_exactly_the_requests_sent(sim, sqlite_url: str) -> None:
    """Each page reserves the next page's request in its own transaction; a crawl stopped before sending
    it gives it back, so the ledger never keeps a request that was not sent."""
    stopped = crawl(sim.url, sqlite_url, FakeTime(), stop_after_requests=2)
    assert (stopped.exit_code, stopped.videos.stopped, stopped.requests) == (75, "interrupted", 2)
    assert ledger_total(sqlite_url) == 2 == video_requests(sim)
    rest = crawl(sim.url, sqlite_url, FakeTime())
    assert rest.exit_code == 0 and rest.videos.pages > 2
    assert ledger_total(sqlite_url) == stopped.requests + rest.requests == video_requests(sim)


def test_videos_stored_counts_only_what_was_stored(start_sim, sqlite_url: str) -> None:
    """A record that cannot be stored (a 20-digit id) is quarantined: it is not counted as a stored video."""
    sim = start_sim(videos=2000, oversize_id_rate=0.5)
    result = crawl(sim.url, sqlite_url, FakeTime())
    engine = sa.create_engine(sqlite_url)
    with engine.connect() as conn:
        videos, quarantined = (conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
                               for table in ("video", "quarantine"))
    engine.dispose()
    assert result.exit_code == 0 and quarantined > 0
    assert result.videos.videos == videos == result.stored["videos"]


def tagged_ids(db_url: str, tag: str) -> list[int]:
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        ids = [int(i) for i in conn.execute(sa.text(
            "SELECT l.video_id FROM videos_to_crawl_tags l JOIN crawl_tag t ON t.id = l.crawl_tag_id "
            "WHERE t.name = :tag ORDER BY l.video_id"), {"tag": tag}).scalars()]
    engine.dispose()
    return ids


def test_a_later_run_with_another_tag_tags_the_videos_it_did_not_fetch_again(sim, sqlite_url: str) -> None:
    first = crawl(sim.url, sqlite_url, FakeTime(), tags=("first",), max_api_requests=4)
    assert first.exit_code == 75   # stopped inside the window: some days covered, the rest left
    second = crawl(sim.url, sqlite_url, FakeTime(), tags=("second",))
    assert second.exit_code == 0
    assert first.requests + second.requests == video_requests(sim)   # nothing stored was fetched again
    stored = stored_ids(sqlite_url)
    assert tagged_ids(sqlite_url, "second") == stored              # fetched again or not, all carry it
    assert len(tagged_ids(sqlite_url, "first")) == first.videos.videos < len(stored)   # only what it found
    again = crawl(sim.url, sqlite_url, FakeTime(), tags=("second",))
    assert again.requests == 0 and tagged_ids(sqlite_url, "second") == stored


def test_max_api_requests_stops_then_the_next_run_resumes_exactly(sim, sqlite_url: str, tmp_path: Path) -> None:
    first = crawl(sim.url, sqlite_url, FakeTime(), max_api_requests=3)
    assert (first.exit_code, first.videos.stopped, first.requests) == (75, "limit", 3)
    assert video_requests(sim) == 3
    rest = crawl(sim.url, sqlite_url, FakeTime())
    assert rest.exit_code == 0
    assert stored_ids(sqlite_url) == expected_ids(sim, tmp_path)
    # nothing fetched twice: the second run starts at the first run's committed cursors
    assert first.videos.pages + rest.videos.pages == video_requests(sim)


def test_an_exhausted_day_is_waited_out_on_the_injected_clock(sim, sqlite_url: str, tmp_path: Path) -> None:
    time = FakeTime()
    result = crawl(sim.url, sqlite_url, time, daily_quota=4, strategy="wait_next_utc_midnight")
    assert result.exit_code == 0
    assert stored_ids(sqlite_url) == expected_ids(sim, tmp_path)
    assert time.slept and time.slept[0] == pytest.approx(2 * 3600)   # 22:00 -> midnight, no real sleep
    assert time.now.date() > date(2024, 3, 20)


def test_strategy_exit_stops_on_an_exhausted_day(sim, sqlite_url: str) -> None:
    time = FakeTime()
    result = crawl(sim.url, sqlite_url, time, daily_quota=2, strategy="exit")
    assert (result.exit_code, result.videos.stopped, result.requests) == (75, "quota", 2)
    assert time.slept == [] and video_requests(sim) == 2
