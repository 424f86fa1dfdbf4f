"""`window.days_per_query: auto` end to end, in-process: a `CrawlSession` over real HTTP to a seeded
simulator, real SQLite (and PostgreSQL where storage is claimed), an injected clock and no real waits.
The oracle is the simulator's corpus dump: the ids a query must deliver and the fewest requests any
window plan could have used."""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from support.auto_crawl import (
    END,
    NOW,
    QUERIES,
    START,
    VIDEO_PATH,
    corpus,
    crawl,
    live_ids,
    plan_of,
    rows,
    stored_ids,
)
from support.corpus import video_day

from crawlspec.cli.status import render_text
from crawlspec.crawl import auto_windows
from crawlspec.export.overview import collect_status
from crawlspec.storage import checkpoints
from crawlspec.storage.database import open_database


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
