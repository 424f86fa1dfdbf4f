"""The core tables: the older tool's names and columns (so existing notebooks keep working) plus the
runner's own tables (spec registry, window checkpoints, day coverage, quota ledger).

The ORM classes are for library users and readable queries; the hot paths in `crawlspec.storage`
write through Core `INSERT .. ON CONFLICT` on the same `Table` objects (`Video.__table__`, ...).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crawlspec.storage.models.base import WINDOW_STATUSES, Base, BigIntPK, JsonValue, UtcDateTime


def _link_table(name: str, left: tuple[str, str], right: tuple[str, str]) -> Table:
    """A many-to-many association table; the right column is indexed too (videos by hashtag, by tag)."""
    return Table(
        name,
        Base.metadata,
        Column(left[0], BigInteger, ForeignKey(f"{left[1]}.id"), primary_key=True),
        Column(right[0], BigInteger, ForeignKey(f"{right[1]}.id"), primary_key=True, index=True),
        # SQLite: the primary key is the table itself (no hidden rowid B-tree): fewer writes per link.
        sqlite_with_rowid=False,
    )


videos_to_hashtags = _link_table("videos_to_hashtags", ("video_id", "video"), ("hashtag_id", "hashtag"))
videos_to_effect_ids = _link_table("videos_to_effect_ids", ("video_id", "video"), ("effect_id", "effect"))
videos_to_crawls = _link_table("videos_to_crawls", ("video_id", "video"), ("crawl_id", "crawl"))
videos_to_crawl_tags = _link_table(
    "videos_to_crawl_tags", ("video_id", "video"), ("crawl_tag_id", "crawl_tag")
)
crawls_to_crawl_tags = _link_table(
    "crawls_to_crawl_tags", ("crawl_id", "crawl"), ("crawl_tag_id", "crawl_tag")
)


class Hashtag(Base):
    """A hashtag name exactly as the API returned it (internal id, not TikTok's)."""

    __tablename__ = "hashtag"
    __table_args__ = (UniqueConstraint("name"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String)

    def __repr__(self) -> str:
        return f"Hashtag(id={self.id}, name={self.name!r})"


class Effect(Base):
    """`id` is internal; `effect_id` is the API's value (a numeric string)."""

    __tablename__ = "effect"
    __table_args__ = (UniqueConstraint("effect_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    effect_id: Mapped[str] = mapped_column(String)

    def __repr__(self) -> str:
        return f"Effect(id={self.id}, effect_id={self.effect_id!r})"


class CrawlTag(Base):
    """A provenance tag (spec `tags`), attached to crawls and to every video they stored."""

    __tablename__ = "crawl_tag"
    __table_args__ = (UniqueConstraint("name"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String)

    def __repr__(self) -> str:
        return f"CrawlTag(id={self.id}, name={self.name!r})"


class Crawl(Base):
    """One run of one spec over one date range (the older tool had one row per request chain)."""

    __tablename__ = "crawl"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    spec_name: Mapped[str | None] = mapped_column(String)
    fingerprint: Mapped[str | None] = mapped_column(String(64), index=True)
    query: Mapped[Any | None] = mapped_column(JsonValue)
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    overrides: Mapped[Any | None] = mapped_column(JsonValue)
    started_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    outcome: Mapped[str | None] = mapped_column(String(32))
    exit_code: Mapped[int | None] = mapped_column(Integer)
    requests: Mapped[int | None] = mapped_column(Integer)
    videos: Mapped[int | None] = mapped_column(BigInteger)
    extra_data: Mapped[Any | None] = mapped_column(JsonValue)

    crawl_tags: Mapped[set[CrawlTag]] = relationship(secondary=crawls_to_crawl_tags)

    def __repr__(self) -> str:
        return f"Crawl(id={self.id}, spec_name={self.spec_name!r}, outcome={self.outcome!r})"


class Video(Base):
    """A video; columns for the 14 classic fields, every other requested field in `extra_data`."""

    __tablename__ = "video"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    create_time: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    username: Mapped[str | None] = mapped_column(String, index=True)
    region_code: Mapped[str | None] = mapped_column(String(8))
    video_description: Mapped[str | None] = mapped_column(Text)
    music_id: Mapped[int | None] = mapped_column(BigInteger)
    like_count: Mapped[int | None] = mapped_column(BigInteger)
    comment_count: Mapped[int | None] = mapped_column(BigInteger)
    share_count: Mapped[int | None] = mapped_column(BigInteger)
    view_count: Mapped[int | None] = mapped_column(BigInteger)
    playlist_id: Mapped[int | None] = mapped_column(BigInteger)
    voice_to_text: Mapped[str | None] = mapped_column(Text)
    crawled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    crawled_updated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    extra_data: Mapped[Any | None] = mapped_column(JsonValue)

    hashtags: Mapped[set[Hashtag]] = relationship(secondary=videos_to_hashtags)
    effects: Mapped[set[Effect]] = relationship(secondary=videos_to_effect_ids)
    crawls: Mapped[set[Crawl]] = relationship(secondary=videos_to_crawls)
    crawl_tags: Mapped[set[CrawlTag]] = relationship(secondary=videos_to_crawl_tags)

    @property
    def hashtag_names(self) -> set[str]:
        return {hashtag.name for hashtag in self.hashtags}

    @property
    def effect_ids(self) -> set[str]:
        return {effect.effect_id for effect in self.effects}

    @property
    def crawl_tag_names(self) -> set[str]:
        return {tag.name for tag in self.crawl_tags}

    def __repr__(self) -> str:
        return f"Video(id={self.id}, username={self.username!r})"


class UserInfo(Base):
    __tablename__ = "user_info"

    username: Mapped[str] = mapped_column(String, primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String)
    bio_description: Mapped[str | None] = mapped_column(Text)
    avatar_url: Mapped[str | None] = mapped_column(Text)
    is_verified: Mapped[bool | None] = mapped_column(Boolean)
    follower_count: Mapped[int | None] = mapped_column(BigInteger)
    following_count: Mapped[int | None] = mapped_column(BigInteger)
    likes_count: Mapped[int | None] = mapped_column(BigInteger)
    video_count: Mapped[int | None] = mapped_column(BigInteger)
    bio_url: Mapped[str | None] = mapped_column(Text)
    crawled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    crawled_updated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class Comment(Base):
    """A comment; `parent_comment_id == video_id` for top-level comments (API codebook)."""

    __tablename__ = "comment"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    text: Mapped[str | None] = mapped_column(Text)
    video_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    parent_comment_id: Mapped[int | None] = mapped_column(BigInteger)
    like_count: Mapped[int | None] = mapped_column(BigInteger)
    reply_count: Mapped[int | None] = mapped_column(BigInteger)
    create_time: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    crawled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    crawled_updated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


# ---- the runner's own tables -------------------------------------------------------------------


class CrawlSpec(Base):
    """One row per spec fingerprint (compiled query + fields); `fetch`: the flags of its first run."""

    __tablename__ = "crawl_spec"

    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String)
    query: Mapped[Any | None] = mapped_column(JsonValue)
    fields: Mapped[Any | None] = mapped_column(JsonValue)
    fetch: Mapped[Any | None] = mapped_column(JsonValue)
    created_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class CrawlWindow(Base):
    """The checkpoint of one query window: committed with the rows of each page it describes."""

    __tablename__ = "crawl_window"
    __table_args__ = (
        UniqueConstraint("fingerprint", "start_date", "end_date"),
        CheckConstraint(f"status IN {WINDOW_STATUSES!r}", name="status"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    cursor: Mapped[int] = mapped_column(BigInteger)
    search_id: Mapped[str | None] = mapped_column(String)
    has_more: Mapped[bool] = mapped_column(Boolean)
    pages: Mapped[int] = mapped_column(Integer)
    videos: Mapped[int] = mapped_column(BigInteger)
    crawl_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("crawl.id"))
    started_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    lease_owner: Mapped[str | None] = mapped_column(String)
    lease_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    failures: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)


class CoveredDay(Base):
    """(fingerprint, UTC day) fully delivered: later runs of the same fingerprint skip it."""

    __tablename__ = "covered_day"

    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    crawl_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("crawl.id"))
    covered_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class WindowLearning(Base):
    """What auto-sized windows learned for one fingerprint (`crawlspec.crawl.window_plan.Learned`): the
    day limit, and the attempts and 5xx answers of searches by size, kept for later runs and back-fills."""

    __tablename__ = "window_learning"

    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    max_days: Mapped[int] = mapped_column(Integer)
    observations: Mapped[Any] = mapped_column(JsonValue)   # [[size, attempts, failures], ...], newest last
    page_rate: Mapped[float | None] = mapped_column(Float)  # videos/day a first window's pages showed
    failures: Mapped[int] = mapped_column(Integer)
    splits: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class QuotaUse(Base):
    """Requests reserved per UTC day and quota pool, shared by every process using the database."""

    __tablename__ = "quota_ledger"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    pool: Mapped[str] = mapped_column(String(16), primary_key=True)
    used: Mapped[int] = mapped_column(Integer)

__all__ = [
    "Base", "Comment", "CoveredDay", "Crawl", "CrawlSpec", "CrawlTag", "CrawlWindow", "Effect", "Hashtag",
    "QuotaUse", "UserInfo", "UtcDateTime", "Video", "crawls_to_crawl_tags", "videos_to_crawl_tags",
    "videos_to_crawls", "videos_to_effect_ids", "videos_to_hashtags",
]
