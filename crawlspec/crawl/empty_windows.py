"""Windows that answer no video at all: an outage can answer 0 videos for every day without an error,
so one empty answer is not proof that the days are empty.

The days of an empty window are recorded in `empty_day`, not covered. A later run asks them again
(grouped among themselves, one request per window when they are still empty) once
`run.confirm_empty_after_hours` have passed; the second empty answer confirms them and covers them.
If the second answer has videos, the days are stored and covered like any other. Days inside the API's
index lag are never covered anyway, so they are not recorded here. This module decides; the rows are
read and written by `crawlspec.storage.empty_days`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.engine import Connection

from crawlspec.storage import checkpoints
from crawlspec.storage import empty_days as storage

DEFAULT_CONFIRM_AFTER_HOURS = 24.0


@dataclass(frozen=True)
class EmptyDays:
    """A spec's days answered empty once: those to leave alone this run, and those due for the check."""

    waiting: frozenset[date]
    due: frozenset[date]


def load(conn: Connection, fingerprint: str, start: date, end: date, *, now: datetime,
         confirm_after: timedelta) -> EmptyDays:
    recorded = storage.empty_days_between(conn, fingerprint, start, end)
    due = frozenset(day for day, first in recorded.items() if first <= now - confirm_after)
    return EmptyDays(waiting=frozenset(recorded) - due, due=due)


def unconfirmed_days(conn: Connection, fingerprint: str) -> list[date]:
    """For `crawlspec status`: every day of the spec answered empty once and not confirmed yet."""
    return storage.all_empty_days(conn, fingerprint)


def settle_window(conn: Connection, fingerprint: str, days: Iterable[date], *, videos: int,
                  now: datetime, confirm_after: timedelta) -> list[date]:
    """Call in the transaction of a window's last page, with the window's coverable days and the
    videos it delivered in all. Returns the days to cover now; records the others as empty once."""
    days = sorted(set(days))
    if not days:
        return []
    if videos:
        storage.delete_empty_days(conn, fingerprint, days)
        return days
    known = storage.empty_days_among(conn, fingerprint, days)
    confirmed = [day for day in days if day in known and known[day] <= now - confirm_after]
    storage.delete_empty_days(conn, fingerprint, confirmed)
    storage.record_empty_days(conn, fingerprint, [day for day in days if day not in known], now=now)
    return confirmed


def spec_had_videos(conn: Connection, fingerprint: str) -> bool:
    """Whether other windows of the same spec delivered videos (an empty answer after them is
    suspicious: the API may be answering empty for everything)."""
    return checkpoints.spec_had_videos(conn, fingerprint)
