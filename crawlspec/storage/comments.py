"""Comment listings and their checkpoints: the `comment_progress` row of each listing (a video's
comments or a top-level comment's replies) and the stored comments the comments stage reads back.

Every function takes the caller's `Connection` and runs inside the caller's transaction: the stage
commits a page's comments and its advanced progress row together in one `engine.begin()`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crawlspec.storage.bulk import chunked, upsert_rows
from crawlspec.storage.models import Comment, Video
from crawlspec.storage.models.base import table_of
from crawlspec.storage.models.enrichment import CommentProgress

PROGRESS = table_of(CommentProgress)
COMMENT = table_of(Comment)
VIDEO = table_of(Video)
PROGRESS_COLUMNS = ("video_id", "status", "cursor", "has_more", "pages", "comments", "crawl_id", "updated_at",
                    "last_error")


@dataclass(frozen=True)
class Listing:
    """One comment listing to page: a video's comments or a comment's replies, and where it stands."""

    target: str
    target_id: int
    video_id: int
    cursor: int = 0
    pages: int = 0
    comments: int = 0


def known_comment_ids(conn: Connection, comment_ids: Sequence[int | None]) -> set[int]:
    """Those of `comment_ids` already stored (None, a record without a usable id, is skipped)."""
    found: set[int] = set()
    for part in chunked(sorted({comment_id for comment_id in comment_ids if comment_id is not None})):
        found.update(conn.execute(sa.select(COMMENT.c.id).where(COMMENT.c.id.in_(part))).scalars())
    return found


def videos_with_comments(conn: Connection, video_ids: Sequence[int]) -> list[int]:
    """Those of `video_ids` stored with `comment_count > 0`, sorted."""
    query = sa.select(VIDEO.c.id).where(VIDEO.c.id.in_(video_ids), VIDEO.c.comment_count > 0)
    return sorted(conn.execute(query).scalars())


def pending_listings(conn: Connection, target: str, ids: list[tuple[int, int]]) -> list[Listing]:
    """(target_id, video_id) pairs not done yet, resumed at their committed cursor."""
    states = {}
    for part in chunked([target_id for target_id, _ in ids]):
        rows = conn.execute(sa.select(PROGRESS).where(PROGRESS.c.target == target,
                                                      PROGRESS.c.target_id.in_(part)))
        states.update({row.target_id: row for row in rows})
    listings = []
    for target_id, video_id in ids:
        state = states.get(target_id)
        if state is None:
            listings.append(Listing(target, target_id, video_id))
        elif state.status != "done":
            listings.append(Listing(target, target_id, video_id, state.cursor, state.pages, state.comments))
    return listings


def comments_with_missing_replies(conn: Connection, video_ids: Sequence[int]) -> list[tuple[int, int]]:
    """(comment id, video id) of the top-level comments of `video_ids` whose `reply_count` exceeds the
    replies stored for them (replies the video listing already delivered are not asked for again), sorted."""
    pairs: list[tuple[int, int]] = []
    for part in chunked(list(video_ids)):
        delivered: dict[int, int] = dict(conn.execute(
            sa.select(COMMENT.c.parent_comment_id, sa.func.count())
            .where(COMMENT.c.video_id.in_(part), COMMENT.c.parent_comment_id != COMMENT.c.video_id)
            .group_by(COMMENT.c.parent_comment_id)).all())
        rows = conn.execute(sa.select(COMMENT.c.id, COMMENT.c.video_id, COMMENT.c.reply_count)
                            .where(COMMENT.c.video_id.in_(part), COMMENT.c.parent_comment_id == COMMENT.c.video_id,
                                   COMMENT.c.reply_count > 0))
        pairs.extend((row.id, row.video_id) for row in rows if row.reply_count > delivered.get(row.id, 0))
    return sorted(pairs)


def save_progress(conn: Connection, listing: Listing, *, status: str, has_more: bool, crawl_id: int | None,
                  now: datetime, error: str | None = None) -> None:
    """Insert or replace the listing's `comment_progress` row."""
    row = {"target": listing.target, "target_id": listing.target_id, "video_id": listing.video_id,
           "status": status, "cursor": listing.cursor, "has_more": has_more, "pages": listing.pages,
           "comments": listing.comments, "crawl_id": crawl_id, "updated_at": now, "last_error": error}
    upsert_rows(conn, PROGRESS, [row], keys=("target", "target_id"),
                update=lambda excluded: {name: excluded[name] for name in PROGRESS_COLUMNS})
