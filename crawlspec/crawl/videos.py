"""The runner: a compiled spec in, API pages committed with their checkpoints out.

Rules it keeps:
- the unit of completion is (fingerprint, UTC day); covered days are never fetched again unless
  `refetch` is asked for, and days younger than the API's index lag are fetched but never covered;
- one transaction per API page: the page's rows and the advanced window checkpoint commit together,
  so a crawl killed at any instant resumes from its last committed cursor;
- every request is reserved in the shared quota ledger before it is sent (`RequestBudget`);
- a window still failing with 5xx after the client's retries is split in halves down to single days,
  and a single day that still fails is recorded and skipped for a growing time
  (`crawlspec.crawl.failing_days`); failing days are never covered;
- with `days_per_query: auto` each window is chosen when the crawl gets to it
  (`crawlspec.crawl.window_plan`), a window's first page gets one attempt and a 5xx gives its days back
  to be planned anew, and every lesson is committed with the event (`crawlspec.crawl.auto_windows`).
"""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from crawlspec import exit_codes
from crawlspec.api.fields import VIDEO_QUERY_PATH
from crawlspec.client import TikTokVideoRequest
from crawlspec.clock import utc_now
from crawlspec.crawl import auto_windows, empty_windows, leases, provisional, window_plan
from crawlspec.crawl import failing_days as failing
from crawlspec.crawl.paging import Paginator
from crawlspec.crawl.quota import QuotaWaiter, RequestBudget
from crawlspec.crawl.stage import call_counting_failures
from crawlspec.errors import (
    ApiError,
    ApiUnreachable,
    CursorNotAdvancing,
    RetriesExhausted,
    RunStopped,
    SearchIdRejected,
)
from crawlspec.logs import get_logger
from crawlspec.spec.compile import CompiledSpec
from crawlspec.spec.windows import Window, group_days
from crawlspec.storage import checkpoints, crawls, matured
from crawlspec.storage import failing_days as failure_rows
from crawlspec.storage.failures import is_lock_timeout
from crawlspec.storage.spec_videos import tag_spec_videos
from crawlspec.storage.videos import crawl_tag_ids, store_videos, video_record_id

LEASE = leases.LEASE_LIFETIME
"""How long a window stays reserved for the process crawling it without a renewal (`crawlspec.crawl.leases`:
a heartbeat renews it while the process works, and it is released when the process stops)."""
SPLIT_STREAK_LIMIT = 8
"""After this many failed windows in a row (no success between), a failing window's days are recorded as
failing at once instead of split further: an API failing broadly costs one call per window, not 2n-1."""


@dataclass(frozen=True)
class RunnerSettings:
    on_quota_exhausted: str = "wait_next_utc_midnight"
    index_lag_days: int = 2
    refetch: bool = False
    refetch_provisional: bool = False   # re-fetch once the covered days whose stored counts were provisional
    stats_lag_days: int = 10
    confirm_empty_after_hours: float = empty_windows.DEFAULT_CONFIRM_AFTER_HOURS
    retry_failing: bool = False        # retry every parked failing day now, due or not
    failing_retry_max_days: int = failing.DEFAULT_MAX_SPACING_DAYS


@dataclass
class CrawlStats:
    """What a run did; `exit_code` follows the rules of `crawlspec.exit_codes`."""

    videos: int = 0
    pages: int = 0
    requests: int = 0
    windows_done: int = 0
    windows_failed: int = 0
    windows_left: int = 0
    windows_leased_elsewhere: int = 0
    stopped: str | None = None  # "quota" | "limit" | "interrupted" | "api_unreachable" when stopped early
    unreachable: str | None = None     # why the API could not be reached (stopped "api_unreachable")
    errors: list[str] = field(default_factory=list)
    days_failing: list[str] = field(default_factory=list)   # days recorded as failing by this run
    days_failing_skipped: int = 0      # failing days not yet due for a retry (0 requests sent for them)
    next_failing_retry: date | None = None  # the earliest retry date of the skipped days
    failed_requests: int = 0           # attempts that failed (charged by the API all the same)

    @property
    def exit_code(self) -> int:
        """README "Exit codes": failing days alone do not fail a run that collected something (its summary
        and `status` list them); a run whose every window ended as failing days exits 1."""
        if self.windows_failed:
            return exit_codes.FAILURE
        if self.stopped or self.windows_left:
            return exit_codes.RESUMABLE
        if self.days_failing and not self.windows_done:
            return exit_codes.FAILURE
        if self.parked_only:
            return exit_codes.RESUMABLE
        return exit_codes.OK

    @property
    def parked_only(self) -> bool:
        """Nothing was collected or tried: every day left is a failing day waiting for its retry date.
        Not complete (the days are missing) and not a failure (they are retried later): resumable."""
        return bool(self.days_failing_skipped) and not (self.windows_done or self.days_failing or self.pages)

    @property
    def outcome(self) -> str:
        if self.exit_code == exit_codes.FAILURE:
            return "failed"
        if self.stopped:
            return f"stopped:{self.stopped}"
        if self.windows_left:
            return "incomplete"
        if self.parked_only:
            return "waiting:failing_days"
        return "complete:failing_days" if self.days_failing or self.days_failing_skipped else "complete"


PageHook = Callable[[list[dict[str, Any]]], None]


@dataclass(frozen=True)
class RunContext:
    """Everything a stage of the runner needs besides the spec."""

    engine: Engine
    client: Any  # a crawlspec.client.TikTokApiRequestClient, or a test's stand-in with the same methods
    budget: RequestBudget
    waiter: QuotaWaiter
    crawl_id: int
    stop_event: threading.Event
    clock: Callable[[], datetime] = utc_now
    fingerprint: str | None = None   # the spec's, under which failed attempts are counted (`status`)
    on_page: PageHook | None = None  # called with each video page's videos once the page is committed


@dataclass(frozen=True)
class PendingWork:
    """What a run has to fetch: unfinished windows to resume (inside the requested days, not yet covered),
    then the other pending days, the days due for a retry (failing or empty once) apart from the healthy
    ones, so a day that still fails never drags healthy days into its failures."""

    resume: list[checkpoints.WindowState]
    healthy: list[date]
    retrying: list[date]


def pending_work(plan: CompiledSpec, covered: set[date], unfinished: list[checkpoints.WindowState],
                 *, retrying: set[date] | frozenset[date] = frozenset()) -> PendingWork:
    """An unfinished window is resumed when every requested day it holds is pending, even when it also
    holds days outside the requested range: a nightly spec's range slides by a day each night, and the
    window an interrupted night left (its oldest day now out of range) is the only one that still covers
    that day; starting its other days afresh would lose it and waste the pages already stored."""
    requested = set(Window(plan.start, plan.end).days())
    pending = requested - covered
    resume: list[checkpoints.WindowState] = []
    for state in unfinished:
        days = set(Window(state.start_date, state.end_date).days()) & requested
        if days and days <= pending:
            resume.append(state)
            pending -= days
    retry = pending & set(retrying)
    return PendingWork(resume, sorted(pending - retry), sorted(retry))


def plan_windows(plan: CompiledSpec, covered: set[date], unfinished: list[checkpoints.WindowState],
                 *, retrying: set[date] | frozenset[date] = frozenset(),
                 ) -> tuple[list[checkpoints.WindowState], list[Window]]:
    """Windows to crawl: unfinished ones to resume first, then the pending days grouped into windows of
    at most days_per_query (`PendingWork`). With `auto_windows` the crawl chooses each window when it gets
    there (`crawlspec.crawl.window_plan`); these 30-day windows are then the first guess."""
    work = pending_work(plan, covered, unfinished, retrying=retrying)
    return work.resume, group_days(work.healthy, plan.days_per_query) + \
        group_days(work.retrying, plan.days_per_query)


class VideoCrawler:
    """Pages every pending window of one compiled spec, committing each page with its checkpoint."""

    def __init__(self, plan: CompiledSpec, ctx: RunContext, settings: RunnerSettings, *,
                 stats: CrawlStats | None = None):
        """`stats`: counted into as pages commit, so a caller still knows them when the run raises."""
        self.plan = plan
        self.ctx = ctx
        self.settings = settings
        self.stats = CrawlStats() if stats is None else stats
        self.lease_owner = leases.new_lease_owner()
        self.failure_streak = 0
        self.last_fetch_failed_requests = 0
        self.matured_days: set[date] = set()
        self._upcoming: list[date] = []       # auto windows: the pending days after the window being crawled
        self._handed_back: list[date] = []    # auto windows: days of a window given back to be planned anew
        self._covered_at_start: set[date] = set()   # covered days when the run planned (auto windows)
        self.log = get_logger("crawlspec.crawl.videos").bind(spec=plan.name)

    def run(self) -> CrawlStats:
        work = self._pending_work()
        with leases.LeaseHeartbeat(self.ctx.engine, self.lease_owner, clock=self.ctx.clock):
            try:
                if self.plan.auto_windows:
                    self._crawl_auto(work)
                else:
                    self._crawl_fixed(work)
            except RunStopped as stop:
                self.stats.stopped = stop.reason
            except ApiUnreachable as err:   # nothing can be sent now: a stop, resumable like the others
                self.stats.stopped = "api_unreachable"
                self.stats.unreachable = str(err)
                self.log.error("api_unreachable", error=str(err),
                               note="no request can reach the API; every committed page is kept, run again later")
            except (Exception, KeyboardInterrupt):
                self._close_crawl_row()
                raise
            finally:
                self._give_back_unused_reservation()
        self.stats.requests = self.ctx.budget.used
        return self.stats

    def _give_back_unused_reservation(self) -> None:
        """The next page's request is reserved with each page (`_commit_page`); a crawl that ends before
        sending it (a stop, a window finished elsewhere, an error) gives it back to the ledger."""
        try:
            self.ctx.budget.release_unused()
        except Exception as error:   # the database is away: the ledger keeps one request too many today
            self.log.warning("reservation_not_given_back", error=f"{type(error).__name__}: {error}")

    def _close_crawl_row(self) -> None:
        """An error ends the run: its crawl row says so now, because its leases (which would let the next
        run find the row of a process that is gone) are released on the way out."""
        error = sys.exc_info()[1]
        lost_server = isinstance(error, sa.exc.DBAPIError) and (
            self.ctx.engine.dialect.name != "sqlite" or is_lock_timeout(error))
        interrupted = isinstance(error, KeyboardInterrupt) or lost_server or \
            getattr(error, "exit_code", None) == exit_codes.RESUMABLE   # as the run's own exit code says
        try:
            with self.ctx.engine.begin() as conn:
                crawls.finish_crawl(conn, self.ctx.crawl_id, outcome="interrupted" if interrupted else "failed",
                                    exit_code=exit_codes.RESUMABLE if interrupted else exit_codes.FAILURE,
                                    requests=self.ctx.budget.used, videos=self.stats.videos, now=self.ctx.clock())
        except Exception as error:   # the database is away: its leases expire, the next run closes the row
            self.log.warning("crawl_row_not_closed", error=f"{type(error).__name__}: {error}")

    def _crawl_fixed(self, work: PendingWork) -> None:
        """Fixed-size windows (`days_per_query: N`): every window opened first, then crawled in order."""
        windows = group_days(work.healthy, self.plan.days_per_query) + \
            group_days(work.retrying, self.plan.days_per_query)
        with self.ctx.engine.begin() as conn:
            opened = [self._open(conn, window) for window in windows]
        self.stats.windows_left = len(work.resume) + len(opened)
        for state in work.resume + opened:
            if self._crawl_window(state):
                self.stats.windows_left -= 1

    def _crawl_auto(self, work: PendingWork) -> None:
        """Auto-sized windows: each window is chosen when the crawl gets to it, from what this
        fingerprint's pages taught so far (`crawlspec.crawl.window_plan`); unfinished windows resume first."""
        left_elsewhere = 0
        resume = list(work.resume)
        groups = [list(work.healthy), list(work.retrying)]
        self.stats.windows_left = len(resume) + self._planned_count(groups)
        while resume:
            self._upcoming = groups[0]
            if not self._crawl_window(resume.pop(0)):
                left_elsewhere += 1
            self._take_back(groups[0])
            self.stats.windows_left = left_elsewhere + len(resume) + self._planned_count(groups)
        for days in groups:
            while days:
                with self.ctx.engine.begin() as conn:
                    if self._drop_days_taken_elsewhere(conn, days):
                        left_elsewhere += 1
                    if not days:
                        break
                    learned, expected = auto_windows.load(conn, self.plan.fingerprint)
                    window = window_plan.next_window(days, learned, expected, page_size=self.plan.max_count)
                    state = self._open(conn, window)
                del days[:window.length()]
                self._upcoming = days
                if not self._crawl_window(state):
                    left_elsewhere += 1
                self._take_back(days)
                self.stats.windows_left = left_elsewhere + self._planned_count(groups)

    def _drop_days_taken_elsewhere(self, conn: sa.Connection, days: list[date]) -> bool:
        """Another process of the same spec plans its own windows as it learns (fixed windows meet on the
        same bounds instead): days it covered since this run planned are done, days it holds a live lease
        on are left to it. True when some were left to it (this run then ends resumable, exit 75)."""
        covered = checkpoints.covered_days(conn, self.plan.fingerprint, days[0], days[-1]) - self._covered_at_start
        leased: set[date] = set()
        for start, end, owner in checkpoints.leased_windows(conn, self.plan.fingerprint, now=self.ctx.clock()):
            if owner != self.lease_owner and not lease_holder_is_dead(owner):
                leased |= set(Window(start, end).days())
        dropped = [day for day in days if day in covered or day in leased]
        if dropped:
            days[:] = [day for day in days if day not in covered and day not in leased]
            self.log.info("days_taken_elsewhere", days=len(dropped), first=str(dropped[0]), last=str(dropped[-1]),
                          note="another process of this spec crawls or crawled them; they are not fetched twice")
        if not leased.intersection(dropped):
            return False
        self.stats.windows_leased_elsewhere += 1
        return True

    def _take_back(self, days: list[date]) -> None:
        """Days of a window given back after a failed page join the pending days again (planned anew)."""
        if self._handed_back:
            days[:] = sorted(set(days) | set(self._handed_back))
            self._handed_back = []

    def _planned_count(self, groups: list[list[date]]) -> int:
        """How many auto windows the days left would take, as far as the crawl knows now."""
        if not any(groups):
            return 0
        with self.ctx.engine.connect() as conn:
            learned, expected = auto_windows.load(conn, self.plan.fingerprint)
        return sum(len(window_plan.plan(days, learned, expected, page_size=self.plan.max_count)) for days in groups)

    def _open(self, conn: sa.Connection, window: Window) -> checkpoints.WindowState:
        return checkpoints.open_window(conn, fingerprint=self.plan.fingerprint, start_date=window.start,
                                       end_date=window.end, crawl_id=self.ctx.crawl_id, now=self.ctx.clock())

    def _pending_work(self) -> PendingWork:
        plan = self.plan
        with self.ctx.engine.begin() as conn:
            self._covered_at_start = checkpoints.covered_days(conn, plan.fingerprint, plan.start, plan.end)
            covered = set() if self.settings.refetch else set(self._covered_at_start)
            unfinished = checkpoints.unfinished_windows(conn, plan.fingerprint)
            if plan.sample:   # the crawl row says it is a random sample (its days are never covered)
                crawls.mark_crawl_sample(conn, self.ctx.crawl_id)
            now = self.ctx.clock()
            if self.settings.refetch_provisional:
                self.matured_days = provisional.days_to_refetch(
                    conn, plan.fingerprint, plan.start, plan.end, now=now, lag_days=self.settings.stats_lag_days)
                covered -= self.matured_days
            known_failing = failing.failing_days(conn, plan.fingerprint, plan.start, plan.end,
                                                 max_spacing_days=self.settings.failing_retry_max_days)
            waiting = set() if self.settings.retry_failing else {
                day for day, state in known_failing.items() if state.retry_after > now.date()}
            empty = empty_windows.load(conn, plan.fingerprint, plan.start, plan.end, now=now,
                                       confirm_after=self._confirm_empty_after)
            work = pending_work(plan, covered | waiting | empty.waiting, unfinished,
                                retrying=(set(known_failing) - waiting) | empty.due)
            if plan.tags and (covered or work.resume):   # stored videos not fetched again get this run's tags too
                tagged = tag_spec_videos(conn, plan.fingerprint, plan.start, plan.end,
                                         crawl_tag_ids(conn, plan.tags))
                if tagged:
                    self.log.info("stored_videos_tagged", links=tagged, tags=list(plan.tags),
                                  note="videos of days covered by earlier runs carry this run's tags too")
            self._drop_stale_windows(conn, [w for w in unfinished if w not in work.resume], now=now)
        resume = work.resume
        if resume:
            self.log.info("resuming", windows=[_window_label(s) for s in resume],
                          cursors=[s.cursor for s in resume])
        if covered:
            self.log.info("skipping_covered_days", days=len(covered))
        if self.matured_days:
            self.log.info("refetching_matured_days", days=len(self.matured_days),
                          note="their stored counts were provisional; fetched again once, now final")
        if waiting:
            self.stats.days_failing_skipped = len(waiting - covered)
            self.stats.next_failing_retry = min(known_failing[d].retry_after for d in waiting)
            self.log.warning("skipping_failing_days", days=[str(d) for d in sorted(waiting)],
                             next_retry=str(self.stats.next_failing_retry), retry_now="run.retry_failing=true",
                             note="these days kept failing with 5xx; they are retried later, not every run")
        if empty.waiting - covered:
            self.log.info("empty_days_waiting", days=len(empty.waiting - covered),
                          note="answered empty once; asked again after run.confirm_empty_after_hours")
        return work

    def _drop_stale_windows(self, conn: sa.Connection, left: list[checkpoints.WindowState], *,
                            now: datetime) -> None:
        """Unfinished windows no run can resume any more: some of their days were covered after they were
        opened (by windows of other bounds: a changed `days_per_query`, auto windows, another job), and a
        window resumes only while all its days are pending. Their stored pages stay; their other days are
        planned anew, so they are dropped instead of being listed as in progress forever. A window whose
        process still works (`leases.holder_gone`) is left to it."""
        labels = {state.id: _window_label(state) for state in left}
        for window_id, owner, until in checkpoints.windows_overtaken(conn, list(labels)):
            if owner is not None and owner != self.lease_owner and not leases.holder_gone(owner, until, now=now):
                continue
            failing.drop_window(conn, window_id)
            self.log.info("stale_window_dropped", window=labels[window_id],
                          note="some of its days were covered by other windows since; the rest are planned anew")

    @property
    def _confirm_empty_after(self) -> timedelta:
        return timedelta(hours=self.settings.confirm_empty_after_hours)

    def _crawl_window(self, state: checkpoints.WindowState) -> bool:
        """Page one window to its end; False when it was left to another process (leased)."""
        claim = self._claim(state)
        if claim == "finished":
            self.log.info("window_finished_elsewhere", window=_window_label(state))
            return True
        if claim != "claimed":
            self.stats.windows_leased_elsewhere += 1
            self.log.info("window_leased_elsewhere", window=_window_label(state),
                          note="another process is crawling it; it is not fetched twice")
            return False
        restarted = False
        retry_all = False     # a single attempt failed without a status: retry as usual
        stored_search = self._restart_is_cheaper_than_retries(state)
        tally = auto_windows.AttemptTally()
        while True:
            if self.ctx.stop_event.is_set():
                raise RunStopped("interrupted")
            once = not retry_all and self._one_attempt(state)
            try:
                response = self._fetch_page(state, retry_server_errors=not once, retry_search_id=not stored_search)
                stored_search = False
                tally.add(self.last_fetch_failed_requests, delivered=True)
                tally.see_page(response.videos, first=not state.cursor)
            except SearchIdRejected as err:
                if restarted:
                    self._fail(state, err)
                    return True
                restarted, stored_search = True, False
                state = self._restart(state, err)
                continue
            except RetriesExhausted as err:
                tally.add(self.last_fetch_failed_requests, delivered=False)
                if not failing.is_persistent_server_failure(err):
                    if once:   # a timeout or a lost connection says nothing about the window's size
                        retry_all = True
                        continue
                    if err.code == "connect_failed":   # not even a connection after every attempt:
                        raise ApiUnreachable(          # no window is at fault, the others would fail alike
                            f"the API could not be reached (window {_window_label(state)}): {err}") from None
                    self._fail(state, err)
                    return True
                if once and self.failure_streak < SPLIT_STREAK_LIMIT:
                    if self._replan_after_failure(state, err, tally):
                        return True
                    retry_all = True   # still the best window: retried as usual (this failure is observed)
                    tally.attempts = tally.failures = 0
                    continue
                if self.plan.auto_windows and state.end_date > state.start_date:
                    self._learn_given_up(state, tally)
                return self._split_or_record(state, err, tally)
            except ApiError as err:  # fatal for this window
                self._fail(state, err)
                return True
            retry_all = False     # the next page's first failure is weighed again
            self.failure_streak = 0   # a page came: the API is not failing broadly
            try:
                state = self._commit_page(state, response, tally=tally)
            except CursorNotAdvancing as err:   # the window stays at its last committed cursor
                self._fail(state, err)
                return True
            except checkpoints.CheckpointConflict as err:
                self.stats.windows_leased_elsewhere += 1
                self.log.warning("window_taken_over", window=_window_label(state), reason=str(err))
                return False
            if not state.has_more:
                self.stats.windows_done += 1
                self.failure_streak = 0
                return True

    def _claim(self, state: checkpoints.WindowState) -> str:
        """"claimed"; "elsewhere" (a live process holds the lease); or "finished": another process completed
        (or split) the window after we planned it, and its lease was free again: fetching would only waste
        requests. The status is read after the claim, in the same transaction, so no completion slips by."""
        now = self.ctx.clock()
        with self.ctx.engine.begin() as conn:
            claimed = checkpoints.claim_window(conn, state, owner=self.lease_owner, until=now + LEASE, now=now)
            if not claimed:
                holder = checkpoints.window_lease_owner(conn, state.id)
                if not lease_holder_is_dead(holder):
                    return "elsewhere"
                self.log.info("lease_released", window=_window_label(state), dead_holder=holder)
                claimed = checkpoints.claim_window(conn, state, owner=self.lease_owner, until=now + LEASE,
                                                   now=datetime.max.replace(tzinfo=now.tzinfo))
            status = checkpoints.window_status(conn, state.id)
        if status is None or (status == "done" and state.status != "done"):
            return "finished"
        return "claimed" if claimed else "elsewhere"

    def _restart_is_cheaper_than_retries(self, state: checkpoints.WindowState) -> bool:
        """A window resumed from its checkpoint carries a search_id an earlier process obtained, maybe
        long ago. The API may have forgotten it ("Search Id ... is invalid or expired"), and then every
        retry is charged in vain; a run stopped by its request limit during those retries would spend
        the same requests again at every resume, never progressing. When fetching the stored pages again
        costs no more than the retries would, a rejected stored search_id restarts the window at once."""
        policy = getattr(self.ctx.client, "retry_policy", None)
        tries = policy.search_id_tries if policy is not None else 1
        return bool(state.search_id) and 0 < state.cursor <= tries * self.plan.max_count

    def _one_attempt(self, state: checkpoints.WindowState) -> bool:
        """Whether this page gets one attempt, a 5xx then being weighed before any retry
        (`_replan_after_failure`): every page of an auto window of more than one day. Every failed attempt
        is charged, and a search that fails often can cost more in retries than smaller windows cost in
        fetching its stored pages again."""
        return self.plan.auto_windows and not self.plan.sample and state.end_date > state.start_date

    def _replan_after_failure(self, state: checkpoints.WindowState, err: RetriesExhausted,
                              tally: auto_windows.AttemptTally) -> bool:
        """Record the failed single attempt and weigh the window against its days planned anew with the days
        after it: True when giving it back is cheaper (it is dropped, its days go back to the pending days
        and its stored pages are fetched again), False when finishing it is (it is retried as usual). One
        transaction: a kill keeps the decision (the next run plans the days from what was learned)."""
        window, now = Window(state.start_date, state.end_date), self.ctx.clock()
        self.failure_streak += 1
        with self.ctx.engine.begin() as conn:
            first, learned = auto_windows.page_failed_once(
                conn, self.plan.fingerprint, window, upcoming=self._upcoming, attempts=tally.attempts,
                failures=tally.failures, rate=tally.rate(window, state.cursor), page_size=self.plan.max_count,
                now=now, fetched=state.cursor)
            if first == window:
                return False
            failing.drop_window(conn, state.id)
        self._handed_back.extend(window.days())
        self.stats.videos -= tally.videos   # fetched again with the days: counted once, then
        self.log.warning("window_split", window=_window_label(state), next=_label(first), error=str(err),
                         log_id=err.log_id, max_days=learned.max_days, failure_scale=_rounded(learned.scale),
                         fetched_again=state.cursor,
                         note="a page answered 5xx; the window's days are planned again in smaller windows")
        return True

    def _learn_given_up(self, state: checkpoints.WindowState, tally: auto_windows.AttemptTally) -> None:
        with self.ctx.engine.begin() as conn:
            auto_windows.window_given_up(conn, self.plan.fingerprint, Window(state.start_date, state.end_date),
                                         attempts=tally.attempts, failures=tally.failures, now=self.ctx.clock())

    def _fetch_page(self, state: checkpoints.WindowState, *, retry_server_errors: bool = True,
                    retry_search_id: bool = True) -> Any:
        start, end = Window(state.start_date, state.end_date).api_dates()
        request = TikTokVideoRequest(
            query=self.plan.query, start_date=start, end_date=end, max_count=self.plan.max_count,
            cursor=state.cursor if state.search_id or state.cursor else None,
            search_id=state.search_id, fields=self.plan.fields, is_random=self.plan.sample)
        options = {name: False for name, retried in (("retry_server_errors", retry_server_errors),
                                                      ("retry_search_id", retry_search_id)) if not retried}
        fetch = functools.partial(self.ctx.client.fetch_videos, request, **options)
        return call_counting_failures(self.ctx, fetch, self.log, self._count_failed)

    def _count_failed(self, requests: int) -> None:
        """Attempts of one call that did not deliver a page: charged by the API, shown by `status`."""
        self.last_fetch_failed_requests = requests
        if requests <= 0:
            return
        self.stats.failed_requests += requests
        with self.ctx.engine.begin() as conn:
            failure_rows.add_failure_spend(conn, self.plan.fingerprint, self.ctx.clock().date(), requests)

    def _commit_page(self, state: checkpoints.WindowState, response: Any, *,
                     tally: auto_windows.AttemptTally | None = None) -> checkpoints.WindowState:
        """`tally`: the attempts of this window so far in this run (what an auto window's end teaches)."""
        videos = response.videos
        now = self.ctx.clock()
        pages = Paginator(f"videos {_window_label(state)}", cursor=state.cursor, endpoint=VIDEO_QUERY_PATH,
                          log=self.log)
        # a sample: one request per window; the paginator refuses a cursor that does not advance
        has_more = pages.advance(response.cursor, bool(response.has_more) and not self.plan.sample)
        cursor = pages.cursor if pages.cursor is not None else state.cursor
        ahead = None
        with self.ctx.engine.begin() as conn:
            written = store_videos(conn, videos, crawl_id=self.ctx.crawl_id, tags=self.plan.tags, now=now,
                                   log_id=response.log_id)   # the distinct videos written (not the quarantined)
            new_state = checkpoints.advance_window(
                conn, state, cursor=cursor, search_id=response.search_id or state.search_id,
                has_more=has_more, videos_on_page=len(videos), crawl_id=self.ctx.crawl_id, now=now)
            if has_more:
                checkpoints.claim_window(conn, new_state, owner=self.lease_owner, until=now + LEASE, now=now)
                # the next page's request, reserved in this transaction (its last statement) instead of its own
                ahead = self.ctx.budget.reserve_ahead(conn, VIDEO_QUERY_PATH)
            else:
                coverable = empty_windows.settle_window(
                    conn, self.plan.fingerprint, self._coverable(new_state), videos=new_state.videos, now=now,
                    confirm_after=self._confirm_empty_after)
                checkpoints.mark_days_covered(conn, self.plan.fingerprint, coverable,
                                              crawl_id=self.ctx.crawl_id, now=now)
                if not new_state.videos:
                    self._log_empty(conn, new_state, covered=len(coverable))
                failing.clear_failing_days(conn, self.plan.fingerprint,
                                           Window(new_state.start_date, new_state.end_date).days())
                window = Window(new_state.start_date, new_state.end_date)
                matured.mark_refetched(conn, self.plan.fingerprint, self.matured_days.intersection(window.days()),
                                       crawl_id=self.ctx.crawl_id, now=now)
                if self.plan.auto_windows and tally is not None and not self.plan.sample:
                    auto_windows.record_finished_window(conn, self.plan.fingerprint, results=new_state.cursor,
                                                        attempts=tally.attempts, failures=tally.failures, now=now)
        self.ctx.budget.hold(ahead)
        if self.ctx.on_page is not None:
            ids = set(written.ids)
            self.ctx.on_page([video for video in videos if video_record_id(video) in ids])
        self.stats.pages += 1
        self.stats.videos += len(written.ids)
        if tally is not None:
            tally.videos += len(written.ids)
        self.log.info("page", window=_window_label(new_state), page=new_state.pages, videos=len(videos),
                      cursor=cursor, has_more=has_more, requests_used=self.ctx.budget.used,
                      quota_left=self.ctx.budget.remaining())
        return new_state

    def _log_empty(self, conn: sa.Connection, state: checkpoints.WindowState, *, covered: int) -> None:
        label = _window_label(state)
        if covered:
            self.log.info("empty_window_confirmed", window=label, days_covered=covered)
        elif empty_windows.spec_had_videos(conn, self.plan.fingerprint):
            self.log.warning("empty_window_suspicious", window=label,
                             note="no video at all where other days of this spec had videos: possibly an API "
                             "outage; the days are asked again later, not covered")
        else:
            self.log.info("empty_window_unconfirmed", window=label, note="asked again later before covering")

    def _coverable(self, state: checkpoints.WindowState) -> list[date]:
        """Days old enough to be complete in the API's index (newer ones are fetched again later)."""
        if self.plan.sample:
            return []   # a random sample never proves a day complete
        newest_complete = self.ctx.clock().date() - timedelta(days=self.settings.index_lag_days)
        return [d for d in Window(state.start_date, state.end_date).days() if d <= newest_complete]

    def _restart(self, state: checkpoints.WindowState, err: SearchIdRejected) -> checkpoints.WindowState:
        self.log.warning("window_restart", window=_window_label(state), cursor=state.cursor,
                         reason=str(err), note="the API no longer accepts the stored search_id; "
                         "restarting from cursor 0 (upserts absorb the overlap)")
        with self.ctx.engine.begin() as conn:
            return checkpoints.restart_window(conn, state, now=self.ctx.clock())

    def _split_or_record(self, state: checkpoints.WindowState, err: RetriesExhausted,
                         tally: auto_windows.AttemptTally | None = None) -> bool:
        """A window still failing with 5xx: crawl its halves (the good days get collected), or record its
        day(s) as failing and skip them for now. True: nothing of this window is left for this run."""
        window = Window(state.start_date, state.end_date)
        self.failure_streak += 1
        now = self.ctx.clock()
        if len(window.days()) == 1 or self.failure_streak >= SPLIT_STREAK_LIMIT:
            self._record_failing(state, window, err, now)
            return True
        parts = failing.halves(window)
        if tally is not None:
            self.stats.videos -= tally.videos   # the halves fetch them again: counted once, then
        with self.ctx.engine.begin() as conn:
            failing.drop_window(conn, state.id)
            children = [checkpoints.open_window(conn, fingerprint=self.plan.fingerprint, start_date=part.start,
                                                end_date=part.end, crawl_id=self.ctx.crawl_id, now=now)
                        for part in parts]
        self.log.warning("window_split", window=_window_label(state), into=[_window_label(c) for c in children],
                         error=str(err), log_id=err.log_id,
                         note="the window keeps failing with 5xx; its halves are crawled separately")
        for child in children:
            if not self._crawl_window(child):
                self.stats.windows_left += 1
        return True

    def _record_failing(self, state: checkpoints.WindowState, window: Window, err: RetriesExhausted,
                        now: datetime) -> None:
        days = window.days()
        share, extra = divmod(self.last_fetch_failed_requests, len(days))
        with self.ctx.engine.begin() as conn:
            records = [failing.record_failing_day(conn, self.plan.fingerprint, day, error=err, now=now,
                                                  requests=share + (extra if i == 0 else 0),
                                                  max_spacing_days=self.settings.failing_retry_max_days)
                       for i, day in enumerate(days)]
            failing.drop_window(conn, state.id)
        for record in records:
            self.stats.days_failing.append(f"{record.day} (failure {record.failures}, "
                                           f"next retry on or after {record.retry_after})")
        self.log.error("day_failing", window=_window_label(state), failures=[r.failures for r in records],
                       retry_after=str(records[0].retry_after), log_id=err.log_id, error=str(err),
                       note="recorded as failing and skipped for now; retried later with growing spacing")

    def _fail(self, state: checkpoints.WindowState, err: ApiError) -> None:
        self.stats.windows_failed += 1
        self.stats.errors.append(f"window {_window_label(state)}: {err}")
        self.log.error("window_failed", window=_window_label(state), error=str(err),
                       log_id=getattr(err, "log_id", None))
        with self.ctx.engine.begin() as conn:
            checkpoints.fail_window(conn, state, error=str(err), now=self.ctx.clock())


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def lease_holder_is_dead(owner: str | None) -> bool:
    """A lease held by a process of this machine that no longer exists (killed, crashed, its pid reused)
    is free now; other machines' leases are free when they expire."""
    return leases.holder_is_dead(owner)


def _window_label(state: checkpoints.WindowState) -> str:
    return _label(Window(state.start_date, state.end_date))


def _label(window: Window) -> str:
    start, end = window.api_dates()
    return f"{start}-{end}"

