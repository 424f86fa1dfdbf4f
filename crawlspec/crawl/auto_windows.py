"""Auto-sized windows between the planner and the database: load what a fingerprint's crawls learned
(`crawlspec.crawl.window_plan.Learned`, and the density read from its finished windows), and record
what a window teaches (a page failed at its one attempt, a window given up, a finished window's
attempts) in the transaction of the event; `AttemptTally` follows one window's attempts and the times its pages show.
None of these commits."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy.engine import Connection

from crawlspec.crawl import window_plan
from crawlspec.crawl.window_plan import Expected, Learned, Observation, SizedWindow, Unsized
from crawlspec.spec.windows import Window
from crawlspec.storage import window_learning as storage


@dataclass
class AttemptTally:
    """The attempts one window's pages took in this run, how many of them failed (charged all the same),
    and the oldest `create_time` its pages showed (None when unknown: a page without it, out of order,
    or a window resumed from an earlier run)."""

    attempts: int = 0
    failures: int = 0
    videos: int = 0            # videos its pages stored in this run
    oldest: int | None = None
    readable: bool = False

    def add(self, failed: int, *, delivered: bool) -> None:
        self.attempts += failed + int(delivered)
        self.failures += failed

    def see_page(self, videos: list[dict[str, Any]], *, first: bool) -> None:
        """Follow the newest-first listing: the oldest time so far, while every page is in order."""
        if first:
            self.readable, self.oldest = True, None
        times = [video.get("create_time") for video in videos]
        if not self.readable or not all(isinstance(t, int) for t in times):
            self.readable = False
            return
        ordered = [int(t) for t in times if isinstance(t, int)]
        if any(a < b for a, b in itertools.pairwise(ordered)) or (
                self.oldest is not None and ordered and ordered[0] > self.oldest):
            self.readable = False
            return
        if ordered:
            self.oldest = ordered[-1]

    def rate(self, window: Window, cursor: int) -> float | None:
        """Videos per day the pages showed (`window_plan.page_rate`), or None."""
        if not self.readable or self.oldest is None or cursor <= 0:
            return None
        return window_plan.page_rate(window, results=cursor,
                                     oldest=datetime.fromtimestamp(self.oldest, tz=timezone.utc))


def load(conn: Connection, fingerprint: str) -> tuple[Learned, Expected]:
    """The fingerprint's lessons (defaults when it never ran with auto windows) and its density."""
    history = [SizedWindow(w.start, w.end, w.results) for w in storage.finished_windows(conn, fingerprint)]
    learned = _learned(conn, fingerprint)
    expected = window_plan.with_rate(window_plan.expected_per_day(history), learned.page_rate)
    return window_plan.with_sizes(learned, expected), expected


def page_failed_once(conn: Connection, fingerprint: str, window: Window, *, upcoming: list[date], attempts: int,
                     failures: int, rate: float | None, page_size: int, now: datetime,
                     fetched: int = 0) -> tuple[Window, Learned]:
    """A page of `window` answered 5xx at its one attempt (after `attempts` attempts of this window,
    `failures` of them failed, and `fetched` results stored): record it, and return the window to ask
    first now, planned over the window's days and the `upcoming` pending days (`window` itself: finishing
    it is still the cheapest choice, retry it; `window_plan.worth_finishing` once pages were stored).
    `rate`: the videos per day its pages showed, used where nothing else is known."""
    learned, expected = load(conn, fingerprint)
    if rate is not None:
        learned = replace(learned, page_rate=rate)
        expected = window_plan.with_rate(expected, rate)
    before, learned = learned, window_plan.after_failure(learned, window, expected, attempts=attempts,
                                                         failures=failures)
    if fetched and window_plan.worth_finishing(window, fetched=fetched, upcoming=upcoming, learned=learned,
                                               expected=expected, page_size=page_size):
        # finished, not given back: the day limit (for windows of unknown density) stays as it was
        learned = replace(learned, max_days=before.max_days)
        _save(conn, fingerprint, learned, now)
        return window, learned
    first = window_plan.next_window(sorted(set(window.days()) | set(upcoming)), learned, expected,
                                    page_size=page_size)
    if first != window:
        learned = window_plan.after_split(learned)
    _save(conn, fingerprint, learned, now)
    return first, learned


def window_given_up(conn: Connection, fingerprint: str, window: Window, *, attempts: int, failures: int,
                    now: datetime) -> Learned:
    """`window` is split after a page failed every retry: what its attempts in this run say."""
    learned, expected = load(conn, fingerprint)
    updated = window_plan.after_failure(learned, window, expected, attempts=attempts, failures=failures)
    _save(conn, fingerprint, updated, now)
    return updated


def record_finished_window(conn: Connection, fingerprint: str, *, results: int, attempts: int, failures: int,
                           now: datetime) -> Learned:
    """A window finished with `results` search results after `attempts` attempts, `failures` of them 5xx."""
    updated = window_plan.after_window(_learned(conn, fingerprint), results=results, attempts=attempts,
                                       failures=failures)
    _save(conn, fingerprint, updated, now)
    return updated


def _learned(conn: Connection, fingerprint: str) -> Learned:
    row = storage.load_learning(conn, fingerprint)
    if row is None:
        return Learned()
    sized = tuple(Observation(int(o[0]), int(o[1]), int(o[2])) for o in row.observations if o[0] is not None)
    unsized = tuple(Unsized(date.fromisoformat(o[3]), date.fromisoformat(o[4]), int(o[1]), int(o[2]))
                    for o in row.observations if o[0] is None)
    return Learned(max_days=row.max_days, observations=sized, unsized=unsized, failures=row.failures,
                   splits=row.splits, page_rate=row.page_rate)


def _save(conn: Connection, fingerprint: str, learned: Learned, now: datetime) -> None:
    storage.save_learning(conn, fingerprint, storage.LearningRow(
        max_days=learned.max_days,
        observations=[[u.size, u.attempts, u.failures] for u in learned.observations]
        + [[None, u.attempts, u.failures, u.start.isoformat(), u.end.isoformat()] for u in learned.unsized],
        failures=learned.failures, splits=learned.splits, page_rate=learned.page_rate), now=now)
