"""Shape checks of successful research pages: can the crawl page on from this answer?

A 200 answer whose envelope says `ok` can still be unusable (a proxy mangling the body, an API bug):
`videos` that is not a list (or holds an item that is not an object), a `has_more` that is not a boolean, a cursor that is not a non-negative
integer. Such a page is retried once, then its window fails with the problem named: paging on from
it would mark days covered without their videos.

Single records are not checked here: one record that cannot be stored faithfully (an id beyond 64
bits, a count that is not an integer) is quarantined by storage (`crawlspec.storage.quarantine`) and
the rest of its page is stored, so it never costs a retry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crawlspec.api.fields import COMMENTS_PATH, VIDEO_QUERY_PATH

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

_RECORD_KEYS: dict[str, str] = {VIDEO_QUERY_PATH: "videos", COMMENTS_PATH: "comments"}


def is_int64(value: Any) -> bool:
    return type(value) is int and INT64_MIN <= value <= INT64_MAX


def excerpt(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _is_optional_bool(value: Any) -> bool:
    return value is None or isinstance(value, bool)   # not `in (True, False)`: 0 == False


def _paging_problem(data: Mapping[str, Any]) -> str | None:
    if not _is_optional_bool(data.get("has_more")):
        return f"has_more is not a boolean: {excerpt(data.get('has_more'))}"
    cursor = data.get("cursor")
    if cursor is not None and not (is_int64(cursor) and cursor >= 0):
        return f"cursor is not a non-negative integer: {excerpt(cursor)}"
    search_id = data.get("search_id")
    if search_id is not None and not (isinstance(search_id, str) or is_int64(search_id)):
        return f"search_id is neither a string nor an integer: {excerpt(search_id)}"
    return None


def page_problem(path: str, data: Any) -> str | None:
    """The first reason this page's `data` cannot be paged on from, or None when it can.

    Only paginated record endpoints (video query, comments) are checked; other paths give None."""
    key = _RECORD_KEYS.get(path)
    if key is None or not isinstance(data, dict):
        return None
    problem = _paging_problem(data)
    if problem:
        return problem
    records = data.get(key)
    if records is None:
        return None
    if not isinstance(records, list):
        return f"{key} is not a list: {excerpt(records)}"
    stray = next((item for item in records if not isinstance(item, dict)), None)
    if stray is not None or None in records:
        return f"{key}: an item is not an object: {excerpt(stray)}"
    return None
