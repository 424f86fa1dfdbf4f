"""Window leases across machines: owners unique under pid reuse, a heartbeat that keeps a working
holder's leases alive whatever it waits for, release when a run stops, and a window of a job killed on
another host free again once its short lease expired (a live holder's window is never fetched twice).
Real HTTP to the simulator; SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import threading
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import SIM_KEY, SIM_SECRET

from crawlspec import exit_codes
from crawlspec.cli.run import lease_holder_gone, run
from crawlspec.crawl import leases
from crawlspec.storage import checkpoints, crawls
from crawlspec.storage.database import open_database

VIDEO_PATH = "/v2/research/video/query/"
OTHER_HOST = f"{leases.this_host()}-node7"
T0 = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)


def _config(sim_url: str, db_url: str, **limits: Any) -> dict[str, Any]:
    return {
        "db": {"url": db_url},
        "api": {"base_url": sim_url, "credentials_file": None, "on_quota_exhausted": "exit", "daily_quota": 1000,
                "index_lag_days": 2, "timeout_s": 30, "retry": {"base_wait_s": 0}},
        "storage": {"raw_dir": None}, "log": {"format": "json", "level": "warning"}, "run": {},
        "spec": {"name": "hosts", "query": {"include_any_hashtags": ["shoes", "fashion"]},
                 "window": {"start": "2024-03-01", "end": "2024-03-12", "days_per_query": 12},
                 "limits": {"max_count": 50, **limits}},
    }


def _video_ids(db_url: str) -> set[int]:
    engine = open_database(db_url)
    with engine.connect() as conn:
        ids = conn.execute(sa.text("SELECT id FROM video")).scalars().all()
    engine.dispose()
    assert len(ids) == len(set(ids))
    return set(ids)


def _windows(db_url: str) -> list[Any]:
    engine = open_database(db_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, status, cursor, pages, lease_owner, lease_until "
                                    "FROM crawl_window ORDER BY id")).all()
    engine.dispose()
    return rows


def _hold(db_url: str, owner: str, until: datetime) -> None:
    """What a job on another host leaves behind: its owner and the expiry its last heartbeat wrote."""
    engine = open_database(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE crawl_window SET lease_owner = :owner, lease_until = :until "
                             "WHERE status = 'in_progress'"), {"owner": owner, "until": until})
    engine.dispose()


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRAWLSPEC_CLIENT_KEY", SIM_KEY)
    monkeypatch.setenv("CRAWLSPEC_CLIENT_SECRET", SIM_SECRET)
    monkeypatch.delenv("CRAWLSPEC_TODAY", raising=False)


# ---- owners --------------------------------------------------------------------------------------


@pytest.mark.slow  # starts a short-lived process for a pid that is gone
def test_an_owner_is_unique_per_process_and_survives_pid_reuse() -> None:
    here = leases.new_lease_owner()
    assert here != leases.new_lease_owner(), "a random token per owner"
    parsed = leases.LeaseOwner.parse(here)
    assert parsed is not None and parsed.pid == os.getpid() and parsed.start == leases.process_start(os.getpid())
    assert not leases.holder_is_dead(here)

    # the same pid, but the holder started at another time: the system gave its pid to this process
    reused = f"{leases.this_host()}:{os.getpid()}:{int(parsed.start or 0) + 1}-0123456789ab"
    assert leases.holder_is_dead(reused)
    finished = subprocess.Popen(["true"])
    finished.wait()
    assert leases.holder_is_dead(f"{leases.this_host()}:{finished.pid}:1-0123456789ab")
    assert not leases.holder_is_dead(f"{OTHER_HOST}:{finished.pid}:1-0123456789ab"), \
        "another machine's process cannot be checked from here"


def test_another_hosts_holder_is_gone_only_once_its_lease_expired() -> None:
    owner = f"{OTHER_HOST}:4242:77-0123456789ab"
    assert not leases.holder_gone(owner, T0 + timedelta(seconds=1), now=T0)
    assert leases.holder_gone(owner, T0 - timedelta(seconds=1), now=T0)
    alive_here = leases.new_lease_owner()
    assert not leases.holder_gone(alive_here, T0 - timedelta(hours=1), now=T0), "a live local holder stays"
    assert lease_holder_gone(owner, datetime.now(timezone.utc) - timedelta(seconds=1))


# ---- the heartbeat -------------------------------------------------------------------------------


class StepClock:
    """Every reading is `step` later than the one before: a long wait between two heartbeats."""

    def __init__(self, start: datetime, step: timedelta):
        self.now, self.step = start, step

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now


def test_the_heartbeat_renews_a_holders_leases_while_it_waits_and_releases_them_at_the_end(db_url) -> None:
    engine = open_database(db_url)
    owner, other = leases.new_lease_owner(), f"{OTHER_HOST}:4242:77-0123456789ab"
    with engine.begin() as conn:
        crawl = crawls.start_crawl(conn, spec_name="s", fingerprint="f" * 64, query={}, tags=[], overrides=None,
                                   start_date=date(2024, 3, 1), end_date=date(2024, 3, 2), now=T0)
        mine, theirs = (checkpoints.open_window(conn, fingerprint="f" * 64, start_date=date(2024, 3, d),
                                                end_date=date(2024, 3, d), crawl_id=crawl, now=T0) for d in (1, 2))
        assert checkpoints.claim_window(conn, mine, owner=owner, until=T0 + leases.LEASE_LIFETIME, now=T0)
        assert checkpoints.claim_window(conn, theirs, owner=other, until=T0 + leases.LEASE_LIFETIME, now=T0)
    beats: list[int] = []
    three_beats = threading.Event()

    def on_renew(renewed: int) -> None:
        beats.append(renewed)
        if len(beats) >= 3:
            three_beats.set()

    clock = StepClock(T0, timedelta(minutes=10))   # each beat comes 10 minutes after the one before
    # the main thread blocks (as in a quota wait or a slow page) while the heartbeat thread works
    with leases.LeaseHeartbeat(engine, owner, clock=clock, every_s=0.001, on_renew=on_renew):
        assert three_beats.wait(60), "the heartbeat did not run"
        with engine.connect() as conn:
            until = conn.execute(sa.select(checkpoints.WINDOW_TABLE.c.lease_until)
                                 .where(checkpoints.WINDOW_TABLE.c.id == mine.id)).scalar_one()
        assert until.replace(tzinfo=timezone.utc) >= T0 + timedelta(minutes=30) + leases.LEASE_LIFETIME
        assert beats[:3] == [1, 1, 1], "only the owner's own lease is renewed"
    with engine.connect() as conn:
        rows = dict(conn.execute(sa.select(checkpoints.WINDOW_TABLE.c.id,
                                           checkpoints.WINDOW_TABLE.c.lease_owner)).all())
    engine.dispose()
    assert rows == {mine.id: None, theirs.id: other}, "released at the end; another owner's lease untouched"


# ---- runs ----------------------------------------------------------------------------------------


def test_a_window_of_a_job_killed_on_another_host_is_resumed_once_its_lease_expired(
        start_sim, db_url, credentials, tmp_path) -> None:
    sim = start_sim(videos=3000)
    reference = f"sqlite:///{tmp_path / 'reference.db'}"
    assert run(_config(sim.url, reference)).exit_code == exit_codes.OK
    before = sim.stats()["requests"].get(VIDEO_PATH, 0)

    stopped = run(_config(sim.url, db_url, max_api_requests=2))
    assert stopped.exit_code == exit_codes.RESUMABLE
    ((_id, status, cursor, pages, owner, _until),) = _windows(db_url)
    assert (status, pages, owner) == ("in_progress", 2, None), "a run that stops releases its leases"

    # a job on another host holds the window, its last heartbeat fresh: the window is not fetched twice
    now = datetime.now(timezone.utc)
    _hold(db_url, f"{OTHER_HOST}:4242:77-0123456789ab", now + leases.LEASE_LIFETIME - timedelta(seconds=5))
    held = run(_config(sim.url, db_url))
    assert held.exit_code == exit_codes.RESUMABLE and held.requests == 0
    assert sim.stats()["requests"].get(VIDEO_PATH, 0) == before + 2
    assert [(row.cursor, row.pages) for row in _windows(db_url)] == [(cursor, pages)]

    # that job was killed: no heartbeat since, its lease expired -> the next run takes over at once
    _hold(db_url, f"{OTHER_HOST}:4242:77-0123456789ab", now - timedelta(seconds=1))
    resumed = run(_config(sim.url, db_url))
    assert resumed.exit_code == exit_codes.OK, resumed.message
    assert [(row.status, row.lease_owner) for row in _windows(db_url)] == [("done", None)]
    assert _video_ids(db_url) == _video_ids(reference)


@pytest.mark.parametrize("error", [RuntimeError("a bug on the second page"),
                                   sa.exc.OperationalError("INSERT", {}, Exception("connection lost"))],
                         ids=["bug", "database-error"])
def test_a_run_ended_by_an_error_releases_its_leases_and_closes_its_crawl_row(
        start_sim, db_url, credentials, monkeypatch, error) -> None:
    from crawlspec.crawl import videos

    sim = start_sim(videos=3000)
    store = videos.store_videos
    pages = []

    def store_then_fail(*args: Any, **kwargs: Any) -> Any:
        pages.append(1)
        if len(pages) == 2:
            raise error
        return store(*args, **kwargs)

    monkeypatch.setattr(videos, "store_videos", store_then_fail)
    if isinstance(error, RuntimeError):
        with pytest.raises(RuntimeError):
            run(_config(sim.url, db_url))
        outcome = ("failed", 1)
    else:   # what the run exits with: a lost server is resumable, a failing SQLite file is not
        code = run(_config(sim.url, db_url)).exit_code
        assert code == (exit_codes.FAILURE if db_url.startswith("sqlite") else exit_codes.RESUMABLE)
        outcome = ("failed" if code == exit_codes.FAILURE else "interrupted", code)

    ((_id, status, _cursor, window_pages, owner, until),) = _windows(db_url)
    assert (status, window_pages, owner, until) == ("in_progress", 1, None, None)
    engine = open_database(db_url)
    with engine.connect() as conn:
        (row,) = conn.execute(sa.text("SELECT outcome, exit_code, finished_at FROM crawl")).all()
    engine.dispose()
    assert (row.outcome, row.exit_code) == outcome and row.finished_at is not None
