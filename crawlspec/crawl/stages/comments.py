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
The statements are in `crawlspec.storage.comments`; this module decides what to ask and when to commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any

from sqlalchemy.engine import Connection

from crawlspec.api.fields import COMMENTS_PATH, MAX_COMMENTS_PER_VIDEO, MAX_COUNT
from crawlspec.client import TikTokCommentRepliesRequest, TikTokCommentsRequest
from crawlspec.crawl.paging import Paginator
from crawlspec.crawl.stage import Stage
from crawlspec.crawl.videos import RunContext
from crawlspec.errors import ApiError
from crawlspec.storage import comments as stored
from crawlspec.storage.comments import Listing
from crawlspec.storage.spec_videos import spec_videos_with_comments
from crawlspec.storage.videos import comment_record_id, store_comment_ids

VIDEO_TARGET, REPLIES_TARGET = "video", "replies"


@dataclass(frozen=True)
class CommentScope:
    """The videos whose comments a stage fetches: a spec's stored videos, or explicit ids (library)."""

    fingerprint: str | None = None
    start: date | None = None
    end: date | None = None
    video_ids: tuple[int, ...] | None = None

    def videos_with_comments(self, conn: Connection) -> list[int]:
        if self.video_ids is not None:
            return stored.videos_with_comments(conn, self.video_ids)
        assert self.fingerprint is not None and self.start is not None and self.end is not None
        return spec_videos_with_comments(conn, self.fingerprint, self.start, self.end)


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
            listings = stored.pending_listings(conn, target, ids)
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
        return stored.comments_with_missing_replies(conn, videos)

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
            # a replies listing repeats the replies the video's listing stored: only new ones are counted
            known: set[int] = set()
            if listing.target == REPLIES_TARGET:
                known = stored.known_comment_ids(conn, [comment_record_id(comment) for comment in comments])
            written = store_comment_ids(conn, comments, now=now, log_id=page.log_id, crawl_id=self.ctx.crawl_id)
            stored.save_progress(conn, advanced, status="in_progress" if has_more else "done",
                                 has_more=has_more, crawl_id=self.ctx.crawl_id, now=now)
        self.stats.records += len(set(written) - known)
        self.log.info("comment_page", target=listing.target, id=listing.target_id, page=advanced.pages,
                      comments=len(comments), cursor=cursor, has_more=has_more,
                      requests_used=self.ctx.budget.used)
        return advanced, has_more

    def _fail(self, listing: Listing, err: ApiError) -> None:
        self.failed(f"comments of {listing.target} {listing.target_id}", err, "comments_failed",
                    target=listing.target, id=listing.target_id)
        with self.ctx.engine.begin() as conn:
            stored.save_progress(conn, listing, status="failed", has_more=True, crawl_id=self.ctx.crawl_id,
                                 now=self.ctx.clock(), error=str(err))
