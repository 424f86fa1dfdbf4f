"""Two videos for the DataFrame tests: one with every nullable id beyond 2^53 (where float64 would round
it), one plain; stored through the storage layer."""

from __future__ import annotations

from datetime import datetime, timezone

from crawlspec.storage import crawls
from crawlspec.storage.database import open_database
from crawlspec.storage.videos import store_video_page

INT64_MAX = 2**63 - 1
NOW = datetime(2024, 3, 5, 12, 0, tzinfo=timezone.utc)
EXTREME = {  # every nullable id beyond 2^53, where float64 would round it
    "id": INT64_MAX, "create_time": 1709251200 + 3600, "username": "NA", "region_code": "US",
    "video_description": "null", "music_id": 2**53 + 1, "playlist_id": INT64_MAX - 1,
    "view_count": 2**62 + 3, "like_count": 0, "comment_count": 0, "share_count": 1,
    "hashtag_names": ["Shoes", "b", "a"], "effect_ids": ["63960564", "0"],
}
PLAIN = {"id": 2**53 + 7, "create_time": 1709251200, "username": "somebody", "region_code": "FR",
         "hashtag_names": [], "view_count": 5}


def store(db_url: str) -> None:
    engine = open_database(db_url)
    with engine.begin() as conn:
        crawl_id = crawls.start_crawl(conn, spec_name="frames", fingerprint="f" * 64, query={"and": []},
                                      start_date=NOW.date(), end_date=NOW.date(), tags=["t2", "t1"],
                                      overrides=None, now=NOW)
        store_video_page(conn, [EXTREME, PLAIN], crawl_id=crawl_id, tags=["t2", "t1"], now=NOW)
    engine.dispose()
