"""A settable UTC clock for tests: the ledger and the crawl read the time through it, never the real one."""

from __future__ import annotations

from datetime import datetime


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now
