"""Window checkpoints, day coverage, spec registry and crawl rows, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from support.checkpoints import FP, MARCH_1, MARCH_7, T0, new_crawl, window

from crawlspec import exit_codes
from crawlspec.storage.checkpoints import (
    CheckpointConflict,
    advance_window,
    claim_window,
    covered_days,
    fail_window,
    mark_days_covered,
    open_window,
    restart_window,
    unfinished_windows,
)
from crawlspec.storage.crawls import finish_crawl, register_spec
from crawlspec.storage.models import Crawl, CrawlSpec


def test_open_window_creates_a_pending_checkpoint_once(engine: Engine) -> None:
    with engine.begin() as conn:
        crawl = new_crawl(conn)
        first = window(conn, crawl)
        again = window(conn, crawl)
    assert first == again
    assert (first.status, first.cursor, first.search_id, first.has_more, first.pages, first.videos) == (
        "pending", 0, None, True, 0, 0)


def test_pages_advance_the_checkpoint_until_has_more_is_false(engine: Engine) -> None:
    with engine.begin() as conn:
        crawl = new_crawl(conn)
        state = window(conn, crawl)
        state = advance_window(conn, state, cursor=100, search_id="7234567890123456789", has_more=True,
                               videos_on_page=97, crawl_id=crawl, now=T0)
        assert (state.status, state.cursor, state.search_id, state.pages, state.videos) == (
            "in_progress", 100, "7234567890123456789", 1, 97)
        assert unfinished_windows(conn, FP) == [state]
        state = advance_window(conn, state, cursor=200, search_id="7234567890123456789", has_more=False,
                               videos_on_page=3, crawl_id=crawl, now=T0)
        assert (state.status, state.pages, state.videos, state.finished) == ("done", 2, 100, True)
        assert unfinished_windows(conn, FP) == []


def test_unfinished_windows_come_oldest_first_and_per_fingerprint(engine: Engine) -> None:
    with engine.begin() as conn:
        crawl = new_crawl(conn)
        late = window(conn, crawl, date(2024, 3, 8), date(2024, 3, 14))
        early = window(conn, crawl)
        done = window(conn, crawl, date(2024, 2, 1), date(2024, 2, 7))
        advance_window(conn, done, cursor=0, search_id=None, has_more=False, videos_on_page=0, crawl_id=crawl,
                       now=T0)
        open_window(conn, fingerprint="b" * 64, start_date=MARCH_1, end_date=MARCH_7, crawl_id=crawl, now=T0)
        assert [w.id for w in unfinished_windows(conn, FP)] == [early.id, late.id]


def test_a_stale_checkpoint_cannot_overwrite_a_newer_one(engine: Engine) -> None:
    with engine.begin() as conn:
        crawl = new_crawl(conn)
        stale = window(conn, crawl)
        advance_window(conn, stale, cursor=100, search_id="1", has_more=True, videos_on_page=100,
                       crawl_id=crawl, now=T0)
    with pytest.raises(CheckpointConflict) as caught, engine.begin() as conn:
        advance_window(conn, stale, cursor=100, search_id="1", has_more=True, videos_on_page=100,
                       crawl_id=crawl, now=T0)
    assert caught.value.exit_code == exit_codes.RESUMABLE
    with engine.connect() as conn:
        (current,) = unfinished_windows(conn, FP)
    assert (current.cursor, current.pages, current.videos) == (100, 1, 100)


def test_restart_window_goes_back_to_cursor_zero_without_search_id(engine: Engine) -> None:
    with engine.begin() as conn:
        crawl = new_crawl(conn)
        state = advance_window(conn, window(conn, crawl), cursor=300, search_id="9", has_more=True,
                               videos_on_page=300, crawl_id=crawl, now=T0)
        state = restart_window(conn, state, now=T0)
        assert (state.cursor, state.search_id, state.has_more, state.videos, state.pages) == (0, None, True, 0, 1)
        state = advance_window(conn, state, cursor=100, search_id="10", has_more=True, videos_on_page=100,
                               crawl_id=crawl, now=T0)
        assert (state.cursor, state.search_id, state.pages) == (100, "10", 2)


def test_failed_window_resumes_from_its_cursor_and_done_window_starts_over(engine: Engine) -> None:
    with engine.begin() as conn:
        crawl = new_crawl(conn)
        failing = advance_window(conn, window(conn, crawl), cursor=200, search_id="5", has_more=True,
                                 videos_on_page=200, crawl_id=crawl, now=T0)
        failed = fail_window(conn, failing, error="HTTP 400 invalid_params" * 500, now=T0)
        assert (failed.status, failed.failures, len(failed.last_error or "")) == ("failed", 1, 2000)
        assert unfinished_windows(conn, FP) == []
        second = new_crawl(conn)
        resumed = window(conn, second)
        assert (resumed.status, resumed.cursor, resumed.search_id, resumed.crawl_id) == ("pending", 200, "5", second)
        done = advance_window(conn, resumed, cursor=300, search_id="5", has_more=False, videos_on_page=1,
                              crawl_id=second, now=T0)
        again = window(conn, second)
    assert done.status == "done" and again.id == done.id
    assert (again.status, again.cursor, again.search_id, again.pages, again.videos) == ("pending", 0, None, 0, 0)


def test_window_lease_is_exclusive_until_it_expires(engine: Engine) -> None:
    with engine.begin() as conn:
        state = window(conn, new_crawl(conn))
        until = T0 + timedelta(minutes=5)
        assert claim_window(conn, state, owner="job-1", until=until, now=T0)
        assert not claim_window(conn, state, owner="job-2", until=until, now=T0)
        assert claim_window(conn, state, owner="job-1", until=until, now=T0)
        assert claim_window(conn, state, owner="job-2", until=until + timedelta(minutes=5),
                            now=until + timedelta(seconds=1))


def test_covered_days_are_per_fingerprint_and_bounded(engine: Engine) -> None:
    days = [MARCH_1 + timedelta(days=i) for i in range(10)]
    with engine.begin() as conn:
        crawl = new_crawl(conn)
        mark_days_covered(conn, FP, days[:5], crawl_id=crawl, now=T0)
        mark_days_covered(conn, FP, days[3:7], crawl_id=crawl, now=T0)  # overlap is fine
        mark_days_covered(conn, "b" * 64, days, crawl_id=None, now=T0)
        assert covered_days(conn, FP, MARCH_1, days[-1]) == set(days[:7])
        assert covered_days(conn, FP, days[2], days[4]) == set(days[2:5])
        assert covered_days(conn, "c" * 64, MARCH_1, days[-1]) == set()


def test_register_spec_is_idempotent(engine: Engine) -> None:
    for _ in range(2):
        with engine.begin() as conn:
            register_spec(conn, fingerprint=FP, name="shoes", query={"and": [{"field_values": ["x"]}]},
                          fields=["id", "username"], fetch={"comments": True}, now=T0)
    with Session(engine) as session:
        (spec,) = session.scalars(sa.select(CrawlSpec)).all()
    assert (spec.name, spec.fields, spec.fetch, spec.created_at) == ("shoes", ["id", "username"],
                                                                      {"comments": True}, T0)


def test_crawl_rows_record_provenance_tags_and_outcome(engine: Engine) -> None:
    with engine.begin() as conn:
        crawl = new_crawl(conn, ("shoes-2024", "nightly", "nightly"))
        finish_crawl(conn, crawl, outcome="complete", exit_code=0, requests=12, videos=1100,
                     now=T0 + timedelta(hours=1))
    with Session(engine) as session:
        stored = session.get(Crawl, crawl)
        assert stored is not None
        assert {tag.name for tag in stored.crawl_tags} == {"shoes-2024", "nightly"}
        assert (stored.spec_name, stored.fingerprint, stored.query, stored.overrides) == (
            "shoes", FP, {"and": [{"x": 1}]}, ["spec.x=1"])
        assert (stored.start_date, stored.end_date, stored.started_at) == (MARCH_1, MARCH_7, T0)
        assert (stored.outcome, stored.exit_code, stored.requests, stored.videos) == ("complete", 0, 12, 1100)
        assert stored.finished_at == T0 + timedelta(hours=1)
    with pytest.raises(LookupError), engine.begin() as conn:
        finish_crawl(conn, crawl + 1000, outcome="x", exit_code=1, requests=0, videos=0, now=T0)


def test_nothing_commits_on_its_own(engine: Engine) -> None:
    with pytest.raises(RuntimeError), engine.begin() as conn:
        crawl = new_crawl(conn, ("t",))
        register_spec(conn, fingerprint=FP, name="s", query={}, fields=[], fetch={}, now=T0)
        mark_days_covered(conn, FP, [MARCH_1], crawl_id=crawl, now=T0)
        fail_window(conn, window(conn, crawl), error="x", now=T0)
        raise RuntimeError
    with engine.connect() as conn:
        for table in ("crawl", "crawl_spec", "covered_day", "crawl_window", "crawl_tag", "crawls_to_crawl_tags"):
            assert conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one() == 0, table
