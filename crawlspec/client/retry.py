"""Retry policy, the client's one interruptible wait, and the layers of retries around one attempt.

Four layers: a throttle (429 `rate_limit_exceeded`: wait Retry-After or a growing pause, for at most
`throttle_max_wait_s` in all, then it counts as the day's end), transient failures (5xx, timeouts,
connection errors, non-JSON error bodies) with exponential waits or the server's Retry-After, a 2xx body
that is not a usable page, retried once (every attempt is charged, and a body broken twice is not fixed
by a third try), and the search-id/cursor quirk with a short growing wait. `backoff` drives the last
three (attempts, give-up rules, handlers); every wait goes through one `Wait` callable that ends at once
when the stop event is set (SIGINT/SIGTERM) and then raises `Interrupted`, so no request follows a
signal. Tests inject the sleep and record waits instead of sleeping.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import backoff
from backoff.types import Details

from crawlspec.client.classify import Outcome, Verdict
from crawlspec.errors import Interrupted, QuotaExhausted, RetriesExhausted, SearchIdRejected

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry. Tries count attempts (the first one included)."""

    max_tries: int = 6
    base_wait_s: float = 2.0
    max_wait_s: float = 120.0
    search_id_tries: int = 5
    search_id_wait_s: float = 5.0
    unparsable_tries: int = 2          # a 2xx body that is not a usable page: one retry (the API charges it)
    throttle_wait_s: float = 5.0        # first pause after a throttle 429 without Retry-After, doubling ...
    throttle_cap_wait_s: float = 60.0   # ... up to this
    throttle_max_wait_s: float = 600.0  # throttled longer than this in all (one request): the day's end

    def transient_wait(self, tries: int, retry_after_s: float | None) -> float:
        """Wait after the `tries`-th failed attempt: Retry-After when given (capped at max_wait_s),
        else base * 2^(tries-1) capped at max_wait_s."""
        if retry_after_s is not None:
            return min(retry_after_s, self.max_wait_s)
        return min(self.max_wait_s, self.base_wait_s * 2.0 ** (tries - 1))

    def search_id_wait(self, tries: int) -> float:
        return self.search_id_wait_s * tries

    def throttle_wait(self, tries: int, retry_after_s: float | None) -> float:
        """Pause after the `tries`-th throttle 429: Retry-After when given, else a doubling pause (capped)."""
        if retry_after_s is not None:
            return retry_after_s
        return min(self.throttle_cap_wait_s, self.throttle_wait_s * 2.0 ** (tries - 1))


class Wait:
    """The client's only way to pause: `stop_event.wait` (or an injected `sleep`), ending at once on a
    signal. Raises `Interrupted` when the stop event is set before or after the pause."""

    def __init__(self, stop_event: threading.Event | None = None,
                 sleep: Callable[[float], None] | None = None):
        self.stop_event = stop_event or threading.Event()
        self._sleep = sleep

    def __call__(self, seconds: float, *, why: str = "waiting") -> None:
        self.check(why)
        if self._sleep is not None:
            self._sleep(seconds)
        else:
            self.stop_event.wait(max(0.0, seconds))
        self.check(why)

    def check(self, why: str = "before a request") -> None:
        if self.stop_event.is_set():
            raise Interrupted(f"stopped by a signal ({why}); no request was sent after it. Committed "
                              "work is safe; run the same command again to resume.")


class Pacer:
    """Client-side pacing: at most `per_minute` requests a minute, spaced evenly (None: no pacing)."""

    def __init__(self, per_minute: float | None, wait: Wait, clock: Callable[[], float] = time.monotonic):
        self._interval = 60.0 / per_minute if per_minute else 0.0
        self._wait, self._clock = wait, clock
        self._next_at: float | None = None
        self._lock = threading.Lock()

    def pace(self) -> None:
        if not self._interval:
            return
        with self._lock:
            now = self._clock()
            due = now if self._next_at is None else max(now, self._next_at)
            self._next_at = due + self._interval
        if due > now:
            self._wait(due - now, why="pacing requests (api.max_requests_per_minute)")


class AttemptFailed(Exception):
    """Internal: one attempt failed in a way a retry may fix. Never escapes the client."""

    def __init__(self, outcome: Outcome, verdict: Verdict):
        super().__init__(verdict.reason)
        self.outcome = outcome
        self.verdict = verdict


class TransientFailure(AttemptFailed):
    pass


class SearchIdFailure(AttemptFailed):
    pass


class UnparsableFailure(AttemptFailed):
    pass


class ThrottleFailure(AttemptFailed):
    """A 429 `rate_limit_exceeded` (or a bare 429): the API asks us to slow down, not to stop for the day."""


def _zero_waits() -> Generator[float, None, None]:
    while True:
        yield 0.0


def with_throttle(attempt: Callable[..., T], *, policy: RetryPolicy, wait: Callable[..., None],
                  log: Any, quota_error: Callable[[AttemptFailed, str], QuotaExhausted]) -> Callable[..., T]:
    """Retry throttled attempts; a throttle lasting beyond `throttle_max_wait_s` (or a Retry-After that
    asks for more than is left of it) becomes `quota_error(...)`: the day's end for the runner."""

    @functools.wraps(attempt)
    def call(*args: Any, **kwargs: Any) -> T:
        waited, tries = 0.0, 0
        while True:
            try:
                return attempt(*args, **kwargs)
            except ThrottleFailure as failure:
                tries += 1
                pause = policy.throttle_wait(tries, failure.verdict.retry_after_s)
                if waited + pause > policy.throttle_max_wait_s:
                    raise quota_error(failure, f"throttled for {round(waited)} s over {tries} attempts and "
                                      f"asked to wait {round(pause)} s more, beyond api.throttle_max_wait_s="
                                      f"{policy.throttle_max_wait_s:g}") from None
                log.warning("api_throttled", endpoint=failure.outcome.path, reason=failure.verdict.reason,
                            attempt=tries, wait_s=round(pause, 3), log_id=failure.outcome.log_id,
                            note="a short-term rate limit, not the daily quota: retrying after the pause")
                wait(pause, why="waiting out a 429 rate limit")
                waited += pause

    return call


def _failure_of(details: Details) -> AttemptFailed:
    """The failed attempt an `on_exception` handler is told about (backoff's `Details` omits the key)."""
    failure = cast("Mapping[str, Any]", details)["exception"]
    assert isinstance(failure, AttemptFailed)
    return failure


def with_retries(attempt: Callable[..., T], *, policy: RetryPolicy, sleep: Callable[[float], None],
                 log: Any) -> Callable[..., T]:
    """Wrap a single-attempt function; turn exhausted retries into the public exceptions. `sleep` is the
    client's `Wait` (interruptible) or a plain callable."""

    def waited(wait_of: Callable[[int, AttemptFailed], float]) -> Callable[[Details], None]:
        def on_backoff(details: Details) -> None:
            failure = _failure_of(details)
            wait = wait_of(details["tries"], failure)
            log.warning("api_retry", endpoint=failure.outcome.path, reason=failure.verdict.reason,
                        status=failure.outcome.status, attempt=details["tries"], wait_s=round(wait, 3),
                        log_id=failure.outcome.log_id)
            sleep(wait)
        return on_backoff

    search_id_layer = backoff.on_exception(
        _zero_waits, SearchIdFailure, max_tries=policy.search_id_tries, jitter=None, logger=None,
        on_backoff=waited(lambda tries, _f: policy.search_id_wait(tries)))(attempt)
    unparsable_layer = backoff.on_exception(
        _zero_waits, UnparsableFailure, max_tries=policy.unparsable_tries, jitter=None, logger=None,
        on_backoff=waited(lambda tries, _f: policy.transient_wait(tries, None)))(search_id_layer)
    transient_layer = backoff.on_exception(
        _zero_waits, TransientFailure, max_tries=policy.max_tries, jitter=None, logger=None,
        on_backoff=waited(lambda tries, f: policy.transient_wait(tries, f.verdict.retry_after_s)))(
        unparsable_layer)

    @functools.wraps(attempt)
    def call(*args: Any, **kwargs: Any) -> T:
        try:
            return transient_layer(*args, **kwargs)
        except TransientFailure as failure:
            raise _exhausted(RetriesExhausted, failure, policy.max_tries,
                             "Committed work is safe; run the same command again later.") from None
        except UnparsableFailure as failure:
            raise _exhausted(RetriesExhausted, failure, policy.unparsable_tries,
                             "Committed work is safe; run the same command again later.") from None
        except SearchIdFailure as failure:
            raise _exhausted(SearchIdRejected, failure, policy.search_id_tries,
                             "The window restarts from cursor 0.") from None

    return call


def _exhausted(cls: type[RetriesExhausted] | type[SearchIdRejected], failure: AttemptFailed, tries: int,
               advice: str) -> Exception:
    outcome = failure.outcome
    message = f"{outcome.message or failure.verdict.reason} (gave up after {tries} attempts; {advice})"
    return cls(message, status=outcome.status, code=outcome.code or failure.verdict.reason,
               log_id=outcome.log_id, endpoint=outcome.path)
