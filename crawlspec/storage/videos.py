"""API pages -> rows: videos (with hashtags, effects, crawl links and crawl tags), comments, user info.

Each function runs inside the caller's transaction (`with engine.begin() as conn:`) and never commits,
so a page's rows and its window checkpoint commit together.

Decisions:
- Hashtag names are stored as the API typed them, unique by exact name (as the older tool did);
  `lower(name)` in a query matches the spec's lowercased hashtags.
- Re-seeing a record updates every value the new sighting carries and keeps the stored value for keys
  the API omitted (COALESCE); `extra_data` is merged key by key. `crawled_at` is kept; `crawled_updated_at`
  is the time of the latest sighting (equal to `crawled_at` on first sight).
- A record that cannot be stored faithfully (an id beyond 64 bits, a count that is not an integer, a
  `create_time` no datetime can hold, ...) is quarantined whole (`crawlspec.storage.quarantine`) and
  the rest of its page is stored. Region codes are stored upper case (the API has sent "us").
- Strings are made storable here again (the client already does, `crawlspec.text`): one stray
  NUL or lone surrogate would make the database reject the whole page, and library users may store
  pages from elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection

from crawlspec.api.fields import COMMENTS_PATH, USER_INFO_PATH, VIDEO_QUERY_PATH
from crawlspec.storage.bulk import (
    INT64_MAX,
    INT64_MIN,
    MalformedRecord,
    as_bool,
    as_int,
    as_text,
    as_utc,
    chunked,
    ids_for_names,
    keep_old_when_missing,
    union_links,
    upsert_rows,
)
from crawlspec.storage.models import (
    Comment,
    CrawlTag,
    Effect,
    Hashtag,
    UserInfo,
    Video,
    table_of,
    videos_to_crawl_tags,
    videos_to_crawls,
    videos_to_effect_ids,
    videos_to_hashtags,
)
from crawlspec.storage.quarantine import RecordSource, Rejected, quarantine_records
from crawlspec.text import NUL, storable, storable_text

VIDEO_TABLE = table_of(Video)
COMMENT_TABLE = table_of(Comment)
USER_TABLE = table_of(UserInfo)

VIDEO_INT_COLUMNS = ("music_id", "like_count", "comment_count", "share_count", "view_count", "playlist_id")
VIDEO_TEXT_COLUMNS = ("username", "region_code", "video_description", "voice_to_text")
# Keys with a place of their own; every other key of an API video goes to `extra_data`.
VIDEO_OWN_KEYS = frozenset(("id", "video_id", "create_time", "hashtag_names", "effect_ids")
                           + VIDEO_INT_COLUMNS + VIDEO_TEXT_COLUMNS)
USER_INT_COLUMNS = ("follower_count", "following_count", "likes_count", "video_count")
USER_TEXT_COLUMNS = ("display_name", "bio_description", "avatar_url", "bio_url")
MAX_REGION_CODE_LENGTH = 8   # the column's width; the API's codes have 2 letters
COMMENT_INT_COLUMNS = ("video_id", "parent_comment_id", "like_count", "reply_count")

__all__ = ["MalformedRecord", "StoredVideos", "crawl_tag_ids", "store_comment_ids", "store_comments", "store_user_info",
           "store_video_page", "store_videos", "stored_usernames"]


class _PageVideo:
    """One video of a page, cleaned: its row and the names it links to."""

    __slots__ = ("row", "hashtags", "effects")

    def __init__(self, row: dict[str, Any], hashtags: set[str], effects: set[str]):
        self.row = row
        self.hashtags = hashtags
        self.effects = effects

    def absorb(self, later: _PageVideo) -> None:
        """The same id twice in one batch: the later values win, link sets are united."""
        for key, value in later.row.items():
            if value is not None:
                self.row[key] = value
        self.hashtags |= later.hashtags
        self.effects |= later.effects


def _video_id(video: Mapping[str, Any]) -> int:
    raw = video.get("id", video.get("video_id"))
    if raw is None:
        raise MalformedRecord(f"a video without an id cannot be stored (keys: {sorted(video)})")
    video_id = as_int(raw, "video id")
    assert video_id is not None
    return video_id


def video_record_id(record: Any) -> int | None:
    """The id `store_videos` stores a page record under; None when it has no usable one (it is quarantined)."""
    try:
        return _video_id(record)
    except (MalformedRecord, AttributeError):
        return None


def comment_record_id(record: Any) -> int | None:
    """The id `store_comment_ids` stores a comment record under; None when it has no usable one."""
    try:
        return as_int(record.get("id"), "comment id")
    except (MalformedRecord, AttributeError):
        return None


def _name_set(values: Any, what: tuple[object, ...]) -> set[str]:
    if values is None:
        return set()
    if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple, set)):
        raise MalformedRecord(f"{' '.join(map(str, what))} is not a list: {values!r}")
    # The common case (every name a clean string) costs one check of the joined names, not a call per name.
    names = set(values) if _all_storable_strings(values) else {as_text(value, what) for value in values}
    return {name for name in names if name}


def _all_storable_strings(values: Any) -> bool:
    try:
        joined = "".join(values)
    except TypeError:  # a non-string item (e.g. an integer effect id): the slow path converts it
        return False
    return storable_text(joined) is joined


def _page_video(video: Mapping[str, Any], now: datetime) -> _PageVideo:
    video_id = _video_id(video)
    row: dict[str, Any] = {"id": video_id, "create_time": as_utc(video.get("create_time"),
                                                                  ("video", video_id, "create_time"))}
    # Values already clean (the common case) are taken as they are, without a call per value.
    for name in VIDEO_INT_COLUMNS:
        value = video.get(name)
        row[name] = value if value is None or (type(value) is int and INT64_MIN <= value <= INT64_MAX) \
            else as_int(value, ("video", video_id, name))
    for name in VIDEO_TEXT_COLUMNS:
        value = video.get(name)
        row[name] = value if value is None or (type(value) is str and value.isascii() and NUL not in value) \
            else as_text(value, ("video", video_id, name))
    region = row["region_code"]
    if region is not None and region.isascii() and not region.isupper():
        region = row["region_code"] = region.upper()   # the API has answered whole pages with "us"
    if region is not None and len(region) > MAX_REGION_CODE_LENGTH:
        raise MalformedRecord(f"video {video_id} region_code is longer than {MAX_REGION_CODE_LENGTH} "
                              f"characters: {region[:40]!r}")
    extra = None if video.keys() <= VIDEO_OWN_KEYS else \
        {key: storable(value) for key, value in video.items() if key not in VIDEO_OWN_KEYS}
    row["extra_data"] = extra or None
    row["crawled_at"] = now
    row["crawled_updated_at"] = now
    hashtags = _name_set(video.get("hashtag_names"), ("video", video_id, "hashtag_names"))
    effects = _name_set(video.get("effect_ids"), ("video", video_id, "effect_ids"))
    return _PageVideo(row, hashtags, effects)


def _dedupe_page(videos: Sequence[Any], now: datetime, rejected: list[Rejected]) -> list[_PageVideo]:
    """The page's storable videos, one per id (sorted); the others are appended to `rejected`."""
    by_id: dict[int, _PageVideo] = {}
    for video in videos:
        try:
            if not isinstance(video, Mapping):
                raise MalformedRecord(f"a video is not an object: {video!r:.80}")
            cleaned = _page_video(video, now)
        except MalformedRecord as error:
            rejected.append(Rejected(video, str(error)))
            continue
        seen = by_id.get(cleaned.row["id"])
        if seen is None:
            by_id[cleaned.row["id"]] = cleaned
        else:
            seen.absorb(cleaned)
    return [by_id[video_id] for video_id in sorted(by_id)]


def _merged_extra_data(conn: Connection, excluded: Any) -> Any:
    """extra_data: the new keys over the stored ones (either side may be NULL)."""
    old, new = VIDEO_TABLE.c.extra_data, excluded.extra_data
    if conn.dialect.name == "postgresql":
        merged: Any = sa.cast(sa.cast(old, JSONB).op("||")(sa.cast(new, JSONB)), sa.JSON)
    else:
        merged = sa.func.json_patch(old, new)
    return sa.case((new.is_(None), old), (old.is_(None), new), else_=merged)


def _upsert_videos(conn: Connection, page: Sequence[_PageVideo]) -> None:
    def update(excluded: Any) -> dict[str, Any]:
        values = keep_old_when_missing(VIDEO_TABLE, excluded,
                                       ("create_time",) + VIDEO_INT_COLUMNS + VIDEO_TEXT_COLUMNS)
        values["crawled_updated_at"] = excluded.crawled_updated_at
        values["extra_data"] = _merged_extra_data(conn, excluded)
        return values

    upsert_rows(conn, VIDEO_TABLE, [video.row for video in page], keys=("id",), update=update)


@dataclass(frozen=True)
class StoredVideos:
    """What `store_videos` did: the ids written (sorted, distinct) and the records quarantined."""

    ids: list[int]
    quarantined: int


def store_video_page(conn: Connection, videos: Sequence[Any], *, crawl_id: int | None,
                     tags: Sequence[str], now: datetime, log_id: str | None = None,
                     endpoint: str = VIDEO_QUERY_PATH) -> int:
    """Upsert one API page of videos with their links; returns the number of distinct videos written.

    A video that cannot be stored faithfully is quarantined (with `endpoint`, `log_id` and the crawl);
    the others are stored."""
    return len(store_videos(conn, videos, crawl_id=crawl_id, tags=tags, now=now, log_id=log_id,
                            endpoint=endpoint).ids)


def store_videos(conn: Connection, videos: Sequence[Any], *, crawl_id: int | None, tags: Sequence[str],
                 now: datetime, log_id: str | None = None, endpoint: str = VIDEO_QUERY_PATH) -> StoredVideos:
    """`store_video_page`, telling which ids were written and how many records were quarantined."""
    rejected: list[Rejected] = []
    page = _dedupe_page(videos, now, rejected)
    quarantined = quarantine_records(conn, rejected, source=RecordSource(endpoint, log_id, crawl_id), now=now)
    if not page:
        return StoredVideos([], quarantined)
    _upsert_videos(conn, page)
    hashtag_ids = ids_for_names(conn, table_of(Hashtag), "name", (n for v in page for n in v.hashtags))
    union_links(conn, videos_to_hashtags,
                ((v.row["id"], hashtag_ids[n]) for v in page for n in v.hashtags))
    effect_ids = ids_for_names(conn, table_of(Effect), "effect_id", (e for v in page for e in v.effects))
    union_links(conn, videos_to_effect_ids,
                ((v.row["id"], effect_ids[e]) for v in page for e in v.effects))
    if crawl_id is not None:
        union_links(conn, videos_to_crawls, ((v.row["id"], crawl_id) for v in page))
    tag_ids = ids_for_names(conn, table_of(CrawlTag), "name", _tag_names(tags))
    union_links(conn, videos_to_crawl_tags,
                ((v.row["id"], tag_id) for v in page for tag_id in tag_ids.values()))
    return StoredVideos([v.row["id"] for v in page], quarantined)


def _tag_names(tags: Sequence[str]) -> set[str]:
    return {name for name in (storable_text(tag).strip() for tag in tags) if name}


def crawl_tag_ids(conn: Connection, tags: Sequence[str]) -> list[int]:
    """The ids of these crawl tags (as pages store them), created when new."""
    return sorted(ids_for_names(conn, table_of(CrawlTag), "name", _tag_names(tags)).values())


def _comment_row(comment: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    comment_id = as_int(comment.get("id"), "comment id")
    if comment_id is None:
        raise MalformedRecord(f"a comment without an id cannot be stored (keys: {sorted(comment)})")
    row: dict[str, Any] = {"id": comment_id, "text": as_text(comment.get("text"), ("comment", comment_id, "text")),
                           "create_time": as_utc(comment.get("create_time"), ("comment", comment_id, "create_time")),
                           "crawled_at": now, "crawled_updated_at": now}
    for name in COMMENT_INT_COLUMNS:
        row[name] = as_int(comment.get(name), ("comment", comment_id, name))
    return row


def store_comments(conn: Connection, comments: Sequence[Any], *, now: datetime, log_id: str | None = None,
                   crawl_id: int | None = None, endpoint: str = COMMENTS_PATH) -> int:
    """Upsert comments (one API page or more); returns the number of distinct comments written.

    A comment that cannot be stored faithfully is quarantined; the others are stored."""
    return len(store_comment_ids(conn, comments, now=now, log_id=log_id, crawl_id=crawl_id, endpoint=endpoint))


def store_comment_ids(conn: Connection, comments: Sequence[Any], *, now: datetime, log_id: str | None = None,
                      crawl_id: int | None = None, endpoint: str = COMMENTS_PATH) -> list[int]:
    """`store_comments`, returning the ids written (sorted, distinct)."""
    rows: dict[int, dict[str, Any]] = {}
    rejected: list[Rejected] = []
    for comment in comments:
        try:
            if not isinstance(comment, Mapping):
                raise MalformedRecord(f"a comment is not an object: {comment!r:.80}")
            row = _comment_row(comment, now)
        except MalformedRecord as error:
            rejected.append(Rejected(comment, str(error)))
            continue
        comment_id = row["id"]
        seen = rows.setdefault(comment_id, row)
        if seen is not row:  # the same comment twice in one batch: later values win, gaps keep earlier ones
            seen.update({key: value for key, value in row.items() if value is not None})

    def update(excluded: Any) -> dict[str, Any]:
        values = keep_old_when_missing(COMMENT_TABLE, excluded, ("text", "create_time") + COMMENT_INT_COLUMNS)
        values["crawled_updated_at"] = excluded.crawled_updated_at
        return values

    quarantine_records(conn, rejected, source=RecordSource(endpoint, log_id, crawl_id), now=now)
    upsert_rows(conn, COMMENT_TABLE, [rows[key] for key in sorted(rows)], keys=("id",), update=update)
    return sorted(rows)


def _user_row(username: Any, info: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    name = as_text(username, "username")
    if not name:
        raise MalformedRecord("user info without a username cannot be stored")
    row: dict[str, Any] = {"username": name, "crawled_at": now, "crawled_updated_at": now,
                           "is_verified": as_bool(info.get("is_verified"), ("user", name, "is_verified"))}
    for column in USER_INT_COLUMNS:
        row[column] = as_int(info.get(column), ("user", name, column))
    for column in USER_TEXT_COLUMNS:
        row[column] = as_text(info.get(column), ("user", name, column))
    return row


def store_user_info(conn: Connection, users: Mapping[str, Mapping[str, Any]], *, now: datetime,
                    log_id: str | None = None, crawl_id: int | None = None) -> int:
    """Upsert user info keyed by username (the API does not echo it); returns users written.

    An empty mapping for a user records that the API had nothing for them (not found / private).
    A profile that cannot be stored faithfully is quarantined."""
    rows: dict[str, dict[str, Any]] = {}
    rejected: list[Rejected] = []
    for username, info in users.items():
        try:
            row = _user_row(username, info, now)
        except MalformedRecord as error:
            rejected.append(Rejected({**info, "username": username} if isinstance(info, Mapping) else info,
                                     str(error)))
            continue
        rows[row["username"]] = row
    quarantine_records(conn, rejected, source=RecordSource(USER_INFO_PATH, log_id, crawl_id), now=now)

    def update(excluded: Any) -> dict[str, Any]:
        values = keep_old_when_missing(USER_TABLE, excluded,
                                       ("is_verified",) + USER_INT_COLUMNS + USER_TEXT_COLUMNS)
        values["crawled_updated_at"] = excluded.crawled_updated_at
        return values

    upsert_rows(conn, USER_TABLE, [rows[key] for key in sorted(rows)], keys=("username",), update=update)
    return len(rows)


def stored_usernames(conn: Connection, usernames: Sequence[str], *,
                     seen_since: datetime | None = None) -> set[str]:
    """Which of `usernames` already have user info (last fetched at or after `seen_since`, if given):
    the runner asks the API only for the others."""
    wanted = sorted(set(usernames))
    found: set[str] = set()
    for part in chunked(wanted):
        query = sa.select(USER_TABLE.c.username).where(USER_TABLE.c.username.in_(part))
        if seen_since is not None:
            query = query.where(USER_TABLE.c.crawled_updated_at >= seen_since)
        found.update(conn.execute(query).scalars())
    return found
