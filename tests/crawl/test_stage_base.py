"""The `Stage` base every enrichment stage runs on: one result type (`StageStats`), one exit-code rule,
one quota-aware call, one stop signal (`RunStopped`). In-process with the real `QuotaWaiter` on an
injected clock and wait: nothing sleeps, nothing is sent."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any

import pytest

from crawlspec import exit_codes
from crawlspec.crawl.quota import QuotaWaiter
from crawlspec.crawl.stage import Stage, StageStats, combined_exit_code
from crawlspec.crawl.stages.comments import CommentCrawler
from crawlspec.crawl.stages.creators import CreatorInfoFetcher
from crawlspec.crawl.stages.playlists import PlaylistFetcher
from crawlspec.crawl.stages.user_lists import UserListCrawler
from crawlspec.errors import ApiError, Interrupted, QuotaExhausted, RunStopped

NOW = datetime(2024, 3, 1, 20, 0, tzinfo=timezone.utc)


class Budget:
    def __init__(self) -> None:
        self.used = 0

    def sent_by_this_thread(self) -> int:
        return self.used


def context(strategy: str = "exit", *, on_wait: Callable[[float], None] | None = None) -> SimpleNamespace:
    """What a stage reads from the run: the request budget, the stop event and the quota waiter."""
    stop = threading.Event()
    waits: list[float] = []

    def wait(seconds: float) -> None:
        waits.append(seconds)
        if on_wait:
            on_wait(seconds)

    waiter = QuotaWaiter(strategy, stop_event=stop, clock=lambda: NOW, sleep=wait)
    return SimpleNamespace(budget=Budget(), stop_event=stop, waiter=waiter, waits=waits)


class ScriptedStage(Stage):
    """A stage whose units each make one call; `answers` says what each call does."""

    name = "scripted"

    def __init__(self, ctx: Any, answers: list[Any]) -> None:
        super().__init__(ctx)
        self.answers = list(answers)
        self.fetched: list[Any] = []

    def work(self) -> None:
        unit = 0
        while self.answers:
            unit += 1
            try:
                self.fetched.append(self.call(self._fetch))
            except ApiError as err:
                self.failed(f"unit {unit}", err, "scripted_failed", unit=unit)
                continue
            self.stats.done += 1

    def _fetch(self) -> Any:
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            if not isinstance(answer, QuotaExhausted) or answer.source == "api":
                self.ctx.budget.used += 1       # an answered request is charged
            raise answer
        self.ctx.budget.used += 1
        return answer


def test_every_stage_reports_through_the_base_under_its_own_name() -> None:
    names = {cls: cls.name for cls in (CommentCrawler, CreatorInfoFetcher, PlaylistFetcher, UserListCrawler)}
    assert all(issubclass(cls, Stage) for cls in names)
    assert names == {CommentCrawler: "comments", CreatorInfoFetcher: "user_info", PlaylistFetcher: "playlists",
                     UserListCrawler: "user_lists"}
    for cls in names:
        assert cls.run is Stage.run, f"{cls.__name__} must not re-implement run()"


def test_a_complete_stage_counts_its_requests_and_exits_0() -> None:
    ctx = context()
    ctx.budget.used = 7                            # requests of earlier stages are not this stage's
    stats = ScriptedStage(ctx, ["a", "b"]).run()
    assert isinstance(stats, StageStats) and stats.name == "scripted"
    assert (stats.done, stats.requests, stats.stopped, stats.exit_code, stats.outcome) == (2, 2, None, 0, "complete")


@pytest.mark.parametrize("strategy,source,reason", [("exit", "ledger", "quota"), ("exit", "api", "quota"),
                                                     ("wait_next_utc_midnight", "limit", "limit")])
def test_a_quota_that_may_not_be_waited_out_stops_the_stage_resumably(strategy, source, reason) -> None:
    ctx = context(strategy)
    stage = ScriptedStage(ctx, ["a", QuotaExhausted("no more", source=source), "never asked"])
    stats = stage.run()
    assert stage.fetched == ["a"] and stage.answers == ["never asked"]
    assert (stats.stopped, stats.exit_code, stats.outcome) == (reason, exit_codes.RESUMABLE, f"stopped:{reason}")
    assert ctx.waits == []


def test_a_quota_that_may_be_waited_out_is_waited_out_then_the_same_call_is_made_again() -> None:
    ctx = context("wait_four_hours")
    stage = ScriptedStage(ctx, [QuotaExhausted("spent"), "a"])
    stats = stage.run()
    assert ctx.waits == [4 * 3600.0]
    assert stage.fetched == ["a"] and (stats.done, stats.exit_code) == (1, exit_codes.OK)


def test_a_signal_during_a_quota_wait_is_an_interruption_not_a_quota_stop() -> None:
    ctx = context("wait_next_utc_midnight")
    ctx.waiter.sleep = lambda seconds: ctx.stop_event.set()   # the signal arrives while waiting
    stats = ScriptedStage(ctx, [QuotaExhausted("spent"), "never asked"]).run()
    assert (stats.stopped, stats.exit_code) == ("interrupted", exit_codes.RESUMABLE)


def test_a_signal_stops_the_stage_before_the_next_request() -> None:
    ctx = context()
    ctx.stop_event.set()
    stage = ScriptedStage(ctx, ["never asked"])
    stats = stage.run()
    assert stage.fetched == [] and (stats.stopped, stats.requests) == ("interrupted", 0)


def test_a_signal_during_the_clients_retry_wait_is_an_interruption() -> None:
    stats = ScriptedStage(context(), [Interrupted("signal during a retry wait")]).run()
    assert (stats.stopped, stats.exit_code) == ("interrupted", exit_codes.RESUMABLE)


def test_a_failed_unit_is_counted_kept_for_the_summary_and_the_rest_goes_on() -> None:
    stage = ScriptedStage(context(), [ApiError("bad", status=400, code="invalid_params"), "b"])
    stats = stage.run()
    assert (stats.failed, stats.done, stats.exit_code, stats.outcome) == (1, 1, exit_codes.FAILURE, "failed")
    assert stats.errors == ["unit 1: HTTP 400 invalid_params: bad"]
    assert "1 failed" in stats.summary()


def test_run_stopped_names_its_reason_and_is_resumable() -> None:
    assert RunStopped.for_quota(QuotaExhausted("x", source="limit")).reason == "limit"
    assert RunStopped.for_quota(QuotaExhausted("x", source="api")).reason == "quota"
    assert RunStopped("interrupted").exit_code == exit_codes.RESUMABLE


def stats(**fields: Any) -> StageStats:
    result = StageStats("s")
    for name, value in fields.items():
        setattr(result, name, value)
    return result


@pytest.mark.parametrize("result,code", [
    (stats(), exit_codes.OK),
    (stats(stopped="quota"), exit_codes.RESUMABLE),
    (stats(unauthorized=["/v2/research/user/followers/"], stopped="quota"), exit_codes.CREDENTIALS_REJECTED),
    (stats(failed=1, unauthorized=["/v2/research/user/followers/"], stopped="quota"), exit_codes.FAILURE),
], ids=["complete", "stopped", "not_authorized_beats_stopped", "failure_beats_all"])
def test_one_exit_code_rule_for_a_stage(result: StageStats, code: int) -> None:
    assert result.exit_code == code


def test_the_runs_code_is_the_worst_of_its_stages() -> None:
    ok, stopped, failed = exit_codes.OK, exit_codes.RESUMABLE, exit_codes.FAILURE
    assert combined_exit_code([]) == ok
    assert combined_exit_code([ok, stopped, ok]) == stopped
    assert combined_exit_code([stopped, failed]) == failed
    assert combined_exit_code([ok, exit_codes.CREDENTIALS_REJECTED]) == exit_codes.CREDENTIALS_REJECTED
