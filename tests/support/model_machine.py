"""The state machine of the model-based test: random sequences of runs of a video spec and a users
spec, SIGKILLs after a drawn number of API requests, bursts of injected 500s, quota exhaustion, day
changes and window changes, against one `crawlspec sim` process and a fresh database per sequence.
After every step the invariants of `model_checks` must hold; at the end of a sequence both specs are
run to completion (day after day while the quota runs out) and the database must equal the corpus."""

from __future__ import annotations

import contextlib
import functools
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from support.model_checks import ModelState, check, days_between, failing_days_left, window_pages
from support.model_harness import CORPUS_START, MAX_TRIES, Oracle, RunResult, SimProcess, Workspace

COMPLETION_DAYS = 8    # days a sequence's final runs may take (the quota runs out on the way)


@dataclass
class DrillStats:
    sequences: int = 0
    steps: int = 0
    runs: int = 0
    kills: int = 0
    bursts: int = 0
    faults: int = 0
    requests: int = 0
    video_requests: int = 0
    video_minimum: int = 0
    video_kills: int = 0
    video_faults: int = 0
    users_requests: int = 0
    users_bound: int = 0
    ledger_over_sim: int = 0
    violations: list[str] = field(default_factory=list)


@dataclass
class ModelEnv:
    exe: str
    sim: SimProcess
    oracle: Oracle
    root: Path
    database: Callable[[Path], contextlib.AbstractContextManager[str]]   # a fresh database URL per sequence
    strict: bool = True          # raise on the first violation (pytest); False: record and go on (drill)
    verbose: bool = False        # one line per finished sequence on stderr
    deadline: float | None = None   # time.monotonic() after which sequences are skipped (drill budget)
    stats: DrillStats = field(default_factory=DrillStats)


def _live(step: Callable[..., None]) -> Callable[..., None]:
    """A step that does nothing in a sequence skipped for the drill's time budget."""
    @functools.wraps(step)
    def run_unless_skipped(self: CrawlModel, *args: object, **kwargs: object) -> None:
        if not self.skipped:
            step(self, *args, **kwargs)
    return run_unless_skipped


class CrawlModel(RuleBasedStateMachine):
    env: ClassVar[ModelEnv]

    def __init__(self) -> None:
        super().__init__()
        env = self.env
        self.skipped = env.deadline is not None and time.monotonic() > env.deadline
        if self.skipped:
            return
        self.stack = contextlib.ExitStack()
        self.workdir = Path(tempfile.mkdtemp(prefix="seq-", dir=env.root))
        self.failed = False
        self.steps: list[str] = []
        env.sim.fault_burst(0)
        today = env.sim.advance_day()          # a fresh day: the simulator's quota is this sequence's alone
        db_url = self.stack.enter_context(env.database(self.workdir))
        self.ws = Workspace(env.exe, env.sim, self.workdir, db_url, today, env.oracle.users)
        self.model = ModelState(today=today)
        self.quota_refusals = env.sim.stats()["faults"].get("quota_exhausted", 0)
        env.stats.sequences += 1

    # --- rules -----------------------------------------------------------------------------------

    @initialize(spec=st.sampled_from(["model", "people"]), errors=st.integers(1, MAX_TRIES - 1),
                kill_after=st.integers(1, 5))
    @_live
    def opening(self, spec: str, errors: int, kill_after: int) -> None:
        """Every sequence opens with a burst of 500s and a run killed in its course, so that even a short
        sequence meets both."""
        self.fault_burst(errors)
        self._run(spec, kill_after)

    @rule(start=st.integers(0, 12), length=st.integers(1, 8), days_per_query=st.sampled_from([2, 3, 5, "auto"]))
    @_live
    def change_window(self, start: int, length: int, days_per_query: int | str) -> None:
        first = CORPUS_START + timedelta(days=start)
        self._step(f"window {first}..{first + timedelta(days=length - 1)} by {days_per_query}")
        self.ws.set_window(first, first + timedelta(days=length - 1), days_per_query)

    @rule(spec=st.sampled_from(["model", "people"]), kill_after=st.none() | st.integers(1, 5))
    @_live
    def crawl(self, spec: str, kill_after: int | None) -> None:
        """Run a spec to its end, or SIGKILL it once the simulator has received `kill_after` more requests."""
        self._run(spec, kill_after)

    @rule(errors=st.integers(1, 2 * MAX_TRIES))
    @_live
    def fault_burst(self, errors: int) -> None:
        self._step(f"burst of {errors} 500s")
        self.env.sim.fault_burst(errors)
        self.env.stats.bursts += 1

    @rule()
    @_live
    def exhaust_quota(self) -> None:
        """Run both specs until one stops for the quota (75), or both have nothing left."""
        self._step("exhaust the quota")
        for _ in range(6):
            codes = [self._run(spec).exit_code for spec in ("model", "people")]
            if 75 in codes or codes == [0, 0]:
                return

    @rule()
    @_live
    def advance_day(self) -> None:
        self._step("advance the day")
        self._advance_day()

    @invariant()
    @_live
    def holds(self) -> None:
        self._refresh_sim_used()
        self._report(check(self.ws.db_url, self.env.oracle, self.model))

    # --- plumbing --------------------------------------------------------------------------------

    def _step(self, text: str) -> None:
        self.steps.append(f"{self.model.today}: {text}")
        self.env.stats.steps += 1

    def _advance_day(self) -> None:
        self._refresh_sim_used()
        self.model.today = self.ws.today = self.env.sim.advance_day()

    def _run(self, spec: str, kill_after: int | None = None) -> RunResult:
        model, stats = self.model, self.env.stats
        if spec == "model":
            model.requested_days |= days_between(self.ws.window[0], self.ws.window[1])
        else:
            model.users_days.add(model.today)
        may_fail = self.env.sim.stats()["fault_burst_left"] >= MAX_TRIES
        pages_before = window_pages(self.ws.db_url, unfinished_only=True) if spec == "model" else {}
        result = self.ws.run(spec, kill_after)
        if spec == "model":
            model.dropped_pages += dropped_pages(result.stderr, pages_before, set(window_pages(self.ws.db_url)))
        model.long_bursts += may_fail
        self._step(f"run {spec}" + (f", SIGKILL after {kill_after} requests" if kill_after else "")
                   + f": exit {result.exit_code}, {result.requests} requests, {result.faults} injected 500s")
        model.runs += 1
        model.requests[spec] += result.requests
        model.faults[spec] += result.faults
        stats.runs, stats.requests, stats.faults = stats.runs + 1, stats.requests + result.requests, \
            stats.faults + result.faults
        if result.exit_code is None:
            model.kills[spec] += 1
            model.kills_by_day[model.today] += 1
            stats.kills += 1
        elif result.exit_code not in ((0, 75, 1) if may_fail else (0, 75)):
            self._report([f"{spec} exited {result.exit_code}: {result.stderr[-1500:]}"])
        return result

    def _refresh_sim_used(self) -> None:
        stats = self.env.sim.stats()
        self.model.sim_used[(self.model.today, "research")] = stats["quota_used"]
        self.model.sim_used[(self.model.today, "follow")] = stats["follow_quota_used"]
        refused = stats["faults"].get("quota_exhausted", 0) - self.quota_refusals
        if refused:
            self._report([f"the simulator refused {refused} requests for the quota: the ledger let them through"])

    def _report(self, problems: list[str]) -> None:
        if not problems:
            return
        self.failed = True
        text = "\n".join(problems) + "\nsteps:\n  " + "\n  ".join(self.steps)
        self.env.stats.violations.append(text)
        if self.env.strict:
            raise AssertionError(text)

    def teardown(self) -> None:
        if self.skipped:
            return
        try:
            if not self.failed:
                self._complete()
        finally:
            self.env.sim.fault_burst(0)
            self.stack.close()
            shutil.rmtree(self.workdir, ignore_errors=True)
            if self.env.verbose:
                s = self.env.stats
                print(f"sequence {s.sequences}: {len(self.steps)} steps, {'VIOLATION' if self.failed else 'ok'}; "
                      f"total {s.runs} runs, {s.kills} kills, {s.faults} injected 500s, "
                      f"{len(s.violations)} violations", file=sys.stderr, flush=True)

    def _complete(self) -> None:
        """Both specs to their end, day after day; then the database must equal the corpus."""
        self._step("complete both specs")
        for _ in range(COMPLETION_DAYS):
            codes = [self._run(spec).exit_code for spec in ("model", "people")]
            if codes == [0, 0] and not failing_days_left(self.ws.db_url):
                break
            self._advance_day()
        else:
            self._report([f"not complete after {COMPLETION_DAYS} days"])
        self._refresh_sim_used()
        self._report(check(self.ws.db_url, self.env.oracle, self.model, final_window=self.ws.window[:2]))
        stats = self.env.stats
        stats.video_requests += self.model.requests["model"]
        stats.video_minimum += self.model.video_minimum
        stats.video_kills += self.model.kills["model"]
        stats.video_faults += self.model.faults["model"]
        stats.users_requests += self.model.requests["people"]
        stats.users_bound += self.env.oracle.users_minimum(len(self.model.users_days))
        stats.ledger_over_sim += self.model.ledger_over_sim


def dropped_pages(stderr: str, before: dict[str, int], after: set[str]) -> int:
    """Pages committed in windows this run split in halves or recorded as failing days (their checkpoint
    is removed and the halves start from cursor 0). `before`: the unfinished windows' pages before the
    run; `after`: the windows left after it; the run's `page` log events give the pages committed since."""
    last_page = dict(before)
    logged_gone: set[str] = set()
    for line in stderr.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        if event.get("event") == "page":
            last_page[event.get("window")] = int(event.get("page") or 0)
        elif event.get("event") in ("window_split", "day_failing"):
            logged_gone.add(event.get("window"))
    gone = (set(before) | logged_gone) - after
    return sum(last_page.get(label, 0) for label in gone)


def machine_for(env: ModelEnv) -> type[CrawlModel]:
    """The state machine class bound to one environment (hypothesis instantiates it per sequence)."""
    return type("CrawlModelBound", (CrawlModel,), {"env": env})
