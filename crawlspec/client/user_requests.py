"""Request and response classes of the user, playlist and reply endpoints: comment replies,
a user's liked / pinned / reposted videos, followers, following, and playlist info."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from crawlspec.api.fields import (
    COMMENT_FIELDS,
    COMMENTS_PATH,
    FOLLOWERS_PATH,
    FOLLOWING_PATH,
    LIKED_VIDEOS_PATH,
    PINNED_VIDEOS_PATH,
    PLAYLIST_INFO_PATH,
    REPOSTED_VIDEOS_PATH,
    USER_VIDEO_FIELDS,
)
from crawlspec.client.api_requests import _as_int
from crawlspec.client.responses import _cursor_of, _data_of, _log_id_of, _records


@dataclass(frozen=True)
class TikTokCommentRepliesRequest:
    """One page of the replies to a comment (the `comment_id` form of the comment list endpoint)."""

    comment_id: int | str
    max_count: int = 100
    cursor: int = 0
    fields: Sequence[str] = COMMENT_FIELDS

    path: ClassVar[str] = COMMENTS_PATH

    def as_json(self) -> dict[str, Any]:
        return {"comment_id": _as_int(self.comment_id, "comment_id"), "max_count": int(self.max_count),
                "cursor": int(self.cursor)}


@dataclass(frozen=True)
class _UserPageRequest:
    """A page of one user's list; `cursor` None means "from the start" (the API's default)."""

    username: str
    max_count: int = 100
    cursor: int | None = None

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"username": self.username, "max_count": int(self.max_count)}
        if self.cursor is not None:
            body["cursor"] = int(self.cursor)
        return body


@dataclass(frozen=True)
class TikTokLikedVideosRequest(_UserPageRequest):
    """Liked videos; the cursor is unix **seconds** (videos liked on or before it)."""

    fields: Sequence[str] = USER_VIDEO_FIELDS
    path: ClassVar[str] = LIKED_VIDEOS_PATH


@dataclass(frozen=True)
class TikTokRepostedVideosRequest(_UserPageRequest):
    """Reposted videos; the cursor is a start index."""

    fields: Sequence[str] = USER_VIDEO_FIELDS
    path: ClassVar[str] = REPOSTED_VIDEOS_PATH


@dataclass(frozen=True)
class TikTokPinnedVideosRequest:
    """Pinned videos: one request, no paging."""

    username: str
    fields: Sequence[str] = USER_VIDEO_FIELDS
    path: ClassVar[str] = PINNED_VIDEOS_PATH

    def as_json(self) -> dict[str, Any]:
        return {"username": self.username}


@dataclass(frozen=True)
class TikTokFollowersRequest(_UserPageRequest):
    """Followers (own daily quota pool); cursor = unix seconds of the follow; no `fields`."""

    fields: Sequence[str] = ()
    path: ClassVar[str] = FOLLOWERS_PATH


@dataclass(frozen=True)
class TikTokFollowingRequest(_UserPageRequest):
    fields: Sequence[str] = ()
    path: ClassVar[str] = FOLLOWING_PATH


@dataclass(frozen=True)
class TikTokPlaylistRequest:
    """Playlist info; `cursor` pages through `playlist_video_ids`."""

    playlist_id: int | str
    max_count: int = 100
    cursor: int = 0
    fields: Sequence[str] = ()
    path: ClassVar[str] = PLAYLIST_INFO_PATH

    def as_json(self) -> dict[str, Any]:
        return {"playlist_id": _as_int(self.playlist_id, "playlist_id"), "max_count": int(self.max_count),
                "cursor": int(self.cursor)}


# Which key holds a list's records (reposted: both spellings are accepted).
LIST_KEYS: dict[str, tuple[str, ...]] = {
    LIKED_VIDEOS_PATH: ("user_liked_videos",),
    PINNED_VIDEOS_PATH: ("pinned_videos_list",),
    REPOSTED_VIDEOS_PATH: ("reposted_videos", "user_reposted_videos"),
    FOLLOWERS_PATH: ("user_followers",),
    FOLLOWING_PATH: ("user_following",),
}


@dataclass
class TikTokUserListResponse:
    """A page of a user's list. `unavailable` (with the API's `message`) when the API cannot return it
    (hidden likes, private following, unknown user): a normal outcome, not an exception."""

    data: dict[str, Any]
    records: list[dict[str, Any]] = field(default_factory=list)
    cursor: int | None = None
    has_more: bool = False
    unavailable: bool = False
    message: str = ""
    log_id: str | None = None

    @classmethod
    def from_envelope(cls, envelope: dict[str, Any], path: str) -> TikTokUserListResponse:
        data = _data_of(envelope)
        key = next((k for k in LIST_KEYS[path] if k in data), LIST_KEYS[path][0])
        return cls(data=data, records=_records(data, key), cursor=_cursor_of(data),
                   has_more=bool(data.get("has_more", False)), log_id=_log_id_of(envelope))

    @classmethod
    def unavailable_for(cls, envelope: dict[str, Any], message: str) -> TikTokUserListResponse:
        return cls(data={}, unavailable=True, message=message, log_id=_log_id_of(envelope))

    @property
    def videos(self) -> list[dict[str, Any]]:
        return self.records


@dataclass
class TikTokPlaylistResponse:
    data: dict[str, Any]
    video_ids: list[int]
    cursor: int | None
    has_more: bool
    not_found: bool = False
    message: str = ""
    log_id: str | None = None

    @classmethod
    def from_envelope(cls, envelope: dict[str, Any]) -> TikTokPlaylistResponse:
        data = _data_of(envelope)
        ids = data.get("playlist_video_ids")
        video_ids = [i for i in ids if isinstance(i, int)] if isinstance(ids, list) else []
        return cls(data=data, video_ids=video_ids, cursor=_cursor_of(data),
                   has_more=bool(data.get("has_more", False)), log_id=_log_id_of(envelope))

    @classmethod
    def not_found_for(cls, envelope: dict[str, Any], message: str) -> TikTokPlaylistResponse:
        return cls(data={}, video_ids=[], cursor=None, has_more=False, not_found=True, message=message,
                   log_id=_log_id_of(envelope))
