"""`crawlspec run|compile|validate|test [-m] [overrides]`: Hydra composition, sweeps and exit codes.

Real Hydra runs every command (`Hydra.run` / `Hydra.multirun`), so launchers such as joblib work for
`run -m`. The primary config (`conf/config.yaml`, packaged as `crawlspec.conf`) makes Hydra write
nothing in the user's directory: no outputs/, no .hydra/, no log files; a sweep's bookkeeping goes to
a temporary directory that is removed afterwards
(kept when a job failed or never returned: see `sweep_launch`).

Sweeps (`run -m`): every job is its own crawl; relative paths resolve against the directory the user
started in (recorded before Hydra runs, see `sweep.anchor_paths`), a failing job does not stop the
others, the process exits with the worst job's code and prints a summary table (a `sweep_summary`
JSON event when logs are JSON lines). Launchers (`hydra/launcher=joblib`, `submitit_slurm`) run the
same picklable `CommandTask` in other processes.

Errors: anything wrong with the command line or the composition (misspelled key, unknown group
option, missing spec, bad override syntax, failing `${...}`) exits 2 with a readable message; a
`CrawlspecError` exits with its own code; anything else exits 1 with one line (a traceback only with
CRAWLSPEC_DEBUG=1).
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import sys
import tempfile
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from crawlspec import exit_codes
from crawlspec.cli import sweep
from crawlspec.cli.sweep import JobResult
from crawlspec.errors import CrawlspecError, SpecError
from crawlspec.logs import configure_logging, get_logger, redact_text, wants_json
from crawlspec.redaction import redact, redact_override
from crawlspec.spec import plan_warnings, resolvers
from crawlspec.spec.compile import interpolation_message
from crawlspec.spec.settings import load_settings
from crawlspec.spec.validate import closest_known_key

CONFIG_MODULE = "crawlspec.conf"
CONFIG_NAME = "config"
DEBUG_ENV = "CRAWLSPEC_DEBUG"
LAUNCHER_PACKAGES = {"joblib": "'crawlspec[joblib]'", "submitit_slurm": "'crawlspec[submitit]'",
                     "submitit_local": "'crawlspec[submitit]'"}
COMMAND_HELP = {
    "compile": "print the compiled plan (query, windows, fingerprint) as JSON on stdout; sends nothing",
    "validate": "report every problem of the composed config and spec (exit 2 if any); sends nothing",
    "run": "validate, compile and run the spec: fetch every pending window into the database",
    "test": "one-request smoke test of the credentials and the database",
}


# ---- entry point ------------------------------------------------------------------------------


def main(command: str, argv: list[str]) -> int:
    # `run` and `test` log (JSON lines under cron); `compile` and `validate` print plain messages
    log_format = command_line_log_format(argv) if command in sweep.LOGGING_COMMANDS else "console"
    if command not in COMMAND_HELP:
        return _complain(f"crawlspec: unknown command {command!r}", exit_codes.INVALID_INPUT, log_format)
    try:
        argv, show_config = _take_cfg_option(argv)
    except SpecError as error:
        return _complain(error_message(error), error.exit_code, log_format)
    multirun, show_help, overrides, unknown = _parse_args(argv)
    if unknown:
        return _complain(f"crawlspec {command}: unknown option {unknown[0]!r}; see `crawlspec {command} --help`",
                         exit_codes.INVALID_INPUT, log_format)
    if show_config:
        return _guarded(lambda: _print_config(overrides), log_format)
    return _guarded(lambda: _main(command, overrides, multirun=multirun, show_help=show_help), log_format)


def command_line_log_format(argv: list[str]) -> str:
    """The log format the command line asks for (`log.format=X` or `log=X`; the last one wins), known
    before anything is composed: errors found before any job runs are reported in it."""
    chosen = "auto"
    for arg in argv:
        key, sep, value = arg.lstrip("+~").partition("=")
        value = value.strip("'\"")
        if sep and key in ("log", "log.format") and value in ("auto", "console", "json"):
            chosen = value
    return chosen


def _take_cfg_option(argv: list[str]) -> tuple[list[str], bool]:
    """Hydra's `--cfg job` (`-c job`): print the composed config instead of running the command."""
    for flag in ("--cfg", "-c"):
        if flag in argv:
            i = argv.index(flag)
            if argv[i + 1:i + 2] != ["job"]:
                raise SpecError(f"{flag}: only `{flag} job` is supported (prints the composed configuration)")
            return argv[:i] + argv[i + 2:], True
    return argv, False


def _print_config(overrides: list[str]) -> int:
    """The composed configuration as YAML on stdout, secrets masked (database passwords, keys named like
    a secret); nothing is sent."""
    from hydra import compose, initialize_config_module  # lazy: Hydra is slow to import
    from omegaconf import OmegaConf  # lazy: OmegaConf is slow to import

    from crawlspec.storage.database import display_url  # lazy: pulls in SQLAlchemy

    resolvers.register()
    register_plugins()
    with initialize_config_module(config_module=CONFIG_MODULE, version_base="1.3", job_name="crawlspec"):
        config = plain_config(compose(config_name=CONFIG_NAME, overrides=overrides))
    if isinstance(config.get("db"), dict) and config["db"].get("url"):
        config["db"]["url"] = display_url(config["db"]["url"])
    print(OmegaConf.to_yaml(redact(config)), end="")
    return exit_codes.OK


def _parse_args(argv: list[str]) -> tuple[bool, bool, list[str], list[str]]:
    flags = {"-m", "--multirun", "-h", "--help"}
    unknown = [arg for arg in argv if arg.startswith("-") and arg not in flags]
    overrides = [arg for arg in argv if not arg.startswith("-")]
    multirun = any(arg in ("-m", "--multirun") for arg in argv)
    show_help = any(arg in ("-h", "--help") for arg in argv)
    return multirun, show_help, overrides, unknown


def _guarded(body: Callable[[], int], log_format: str) -> int:
    """Map every failure outside a job to an exit code and one readable message (secrets masked: a
    message may quote the override it failed on)."""
    from hydra.errors import HydraException  # lazy: Hydra is slow to import
    from omegaconf.errors import OmegaConfBaseException  # lazy: OmegaConf is slow to import

    try:
        return body()
    except CrawlspecError as error:
        return _complain(error_message(error), error.exit_code, log_format)
    except (HydraException, OmegaConfBaseException) as error:
        _debug_traceback()  # an override as typed may hold a database password: _complain masks it
        return _complain(f"crawlspec: {describe_composition_error(error)}", exit_codes.INVALID_INPUT, log_format)
    except Exception as error:  # a bug: one line, the traceback on request
        _debug_traceback()
        return _complain(f"crawlspec: unexpected error: {type(error).__name__}: {error} "
                         f"(set {DEBUG_ENV}=1 for the traceback)", exit_codes.FAILURE, log_format)


def _complain(message: str, exit_code: int, log_format: str) -> int:
    """One plain line on a terminal; one `command_failed` event under JSON logging. Returns exit_code."""

    if wants_json(log_format):
        configure_logging(log_format)
        sweep.log_at_level(get_logger("crawlspec"), exit_code, "command_failed", message=message,
                           exit_code=exit_code, outcome=sweep.outcome_label(exit_code))
    else:
        print(redact_text(message), file=sys.stderr, flush=True)
    return exit_code


def _debug_traceback() -> None:
    if os.environ.get(DEBUG_ENV) == "1":
        traceback.print_exc()


def _main(command: str, overrides: list[str], *, multirun: bool, show_help: bool) -> int:
    from hydra import initialize_config_module  # lazy: Hydra is slow to import
    from hydra.core.global_hydra import GlobalHydra  # lazy: Hydra is slow to import

    resolvers.register()
    register_plugins()
    with initialize_config_module(config_module=CONFIG_MODULE, version_base="1.3", job_name="crawlspec"):
        hydra = GlobalHydra.instance().hydra
        assert hydra is not None
        if show_help:
            print(command_help(command, hydra))
            return exit_codes.OK
        task = CommandTask(command, start_dir=os.getcwd(), launcher_pid=os.getpid())
        if multirun:
            return _sweep(hydra, task, overrides)
        job = hydra.run(config_name=CONFIG_NAME, task_function=task, overrides=[*overrides, "hydra.mode=RUN"])
        return sweep.report_jobs([_job_result(job)], command, is_sweep=False)


def register_plugins() -> None:
    """Register crawlspec's Hydra plugins explicitly. Hydra finds plugins by scanning the
    `hydra_plugins` namespace package, which misses packages installed in editable mode;
    registering is idempotent, so a regular install (where the scan works) is unaffected."""
    from hydra.core.plugins import Plugins  # lazy: Hydra is slow to import

    # lazy: the plugins import Hydra, slow to import
    from hydra_plugins.crawlspec_plugins.search_path import CrawlspecSearchPathPlugin
    from hydra_plugins.crawlspec_plugins.spec_source import SpecDirConfigSource  # lazy: Hydra

    for plugin in (SpecDirConfigSource, CrawlspecSearchPathPlugin):
        Plugins.instance().register(plugin)


def _sweep(hydra: Any, task: CommandTask, overrides: list[str]) -> int:
    """Run the jobs; the sweep directory (a temporary one unless `hydra.sweep.dir` is given) is removed
    afterwards unless a job failed (exit 1) or never returned: then its path is printed, for the jobs' results
    (`.crawlspec/job-<n>.json`) and launcher logs (`.submitit/<job id>/`)."""

    from crawlspec.cli.sweep_launch import tolerant_launchers  # lazy: pulls in Hydra, SQLAlchemy

    given = any(o.lstrip("+~").startswith("hydra.sweep.dir=") for o in overrides)
    sweep_dir = None if given else tempfile.mkdtemp(prefix="crawlspec-sweep-")
    own = [] if sweep_dir is None else [f"hydra.sweep.dir='{sweep_dir}'"]
    keep = True
    try:
        with tolerant_launchers() as lost_jobs:
            batches = hydra.multirun(config_name=CONFIG_NAME, task_function=task,
                                     overrides=[*overrides, *own, "hydra.mode=MULTIRUN"])
        results = [_job_result(job) for batch in batches for job in batch]
        failed = [n for n, r in enumerate(results) if r.exit_code == exit_codes.FAILURE]
        keep = bool(lost_jobs or failed)
        code = sweep.report_jobs(results, task.command, is_sweep=True)
    finally:
        if sweep_dir is not None and not keep:
            shutil.rmtree(sweep_dir, ignore_errors=True)
    if keep and sweep_dir is not None:
        sweep.report_kept_sweep_dir(sweep_dir, results[0].log_format if results else "auto")
    return code


def _job_result(job: Any) -> JobResult:
    from hydra.core.utils import JobStatus  # lazy: Hydra is slow to import

    if job.status != JobStatus.COMPLETED:  # the task catches everything; this is a safety net
        return JobResult(exit_codes.FAILURE, message=f"job failed: {job._return_value}")
    result = job.return_value
    assert isinstance(result, JobResult)
    return result


summary_table = sweep.summary_table


# ---- one job ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CommandTask:
    """Hydra's task function: one composed config -> `JobResult`. Never raises.

    `start_dir` and `launcher_pid` are recorded in the process the user started, before Hydra runs (and
    pickled along to launcher workers): relative paths resolve against `start_dir` whatever directory
    Hydra or a launcher puts the job in, and a job in another process draws progress as whole lines."""

    command: str
    start_dir: str = field(default_factory=os.getcwd)
    launcher_pid: int = field(default_factory=os.getpid)

    def __call__(self, cfg: Any) -> JobResult:
        from hydra.core.hydra_config import HydraConfig  # lazy: Hydra is slow to import

        resolvers.register()  # sweep workers may be fresh processes
        hydra_cfg = HydraConfig.get() if HydraConfig.initialized() else None
        job = sweep.JobContext(_job_overrides(hydra_cfg), _job_number(hydra_cfg), os.getpid() != self.launcher_pid)
        config: dict[str, Any] | None = None
        try:
            config = plain_config(cfg)
            sweep.anchor_paths(config, Path(self.start_dir))
            result = run_command(self.command, config, list(job.overrides), job=job)
        except CrawlspecError as error:
            result = JobResult(error.exit_code, message=error_message(error), overrides=job.overrides)
        except Exception as error:  # a bug: one line, the traceback on request
            _debug_traceback()
            result = JobResult(exit_codes.FAILURE, overrides=job.overrides,
                               message=f"crawlspec: unexpected error: {type(error).__name__}: {error} "
                                       f"(set {DEBUG_ENV}=1 for the traceback)")
        if self.command != "run":
            return replace(result, log_format=str(((config or {}).get("log") or {}).get("format", "auto")))
        try:
            result = sweep.summarised_run(result, config, job)
        except Exception as error:  # never let Hydra print the job's overrides (and a bug) itself
            _debug_traceback()
            result = replace(result, exit_code=exit_codes.FAILURE,
                             message=f"crawlspec: unexpected error: {type(error).__name__}: {error}")
        if hydra_cfg is not None and job.number is not None:
            _save_result(result, str(hydra_cfg.sweep.dir), job.number)
        return result


def _save_result(result: JobResult, sweep_dir: str, job_number: int) -> None:
    """Leave the job's result in the sweep directory: read back if the launcher loses the job's return."""
    from crawlspec.cli.sweep_launch import save_job_result  # lazy: pulls in Hydra, SQLAlchemy

    try:
        save_job_result(result, sweep_dir, job_number)
    except OSError:   # the result still travels back through the launcher
        _debug_traceback()


def _job_number(hydra_cfg: Any) -> int | None:
    """The job's number in a sweep; None for a single run."""
    from hydra.types import RunMode  # lazy: Hydra is slow to import

    if hydra_cfg is None or hydra_cfg.mode != RunMode.MULTIRUN:
        return None
    return int(hydra_cfg.job.num)


def error_message(error: CrawlspecError) -> str:
    """`crawlspec: problem`, or a header and one indented line per problem when there are several."""
    problems = error.problems if isinstance(error, SpecError) else [str(error)]
    if len(problems) == 1:
        return f"crawlspec: {problems[0]}"
    lines = [f"crawlspec: {len(problems)} problems, nothing was sent:", *(f"  {p}" for p in problems)]
    return "\n".join(lines)


def _job_overrides(hydra_cfg: Any) -> tuple[str, ...]:
    """This job's overrides as Hydra records them (unresolved: `${days_ago:x}` must not be evaluated
    here), with their secrets masked."""
    from omegaconf import OmegaConf  # lazy: OmegaConf is slow to import

    if hydra_cfg is None:
        return ()
    # masked here, at the source: overrides are logged, tabulated and stored in `crawl.overrides`
    task = OmegaConf.to_container(hydra_cfg.overrides.task, resolve=False)
    assert isinstance(task, list)
    return tuple(redact_override(str(o)) for o in task)


def plain_config(cfg: Any) -> dict[str, Any]:
    """The composed config as a plain, resolved dict without the `hydra` node."""
    from omegaconf import OmegaConf  # lazy: OmegaConf is slow to import
    from omegaconf.errors import OmegaConfBaseException  # lazy: OmegaConf is slow to import

    try:
        config = OmegaConf.to_container(cfg, resolve=True)
    except (OmegaConfBaseException, ValueError) as error:
        raise SpecError(interpolation_message(error)) from None
    assert isinstance(config, dict)
    config.pop("hydra", None)
    return {str(key): value for key, value in config.items()}


def run_command(command: str, config: dict[str, Any], overrides: list[str],
                job: sweep.JobContext | None = None) -> JobResult:
    """Validate and compile once (`load_settings`), then do the command. Invalid input raises
    `SpecError` before anything is sent."""

    if command == "test":  # checks credentials and database: no spec needed
        load_settings(config, with_spec=False)
        return _run_or_test(command, config, overrides)
    settings = load_settings(config)
    compiled = settings.spec
    warnings = plan_warnings.config_plan_warnings(settings.api, compiled)
    if command != "validate":
        plan_warnings.log_plan_warnings(settings.log, warnings)
    if command == "compile":
        return JobResult(exit_codes.OK, document=compiled.to_document(), overrides=tuple(overrides))
    if command == "validate" and compiled.users is not None:
        message = (f"OK: spec {compiled.name} is valid: {len(compiled.users.names)} user(s), "
                   f"{', '.join(('info',) * compiled.users.info + compiled.users.lists)}, "
                   f"fingerprint {compiled.fingerprint[:12]}")
        return JobResult(exit_codes.OK, message=message, overrides=tuple(overrides))
    if command == "validate":
        sizes = " (auto: up to 30 days each, smaller where the API fails)" if compiled.auto_windows else ""
        message = (f"OK: spec {compiled.name} is valid: {len(compiled.windows)} window(s){sizes} from "
                   f"{compiled.start} to {compiled.end}, fingerprint {compiled.fingerprint[:12]}")
        message += "".join(f"\n  warning: {warning}" for warning in warnings)
        return JobResult(exit_codes.OK, message=message, overrides=tuple(overrides))
    if command == "run" and compiled.users is None:   # a users spec has no windows to show
        sweep.begin_progress(settings, job or sweep.JobContext(tuple(overrides)))
    return _run_or_test(command, config, overrides)


def _run_or_test(command: str, config: dict[str, Any], overrides: list[str]) -> JobResult:
    try:
        # import_module consults sys.modules (tests substitute the runtime there)
        runtime = importlib.import_module("crawlspec.cli.run")
    except ImportError as error:
        return JobResult(exit_codes.FAILURE, overrides=tuple(overrides),
                         message=f"crawlspec {command}: not available in this version ({error})")
    outcome = runtime.run(config, overrides=overrides) if command == "run" else runtime.smoke_test(config)
    return JobResult(int(outcome.exit_code), message=outcome.message or "", videos=outcome.videos,
                     requests=outcome.requests, overrides=tuple(overrides),
                     stored=dict(getattr(outcome, "stored", None) or {}))


# ---- composition errors -----------------------------------------------------------------------


def group_options(group: str) -> list[str]:
    """The options of a config group on the current search path (`spec`: local and packaged)."""
    from hydra.core.global_hydra import GlobalHydra  # lazy: Hydra is slow to import

    return sorted(GlobalHydra.instance().config_loader().get_group_options(group))


def describe_composition_error(error: Exception) -> str:
    """One readable message for a Hydra/OmegaConf error raised while composing the config."""
    from hydra.errors import MissingConfigException, OverrideParseException  # lazy: Hydra is slow to import

    if isinstance(error, MissingConfigException) and error.missing_cfg_file:
        return _missing_option_message(error.missing_cfg_file, list(error.options or []))
    if isinstance(error, OverrideParseException):
        return f"cannot parse the override {error.override!r}: {error.message.splitlines()[0]}"
    composing = re.match(r"In 'spec/([^']+)': \w+ raised while composing config", str(error))
    if composing:
        return _spec_shape_message(composing.group(1), error)
    match = re.search(r"Could not override '([^']+)'", str(error))
    if match:
        return _unknown_override_message(match.group(1))
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    cause = error.__cause__
    if cause is not None and str(cause).strip():
        lines.append(str(cause).strip().splitlines()[0])
    return "; ".join(lines) or type(error).__name__


def _spec_shape_message(name: str, error: Exception) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    detail = lines[1] if len(lines) > 1 else lines[0]
    key = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("full_key:")), "")
    where = f"spec.{key}" if key else "spec"
    return (f"{where}: +spec={name}: the spec file has the wrong shape ({detail}); a spec file is a mapping "
            "of spec keys, and query, window, fetch and limits are mappings too")


def _missing_option_message(missing: str, options: list[str]) -> str:
    group, _, name = missing.rpartition("/")
    available = ", ".join(sorted(options)) or "none"
    if group == "spec":
        return (f"+spec={name}: no spec named {name!r}: there is no ./specs/{name}.yaml in this directory "
                f"and no packaged spec of that name; available: {available}")
    if not group:
        return f"config {name!r} not found"
    if group == "hydra/launcher" and name in LAUNCHER_PACKAGES:
        return (f"hydra/launcher={name}: the launcher is not installed; "
                f"pip install {LAUNCHER_PACKAGES[name]}")
    return f"{group}={name}: no such {group} option; choose one of {available}"


def _unknown_override_message(key: str) -> str:
    if key == "spec":
        return "spec=NAME: a spec is chosen with a leading +, e.g. +spec=shoes"
    suggestion = closest_known_key(key)
    hint = f"did you mean {suggestion}? " if suggestion else ""
    return (f"{key}: unknown key; {hint}See `crawlspec compile --help` for the keys; "
            f"to add a key on purpose write +{key}=...")


# ---- help -------------------------------------------------------------------------------------


def command_help(command: str, hydra: Any) -> str:
    from omegaconf import OmegaConf  # lazy: OmegaConf is slow to import

    cfg = hydra.compose_config(config_name=CONFIG_NAME, overrides=[], run_mode=_run_mode())
    with _open(cfg):
        del cfg["hydra"]
    groups = "\n".join(f"  {group}={'|'.join(group_options(group))}" for group in ("api", "db", "log", "storage"))
    specs = ", ".join(group_options("spec")) or "(none found)"
    return "\n".join([
        f"usage: crawlspec {command} [-m] +spec=NAME [OVERRIDE ...]",
        "",
        COMMAND_HELP[command],
        "",
        "options:",
        "  -m, --multirun   sweep: comma-separated values give one job per combination,",
        "                   e.g. crawlspec compile -m +spec=shoes 'spec.query.regions=[US],[FR]'",
        "  -h, --help       show this message",
        "",
        "overrides (Hydra syntax):",
        f"  +spec=NAME       ./specs/NAME.yaml in this directory, else a packaged spec: {specs}",
        groups,
        "  KEY=VALUE        set any key below, e.g. spec.window.days_per_query=14 db.url=sqlite:///x.db",
        "",
        "composed defaults (spec keys come from the chosen spec file):",
        OmegaConf.to_yaml(cfg).rstrip(),
        "",
        "exit codes: 0 complete, 2 invalid input (nothing sent), 75 stopped with resumable work left,",
        "77 credentials rejected, 1 anything else.",
    ])


def _run_mode() -> Any:
    from hydra.types import RunMode  # lazy: Hydra is slow to import

    return RunMode.RUN


def _open(cfg: Any) -> Any:
    from omegaconf import open_dict  # lazy: OmegaConf is slow to import

    return open_dict(cfg)
