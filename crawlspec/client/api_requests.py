"""Request classes of the older tool's lower-level interface, and the exact bodies they send.

Named `api_requests` so that nothing in this package can be confused with the `requests` library.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from crawlspec.api.fields import (
    COMMENT_FIELDS,
    COMMENTS_PATH,
    USER_INFO_FIELDS,
    USER_INFO_PATH,
    VIDEO_FIELDS_DEFAULT,
    VIDEO_QUERY_PATH,
)


def fields_param(fields: Sequence[str] | str) -> str:
    """The `fields` query-string value: comma-separated, no spaces (docs print spaces; clients don't)."""
    items = fields.split(",") if isinstance(fields, str) else list(fields)
    return ",".join(item.strip() for item in items if item.strip())


def query_as_dict(query: Any) -> dict[str, Any]:
    """An API query object from a dict or from anything with `as_dict()` (crawlspec.spec.query.VideoQuery)."""
    if isinstance(query, Mapping):
        return dict(query)
    as_dict = getattr(query, "as_dict", None)
    if callable(as_dict):
        result = as_dict()
        if isinstance(result, Mapping):
            return dict(result)
    raise TypeError(f"query must be a dict or have an as_dict() method, not {type(query).__name__}")


@dataclass(frozen=True)
class TikTokVideoRequest:
    """One page of Query Videos. `start_date`/`end_date` are `YYYYMMDD` (UTC, inclusive).

    The older README builds the next page with only query, cursor and search_id: the client then sends
    the dates of the request that obtained that search_id (the API needs them on every page).
    """

    query: Any
    start_date: str | None = None
    end_date: str | None = None
    max_count: int = 100
    cursor: int | None = None
    search_id: str | None = None
    is_random: bool = False
    fields: Sequence[str] = VIDEO_FIELDS_DEFAULT

    path: ClassVar[str] = VIDEO_QUERY_PATH

    def as_json(self, start_date: str | None = None, end_date: str | None = None) -> dict[str, Any]:
        """The body: query, dates, max_count, is_random; then cursor and search_id when set."""
        body: dict[str, Any] = {
            "query": query_as_dict(self.query),
            "start_date": start_date or self.start_date,
            "end_date": end_date or self.end_date,
            "max_count": int(self.max_count),
            "is_random": bool(self.is_random),
        }
        if self.cursor is not None:
            body["cursor"] = int(self.cursor)
        if self.search_id is not None:
            body["search_id"] = str(self.search_id)
        return body


@dataclass(frozen=True)
class TikTokCommentsRequest:
    """One page of a video's comments; `video_id` may be a numeric string (sent as a JSON number)."""

    video_id: int | str
    max_count: int = 100
    cursor: int = 0
    fields: Sequence[str] = COMMENT_FIELDS

    path: ClassVar[str] = COMMENTS_PATH

    def as_json(self) -> dict[str, Any]:
        return {"video_id": _as_int(self.video_id, "video_id"), "max_count": int(self.max_count),
                "cursor": int(self.cursor)}


@dataclass(frozen=True)
class TikTokUserInfoRequest:
    """A creator's profile; `username` without `@`."""

    username: str
    fields: Sequence[str] = USER_INFO_FIELDS

    path: ClassVar[str] = USER_INFO_PATH

    def as_json(self) -> dict[str, Any]:
        return {"username": self.username}


def _as_int(value: int | str, name: str) -> int:
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer id, not a bool")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not text.isdigit():
        raise ValueError(f"{name} must be a numeric id, got {value!r}")
    return int(text)
