"""The one cursor rule in the crawls that page: a page answering `has_more` with a cursor that does not
advance fails its listing at the last committed cursor (nothing of that page is stored, the listing is
not marked complete, the next run asks again), the rest of the run goes on, and the run exits 1.
A scripted Research API stub over real HTTP, crawled in-process by `crawlspec.cli.run.run` into a
real SQLite file (no retry waits)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from support.api_stub import StubApi, ok

from crawlspec import exit_codes
from crawlspec.api.fields import COMMENTS_PATH, FOLLOWERS_PATH, USER_INFO_PATH, VIDEO_QUERY_PATH
from crawlspec.api_client import ApiClientConfig, TikTokApiClient, VideoQueryConfig
from crawlspec.cli.run import run
from crawlspec.errors import ApiError
from crawlspec.storage.database import open_database

DAY_SECONDS = 1709251200  # 2024-03-01T00:00:00Z


@pytest.fixture
def stub() -> Iterator[StubApi]:
    api = StubApi().start()
    yield api
    api.stop()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    (tmp_path / "secrets.yaml").write_text("client_key: cursor-key\nclient_secret: cursor-secret-value\n")
    path = tmp_path / "crawl.db"
    open_database(f"sqlite:///{path}").dispose()
    return path


def crawl(stub: StubApi, db: Path, spec: dict[str, Any]) -> int:
    config: dict[str, Any] = {
        "db": {"url": f"sqlite:///{db}"},
        "api": {"base_url": stub.url, "credentials_file": str(db.parent / "secrets.yaml"),
                "on_quota_exhausted": "exit", "daily_quota": 1000, "index_lag_days": 2, "timeout_s": 10,
                "retry": {"max_tries": 2, "base_wait_s": 0, "search_id_wait_s": 0, "search_id_tries": 2}},
        "storage": {"raw_dir": None},
        "log": {"format": "json", "level": "warning"},
        "run": {"refetch": False},
        "spec": spec,
    }
    return run(config).exit_code


def video_spec(end: str = "2024-03-01", **fetch: bool) -> dict[str, Any]:
    return {"name": "cursor", "query": {"include_any_hashtags": ["shoes"]},
            "window": {"start": "2024-03-01", "end": end, "days_per_query": 1}, "fetch": fetch}


def videos(*ids: int, day: int = 0, comments: int = 0) -> list[dict[str, Any]]:
    return [{"id": i, "create_time": DAY_SECONDS + day * 86400 + 60, "username": "shoe_fan", "comment_count": comments}
            for i in ids]


def query(sql: str, db: Path) -> list[tuple]:
    engine = sa.create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.text(sql))]
    finally:
        engine.dispose()


def events(capsys: pytest.CaptureFixture[str], name: str) -> list[dict[str, Any]]:
    lines = capsys.readouterr().err.splitlines()
    return [e for e in (json.loads(line) for line in lines if line.startswith("{")) if e.get("event") == name]


def test_a_video_window_whose_cursor_repeats_fails_alone_and_the_next_window_is_crawled(stub, db, capsys):
    stub.script(VIDEO_QUERY_PATH,
                ok({"videos": videos(11, 12), "cursor": 2, "has_more": True, "search_id": "71"}),
                ok({"videos": videos(13), "cursor": 2, "has_more": True, "search_id": "71"}),   # repeats
                ok({"videos": videos(21, day=1), "cursor": 1, "has_more": False, "search_id": "72"}))

    assert crawl(stub, db, video_spec(end="2024-03-02")) == exit_codes.FAILURE
    assert len(stub.research(VIDEO_QUERY_PATH)) == 3, "the second window is still crawled"
    assert sorted(v for (v,) in query("SELECT id FROM video", db)) == [11, 12, 21], "the refused page is not stored"
    windows = query("SELECT start_date, status, cursor, pages FROM crawl_window ORDER BY start_date", db)
    assert [(w[1], w[2], w[3]) for w in windows] == [("failed", 2, 1), ("done", 1, 1)]
    assert [d for (d,) in query("SELECT day FROM covered_day", db)] == ["2024-03-02"]
    failed = events(capsys, "window_failed")
    assert len(failed) == 1 and "does not advance (2 -> 2)" in failed[0]["error"]


def test_a_comment_listing_whose_cursor_repeats_fails_at_its_committed_cursor(stub, db, capsys):
    stub.script(VIDEO_QUERY_PATH, ok({"videos": videos(11, comments=3), "cursor": 1, "has_more": False,
                                      "search_id": "71"}))
    comment = {"video_id": 11, "parent_comment_id": 11, "text": "nice", "like_count": 0, "reply_count": 0,
               "create_time": DAY_SECONDS + 120}
    stub.script(COMMENTS_PATH,
                ok({"comments": [{**comment, "id": 1}, {**comment, "id": 2}], "cursor": 2, "has_more": True}),
                ok({"comments": [{**comment, "id": 3}], "cursor": 2, "has_more": True}))   # repeats

    assert crawl(stub, db, video_spec(comments=True)) == exit_codes.FAILURE
    assert sorted(c for (c,) in query("SELECT id FROM comment", db)) == [1, 2]
    (status, cursor, has_more, error), = query(
        "SELECT status, cursor, has_more, last_error FROM comment_progress", db)
    assert (status, cursor, has_more) == ("failed", 2, 1), "not done: the next run asks again from cursor 2"
    assert "does not advance (2 -> 2)" in error
    assert len(events(capsys, "comments_failed")) == 1


def test_a_followers_cursor_that_goes_up_fails_the_list_and_a_missing_one_ends_it(stub, db, capsys):
    """Followers page down a unix-seconds cursor: one going up would ask for followers already seen."""
    person = {"display_name": "x"}
    stub.script(FOLLOWERS_PATH,
                ok({"user_followers": [{**person, "username": "f1"}], "cursor": DAY_SECONDS, "has_more": True}),
                ok({"user_followers": [{**person, "username": "f2"}], "cursor": DAY_SECONDS + 5, "has_more": True}),
                ok({"user_followers": [{**person, "username": "g1"}], "cursor": None, "has_more": True}))
    spec = {"name": "people", "users": {"names": ["alice", "bob"], "followers": True}}

    assert crawl(stub, db, spec) == exit_codes.FAILURE
    lists = query("SELECT username, status, cursor, pages, records FROM user_list_progress ORDER BY username", db)
    assert lists == [("alice", "failed", DAY_SECONDS, 1, 1), ("bob", "done", None, 1, 1)]
    assert sorted(f for (f,) in query("SELECT follower_username FROM user_follower", db)) == ["f1", "g1"]
    missing = events(capsys, "cursor_missing")
    assert len(missing) == 1 and missing[0]["listing"] == "followers of bob"
    assert not stub.research(USER_INFO_PATH)


def test_the_library_iterator_refuses_a_repeating_cursor_instead_of_asking_forever(stub, db):
    stub.script(VIDEO_QUERY_PATH,
                ok({"videos": videos(11), "cursor": 1, "has_more": True, "search_id": "71"}),
                *[ok({"videos": videos(12), "cursor": 1, "has_more": True, "search_id": "71"})] * 3)
    client = TikTokApiClient(ApiClientConfig(api_credentials_file=db.parent / "secrets.yaml", api_base_url=stub.url))
    pages = client.api_results_iter(VideoQueryConfig(query={"and": [{"operation": "IN", "field_name": "region_code",
                                                                     "field_values": ["US"]}]},
                                                     start_date="2024-03-01", end_date="2024-03-01"))
    assert [v["id"] for v in next(pages).videos] == [11]
    with pytest.raises(ApiError, match="does not advance"):
        next(pages)
    assert len(stub.research(VIDEO_QUERY_PATH)) == 2
