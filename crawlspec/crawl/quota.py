"""Quota: reserve every request in the shared ledger before it is sent, and decide what to do when
none may be sent (wait until the quota resets, interruptibly, or stop the run with exit 75)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from crawlspec.api.fields import quota_pool
from crawlspec.clock import next_utc_midnight, utc_now
from crawlspec.errors import QuotaExhausted
from crawlspec.logs import get_logger

if TYPE_CHECKING:
    from crawlspec.storage.ledger import QuotaLedger

WAIT_STRATEGIES = ("wait_next_utc_midnight", "wait_four_hours", "exit")


class RequestBudget:
    """Reserves one request in the shared ledger (and against `max_api_requests`) before each send.

    Installed as the client's `before_request` hook, so retries are charged like the API charges them.
    """

    def __init__(self, ledger: QuotaLedger, *, max_api_requests: int | None = None):
        self.ledger = ledger
        self.max_api_requests = max_api_requests
        self.used = 0
        self._lock = threading.Lock()
        self._thread = threading.local()

    def __call__(self, path: str) -> None:
        with self._lock:
            if self.max_api_requests is not None and self.used >= self.max_api_requests:
                raise QuotaExhausted(
                    f"limits.max_api_requests={self.max_api_requests} reached", source="limit")
            pool = quota_pool(path)
            day = self.ledger.today()
            if not self.ledger.reserve(pool, day=day):
                raise QuotaExhausted(
                    f"the daily budget of the '{pool}' pool is used up "
                    f"({self.ledger.used(pool)} requests recorded today in the quota ledger)",
                    source="ledger")
            self.used += 1
        self._thread.sent = self.sent_by_this_thread() + 1
        self._thread.reserved = (pool, day)   # what `release` gives back

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
