"""The videos a spec has stored: those linked to any crawl of its fingerprint and created inside its
UTC days. What the enrichment stages do with them is decided by the crawl. None of these commits.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crawlspec.storage.bulk import dialect_insert_for
from crawlspec.storage.models import Crawl, Video, videos_to_crawl_tags, videos_to_crawls
from crawlspec.storage.models.base import table_of

VIDEO = table_of(Video)
CRAWL = table_of(Crawl)


def day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00 UTC, end+1 00:00 UTC): the create_time range of a spec's window."""
    lower = datetime.combine(start, time.min, tzinfo=timezone.utc)
    return lower, datetime.combine(end + timedelta(days=1), time.min, tzinfo=timezone.utc)


def spec_videos_query(fingerprint: str, start: date, end: date, *columns: Any) -> sa.Select[Any]:
    """Videos stored by any crawl of this fingerprint, created inside [start, end] (UTC days)."""
    lower, upper = day_bounds(start, end)
    of_spec = (sa.select(videos_to_crawls.c.video_id)
               .join(CRAWL, CRAWL.c.id == videos_to_crawls.c.crawl_id)
               .where(CRAWL.c.fingerprint == fingerprint))
    return (sa.select(*columns).where(VIDEO.c.id.in_(of_spec))
            .where(VIDEO.c.create_time >= lower, VIDEO.c.create_time < upper))


def spec_creators(conn: Connection, fingerprint: str, start: date, end: date) -> list[str]:
    """Distinct non-empty creator usernames of the spec's stored videos, sorted."""
    query = spec_videos_query(fingerprint, start, end, VIDEO.c.username).distinct()
    return sorted({name for name in conn.execute(query).scalars() if name})


def spec_videos_with_comments(conn: Connection, fingerprint: str, start: date, end: date) -> list[int]:
    """Ids of the spec's stored videos whose comment count is above zero, sorted."""
    query = spec_videos_query(fingerprint, start, end, VIDEO.c.id)
    return sorted(conn.execute(query.where(VIDEO.c.comment_count > 0)).scalars())


def spec_playlist_ids(conn: Connection, fingerprint: str, start: date, end: date) -> list[int]:
    """Distinct playlist ids of the spec's stored videos, sorted."""
    query = spec_videos_query(fingerprint, start, end, VIDEO.c.playlist_id).distinct()
    return sorted({pid for pid in conn.execute(query).scalars() if pid})


def tag_spec_videos(conn: Connection, fingerprint: str, start: date, end: date, tag_ids: list[int]) -> int:
    """Link the spec's stored videos created inside [start, end] to each crawl tag of `tag_ids` they lack;
    returns the links added. A run whose days were covered by earlier runs fetches none of their videos
    again, yet its tags belong to them too (an export by the new tag must find them)."""
    added = 0
    link = videos_to_crawl_tags
    for tag_id in tag_ids:
        untagged = spec_videos_query(fingerprint, start, end, VIDEO.c.id, sa.literal(tag_id)).where(
            ~sa.exists().where(link.c.video_id == VIDEO.c.id, link.c.crawl_tag_id == tag_id)).order_by(VIDEO.c.id)
        # a concurrent run (or page) may add the same links first: kept, not an error (PostgreSQL)
        insert = dialect_insert_for(conn.dialect.name, link).from_select(["video_id", "crawl_tag_id"], untagged)
        added += conn.execute(insert.on_conflict_do_nothing()).rowcount or 0
    return added
