"""Test data for the export tests: a small database written through the storage layer,
the database rows as plain Python values, and a fast synthetic filler for the memory test."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from crawlspec.storage import models
from crawlspec.storage.crawls import start_crawl
from crawlspec.storage.database import open_database
from crawlspec.storage.videos import store_comments, store_user_info, store_video_page

MAX_ID = 2**63 - 1
ABOVE_2_53 = 2**53 + 1  # the first integer a float64 cannot hold
NOW = datetime(2024, 4, 2, 8, 30, 15, 123456, tzinfo=timezone.utc)
UNICODE_TEXT = 'ünïcødé 日本語 🎉 «quoted», comma; semicolon "double" \'single\'\nsecond line\ttab'

VIDEO_SHOES = {
    "id": MAX_ID, "create_time": 1709294400, "username": "ana", "region_code": "US",
    "video_description": UNICODE_TEXT, "music_id": ABOVE_2_53, "like_count": MAX_ID - 1, "comment_count": 0,
    "share_count": 3, "view_count": 10**12, "hashtag_names": ["zebra", "Äpfel", "shoes"],
    "effect_ids": ["9007199254740993", "42"], "is_stem_verified": True,
    "video_mention_list": ["x"], "nested": {"big": 2**62 + 7, "text": "ü"},
}
VIDEO_HATS = {
    "id": ABOVE_2_53, "create_time": 1709380800, "username": "bob", "region_code": "FR",
    "video_description": "nul\x00byte", "music_id": None, "like_count": None,
}
VIDEO_BOTH = {
    "id": 7_000_000_000_000_000_001, "create_time": 1709467200, "username": "ana", "region_code": "DE",
    "video_description": "", "playlist_id": 2**60 + 3, "hashtag_names": ["hats"],
}
VIDEO_UNCRAWLED = {"id": 12345, "username": "NA", "region_code": "NULL"}  # words pandas/R take for NA
VIDEO_IDS = sorted([MAX_ID, ABOVE_2_53, 7_000_000_000_000_000_001, 12345])

COMMENTS = [
    {"id": MAX_ID - 5, "video_id": MAX_ID, "parent_comment_id": MAX_ID, "text": "привет 👋",
     "like_count": 2**40, "reply_count": 1, "create_time": 1709300000},
    {"id": 2**62, "video_id": MAX_ID, "parent_comment_id": MAX_ID - 5, "text": None, "create_time": 1709300001},
    {"id": 2**54 + 1, "video_id": ABOVE_2_53, "parent_comment_id": ABOVE_2_53, "text": "hats!"},
    {"id": 99, "video_id": 12345, "parent_comment_id": 12345, "text": "uncrawled"},
]
USERS = {
    "ana": {"display_name": "Ana ✨", "bio_description": UNICODE_TEXT, "is_verified": True,
            "follower_count": MAX_ID, "following_count": 0, "likes_count": ABOVE_2_53, "video_count": 2},
    "bob": {"display_name": "Bob", "is_verified": False, "follower_count": None},
    "carl": {},
    "NA": {"display_name": "None", "bio_description": "nan"},
}


def _crawl(conn: Connection, spec: str, tags: list[str]) -> int:
    return start_crawl(conn, spec_name=spec, fingerprint=f"fp-{spec}", query={"and": []},
                       start_date=date(2024, 3, 1), end_date=date(2024, 3, 31), tags=tags, overrides=None,
                       now=NOW)


def populate(url: str) -> Engine:
    """Create a crawlspec database at `url` with two crawls (shoes: tags shoes+nightly; hats: tag hats)."""
    engine = open_database(url)
    with engine.begin() as conn:
        shoes = _crawl(conn, "shoes", ["shoes", "nightly"])
        hats = _crawl(conn, "hats", ["hats"])
        store_video_page(conn, [VIDEO_SHOES, VIDEO_BOTH], crawl_id=shoes, tags=["shoes", "nightly"], now=NOW)
        store_video_page(conn, [VIDEO_HATS, VIDEO_BOTH], crawl_id=hats, tags=["hats"], now=NOW)
        store_video_page(conn, [VIDEO_UNCRAWLED], crawl_id=None, tags=[], now=NOW)
        store_comments(conn, COMMENTS, now=NOW)
        store_user_info(conn, USERS, now=NOW)
    return engine


def database_rows(engine: Engine, table: str) -> list[dict[str, Any]]:
    """Every row of `table` as the ORM-typed values (aware UTC datetimes, decoded JSON), ordered by key,
    with the video/crawl list columns built by plain per-row queries (independent of the export code)."""
    model = models.Base.metadata.tables[table]
    with engine.connect() as conn:
        rows = [dict(row) for row in conn.execute(sa.select(model).order_by(*model.primary_key)).mappings()]
        for row in rows:
            if table == "video":
                row["hashtag_names"] = _names(conn, models.videos_to_hashtags, "hashtag_id", "hashtag", "name",
                                              row["id"])
                row["effect_ids"] = _names(conn, models.videos_to_effect_ids, "effect_id", "effect", "effect_id",
                                           row["id"])
                row["crawl_tags"] = _names(conn, models.videos_to_crawl_tags, "crawl_tag_id", "crawl_tag", "name",
                                           row["id"])
            elif table == "crawl":
                row["crawl_tags"] = _names(conn, models.crawls_to_crawl_tags, "crawl_tag_id", "crawl_tag", "name",
                                           row["id"], owner="crawl_id")
    return rows


def _names(conn: Connection, link: sa.Table, item_key: str, items_name: str, item_col: str, owner_id: int,
           owner: str = "video_id") -> list[str]:
    items = models.Base.metadata.tables[items_name]
    query = (sa.select(items.c[item_col]).join(link, link.c[item_key] == items.c.id)
             .where(link.c[owner] == owner_id))
    return sorted(conn.execute(query).scalars())


# ---- synthetic bulk data (memory test) ----------------------------------------------------------

def fill_synthetic_videos(engine: Engine, count: int, *, description_chars: int = 600,
                          chunk: int = 5_000) -> None:
    """`count` fat video rows (ids above 2^62) with two hashtags each, every tenth one with crawl tag
    `tenth`, inserted with Core executemany."""
    tables = models.Base.metadata.tables
    video, link, hashtag = tables["video"], tables["videos_to_hashtags"], tables["hashtag"]
    filler = ("lorem ipsum dolor sit amet ünï " * (description_chars // 30 + 1))[:description_chars]
    with engine.begin() as conn:
        conn.execute(sa.insert(hashtag), [{"id": i + 1, "name": f"tag{i}"} for i in range(100)])
        conn.execute(sa.insert(tables["crawl_tag"]), [{"id": 1, "name": "tenth"}])
    for start in range(0, count, chunk):
        rows, links = [], []
        for n in range(start, min(start + chunk, count)):
            video_id = 2**62 + n * 7919
            rows.append({"id": video_id, "create_time": NOW, "username": f"user{n % 5000}", "region_code": "US",
                         "video_description": f"{n} {filler}", "music_id": video_id + 1, "like_count": n,
                         "comment_count": n % 7, "share_count": None, "view_count": n * 10,
                         "playlist_id": None, "voice_to_text": None, "crawled_at": NOW,
                         "crawled_updated_at": NOW, "extra_data": {"is_stem_verified": n % 2 == 0}})
            links += [{"video_id": video_id, "hashtag_id": n % 100 + 1},
                      {"video_id": video_id, "hashtag_id": (n + 1) % 100 + 1}]
        tagged = [{"video_id": row["id"], "crawl_tag_id": 1} for row in rows if row["like_count"] % 10 == 0]
        with engine.begin() as conn:
            conn.execute(sa.insert(video), rows)
            conn.execute(sa.insert(link), links)
            conn.execute(sa.insert(tables["videos_to_crawl_tags"]), tagged)


def canonical(value: Any) -> Any:
    """A database value in the shape the exports promise: ISO-8601 UTC text for datetimes."""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).replace(tzinfo=None).isoformat() + "Z"
    if isinstance(value, date):
        return value.isoformat()
    return value


def json_roundtrip(value: Any) -> Any:
    return json.loads(json.dumps(value))
