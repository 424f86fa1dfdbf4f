"""Parsed API pages: JSON decoding that keeps ids exact, and the response classes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


def parse_json(raw: bytes) -> Any:
    """Decode a body with the standard library (ints stay exact Python ints, never floats).

    `requests.Response.json()` is avoided on purpose: it silently switches to simplejson when that is
    installed. Raises ValueError (JSONDecodeError / UnicodeDecodeError) for a non-JSON body, and for
    the non-standard `NaN` / `Infinity` tokens Python would otherwise accept (PostgreSQL's JSONB
    rejects them: one would fail the whole page's transaction).
    """
    return json.loads(raw, parse_constant=_reject_constant)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _data_of(envelope: dict[str, Any]) -> dict[str, Any]:
    data = envelope.get("data")
    return data if isinstance(data, dict) else {}


def _log_id_of(envelope: dict[str, Any]) -> str | None:
    error = envelope.get("error")
    log_id = error.get("log_id") if isinstance(error, dict) else None
    return str(log_id) if log_id is not None else None


def _cursor_of(data: dict[str, Any]) -> int | None:
    cursor = data.get("cursor")
    return cursor if isinstance(cursor, int) and not isinstance(cursor, bool) else None


def _records(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    records = data.get(key)
    return [r for r in records if isinstance(r, dict)] if isinstance(records, list) else []


@dataclass
class TikTokVideoResponse:
    """One page of Query Videos. `data` is the API's `data` object (with `cursor`, `has_more`,
    `search_id`, the latter always a string when present)."""

    data: dict[str, Any]
    videos: list[dict[str, Any]]
    search_id: str | None
    cursor: int | None
    has_more: bool
    log_id: str | None = None

    @classmethod
    def from_envelope(cls, envelope: dict[str, Any]) -> TikTokVideoResponse:
        data = _data_of(envelope)
        search_id = data.get("search_id")
        if search_id is not None:
            search_id = str(search_id)
            data["search_id"] = search_id
        return cls(data=data, videos=_records(data, "videos"), search_id=search_id,
                   cursor=_cursor_of(data), has_more=bool(data.get("has_more", False)),
                   log_id=_log_id_of(envelope))


@dataclass
class TikTokCommentsResponse:
    """One page of a video's comments. `coments` is kept as an alias (the older README's spelling)."""

    data: dict[str, Any]
    comments: list[dict[str, Any]]
    cursor: int | None
    has_more: bool
    log_id: str | None = None

    @property
    def coments(self) -> list[dict[str, Any]]:
        return self.comments

    @classmethod
    def from_envelope(cls, envelope: dict[str, Any]) -> TikTokCommentsResponse:
        data = _data_of(envelope)
        return cls(data=data, comments=_records(data, "comments"), cursor=_cursor_of(data),
                   has_more=bool(data.get("has_more", False)), log_id=_log_id_of(envelope))


@dataclass
class TikTokUserInfoResponse:
    """A creator's profile keyed by the username asked for (the API does not echo it; it is injected).

    When the API says the user cannot be found or cannot be returned, `not_found` is True, `user_info`
    is empty and `message` carries the API's wording: a normal outcome for a crawl, not an exception.
    """

    data: dict[str, Any]
    user_info: dict[str, dict[str, Any]] = field(default_factory=dict)
    not_found: bool = False
    log_id: str | None = None
    message: str = ""

    @classmethod
    def from_envelope(cls, envelope: dict[str, Any], username: str) -> TikTokUserInfoResponse:
        data = _data_of(envelope)
        profile = {**data, "username": username}
        return cls(data=data, user_info={username: profile}, log_id=_log_id_of(envelope))

    @classmethod
    def not_found_for(cls, envelope: dict[str, Any], message: str) -> TikTokUserInfoResponse:
        return cls(data={}, user_info={}, not_found=True, log_id=_log_id_of(envelope), message=message)
