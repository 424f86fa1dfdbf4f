"""Shape checks of successful research pages: is this page something the crawl can store faithfully?

A 200 answer whose envelope says `ok` can still be corrupt (a proxy mangling the body, an API bug):
`videos` that is not a list, a video without an integer id, a string where a count belongs, an id
beyond 64 bits, a `has_more` that is not a boolean. Such a page is treated like a transient failure
(retried, then the window fails with the first problem named): storing it would either write garbage,
or silently mark days covered without their videos. Types follow the API's documented fields; keys the API
omitted (or sent as null) are fine, and NUL bytes are fine (they are stripped before storage).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from crawlspec.api_fields import COMMENTS_PATH, VIDEO_QUERY_PATH

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_UNIX_SECONDS = 253_402_300_799   # 9999-12-31T23:59:59Z: the last instant a datetime can hold

VIDEO_INT_FIELDS = ("music_id", "like_count", "comment_count", "share_count", "view_count", "playlist_id",
                    "favorites_count", "video_duration")
VIDEO_TEXT_FIELDS = ("username", "region_code", "video_description", "voice_to_text")
COMMENT_INT_FIELDS = ("video_id", "parent_comment_id", "like_count", "reply_count")
COMMENT_TEXT_FIELDS = ("text",)


def _is_int64(value: Any) -> bool:
    return type(value) is int and INT64_MIN <= value <= INT64_MAX


def _int_problem(value: Any, name: str) -> str | None:
    if value is None or _is_int64(value):
        return None
    if type(value) is int:
        return f"{name} {value} does not fit in 64 bits"
    return f"{name} is not an integer: {_excerpt(value)}"


def _text_problem(value: Any, name: str) -> str | None:
    if value is None or isinstance(value, str):
        return None
    return f"{name} is not a string: {_excerpt(value)}"


def _names_problem(value: Any, name: str, *, allow_int: bool) -> str | None:
    if value is None:
        return None
    if not isinstance(value, list):
        return f"{name} is not a list: {_excerpt(value)}"
    for item in value:
        if not (isinstance(item, str) or (allow_int and _is_int64(item))):
            return f"{name} holds a non-string item: {_excerpt(item)}"
    return None


def _is_optional_bool(value: Any) -> bool:
    return value is None or isinstance(value, bool)   # not `in (True, False)`: 0 == False


def _excerpt(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _record_problem(record: Any, *, id_keys: tuple[str, ...], ints: tuple[str, ...], texts: tuple[str, ...],
                    extra: Callable[[Mapping[str, Any], str], str | None]) -> str | None:
    if not isinstance(record, dict):
        return f"an item is not an object: {_excerpt(record)}"
    record_id = next((record[key] for key in id_keys if record.get(key) is not None), None)
    if record_id is None:
        return f"an item has no id (keys: {sorted(map(str, record))[:12]})"
    if not _is_int64(record_id):
        return _int_problem(record_id, "id") or f"id {record_id} is out of range"
    label = f"id {record_id}"
    for name in ints:
        problem = _int_problem(record.get(name), name)
        if problem:
            return f"{label}: {problem}"
    for name in texts:
        problem = _text_problem(record.get(name), name)
        if problem:
            return f"{label}: {problem}"
    problem = extra(record, label)
    return f"{label}: {problem}" if problem else None


def _create_time_problem(record: Mapping[str, Any]) -> str | None:
    value = record.get("create_time")
    problem = _int_problem(value, "create_time")
    if problem or value is None:
        return problem
    return None if 0 <= value <= MAX_UNIX_SECONDS else f"create_time {value} is not a plausible unix time"


def _video_extra(video: Mapping[str, Any], _label: str) -> str | None:
    return (_create_time_problem(video)
            or _names_problem(video.get("hashtag_names"), "hashtag_names", allow_int=False)
            or _names_problem(video.get("effect_ids"), "effect_ids", allow_int=True)
            or (None if _is_optional_bool(video.get("is_stem_verified"))
                else f"is_stem_verified is not a boolean: {_excerpt(video.get('is_stem_verified'))}"))


def _comment_extra(comment: Mapping[str, Any], _label: str) -> str | None:
    return _create_time_problem(comment)


_RECORDS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...],
                          Callable[[Mapping[str, Any], str], str | None]]] = {
    VIDEO_QUERY_PATH: ("videos", ("id", "video_id"), VIDEO_INT_FIELDS, VIDEO_TEXT_FIELDS, _video_extra),
    COMMENTS_PATH: ("comments", ("id",), COMMENT_INT_FIELDS, COMMENT_TEXT_FIELDS, _comment_extra),
}


def _paging_problem(data: Mapping[str, Any]) -> str | None:
    if not _is_optional_bool(data.get("has_more")):
        return f"has_more is not a boolean: {_excerpt(data.get('has_more'))}"
    cursor = data.get("cursor")
    if cursor is not None and not (_is_int64(cursor) and cursor >= 0):
        return f"cursor is not a non-negative integer: {_excerpt(cursor)}"
    search_id = data.get("search_id")
    if search_id is not None and not (isinstance(search_id, str) or _is_int64(search_id)):
        return f"search_id is neither a string nor an integer: {_excerpt(search_id)}"
    return None


def page_problem(path: str, data: Any) -> str | None:
    """The first reason this page's `data` cannot be stored faithfully, or None when it can.

    Only paginated record endpoints (video query, comments) are checked; other paths give None."""
    shape = _RECORDS.get(path)
    if shape is None or not isinstance(data, dict):
        return None
    key, id_keys, ints, texts, extra = shape
    problem = _paging_problem(data)
    if problem:
        return problem
    records = data.get(key)
    if records is None:
        return None
    if not isinstance(records, list):
        return f"{key} is not a list: {_excerpt(records)}"
    for record in records:
        problem = _record_problem(record, id_keys=id_keys, ints=ints, texts=texts, extra=extra)
        if problem:
            return f"{key}: {problem}"
    return None
