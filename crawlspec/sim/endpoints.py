"""The research endpoints served now: Query Videos, Query User Info, Query Video Comments.

Each is a callable `(fields, body) -> data` raising `ApiError` for the API's 400s.
"""

from __future__ import annotations

import random
from array import array
from collections.abc import Callable
from datetime import date
from typing import Any

from crawlspec.api.fields import MAX_COMMENTS_PER_VIDEO, MAX_COUNT
from crawlspec.sim import details, people
from crawlspec.sim.corpus import Corpus
from crawlspec.sim.details import video_data
from crawlspec.sim.faults import FaultInjector
from crawlspec.sim.query_parse import Query, VideoRequest, is_digits, parse_int, parse_video_request
from crawlspec.sim.responses import ApiError, invalid_params
from crawlspec.sim.search import CachedSearch, SearchCache, evaluate
from crawlspec.sim.state import Stats

DEFAULT_COMMENT_MAX_COUNT = 10
INVALID_CURSOR = "Invalid count or cursor"


def pick(data: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: data[name] for name in fields if name in data}


class EmptyOutage:
    """The outage real users met: searches of one kind (`keyword`: any keyword condition, or `all`) answer
    0 videos for every day, without an error, until the simulator's day advances or, with `requests`,
    for that many such searches. Only new searches are hit (follow-up pages of earlier ones still work)."""

    def __init__(self, kind: str, requests: int, today: Callable[[], date]) -> None:
        self.kind, self.left, self.today = kind, requests, today
        self.by_requests = requests > 0
        self.day = today()

    def hits(self, query: Query, stats: Stats) -> bool:
        if not self.kind or (self.kind == "keyword" and not _has_keyword(query)):
            return False
        if self.by_requests:
            if self.left <= 0:
                return False
            self.left -= 1
        elif self.today() != self.day:
            return False
        stats.count_fault("empty_outage")
        return True


def _has_keyword(query: Query) -> bool:
    return any(c.field == "keyword" for c in (*query.all_of, *query.any_of, *query.none_of))


class VideoQuery:
    """`/v2/research/video/query/`: a new search is evaluated and cached under a fresh search_id; a
    follow-up (search_id + cursor) pages through the cached list. The cursor is an offset into that
    list, deleted videos included, so a page can be short while has_more is true."""

    def __init__(self, corpus: Corpus, searches: SearchCache, faults: FaultInjector, stats: Stats,
                 outage: EmptyOutage | None = None) -> None:
        self.corpus, self.searches, self.faults, self.stats = corpus, searches, faults, stats
        self.outage = outage
        self._random = random.Random(f"crawlspec-sim/{corpus.options.seed}/is-random")

    def __call__(self, fields: tuple[str, ...], body: object) -> dict[str, Any]:
        request = parse_video_request(body)
        if request.search_id is not None:
            entry = self._follow_up(request, request.search_id)
        else:
            if self.outage is not None and self.outage.hits(request.query, self.stats):
                return {"videos": [], "cursor": 0, "has_more": False}
            results = evaluate(self.corpus, request.query, request.start, request.end)
            if request.is_random:
                return self._random_sample(results, request.max_count, fields)
            if not results:
                return {"videos": [], "cursor": 0, "has_more": False}   # no search_id
            entry = self.searches.add(request.search_key(), results, self.faults.reject_fresh_search())
        if request.cursor > len(entry.results):
            raise invalid_params(INVALID_CURSOR)
        if self.faults.dense_window_fault(len(entry.results)):
            self.stats.count_fault("dense_window")
            raise ApiError(500, "internal_error", "Something went wrong. Please try again later.")
        return self._page(entry, request.cursor, request.max_count, fields)

    def _follow_up(self, request: VideoRequest, search_id: str) -> CachedSearch:
        entry = self.searches.get(search_id)
        expired = invalid_params(f"Search Id {search_id} is invalid or expired")
        if entry is None:
            raise expired
        if entry.key != request.search_key():
            raise invalid_params(f"Search Id {request.search_id} was issued for another query or date range")
        if self.searches.take_rejection(entry):
            self.stats.count_fault("search_id_rejected")
            raise expired
        if self.faults.reject_cursor():
            self.stats.count_fault("cursor_rejected")
            raise invalid_params(INVALID_CURSOR)
        return entry

    def _page(self, entry: CachedSearch, cursor: int, max_count: int, fields: tuple[str, ...]) -> dict[str, Any]:
        end = min(cursor + max_count, len(entry.results))
        deleted, corpus = self.corpus.deleted, self.corpus
        videos = [video_data(corpus, idx, fields) for idx in entry.results[cursor:end] if not deleted[idx]]
        return {"videos": videos, "cursor": end, "has_more": end < len(entry.results),
                "search_id": entry.search_id}

    def _random_sample(self, results: array[int], max_count: int, fields: tuple[str, ...]) -> dict[str, Any]:
        """is_random: up to max_count live matches in random order, not cached, nothing to page."""
        live = [idx for idx in results if not self.corpus.deleted[idx]]
        chosen = self._random.sample(live, min(max_count, len(live)))
        return {"videos": [video_data(self.corpus, idx, fields) for idx in chosen],
                "cursor": len(chosen), "has_more": False}


class UserInfo:
    """`/v2/research/user/info/`: the flat user object, without `username`."""

    def __init__(self, corpus: Corpus) -> None:
        self.corpus = corpus

    def __call__(self, fields: tuple[str, ...], body: object) -> dict[str, Any]:
        username = body.get("username") if isinstance(body, dict) else None
        if not isinstance(username, str) or not username:
            raise invalid_params("username is required")
        found = people.find_user(self.corpus, username)
        if found.creator is None:
            raise invalid_params(f"The username {username} is invalid: cannot find the user")
        if found.refused:
            raise invalid_params(f"API cannot return this user's information: {username}")
        return pick(people.user_info(self.corpus, found.creator), fields)


class Comments:
    """`/v2/research/video/comment/list/`: by `video_id`, the top-level comments each followed by its
    replies (as the real API lists them); by `comment_id`, the replies of one comment. Only the first
    1,000 items of either listing are reachable (the cursor stops at 1,000)."""

    def __init__(self, corpus: Corpus, gone: Callable[[int], bool] | None = None) -> None:
        self.corpus = corpus
        self.gone = gone   # comments that became unavailable (sim/compliance.py): absent from pages

    def __call__(self, fields: tuple[str, ...], body: object) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise invalid_params("request body must be a JSON object")
        video_id, comment_id = _id_param(body, "video_id"), _id_param(body, "comment_id")
        if (video_id is None) == (comment_id is None):
            raise invalid_params("exactly one of video_id and comment_id is required")
        max_count = parse_int(body, "max_count", DEFAULT_COMMENT_MAX_COUNT, 1, MAX_COUNT)
        cursor = parse_int(body, "cursor", 0, 0)
        if video_id is not None:
            items = self._video_comments(video_id)
        else:
            assert comment_id is not None   # exactly one of the two, checked above
            items = self._replies(comment_id)
        if cursor >= MAX_COMMENTS_PER_VIDEO or cursor > len(items):
            raise invalid_params(INVALID_CURSOR)
        end = min(cursor + max_count, len(items))
        page = [c for c in items[cursor:end] if self.gone is None or not self.gone(c["id"])]
        return {"comments": [pick(c, fields) for c in page], "cursor": end, "has_more": end < len(items)}

    def _video_comments(self, video_id: int) -> list[dict[str, Any]]:
        """Unknown or deleted videos have no comments to return (an empty page, not an error)."""
        idx = self.corpus.position(video_id)
        if idx is None or self.corpus.deleted[idx]:
            return []
        return details.video_listing(self.corpus, idx)

    def _replies(self, comment_id: int) -> list[dict[str, Any]]:
        place = details.decode_comment_id(comment_id)
        if place is not None:
            idx, top, reply = place
            if (idx < len(self.corpus) and not self.corpus.deleted[idx] and reply == 0
                    and top < details.reachable_top_comments(self.corpus, idx)):
                return details.replies_to(self.corpus, idx, top)
        raise invalid_params(f"comment_id {comment_id} is invalid: cannot find the comment")


def _id_param(body: dict[str, Any], name: str) -> int | None:
    """An int64 id, as a JSON number or (as some clients send it) a numeric string."""
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, str) and is_digits(value):
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise invalid_params(f"{name} must be an int64 id, got {value!r}")
    return value
