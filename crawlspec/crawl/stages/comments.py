"""The comments stage (`fetch.comments: true`): every comment the API lets us read, at the fewest requests.

- Which videos: those the spec's crawls stored (any run of the same fingerprint, inside the window),
  read from the database, with `comment_count > 0`: a video without comments costs no request.
- Paging: `video_id` + `max_count` 100 + cursor, by the rules of `crawlspec.crawl.paging`: until
  `has_more` is false, the cursor is missing or reaches the API's 1,000-comment limit (the 11th page is
  never asked for); a cursor that does not advance fails the listing at its committed cursor.
- Checkpoints: one transaction per page holds its comments and the advanced `comment_progress` row,
  so a killed run resumes at the committed cursor and a `done` video is never asked for again.
- Replies: the `video_id` listing contains replies too (each after its comment; the 1,000-item cap
  covers comments and replies together). Everything it returns is stored, each reply with
  `parent_comment_id` = its comment's id. `fetch.comment_replies: true` pages the `comment_id` listing
  only of top-level comments whose `reply_count` exceeds the replies already stored (those the cap cut
  off); off by default.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crawlspec.api.fields import COMMENTS_PATH, MAX_COMMENTS_PER_VIDEO, MAX_COUNT
from crawlspec.client import TikTokCommentRepliesRequest, TikTokCommentsRequest
from crawlspec.crawl.paging import Paginator
from crawlspec.crawl.stage import VIDEO, Stage, spec_videos_query
from crawlspec.crawl.videos import RunContext
from crawlspec.errors import ApiError
from crawlspec.storage.bulk import upsert_rows
from crawlspec.storage.models import Comment
from crawlspec.storage.models.base import table_of
from crawlspec.storage.models.enrichment import CommentProgress
from crawlspec.storage.videos import store_comments

PROGRESS = table_of(CommentProgress)
COMMENT = table_of(Comment)
VIDEO_TARGET, REPLIES_TARGET = "video", "replies"


@dataclass(frozen=True)
class Listing:
    """One comment listing to page: a video's comments or a comment's replies, and where it stands."""

    target: str
    target_id: int
    video_id: int
    cursor: int = 0
    pages: int = 0
    comments: int = 0


@dataclass(frozen=True)
class CommentScope:
    """The videos whose comments a stage fetches: a spec's stored videos, or explicit ids (library)."""

    fingerprint: str | None = None
    start: date | None = None
    end: date | None = None
    video_ids: tuple[int, ...] | None = None

    def videos_with_comments(self, conn: Connection) -> list[int]:
        if self.video_ids is not None:
            query = sa.select(VIDEO.c.id).where(VIDEO.c.id.in_(self.video_ids))
        else:
            assert self.fingerprint is not None and self.start is not None and self.end is not None
            query = spec_videos_query(self.fingerprint, self.start, self.end, VIDEO.c.id)
        return sorted(conn.execute(query.where(VIDEO.c.comment_count > 0)).scalars())


def pending_listings(conn: Connection, target: str, ids: list[tuple[int, int]]) -> list[Listing]:
    """(target_id, video_id) pairs not done yet, resumed at their committed cursor."""
    states = {}
    for part in _chunks([target_id for target_id, _ in ids]):
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


def _chunks(values: list[int], size: int = 500) -> Iterator[list[int]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _save_progress(conn: Connection, listing: Listing, *, status: str, has_more: bool, crawl_id: int | None,
                   now: datetime, error: str | None = None) -> None:
    row = {"target": listing.target, "target_id": listing.target_id, "video_id": listing.video_id,
           "status": status, "cursor": listing.cursor, "has_more": has_more, "pages": listing.pages,
           "comments": listing.comments, "crawl_id": crawl_id, "updated_at": now, "last_error": error}
    upsert_rows(conn, PROGRESS, [row], keys=("target", "target_id"),
                update=lambda excluded: {name: excluded[name] for name in
                                         ("video_id", "status", "cursor", "has_more", "pages", "comments",
                                          "crawl_id", "updated_at", "last_error")})


class CommentCrawler(Stage):
    """Pages the comments (and optionally replies) of a scope's videos; see the module docstring."""

    name = "comments"

    def __init__(self, ctx: RunContext, scope: CommentScope, *, replies: bool = False, max_count: int = MAX_COUNT):
        super().__init__(ctx)
        self.scope = scope
        self.replies = replies
        self.max_count = max_count

    def work(self) -> None:
        self._run_target(VIDEO_TARGET)
        if self.replies:
            self._run_target(REPLIES_TARGET)

    def _run_target(self, target: str) -> None:
        with self.ctx.engine.connect() as conn:
            ids = self._targets(conn, target)
            listings = pending_listings(conn, target, ids)
        self.stats.skipped += len(ids) - len(listings)
        if listings:
            self.log.info("comments_start", target=target, listings=len(listings),
                          already_done=len(ids) - len(listings),
                          resuming=sum(1 for listing in listings if listing.pages))
        for listing in listings:
            self._page_listing(listing)

    def _targets(self, conn: Connection, target: str) -> list[tuple[int, int]]:
        videos = self.scope.videos_with_comments(conn)
        if target == VIDEO_TARGET:
            return [(video_id, video_id) for video_id in videos]
        pairs: list[tuple[int, int]] = []
        for part in _chunks(videos):
            delivered: dict[int, int] = dict(conn.execute(
                sa.select(COMMENT.c.parent_comment_id, sa.func.count())
                .where(COMMENT.c.video_id.in_(part), COMMENT.c.parent_comment_id != COMMENT.c.video_id)
                .group_by(COMMENT.c.parent_comment_id)).all())
            rows = conn.execute(sa.select(COMMENT.c.id, COMMENT.c.video_id, COMMENT.c.reply_count)
                                .where(COMMENT.c.video_id.in_(part), COMMENT.c.parent_comment_id == COMMENT.c.video_id,
                                       COMMENT.c.reply_count > 0))
            # replies the video listing already delivered are not asked for again
            pairs.extend((row.id, row.video_id) for row in rows if row.reply_count > delivered.get(row.id, 0))
        return sorted(pairs)

    def _page_listing(self, listing: Listing) -> None:
        while True:
            try:
                page = self.call(partial(self._fetch, listing))
                listing, has_more = self._commit(listing, page)
            except ApiError as err:
                self._fail(listing, err)
                return
            if not has_more:
                self.stats.done += 1
                return

    def _fetch(self, listing: Listing) -> Any:
        if listing.target == VIDEO_TARGET:
            return self.ctx.client.fetch_comments(TikTokCommentsRequest(
                video_id=listing.target_id, max_count=self.max_count, cursor=listing.cursor))
        return self.ctx.client.fetch_comment_replies(TikTokCommentRepliesRequest(
            comment_id=listing.target_id, max_count=self.max_count, cursor=listing.cursor))

    def _commit(self, listing: Listing, page: Any) -> tuple[Listing, bool]:
        comments = page.comments
        pages = Paginator(f"{listing.target} {listing.target_id} comments", cursor=listing.cursor,
                          ceiling=MAX_COMMENTS_PER_VIDEO, endpoint=COMMENTS_PATH, log=self.log)
        has_more = pages.advance(page.cursor, page.has_more)   # refuses a cursor that does not advance
        cursor = pages.cursor if pages.cursor is not None else listing.cursor
        advanced = Listing(listing.target, listing.target_id, listing.video_id, cursor, listing.pages + 1,
                           listing.comments + len(comments))
        now = self.ctx.clock()
        with self.ctx.engine.begin() as conn:
            store_comments(conn, comments, now=now, log_id=page.log_id, crawl_id=self.ctx.crawl_id)
            _save_progress(conn, advanced, status="in_progress" if has_more else "done", has_more=has_more,
                           crawl_id=self.ctx.crawl_id, now=now)
        self.stats.records += len(comments)
        self.log.info("comment_page", target=listing.target, id=listing.target_id, page=advanced.pages,
                      comments=len(comments), cursor=cursor, has_more=has_more,
                      requests_used=self.ctx.budget.used)
        return advanced, has_more

    def _fail(self, listing: Listing, err: ApiError) -> None:
        self.failed(f"comments of {listing.target} {listing.target_id}", err, "comments_failed",
                    target=listing.target, id=listing.target_id)
        with self.ctx.engine.begin() as conn:
            _save_progress(conn, listing, status="failed", has_more=True, crawl_id=self.ctx.crawl_id,
                           now=self.ctx.clock(), error=str(err))
