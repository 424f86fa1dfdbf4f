"""UTC time for the whole process, injectable for tests and drills.

`CRAWLSPEC_TODAY=YYYY-MM-DD` pins "today" (relative spec dates, the index-lag rule and the quota
ledger's day all follow it), so a test can replay a week of nightly runs in a second.
"""

from __future__ import annotations

import os
from datetime import date, datetime, time, timedelta, timezone

TODAY_ENV = "CRAWLSPEC_TODAY"


def pinned_day() -> date | None:
    """The day `CRAWLSPEC_TODAY` pins, if any."""
    pinned = os.environ.get(TODAY_ENV, "").strip()
    if not pinned:
        return None
    try:
        return date.fromisoformat(pinned)
    except ValueError:
        raise ValueError(f"{TODAY_ENV}={pinned!r} is not a date; use YYYY-MM-DD") from None


def utc_now() -> datetime:
    """The current UTC time; on a pinned day, that day's date with the real time of day."""
    now = datetime.now(timezone.utc)
    pinned = pinned_day()
    return datetime.combine(pinned, now.timetz()) if pinned else now


def utc_today() -> date:
    return utc_now().date()


def next_utc_midnight(now: datetime) -> datetime:
    return datetime.combine(now.date() + timedelta(days=1), time(0, tzinfo=timezone.utc))
