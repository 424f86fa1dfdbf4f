"""What a job needs besides the command itself: paths anchored to the directory the user started in, a
label for the progress line, the `run_summary` event, and what the process reports once its jobs are
done (the table after `run -m`, or under JSON logging only events, at the level their outcome deserves).

Kept apart from `hydra_app` (composition and exit codes) so that both stay small; nothing here imports
Hydra.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from crawlspec import exit_codes
from crawlspec.cli import progress
from crawlspec.errors import CrawlspecError
from crawlspec.logs import configure_logging, get_logger, redact_text, wants_json

if TYPE_CHECKING:
    from crawlspec.spec.settings import Settings

# where a sweep's jobs leave their results (`job-<n>.json`) and pid files, inside the sweep directory
RESULTS_DIR = ".crawlspec"

OUTCOMES = {
    exit_codes.OK: "complete",
    exit_codes.RESUMABLE: "resumable",
    exit_codes.INVALID_INPUT: "invalid input",
    exit_codes.CREDENTIALS_REJECTED: "credentials rejected",
    exit_codes.FAILURE: "failed",
}


class JobLike(Protocol):
    """What the sweep table needs of a job's result (read only)."""

    @property
    def exit_code(self) -> int: ...
    @property
    def videos(self) -> int | None: ...
    @property
    def requests(self) -> int | None: ...
    @property
    def overrides(self) -> tuple[str, ...]: ...


class ReportedJob(JobLike, Protocol):
    """What the end-of-sweep report needs of a job's result (read only)."""

    @property
    def document(self) -> dict[str, Any] | None: ...
    @property
    def message(self) -> str: ...
    @property
    def log_format(self) -> str: ...
    @property
    def summary_logged(self) -> bool: ...


R = TypeVar("R", bound=Any)
# the commands that log: under JSON logging every line they write on stderr is a JSON event
LOGGING_COMMANDS = frozenset({"run", "test"})


def outcome_label(exit_code: int) -> str:
    """The word for a job's exit code."""
    return OUTCOMES.get(exit_code, "failed")


# ---- paths ------------------------------------------------------------------------------------


def anchor_paths(config: dict[str, Any], start_dir: Path) -> None:
    """Make the config's relative paths absolute against `start_dir`, in place.

    Hydra may change the working directory before a job runs (`hydra.job.chdir=true`, or a launcher
    whose workers start elsewhere); `start_dir` is the directory the user typed the command in,
    recorded before Hydra ran, so `sqlite:///x.db`, `storage.raw_dir` and `api.credentials_file`
    mean the same file for every job of a sweep."""
    db = config.get("db")
    if isinstance(db, dict) and isinstance(db.get("url"), str):
        db["url"] = _anchored_db_url(db["url"], start_dir)
    storage = config.get("storage")
    if isinstance(storage, dict) and isinstance(storage.get("raw_dir"), str):
        storage["raw_dir"] = _anchored_path(storage["raw_dir"], start_dir)
    api = config.get("api")
    if isinstance(api, dict) and isinstance(api.get("credentials_file"), str):
        api["credentials_file"] = _anchored_path(api["credentials_file"], start_dir)


def _anchored_path(value: str, start_dir: Path) -> str:
    if not value:
        return value
    path = Path(os.path.expanduser(value))
    return str(path if path.is_absolute() else start_dir / path)


def _anchored_db_url(url: str, start_dir: Path) -> str:
    """A relative SQLite path made absolute; anything else (PostgreSQL, a malformed URL that the run
    reports with its own message) unchanged."""
    from crawlspec.storage.database import resolve_db_url  # lazy: pulls in SQLAlchemy

    if not url.startswith("sqlite"):
        return url
    try:
        return resolve_db_url(url, start_dir)
    except CrawlspecError:
        return url


# ---- per-job reporting ------------------------------------------------------------------------


@dataclass(frozen=True)
class JobResult:
    """What one job (one composed config) produced; picklable, so launchers may run jobs elsewhere."""

    exit_code: int
    document: dict[str, Any] | None = None
    message: str = ""
    videos: int | None = None
    requests: int | None = None
    overrides: tuple[str, ...] = field(default=())
    stored: dict[str, int] = field(default_factory=dict)   # records stored per stage (videos, comments, ...)
    log_format: str = "auto"
    summary_logged: bool = False  # the job logged its outcome as a `run_summary` event (JSON lines)


@dataclass(frozen=True)
class JobContext:
    """Where a job stands: its overrides, its number in a sweep (None for a single run), and whether it
    runs in a launcher's worker process rather than the process the user started."""

    overrides: tuple[str, ...] = ()
    number: int | None = None
    in_worker: bool = False


def begin_progress(settings: Settings, job: JobContext) -> None:
    """On a terminal (console logs), start this job's progress line with the number of windows the
    runner will crawl (planned on the crawl side, read from the database); elsewhere nothing happens."""

    configure_logging(settings.log.format, settings.log.level)
    if not progress.active():
        return
    from crawlspec.crawl.session import pending_window_count  # lazy: pulls in OmegaConf, PyYAML, SQLAlchemy

    plan = settings.spec
    total = pending_window_count(plan, settings.db.url, refetch=settings.run.refetch)
    progress.begin_job(job_label(job.number, plan.name, job.overrides), total,
                       mode="lines" if job.in_worker else "live")


def summarised_run(result: R, config: dict[str, Any] | None, job: JobContext) -> R:
    """End the job's progress line; under JSON logging, log the job's one `run_summary` event (its
    message included, so stderr stays JSON lines only)."""
    from crawlspec.spec.settings import LogSettings  # lazy: pulls in OmegaConf, PyYAML, jsonschema

    progress.end_job()
    log = LogSettings.from_mapping((config or {}).get("log"))   # the job may have been rejected as invalid
    log_format = log.format
    configure_logging(log_format, log.level)  # a job rejected early never configured it
    if not wants_json(log_format):
        return replace(result, log_format=log_format)
    spec = ((config or {}).get("spec") or {}).get("name")
    log_run_summary(result, spec=spec, job_number=job.number, database=_display_db(config or {}),
                    message=result.message)
    return replace(result, log_format=log_format, summary_logged=True)


def _display_db(config: dict[str, Any]) -> str | None:
    from crawlspec.storage.database import display_url  # lazy: pulls in SQLAlchemy

    try:
        return display_url(config["db"]["url"])
    except (KeyError, TypeError, CrawlspecError):
        return None


def job_label(job_number: int | None, spec_name: str, overrides: Sequence[str]) -> str:
    """`demo` for a single run; `job 2 spec.query.regions=[FR]` in a sweep (spec and group picks,
    the same for every job, left out)."""
    if job_number is None:
        return spec_name
    return " ".join([f"job {job_number}", *(o for o in overrides if o.lstrip("+~").startswith("spec."))])


def log_run_summary(result: JobLike, *, spec: str | None, job_number: int | None, database: str | None,
                    message: str) -> None:
    """The one `run_summary` event a job logs under cron/CI (JSON lines), whatever its outcome."""

    fields: dict[str, Any] = {"spec": spec, "videos": result.videos or 0, "requests": result.requests or 0,
                              "outcome": outcome_label(result.exit_code), "exit_code": result.exit_code,
                              "overrides": list(result.overrides), "pid": os.getpid(),
                              "host": socket.gethostname()}
    scheduler_job = scheduler_job_id()
    if scheduler_job:
        fields["job_id"] = scheduler_job
    if job_number is not None:
        fields["job"] = job_number
    # the sentence and next steps the console summary shows, for whoever reads the cron mail
    stored = {name: n for name, n in (getattr(result, "stored", None) or {}).items() if n}
    if stored:
        fields["stored"] = stored
    what = ", ".join(f"{n} {name}" for name, n in stored.items()) or f"{fields['videos']} videos"
    named = f"spec '{spec}'" if spec else "no spec given (+spec=NAME)"
    fields["summary"] = f"{named} {fields['outcome']}: {what} stored, {fields['requests']} API requests used"
    if database:
        fields["database"] = database
        fields["next"] = [f"crawlspec status --db {database}",
                          f"crawlspec export --db {database} --table video --format csv --out videos.csv"]
    if message:
        fields["message"] = message
    log_at_level(get_logger("crawlspec.run"), result.exit_code, "run_summary", **fields)


def scheduler_job_id() -> str | None:
    """The id a scheduler gave the process running this job: SLURM's (`<array job>_<task>` in an
    array, as `squeue` and `sacct` show it), or submitit's on one machine; None outside both."""
    env = os.environ
    if env.get("SLURM_ARRAY_JOB_ID") and env.get("SLURM_ARRAY_TASK_ID"):
        return f"{env['SLURM_ARRAY_JOB_ID']}_{env['SLURM_ARRAY_TASK_ID']}"
    return env.get("SLURM_JOB_ID") or env.get("SUBMITIT_LOCAL_JOB_ID") or None


def log_at_level(log: Any, outcome_code: int, event: str, /, **fields: Any) -> None:
    """Log an outcome at the level its exit code deserves: complete is `info`, a resumable stop (quota,
    `max_api_requests`, a signal, the database gone) is `warning`, anything else is `error`."""
    if outcome_code == exit_codes.OK:
        log.info(event, **fields)
    elif outcome_code == exit_codes.RESUMABLE:
        log.warning(event, **fields)
    else:
        log.error(event, **fields)


# ---- what the process prints once its jobs are done --------------------------------------------


def report_jobs(results: Sequence[ReportedJob], command: str, *, is_sweep: bool) -> int:
    """Documents on stdout; messages not logged yet on stderr (`[job N]` in a sweep), secrets masked;
    after `run -m` the summary table. Returns the worst exit code."""

    for number, result in enumerate(results):
        if result.document is not None:
            print(json.dumps(result.document), flush=True)
        if result.message and not result.summary_logged:
            stream = sys.stdout if command == "validate" and result.exit_code == exit_codes.OK else sys.stderr
            if (stream is sys.stderr and command in LOGGING_COMMANDS and result.exit_code != exit_codes.OK
                    and _logged_as_json(result, command, number if is_sweep else None)):
                continue
            message = redact_text(result.message)
            print(f"[job {number}] {message}" if is_sweep else message, file=stream, flush=True)
    if is_sweep and command == "run":
        _report_sweep(results)
    return exit_codes.worst([r.exit_code for r in results])


def _report_sweep(results: Sequence[ReportedJob]) -> None:
    """The table after `run -m` on stderr; under cron/CI (JSON lines) one `sweep_summary` event at the
    level of the worst job's outcome."""

    log_format = results[0].log_format if results else "auto"
    configure_logging(log_format)  # workers may have run every job
    if not wants_json(log_format):
        print(redact_text(summary_table(results)), file=sys.stderr, flush=True)
        return
    jobs = [{"job": n, "overrides": list(r.overrides), "videos": r.videos, "requests": r.requests,
             "outcome": outcome_label(r.exit_code), "exit_code": r.exit_code} for n, r in enumerate(results)]
    worst = exit_codes.worst([r.exit_code for r in results])
    log_at_level(get_logger("crawlspec.cli.sweep"), worst, "sweep_summary", jobs=jobs, exit_code=worst)


def report_kept_sweep_dir(path: str, log_format: str) -> None:
    """Say where the sweep directory of a sweep that lost or failed a job was kept: a line on a
    terminal, a `sweep_dir_kept` event under JSON logging."""

    note = "each job's result is in .crawlspec/job-<n>.json, submitit's logs in .submitit/<job id>/"
    if wants_json(log_format):
        configure_logging(log_format)
        get_logger("crawlspec.cli.sweep").warning("sweep_dir_kept", path=path, note=note)
    else:
        print(f"crawlspec: sweep directory kept: {path} ({note})", file=sys.stderr, flush=True)


def _logged_as_json(result: ReportedJob, command: str, job_number: int | None) -> bool:
    """Under JSON logging, a job's message is one `command_failed` event; False on a terminal."""

    if not wants_json(result.log_format):
        return False
    configure_logging(result.log_format)
    fields: dict[str, Any] = {"command": command, "message": result.message, "exit_code": result.exit_code,
                              "outcome": outcome_label(result.exit_code)}
    if job_number is not None:
        fields["job"] = job_number
    log_at_level(get_logger("crawlspec"), result.exit_code, "command_failed", **fields)
    return True


# ---- the table after `run -m` -----------------------------------------------------------------


def common_overrides(results: Sequence[JobLike]) -> list[str]:
    """Overrides every job shares (in the first job's order): printed once above the table."""
    if not results:
        return []
    shared = set(results[0].overrides).intersection(*(set(r.overrides) for r in results[1:]))
    return [o for o in results[0].overrides if o in shared]


def summary_table(results: Sequence[JobLike]) -> str:
    """One row per job: job, the overrides that make it different, videos, requests, outcome; a header
    line with the overall result and the overrides common to all jobs."""
    common = common_overrides(results)
    rows = [("job", "overrides", "videos", "requests", "outcome")]
    for number, result in enumerate(results):
        own = [o for o in result.overrides if o not in common] if len(results) > 1 else list(result.overrides)
        outcome = outcome_label(result.exit_code)
        if result.exit_code != exit_codes.OK:
            outcome += f" (exit {result.exit_code})"
        rows.append((str(number), " ".join(own) or "-", _count(result.videos), _count(result.requests), outcome))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    worst = exit_codes.worst([r.exit_code for r in results])
    done = sum(r.exit_code == exit_codes.OK for r in results)
    header = f"sweep: {len(results)} jobs, {done} complete, exit {worst}"
    if common and len(results) > 1:
        header += f"; every job: {' '.join(common)}"
    return "\n".join([header, *lines])


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)
