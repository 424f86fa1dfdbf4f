"""Window sizes chosen by the data (`window.days_per_query: auto`).

Every window costs at least one request and its last page is usually partial, so without failures the
fewest requests come from the largest windows the API allows (30 days). But the API answers 5xx more
often the more videos a search matches, and every failed attempt is charged. The planner's model of
that: each page of a search matching `n` videos fails with chance `n / (n + S)`, where the *failure
scale* `S` (the search size at which half the attempts fail) is fitted, per fingerprint, to the
attempts its windows saw (`failure_scale`); no failure seen means no limit. A window of `n` expected
videos then costs `pages(n) * (n + S) / S` requests on average, and the planner chooses windows that
minimise the expected requests of all the pending days (a small dynamic programme over the days).

The expected number of matching videos per day comes from the finished windows of earlier pages and
runs (their final cursor counts every result, deleted videos included): a day inside a finished window
gets that window's average, other days the fingerprint's overall average. Within the first window of a
query, its first pages tell the rate (`page_rate`: the API lists a search newest first). Before anything is known
(a fresh query) windows are 30 days, or `max_days` after a window failed with no density known yet
(halved at each such failure); once the density is known, such a failure counts as an observation of
the window's expected size (`with_sizes`) and the day limit no longer applies.

Every page of a window of more than one day gets one attempt (`crawlspec.crawl.videos`): a 5xx is an
observation, and the window is weighed (`worth_finishing`): finishing its search (the failed page then
retried as usual) against giving its days back to be planned again with the lesson, which fetches its
stored pages again. A first page is given back whenever another window comes first now; while the
density is unknown, a window is given back up to its `UNKNOWN_SIZE_SPLIT_PAGES`-th page (half the days).

This module is pure: the crawl (`crawlspec.crawl.videos`) loads and stores `Learned` through
`crawlspec.crawl.auto_windows`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone

from crawlspec.api.fields import MAX_WINDOW_DAYS
from crawlspec.spec.windows import Window

MAX_OBSERVATIONS = 200
"""Observations kept per fingerprint (the newest): enough to fit one number, small enough to store."""
UNKNOWN_SIZE_SPLIT_PAGES = 2
"""While a query's density is unknown, a 5xx on one of a window's first pages up to this cursor (in
pages) splits the window at once: fetching those pages again costs less than a big search's retries."""
HORIZON_DAYS = 180
"""The dynamic programme looks this far ahead; the next window does not depend on days further away."""


@dataclass(frozen=True)
class Observation:
    """The attempts a search of `size` results needed: `failures` of `attempts` answered 5xx."""

    size: int
    attempts: int
    failures: int


PRIOR = Observation(100, 10, 0)
"""Counted with every fit: ten clean attempts at a one-page search. One unlucky failure of a small search
then reads as a rare event, not as a failure scale of the search's own size."""


@dataclass(frozen=True)
class Unsized:
    """Attempts at a window whose size was not known when it failed: an `Observation` once it is."""

    start: date
    end: date
    attempts: int
    failures: int


@dataclass(frozen=True)
class Learned:
    """What the crawls of one fingerprint taught about window sizes."""

    max_days: int = MAX_WINDOW_DAYS  # while the density is unknown: halved by each failure
    observations: tuple[Observation, ...] = ()
    unsized: tuple[Unsized, ...] = ()
    failures: int = 0                # 5xx answers seen by auto windows (split at once or retried)
    splits: int = 0                  # windows given back after a failed page
    page_rate: float | None = None   # videos per day a window's first pages showed (until one finishes)

    @property
    def scale(self) -> float | None:
        return failure_scale(self.observations)


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


def with_sizes(learned: Learned, expected: Expected) -> Learned:
    """`learned` with the failures of windows of unknown size counted as observations where the density
    is known now (kept aside where it is not)."""
    sized, still = [], []
    for item in learned.unsized:
        size = expected_results(Window(item.start, item.end), expected)
        if size is None:
            still.append(item)
        else:
            sized.append(Observation(round(size), item.attempts, item.failures))
    return replace(learned, observations=(*sized, *learned.observations), unsized=tuple(still))


def page_rate(window: Window, *, results: int, oldest: datetime) -> float:
    """Videos per day from a window's first pages: the API lists a search newest first (decreasing
    video id), so `results` search results (the cursor) span from the window's end back to the oldest
    `create_time` seen; at least an hour, so a burst of one minute does not read as infinite."""
    end = datetime.combine(window.end + timedelta(days=1), time.min, tzinfo=timezone.utc)
    span_days = max((end - oldest).total_seconds() / 86400, 1 / 24)
    return results / span_days


def with_rate(expected: Expected, rate: float | None) -> Expected:
    """`expected`, with `rate` (videos per day a window's first pages showed) where nothing else is known."""
    if rate is None:
        return expected

    def combined(day: date) -> float | None:
        known = expected(day)
        return rate if known is None else known

    return combined


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


def failure_scale(observations: Iterable[Observation]) -> float | None:
    """The `S` of `n / (n + S)` most likely to have produced the observations and `PRIOR` (maximum
    likelihood); None when no attempt failed (no limit)."""
    seen = [o for o in observations if o.attempts > 0]
    if not any(o.failures for o in seen):
        return None
    seen.append(PRIOR)
    successes = sum(o.attempts - o.failures for o in seen)

    def slope(scale: float) -> float:   # d(log-likelihood)/dS, decreasing in S
        return successes / scale - sum(o.attempts / (max(o.size, 1) + scale) for o in seen)

    low, high = 1e-3, 1e9
    for _ in range(100):                 # bisection on log S
        middle = math.sqrt(low * high)
        if slope(middle) > 0:
            low = middle
        else:
            high = middle
    return math.sqrt(low * high)


def expected_pages(size: float, page_size: int) -> float:
    """The pages a search of `size` expected results takes on average, its count varying like a Poisson
    count (normal approximation): 1 + the chance of more than 1, 2, ... pages of results. A window planned
    just under a page boundary often costs a page more."""
    size = max(size, 0.0)
    spread = math.sqrt(size) if size > 0 else 1.0
    pages, full = 1.0, page_size
    while full < size + 6 * spread:
        pages += 0.5 * math.erfc((full + 0.5 - size) / (spread * math.sqrt(2)))
        full += page_size
    return pages


def expected_requests(size: float, scale: float | None, page_size: int) -> float:
    """The requests a search of `size` expected results costs on average, failed attempts included."""
    pages = expected_pages(size, page_size)
    return pages if scale is None else pages * (size + scale) / scale


def next_window(days: Sequence[date], learned: Learned, expected: Expected, *, page_size: int = 100) -> Window:
    """The window to crawl next; it starts at the first of `days` (sorted, not empty). With a known
    density: the first window of the plan with the fewest expected requests for the days ahead; without:
    as many consecutive days as the day limit allows."""
    return _plan_run(_consecutive(days, HORIZON_DAYS), learned, expected, page_size)[0]


def plan(days: Iterable[date], learned: Learned, expected: Expected, *, page_size: int = 100) -> list[Window]:
    """The windows for the pending `days` as the crawl knows them now (each run of consecutive days planned
    at once; the crawl itself asks `next_window` again after each window, with what it learned)."""
    remaining = sorted(set(days))
    windows: list[Window] = []
    while remaining:
        run = _consecutive(remaining, len(remaining))
        windows.extend(_plan_run(run, learned, expected, page_size))
        remaining = remaining[len(run):]
    return windows


def _plan_run(run: list[date], learned: Learned, expected: Expected, page_size: int) -> list[Window]:
    """Windows covering consecutive days: the cheapest plan when the density is known, else windows of the
    day limit."""
    counts = [expected(day) for day in run]
    if any(count is None for count in counts):
        max_days = min(learned.max_days, MAX_WINDOW_DAYS)
        lengths = [max_days] * (len(run) // max_days) + ([len(run) % max_days] if len(run) % max_days else [])
    else:   # the failure scale now stands for the failures that cut the day limit
        lengths = _cheapest_lengths([c or 0.0 for c in counts], learned.scale, page_size, MAX_WINDOW_DAYS)
    windows, start = [], 0
    for length in lengths:
        windows.append(Window(run[start], run[start + length - 1]))
        start += length
    return windows


def expected_results(window: Window, expected: Expected) -> float | None:
    """The window's expected number of search results, or None when the density is not known."""
    values = [expected(day) for day in window.days()]
    return None if any(v is None for v in values) else sum(v or 0.0 for v in values)


def after_failure(learned: Learned, window: Window, expected: Expected, *, attempts: int, failures: int) -> Learned:
    """A window is given up after `attempts` attempts, `failures` of them 5xx (its first page's one
    attempt, or every retry of a page). With a known density that is an observation of a search of the
    window's expected size; without, the day limit becomes half the window."""
    size = expected_results(window, expected)
    failed = replace(learned, failures=learned.failures + failures)
    if size is None:
        return replace(failed, max_days=max(1, min(learned.max_days, math.ceil(window.length() / 2))),
                       unsized=(*learned.unsized, Unsized(window.start, window.end, attempts, failures)))
    return observe(failed, Observation(round(size), attempts, failures))


def after_split(learned: Learned) -> Learned:
    return replace(learned, splits=learned.splits + 1)


def after_window(learned: Learned, *, results: int, attempts: int, failures: int) -> Learned:
    """A window finished with `results` search results after `attempts` attempts, `failures` of them 5xx
    (the failed single attempts that gave windows back are observed already)."""
    return observe(replace(learned, failures=learned.failures + failures), Observation(results, attempts, failures))


def observe(learned: Learned, observation: Observation) -> Learned:
    return replace(learned, observations=(*learned.observations, observation)[-MAX_OBSERVATIONS:])


def worth_finishing(window: Window, *, fetched: int, upcoming: Sequence[date], learned: Learned,
                    expected: Expected, page_size: int = 100) -> bool:
    """A page of `window` failed after `fetched` results were stored: whether finishing it (retrying the
    page) is expected to cost no more than giving its days back. Finishing costs the rest of its search
    (`learned` holds the failure already) plus the cheapest plan of the days that follow it; giving back
    costs the cheapest plan of its days and those, so the pages already fetched are paid again. Unknown
    density: True when `fetched` is past the pages a window of unknown size gives back
    (`UNKNOWN_SIZE_SPLIT_PAGES`), as before anything is known."""
    following = [day for day in upcoming if day > window.end]
    after = _consecutive(following, HORIZON_DAYS) if following and following[0] == window.end + timedelta(days=1) \
        else []
    size = expected_results(window, expected)
    rest, whole = _plan_cost(after, learned, expected, page_size), _plan_cost(
        [*window.days(), *after], learned, expected, page_size)
    if size is None or rest is None or whole is None:
        return fetched > UNKNOWN_SIZE_SPLIT_PAGES * page_size
    search = max(size, float(fetched))      # the search is at least what it delivered
    pages_left = expected_pages(search - fetched, page_size)    # at least one: it said it has more
    # every page left is a page of the whole search: it fails with the whole search's chance
    finishing = pages_left * (1.0 if learned.scale is None else (search + learned.scale) / learned.scale)
    return finishing + rest <= whole


def _plan_cost(run: list[date], learned: Learned, expected: Expected, page_size: int) -> float | None:
    """The expected requests of the cheapest plan of consecutive days, or None when the density is unknown."""
    counts = [expected(day) for day in run]
    if any(count is None for count in counts):
        return None
    return _cheapest([c or 0.0 for c in counts], learned.scale, page_size, MAX_WINDOW_DAYS)[1]


def _consecutive(days: Sequence[date], limit: int) -> list[date]:
    run = [days[0]]
    for day in days[1:limit]:
        if day != run[-1] + timedelta(days=1):
            break
        run.append(day)
    return run


def _cheapest_lengths(counts: list[float], scale: float | None, page_size: int, max_days: int) -> list[int]:
    """The window lengths of the cheapest plan for consecutive days with these expected counts."""
    return _cheapest(counts, scale, page_size, max_days)[0]


def _cheapest(counts: list[float], scale: float | None, page_size: int, max_days: int) -> tuple[list[int], float]:
    """The window lengths of the cheapest plan for consecutive days with these counts, and its cost."""
    total = len(counts)
    prefix = [0.0]
    for count in counts:
        prefix.append(prefix[-1] + count)
    cost_from = [0.0] * (total + 1)      # cost_from[i]: the cheapest plan of days i.. (from the end)
    first = [1] * (total + 1)
    for start in range(total - 1, -1, -1):
        best, best_length = math.inf, 1
        for length in range(1, min(max_days, total - start) + 1):
            cost = expected_requests(prefix[start + length] - prefix[start], scale, page_size) + \
                cost_from[start + length]
            if cost <= best:             # ties: the longer window (fewer windows, fewer partial pages)
                best, best_length = cost, length
        cost_from[start], first[start] = best, best_length
    lengths, start = [], 0
    while start < total:
        lengths.append(first[start])
        start += first[start]
    return lengths, cost_from[0]
