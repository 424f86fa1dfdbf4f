"""Window leases as parallel sweep jobs of one spec meet them: a job that read the window list before
another job advanced or finished a window must not take it (and fetch its pages a second time)."""

from __future__ import annotations

from datetime import timedelta

from support.checkpoints import T0, new_crawl, window

from crawlspec.storage.checkpoints import advance_window, claim_window


def test_a_snapshot_of_a_window_finished_elsewhere_cannot_be_claimed(engine) -> None:
    until = T0 + timedelta(minutes=15)
    with engine.begin() as conn:
        crawl = new_crawl(conn)
        snapshot = window(conn, crawl)  # job B's plan, read before job A crawled the window
        assert claim_window(conn, snapshot, owner="job-a", until=until, now=T0)
        done = advance_window(conn, snapshot, cursor=40, search_id="1", has_more=False, videos_on_page=40,
                              crawl_id=crawl, now=T0)
        assert done.status == "done"  # job A finished it and released the lease
        assert not claim_window(conn, snapshot, owner="job-b", until=until, now=T0)


def test_a_snapshot_of_a_window_advanced_elsewhere_cannot_be_claimed_after_its_lease_expires(engine) -> None:  # noqa: E501
    until = T0 + timedelta(minutes=15)
    with engine.begin() as conn:
        crawl = new_crawl(conn)
        snapshot = window(conn, crawl)
        assert claim_window(conn, snapshot, owner="job-a", until=until, now=T0)
        moved = advance_window(conn, snapshot, cursor=100, search_id="1", has_more=True, videos_on_page=100,
                               crawl_id=crawl, now=T0)
        later = until + timedelta(seconds=1)
        assert not claim_window(conn, snapshot, owner="job-b", until=later + timedelta(minutes=15), now=later)
        assert claim_window(conn, moved, owner="job-b", until=later + timedelta(minutes=15), now=later), \
            "the current checkpoint of an expired lease is free to resume"
