"""Provisional metrics: the API's counts (views, likes, shares, comments) keep changing for up to
`api.stats_lag_days` (10) days after publication, so a video fetched sooner holds provisional counts.

With `run.refetch_provisional=true` the runner fetches again, once, every covered day of the spec whose
stored videos were fetched before their counts matured and are mature now; those days are recorded in
`matured_refetch` when their window completes, so each is re-fetched at most once for this reason.
This module decides which days are due; the rows are read and written by `crawlspec.storage.matured`.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy.engine import Connection

from crawlspec.storage import matured


def days_to_refetch(conn: Connection, fingerprint: str, start: date, end: date, *, now: datetime,
                    lag_days: int) -> set[date]:
    """Days in [start, end], mature as a whole, holding a video of this spec fetched with provisional
    counts, and not yet re-fetched for that reason."""
    # A day is mature when its last second is `lag_days` old: videos of a younger day would be
    # fetched provisional again, and the day would not be re-fetched a second time.
    mature_before = datetime.combine((now - timedelta(days=lag_days)).date(), datetime.min.time(), tzinfo=now.tzinfo)
    upper = min(datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=now.tzinfo), mature_before)
    lower = datetime.combine(start, datetime.min.time(), tzinfo=now.tzinfo)
    candidates = matured.days_with_provisional_videos(conn, fingerprint, lower, upper, lag_days=lag_days)
    return candidates - matured.refetched_days(conn, fingerprint, start, end)
