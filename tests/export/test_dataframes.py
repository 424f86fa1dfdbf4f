"""`crawlspec.load`: stored tables as pandas DataFrames with exact 64-bit ids, UTC datetimes and list
columns, on a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from conftest import SIM_KEY, SIM_SECRET
from support.frames_data import INT64_MAX, PLAIN, store

import crawlspec
from crawlspec.cli.run import run
from crawlspec.errors import SpecError
from crawlspec.storage.database import open_database


def test_video_ids_beyond_2_53_playlist_id_lists_and_utc_times_are_exact(db_url: str) -> None:
    store(db_url)
    frame = crawlspec.load(db_url)   # the default table is video
    assert list(frame["id"]) == [PLAIN["id"], INT64_MAX]
    for column in ("id", "music_id", "playlist_id", "view_count", "like_count", "comment_count"):
        assert str(frame[column].dtype) == "Int64", column
    extreme = frame.set_index("id").loc[INT64_MAX]
    assert extreme["playlist_id"] == INT64_MAX - 1
    assert extreme["music_id"] == 2**53 + 1
    assert extreme["view_count"] == 2**62 + 3
    assert frame["playlist_id"].isna().tolist() == [True, False]
    assert str(frame["create_time"].dtype) == "datetime64[us, UTC]"
    assert frame.set_index("id").loc[INT64_MAX, "create_time"] == pd.Timestamp("2024-03-01T01:00:00Z")
    assert str(frame["crawled_at"].dtype) == "datetime64[us, UTC]"
    assert extreme["username"] == "NA" and extreme["video_description"] == "null"   # text, not missing
    assert extreme["hashtag_names"] == ["Shoes", "a", "b"]
    assert extreme["effect_ids"] == ["0", "63960564"]
    assert extreme["crawl_tags"] == ["t1", "t2"]
    assert frame.set_index("id").loc[PLAIN["id"], "hashtag_names"] == []


def test_plain_read_sql_corrupts_playlist_id_which_load_keeps(db_url: str) -> None:
    store(db_url)
    engine = sa.create_engine(db_url)
    lossy = pd.read_sql("SELECT * FROM video ORDER BY id", engine)
    engine.dispose()
    assert lossy["playlist_id"].dtype == "float64"
    assert int(lossy["playlist_id"].iloc[1]) != INT64_MAX - 1   # rounded through float64
    assert crawlspec.load(db_url)["playlist_id"].iloc[1] == INT64_MAX - 1


@pytest.mark.slow
def test_other_tables_load_with_their_types_and_filters(db_url: str, start_sim, monkeypatch) -> None:
    monkeypatch.setenv("CRAWLSPEC_CLIENT_KEY", SIM_KEY)
    monkeypatch.setenv("CRAWLSPEC_CLIENT_SECRET", SIM_SECRET)
    sim = start_sim(videos=1500)
    config: dict[str, Any] = {
        "db": {"url": db_url},
        "api": {"base_url": sim.url, "credentials_file": None, "on_quota_exhausted": "exit",
                "retry": {"max_tries": 2, "base_wait_s": 0, "search_id_wait_s": 0}},
        "storage": {"raw_dir": None}, "log": {"format": "json", "level": "warning"}, "run": {"refetch": False},
        "spec": {"name": "frames", "query": {"regions": ["GB"]}, "tags": ["gb"],
                 "window": {"start": "2024-03-01", "end": "2024-03-03", "days_per_query": 3},
                 "fetch": {"comments": True, "user_info": True}},
    }
    outcome = run(config)
    assert outcome.exit_code == 0, outcome.message
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        comment_ids = [int(v) for v in conn.execute(sa.text("SELECT CAST(id AS TEXT) FROM comment ORDER BY id"))
                       .scalars()]
        users = conn.execute(sa.text("SELECT count(*) FROM user_info")).scalar_one()
    engine.dispose()

    comments = crawlspec.load(db_url, "comment")
    assert len(comments) == len(comment_ids) > 0
    assert list(comments["id"]) == comment_ids and comments["id"].max() > 2**53
    assert str(comments["parent_comment_id"].dtype) == "Int64"
    assert str(comments["create_time"].dtype) == "datetime64[us, UTC]"

    user_info = crawlspec.load(db_url, "user_info")
    assert len(user_info) == users > 0
    assert str(user_info["follower_count"].dtype) == "Int64"
    assert str(user_info["is_verified"].dtype) == "boolean"

    crawl = crawlspec.load(db_url, "crawl")
    assert crawl["crawl_tags"].tolist() == [["gb"]]
    assert isinstance(crawl["query"].iloc[0], dict) and crawl["query"].iloc[0]["and"]
    assert str(crawl["started_at"].dtype) == "datetime64[us, UTC]"

    tagged = crawlspec.load(db_url, "video", tag="gb")
    assert len(tagged) == len(crawlspec.load(db_url)) > 0
    assert crawlspec.load(db_url, "video", tag="nope").empty


def test_unknown_table_is_a_spec_error(sqlite_url: str) -> None:
    open_database(sqlite_url).dispose()
    with pytest.raises(SpecError, match="unknown table"):
        crawlspec.load(sqlite_url, "videos")


def test_a_missing_database_is_refused_and_not_created(tmp_path: Path) -> None:
    from crawlspec.errors import DatabaseLocationError

    missing = tmp_path / "typo.db"
    with pytest.raises(DatabaseLocationError, match="no database at"):
        crawlspec.load(f"sqlite:///{missing}")
    assert not missing.exists()
