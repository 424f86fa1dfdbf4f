"""Playlists: one `playlist` row per playlist id, holding its info, the video ids gathered so far, the
cursor of the next page (`next_cursor`) and whether it is `complete`.

Functions take the caller's `Connection`; `save_playlist` writes inside the caller's transaction (the
playlist stage commits each page's row on its own).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crawlspec.storage.bulk import chunked, upsert_rows
from crawlspec.storage.models.base import table_of
from crawlspec.storage.models.enrichment import Playlist

PLAYLIST = table_of(Playlist)
COLUMNS = ("playlist_name", "playlist_item_total", "playlist_last_updated", "playlist_video_ids", "next_cursor",
           "complete", "crawl_id", "crawled_updated_at")


def stored_playlists(conn: Connection, playlist_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Stored rows of `playlist_ids`, by id (complete ones included: the caller skips them)."""
    rows: dict[int, dict[str, Any]] = {}
    for part in chunked(list(playlist_ids)):
        for row in conn.execute(sa.select(PLAYLIST).where(PLAYLIST.c.id.in_(part))).mappings():
            rows[row["id"]] = dict(row)
    return rows


def save_playlist(conn: Connection, row: dict[str, Any]) -> None:
    """Insert the playlist's row, or update every column of `COLUMNS` of the stored one."""
    upsert_rows(conn, PLAYLIST, [row], keys=("id",), update=lambda excluded: {c: excluded[c] for c in COLUMNS})
