"""Persistently failing days: a window whose middle days always answer 500 is split so every
other day is collected; the failing days are recorded, listed by `status`, skipped by the next runs until
their growing retry date, and what they cost is bounded and reported. Real HTTP, the installed CLI."""

from __future__ import annotations

import json
import subprocess
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import read_corpus_dump

from crawlspec.crawl import failing_days as failing
from crawlspec.spec.windows import Window

SPEC = """\
name: holes
query:
  include_any_hashtags: [shoes, sneakers, fashion]
window: {start: "2024-03-06", end: "2024-03-16", days_per_query: 7}
"""
FAILING = ("2024-03-10", "2024-03-11", "2024-03-12")
VIDEO_PATH = "/v2/research/video/query/"
MAX_TRIES = 2


def expected_ids(dump: Path, days: set[str]) -> set[int]:
    wanted = {"shoes", "sneakers", "fashion"}
    ids = set()
    for video in read_corpus_dump(dump)["video"]:
        day = datetime.fromtimestamp(video["create_time"], timezone.utc).strftime("%Y-%m-%d")
        if not video["_deleted"] and day in days and {t.lower() for t in video.get("hashtag_names", [])} & wanted:
            ids.add(video["id"])
    return ids


def all_days(first: str, last: str) -> set[str]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return {str(start + timedelta(days=i)) for i in range((end - start).days + 1)}


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "holes.yaml").write_text(SPEC)
    return tmp_path


def run(exe: str, workdir: Path, env: dict, sim, db_url: str, today: str, *extra: str) -> subprocess.CompletedProcess:
    overrides = [f"api.base_url={sim.url}", "api.credentials_file=null", f"db.url={db_url}",
                 f"api.retry.max_tries={MAX_TRIES}", "api.retry.base_wait_s=0", "api.retry.search_id_wait_s=0",
                 *extra]
    return subprocess.run([exe, "run", "+spec=holes", *overrides], cwd=workdir, env={**env, "CRAWLSPEC_TODAY": today},
                          capture_output=True, text=True, timeout=300)


def status(exe: str, db_url: str, env: dict, today: str) -> dict:
    result = subprocess.run([exe, "status", "--db", db_url, "--json"], capture_output=True, text=True, timeout=60,
                            env={**env, "CRAWLSPEC_TODAY": today})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def video_requests(sim) -> int:
    return sim.stats()["requests"].get(VIDEO_PATH, 0)


@pytest.mark.slow
def test_middle_days_failing_are_split_out_recorded_and_retried_with_growing_spacing(
        crawlspec_exe, start_sim, sim_env, workdir, db_url):
    sim = start_sim(videos=6000, failing_days=f"{FAILING[0]}..{FAILING[-1]}", today=date(2024, 4, 1))
    dump = workdir / "corpus.jsonl"
    sim.dump_corpus(dump)
    good_days = all_days("2024-03-06", "2024-03-16") - set(FAILING)

    first = run(crawlspec_exe, workdir, sim_env, sim, db_url, "2024-04-01")

    assert first.returncode == 0, first.stderr[-3000:]
    assert '"event": "day_failing"' in first.stderr and "20240311" in first.stderr
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        stored = {row[0] for row in conn.execute(sa.text("SELECT id FROM video"))}
        covered = {str(row[0])[:10] for row in conn.execute(sa.text("SELECT day FROM covered_day"))}
    engine.dispose()
    assert stored == expected_ids(dump, good_days), "every other day is collected"
    assert covered == good_days, "failing days are never covered"
    failed_attempts = sim.stats()["faults"]["failing_day"]
    # [6-12] fails, then [10-12], [10-11], [10], [11], [12]: each costs MAX_TRIES attempts.
    assert failed_attempts == 6 * MAX_TRIES

    report = status(crawlspec_exe, db_url, sim_env, "2024-04-01")
    spec = report["specs"][0]
    assert [d["day"] for d in spec["failing_days"]] == list(FAILING)
    assert all(d["failures"] == 1 and d["retry_after"] == "2024-04-02" and d["last_log_id"]
               for d in spec["failing_days"])
    assert spec["failed_requests"]["total"] == failed_attempts, "status reports what the failures cost"
    assert report["quota"]["failed_requests"]["today"] == failed_attempts
    text = subprocess.run([crawlspec_exe, "status", "--db", db_url], capture_output=True, text=True,
                          timeout=60, env={**sim_env, "CRAWLSPEC_TODAY": "2024-04-01"}).stdout
    assert "FAILING DAY 2024-03-10" in text and "quota spent on failed requests" in text

    before = video_requests(sim)
    same_night = run(crawlspec_exe, workdir, sim_env, sim, db_url, "2024-04-01")
    assert same_night.returncode == 75, "only parked days are left: not complete, retried later"
    assert video_requests(sim) == before, "failing days are not retried immediately"
    assert '"event": "skipping_failing_days"' in same_night.stderr

    retry_night = run(crawlspec_exe, workdir, sim_env, sim, db_url, "2024-04-02", "log.format=console")
    assert retry_night.returncode == 1, "a run that could only record failures says so"
    assert "failing day (API 5xx after every retry, skipped for now): 2024-03-10 (failure 2" in retry_night.stderr
    retried = video_requests(sim) - before
    assert 0 < retried <= MAX_TRIES * 5, "the due days are retried among themselves, split at most to days"
    report = status(crawlspec_exe, db_url, sim_env, "2024-04-02")
    assert {(d["failures"], d["retry_after"]) for d in report["specs"][0]["failing_days"]} == {(2, "2024-04-04")}

    before = video_requests(sim)
    assert run(crawlspec_exe, workdir, sim_env, sim, db_url, "2024-04-03").returncode == 75
    assert video_requests(sim) == before, "spacing grows: 1, 2, 4, ... days"


@pytest.mark.slow
def test_a_failing_day_that_recovers_is_collected_and_forgotten(crawlspec_exe, start_sim, sim_env, workdir,
                                                                sqlite_url):
    broken = start_sim(videos=6000, failing_days="2024-03-12", today=date(2024, 4, 1))
    assert run(crawlspec_exe, workdir, sim_env, broken, sqlite_url, "2024-04-01").returncode == 0
    healed = start_sim(videos=6000, today=date(2024, 4, 2))   # same seed: same corpus, no failing day
    dump = workdir / "corpus.jsonl"
    healed.dump_corpus(dump)

    result = run(crawlspec_exe, workdir, sim_env, healed, sqlite_url, "2024-04-02")

    assert result.returncode == 0, result.stderr[-3000:]
    engine = sa.create_engine(sqlite_url)
    with engine.connect() as conn:
        stored = {row[0] for row in conn.execute(sa.text("SELECT id FROM video"))}
        failing_rows = conn.execute(sa.text("SELECT count(*) FROM failing_day")).scalar_one()
    engine.dispose()
    assert stored == expected_ids(dump, all_days("2024-03-06", "2024-03-16"))
    assert failing_rows == 0
    assert healed.stats()["requests"][VIDEO_PATH] == 1, "only the recovered day is fetched"


def test_retry_spacing_and_halves():
    assert [failing.retry_spacing(n).days for n in range(1, 7)] == [1, 2, 4, 7, 7, 7], "default maximum: 7"
    assert [failing.retry_spacing(n, 32).days for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 32, 32]
    assert failing.retry_spacing(200, 3).days == 3
    first, second = failing.halves(Window(date(2024, 3, 6), date(2024, 3, 12)))
    assert (first.start, first.end, second.start, second.end) == (
        date(2024, 3, 6), date(2024, 3, 9), date(2024, 3, 10), date(2024, 3, 12))


def test_a_retry_date_recorded_under_a_larger_maximum_is_brought_back(sqlite_url: str) -> None:
    from crawlspec.errors import RetriesExhausted
    from crawlspec.storage.database import open_database

    engine = open_database(sqlite_url)
    now = datetime(2024, 4, 1, 3, 0, tzinfo=timezone.utc)
    error = RetriesExhausted("internal_error", status=500, code="internal_error")
    with engine.begin() as conn:
        for _ in range(6):
            state = failing.record_failing_day(conn, "fp", date(2024, 3, 10), error=error, requests=1, now=now,
                                               max_spacing_days=32)
        assert state.retry_after == date(2024, 5, 3)
        assert failing.failing_days(conn, "fp", date(2024, 3, 1), date(2024, 3, 31))[
            date(2024, 3, 10)].retry_after == date(2024, 4, 8), "the default maximum (7 days) applies at once"
        assert failing.failing_days(conn, "fp", date(2024, 3, 1), date(2024, 3, 31), max_spacing_days=2)[
            date(2024, 3, 10)].retry_after == date(2024, 4, 3)
    engine.dispose()


@pytest.mark.slow
def test_after_an_api_wide_outage_parked_days_are_not_complete_and_retry_failing_collects_them(
        crawlspec_exe, start_sim, sim_env, workdir, sqlite_url):
    outage = start_sim(videos=6000, fail_rate=1.0, today=date(2024, 4, 1))
    first = run(crawlspec_exe, workdir, sim_env, outage, sqlite_url, "2024-04-01")
    assert first.returncode == 1, "a run whose every request failed says so"
    requested = all_days("2024-03-06", "2024-03-16")
    report = status(crawlspec_exe, sqlite_url, sim_env, "2024-04-01")
    assert {d["day"] for d in report["specs"][0]["failing_days"]} == requested, "every day is parked"

    healthy = start_sim(videos=6000, today=date(2024, 4, 1))   # same seed: the same corpus, served again
    dump = workdir / "corpus.jsonl"
    healthy.dump_corpus(dump)
    again = run(crawlspec_exe, workdir, sim_env, healthy, sqlite_url, "2024-04-01", "log.format=console")
    assert again.returncode == 75, again.stderr[-3000:]
    assert "spec 'holes' complete" not in again.stderr
    assert "spec 'holes' waiting:failing_days" in again.stderr
    assert ("11 known failing days not yet due for a retry were skipped (0 requests, next retry on or after "
            "2024-04-02; run.retry_failing=true retries them now)") in again.stderr
    assert video_requests(healthy) == 0, "parked days cost nothing before their retry date"

    retried = run(crawlspec_exe, workdir, sim_env, healthy, sqlite_url, "2024-04-01", "run.retry_failing=true")
    assert retried.returncode == 0, retried.stderr[-3000:]
    engine = sa.create_engine(sqlite_url)
    with engine.connect() as conn:
        stored = {row[0] for row in conn.execute(sa.text("SELECT id FROM video"))}
        left = conn.execute(sa.text("SELECT count(*) FROM failing_day")).scalar_one()
    engine.dispose()
    assert stored == expected_ids(dump, requested) and left == 0
    assert run(crawlspec_exe, workdir, sim_env, healthy, sqlite_url, "2024-04-01").returncode == 0
