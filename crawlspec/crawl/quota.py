"""Quota: reserve every request in the shared ledger before it is sent, and decide what to do when
none may be sent (wait until the quota resets, interruptibly, or stop the run with exit 75)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from crawlspec.api.fields import quota_pool
from crawlspec.clock import next_utc_midnight, utc_now
from crawlspec.errors import QuotaExhausted
from crawlspec.logs import get_logger

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from crawlspec.storage.ledger import QuotaLedger

WAIT_STRATEGIES = ("wait_next_utc_midnight", "wait_four_hours", "exit")


@dataclass(frozen=True)
class Reservation:
    """One request reserved ahead in a caller's transaction (`RequestBudget.reserve_ahead`): its pool,
    its UTC day and the day's count with it."""

    pool: str
    day: date
    used: int


class RequestBudget:
    """Reserves one request in the shared ledger (and against `max_api_requests`) before each send.

    Installed as the client's `before_request` hook, so retries are charged like the API charges them.
    A reservation made ahead (`reserve_ahead`, committed with a page) is used by the same thread's next
    request of its pool on its day instead of a transaction of its own; `release_unused` gives back
    what was never used.
    """

    def __init__(self, ledger: QuotaLedger, *, max_api_requests: int | None = None):
        self.ledger = ledger
        self.max_api_requests = max_api_requests
        self.used = 0
        self._lock = threading.Lock()
        self._thread = threading.local()
        self._ahead: dict[int, Reservation] = {}   # thread id -> a committed reservation not used yet

    def __call__(self, path: str) -> None:
        with self._lock:
            if self.max_api_requests is not None and self.used >= self.max_api_requests:
                raise QuotaExhausted(
                    f"limits.max_api_requests={self.max_api_requests} reached", source="limit")
            pool = quota_pool(path)
            day = self.ledger.today()
            if not self._use_ahead(pool, day) and not self.ledger.reserve(pool, day=day):
                raise QuotaExhausted(
                    f"the daily budget of the '{pool}' pool is used up "
                    f"({self.ledger.used(pool)} requests recorded today in the quota ledger)",
                    source="ledger")
            self.used += 1
        self._thread.sent = self.sent_by_this_thread() + 1
        self._thread.reserved = (pool, day)   # what `release` gives back

    def _use_ahead(self, pool: str, day: date) -> bool:
        """Use this thread's reservation made ahead for `pool` (the lock is held). One made on an earlier
        UTC day is given back to its day instead (the request is counted on the day it is sent)."""
        ahead = self._ahead.get(threading.get_ident())
        if ahead is None or ahead.pool != pool:
            return False
        del self._ahead[threading.get_ident()]
        if ahead.day == day:
            return True
        self.ledger.release(ahead.pool, ahead.day)
        return False

    def reserve_ahead(self, conn: Connection, path: str) -> Reservation | None:
        """Reserve the request this thread sends next, as the last statement of its open transaction
        `conn` (the video crawl's page transaction: one transaction per page instead of two). Pass the
        result to `hold` once the transaction has committed (a rollback takes the reservation with it).
        None (nothing reserved, the request will reserve as usual): the ledger is not in `conn`'s
        database, `max_api_requests` is reached, the pool is exhausted, or this thread holds one already."""
        reserve_in = getattr(self.ledger, "reserve_in", None)
        if reserve_in is None or getattr(self.ledger, "engine", None) is not conn.engine:
            return None
        # Read without `_lock`: the caller's transaction may hold SQLite's write lock, and another thread
        # holding `_lock` while it waits for that lock (`__call__`) would stall both until the busy timeout.
        if threading.get_ident() in self._ahead or (
                self.max_api_requests is not None and self.used >= self.max_api_requests):
            return None
        pool, day = quota_pool(path), self.ledger.today()
        used = reserve_in(conn, pool, day=day)
        return None if used is None else Reservation(pool, day, used)

    def hold(self, reservation: Reservation | None) -> None:
        """Keep a reservation whose transaction committed, for this thread's next request of its pool."""
        if reservation is None:
            return
        with self._lock:
            self._ahead[threading.get_ident()] = reservation
        self.ledger.note_used(reservation.pool, reservation.day, reservation.used)

    def release_unused(self) -> int:
        """Give back every reservation made ahead and never used (the crawl stopped, or its window was
        finished by another process, before the next request); returns how many."""
        with self._lock:
            unused, self._ahead = list(self._ahead.values()), {}
            for reservation in unused:
                self.ledger.release(reservation.pool, reservation.day)
        return len(unused)

    def release(self, path: str) -> None:
        """Undo this thread's last reservation, for a request the API did not charge: never sent (no
        access token could be had: the API unreachable, the credentials refused), or answered 429."""
        reserved = getattr(self._thread, "reserved", None)
        if reserved is None or reserved[0] != quota_pool(path):
            return   # nothing reserved by this thread for that pool: nothing to give back
        self._thread.reserved = None
        with self._lock:
            self.ledger.release(*reserved)
            self.used -= 1
        self._thread.sent = self.sent_by_this_thread() - 1

    def sent_by_this_thread(self) -> int:
        """Requests reserved by the calling thread (what one call cost, even when stages share the budget)."""
        return getattr(self._thread, "sent", 0)

    def remaining(self, pool: str = "research") -> int:
        """Requests left today in `pool` as of this budget's last reservation (the page log line asks after
        every page: no query then); other processes' reservations since then are not counted."""
        return self.ledger.remaining_known(pool)


class QuotaWaiter:
    """Decides what to do when no request may be sent: wait (interruptibly) or stop the run."""

    def __init__(self, strategy: str, *, stop_event: threading.Event,
                 clock: Callable[[], datetime] = utc_now,
                 sleep: Callable[[float], None] | None = None):
        if strategy not in WAIT_STRATEGIES:
            raise ValueError(f"unknown on_quota_exhausted strategy {strategy!r}")
        self.strategy = strategy
        self.stop_event = stop_event
        self.clock = clock
        self.sleep = sleep or (lambda seconds: stop_event.wait(seconds))
        self.log = get_logger("crawlspec.crawl.quota")

    def wait_or_stop(self, err: QuotaExhausted) -> bool:
        """True after waiting (try again); False when the run must stop (exit 75)."""
        if err.source == "limit" or self.strategy == "exit":
            return False
        now = self.clock()
        until = next_utc_midnight(now) if self.strategy == "wait_next_utc_midnight" \
            else now + timedelta(hours=4)
        self.log.warning("quota_wait", reason=str(err), source=err.source,
                         resume_at=until.isoformat(), strategy=self.strategy)
        self.sleep(max(0.0, (until - now).total_seconds()))
        return not self.stop_event.is_set()
