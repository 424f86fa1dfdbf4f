"""`crawlspec refresh` over real HTTP: crawl, let the simulator retire some videos and comments, refresh;
the database then holds exactly the still-available rows, with no orphaned association rows, on SQLite
and PostgreSQL. Plus: a second refresh removes nothing, a killed refresh completes on the next call, a
task the API reports `Failed` deletes nothing, and every request is in the quota ledger."""

from __future__ import annotations

import subprocess
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from conftest import SIM_KEY, SIM_SECRET

from crawlspec.client import Credentials, TikTokApiRequestClient, TikTokCommentsRequest
from crawlspec.client.compliance import ComplianceClient
from crawlspec.compliance.refresh import Refresher
from crawlspec.storage import compliance as compliance_store
from crawlspec.storage.database import open_database
from crawlspec.storage.videos import store_comments

pytestmark = pytest.mark.slow  # every test here starts processes

SPEC = """\
name: fresh
query:
  include_any_hashtags: [shoes, sneakers, fashion]
window: {start: "2024-03-01", end: "2024-03-10", days_per_query: 10}
"""
COMPLIANCE_PATHS = ("/v2/research/validation_task/create/", "/v2/research/validation_task_status/get/",
                    "/v2/research/validation_task/download/")


@pytest.fixture
def crawled(crawlspec_exe, start_sim, sim_env, tmp_path: Path, db_url: str):
    """A crawl of the simulator plus the comments of 25 videos; then two simulated days pass."""
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "fresh.yaml").write_text(SPEC)
    sim = start_sim(videos=4000, unavailable_rate=0.08, compliance_polls=1, today=date(2024, 4, 1))
    result = subprocess.run([crawlspec_exe, "run", "+spec=fresh", f"api.base_url={sim.url}",
                             "api.credentials_file=null", f"db.url={db_url}"], cwd=tmp_path, env=sim_env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    engine = open_database(db_url)
    _store_some_comments(engine, sim)
    sim.advance_day()
    sim.advance_day()
    yield sim, engine
    engine.dispose()


def _store_some_comments(engine, sim) -> None:
    with engine.connect() as conn:
        video_ids = conn.execute(sa.text("SELECT id FROM video WHERE comment_count > 0 ORDER BY comment_count DESC, id LIMIT 25")).scalars()
        video_ids = list(video_ids)
    with TikTokApiRequestClient(Credentials(SIM_KEY, SIM_SECRET, "test"), sim.url) as client:
        pages = [client.fetch_comments(TikTokCommentsRequest(video_id=vid, max_count=100)) for vid in video_ids]
    with engine.begin() as conn:
        stored = store_comments(conn, [c for page in pages for c in page.comments],
                                now=datetime.now(timezone.utc))
    assert stored > 200


def _ids(engine, table: str) -> set[int]:
    with engine.connect() as conn:
        return set(conn.execute(sa.text(f"SELECT id FROM {table}")).scalars())


def _expected(sim, engine) -> tuple[set[int], set[int]]:
    availability = sim.app.availability
    availability.sync()
    videos = {v for v in _ids(engine, "video") if availability.video_valid(v)}
    with engine.connect() as conn:
        comments = {cid for cid, vid in conn.execute(sa.text("SELECT id, video_id FROM comment"))
                    if vid in videos and availability.comment_valid(cid)}
    return videos, comments


def _orphans(engine) -> dict[str, int]:
    """Rows naming a video or comment that is no longer stored."""
    found = {}
    with engine.connect() as conn:
        for target in ("video", "comment"):
            for column in compliance_store.references(target):
                n = conn.execute(sa.text(
                    f"SELECT count(*) FROM {column.table.name} r WHERE r.{column.name} IS NOT NULL AND NOT EXISTS "
                    f"(SELECT 1 FROM {target} t WHERE t.id = r.{column.name})")).scalar_one()
                if n:
                    found[f"{column.table.name}.{column.name}"] = n
    return found


def refresh_cli(exe: str, sim, db_url: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([exe, "refresh", "--db", db_url, "--base-url", sim.url, "--credentials-file",
                           "/nonexistent/secrets.yaml", "--poll-wait", "0", "--log-format", "json"],
                          env=env, capture_output=True, text=True, timeout=300)


def _compliance_requests(sim) -> int:
    return sum(sim.stats()["requests"].get(path, 0) for path in COMPLIANCE_PATHS)


def test_refresh_keeps_exactly_the_available_rows_and_a_second_removes_nothing(crawled, crawlspec_exe, sim_env,
                                                                               db_url):
    sim, engine = crawled
    videos_before, comments_before = _ids(engine, "video"), _ids(engine, "comment")
    want_videos, want_comments = _expected(sim, engine)
    assert 0 < len(videos_before - want_videos) < len(videos_before) / 3, "some videos became unavailable"
    assert comments_before - want_comments, "some comments became unavailable"
    with engine.connect() as conn:
        ledger_before = conn.execute(sa.text("SELECT coalesce(sum(used), 0) FROM quota_ledger")).scalar_one()

    result = refresh_cli(crawlspec_exe, sim, db_url, sim_env)

    assert result.returncode == 0, result.stderr[-3000:]
    assert _ids(engine, "video") == want_videos
    assert _ids(engine, "comment") == want_comments
    assert _orphans(engine) == {}
    with engine.connect() as conn:
        ledger_after = conn.execute(sa.text("SELECT coalesce(sum(used), 0) FROM quota_ledger")).scalar_one()
        recorded = dict(conn.execute(sa.text("SELECT table_name, rows_removed FROM table_refresh")).all())
    assert ledger_after - ledger_before == _compliance_requests(sim), "every compliance request is in the ledger"
    assert recorded == {"video": len(videos_before - want_videos),
                        "comment": len(comments_before - want_comments)}

    again = refresh_cli(crawlspec_exe, sim, db_url, sim_env)

    assert again.returncode == 0, again.stderr[-3000:]
    assert _ids(engine, "video") == want_videos and _ids(engine, "comment") == want_comments
    with engine.connect() as conn:
        assert dict(conn.execute(sa.text("SELECT table_name, rows_removed FROM table_refresh")).all()) == {
            "video": 0, "comment": 0}
    status = subprocess.run([crawlspec_exe, "status", "--db", db_url], capture_output=True, text=True, timeout=60)
    assert "compliance refresh: last" in status.stdout and "OVERDUE" not in status.stdout


class _Killed(BaseException):
    """Stands for a kill at that request: the refresh stops there, in the middle of a task."""


def _refresher(engine, sim, *, kill_at: int | None = None) -> Refresher:
    sent = [0]

    def before_request(_path: str) -> None:
        sent[0] += 1
        if kill_at is not None and sent[0] == kill_at:
            raise _Killed()

    client = ComplianceClient(Credentials(SIM_KEY, SIM_SECRET, "test"), sim.url, before_request=before_request)
    return Refresher(engine, client, poll_wait_s=0, sleep=lambda _s: None, task_size=150)


@pytest.mark.parametrize("kill_at", [1, 2, 4, 7, 12])
def test_a_killed_refresh_completes_on_the_next_call(crawled, kill_at):
    sim, engine = crawled
    want_videos, want_comments = _expected(sim, engine)

    with pytest.raises(_Killed):
        _refresher(engine, sim, kill_at=kill_at).run()
    report = _refresher(engine, sim).run()

    assert report.complete
    assert _ids(engine, "video") == want_videos
    assert _ids(engine, "comment") == want_comments
    assert _orphans(engine) == {}
    with engine.connect() as conn:
        runs = conn.execute(sa.text("SELECT status FROM refresh_run")).scalars().all()
        sizes = conn.execute(sa.text("SELECT max(ids_count) FROM compliance_task")).scalar_one()
    assert runs == ["complete"], "the second call continued the killed run"
    assert sizes <= 150


def test_a_failed_task_deletes_nothing_and_is_resubmitted_next_time(crawled):
    sim, engine = crawled
    videos_before, comments_before = _ids(engine, "video"), _ids(engine, "comment")
    want_videos, want_comments = _expected(sim, engine)
    requests.post(f"{sim.url}/_sim/compliance/fail-next?count=1", timeout=10).raise_for_status()

    first = _refresher(engine, sim).run()

    assert not first.complete and first.tasks_failed == 1 and first.exit_code == 75
    with engine.connect() as conn:
        failed_ids = conn.execute(sa.text("SELECT ids_text FROM compliance_task WHERE status = 'failed'")).scalar_one()
    with engine.connect() as conn:
        task_ids = conn.execute(sa.text("SELECT api_task_id FROM compliance_task WHERE api_task_id IS NOT NULL"))
        assert all(int(t) > 2 ** 63 for t in task_ids.scalars()), "task ids beyond int64 are kept exactly"
    still_there = {int(i) for i in failed_ids.split()}
    assert still_there <= _ids(engine, "video"), "a Failed task is never taken as 'all invalid'"
    assert _ids(engine, "comment") == comments_before, "comments wait until every video task is done"

    second = _refresher(engine, sim).run()

    assert second.complete
    assert _ids(engine, "video") == want_videos and _ids(engine, "comment") == want_comments
    assert videos_before - want_videos


def test_status_says_plainly_when_the_refresh_is_overdue(crawled, crawlspec_exe, db_url, sim_env):
    sim, engine = crawled
    assert _refresher(engine, sim).run().complete
    env = {**sim_env, "CRAWLSPEC_TODAY": str(date.today().replace(year=date.today().year + 1))}
    text = subprocess.run([crawlspec_exe, "status", "--db", db_url], capture_output=True, text=True, timeout=60,
                          env=env).stdout
    assert "OVERDUE" in text and "15 days" in text
    report = subprocess.run([crawlspec_exe, "status", "--db", db_url, "--json"], capture_output=True, text=True,
                            timeout=60, env=env)
    import json

    refresh = json.loads(report.stdout)["refresh"]
    assert refresh["overdue"] is True and refresh["age_days"] > 15
    assert refresh["tables"]["video"]["rows_removed"] > 0


def test_refresh_exit_codes_for_bad_credentials_and_arguments(crawlspec_exe, start_sim, sim_env, sqlite_url):
    sim = start_sim(videos=100)
    open_database(sqlite_url).dispose()
    wrong = {**sim_env, "CRAWLSPEC_CLIENT_SECRET": "not-the-secret"}
    with open_database(sqlite_url).begin() as conn:
        conn.execute(sa.text("INSERT INTO video (id) VALUES (:i)"), {"i": int(sim.corpus.ids[0])})
    assert refresh_cli(crawlspec_exe, sim, sqlite_url, wrong).returncode == 77
    no_env = {k: v for k, v in sim_env.items() if not k.startswith("CRAWLSPEC_CLIENT")}
    missing = refresh_cli(crawlspec_exe, sim, sqlite_url, no_env)
    assert missing.returncode == 2 and "secrets" in missing.stderr
    bad = subprocess.run([crawlspec_exe, "refresh", "--poll-wait", "soon"], capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode == 2
    assert sim.stats()["requests"].get(COMPLIANCE_PATHS[0], 0) == 0, "nothing was uploaded"


def test_replies_a_refresh_removed_are_not_asked_for_again(crawlspec_exe, start_sim, sim_env, tmp_path: Path):
    """With `fetch.comment_replies`, the replies listing of a comment is asked for only while replies the
    API serves are missing: replies a refresh removed (the API no longer serves them) are not."""
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "fresh.yaml").write_text(SPEC)
    sim = start_sim(videos=3000, unavailable_rate=0.1, compliance_polls=1, today=date(2024, 4, 1))
    db = f"sqlite:///{tmp_path / 'crawl.db'}"
    run = [crawlspec_exe, "run", "+spec=fresh", f"api.base_url={sim.url}", "api.credentials_file=null", f"db.url={db}",
           "spec.fetch.comments=true", "spec.fetch.comment_replies=true"]
    assert subprocess.run(run, cwd=tmp_path, env=sim_env, capture_output=True, timeout=300).returncode == 0
    sim.advance_day()
    sim.advance_day()
    refresh = subprocess.run([crawlspec_exe, "refresh", "--db", db, "--base-url", sim.url], cwd=tmp_path, env=sim_env,
                             capture_output=True, text=True, timeout=300)
    assert refresh.returncode == 0, refresh.stderr[-2000:]
    engine = sa.create_engine(db)
    with engine.connect() as conn:
        removed = conn.execute(sa.text("SELECT sum(comments_removed) FROM refresh_run")).scalar_one()
    engine.dispose()
    assert removed > 0   # the refresh did remove comments, replies among them
    before = sim.stats()["requests"].get("/v2/research/video/comment/list/", 0)
    again = subprocess.run(run, cwd=tmp_path, env=sim_env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert sim.stats()["requests"].get("/v2/research/video/comment/list/", 0) == before
