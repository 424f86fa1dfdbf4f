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


def iso_utc(value: datetime | str | None) -> str | None:
    """One timestamp format for everything crawlspec shows: ISO 8601 in UTC to the second,
    `2024-03-01T12:00:00Z`. Naive values (SQLite text) are UTC already."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
