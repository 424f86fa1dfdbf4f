"""What the enrichment stages (comments, creator info, user lists, playlists) share: the `Stage` base
(a quota-aware call, stop handling, failure bookkeeping), the result every stage reports
(`StageStats`), how stage outcomes combine into one exit code; the videos a spec has stored are read by
`crawlspec.storage.spec_videos` (re-exported here for the stages).

Stages run after `VideoCrawler.run()` and read what they need from the database, not from the video
pages in memory: a resumed run (whose video windows are already covered) finds the same work, minus
what earlier runs committed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timezone
from typing import Any, ClassVar, TypeVar

from crawlspec import exit_codes
from crawlspec.errors import ApiError, ApiUnreachable, Interrupted, QuotaExhausted, RunStopped
from crawlspec.logs import get_logger
from crawlspec.storage.failing_days import add_failure_spend

# The videos a spec has stored are read in storage; the stages keep finding them here.
T = TypeVar("T")


@dataclass
class StageStats:
    """What one stage did; `exit_code` follows the runner's rules (failure > resumable > ok)."""

    name: str
    requests: int = 0
    records: int = 0
    done: int = 0            # units finished (videos, creators, lists, playlists)
    skipped: int = 0         # units not asked for because the database already has them
    failed: int = 0
    stopped: str | None = None
    errors: list[str] = field(default_factory=list)
    unauthorized: list[str] = field(default_factory=list)   # endpoints answering scope_not_authorized

    @property
    def exit_code(self) -> int:
        if self.failed:
            return exit_codes.FAILURE
        if self.unauthorized:
            return exit_codes.CREDENTIALS_REJECTED
        return exit_codes.RESUMABLE if self.stopped else exit_codes.OK

    @property
    def outcome(self) -> str:
        if self.failed:
            return "failed"
        if self.unauthorized:
            return "not_authorized"
        return f"stopped:{self.stopped}" if self.stopped else "complete"

    def not_authorized(self, endpoint: str) -> None:
        if endpoint not in self.unauthorized:
            self.unauthorized.append(endpoint)

    def summary(self) -> str:
        text = (f"{self.name}: {self.records} stored, {self.done} done, {self.skipped} already known, "
                f"{self.requests} API requests")
        if self.failed:
            text += f", {self.failed} failed"
        if self.stopped:
            text += f", stopped ({self.stopped})"
        if self.unauthorized:
            text += (f"; not authorized for this project: {', '.join(self.unauthorized)} "
                     "(the rest is complete; asked again from the next UTC day)")
        return text


def combined_exit_code(codes: Iterable[int]) -> int:
    """The run's code from its stages' codes: any failure is 1, else any resumable stop is 75."""
    return exit_codes.worst(list(codes))


def call_with_quota(ctx: Any, fetch: Callable[[], T], log: Any) -> T:
    """`fetch()`, waiting out an exhausted quota per `api.on_quota_exhausted`; raises RunStopped when no
    request may be sent any more (a signal, or a quota/limit that may not be waited out)."""
    while True:
        if ctx.stop_event.is_set():
            raise RunStopped("interrupted")
        try:
            return fetch()
        except Interrupted as err:   # a signal during one of the client's waits
            raise RunStopped("interrupted", str(err)) from err
        except QuotaExhausted as err:
            if not ctx.waiter.wait_or_stop(err):
                if ctx.stop_event.is_set():   # a signal ended the quota wait
                    raise RunStopped("interrupted", str(err)) from err
                log.warning("stopping", reason=str(err), resumable=True)
                raise RunStopped.for_quota(err) from err


def call_counting_failures(ctx: Any, fetch: Callable[[], T], log: Any, count_failed: Callable[[int], None]) -> T:
    """`call_with_quota`, then `count_failed(n)` with the attempts of the call that delivered nothing (5xx,
    timeouts, refusals: charged by the API all the same), whether it succeeded or not."""
    sent_before, delivered = ctx.budget.sent_by_this_thread(), False
    try:
        answer = call_with_quota(ctx, fetch, log)
        delivered = True
        return answer
    finally:
        count_failed(ctx.budget.sent_by_this_thread() - sent_before - int(delivered))


class Stage:
    """The base of every enrichment stage: `run()` calls `work()`, ends it cleanly on RunStopped
    (`stats.stopped` says why) and counts the requests it cost. A subclass names itself (`name`) and
    says what is special about it in `work()`, sending each request through `call()`."""

    name: ClassVar[str]

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx
        self.stats = StageStats(self.name)
        self.log = get_logger(type(self).__module__)

    def run(self) -> StageStats:
        used_before = self.ctx.budget.used
        try:
            self.work()
        except RunStopped as stop:
            self.stats.stopped = stop.reason
        except ApiUnreachable as err:   # nothing can be sent now: a stop, resumable like the others
            self.stats.stopped = "api_unreachable"
            self.log.error("api_unreachable", stage=self.name, error=str(err),
                           note="no request can reach the API; what is stored is kept, run again later")
        self.stats.requests = self.ctx.budget.used - used_before
        return self.stats

    def work(self) -> None:
        raise NotImplementedError

    def call(self, fetch: Callable[[], T]) -> T:
        """One API call through the quota rules (see `call_with_quota`); its failed attempts are counted
        for `status`."""
        return call_counting_failures(self.ctx, fetch, self.log, self._count_failed)

    def _count_failed(self, requests: int) -> None:
        fingerprint = getattr(self.ctx, "fingerprint", None)
        if requests <= 0 or fingerprint is None:
            return
        with self.ctx.engine.begin() as conn:
            add_failure_spend(conn, fingerprint, self.ctx.clock().date(), requests)

    def failed(self, what: str, err: ApiError, event: str, /, **fields: Any) -> None:
        """One unit of work (`what`: "playlist 42") failed: counted, kept for the summary, logged as `event`."""
        self.stats.failed += 1
        self.stats.errors.append(f"{what}: {err}")
        self.log.error(event, **fields, error=str(err), log_id=getattr(err, "log_id", None))


def utc_midnight(now: datetime) -> datetime:
    return datetime.combine(now.astimezone(timezone.utc).date(), time.min, tzinfo=timezone.utc)
