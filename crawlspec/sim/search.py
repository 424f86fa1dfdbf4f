"""Search evaluation over a corpus and the cache of searches behind `search_id`.

A condition becomes the set of corpus indexes it matches inside the request's window; `and`
intersects, `or` unites, `not` subtracts. Indexed fields cut their posting lists to the window by
bisection; `keyword` scans descriptions, and only the current candidates when there are some.
"""

from __future__ import annotations

import bisect
import operator
import random
import threading
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from crawlspec.sim.columns import DAY, utc_timestamp
from crawlspec.sim.corpus import Corpus
from crawlspec.sim.indexes import clean_username
from crawlspec.sim.query_parse import Condition, Query, parse_date


def evaluate(corpus: Corpus, query: Query, start: date, end: date) -> array[int]:
    """Matching corpus indexes in decreasing id order (deleted videos included: they hold cursor slots)."""
    lo, hi = corpus.window(utc_timestamp(start), utc_timestamp(end) + DAY)
    result: set[int] | None = None
    for cond in sorted(query.all_of, key=lambda c: c.field in SCANNED_FIELDS):
        matched = matches(corpus, cond, lo, hi, result)
        result = matched if result is None else result & matched
    if query.any_of:
        united: set[int] = set()
        for cond in query.any_of:
            united |= matches(corpus, cond, lo, hi, result)
        result = united if result is None else result & united
    if result is None:
        result = set(range(lo, hi))
    for cond in query.none_of:
        result -= matches(corpus, cond, lo, hi, result)
    return array("I", sorted(result, reverse=True))


def matches(corpus: Corpus, cond: Condition, lo: int, hi: int, within: set[int] | None) -> set[int]:
    """Indexes in [lo, hi) matching `cond` (a subset of `within` only where that is cheaper)."""
    if cond.field == "keyword":
        return _keyword(corpus, cond.values, range(lo, hi) if within is None else within)
    if cond.field in COUNT_COLUMNS:
        return _count(corpus, cond, range(lo, hi) if within is None else within)
    if cond.field == "create_date":
        return _create_date(corpus, cond, lo, hi)
    if cond.field == "video_id":
        return _video_ids(corpus, cond.values, lo, hi)
    postings = corpus.index[cond.field]
    found: set[int] = set()
    for value in cond.values:
        key = clean_username(value) if cond.field == "username" else (
            value.lower() if cond.field == "hashtag_name" else value)
        posting = postings.get(key)
        if posting:
            found.update(posting[bisect.bisect_left(posting, lo):bisect.bisect_left(posting, hi)])
    return found


def _keyword(corpus: Corpus, values: tuple[str, ...], candidates: Iterable[int]) -> set[int]:
    needles = [value.lower() for value in values]
    descriptions = corpus.descriptions
    return {i for i in candidates if any(needle in descriptions[i].lower() for needle in needles)}


COUNT_COLUMNS: dict[str, Callable[[Corpus, int], int]] = {
    "view_count": lambda corpus, i: corpus.views[i],
    "comment_count": Corpus.comment_count,   # the value the video's `comment_count` field shows
}
SCANNED_FIELDS = frozenset({"keyword", *COUNT_COLUMNS})   # no index: evaluated last, over the candidates
COMPARE: dict[str, Callable[[int, int], bool]] = {
    "EQ": operator.eq, "IN": operator.eq, "GT": operator.gt, "GTE": operator.ge,
    "LT": operator.lt, "LTE": operator.le,
}


def _count(corpus: Corpus, cond: Condition, candidates: Iterable[int]) -> set[int]:
    """`view_count` / `comment_count` compared as integers (IN: equal to any value)."""
    value_of, compare = COUNT_COLUMNS[cond.field], COMPARE[cond.op]
    wanted = [int(value) for value in cond.values]
    return {i for i in candidates if any(compare(value_of(corpus, i), w) for w in wanted)}


def _video_ids(corpus: Corpus, values: tuple[str, ...], lo: int, hi: int) -> set[int]:
    found = set()
    for value in values:
        pos = corpus.position(int(value))
        if pos is not None and lo <= pos < hi and str(corpus.ids[pos]) == value:
            found.add(pos)
    return found


def _create_date(corpus: Corpus, cond: Condition, lo: int, hi: int) -> set[int]:
    """`create_date` compares the UTC day; a day is a contiguous index range of the sorted corpus."""
    found: set[int] = set()
    for value in cond.values:
        day = utc_timestamp(parse_date(value, "create_date"))
        low, high = {"EQ": (day, day + DAY), "IN": (day, day + DAY), "GT": (day + DAY, None),
                     "GTE": (day, None), "LT": (None, day), "LTE": (None, day + DAY)}[cond.op]
        a = lo if low is None else max(lo, bisect.bisect_left(corpus.create_times, low))
        b = hi if high is None else min(hi, bisect.bisect_left(corpus.create_times, high))
        found.update(range(a, b))
    return found


@dataclass
class CachedSearch:
    search_id: str
    key: str                  # query + dates: a follow-up page must carry the same
    results: array[int]            # corpus indexes, decreasing id
    reject_next: bool = False  # fault: the next follow-up is told the search id is invalid


class SearchCache:
    """LRU of recent searches by `search_id` (the API's lifetime is undocumented; ours is the last N)."""

    def __init__(self, seed: int, capacity: int = 512) -> None:
        self._entries: OrderedDict[str, CachedSearch] = OrderedDict()
        self._capacity = capacity
        self._rng = random.Random(f"crawlspec-sim/{seed}/search-ids")
        self._lock = threading.Lock()

    def add(self, key: str, results: array[int], reject_next: bool) -> CachedSearch:
        with self._lock:
            search_id = str(self._rng.randrange(7_200_000_000_000_000_000, 7_400_000_000_000_000_000))
            entry = CachedSearch(search_id, key, results, reject_next)
            self._entries[search_id] = entry
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)
            return entry

    def take_rejection(self, entry: CachedSearch) -> bool:
        """True once if the search was marked to be rejected on its first follow-up."""
        with self._lock:
            rejected, entry.reject_next = entry.reject_next, False
            return rejected

    def get(self, search_id: str) -> CachedSearch | None:
        with self._lock:
            entry = self._entries.get(search_id)
            if entry is not None:
                self._entries.move_to_end(search_id)
            return entry

    def __len__(self) -> int:
        return len(self._entries)
