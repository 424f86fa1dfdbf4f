"""Videos fetched with provisional counts, and the `matured_refetch` rows: the days of a spec re-fetched
once because their stored counts were fetched before they matured. Which days are due, and when, is
decided by the crawl (`crawlspec.crawl.provisional`). None of these commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from crawlspec.storage.bulk import dialect_insert
from crawlspec.storage.models import Crawl, MaturedRefetch, Video, videos_to_crawls
from crawlspec.storage.models.base import table_of

MATURED = table_of(MaturedRefetch)


def fetched_within(conn: Connection, lag_days: int) -> sa.ColumnElement[bool]:
    """The video's latest counts were fetched less than `lag_days` after its creation."""
    if conn.dialect.name == "sqlite":
        return (sa.func.julianday(Video.crawled_updated_at) - sa.func.julianday(Video.create_time)) < lag_days
    return (Video.crawled_updated_at - Video.create_time) < sa.func.make_interval(0, 0, 0, lag_days)


def _utc_day(conn: Connection) -> sa.ColumnElement[str]:
    if conn.dialect.name == "sqlite":
        return sa.func.substr(Video.create_time, 1, 10)
    return sa.func.to_char(sa.func.timezone("UTC", Video.create_time), "YYYY-MM-DD")


def days_with_provisional_videos(conn: Connection, fingerprint: str, lower: datetime, upper: datetime, *,
                                 lag_days: int) -> set[date]:
    """UTC days of the spec's videos created in [lower, upper) whose counts were fetched less than
    `lag_days` after their creation."""
    day = _utc_day(conn)
    query = (sa.select(day).distinct()
             .select_from(Video.__table__.join(videos_to_crawls, videos_to_crawls.c.video_id == Video.id)
                          .join(Crawl.__table__, Crawl.id == videos_to_crawls.c.crawl_id))
             .where(Crawl.fingerprint == fingerprint, Video.create_time >= lower, Video.create_time < upper,
                    fetched_within(conn, lag_days)))
    return {_as_date(value) for value in conn.execute(query).scalars()}


def refetched_days(conn: Connection, fingerprint: str, start: date, end: date) -> set[date]:
    """The spec's days in [start, end] already re-fetched because their counts matured."""
    return {_as_date(value) for value in conn.execute(sa.select(MATURED.c.day).where(
        MATURED.c.fingerprint == fingerprint, MATURED.c.day >= start, MATURED.c.day <= end)).scalars()}


def mark_refetched(conn: Connection, fingerprint: str, days: Iterable[date], *, crawl_id: int | None,
                   now: datetime) -> None:
    """Record the days as re-fetched (a day recorded before keeps its row)."""
    rows = [{"fingerprint": fingerprint, "day": day, "refetched_at": now, "crawl_id": crawl_id}
            for day in sorted(set(days))]
    if rows:
        conn.execute(dialect_insert(conn, MATURED).on_conflict_do_nothing(), rows)


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
