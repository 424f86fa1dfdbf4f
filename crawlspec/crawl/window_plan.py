"""Window sizes chosen by the data (`window.days_per_query: auto`).

Every window costs at least one request, and its last page is usually partial, so the fewest requests
come from the largest windows the API allows (30 days). But the API answers 500 more often the more
videos a search matches, and every failed attempt is charged. The planner therefore starts at 30 days and
learns, per fingerprint, two limits:

- `max_days`: a window of this many days or more failed before the crawl knew the query's density
  (a failed first page halves it; a window that reached it without a failure lets it grow back);
- `search_cap`: the number of matching videos one search should not exceed, set from the expected size
  of a window that answered 5xx (cut by 30% at each failure, grown by a quarter after a clean window near it).

The expected number of matching videos per day comes from the finished windows of earlier pages and runs
(their final cursor counts every result, deleted videos included): a day inside a finished window gets
that window's average, other days the fingerprint's overall average. Windows are then grown day by day
while they stay under both limits, so sparse periods get 30-day windows and a burst day gets a window of
its own. This module is pure: the crawl (`crawlspec.crawl.videos`) loads and stores `Learned` through
`crawlspec.storage.window_learning`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from crawlspec.api.fields import MAX_WINDOW_DAYS
from crawlspec.spec.windows import Window

SHRINK = 0.7
"""A search that answered 5xx sets the search cap to this share of its expected size."""
GROWTH = 1.25
"""After a clean window that came near a limit, the limit grows by this factor (failures halve it)."""
NEAR_LIMIT = 0.75
"""A clean window 'came near' the search cap when it matched at least this share of it."""


@dataclass(frozen=True)
class Learned:
    """What the crawls of one fingerprint taught about window sizes."""

    max_days: int = MAX_WINDOW_DAYS
    search_cap: int | None = None    # None: no search of this fingerprint has failed with a known size
    failures: int = 0                # 5xx answers seen by auto windows (split at once or retried)
    splits: int = 0                  # windows split at once after a failed first page


@dataclass(frozen=True)
class SizedWindow:
    """A finished window and the number of search results it had (its final cursor)."""

    start: date
    end: date
    results: int

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


Expected = Callable[[date], float | None]


def expected_per_day(history: Iterable[SizedWindow]) -> Expected:
    """Expected matching videos per day: the average of the smallest finished window holding the day,
    else the average over every finished window, else None (nothing known yet)."""
    by_day: dict[date, tuple[int, float]] = {}
    total_results = total_days = 0
    for window in history:
        total_results += window.results
        total_days += window.days
        rate = window.results / window.days
        for offset in range(window.days):
            day = window.start + timedelta(days=offset)
            known = by_day.get(day)
            if known is None or window.days < known[0]:
                by_day[day] = (window.days, rate)
    overall = total_results / total_days if total_days else None

    def expected(day: date) -> float | None:
        known = by_day.get(day)
        return known[1] if known is not None else overall

    return expected


def next_window(days: Sequence[date], learned: Learned, expected: Expected) -> Window:
    """The window to crawl next: it starts at the first of `days` (sorted, not empty) and takes the
    following consecutive days while it stays within `max_days` and, when the density is known, within
    the search cap. A single day is always a window, however dense."""
    first = days[0]
    end, size, length = first, _known(expected(first)), 1
    for day in days[1:]:
        if day != end + timedelta(days=1) or length >= min(learned.max_days, MAX_WINDOW_DAYS):
            break
        grown = size + _known(expected(day))
        if learned.search_cap is not None and grown > learned.search_cap:
            break
        end, size, length = day, grown, length + 1
    return Window(first, end)


def plan(days: Iterable[date], learned: Learned, expected: Expected) -> list[Window]:
    """Every window `next_window` would choose, in order, for the pending `days` (with nothing new learned)."""
    remaining = sorted(set(days))
    windows: list[Window] = []
    while remaining:
        window = next_window(remaining, learned, expected)
        windows.append(window)
        remaining = remaining[window.length():]
    return windows


def expected_results(window: Window, expected: Expected) -> float | None:
    """The window's expected number of search results, or None when the density is not known."""
    values = [expected(day) for day in window.days()]
    return None if any(v is None for v in values) else sum(_known(v) for v in values)


def split_at_once(window: Window, expected: Expected, *, cursor: int, page_size: int) -> bool:
    """Whether a 5xx on the window's next page (at `cursor`) should split it at once rather than be
    retried: it has several days, its search is not known to fit on one page (a one-page search split in
    two costs two requests however it fails), and less than half of it was fetched (the halves fetch
    those pages again; a window mostly fetched is cheaper to finish). Without a known density only the
    first two pages split."""
    if window.length() <= 1:
        return False
    size = expected_results(window, expected)
    if size is None:
        return cursor <= page_size
    return size > page_size and 2 * cursor < size


def after_failure(learned: Learned, window: Window, expected: Expected, *, split: bool,
                  page_size: int) -> Learned:
    """A page of an auto window answered 5xx. With a known density the search cap becomes half the
    window's expected size times `SHRINK`, never less than one page (`page_size` results: a smaller search costs the
    same request); without a density, the day limit becomes half the window's length."""
    size = expected_results(window, expected)
    failed = replace(learned, failures=learned.failures + 1, splits=learned.splits + int(split))
    if size is None or size <= 0:
        return replace(failed, max_days=max(1, min(learned.max_days, math.ceil(window.length() / 2))))
    cap = max(page_size, int(size * SHRINK))
    return replace(failed, search_cap=cap if learned.search_cap is None else min(learned.search_cap, cap))


def after_clean_window(learned: Learned, window: Window, results: int) -> Learned:
    """A window finished with no 5xx on any page: a limit it came near grows back a little."""
    grown = learned
    if window.length() >= learned.max_days and learned.max_days < MAX_WINDOW_DAYS:
        grown = replace(grown, max_days=min(MAX_WINDOW_DAYS, math.ceil(learned.max_days * GROWTH)))
    cap = learned.search_cap
    if cap is not None and results >= NEAR_LIMIT * cap:
        grown = replace(grown, search_cap=math.ceil(cap * GROWTH))
    return grown


def _known(value: float | None) -> float:
    return 0.0 if value is None else value
