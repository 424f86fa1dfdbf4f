"""UTC time for the whole process, injectable for tests and drills.

`CRAWLSPEC_TODAY=YYYY-MM-DD` pins "today" (relative spec dates, the index-lag rule and the quota
ledger's day all follow it), so a test can replay a week of nightly runs in a second.
"""

from __future__ import annotations

import os
from datetime import date, datetime, time, timedelta, timezone

TODAY_ENV = "CRAWLSPEC_TODAY"


def utc_now() -> datetime:
    """The current UTC time; on a pinned day, that day's date with the real time of day."""
    now = datetime.now(timezone.utc)
    pinned = os.environ.get(TODAY_ENV)
    if pinned:
        return datetime.combine(date.fromisoformat(pinned), now.timetz())
    return now


def utc_today() -> date:
    return utc_now().date()


def next_utc_midnight(now: datetime) -> datetime:
    return datetime.combine(now.date() + timedelta(days=1), time(0, tzinfo=timezone.utc))
