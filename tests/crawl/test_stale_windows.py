"""An unfinished window some of whose days other windows covered since can never be resumed (a window
resumes only while all its days are pending): the next run drops its checkpoint instead of leaving it
`in_progress` forever, and plans its other days anew. Real HTTP to a seeded simulator, real SQLite."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from support.auto_crawl import NOW, QUERIES, START, corpus, crawl, live_ids, plan_of, rows, stored_ids
from support.corpus import video_day

from crawlspec.export.overview import collect_status
from crawlspec.storage import checkpoints
from crawlspec.storage.database import open_database

HOUR = timedelta(hours=1)
WEEK_END = date(2024, 3, 7)
SEARCH_ID = "7354367454467855403"


def in_database(db_url: str, fill: Callable[[sa.Connection], object]) -> None:
    engine = open_database(db_url)
    try:
        with engine.begin() as conn:
            fill(conn)
    finally:
        engine.dispose()


def killed_week(conn: sa.Connection, fingerprint: str, *, opened: datetime) -> checkpoints.WindowState:
    """March 1-7, opened at `opened` and killed after its first page (cursor 100)."""
    window = checkpoints.open_window(conn, fingerprint=fingerprint, start_date=START, end_date=WEEK_END,
                                     crawl_id=None, now=opened)
    return checkpoints.advance_window(conn, window, cursor=100, search_id=SEARCH_ID, has_more=True,
                                      videos_on_page=0, crawl_id=None, now=opened)


def unfinished(db_url: str) -> list[tuple]:
    return rows(db_url, "SELECT start_date, end_date, cursor FROM crawl_window WHERE status != 'done'")


def test_a_window_whose_days_were_partly_covered_since_is_dropped_and_its_other_days_fetched(
        start_sim, sqlite_url: str, tmp_path: Path) -> None:
    sim = start_sim()
    query, match = QUERIES["region"]
    fingerprint = plan_of(query).fingerprint
    covered_elsewhere = [START + timedelta(days=i) for i in range(3)]          # March 1-3

    def week_killed_then_days_covered(conn: sa.Connection) -> None:
        killed_week(conn, fingerprint, opened=NOW - HOUR)
        checkpoints.mark_days_covered(conn, fingerprint, covered_elsewhere, crawl_id=None, now=NOW)

    in_database(sqlite_url, week_killed_then_days_covered)
    result = crawl(sim.url, sqlite_url, query)

    assert (result.exit_code, result.outcome) == (0, "complete")
    assert unfinished(sqlite_url) == []
    assert collect_status(sqlite_url)["specs"][0]["windows_in_progress"] == []
    wanted = [v for v in corpus(sim, tmp_path, match) if video_day(v) > covered_elsewhere[-1].isoformat()]
    assert stored_ids(sqlite_url) == live_ids(wanted)        # days 4-31 fetched, the covered days not again


def test_a_window_another_live_process_holds_is_left_to_it(start_sim, sqlite_url: str) -> None:
    sim = start_sim()
    query, _match = QUERIES["region"]
    fingerprint = plan_of(query).fingerprint

    def week_held_elsewhere_then_a_day_covered(conn: sa.Connection) -> None:
        window = killed_week(conn, fingerprint, opened=NOW - HOUR)
        assert checkpoints.claim_window(conn, window, owner="elsewhere.example:4242:1-x", now=NOW, until=NOW + HOUR)
        checkpoints.mark_days_covered(conn, fingerprint, [START], crawl_id=None, now=NOW)

    in_database(sqlite_url, week_held_elsewhere_then_a_day_covered)
    crawl(sim.url, sqlite_url, query)

    assert unfinished(sqlite_url) == [(START, WEEK_END, 100)]


def test_a_refetch_window_killed_over_covered_days_is_kept_for_the_next_refetch(start_sim, sqlite_url: str) -> None:
    """A refetch (`run.refetch=true`) opens windows over days covered before: a normal run in between
    cannot resume it, but the next refetch can, from its cursor."""
    sim = start_sim()
    query, _match = QUERIES["region"]
    fingerprint = plan_of(query).fingerprint

    def day_covered_then_a_refetch_killed(conn: sa.Connection) -> None:
        checkpoints.mark_days_covered(conn, fingerprint, [START], crawl_id=None, now=NOW - HOUR)
        killed_week(conn, fingerprint, opened=NOW)

    in_database(sqlite_url, day_covered_then_a_refetch_killed)
    crawl(sim.url, sqlite_url, query)

    assert unfinished(sqlite_url) == [(START, WEEK_END, 100)]
