"""An unfinished window some of whose days other windows covered since can never be resumed (a window
resumes only while all its days are pending): the next run drops its checkpoint instead of leaving it
`in_progress` forever, and plans its other days anew. Real HTTP to a seeded simulator, real SQLite."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from support.corpus import video_day
from test_auto_windows import NOW, QUERIES, START, corpus, crawl, live_ids, plan_of, rows, stored_ids

from crawlspec.export.overview import collect_status
from crawlspec.storage import checkpoints
from crawlspec.storage.database import open_database

HOUR = timedelta(hours=1)


def test_a_window_whose_days_were_partly_covered_since_is_dropped_and_its_other_days_fetched(
        start_sim, sqlite_url: str, tmp_path: Path) -> None:
    sim = start_sim()
    query, match = QUERIES["region"]
    fingerprint = plan_of(query).fingerprint
    covered_elsewhere = [START + timedelta(days=i) for i in range(3)]          # March 1-3
    engine = open_database(sqlite_url)
    try:
        with engine.begin() as conn:     # a 7-day window killed at cursor 100; days 1-3 covered since
            window = checkpoints.open_window(conn, fingerprint=fingerprint, start_date=START,
                                             end_date=date(2024, 3, 7), crawl_id=None, now=NOW - HOUR)
            checkpoints.advance_window(conn, window, cursor=100, search_id="7354367454467855403", has_more=True,
                                       videos_on_page=0, crawl_id=None, now=NOW - HOUR)
            checkpoints.mark_days_covered(conn, fingerprint, covered_elsewhere, crawl_id=None, now=NOW)
    finally:
        engine.dispose()

    result = crawl(sim.url, sqlite_url, query)

    assert (result.exit_code, result.outcome) == (0, "complete")
    assert rows(sqlite_url, "SELECT start_date, end_date FROM crawl_window WHERE status != 'done'") == []
    assert collect_status(sqlite_url)["specs"][0]["windows_in_progress"] == []
    wanted = [v for v in corpus(sim, tmp_path, match) if video_day(v) > covered_elsewhere[-1].isoformat()]
    assert stored_ids(sqlite_url) == live_ids(wanted)        # days 4-31 fetched, the covered days not again


def test_a_window_another_live_process_holds_is_left_to_it(start_sim, sqlite_url: str) -> None:
    sim = start_sim()
    query, _match = QUERIES["region"]
    fingerprint = plan_of(query).fingerprint
    engine = open_database(sqlite_url)
    try:
        with engine.begin() as conn:
            window = checkpoints.open_window(conn, fingerprint=fingerprint, start_date=START,
                                             end_date=date(2024, 3, 7), crawl_id=None, now=NOW - HOUR)
            assert checkpoints.claim_window(conn, window, owner="elsewhere.example:4242:1-x", now=NOW,
                                            until=NOW + HOUR)
            checkpoints.mark_days_covered(conn, fingerprint, [START], crawl_id=None, now=NOW)
    finally:
        engine.dispose()

    crawl(sim.url, sqlite_url, query)

    assert rows(sqlite_url, "SELECT start_date, end_date FROM crawl_window WHERE status != 'done'") == [
        (START, date(2024, 3, 7))]


def test_a_refetch_window_killed_over_covered_days_is_kept_for_the_next_refetch(start_sim, sqlite_url: str) -> None:
    """A refetch (`run.refetch=true`) opens windows over days covered before: a normal run in between
    cannot resume it, but the next refetch can, from its cursor."""
    sim = start_sim()
    query, _match = QUERIES["region"]
    fingerprint = plan_of(query).fingerprint
    engine = open_database(sqlite_url)
    try:
        with engine.begin() as conn:
            checkpoints.mark_days_covered(conn, fingerprint, [START], crawl_id=None, now=NOW - HOUR)
            window = checkpoints.open_window(conn, fingerprint=fingerprint, start_date=START,
                                             end_date=date(2024, 3, 7), crawl_id=None, now=NOW)
            checkpoints.advance_window(conn, window, cursor=100, search_id="7354367454467855403", has_more=True,
                                       videos_on_page=0, crawl_id=None, now=NOW)
    finally:
        engine.dispose()

    crawl(sim.url, sqlite_url, query)

    assert rows(sqlite_url, "SELECT start_date, end_date, cursor FROM crawl_window WHERE status != 'done'") == [
        (START, date(2024, 3, 7), 100)]
