"""`crawlspec run` and `crawlspec test`: from a composed config to credentials, database, client,
runner and a summary a researcher can act on. `hydra_app` calls `run` once per (sweep) job."""

from __future__ import annotations

import secrets
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from crawlspec import exit_codes
from crawlspec.cli.sweep import log_at_level
from crawlspec.client import (
    Credentials,
    RawArchive,
    RetryPolicy,
    TikTokApiRequestClient,
    TikTokVideoRequest,
    load_credentials,
)
from crawlspec.clock import utc_now, utc_today
from crawlspec.crawl.failing_days import summary_lines
from crawlspec.crawl.leases import holder_gone
from crawlspec.crawl.quota import QuotaWaiter, RequestBudget
from crawlspec.crawl.session import CrawlSession, runner_settings
from crawlspec.crawl.signals import stop_on_signals
from crawlspec.errors import CrawlspecError
from crawlspec.logs import configure_logging, get_logger, json_output, redact_text
from crawlspec.spec.settings import ApiSettings, LogSettings, Settings, settings_for
from crawlspec.storage.database import display_url, open_database, open_existing_database, resolve_db_url
from crawlspec.storage.failures import database_errors
from crawlspec.storage.ledger import QuotaLedger


@dataclass
class RunOutcome:
    exit_code: int
    videos: int = 0
    requests: int = 0
    message: str = ""
    stored: dict[str, int] = field(default_factory=dict)   # records stored per stage: videos, comments, ...


@dataclass
class ApiEndpoint:
    """Where requests go and with which credentials (a real API, or the embedded simulator)."""

    base_url: str
    credentials: Any  # crawlspec.client.Credentials
    simulator: Any = None  # crawlspec.sim running instance, stopped by `close()`

    def close(self) -> None:
        if self.simulator is not None:
            self.simulator.stop()


def open_endpoint(api: ApiSettings | Mapping[str, Any]) -> ApiEndpoint:
    """The API to talk to: `api.simulator` set (api=sim) starts an embedded simulator in-process."""

    api = ApiSettings.coerce(api)
    sim_options = api.simulator_options()
    if sim_options:
        from crawlspec.sim import SimOptions, start_simulator  # lazy: only api=sim runs need the simulator

        key, secret = "crawlspec-embedded", secrets.token_hex(16)
        options = {k: v for k, v in sim_options.items() if v is not None}
        if isinstance(options.get("start"), str):
            options["start"] = date.fromisoformat(options["start"])
        sim = start_simulator(SimOptions(client_key=key, client_secret=secret, **options),
                              host="127.0.0.1", port=0)
        get_logger("crawlspec.run").info("embedded_simulator", url=sim.url, seed=options.get("seed"))
        return ApiEndpoint(sim.url, Credentials(key, secret, "embedded simulator"), sim)
    if not api.base_url:
        raise CrawlspecError("api.base_url: missing; set the Research API's address (or api=sim)")
    return ApiEndpoint(api.base_url, load_credentials(api.credentials_file))


def run(config: Mapping[str, Any], *, overrides: list[str] | tuple[str, ...] = ()) -> RunOutcome:
    """Run one spec from a composed config; never raises for anything a user can cause (returns the exit
    code instead). A config `load_settings` validated and compiled already is not validated again."""
    _configure_logging(config)
    try:
        settings = settings_for(config)
        # masked again here for library callers: the overrides are stored in `crawl.overrides`
        return _run(settings, [redact_text(o) for o in overrides])
    except CrawlspecError as err:
        return RunOutcome(err.exit_code, message=f"crawlspec run: {redact_text(str(err))}")


def _configure_logging(config: Mapping[str, Any]) -> None:
    log = LogSettings.from_mapping(config.get("log"))
    configure_logging(log.format, log.level)


def _run(settings: Settings, overrides: list[str]) -> RunOutcome:
    plan = settings.spec
    if plan.users is None:   # a users spec has no window
        warn_about_index_lag(plan.end, settings.api.index_lag_days)
    db_url = resolve_db_url(settings.db.url)
    endpoint = open_endpoint(settings.api)
    try:
        with database_errors(db_url):
            return _crawl(settings, overrides, db_url, endpoint)
    finally:
        endpoint.close()


def client_options(api: ApiSettings | Mapping[str, Any]) -> dict[str, Any]:
    """The client's timeouts, retry policy and pacing (keyword arguments of `TikTokApiRequestClient`)."""

    api = ApiSettings.coerce(api)
    retry = api.retry.given()
    if api.throttle_max_wait_s is not None:
        retry["throttle_max_wait_s"] = float(api.throttle_max_wait_s)
    return {"timeout_s": api.timeout_s, "connect_timeout_s": api.connect_timeout_s,
            "read_timeout_s": api.read_timeout_s, "retry": RetryPolicy(**retry),
            "max_requests_per_minute": api.max_requests_per_minute}


def warn_about_index_lag(end: date, index_lag_days: int) -> None:
    """The API indexes new videos up to 48 h late: say so when a window reaches into that lag."""

    newest_complete = utc_today() - timedelta(days=index_lag_days)
    if end > newest_complete:
        get_logger("crawlspec.run").warning(
            "window_in_index_lag", end=end.isoformat(), newest_complete_day=newest_complete.isoformat(),
            note=f"the API indexes videos up to {index_lag_days} days late: days after "
                 f"{newest_complete} are fetched now and fetched again by a later run")


def _crawl(settings: Settings, overrides: list[str], db_url: str, endpoint: ApiEndpoint) -> RunOutcome:
    plan = settings.spec
    engine = open_database(db_url)
    ledger = QuotaLedger(engine, limits=quota_limits(settings.api))
    budget = RequestBudget(ledger, max_api_requests=plan.max_api_requests)
    raw_dir = settings.storage.raw_dir
    stop_event = threading.Event()
    client = TikTokApiRequestClient(
        endpoint.credentials, endpoint.base_url, **client_options(settings.api), before_request=budget,
        raw_archive=RawArchive(Path(raw_dir)) if raw_dir else None, stop_event=stop_event)
    session = CrawlSession(plan, engine=engine, client=client, budget=budget,
                           waiter=QuotaWaiter(settings.api.on_quota_exhausted, stop_event=stop_event),
                           stop_event=stop_event, runner=runner_settings(settings.api, settings.run),
                           user_info_max_age_days=settings.api.user_info_max_age_days,
                           overrides=tuple(overrides), holder_gone=lease_holder_gone)
    try:
        with stop_on_signals(stop_event), database_errors(db_url):
            result = session.run()
    except CrawlspecError as err:   # a database gone mid-run: the message, with what the run did before
        so_far = session.videos_so_far
        return RunOutcome(err.exit_code, videos=so_far.videos, requests=budget.used, stored={"videos": so_far.videos},
                          message=f"crawlspec run: {redact_text(str(err))} (this run: {so_far.videos} videos "
                                  f"stored, {budget.used} API requests used)")
    finally:
        client.close()
    stats, stages = result.videos, list(result.stages)
    _print_summary(plan.name, stats, db_url, ledger.remaining("research"), requests=result.requests, stages=stages,
                   outcome=result.outcome)
    _print_stages(stages, result.exit_code)
    return RunOutcome(result.exit_code, videos=stats.videos, requests=result.requests, stored=result.stored)


def lease_holder_gone(owner: str, until: Any) -> bool:
    """A window lease's process is gone: on this machine, its pid no longer exists (or belongs to a later
    process); on another one, the lease expired without a heartbeat (`crawlspec.crawl.leases`)."""

    return holder_gone(owner, until, now=utc_now())


def quota_limits(api: ApiSettings | Mapping[str, Any]) -> dict[str, int]:
    """The daily pool limits of the `api` settings (one rule for every command:
    `crawlspec.api.fields.quota_pool_limits`)."""
    return ApiSettings.coerce(api).quota_limits()


def _print_stages(stages: list[Any], exit_code: int) -> None:
    """One line per enrichment stage (comments, user info, ...), after the video summary; under JSON
    logging one `stage_summary` event per stage instead."""
    if json_output():
        _log_stages(stages)
        return
    lines = [f"  {stage.summary()}" for stage in stages]
    lines += [f"  failed: {error}" for stage in stages for error in stage.errors[:20]]
    if stages and exit_code == exit_codes.RESUMABLE:
        lines.append("  resumable: run the same command again to continue from the last committed page")
    if lines:
        print(redact_text("\n".join(lines)), file=sys.stderr)


def _log_stages(stages: list[Any]) -> None:
    log = get_logger("crawlspec.run")
    for stage in stages:
        log_at_level(log, stage.exit_code, "stage_summary", stage=stage.name, records=stage.records,
                     done=stage.done, skipped=stage.skipped, failed=stage.failed, requests=stage.requests,
                     stopped=stage.stopped, errors=stage.errors[:20], summary=stage.summary())


def stored_summary(stats: Any, stages: list[Any]) -> str:
    """What the run stored, every stage included: "376 videos (4 pages), 3145 comments stored, "."""
    parts = [f"{stats.videos} videos ({stats.pages} pages)"] if stats.pages else []
    parts += [f"{stage.records} {stage.name}" for stage in stages if stage.records]
    return ", ".join(parts) + " stored, " if parts else ""


def _print_summary(name: str, stats: Any, db_url: str, quota_left: int, *, requests: int,
                   stages: list[Any], outcome: str | None = None) -> None:
    """The run's summary on a terminal: what every stage stored and every request the run used.
    `outcome`: the whole run's (a stage stopped by a signal after the videos completed: not "complete")."""

    if json_output():  # cron/CI: stderr is JSON lines only; hydra_app logs the `run_summary` event
        return
    db_url = display_url(db_url)  # never the password
    lines = [f"crawlspec: spec '{name}' {outcome or stats.outcome}: {stored_summary(stats, stages)}{requests} API requests "
             f"used ({quota_left} left today)", f"  database: {db_url}"]
    lines += [f"  failed: {error}" for error in stats.errors]
    if getattr(stats, "unreachable", None):
        lines.append(f"  stopped: {stats.unreachable}")

    lines += summary_lines(stats)
    if getattr(stats, "parked_only", False):
        lines.append("  resumable: only failing days are left; a later run retries them when due")
    elif stats.exit_code == exit_codes.RESUMABLE:
        lines.append("  resumable: run the same command again to continue from the last committed page")
    lines += ["  next:", f"    crawlspec status --db {db_url}",
              f"    crawlspec export --db {db_url} --table video --format csv --out videos.csv"]
    print(redact_text("\n".join(lines)), file=sys.stderr)


def smoke_test(config: Mapping[str, Any]) -> RunOutcome:
    """`crawlspec test`: check credentials and database with one small request (as the older tool)."""
    _configure_logging(config)
    try:
        return _smoke_test(settings_for(config, with_spec=False))
    except CrawlspecError as err:
        return RunOutcome(err.exit_code, message=f"crawlspec test: {redact_text(str(err))}")


def _smoke_test(settings: Settings) -> RunOutcome:
    db_url = resolve_db_url(settings.db.url)
    engine = open_existing_database(db_url, upgrade=True)
    _report_check("database_ok", f"database OK: {display_url(db_url)}")
    endpoint = open_endpoint(settings.api)
    try:
        budget = RequestBudget(QuotaLedger(engine, limits=quota_limits(settings.api)))
        client = TikTokApiRequestClient(endpoint.credentials, endpoint.base_url, before_request=budget)
        client.ensure_token()
        _report_check("credentials_ok", f"credentials OK ({endpoint.credentials.source})")
        day = (utc_now().date() - timedelta(days=3)).strftime("%Y%m%d")
        response = client.fetch_videos(TikTokVideoRequest(
            query={"and": [{"operation": "IN", "field_name": "region_code", "field_values": ["US"]}]},
            start_date=day, end_date=day, max_count=1))
        _report_check("api_ok", f"API OK: one video query answered (log_id {response.log_id}); 1 request used")
        client.close()
        return RunOutcome(exit_codes.OK, requests=budget.used)
    finally:
        endpoint.close()


def _report_check(event: str, message: str) -> None:
    """One passed check of `crawlspec test`: a line on a terminal, an event under JSON logging."""
    if json_output():
        get_logger("crawlspec.test").info(event, message=message)
    else:
        print(message, file=sys.stderr)
