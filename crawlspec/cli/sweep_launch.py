"""Launchers that lose a job: every job of a sweep still reaches the summary table.

Hydra's launchers give up on the whole sweep when one job ends abnormally: submitit raises
`UncompletedJobError` for a job killed (SIGKILL, out of memory, a node lost) before it returned, and
joblib raises `TerminatedWorkerError` after tearing down every worker. Both throw away the outcomes of
the other jobs. Here:

- every job writes its result to `<sweep dir>/.crawlspec/job-<n>.json` when it ends (`save_job_result`);
- while a sweep runs, the launcher Hydra instantiates is wrapped (`tolerant_launchers`): a job that
  never returned becomes a resumable (75) result carrying the reason; the results the other jobs wrote
  are read back; anything the launcher raises before a job ran (no `sbatch`, a bad launcher key) becomes
  `LauncherSetupError` (exit 2, the launcher's own message).

Ctrl-C in the process that started the sweep stops the jobs it launched (`crawlspec.cli.sweep_cancel`).

A job that stopped without its result is resumable: pages are committed with their checkpoints and
the next run of the same command takes over the windows of a process that is gone.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from hydra.core.plugins import Plugins
from hydra.core.utils import JobReturn, JobStatus
from omegaconf import OmegaConf
from sqlalchemy.engine import make_url

from crawlspec import exit_codes
from crawlspec.cli.sweep import RESULTS_DIR, JobResult
from crawlspec.cli.sweep_cancel import CancellableTask, SweepCancellation
from crawlspec.crawl.signals import forget_stop_signals, stopped_by_signal
from crawlspec.errors import CrawlspecError, SpecError
from crawlspec.logs import get_logger
from crawlspec.redaction import redact, redact_override

# launchers whose jobs run on this machine: they share its files
LOCAL_LAUNCHERS = frozenset({"BasicLauncher", "JoblibLauncher", "LocalLauncher"})
# joblib (loky) and concurrent.futures name a worker that died this way
WORKER_DEATHS = ("TerminatedWorkerError", "BrokenProcessPool")
INTERRUPTED = "the sweep was interrupted (Ctrl-C) and the job stopped or was stopped before it returned"


class LauncherSetupError(CrawlspecError):
    """The launcher could not start the jobs (no `sbatch`/`srun`, a bad launcher option): nothing ran."""

    exit_code = exit_codes.INVALID_INPUT


def result_path(sweep_dir: str | Path, job_number: int) -> Path:
    return Path(sweep_dir) / RESULTS_DIR / f"job-{job_number}.json"


def save_job_result(result: Any, sweep_dir: str | Path, job_number: int) -> None:
    """Write one job's `JobResult` where the process that started the sweep finds it."""
    path = result_path(sweep_dir, job_number)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(asdict(result), default=str))
    temporary.replace(path)


def load_job_result(sweep_dir: str | Path, job_number: int) -> Any | None:
    """The result a job wrote, or None when it never got that far."""
    path = result_path(sweep_dir, job_number)
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    data["overrides"] = tuple(data.get("overrides") or ())
    return JobResult(**data)


def cluster_database_problem(db_url: str, shared_sqlite: bool) -> str | None:
    """Why this database cannot serve jobs on several machines, or None."""
    if not db_url.startswith("sqlite"):
        return None
    path = make_url(db_url).database or ""
    hint = ("a sweep on other machines (SLURM) needs a database every node reaches: use PostgreSQL "
            "(db.url=postgresql://user@host/db), or an absolute path on a shared filesystem together with "
            "cluster.shared_sqlite=true")
    if not os.path.isabs(os.path.expanduser(path)):
        return f"{db_url!r} is a SQLite file relative to this machine; {hint}"
    if not shared_sqlite:
        return f"{db_url!r} is a SQLite file; {hint}"
    return None


class _LostJob:
    """What `Job.results()` answers (instead of raising) for a submitit job that never returned."""

    def __init__(self, reason: str, exit_code: int):
        self.reason = reason
        self.exit_code = exit_code


@contextlib.contextmanager
def _tolerant_submitit_results() -> Iterator[None]:
    """While the submitit launcher collects its jobs, a job that died answers a `_LostJob` and the
    launcher goes on waiting for the others."""
    try:
        from submitit.core import core, utils  # lazy: submitit is an optional extra (the SLURM launcher)
    except ImportError:
        yield
        return
    original = core.Job.results

    def results(job: Any) -> list[Any]:
        try:
            return original(job)
        except utils.UncompletedJobError as error:
            return [_LostJob(f"the job ended without a result ({_first_line(error)}); its log: "
                             f"{job.paths.stderr}", exit_codes.RESUMABLE)]
        except utils.FailedJobError as error:
            return [_LostJob(f"the job failed: {_first_line(error)}; its log: {job.paths.stderr}",
                             exit_codes.FAILURE)]

    core.Job.results = results  # type: ignore[method-assign, assignment]
    try:
        yield
    finally:
        core.Job.results = original  # type: ignore[method-assign]


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def mask_saved_sweep_config(sweep_dir: str) -> None:
    """Hydra saves the sweep's whole config as `multirun.yaml` in the sweep directory before the first
    job, `db.url` password included, readable by everyone: it is rewritten with every secret masked and
    readable by its owner only. (Nothing reads it back; the jobs get their config from the launcher.)"""
    saved = Path(sweep_dir) / "multirun.yaml"
    try:
        text = saved.read_text(encoding="utf-8")
        masked = redact(text)
        if masked != text:
            saved.write_text(masked, encoding="utf-8")
        saved.chmod(0o600)
    except FileNotFoundError:
        return
    except OSError as err:   # the sweep still runs; the user is told the copy could not be masked
        get_logger("crawlspec.cli.sweep").warning("sweep_config_not_masked", path=str(saved), error=str(err),
                                                  note="Hydra's copy of the sweep config may hold a password")


class SkippedAfterSignal:
    """The basic launcher's task, which runs the jobs one after the other in this process: once a job was
    stopped by Ctrl-C / SIGTERM, the jobs not started yet are skipped (exit 75, nothing sent)."""

    def __init__(self, task: Any):
        self.task = task
        forget_stop_signals()   # only a signal during this sweep skips its jobs

    def __call__(self, cfg: Any) -> Any:
        if stopped_by_signal():
            from hydra.core.hydra_config import HydraConfig  # lazy: only a skipped job needs it

            task = HydraConfig.get().overrides.task if HydraConfig.initialized() else []
            return JobResult(exit_codes.RESUMABLE, overrides=tuple(redact_override(str(o)) for o in task),
                             log_format=str(OmegaConf.select(cfg, "log.format", default="auto")),
                             message="not started: the sweep was interrupted (Ctrl-C / SIGTERM); nothing was sent "
                                     "for this job, run the same command again")
        return self.task(cfg)


class TolerantLauncher:
    """Wraps a Hydra launcher (already set up): `launch` always returns one `JobReturn` per job."""

    def __init__(self, inner: Any, lost_jobs: list[int]):
        self.inner = inner
        self.lost_jobs = lost_jobs   # numbers of the jobs that never returned, for the caller
        self.cancellation: SweepCancellation | None = None

    @property
    def interrupted(self) -> bool:
        return self.cancellation is not None and self.cancellation.requested.is_set()

    @property
    def sweep_dir(self) -> str:
        return str(self.inner.config.hydra.sweep.dir)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> list[Any]:
        mask_saved_sweep_config(self.sweep_dir)
        if type(self.inner).__name__ not in LOCAL_LAUNCHERS and hasattr(self.inner, "hydra_context"):
            for overrides in job_overrides:
                self._check_cluster_database(overrides)
        lost: list[Any] = [None] * len(job_overrides)
        try:
            with _tolerant_submitit_results(), self._cancellable(len(job_overrides)):
                returns = list(self.inner.launch(job_overrides, initial_job_idx))
        except KeyboardInterrupt:   # Ctrl-C reached a job before it could handle it; joblib raises it here
            returns = [_LostJob(INTERRUPTED, exit_codes.RESUMABLE)] * len(job_overrides)
        except Exception as error:
            if type(error).__name__ not in WORKER_DEATHS:
                raise LauncherSetupError(f"the launcher could not run the sweep: {type(error).__name__}: "
                                         f"{_first_line(error)}") from error
            reason = INTERRUPTED if self.interrupted else (
                f"a worker process died ({type(error).__name__}); the launcher stopped the jobs still running")
            returns = [_LostJob(reason, exit_codes.RESUMABLE)] * len(job_overrides)
        for index, job in enumerate(returns):
            if isinstance(job, _LostJob):
                lost[index] = job
        return [job if lost[index] is None else self._recovered(
                    initial_job_idx + index, job_overrides[index], lost[index])
                for index, job in enumerate(returns)]

    @contextlib.contextmanager
    def _cancellable(self, jobs: int) -> Iterator[None]:
        """Jobs in other processes stop on Ctrl-C here (jobs of the basic launcher run in this process and
        handle the signal themselves)."""
        if getattr(self.inner, "task_function", None) is None:
            yield
            return
        if type(self.inner).__name__ == "BasicLauncher":
            self.inner.task_function = SkippedAfterSignal(self.inner.task_function)
            yield
            return
        sweep_dir = os.path.abspath(self.sweep_dir)   # the same directory for a job that changed its own
        cancellation = self.cancellation = SweepCancellation(sweep_dir, self._log_format())
        self._no_idle_workers(jobs)
        self.inner.task_function = CancellableTask(self.inner.task_function, sweep_dir)
        with cancellation.recording_submitted_jobs(), cancellation.on_interrupt():
            yield

    def _no_idle_workers(self, jobs: int) -> None:
        """joblib starts `n_jobs` workers (all cores by default): no more than there are jobs. A worker
        that never ran a job does not block SIGINT (`CancellableTask`): a terminal's Ctrl-C kills it, and
        joblib then kills every worker instead of letting the jobs stop cleanly."""
        settings = getattr(self.inner, "joblib", None)
        if type(self.inner).__name__ != "JoblibLauncher" or not isinstance(settings, dict):
            return
        from joblib import effective_n_jobs  # lazy: joblib comes with the optional joblib launcher

        with contextlib.suppress(TypeError, ValueError):
            settings["n_jobs"] = max(1, min(effective_n_jobs(settings.get("n_jobs", -1)), jobs))

    def _log_format(self) -> str:
        """The sweep's `log.format` (as the jobs that did return report it)."""
        config = getattr(self.inner, "config", None)
        return "auto" if config is None else str(OmegaConf.select(config, "log.format", default="auto"))

    def _check_cluster_database(self, overrides: Sequence[str]) -> None:
        """Jobs on other machines share data only through PostgreSQL (or, explicitly, a SQLite file on
        a filesystem every node mounts at the same absolute path)."""
        config = self.inner.hydra_context.config_loader.load_sweep_config(self.inner.config, list(overrides))
        problem = cluster_database_problem(str(config.db.url),
                                           bool(config.get("cluster", {}).get("shared_sqlite", False)))
        if problem:
            raise SpecError(f"db.url: {problem}")

    def _recovered(self, job_number: int, overrides: Sequence[str], lost: _LostJob) -> Any:
        """The result the job wrote before its process went away, else a result saying why it has none."""
        result = load_job_result(self.sweep_dir, job_number)
        if result is None:
            self.lost_jobs.append(job_number)
            result = JobResult(lost.exit_code, message=f"crawlspec: {lost.reason}; pages "
                               "committed before are safe, run the same command again to resume",
                               overrides=tuple(redact_override(str(o)) for o in overrides),
                               log_format=self._log_format())
        job = JobReturn(overrides=list(overrides), status=JobStatus.COMPLETED)
        job.return_value = result
        return job


@contextlib.contextmanager
def tolerant_launchers() -> Iterator[list[int]]:
    """Wrap every launcher Hydra instantiates while the sweep runs in a `TolerantLauncher`; yields the
    list that collects the numbers of the jobs that never returned."""
    plugins = Plugins.instance()
    original = plugins.instantiate_launcher

    def instantiate_launcher(*args: Any, **kwargs: Any) -> Any:
        return TolerantLauncher(original(*args, **kwargs), lost_jobs)

    lost_jobs: list[int] = []
    plugins.instantiate_launcher = instantiate_launcher  # type: ignore[method-assign]
    try:
        yield lost_jobs
    finally:
        del plugins.instantiate_launcher  # the class's own method again
