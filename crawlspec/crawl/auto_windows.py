"""Auto-sized windows between the planner and the database: load what a fingerprint's crawls learned
(`crawlspec.crawl.window_plan.Learned`, and the density read from its finished windows), and record
what a window teaches (a 5xx, a clean finish) in the transaction of the event. None of these commits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Connection

from crawlspec.crawl import window_plan
from crawlspec.crawl.window_plan import Expected, Learned, SizedWindow
from crawlspec.spec.windows import Window
from crawlspec.storage import window_learning as storage


def load(conn: Connection, fingerprint: str) -> tuple[Learned, Expected]:
    """The fingerprint's limits (defaults when it never ran with auto windows) and its density."""
    row = storage.load_learning(conn, fingerprint)
    learned = Learned() if row is None else Learned(max_days=row.max_days, search_cap=row.search_cap,
                                                    failures=row.failures, splits=row.splits)
    history = [SizedWindow(w.start, w.end, w.results) for w in storage.finished_windows(conn, fingerprint)]
    return learned, window_plan.expected_per_day(history)


def record_failure(conn: Connection, fingerprint: str, window: Window, *, split: bool, page_size: int,
                   now: datetime) -> Learned:
    """A page of `window` answered 5xx (`split`: its first page, and it is split at once)."""
    learned, expected = load(conn, fingerprint)
    updated = window_plan.after_failure(learned, window, expected, split=split, page_size=page_size)
    _save(conn, fingerprint, updated, now)
    return updated


def split_at_once(conn: Connection, fingerprint: str, window: Window, *, cursor: int, page_size: int) -> bool:
    """`crawlspec.crawl.window_plan.split_at_once` with the density the fingerprint's crawls saw."""
    return window_plan.split_at_once(window, load(conn, fingerprint)[1], cursor=cursor, page_size=page_size)


def record_clean_window(conn: Connection, fingerprint: str, window: Window, *, results: int,
                        now: datetime) -> None:
    """`window` finished without a 5xx on any page, with `results` search results."""
    row = storage.load_learning(conn, fingerprint)
    if row is None:
        return   # nothing was limited: nothing to grow back
    learned = Learned(max_days=row.max_days, search_cap=row.search_cap, failures=row.failures, splits=row.splits)
    updated = window_plan.after_clean_window(learned, window, results)
    if updated != learned:
        _save(conn, fingerprint, updated, now)


def _save(conn: Connection, fingerprint: str, learned: Learned, now: datetime) -> None:
    storage.save_learning(conn, fingerprint, storage.LearningRow(
        max_days=learned.max_days, search_cap=learned.search_cap, failures=learned.failures,
        splits=learned.splits), now=now)
