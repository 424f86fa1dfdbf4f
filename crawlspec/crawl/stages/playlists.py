"""The playlist stage (`fetch.playlists: true` on a video spec): playlist info once per distinct
`playlist_id` of the spec's stored videos that the `playlist` table does not hold complete yet.

A playlist's video ids are paged (cursor = start index, by the rules of `crawlspec.crawl.paging`); each
page commits the row with the ids gathered so far and `next_cursor`, so a killed run continues where it
stopped. A complete playlist is never asked again (re-running the same spec costs nothing). "cannot find
the playlist" is stored as a complete row without a name: not an error, and not asked again.
The statements are in `crawlspec.storage.playlists`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from crawlspec.api.fields import MAX_COUNT, PLAYLIST_INFO_PATH
from crawlspec.client.user_requests import TikTokPlaylistRequest
from crawlspec.crawl.paging import Paginator
from crawlspec.crawl.stage import Stage
from crawlspec.errors import ApiError
from crawlspec.storage.playlists import save_playlist, stored_playlists


class PlaylistFetcher(Stage):
    """Fetches the playlists of `playlist_ids` not stored complete yet (see the module doc)."""

    name = "playlists"

    def __init__(self, ctx: Any, playlist_ids: Sequence[int]) -> None:
        super().__init__(ctx)
        self.playlist_ids = list(dict.fromkeys(playlist_ids))

    def work(self) -> None:
        with self.ctx.engine.connect() as conn:
            stored = stored_playlists(conn, self.playlist_ids)
        for playlist_id in self.playlist_ids:
            row = stored.get(playlist_id)
            if row is not None and row["complete"]:
                self.stats.skipped += 1
            else:
                self._fetch(playlist_id, row or self._new_row(playlist_id))

    def _new_row(self, playlist_id: int) -> dict[str, Any]:
        now = self.ctx.clock()
        return {"id": playlist_id, "playlist_name": None, "playlist_item_total": None, "playlist_last_updated": None,
                "playlist_video_ids": [], "next_cursor": 0, "complete": False, "crawl_id": self.ctx.crawl_id,
                "crawled_at": now, "crawled_updated_at": now}

    def _fetch(self, playlist_id: int, row: dict[str, Any]) -> None:
        pages = Paginator(f"playlist {playlist_id}", cursor=int(row["next_cursor"]), endpoint=PLAYLIST_INFO_PATH,
                          log=self.log)
        while not row["complete"]:
            request = TikTokPlaylistRequest(playlist_id, max_count=MAX_COUNT, cursor=pages.cursor or 0)
            try:
                response = self.call(partial(self.ctx.client.fetch_playlist_info, request))
                _apply_page(row, response, pages)
            except ApiError as err:
                self.failed(f"playlist {playlist_id}", err, "playlist_failed", playlist_id=playlist_id)
                return
            row.update(crawl_id=self.ctx.crawl_id, crawled_updated_at=self.ctx.clock())
            with self.ctx.engine.begin() as conn:
                save_playlist(conn, row)
        self.stats.done += 1
        self.stats.records += 1
        self.log.info("playlist", playlist_id=playlist_id, videos=len(row["playlist_video_ids"] or []))


def _apply_page(row: dict[str, Any], response: Any, pages: Paginator) -> None:
    """Merge one page into the row; the paginator decides whether another page follows (and refuses a
    cursor that does not advance before the row changes)."""
    if response.not_found:
        row.update(complete=True)
        return
    more = pages.advance(response.cursor, response.has_more)
    data = response.data
    for column in ("playlist_name", "playlist_item_total", "playlist_last_updated"):
        if data.get(column) is not None:
            row[column] = data[column]
    ids = list(row["playlist_video_ids"] or [])
    row["playlist_video_ids"] = ids + [i for i in response.video_ids if i not in set(ids)]
    row["next_cursor"] = pages.cursor
    row["complete"] = not more
