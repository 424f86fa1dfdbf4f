"""`crawlspec report`: every chart of the page shows what the database holds.

A real crawl (subprocess, real HTTP to the simulator) leaves covered, pending and failing days,
comments and creators; the page's embedded figures (what the browser draws) are compared with the
database read directly, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from datetime import timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from crawlspec.export.report import build_report, charts_of, collect_report

pytestmark = pytest.mark.slow

SPEC = """\
name: pictured
query: {include_any_hashtags: [shoes, sneakers, fashion]}
window: {start: "2024-03-01", end: "2024-03-12", days_per_query: 3}
fetch: {comments: true, user_info: true}
tags: [pictured]
"""


def _crawl(crawlspec_exe: str, sim_url: str, db_url: str, cwd: Path, env: dict, *extra: str) -> int:
    result = subprocess.run([crawlspec_exe, "run", "+spec=pictured", f"api.base_url={sim_url}",
                             "api.credentials_file=null", f"db.url={db_url}", "api.retry.base_wait_s=0",
                             "api.retry.max_wait_s=0", *extra],
                            cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    return result.returncode


@pytest.fixture
def crawled(crawlspec_exe, start_sim, sim_env, db_url: str, tmp_path: Path) -> str:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "pictured.yaml").write_text(SPEC)
    sim = start_sim(videos=1500, failing_days="2024-03-05..2024-03-05")
    assert _crawl(crawlspec_exe, sim.url, db_url, tmp_path, sim_env, "spec.window.end=2024-03-09") in (0, 1, 75)
    # the last window (03-10..12) is left unfinished: one page of 10 videos, then the request limit
    assert _crawl(crawlspec_exe, sim.url, db_url, tmp_path, sim_env, "spec.limits.max_api_requests=1",
                  "spec.limits.max_count=10") == 75
    return db_url


def _days(conn: sa.Connection, table: str) -> set[str]:
    return {str(d)[:10] for d in conn.execute(sa.text(f"SELECT day FROM {table}")).scalars()}


def test_every_chart_reflects_the_database(crawled: str) -> None:
    charts = charts_of(build_report(crawled, daily_quota=1000))
    engine = sa.create_engine(crawled)
    with engine.connect() as conn:
        covered, failing = _days(conn, "covered_day"), _days(conn, "failing_day")
        empty = _days(conn, "empty_day")  # answered empty once, asked again before they count
        ledger = {str(day)[:10]: used for day, pool, used in
                  conn.execute(sa.text("SELECT day, pool, used FROM quota_ledger")) if pool == "research"}
        created = conn.execute(sa.text("SELECT create_time FROM video")).scalars().all()
        with_comments = conn.execute(sa.text("SELECT count(*) FROM video WHERE comment_count > 0")).scalar_one()
        listed = conn.execute(sa.text(
            "SELECT count(*) FROM comment_progress WHERE target = 'video' AND status = 'done'")).scalar_one()
    engine.dispose()

    calendar = {trace["name"].split(" ")[0]: set(trace["x"]) for trace in charts["calendar-0"]["data"]}
    assert calendar["covered"] == covered and covered
    assert calendar["failing"] == failing == {"2024-03-05"}
    assert calendar["pending"] == {"2024-03-10", "2024-03-11", "2024-03-12"} - empty  # the unfinished window
    assert calendar["empty-unconfirmed"] == empty

    [bars] = charts["videos-0"]["data"]
    per_day = Counter(_utc_day(value) for value in created)
    assert dict(zip(bars["x"], bars["y"], strict=True)) == per_day
    assert "2024-03-05" not in per_day  # the failing day gave nothing

    research = charts["requests"]["data"][0]
    assert dict(zip(research["x"], research["y"], strict=True)) == ledger
    assert charts["requests"]["layout"]["shapes"][0]["y0"] == 1000  # the daily budget line

    [spec] = collect_report(crawled)["specs"]
    assert spec["stages"]["comments"]["done"] == listed > 0
    assert spec["stages"]["comments"]["pending"] == with_comments - listed > 0  # the limit stopped the stage


def test_the_page_names_the_stages_and_the_refresh_duty(crawled: str) -> None:
    page = build_report(crawled)
    assert "comments (videos with comments)" in page and "creators (user info)" in page
    assert "compliance refresh: never run" in page
    assert "https://" not in page.split("<script>", 1)[0]  # nothing fetched from a network before the charts


def test_a_missing_database_is_refused_and_not_created(crawlspec_exe, tmp_path: Path) -> None:
    result = subprocess.run([crawlspec_exe, "report", "--db", f"sqlite:///{tmp_path / 'typo.db'}",
                             "--out", str(tmp_path / "r.html")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "typo.db" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "typo.db").exists() and not (tmp_path / "r.html").exists()


def _utc_day(value: object) -> str:
    if isinstance(value, str):
        return value[:10]
    return value.astimezone(timezone.utc).date().isoformat()  # type: ignore[attr-defined]


def test_out_naming_the_database_or_a_directory_exits_2_and_keeps_everything(crawlspec_exe, tmp_path: Path) -> None:
    from crawlspec.storage.database import open_database

    database = tmp_path / "crawl.db"
    open_database(f"sqlite:///{database}").dispose()
    before = database.read_bytes()
    (tmp_path / "adir").mkdir()
    for out, needle in ((database, "is the database being read"), (tmp_path / "adir", "is a directory")):
        result = subprocess.run([crawlspec_exe, "report", "--db", f"sqlite:///{database}", "--out", str(out)],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 2, result.stderr
        assert needle in result.stderr and "Traceback" not in result.stderr
    assert database.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir", "crawl.db"]
