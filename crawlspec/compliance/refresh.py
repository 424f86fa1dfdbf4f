"""The 15-day compliance refresh the Research API terms require (section 3.d of the terms), the work of
`crawlspec refresh` (its command line: `crawlspec.cli.refresh`).

Sends every stored video id (then every stored comment id) to the batch compliance endpoints in tasks
of at most 10,000 ids, polls each task with a growing wait, downloads the still-valid ids and deletes
the rest with every row that refers to them: one transaction per task. The tasks and their API task
ids are stored first, so a refresh killed at any point continues on the next call; a task the API
reports `Failed` is submitted again on the next call (nothing is deleted for it). Every request is
reserved in the quota ledger like `run`'s. Never imports Hydra.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crawlspec import exit_codes
from crawlspec.api.fields import quota_pool_limits
from crawlspec.client import default_api_base_url, load_credentials
from crawlspec.client.compliance import ComplianceClient
from crawlspec.clock import utc_now
from crawlspec.crawl.quota import RequestBudget
from crawlspec.crawl.signals import stop_on_signals
from crawlspec.errors import ApiError, Interrupted, QuotaExhausted, RunStopped
from crawlspec.logs import get_logger
from crawlspec.storage import compliance as store
from crawlspec.storage.database import display_url, open_existing_database, resolve_db_url
from crawlspec.storage.failures import database_errors
from crawlspec.storage.ledger import QuotaLedger

MAX_POLL_WAIT_S = 300.0
MAX_POLLS_PER_CALL = 20


@dataclass
class RefreshReport:
    """What one call did; `exit_code` follows README "Exit codes"."""

    tasks_done: int = 0
    tasks_failed: int = 0          # reported Failed by the API: submitted again on the next call
    tasks_waiting: int = 0         # still Processing after MAX_POLLS_PER_CALL polls
    removed: dict[str, int] = field(default_factory=lambda: {"video": 0, "comment": 0})
    requests: int = 0
    stopped: str | None = None     # "quota" | "interrupted"
    complete: bool = False
    totals: dict[str, int] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return exit_codes.OK if self.complete else exit_codes.RESUMABLE


class Refresher:
    """Drives the refresh run stored in the database; `sleep` and `clock` are injectable (tests never wait)."""

    def __init__(self, engine: Any, client: Any, *, poll_wait_s: float = 10.0,
                 sleep: Callable[[float], None] | None = None, clock: Callable[[], datetime] = utc_now,
                 stop_event: threading.Event | None = None, log: Any = None, task_size: int | None = None):
        self.engine, self.client, self.poll_wait_s, self.clock = engine, client, poll_wait_s, clock
        self.stop_event = stop_event or threading.Event()
        self.sleep = sleep or (lambda seconds: self.stop_event.wait(seconds))
        self.log = log or get_logger("crawlspec.compliance.refresh")
        self.report = RefreshReport()
        self.task_size = task_size   # ids per task; None: the API's 10,000 (smaller only in tests)

    def run(self) -> RefreshReport:
        with self.engine.begin() as conn:
            run_id, created = store.open_run(conn, self.clock(), task_size=self.task_size)
            again = store.retry_failed_tasks(conn, run_id, self.clock())
        self.log.info("refresh_started" if created else "refresh_resumed", refresh_id=run_id,
                      failed_tasks_resubmitted=again)
        try:
            for category in ("video", "comment"):
                if not self._category(run_id, category):
                    break
            else:
                with self.engine.begin() as conn:
                    self.report.totals = store.finish_run(conn, run_id, self.clock())
                self.report.complete = True
        except RunStopped as stop:   # a signal, or the quota: resumable
            self.report.stopped = stop.reason
            if stop.reason != "interrupted":
                self.log.warning("stopping", reason=str(stop), resumable=True)
        return self.report

    def _category(self, run_id: int, category: str) -> bool:
        """Every task of `category` done (True), or something left for a later call (False)."""

        with self.engine.begin() as conn:
            tasks = store.tasks(conn, run_id, category)
            if not tasks and category == "comment":   # comments are listed once the videos are done
                store.snapshot_tasks(conn, run_id, category, self.clock(), task_size=self.task_size)
                tasks = store.tasks(conn, run_id, category)
        all_done = True
        for task in tasks:
            if task.status != "done" and not self._task(run_id, task):
                all_done = False
        return all_done

    def _task(self, run_id: int, task: Any) -> bool:
        if task.status == "pending":
            api_task_id = self._request(run_id, lambda: self.client.create_task(task.category, task.ids_text))
            with self.engine.begin() as conn:
                task = store.mark_submitted(conn, task, api_task_id, self.clock())
            self.log.info("validation_task_created", category=task.category, seq=task.seq, ids=task.ids_count,
                          task_id=api_task_id)
        try:
            status = self._poll(run_id, task)
            if status == "Failed":
                with self.engine.begin() as conn:
                    store.mark_failed(conn, task, "the API reported the task Failed", self.clock())
                self.report.tasks_failed += 1
                self.log.warning("validation_task_failed", category=task.category, seq=task.seq,
                                 task_id=task.api_task_id, note="nothing deleted; submitted again on the next call")
                return False
            if status != "Completed":
                self.report.tasks_waiting += 1
                return False
            valid = self._request(run_id, lambda: self.client.valid_ids(task.api_task_id))
        except ApiError as err:
            if err.status is None or err.status >= 500 or err.code == "unexpected_answer":
                raise
            with self.engine.begin() as conn:   # e.g. an expired task id: upload the same ids again
                store.resubmit(conn, task, str(err), self.clock())
            self.log.warning("validation_task_resubmitted", seq=task.seq, task_id=task.api_task_id, error=str(err))
            self.report.tasks_waiting += 1
            return False
        with self.engine.begin() as conn:
            removed = store.complete_task(conn, run_id, task, valid, self.clock())
        self.report.tasks_done += 1
        self.report.removed[task.category] += removed
        self.log.info("validation_task_done", category=task.category, seq=task.seq, checked=task.ids_count,
                      removed=removed)
        return True

    def _poll(self, run_id: int, task: Any) -> str:
        """Poll until the task ends, waiting poll_wait_s, then twice as long each time (capped)."""
        wait = self.poll_wait_s
        for _ in range(MAX_POLLS_PER_CALL):
            status = str(self._request(run_id, lambda: self.client.task_status(task.api_task_id)))
            with self.engine.begin() as conn:
                store.count_poll(conn, task, self.clock())
            if status != "Processing":
                return status
            self.sleep(wait)
            self._check_stop()
            wait = min(MAX_POLL_WAIT_S, max(wait * 2, 1.0) if wait else 0.0)
        self.log.warning("validation_task_still_processing", seq=task.seq, task_id=task.api_task_id,
                         note="polled again on the next call")
        return "Processing"

    def _request(self, run_id: int, call: Callable[[], Any]) -> Any:
        """One client call; its requests (retries included) are added to the run's count. A signal
        (before the call or during one of the client's waits) or an exhausted quota is RunStopped."""

        self._check_stop()
        before = self._sent()
        try:
            return call()
        except Interrupted as err:
            raise RunStopped("interrupted", str(err)) from err
        except QuotaExhausted as err:
            raise RunStopped("quota", str(err)) from err
        finally:
            spent = self._sent() - before
            self.report.requests += spent
            with self.engine.begin() as conn:
                store.add_requests(conn, run_id, spent)

    def _sent(self) -> int:
        return sum(self.client.requests_sent.values())

    def _check_stop(self) -> None:
        if self.stop_event.is_set():
            raise RunStopped("interrupted")


def refresh(db: str, *, base_url: str | None, credentials_file: str | None, daily_quota: int,
            poll_wait_s: float) -> tuple[RefreshReport, str]:
    """One call of the refresh against the database `db` (an existing one, migrated first); returns the
    report and the database's display name (password masked)."""


    db_url = resolve_db_url(db)
    credentials = load_credentials(credentials_file, file_setting="--credentials-file")
    with database_errors(db_url):
        engine = open_existing_database(db_url, upgrade=True)
        budget = RequestBudget(QuotaLedger(engine, limits=quota_pool_limits(daily_quota)))
        stop = threading.Event()
        with ComplianceClient(credentials, base_url or default_api_base_url(), before_request=budget, stop_event=stop) as client, \
                stop_on_signals(stop):
            report = Refresher(engine, client, poll_wait_s=poll_wait_s, stop_event=stop).run()
        engine.dispose()
    return report, display_url(db_url)


def summary(report: RefreshReport, db_display: str) -> str:
    state = "complete" if report.complete else f"incomplete ({report.stopped or 'tasks left'})"
    lines = [f"crawlspec refresh {state}: {report.removed['video']} videos and {report.removed['comment']} "
             f"comments removed by this call, {report.tasks_done} tasks done, {report.requests} API requests",
             f"  database: {db_display}"]
    if report.tasks_failed:
        lines.append(f"  {report.tasks_failed} tasks reported Failed by the API: nothing deleted for them; "
                     "run `crawlspec refresh` again to resubmit them")
    if report.tasks_waiting:
        lines.append(f"  {report.tasks_waiting} tasks still processing: run `crawlspec refresh` again to continue")
    if report.complete and report.totals:
        t = report.totals
        lines.append(f"  this refresh checked {t['videos_checked']} videos and {t['comments_checked']} comments, "
                     f"removed {t['videos_removed']} videos and {t['comments_removed']} comments "
                     f"({t['requests']} requests)")
    elif report.exit_code == exit_codes.RESUMABLE:
        lines.append("  resumable: run the same command again; tasks already done are not sent again")
    lines.append(f"  next: crawlspec status --db {db_display}")
    return "\n".join(lines)
