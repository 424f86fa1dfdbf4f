"""`crawlspec refresh` waits: a signal ends the client's retry back-off and the status polling at once;
the refresh stops resumable (exit 75) with nothing sent after the signal."""

from __future__ import annotations

import threading
from datetime import datetime, timezone

from conftest import SIM_KEY, SIM_SECRET
from support.api_stub import api_error, running_stub

from crawlspec.api.fields import COMPLIANCE_CREATE_PATH, COMPLIANCE_STATUS_PATH
from crawlspec.client import Credentials
from crawlspec.client.compliance import ComplianceClient
from crawlspec.compliance.refresh import Refresher
from crawlspec.storage.database import open_database
from crawlspec.storage.videos import store_video_page

NOW = datetime(2024, 4, 1, 12, tzinfo=timezone.utc)


def _engine_with_videos(url: str):
    engine = open_database(url)
    with engine.begin() as conn:
        store_video_page(conn, [{"id": 7_300_000_000_000_000_000 + i, "create_time": 1_709_300_000 + i,
                                 "username": f"u{i}"} for i in range(3)], crawl_id=None, tags=[], now=NOW)
    return engine


def test_a_signal_during_the_clients_retry_wait_stops_the_refresh(sqlite_url):
    engine = _engine_with_videos(sqlite_url)
    stop = threading.Event()
    waits: list[float] = []

    def sleep(seconds: float) -> None:   # the signal arrives during the first back-off
        waits.append(seconds)
        stop.set()

    with running_stub() as stub:
        stub.script(COMPLIANCE_CREATE_PATH, api_error(500, "internal_error", "Something went wrong"))
        client = ComplianceClient(Credentials("k", "secret-refresh-waits", "test"), stub.url, sleep=sleep,
                                  stop_event=stop)
        report = Refresher(engine, client, stop_event=stop, clock=lambda: NOW).run()
        sent = len(stub.research())
    assert report.stopped == "interrupted" and report.exit_code == 75
    assert sent == 1 and waits == [2.0] and report.requests == 1
    engine.dispose()


def test_a_signal_ends_the_status_polling_wait_at_once(sqlite_url, start_sim):
    engine = _engine_with_videos(sqlite_url)
    sim = start_sim(videos=50, compliance_polls=5)
    stop = threading.Event()

    def before_request(path: str) -> None:
        if path == COMPLIANCE_STATUS_PATH:
            stop.set()                       # the signal comes while the first poll is in flight

    client = ComplianceClient(Credentials(SIM_KEY, SIM_SECRET, "test"), sim.url, stop_event=stop,
                              before_request=before_request)
    reports = []
    worker = threading.Thread(target=lambda: reports.append(
        Refresher(engine, client, poll_wait_s=3600, stop_event=stop, clock=lambda: NOW).run()), daemon=True)
    worker.start()
    worker.join(timeout=60)                  # generous: the poll wait alone would be an hour
    assert not worker.is_alive()
    assert reports[0].stopped == "interrupted" and reports[0].requests == 2
    assert sim.stats()["requests"].get(COMPLIANCE_STATUS_PATH) == 1
    engine.dispose()
