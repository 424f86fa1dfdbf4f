"""The playlist stage (`fetch.playlists: true` on a video spec): playlist info once per distinct
`playlist_id` of the spec's stored videos that the `playlist` table does not hold complete yet.

A playlist's video ids are paged (cursor = start index); each page commits the row with the ids
gathered so far and `next_cursor`, so a killed run continues where it stopped. A complete playlist is
never asked again (re-running the same spec costs nothing). "cannot find the playlist" is stored as a
complete row without a name: not an error, and not asked again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crawlspec.api.fields import MAX_COUNT
from crawlspec.crawl.stage import VIDEO, StageStats, StageStopped, call_with_quota, spec_videos_query
from crawlspec.errors import ApiError
from crawlspec.logs import get_logger
from crawlspec.storage.bulk import chunked, upsert_rows
from crawlspec.storage.models.enrichment import Playlist

PLAYLIST = Playlist.__table__
COLUMNS = ("playlist_name", "playlist_item_total", "playlist_last_updated", "playlist_video_ids", "next_cursor",
           "complete", "crawl_id", "crawled_updated_at")


def spec_playlist_ids(conn: Connection, fingerprint: str, start: date, end: date) -> list[int]:
    query = spec_videos_query(fingerprint, start, end, VIDEO.c.playlist_id).distinct()
    return sorted({pid for pid in conn.execute(query).scalars() if pid})


def unfinished(conn: Connection, playlist_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Stored rows of `playlist_ids`, by id (complete ones included: the caller skips them)."""
    rows: dict[int, dict[str, Any]] = {}
    for part in chunked(list(playlist_ids)):
        for row in conn.execute(sa.select(PLAYLIST).where(PLAYLIST.c.id.in_(part))).mappings():
            rows[row["id"]] = dict(row)
    return rows


def save_playlist(conn: Connection, row: dict[str, Any]) -> None:
    upsert_rows(conn, PLAYLIST, [row], keys=("id",), update=lambda excluded: {c: excluded[c] for c in COLUMNS})


class PlaylistFetcher:
    def __init__(self, ctx: Any, playlist_ids: Sequence[int]) -> None:
        self.ctx, self.playlist_ids = ctx, list(dict.fromkeys(playlist_ids))
        self.stats = StageStats("playlists")
        self.log = get_logger("crawlspec.crawl.stages.playlists")

    def run(self) -> StageStats:
        used_before = self.ctx.budget.used
        with self.ctx.engine.connect() as conn:
            stored = unfinished(conn, self.playlist_ids)
        try:
            for playlist_id in self.playlist_ids:
                row = stored.get(playlist_id)
                if row is not None and row["complete"]:
                    self.stats.skipped += 1
                else:
                    self._fetch(playlist_id, row or self._new_row(playlist_id))
        except StageStopped as stop:
            self.stats.stopped = stop.reason
        self.stats.requests = self.ctx.budget.used - used_before
        return self.stats

    def _new_row(self, playlist_id: int) -> dict[str, Any]:
        now = self.ctx.clock()
        return {"id": playlist_id, "playlist_name": None, "playlist_item_total": None, "playlist_last_updated": None,
                "playlist_video_ids": [], "next_cursor": 0, "complete": False, "crawl_id": self.ctx.crawl_id,
                "crawled_at": now, "crawled_updated_at": now}

    def _fetch(self, playlist_id: int, row: dict[str, Any]) -> None:
        from crawlspec.client.user_requests import TikTokPlaylistRequest

        while not row["complete"]:
            request = TikTokPlaylistRequest(playlist_id, max_count=MAX_COUNT, cursor=int(row["next_cursor"]))
            try:
                response = call_with_quota(self.ctx, lambda req=request: self.ctx.client.fetch_playlist_info(req),
                                           self.log)
            except ApiError as err:
                self.stats.failed += 1
                self.stats.errors.append(f"playlist {playlist_id}: {err}")
                self.log.error("playlist_failed", playlist_id=playlist_id, error=str(err))
                return
            _apply_page(row, response)
            row.update(crawl_id=self.ctx.crawl_id, crawled_updated_at=self.ctx.clock())
            with self.ctx.engine.begin() as conn:
                save_playlist(conn, row)
        self.stats.done += 1
        self.stats.records += 1
        self.log.info("playlist", playlist_id=playlist_id, videos=len(row["playlist_video_ids"] or []))


def _apply_page(row: dict[str, Any], response: Any) -> None:
    """Merge one page into the row; a page that does not move the cursor ends the paging."""
    if response.not_found:
        row.update(complete=True)
        return
    data = response.data
    for column in ("playlist_name", "playlist_item_total", "playlist_last_updated"):
        if data.get(column) is not None:
            row[column] = data[column]
    ids = list(row["playlist_video_ids"] or [])
    row["playlist_video_ids"] = ids + [i for i in response.video_ids if i not in set(ids)]
    moved = response.cursor is not None and response.cursor > int(row["next_cursor"])
    row["next_cursor"] = response.cursor if moved else row["next_cursor"]
    row["complete"] = not (response.has_more and moved)
