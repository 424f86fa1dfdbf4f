"""Retry policy and the `backoff` decorators around one attempt.

Three layers: transient failures (5xx, timeouts, connection errors, non-JSON error bodies) with
exponential waits or the server's Retry-After; a 2xx body that is not a usable page, retried once (every
attempt is charged, and a body broken twice is not fixed by a third try); and the search-id/cursor quirk (api-notes 5.1) with a short growing
wait. `backoff` drives the attempts, the give-up rules and the handlers; the wait itself happens in the
`on_backoff` handler through the client's injectable `sleep` (backoff is handed zero waits), so tests
record waits instead of sleeping and a Retry-After value is honoured exactly.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import backoff

from crawlspec.client.classify import Outcome, Verdict
from crawlspec.errors import RetriesExhausted, SearchIdRejected

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

    def transient_wait(self, tries: int, retry_after_s: float | None) -> float:
        """Wait after the `tries`-th failed attempt: Retry-After when given (capped at max_wait_s),
        else base * 2^(tries-1) capped at max_wait_s."""
        if retry_after_s is not None:
            return min(retry_after_s, self.max_wait_s)
        return min(self.max_wait_s, self.base_wait_s * 2 ** (tries - 1))

    def search_id_wait(self, tries: int) -> float:
        return self.search_id_wait_s * tries


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


def _zero_waits() -> Iterator[float]:
    while True:
        yield 0.0


def with_retries(attempt: Callable[..., T], *, policy: RetryPolicy, sleep: Callable[[float], None],
                 log: Any) -> Callable[..., T]:
    """Wrap a single-attempt function; turn exhausted retries into the public exceptions."""

    def waited(wait_of: Callable[[int, AttemptFailed], float]) -> Callable[[dict[str, Any]], None]:
        def on_backoff(details: dict[str, Any]) -> None:
            failure: AttemptFailed = details["exception"]
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
