"""One crawl session: what `crawlspec run` and the library's `TikTokApiClient.fetch_and_store_all` both do
with a compiled plan, an engine and a request client.

1. register the spec behind the plan's fingerprint (once per database);
2. close the crawl rows of dead processes (when the caller can tell a dead lease holder);
3. start this run's `crawl` row;
4. run the video crawl, or a `users:` spec's user stages;
5. unless the video crawl stopped, the enrichment stages the plan asks for (comments, creator info,
   playlists);
6. finish the `crawl` row with one outcome and exit code for everything the run did;
and return that as one `CrawlResult`. Printing, signals and opening the endpoint stay with the caller.

`pending_window_count` tells a progress display how many windows a run of a plan will crawl, planned the
way the video crawl plans them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from crawlspec.clock import utc_now
from crawlspec.crawl.enrichment import run_stages
from crawlspec.crawl.failing_days import DEFAULT_MAX_SPACING_DAYS
from crawlspec.crawl.quota import QuotaWaiter, RequestBudget
from crawlspec.crawl.stage import StageStats, combined_exit_code
from crawlspec.crawl.stages.creators import DEFAULT_MAX_AGE_DAYS
from crawlspec.crawl.stages.user_lists import run_user_stages
from crawlspec.crawl.videos import (
    CrawlStats,
    PageHook,
    RunContext,
    RunnerSettings,
    VideoCrawler,
    plan_windows,
)
from crawlspec.logs import get_logger
from crawlspec.spec.compile import CompiledSpec
from crawlspec.spec.settings import ApiSettings, RunSettings
from crawlspec.storage import crawls
from crawlspec.storage.window_state import stored_windows

if TYPE_CHECKING:
    from crawlspec.client import TikTokApiRequestClient

HolderGone = Callable[[str, datetime | None], bool]
"""Whether a window lease's holder (`host:pid:token`, lease end) is gone: its crawl row can be closed."""


@dataclass(frozen=True)
class CrawlResult:
    """What one session did: the video crawl's statistics, each stage's, and the run's one outcome."""

    crawl_id: int
    videos: CrawlStats
    stages: tuple[StageStats, ...]
    exit_code: int
    outcome: str
    requests: int

    @property
    def stored(self) -> dict[str, int]:
        """Records stored per stage: videos, comments, user_info, ..."""
        return {"videos": self.videos.videos, **{stage.name: stage.records for stage in self.stages}}

    @property
    def errors(self) -> list[str]:
        return [*self.videos.errors, *(error for stage in self.stages for error in stage.errors)]


def combined_outcome(videos: CrawlStats, stages: Sequence[StageStats]) -> tuple[int, str]:
    """The run's exit code (the worst of the video crawl's and every stage's) and the outcome of the
    part that decided it."""
    exit_code = combined_exit_code([videos.exit_code, *(stage.exit_code for stage in stages)])
    if exit_code == videos.exit_code:
        return exit_code, videos.outcome
    return exit_code, next(stage.outcome for stage in stages if stage.exit_code == exit_code)


def runner_settings(api: ApiSettings, run: RunSettings) -> RunnerSettings:
    """The video runner's settings from the `api` and `run` groups."""
    return RunnerSettings(on_quota_exhausted=api.on_quota_exhausted, index_lag_days=api.index_lag_days,
                          stats_lag_days=api.stats_lag_days, refetch=run.refetch,
                          refetch_provisional=run.refetch_provisional, retry_failing=run.retry_failing,
                          failing_retry_max_days=run.failing_retry_max_days or DEFAULT_MAX_SPACING_DAYS,
                          confirm_empty_after_hours=run.confirm_empty_after_hours)


@dataclass(frozen=True)
class CrawlSession:
    """Everything one run needs besides printing; `run()` does steps 1-6 of the module doc."""

    plan: CompiledSpec
    engine: Engine
    client: TikTokApiRequestClient   # its `before_request` hook reserves every attempt in `budget`
    budget: RequestBudget
    waiter: QuotaWaiter
    stop_event: threading.Event = field(default_factory=threading.Event)
    runner: RunnerSettings = field(default_factory=RunnerSettings)
    user_info_max_age_days: int = DEFAULT_MAX_AGE_DAYS
    overrides: tuple[str, ...] = ()            # the command line's overrides, stored in `crawl.overrides`
    holder_gone: HolderGone | None = None      # None: crawl rows of dead processes are left as they are
    clock: Callable[[], datetime] = utc_now
    on_page: PageHook | None = None            # the library's: each video page once it is committed
    # the video crawl's counts as pages commit: what a run ended by an error (a database gone) did
    videos_so_far: CrawlStats = field(default_factory=CrawlStats)

    def run(self) -> CrawlResult:
        crawl_id = self.start()
        ctx = RunContext(engine=self.engine, client=self.client, budget=self.budget, waiter=self.waiter,
                         crawl_id=crawl_id, stop_event=self.stop_event, clock=self.clock,
                         fingerprint=self.plan.fingerprint, on_page=self.on_page)
        videos, stages = self._crawl(ctx)
        exit_code, outcome = combined_outcome(videos, stages)
        with self.engine.begin() as conn:
            crawls.finish_crawl(conn, crawl_id, outcome=outcome, exit_code=exit_code,
                                requests=self.budget.used, videos=videos.videos, now=self.clock())
        return CrawlResult(crawl_id, videos, tuple(stages), exit_code, outcome, self.budget.used)

    def start(self) -> int:
        """Steps 1-3: the spec registered, dead crawls closed, this run's crawl row; returns its id."""
        plan = self.plan
        with self.engine.begin() as conn:
            crawls.register_spec(conn, fingerprint=plan.fingerprint, name=plan.name, query=plan.query,
                                 fields=list(plan.fields), fetch=dict(plan.fetch), now=self.clock())
            if self.holder_gone is not None:
                closed = crawls.close_dead_crawls(conn, plan.fingerprint, holder_gone=self.holder_gone,
                                                  now=self.clock())
                if closed:
                    get_logger("crawlspec.run").warning(
                        "dead_crawls_closed", crawl_ids=closed, outcome="interrupted",
                        note="their processes are gone (killed, node lost); this run resumes their windows")
            return crawls.start_crawl(conn, spec_name=plan.name, fingerprint=plan.fingerprint,
                                      query=plan.query, start_date=plan.start, end_date=plan.end,
                                      tags=list(plan.tags), overrides=list(self.overrides), now=self.clock())

    def _crawl(self, ctx: RunContext) -> tuple[CrawlStats, list[StageStats]]:
        """Steps 4-5."""
        if self.plan.users is not None:   # a users spec: no video query, only the user stages

            stages = run_user_stages(self.plan, ctx, max_age_days=self.user_info_max_age_days)
            videos = CrawlStats()
            videos.requests = self.budget.used
            return videos, stages

        videos = VideoCrawler(self.plan, ctx, self.runner, stats=self.videos_so_far).run()
        if videos.stopped:
            return videos, []
        return videos, run_stages(self.plan, ctx, max_age_days=self.user_info_max_age_days)


def pending_window_count(plan: CompiledSpec, db_url: str, *, refetch: bool = False) -> int | None:
    """How many windows a run of `plan` will crawl, planned the way the video crawl plans them (covered
    days skipped, unfinished windows resumed). For a display only: None when the database cannot tell."""

    try:
        stored = stored_windows(db_url, plan.fingerprint, plan.start, plan.end, refetch=refetch)
    except Exception:  # a display nicety must never stop a run; the run reports real problems
        return None
    resume, new = plan_windows(plan, set(stored.covered), list(stored.unfinished))
    return len(resume) + len(new)
