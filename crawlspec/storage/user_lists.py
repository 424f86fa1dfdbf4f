"""Users' lists: the checkpoint of each user's list (`user_list_progress`, one row per username and list:
status, cursor, pages, records, the API's message) and the relation rows a list page adds (liked,
pinned, reposted videos with the videos themselves; followers and following with their display names).

Functions take the caller's `Connection` and write inside the caller's transaction: the user-list stage
commits a page's rows and its checkpoint together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crawlspec.api import fields as api_fields
from crawlspec.storage.bulk import chunked, upsert_rows
from crawlspec.storage.models.base import table_of
from crawlspec.storage.models.enrichment import USER_LIST_TABLES, UserListProgress
from crawlspec.storage.videos import store_videos
from crawlspec.text import storable

PROGRESS = table_of(UserListProgress)
LIST_PATHS = {"liked_videos": api_fields.LIKED_VIDEOS_PATH, "pinned_videos": api_fields.PINNED_VIDEOS_PATH,
              "reposted_videos": api_fields.REPOSTED_VIDEOS_PATH, "followers": api_fields.FOLLOWERS_PATH,
              "following": api_fields.FOLLOWING_PATH}
VIDEO_LISTS = ("liked_videos", "pinned_videos", "reposted_videos")
PEOPLE_COLUMNS = {"followers": "follower_username", "following": "following_username"}
CHECKPOINT_COLUMNS = ("status", "cursor", "pages", "records", "crawl_id", "updated_at", "message")


@dataclass
class ListState:
    """The checkpoint of one user's list, as read from and written to `user_list_progress`."""

    username: str
    list: str
    status: str = "in_progress"
    cursor: int | None = None
    pages: int = 0
    records: int = 0
    updated_at: datetime | None = None
    message: str | None = None

    def row(self, crawl_id: int | None, now: datetime) -> dict[str, Any]:
        return {"username": self.username, "list": self.list, "status": self.status, "cursor": self.cursor,
                "pages": self.pages, "records": self.records, "crawl_id": crawl_id, "updated_at": now,
                "message": self.message}


def load_states(conn: Connection, names: Sequence[str], lists: Sequence[str]) -> dict[tuple[str, str], ListState]:
    """The stored checkpoints of `names` x `lists`, by (username, list)."""
    states: dict[tuple[str, str], ListState] = {}
    for part in chunked(list(names)):
        query = sa.select(PROGRESS).where(PROGRESS.c.username.in_(part), PROGRESS.c.list.in_(lists))
        for row in conn.execute(query).mappings():
            states[(row["username"], row["list"])] = ListState(
                row["username"], row["list"], row["status"], row["cursor"], row["pages"], row["records"],
                row["updated_at"], row["message"])
    return states


def save_checkpoint(conn: Connection, state: ListState, *, crawl_id: int | None, now: datetime) -> None:
    """Insert or replace the list's `user_list_progress` row."""
    upsert_rows(conn, PROGRESS, [state.row(crawl_id, now)], keys=("username", "list"),
                update=lambda excluded: {name: excluded[name] for name in CHECKPOINT_COLUMNS})


def store_list_page(conn: Connection, state: ListState, records: list[dict[str, Any]], *,
                    crawl_id: int | None, tags: tuple[str, ...], now: datetime, log_id: str | None = None) -> int:
    """The page's relation rows (and, for video lists, the videos themselves); returns rows written.
    A video that cannot be stored is quarantined and gets no relation row."""
    table = table_of(USER_LIST_TABLES[state.list])
    if state.list in VIDEO_LISTS:
        stored = store_videos(conn, records, crawl_id=crawl_id, tags=tags, now=now, log_id=log_id,
                              endpoint=LIST_PATHS[state.list])
        rows: dict[Any, dict[str, Any]] = {video_id: {} for video_id in stored.ids}
        other = "video_id"
    else:
        other = PEOPLE_COLUMNS[state.list]
        rows = {storable(person["username"]): {"display_name": storable(person.get("display_name"))}
                for person in records if isinstance(person.get("username"), str) and person["username"]}
    batch = [{"username": state.username, other: key, **extra, "crawl_id": crawl_id, "first_seen_at": now,
              "last_seen_at": now} for key, extra in sorted(rows.items())]
    updated = ("crawl_id", "last_seen_at") + (("display_name",) if other in PEOPLE_COLUMNS.values() else ())
    upsert_rows(conn, table, batch, keys=("username", other),
                update=lambda excluded: {name: excluded[name] for name in updated})
    return len(batch)
