"""Tables of the enrichment stages: comment checkpoints, the creator lookup cache, the
user-centred crawl's tables (liked / pinned / reposted videos, followers, following) and playlists;
the quarantine of records that cannot be stored, and the days re-fetched once their metrics matured.

Registered on `crawlspec.storage.models.Base` (and re-exported by `crawlspec.storage.models`), created by Alembic
revision 0002. Every data table carries `crawl_id` (provenance: the crawl that last saw the row) and
first/last seen times; every checkpoint table commits together with the rows of the page it describes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from crawlspec.storage.models.base import Base, BigIntPK, JsonValue, UtcDateTime

COMMENT_PROGRESS_STATUSES: tuple[str, ...] = ("in_progress", "done", "failed")
COMMENT_TARGETS: tuple[str, ...] = ("video", "replies")
LOOKUP_STATUSES: tuple[str, ...] = ("found", "not_found")
USER_LIST_STATUSES: tuple[str, ...] = ("in_progress", "done", "unavailable", "failed")
USER_LISTS: tuple[str, ...] = ("liked_videos", "pinned_videos", "reposted_videos", "followers", "following")


class CommentProgress(Base):
    """Checkpoint of one comment listing: a video's top-level comments (`target='video'`, `target_id`
    = video id) or one comment's replies (`target='replies'`, `target_id` = comment id). Committed
    with each page of comments, so a killed run resumes at `cursor` and a `done` listing is never
    fetched again."""

    __tablename__ = "comment_progress"
    __table_args__ = (CheckConstraint(f"status IN {COMMENT_PROGRESS_STATUSES!r}", name="status"),)

    target: Mapped[str] = mapped_column(String(8), primary_key=True)
    target_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    video_id: Mapped[int] = mapped_column(BigInteger, index=True)
    status: Mapped[str] = mapped_column(String(16))
    cursor: Mapped[int] = mapped_column(BigInteger)
    has_more: Mapped[bool] = mapped_column(Boolean)
    pages: Mapped[int] = mapped_column(Integer)
    comments: Mapped[int] = mapped_column(BigInteger)
    crawl_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("crawl.id"))
    updated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)


class UserLookup(Base):
    """The outcome of the last user-info request per username: `found`, or `not_found` ("cannot find
    the user" / "cannot return this user's information"), which is not asked again the same UTC day."""

    __tablename__ = "user_lookup"
    __table_args__ = (CheckConstraint(f"status IN {LOOKUP_STATUSES!r}", name="status"),)

    username: Mapped[str] = mapped_column(String, primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    message: Mapped[str | None] = mapped_column(Text)
    checked_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    crawl_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("crawl.id"))


class UserListProgress(Base):
    """Checkpoint of one user's list (`list` in USER_LISTS): committed with each page of it.
    `unavailable`: the API cannot return it (hidden likes, private following); asked again another day."""

    __tablename__ = "user_list_progress"
    __table_args__ = (CheckConstraint(f"status IN {USER_LIST_STATUSES!r}", name="status"),)

    username: Mapped[str] = mapped_column(String, primary_key=True)
    list: Mapped[str] = mapped_column(String(16), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    cursor: Mapped[int | None] = mapped_column(BigInteger)
    pages: Mapped[int] = mapped_column(Integer)
    records: Mapped[int] = mapped_column(BigInteger)
    crawl_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("crawl.id"))
    updated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    message: Mapped[str | None] = mapped_column(Text)


class _Sighting:
    """Provenance columns of a relation row: the crawl that last saw it, first and last sighting."""

    @declared_attr
    def crawl_id(cls) -> Mapped[int | None]:  # noqa: N805 (SQLAlchemy declared_attr)
        return mapped_column(BigInteger, ForeignKey("crawl.id"))

    first_seen_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class UserLikedVideo(_Sighting, Base):
    """`username` liked `video_id` (the video itself is in `video`)."""

    __tablename__ = "user_liked_video"

    username: Mapped[str] = mapped_column(String, primary_key=True)
    video_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


class UserPinnedVideo(_Sighting, Base):
    __tablename__ = "user_pinned_video"

    username: Mapped[str] = mapped_column(String, primary_key=True)
    video_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


class UserRepostedVideo(_Sighting, Base):
    __tablename__ = "user_reposted_video"

    username: Mapped[str] = mapped_column(String, primary_key=True)
    video_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


class UserFollower(_Sighting, Base):
    """`follower_username` follows `username`."""

    __tablename__ = "user_follower"

    username: Mapped[str] = mapped_column(String, primary_key=True)
    follower_username: Mapped[str] = mapped_column(String, primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String)


class UserFollowing(_Sighting, Base):
    """`username` follows `following_username`."""

    __tablename__ = "user_following"

    username: Mapped[str] = mapped_column(String, primary_key=True)
    following_username: Mapped[str] = mapped_column(String, primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String)


class Playlist(Base):
    """Playlist info; `next_cursor`/`complete` checkpoint its paging of video ids."""

    __tablename__ = "playlist"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    playlist_name: Mapped[str | None] = mapped_column(Text)
    playlist_item_total: Mapped[int | None] = mapped_column(BigInteger)
    playlist_last_updated: Mapped[int | None] = mapped_column(BigInteger)
    playlist_video_ids: Mapped[Any | None] = mapped_column(JsonValue)
    next_cursor: Mapped[int] = mapped_column(BigInteger)
    complete: Mapped[bool] = mapped_column(Boolean)
    crawl_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("crawl.id"))
    crawled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    crawled_updated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class QuarantinedRecord(Base):
    """A record the API sent that cannot be stored faithfully (an id beyond 64 bits, a count that is
    not an integer, ...), kept whole: `raw_json` is the record exactly as received (ids stay exact),
    `record_id` its id as text when it has one. The rest of its page is stored as usual."""

    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    endpoint: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[str | None] = mapped_column(Text)
    raw_json: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    log_id: Mapped[str | None] = mapped_column(Text)
    crawl_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("crawl.id"))
    quarantined_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class MaturedRefetch(Base):
    """A day of a spec whose videos were stored with provisional metrics and re-fetched once they
    matured (`run.refetch_provisional`): a day listed here is not re-fetched for that reason again."""

    __tablename__ = "matured_refetch"

    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    refetched_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    crawl_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("crawl.id"))


class EndpointAccess(Base):
    """An endpoint the project is not approved for (401 `scope_not_authorized`): not asked again before
    the next UTC day after `checked_at`; the row is removed when the endpoint answers again."""

    __tablename__ = "endpoint_access"

    endpoint: Mapped[str] = mapped_column(String(128), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    message: Mapped[str | None] = mapped_column(Text)
    checked_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class EmptyDay(Base):
    """A (fingerprint, UTC day) whose window answered no video once: not covered until a second answer,
    asked after `run.confirm_empty_after_hours`, confirms it (an outage can answer empty without an error)."""

    __tablename__ = "empty_day"

    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    first_empty_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


USER_LIST_TABLES: dict[str, type[Base]] = {
    "liked_videos": UserLikedVideo, "pinned_videos": UserPinnedVideo, "reposted_videos": UserRepostedVideo,
    "followers": UserFollower, "following": UserFollowing,
}

__all__ = [
    "CommentProgress", "EmptyDay", "EndpointAccess", "MaturedRefetch", "Playlist", "QuarantinedRecord", "USER_LISTS",
    "USER_LIST_TABLES", "UserFollower", "UserFollowing",
    "UserLikedVideo", "UserListProgress", "UserLookup", "UserPinnedVideo", "UserRepostedVideo",
]
