"""Auto-sized windows between the planner and the database: load what a fingerprint's crawls learned
(`crawlspec.crawl.window_plan.Learned`, and the density read from its finished windows), and record
what a window teaches (a split after a 5xx, a finished window's attempts) in the transaction of the
event. None of these commits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Connection

from crawlspec.crawl import window_plan
from crawlspec.crawl.window_plan import Expected, Learned, Observation, SizedWindow
from crawlspec.spec.windows import Window
from crawlspec.storage import window_learning as storage


def load(conn: Connection, fingerprint: str) -> tuple[Learned, Expected]:
    """The fingerprint's lessons (defaults when it never ran with auto windows) and its density."""
    history = [SizedWindow(w.start, w.end, w.results) for w in storage.finished_windows(conn, fingerprint)]
    return _learned(conn, fingerprint), window_plan.expected_per_day(history)


def record_split(conn: Connection, fingerprint: str, window: Window, *, attempts: int, split: bool,
                 now: datetime) -> Learned:
    """`window` is split after `attempts` attempts, the last one a 5xx (`split`: at once, not retried)."""
    learned, expected = load(conn, fingerprint)
    updated = window_plan.after_failure(learned, window, expected, attempts=attempts, split=split)
    _save(conn, fingerprint, updated, now)
    return updated


def record_finished_window(conn: Connection, fingerprint: str, window: Window, *, results: int, attempts: int,
                           failures: int, now: datetime) -> Learned:
    """`window` finished with `results` search results after `attempts` attempts, `failures` of them 5xx."""
    updated = window_plan.after_window(_learned(conn, fingerprint), window, results=results, attempts=attempts,
                                       failures=failures)
    _save(conn, fingerprint, updated, now)
    return updated


def split_at_once(conn: Connection, fingerprint: str, window: Window, *, cursor: int, page_size: int) -> bool:
    """`crawlspec.crawl.window_plan.split_at_once` with the density the fingerprint's crawls saw."""
    return window_plan.split_at_once(window, load(conn, fingerprint)[1], cursor=cursor, page_size=page_size)


def _learned(conn: Connection, fingerprint: str) -> Learned:
    row = storage.load_learning(conn, fingerprint)
    if row is None:
        return Learned()
    return Learned(max_days=row.max_days, observations=tuple(Observation(*o) for o in row.observations),
                   failures=row.failures, splits=row.splits)


def _save(conn: Connection, fingerprint: str, learned: Learned, now: datetime) -> None:
    storage.save_learning(conn, fingerprint, storage.LearningRow(
        max_days=learned.max_days, observations=[(o.size, o.attempts, o.failures) for o in learned.observations],
        failures=learned.failures, splits=learned.splits), now=now)
