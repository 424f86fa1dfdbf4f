"""`crawlspec status` on what real data brings: the refresh period as a setting, records quarantined as
unstorable, and videos whose metrics were still provisional when fetched. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from crawlspec.cli.status import render_text
from crawlspec.export.overview import collect_status
from crawlspec.storage.crawls import start_crawl
from crawlspec.storage.database import open_database
from crawlspec.storage.videos import store_comments, store_video_page

TODAY = date(2024, 4, 1)
NOW = datetime(2024, 4, 1, 12, tzinfo=timezone.utc)


def _video(video_id: int, created: datetime) -> dict:
    return {"id": video_id, "create_time": int(created.timestamp()), "region_code": "US", "view_count": 5}


@pytest.fixture
def stored(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Videos fetched 2 days after publication (provisional; some mature now), some fetched 12 days after
    (final), one quarantined video and one quarantined comment; stored 20 days ago, never refreshed."""
    monkeypatch.setenv("CRAWLSPEC_TODAY", TODAY.isoformat())
    engine = open_database(db_url)
    fetched = NOW - timedelta(days=20)
    with engine.begin() as conn:
        crawl_id = start_crawl(conn, spec_name="s", fingerprint="f" * 64, query={"and": []},
                               start_date=date(2024, 3, 1), end_date=date(2024, 3, 9), tags=[], overrides=None,
                               now=fetched)
        early = [_video(i, fetched - timedelta(days=2)) for i in range(1, 4)]          # provisional, mature now
        late = [_video(i, fetched - timedelta(days=12)) for i in range(4, 6)]          # final
        store_video_page(conn, [*early, *late, {"id": 10**19 * 3}], crawl_id=crawl_id, tags=[], now=fetched,
                         log_id="LOG-A")
        store_comments(conn, [{"id": 2**64, "text": "x"}], now=fetched)
    with engine.begin() as conn:   # one video fetched an hour ago, 1 day after publication: provisional, not mature
        store_video_page(conn, [_video(7, NOW - timedelta(days=1))], crawl_id=crawl_id, tags=[], now=NOW)
    engine.dispose()
    return db_url


def test_status_counts_quarantined_records_and_provisional_metrics(stored: str) -> None:
    report = collect_status(stored)
    assert report["quarantine"] == {"total": 2, "by_endpoint": {"/v2/research/video/comment/list/": 1,
                                                                "/v2/research/video/query/": 1}}
    assert report["metrics"] == {"stats_lag_days": 10, "provisional": 4, "provisional_now_mature": 3}
    text = render_text(report)
    assert "quarantined records (unstorable as sent, kept whole): 2" in text
    assert "provisional metrics: 4 stored videos" in text and "3 are mature now" in text
    assert collect_status(stored, stats_lag_days=1)["metrics"]["provisional"] == 0


def test_refresh_overdue_follows_the_refresh_period_setting(stored: str) -> None:
    assert collect_status(stored)["refresh"]["overdue"] is True            # 20 days > 15 (default)
    thirty = collect_status(stored, refresh_days=30)
    assert thirty["refresh"]["overdue"] is False and thirty["refresh"]["max_age_days"] == 30
    assert "OVERDUE" not in render_text(thirty)
    assert "OVERDUE: stored data is older than 15 days" in render_text(collect_status(stored))


def test_status_of_a_database_without_the_new_tables_reports_nothing_quarantined(sqlite_url: str) -> None:
    engine = open_database(sqlite_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE quarantine"))
    engine.dispose()
    assert collect_status(sqlite_url)["quarantine"] == {"total": 0, "by_endpoint": {}}


def test_export_writes_the_quarantine_table_with_records_whole(stored: str, tmp_path) -> None:
    import json

    from crawlspec.cli.entry import main

    out = tmp_path / "quarantine.jsonl"
    assert main(["export", "--db", stored, "--table", "quarantine", "--format", "jsonl", "--out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["endpoint"] for row in rows] == ["/v2/research/video/query/", "/v2/research/video/comment/list/"]
    assert json.loads(rows[0]["raw_json"]) == {"id": 10**19 * 3}
    assert rows[0]["record_id"] == str(10**19 * 3) and rows[0]["log_id"] == "LOG-A" and rows[0]["crawl_id"]
    assert rows[1]["record_id"] == str(2**64) and "64 bits" in rows[1]["reason"]
