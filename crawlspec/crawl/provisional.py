"""Provisional metrics: the API's counts (views, likes, shares, comments) keep changing for up to
`api.stats_lag_days` (10) days after publication, so a video fetched sooner holds provisional counts.

With `run.refetch_provisional=true` the runner fetches again, once, every covered day of the spec whose
stored videos were fetched before their counts matured and are mature now; those days are recorded in
`matured_refetch` when their window completes, so each is re-fetched at most once for this reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

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


def days_to_refetch(conn: Connection, fingerprint: str, start: date, end: date, *, now: datetime,
                    lag_days: int) -> set[date]:
    """Days in [start, end], mature as a whole, holding a video of this spec fetched with provisional
    counts, and not yet re-fetched for that reason."""
    # A day is mature when its last second is `lag_days` old: videos of a younger day would be
    # fetched provisional again, and the day would not be re-fetched a second time.
    mature_before = datetime.combine((now - timedelta(days=lag_days)).date(), datetime.min.time(), tzinfo=now.tzinfo)
    upper = min(datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=now.tzinfo), mature_before)
    lower = datetime.combine(start, datetime.min.time(), tzinfo=now.tzinfo)
    day = _utc_day(conn)
    query = (sa.select(day).distinct()
             .select_from(Video.__table__.join(videos_to_crawls, videos_to_crawls.c.video_id == Video.id)
                          .join(Crawl.__table__, Crawl.id == videos_to_crawls.c.crawl_id))
             .where(Crawl.fingerprint == fingerprint, Video.create_time >= lower, Video.create_time < upper,
                    fetched_within(conn, lag_days)))
    candidates = {date.fromisoformat(str(value)) for value in conn.execute(query).scalars()}
    done = set(conn.execute(sa.select(MATURED.c.day).where(
        MATURED.c.fingerprint == fingerprint, MATURED.c.day >= start, MATURED.c.day <= end)).scalars())
    return {_as_date(d) for d in candidates} - {_as_date(d) for d in done}


def mark_refetched(conn: Connection, fingerprint: str, days: Iterable[date], *, crawl_id: int | None,
                   now: datetime) -> None:
    rows = [{"fingerprint": fingerprint, "day": day, "refetched_at": now, "crawl_id": crawl_id}
            for day in sorted(set(days))]
    if rows:
        conn.execute(dialect_insert(conn, MATURED).on_conflict_do_nothing(), rows)


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
