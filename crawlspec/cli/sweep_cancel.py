"""Ctrl-C in the process that started a sweep: stop the jobs it launched, exit 75, leave no process.

Jobs run in other processes (joblib's loky workers, submitit's local jobs). Every job announces its
process in `<sweep dir>/.crawlspec/job-<n>.pid` while it runs (`CancellableTask`). On the first SIGINT
the sweep process:

- writes `<sweep dir>/.crawlspec/cancelled`: a job that has not started yet returns 75 at once, without
  sending a request;
- sends SIGTERM to every running job: the job commits its page in flight, releases its leases and
  ends with 75, like a single run (a job never takes a terminal's Ctrl-C itself: SIGINT is blocked in
  its process, so it gets exactly one stop signal); SLURM jobs are cancelled with `scancel`;
- waits for the launcher to collect the jobs as usual (the table and exit code follow), killing the
  jobs still running after `STOP_GRACE_S` seconds; a second SIGINT kills them at once.

A killed job loses at most its uncommitted page; the next run of the same command resumes it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf

from crawlspec import exit_codes
from crawlspec.cli.sweep import RESULTS_DIR, JobResult
from crawlspec.crawl.leases import process_start
from crawlspec.logs import configure_logging, get_logger, wants_json
from crawlspec.redaction import redact_override

STOP_GRACE_S = 30.0
"""How long jobs asked to stop may take (their page in flight, with one request's timeout) before they
are killed."""
CANCEL_MARKER = "cancelled"
WATCH_TICK_S = 0.25
DEFERRED_STOP_TICK_S = 0.05


def _results_dir(sweep_dir: str | Path) -> Path:
    return Path(sweep_dir) / RESULTS_DIR


def pid_path(sweep_dir: str | Path, job_number: int) -> Path:
    return _results_dir(sweep_dir) / f"job-{job_number}.pid"


def cancelled(sweep_dir: str | Path) -> bool:
    return (_results_dir(sweep_dir) / CANCEL_MARKER).exists()


@dataclass(frozen=True)
class CancellableTask:
    """Hydra's task function, wrapped for a sweep: records the job's process while it runs and returns a
    resumable result without running when the sweep was interrupted before the job started."""

    inner: Any
    sweep_dir: str

    def __call__(self, cfg: Any) -> Any:
        if threading.current_thread() is threading.main_thread():   # first of all (see below)
            signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGINT])

        number = int(HydraConfig.get().job.num)
        path = pid_path(self.sweep_dir, number)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(_process_identity(os.getpid()))
        temporary.replace(path)
        try:   # the pid file first, then the marker: the sweep process sees the one or the other
            if cancelled(self.sweep_dir):
                return _not_started(cfg, HydraConfig.get())
            with _signals_from_the_sweep_process_only():
                return self.inner(cfg)
        finally:
            path.unlink(missing_ok=True)


@contextlib.contextmanager
def _signals_from_the_sweep_process_only() -> Iterator[None]:
    """A job is stopped by the sweep process, once, with SIGTERM:

    - SIGINT stays blocked in the job's process (also after the job: a joblib worker waiting for its
      next job must survive a terminal's Ctrl-C, or joblib gives up every job); the terminal sends
      its Ctrl-C to the sweep process, which relays it;
    - the crawl handles SIGTERM itself (commit the page in flight, exit 75). A SIGTERM that arrives
      before the crawl installed its handler (the job still composing its config, opening the
      database) is kept by `_DeferredStop` and delivered again once the crawl listens; one that
      arrives after the crawl (the job reporting its result) changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGINT])
    deferred = _DeferredStop()
    previous = signal.signal(signal.SIGTERM, deferred.handler)
    try:
        yield
    finally:
        with deferred.lock:
            deferred.job_done = True
            signal.signal(signal.SIGTERM, previous)


class _DeferredStop:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.job_done = False
        self._pending = False

    def handler(self, _signum: int, _frame: Any) -> None:
        if not self._pending:
            self._pending = True
            threading.Thread(target=self._deliver_when_the_crawl_listens, name="crawlspec-deferred-stop",
                             daemon=True).start()

    def _deliver_when_the_crawl_listens(self) -> None:
        while True:
            with self.lock:
                if self.job_done:
                    return
                if signal.getsignal(signal.SIGTERM) != self.handler:   # the crawl's own handler
                    os.kill(os.getpid(), signal.SIGTERM)
                    self._pending = False
                    return
            time.sleep(DEFERRED_STOP_TICK_S)   # polling for the crawl to install its handler


def _process_identity(pid: int) -> str:
    return f"{pid} {process_start(pid) or ''}".strip()


def _not_started(cfg: Any, hydra_cfg: Any) -> Any:
    return JobResult(exit_codes.RESUMABLE, overrides=tuple(redact_override(str(o)) for o in hydra_cfg.overrides.task),
                     message="crawlspec: the sweep was interrupted before this job started; nothing was sent; "
                             "run the same command again to crawl it",
                     log_format=str(OmegaConf.select(cfg, "log.format", default="auto")))


class SweepCancellation:
    """What the sweep process does on SIGINT while the launcher waits for its jobs."""

    def __init__(self, sweep_dir: str | Path, log_format: str = "auto", grace_s: float = STOP_GRACE_S):
        self.sweep_dir = Path(sweep_dir)
        self.log_format = log_format
        self.grace_s = grace_s
        self.requested = threading.Event()
        self._finished = threading.Event()
        self.submitted: list[Any] = []   # submitit jobs (their scheduler cancels the cluster ones)
        self._helpers: list[threading.Thread] = []

    def running_jobs(self) -> dict[int, int]:
        """Job number -> pid of every job process still running."""

        jobs = {}
        for path in _results_dir(self.sweep_dir).glob("job-*.pid"):
            try:
                pid_text, _, start = path.read_text().partition(" ")
                number, pid = int(path.stem.split("-", 1)[1]), int(pid_text)
            except (OSError, ValueError):
                continue
            if start and process_start(pid) != start:
                continue   # ended (its pid gone, or now another process's)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, 0)
                jobs[number] = pid
        return dict(sorted(jobs.items()))

    def stop_jobs(self) -> None:
        """First SIGINT: no job starts any more, the running ones stop; killed after the grace time."""
        marker = _results_dir(self.sweep_dir) / CANCEL_MARKER
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
        jobs = self.running_jobs()
        for pid in jobs.values():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGTERM)
        self._cancel_cluster_jobs()
        self._say("sweep_interrupted", jobs_stopping=sorted(jobs), grace_s=self.grace_s,
                  note="the running jobs commit their page in flight and stop (exit 75); jobs not started "
                       "are skipped; Ctrl-C again to kill them now")
        if not self._finished.wait(self.grace_s):
            self.kill_jobs()

    def _cancel_cluster_jobs(self) -> None:
        """Jobs on other machines (SLURM): `scancel` sends them SIGTERM, then SIGKILL after the
        cluster's grace time. Jobs on this machine were signalled by their pid."""
        for job in self.submitted:
            if type(job).__name__ != "LocalJob":
                with contextlib.suppress(Exception):
                    job.cancel(check=False)

    @contextlib.contextmanager
    def recording_submitted_jobs(self) -> Iterator[None]:
        """Note the jobs submitit's executors submit while the block runs."""
        try:
            from submitit.core import core  # lazy: submitit is an optional extra (the SLURM launcher)
        except ImportError:
            yield
            return
        original = core.Executor.map_array

        def map_array(executor: Any, *args: Any, **kwargs: Any) -> Any:
            jobs = original(executor, *args, **kwargs)
            self.submitted.extend(jobs)
            return jobs

        core.Executor.map_array = map_array  # type: ignore[method-assign, assignment]
        try:
            yield
        finally:
            core.Executor.map_array = original  # type: ignore[method-assign]

    def kill_jobs(self) -> None:
        jobs = self.running_jobs()
        for pid in jobs.values():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        if jobs:
            self._say("sweep_jobs_killed", jobs=sorted(jobs),
                      note="pages committed before are safe; run the same command again to resume")

    def _say(self, event: str, **fields: Any) -> None:
        if wants_json(self.log_format):
            configure_logging(self.log_format)
            get_logger("crawlspec.cli.sweep").warning(event, **fields)
        else:
            print(f"crawlspec: {event.replace('_', ' ')}: {fields.pop('note')} "
                  f"({', '.join(f'{k}={v}' for k, v in fields.items())})", file=sys.stderr, flush=True)

    def interrupted(self) -> None:
        """One SIGINT: the first stops the jobs, the next kills them (on helper threads: the main thread
        may hold locks the work needs)."""
        target = self.kill_jobs if self.requested.is_set() else self.stop_jobs
        self.requested.set()
        thread = threading.Thread(target=target, name="crawlspec-sweep-cancel", daemon=True)
        self._helpers.append(thread)
        thread.start()

    def _watch(self) -> None:
        while not self._finished.is_set():
            if signal.sigtimedwait([signal.SIGINT], WATCH_TICK_S) is not None:
                self.interrupted()

    @contextlib.contextmanager
    def on_interrupt(self) -> Iterator[None]:
        """While the block runs (the launcher starting and waiting for its jobs), SIGINT stops the jobs
        instead of raising KeyboardInterrupt in the middle of the launcher; a second SIGINT kills them.

        SIGINT is blocked in this thread and taken by a watcher thread: the job processes started
        meanwhile inherit the blocked signal, so a terminal's Ctrl-C (sent to every process of its
        foreground group) reaches only this process, which stops each job exactly once with SIGTERM.
        The handler serves a thread started earlier that does not block it."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        self._clear()   # a sweep directory used again: an earlier sweep's marker must not stop this one
        previous = signal.signal(signal.SIGINT, lambda _signum, _frame: self.interrupted())
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGINT])
        watcher = threading.Thread(target=self._watch, name="crawlspec-sweep-interrupts", daemon=True)
        watcher.start()
        try:
            yield
        finally:
            self._finished.set()
            watcher.join()
            for helper in self._helpers:
                helper.join(timeout=10)   # its message is printed before the table
            while signal.sigtimedwait([signal.SIGINT], 0) is not None:
                pass   # the jobs are done: a Ctrl-C in the last instant has nothing left to stop
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
            signal.signal(signal.SIGINT, previous)
            self._clear()

    def _clear(self) -> None:
        (_results_dir(self.sweep_dir) / CANCEL_MARKER).unlink(missing_ok=True)

