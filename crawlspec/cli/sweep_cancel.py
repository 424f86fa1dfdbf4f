"""Ctrl-C in the process that started a sweep: stop the jobs it launched, exit 75, leave no process.

Jobs run in other processes (joblib's loky workers, submitit's local jobs). Every job announces its
process in `<sweep dir>/.crawlspec/job-<n>.pid` while it runs (`CancellableTask`). On the first SIGINT
the sweep process:

- writes `<sweep dir>/.crawlspec/cancelled`: a job that has not started yet returns 75 at once, without
  sending a request;
- sends SIGTERM to every running job (unless the Ctrl-C of the terminal reached it already): the job
  commits its page in flight, releases its leases and ends with 75, like a single run;
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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawlspec import exit_codes

STOP_GRACE_S = 30.0
"""How long jobs asked to stop may take (their page in flight, with one request's timeout) before they
are killed."""
CANCEL_MARKER = "cancelled"


def _results_dir(sweep_dir: str | Path) -> Path:
    from crawlspec.cli.sweep_launch import RESULTS_DIR

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
        from hydra.core.hydra_config import HydraConfig

        number = int(HydraConfig.get().job.num)
        path = pid_path(self.sweep_dir, number)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(_process_identity(os.getpid()))
        temporary.replace(path)
        try:   # the pid file first, then the marker: the sweep process sees the one or the other
            if cancelled(self.sweep_dir):
                return _not_started(cfg, HydraConfig.get())
            with _sigterm_outside_the_crawl():
                return self.inner(cfg)
        finally:
            path.unlink(missing_ok=True)


@contextlib.contextmanager
def _sigterm_outside_the_crawl() -> Iterator[None]:
    """The crawl handles SIGTERM itself (commit the page in flight, exit 75); before and after it (the
    job composing its config, reporting its result), a SIGTERM from the sweep process must not kill
    the worker (joblib would then give up the other jobs too): it is ignored there. A job that was
    still starting when the sweep was interrupted is killed after the grace time."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _process_identity(pid: int) -> str:
    from crawlspec.crawl.leases import process_start

    return f"{pid} {process_start(pid) or ''}".strip()


def _not_started(cfg: Any, hydra_cfg: Any) -> Any:
    from omegaconf import OmegaConf

    from crawlspec.cli.hydra_app import JobResult
    from crawlspec.redaction import redact_override

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

    def running_jobs(self) -> dict[int, int]:
        """Job number -> pid of every job process still running."""
        from crawlspec.crawl.leases import process_start

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
            if not _reached_by_terminal_interrupt(pid):
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
            from submitit.core import core
        except ImportError:
            yield
            return
        original = core.Executor.map_array

        def map_array(executor: Any, *args: Any, **kwargs: Any) -> Any:
            jobs = original(executor, *args, **kwargs)
            self.submitted.extend(jobs)
            return jobs

        core.Executor.map_array = map_array  # type: ignore[method-assign]
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
        from crawlspec.logs import configure_logging, get_logger, wants_json

        if wants_json(self.log_format):
            configure_logging(self.log_format)
            get_logger("crawlspec.cli.sweep").warning(event, **fields)
        else:
            print(f"crawlspec: {event.replace('_', ' ')}: {fields.pop('note')} "
                  f"({', '.join(f'{k}={v}' for k, v in fields.items())})", file=sys.stderr, flush=True)

    @contextlib.contextmanager
    def on_interrupt(self) -> Iterator[None]:
        """While the block runs (the launcher waiting for its jobs), SIGINT stops the jobs instead of
        raising KeyboardInterrupt in the middle of the launcher; a second SIGINT kills them."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(_signum: int, _frame: Any) -> None:
            # the work happens on helper threads: the main thread may hold locks the handler would need
            target = self.kill_jobs if self.requested.is_set() else self.stop_jobs
            self.requested.set()
            threading.Thread(target=target, name="crawlspec-sweep-cancel", daemon=True).start()

        self._clear()   # a sweep directory used again: an earlier sweep's marker must not stop this one
        previous = signal.signal(signal.SIGINT, handler)
        try:
            yield
        finally:
            self._finished.set()
            signal.signal(signal.SIGINT, previous)
            self._clear()

    def _clear(self) -> None:
        (_results_dir(self.sweep_dir) / CANCEL_MARKER).unlink(missing_ok=True)


def _reached_by_terminal_interrupt(pid: int) -> bool:
    """The job is in the terminal's foreground process group: the terminal sent it the SIGINT too (a
    second signal would make it exit without committing its page in flight)."""
    for fd in (0, 1, 2):
        with contextlib.suppress(OSError):
            if os.isatty(fd):
                return os.getpgid(pid) == os.tcgetpgrp(fd)
    return False
