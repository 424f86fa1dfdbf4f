"""Mutable state of a running simulator: its clock, issued tokens, the daily quota and request stats.
All of it is shared by the server's threads, so every change happens under a lock."""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from datetime import date, datetime, timezone

from crawlspec.sim.columns import DAY, utc_timestamp


class SimClock:
    """The simulator's UTC clock: a base clock (injectable for tests) plus an offset.

    `today` shifts the start by whole days (keeping the time of day); `advance_day` jumps to the next
    UTC midnight. Token expiry, the quota day and log ids all read this clock."""

    def __init__(self, base: Callable[[], float] = time.time, today: date | None = None) -> None:
        self._base = base
        self._offset = 0.0
        self._lock = threading.Lock()
        if today is not None:
            self._offset = float(utc_timestamp(today) - utc_timestamp(self.today()))

    def now(self) -> float:
        return self._base() + self._offset

    def today(self) -> date:
        return datetime.fromtimestamp(self.now(), tz=timezone.utc).date()

    def advance_day(self) -> date:
        with self._lock:
            now = self.now()
            self._offset += (int(now // DAY) + 1) * DAY - now
        return self.today()


class TokenStore:
    """Issued access tokens and their expiry on the simulator's clock."""

    def __init__(self, clock: SimClock, ttl: int) -> None:
        self._clock, self._ttl = clock, ttl
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()
        self.issued = 0

    def issue(self) -> str:
        token = "clt.2." + secrets.token_urlsafe(32)
        now = self._clock.now()
        with self._lock:
            self._expiry = {t: exp for t, exp in self._expiry.items() if exp > now}   # forget expired ones
            self._expiry[token] = now + self._ttl
            self.issued += 1
        return token

    def is_valid(self, token: str | None) -> bool:
        if not token:
            return False
        with self._lock:
            expiry = self._expiry.get(token)
        return expiry is not None and self._clock.now() < expiry


class Quota:
    """Requests charged per UTC day and pool ('research' 1,000/day, 'follow' 20,000/day by default)."""

    def __init__(self, limits: dict[str, int]) -> None:
        self.limits = dict(limits)
        self._day: date | None = None
        self._used: Counter[str] = Counter()
        self._lock = threading.Lock()

    def charge(self, pool: str, day: date) -> bool:
        """Charge one request; False (and nothing charged) when the pool is exhausted for `day`."""
        with self._lock:
            self._roll(day)
            if self._used[pool] >= self.limits[pool]:
                return False
            self._used[pool] += 1
            return True

    def used(self, pool: str, day: date) -> int:
        with self._lock:
            self._roll(day)
            return self._used[pool]

    def _roll(self, day: date) -> None:
        if day != self._day:
            self._day, self._used = day, Counter()


class Stats:
    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self._lock = threading.Lock()

    def count_request(self, path: str) -> None:
        with self._lock:
            self.requests[path] += 1

    def count_fault(self, kind: str) -> None:
        with self._lock:
            self.faults[kind] += 1

    def snapshot(self) -> tuple[dict[str, int], dict[str, int]]:
        with self._lock:
            return dict(self.requests), dict(self.faults)


class BurstLimit:
    """A short-term rate limit: at most `count` requests in any `seconds` (sliding window, simulator
    clock). A refused request is not admitted and not counted in the window."""

    def __init__(self, clock: SimClock, count: int, seconds: float) -> None:
        self._clock, self._count, self._seconds = clock, count, seconds
        self._admitted: deque[float] = deque()
        self._lock = threading.Lock()

    def retry_after(self) -> int | None:
        """None: admitted now. Else the whole seconds until a request would be admitted."""
        now = self._clock.now()
        with self._lock:
            while self._admitted and self._admitted[0] <= now - self._seconds:
                self._admitted.popleft()
            if len(self._admitted) < self._count:
                self._admitted.append(now)
                return None
            return max(1, math.ceil(self._admitted[0] + self._seconds - now))
