"""A crawl and its first window, written through the storage layer at a fixed instant."""

from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy.engine import Connection

from crawlspec.storage.checkpoints import WindowState, open_window
from crawlspec.storage.crawls import start_crawl

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)
FP = "a" * 64
MARCH_1, MARCH_7 = date(2024, 3, 1), date(2024, 3, 7)


def new_crawl(conn: Connection, tags: tuple[str, ...] = ()) -> int:
    return start_crawl(conn, spec_name="shoes", fingerprint=FP, query={"and": [{"x": 1}]},
                       start_date=MARCH_1, end_date=MARCH_7, tags=list(tags), overrides=["spec.x=1"], now=T0)


def window(conn: Connection, crawl: int, start: date = MARCH_1, end: date = MARCH_7) -> WindowState:
    return open_window(conn, fingerprint=FP, start_date=start, end_date=end, crawl_id=crawl, now=T0)
