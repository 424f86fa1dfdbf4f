"""Answers shaped exactly as real captures of the Research API, replayed over real HTTP by a stub and
crawled by the runner (videos) or fetched by the client (comments), then stored, on SQLite and PostgreSQL.

The shapes: `search_id` as a string, `hashtag_names: []`, keys omitted from some videos, a whole second
page with `"region_code": "us"`, and one record with a 20-digit id (beyond 64 bits), which is quarantined
whole while the rest of its page is stored, at one request per page. Then the shapes real users have
reported: a 429 `rate_limit_exceeded` with `Retry-After` (a throttle, waited out), a reply inside a
`video_id` comment listing (stored under its parent, no extra request), the playlist endpoint's HTTP 500
with a complete `ok` body (taken at one request), and a liked-videos list refused with 403 (unavailable).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from support.api_stub import Reply, StubApi

from crawlspec import exit_codes
from crawlspec.api.fields import COMMENTS_PATH, VIDEO_QUERY_PATH
from crawlspec.cli.run import run
from crawlspec.client import Credentials, TikTokApiRequestClient, TikTokCommentsRequest
from crawlspec.storage.database import open_database
from crawlspec.storage.videos import store_comments

OVERSIZE_ID = "73000000000000000001"   # 20 digits, as in a real capture edited beyond 64 bits

# Page 1: string search_id, an empty hashtag list, omitted keys, upper-case regions, the 20-digit id.
PAGE_1 = b"""{"data":{"cursor":3,"has_more":true,"search_id":"7350016224358272558","videos":[
{"create_time":1709337600,"hashtag_names":[],"id":7341290838104993070,"region_code":"US",
 "username":"first.user","video_description":"no tags","view_count":1200,"like_count":33},
{"create_time":1709341200,"id":7341290838104993071,"username":"second.user","view_count":5},
{"create_time":1709344800,"hashtag_names":["shoes"],"id":""" + OVERSIZE_ID.encode() + b""",
 "region_code":"US","username":"third.user"}]},
"error":{"code":"ok","message":"","log_id":"20240405132544A8A35938AA061A19F445"}}"""
# Page 2: the whole page with lower-case region codes.
PAGE_2 = b"""{"data":{"cursor":5,"has_more":false,"search_id":"7350016224358272558","videos":[
{"create_time":1709348400,"hashtag_names":["Shoes","fashion"],"id":7341290838104993072,"region_code":"us",
 "username":"fourth.user","view_count":7},
{"create_time":1709352000,"id":7341290838104993073,"region_code":"us","username":"fifth.user"}]},
"error":{"code":"ok","message":"","log_id":"20240405132545B8A35938AA061A19F446"}}"""
COMMENTS = b"""{"data":{"comments":[
{"create_time":1709400000,"id":7341400000000000001,"like_count":2,"parent_comment_id":7341290838104993070,
 "reply_count":0,"text":"nice","video_id":7341290838104993070},
{"create_time":1709400060,"id":""" + OVERSIZE_ID.encode() + b""",
 "parent_comment_id":7341290838104993070,"text":"too big","video_id":7341290838104993070}],
"cursor":2,"has_more":false},"error":{"code":"ok","message":"","log_id":"LOG-COMMENTS-1"}}"""


@pytest.fixture
def stub():
    api = StubApi().start()
    yield api
    api.stop()


def _config(stub: StubApi, tmp_path: Path, db_url: str) -> dict[str, Any]:
    (tmp_path / "secrets.yaml").write_text("client_key: real-key\nclient_secret: real-secret-value\n")
    return {
        "db": {"url": db_url},
        "api": {"base_url": stub.url, "credentials_file": str(tmp_path / "secrets.yaml"),
                "on_quota_exhausted": "exit", "daily_quota": 1000, "index_lag_days": 2, "timeout_s": 10,
                "retry": {"max_tries": 3, "base_wait_s": 0, "search_id_wait_s": 0, "search_id_tries": 2}},
        "storage": {"raw_dir": None}, "log": {"format": "json", "level": "warning"}, "run": {"refetch": False},
        "spec": {"name": "real", "query": {"include_any_hashtags": ["shoes"]},
                 "window": {"start": "2024-03-02", "end": "2024-03-02", "days_per_query": 1}},
    }


def test_real_video_pages_are_stored_and_the_oversize_record_quarantined(stub, tmp_path, db_url):
    stub.script(VIDEO_QUERY_PATH, Reply(200, PAGE_1), Reply(200, PAGE_2))
    outcome = run(_config(stub, tmp_path, db_url))
    assert (outcome.exit_code, outcome.message) == (exit_codes.OK, "")
    assert len(stub.research(VIDEO_QUERY_PATH)) == 2, "one request per page, no retry"
    assert stub.research(VIDEO_QUERY_PATH)[1].json()["search_id"] == "7350016224358272558"
    engine = open_database(db_url)
    with engine.connect() as conn:
        videos = {row.id: row for row in conn.execute(sa.text(
            "SELECT id, region_code, username, view_count, voice_to_text FROM video"))}
        hashtags = conn.execute(sa.text(
            "SELECT l.video_id, h.name FROM videos_to_hashtags l JOIN hashtag h ON h.id = l.hashtag_id")).all()
        quarantined = conn.execute(sa.text("SELECT endpoint, record_id, raw_json, log_id, crawl_id FROM quarantine")).all()
        covered = conn.execute(sa.text("SELECT count(*) FROM covered_day")).scalar_one()
    engine.dispose()
    assert sorted(videos) == [7341290838104993070, 7341290838104993071, 7341290838104993072, 7341290838104993073]
    assert {vid: row.region_code for vid, row in videos.items()} == {
        7341290838104993070: "US", 7341290838104993071: None, 7341290838104993072: "US", 7341290838104993073: "US"}
    assert videos[7341290838104993071].view_count == 5 and videos[7341290838104993071].voice_to_text is None
    assert sorted(hashtags) == [(7341290838104993072, "Shoes"), (7341290838104993072, "fashion")]
    (endpoint, record_id, raw, log_id, crawl_id), = quarantined
    assert (endpoint, record_id, log_id) == (VIDEO_QUERY_PATH, OVERSIZE_ID, "20240405132544A8A35938AA061A19F445")
    assert crawl_id is not None
    assert json.loads(raw) == {"create_time": 1709344800, "hashtag_names": ["shoes"], "id": int(OVERSIZE_ID),
                               "region_code": "US", "username": "third.user"}
    assert covered == 1, "the day is covered: its only unstorable record is kept in quarantine"


def test_a_real_comment_page_is_stored_and_its_oversize_comment_quarantined(stub, db_url):
    stub.script(COMMENTS_PATH, Reply(200, COMMENTS))
    engine = open_database(db_url)
    with TikTokApiRequestClient(Credentials("k", "s", "test"), stub.url) as client:
        page = client.fetch_comments(TikTokCommentsRequest(video_id=7341290838104993070))
    assert client.requests_sent[COMMENTS_PATH] == 1
    from crawlspec.clock import utc_now

    with engine.begin() as conn:
        assert store_comments(conn, page.comments, now=utc_now(), log_id=page.log_id) == 1
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT id, text FROM comment")).all() == [(7341400000000000001, "nice")]
        assert conn.execute(sa.text("SELECT endpoint, record_id, log_id FROM quarantine")).all() == [
            (COMMENTS_PATH, OVERSIZE_ID, "LOG-COMMENTS-1")]
    engine.dispose()


# --- the other shapes real users have reported, each replayed through the run ----------------------
ONE_VIDEO = b"""{"data":{"cursor":1,"has_more":false,"search_id":"7350016224358272600","videos":[
{"comment_count":2,"create_time":1709337600,"id":7341290838104993080,"playlist_id":7290000000000000001,
 "region_code":"US","username":"lister"}]},
"error":{"code":"ok","message":"","log_id":"LOG-VIDEO-1"}}"""
# A real `video_id` listing: a reply (its parent is the comment before it) among the top-level comments.
LISTING_WITH_REPLY = b"""{"data":{"comments":[
{"create_time":1709400000,"id":7341400000000000011,"like_count":9,"parent_comment_id":7341290838104993080,
 "reply_count":1,"text":"first","video_id":7341290838104993080},
{"create_time":1709400100,"id":7341400000000000012,"like_count":1,"parent_comment_id":7341400000000000011,
 "reply_count":0,"text":"a reply","video_id":7341290838104993080}],
"cursor":2,"has_more":false},"error":{"code":"ok","message":"","log_id":"LOG-COMMENTS-2"}}"""
# The playlist endpoint answering HTTP 500 with a complete, usable body.
PLAYLIST_500_BODY = b"""{"data":{"playlist_id":7290000000000000001,"playlist_name":"picks","playlist_item_total":1,
"playlist_last_updated":1709337600,"playlist_video_ids":[7341290838104993080],"cursor":1,"has_more":false},
"error":{"code":"ok","message":"","log_id":"LOG-PLAYLIST-500"}}"""
THROTTLED = b"""{"error":{"code":"rate_limit_exceeded","message":"API rate limit exceeded","log_id":"LOG-429"}}"""
HIDDEN_LIKES_403 = (b'{"error":{"code":"forbidden","message":"The user lister has not enabled the display of '
                    b'liked videos","log_id":"LOG-403"}}')


def test_a_throttle_with_retry_after_then_a_listing_with_a_reply_and_a_playlist_500_with_data(stub, tmp_path,
                                                                                             db_url):
    from crawlspec.api.fields import PLAYLIST_INFO_PATH

    stub.script(VIDEO_QUERY_PATH, Reply(429, THROTTLED, headers={"Retry-After": "0"}), Reply(200, ONE_VIDEO))
    stub.script(COMMENTS_PATH, Reply(200, LISTING_WITH_REPLY))
    stub.script(PLAYLIST_INFO_PATH, Reply(500, PLAYLIST_500_BODY))
    config = _config(stub, tmp_path, db_url)
    config["spec"]["fetch"] = {"comments": True, "playlists": True}

    outcome = run(config)

    assert (outcome.exit_code, outcome.message) == (exit_codes.OK, ""), "a throttle is not the day's end"
    assert len(stub.research(VIDEO_QUERY_PATH)) == 2, "the 429 waited out (Retry-After: 0), then the page"
    assert len(stub.research(COMMENTS_PATH)) == 1, "the reply came with the listing: no replies request"
    assert len(stub.research(PLAYLIST_INFO_PATH)) == 1, "a 500 with a complete ok body is taken, not retried"
    engine = open_database(db_url)
    with engine.connect() as conn:
        comments = conn.execute(sa.text("SELECT id, parent_comment_id FROM comment ORDER BY id")).all()
        playlist = conn.execute(sa.text("SELECT playlist_name, complete FROM playlist")).one()
    engine.dispose()
    assert comments == [(7341400000000000011, 7341290838104993080), (7341400000000000012, 7341400000000000011)]
    assert playlist.playlist_name == "picks" and playlist.complete


def test_a_liked_list_refused_with_403_is_unavailable_not_failed(stub, tmp_path, db_url):
    from crawlspec.api.fields import LIKED_VIDEOS_PATH

    stub.script(LIKED_VIDEOS_PATH, Reply(403, HIDDEN_LIKES_403))
    config = _config(stub, tmp_path, db_url)
    config["spec"] = {"name": "likes", "users": {"names": ["lister"], "liked_videos": True}}

    outcome = run(config)

    assert (outcome.exit_code, outcome.message) == (exit_codes.OK, "")
    assert len(stub.research(LIKED_VIDEOS_PATH)) == 1, "not retried: a hidden list is an answer"
    engine = open_database(db_url)
    with engine.connect() as conn:
        status, message = conn.execute(sa.text("SELECT status, message FROM user_list_progress")).one()
    engine.dispose()
    assert status == "unavailable" and "has not enabled" in message
