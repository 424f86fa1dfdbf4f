"""Page upserts: videos with hashtags, effects, crawl links and tags; comments; user info.
Every test runs on a real SQLite file and on the real PostgreSQL server (`db_url`)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from crawlspec.api.fields import COMMENTS_PATH, USER_INFO_PATH, VIDEO_QUERY_PATH
from crawlspec.storage.checkpoints import advance_window, open_window, unfinished_windows
from crawlspec.storage.crawls import start_crawl
from crawlspec.storage.models import Base, Comment, UserInfo, Video
from crawlspec.storage.videos import (
    store_comments,
    store_user_info,
    store_video_page,
    stored_usernames,
)

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)
T1 = T0 + timedelta(days=1)
FP = "f" * 64


def api_video(video_id: int, **fields: Any) -> dict[str, Any]:
    video: dict[str, Any] = {
        "id": video_id, "create_time": 1709251200, "username": f"user{video_id % 7}", "region_code": "US",
        "video_description": f"video {video_id}", "music_id": 7_000_000_000_000_000_000 + video_id,
        "like_count": 1, "comment_count": 2, "share_count": 3, "view_count": 4,
        "hashtag_names": ["Shoes", "fashion"], "effect_ids": ["0"], "playlist_id": 5, "voice_to_text": "hi",
    }
    video.update(fields)
    return video


def new_crawl(conn: Connection, tags: list[str] | None = None) -> int:
    return start_crawl(conn, spec_name="shoes", fingerprint=FP, query={"and": []}, start_date=date(2024, 3, 1),
                       end_date=date(2024, 3, 7), tags=tags or [], overrides=None, now=T0)


def row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                for table in Base.metadata.sorted_tables}


def load_video(engine: Engine, video_id: int) -> tuple[Video, dict[str, set[Any]]]:
    with Session(engine) as session:
        video = session.get(Video, video_id)
        assert video is not None
        return video, {"hashtags": video.hashtag_names, "effects": video.effect_ids,
                       "crawls": {crawl.id for crawl in video.crawls}, "tags": video.crawl_tag_names}


def test_reseen_video_unions_links_updates_metrics_and_keeps_crawled_at(engine: Engine) -> None:
    with engine.begin() as conn:
        first = new_crawl(conn, ["shoes-2024"])
        store_video_page(conn, [api_video(1, like_count=10, effect_ids=["111"])], crawl_id=first,
                         tags=["shoes-2024"], now=T0)
    with engine.begin() as conn:
        second = new_crawl(conn, ["nightly"])
        store_video_page(conn, [api_video(1, like_count=99, view_count=1000, hashtag_names=["Running"],
                                          effect_ids=["222"], video_description="edited")],
                         crawl_id=second, tags=["nightly"], now=T1)
    video, linked = load_video(engine, 1)
    assert (video.like_count, video.view_count, video.video_description) == (99, 1000, "edited")
    assert video.crawled_at == T0 and video.crawled_updated_at == T1
    assert linked == {"hashtags": {"Shoes", "fashion", "Running"}, "effects": {"111", "222"},
                      "crawls": {first, second}, "tags": {"shoes-2024", "nightly"}}


def test_hashtags_are_kept_as_typed_and_unique_by_exact_name(engine: Engine) -> None:
    with engine.begin() as conn:
        store_video_page(conn, [api_video(1, hashtag_names=["Shoes", "shoes"]),
                                api_video(2, hashtag_names=["shoes"])], crawl_id=None, tags=[], now=T0)
        names = conn.execute(sa.text("SELECT name FROM hashtag ORDER BY name")).scalars().all()
    assert names == ["Shoes", "shoes"]


def test_big_ids_are_exact(engine: Engine) -> None:
    near_max, past_double = 2**63 - 1, 2**53 + 1
    with engine.begin() as conn:
        store_video_page(conn, [api_video(near_max, music_id=near_max - 1, playlist_id=past_double,
                                          hashtag_info_list=[{"hashtag_id": near_max - 2}]),
                                api_video(past_double, view_count=2**62)], crawl_id=None, tags=["t"], now=T0)
        store_comments(conn, [{"id": near_max, "video_id": near_max, "parent_comment_id": near_max,
                               "text": "x", "create_time": 1709251200}], now=T0)
    with Session(engine) as session:
        big = session.get(Video, near_max)
        other = session.get(Video, past_double)
        comment = session.get(Comment, near_max)
    assert big is not None and other is not None and comment is not None
    assert (big.id, big.music_id, big.playlist_id) == (near_max, near_max - 1, past_double)
    assert big.extra_data == {"hashtag_info_list": [{"hashtag_id": near_max - 2}]}
    assert (other.id, other.view_count) == (past_double, 2**62)
    assert (comment.id, comment.video_id, comment.parent_comment_id) == (near_max, near_max, near_max)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT max(video_id) FROM videos_to_crawl_tags")).scalar_one() == near_max


def test_nul_bytes_are_stripped_everywhere(engine: Engine) -> None:
    nul = "\x00"
    with engine.begin() as conn:
        store_video_page(conn, [api_video(1, username=f"al{nul}ice{nul}{nul}", video_description=f"a{nul}b",
                                          hashtag_names=[f"sh{nul}oes"], effect_ids=[f"1{nul}"],
                                          sticker_info_list=[{"sticker_name": f"s{nul}"}])],
                         crawl_id=None, tags=[f"t{nul}ag"], now=T0)
        store_comments(conn, [{"id": 5, "video_id": 1, "text": f"hey{nul}", "create_time": 1}], now=T0)
        store_user_info(conn, {f"alice{nul}": {"display_name": f"A{nul}", "bio_description": nul}}, now=T0)
    video, linked = load_video(engine, 1)
    assert (video.username, video.video_description) == ("alice", "ab")
    assert video.extra_data == {"sticker_info_list": [{"sticker_name": "s"}]}
    assert linked["hashtags"] == {"shoes"} and linked["effects"] == {"1"} and linked["tags"] == {"tag"}
    with Session(engine) as session:
        user = session.get(UserInfo, "alice")
        comment = session.get(Comment, 5)
        assert user is not None and comment is not None
        assert (user.display_name, user.bio_description, comment.text) == ("A", "", "hey")


def test_lone_surrogates_are_stored_as_replacement_characters(engine: Engine) -> None:
    # Half an emoji, as a JSON "\\ud83d" escape decodes: neither driver can encode it as it is.
    half, low = "\ud83d", "\udc00"
    with engine.begin() as conn:
        store_video_page(conn, [api_video(1, video_description=f"cut {half}", hashtag_names=[f"a{low}"],
                                          sticker_info_list=[{f"k{half}": f"s{low}"}])],
                         crawl_id=None, tags=[f"t{half}"], now=T0)
        store_comments(conn, [{"id": 5, "video_id": 1, "text": f"{low}hey", "create_time": 1}], now=T0)
        store_user_info(conn, {f"bob{half}": {"display_name": f"B{half}{low}"}}, now=T0)
    video, linked = load_video(engine, 1)
    assert video.video_description == "cut \ufffd"
    assert video.extra_data == {"sticker_info_list": [{"k\ufffd": "s\ufffd"}]}
    assert linked["hashtags"] == {"a\ufffd"} and linked["tags"] == {"t\ufffd"}
    with Session(engine) as session:
        user, comment = session.get(UserInfo, "bob\ufffd"), session.get(Comment, 5)
        assert user is not None and comment is not None
        assert (user.display_name, comment.text) == ("B\ufffd\ufffd", "\ufffdhey")


def test_missing_optional_keys_are_stored_as_null(engine: Engine) -> None:
    with engine.begin() as conn:
        store_video_page(conn, [{"id": 42}], crawl_id=None, tags=[], now=T0)
        store_comments(conn, [{"id": 43}], now=T0)
        store_user_info(conn, {"ghost": {}}, now=T0)
        row = conn.execute(sa.select(Video.__table__).where(Video.id == 42)).one()._mapping
        comment = conn.execute(sa.select(Comment.__table__)).one()._mapping
        user = conn.execute(sa.select(UserInfo.__table__)).one()._mapping
    assert {k for k, v in row.items() if v is not None} == {"id", "crawled_at", "crawled_updated_at"}
    assert {k for k, v in comment.items() if v is not None} == {"id", "crawled_at", "crawled_updated_at"}
    assert {k for k, v in user.items() if v is not None} == {"username", "crawled_at", "crawled_updated_at"}
    with engine.connect() as conn:  # SQL NULL, not the JSON text 'null'
        assert conn.execute(sa.text("SELECT count(*) FROM video WHERE extra_data IS NULL")).scalar_one() == 1


def test_fields_missing_on_a_later_sighting_keep_their_stored_values(engine: Engine) -> None:
    with engine.begin() as conn:
        store_video_page(conn, [api_video(1, video_duration=30, favorites_count=5)], crawl_id=None, tags=[],
                         now=T0)
    with engine.begin() as conn:
        store_video_page(conn, [{"id": 1, "like_count": 50, "favorites_count": 6, "is_stem_verified": True}],
                         crawl_id=None, tags=[], now=T1)
    video, linked = load_video(engine, 1)
    assert (video.like_count, video.view_count, video.username) == (50, 4, "user1")
    assert video.extra_data == {"video_duration": 30, "favorites_count": 6, "is_stem_verified": True}
    assert linked["hashtags"] == {"Shoes", "fashion"}
    assert video.create_time == datetime(2024, 3, 1, tzinfo=timezone.utc)


def test_storing_the_same_pages_again_changes_no_row_counts(engine: Engine) -> None:
    pages = [[api_video(i, hashtag_names=[f"h{i % 5}", "all"], effect_ids=[str(i % 3)]) for i in range(p, p + 50)]
             for p in (0, 50, 100)]
    with engine.begin() as conn:
        crawl = new_crawl(conn, ["a", "b"])
    for page in pages:
        with engine.begin() as conn:
            assert store_video_page(conn, page, crawl_id=crawl, tags=["a", "b"], now=T0) == 50
    before = row_counts(engine)
    for page in pages:
        with engine.begin() as conn:
            store_video_page(conn, page, crawl_id=crawl, tags=["a", "b"], now=T1)
    assert row_counts(engine) == before
    assert before["video"] == 150 and before["videos_to_hashtags"] == 300 and before["videos_to_crawl_tags"] == 300
    assert before["hashtag"] == 6 and before["effect"] == 3 and before["videos_to_crawls"] == 150


def test_duplicates_within_one_page_are_merged(engine: Engine) -> None:
    page = [api_video(7, like_count=1, hashtag_names=["a"]), api_video(8),
            api_video(7, like_count=2, hashtag_names=["b"], effect_ids=["9"])]
    with engine.begin() as conn:
        assert store_video_page(conn, page, crawl_id=None, tags=["x", "x"], now=T0) == 2
    video, linked = load_video(engine, 7)
    assert video.like_count == 2
    assert linked["hashtags"] == {"a", "b"} and linked["effects"] == {"0", "9"} and linked["tags"] == {"x"}
    assert row_counts(engine)["videos_to_crawl_tags"] == 2


def test_page_rows_and_checkpoint_roll_back_together(engine: Engine) -> None:
    with engine.begin() as conn:
        crawl = new_crawl(conn)
        window = open_window(conn, fingerprint=FP, start_date=date(2024, 3, 1), end_date=date(2024, 3, 7),
                             crawl_id=crawl, now=T0)
    before = row_counts(engine)

    class Killed(Exception):
        pass

    with pytest.raises(Killed), engine.begin() as conn:
        store_video_page(conn, [api_video(i) for i in range(100)], crawl_id=crawl, tags=["t"], now=T1)
        advance_window(conn, window, cursor=100, search_id="777", has_more=True, videos_on_page=100,
                       crawl_id=crawl, now=T1)
        raise Killed  # e.g. the process dies before COMMIT
    assert row_counts(engine) == before
    with engine.connect() as conn:
        (state,) = unfinished_windows(conn, FP)
    assert (state.cursor, state.search_id, state.pages, state.videos) == (0, None, 0, 0)


def test_an_unstorable_video_is_quarantined_whole_and_the_rest_of_its_page_stored(engine: Engine) -> None:
    bad = [{"like_count": 5}, {"id": "12ab"}, {"id": 3, "view_count": "many"}, {"id": 4, "hashtag_names": "x"},
           {"id": 12345678901234567890, "region_code": "us"}, {"id": 6, "create_time": 10**15},
           {"id": 7, "like_count": 2**63}, {"id": 8, "region_code": "united states"}]
    with engine.begin() as conn:
        crawl_id = new_crawl(conn)
        written = store_video_page(conn, [api_video(1), *bad, api_video(2)], crawl_id=crawl_id, tags=[], now=T0,
                                   log_id="LOG-1")
    assert written == 2
    assert row_counts(engine)["video"] == 2
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT endpoint, record_id, raw_json, reason, log_id, crawl_id, quarantined_at "
                                    "FROM quarantine ORDER BY id")).all()
    assert [json.loads(row.raw_json) for row in rows] == bad, "each record kept whole, ids exact"
    assert {(row.endpoint, row.log_id, row.crawl_id) for row in rows} == {(VIDEO_QUERY_PATH, "LOG-1", crawl_id)}
    assert rows[4].record_id == "12345678901234567890" and "64 bits" in rows[4].reason
    assert rows[0].record_id is None and "without an id" in rows[0].reason
    assert all(row.reason for row in rows)


def test_an_unstorable_comment_or_profile_is_quarantined(engine: Engine) -> None:
    with engine.begin() as conn:
        assert store_comments(conn, [{"id": 1, "text": "a"}, {"id": 10**19 * 2, "text": "b"},
                                     {"id": 2, "like_count": "lots"}], now=T0, log_id="L2") == 1
        assert store_user_info(conn, {"ann": {"follower_count": 5}, "bob": {"follower_count": 2**64}},
                               now=T0) == 1
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT endpoint, record_id FROM quarantine ORDER BY id")).all()
        stored = conn.execute(sa.text("SELECT id FROM comment")).scalars().all()
    assert [tuple(row) for row in rows] == [(COMMENTS_PATH, str(10**19 * 2)), (COMMENTS_PATH, "2"),
                                            (USER_INFO_PATH, "bob")]
    assert stored == [1]


def test_region_codes_are_stored_upper_case(engine: Engine) -> None:
    with engine.begin() as conn:
        store_video_page(conn, [api_video(1, region_code="us"), api_video(2, region_code="Gb"),
                                api_video(3, region_code=None)], crawl_id=None, tags=[], now=T0)
    with engine.connect() as conn:
        codes = dict(conn.execute(sa.text("SELECT id, region_code FROM video")).all())
    assert codes == {1: "US", 2: "GB", 3: None}


def test_ids_sent_as_strings_and_video_id_key_are_accepted(engine: Engine) -> None:
    with engine.begin() as conn:
        store_video_page(conn, [{"video_id": "9007199254740993", "music_id": "12"}], crawl_id=None, tags=[],
                         now=T0)
    video, _ = load_video(engine, 2**53 + 1)
    assert video.music_id == 12


def test_comments_and_user_info_upsert_and_keep_crawled_at(engine: Engine) -> None:
    with engine.begin() as conn:
        assert store_comments(conn, [{"id": 1, "video_id": 9, "text": "a", "like_count": 1, "create_time": 0},
                                     {"id": 1, "video_id": 9, "text": "a", "like_count": 2}], now=T0) == 1
        store_user_info(conn, {"bob": {"follower_count": 5_000_000_000, "is_verified": False, "bio_url": "u"}},
                        now=T0)
    with engine.begin() as conn:
        store_comments(conn, [{"id": 1, "video_id": 9, "like_count": 3}], now=T1)
        store_user_info(conn, {"bob": {"follower_count": 6}}, now=T1)
        assert stored_usernames(conn, ["bob", "carol"]) == {"bob"}
        assert stored_usernames(conn, ["bob"], seen_since=T1 + timedelta(seconds=1)) == set()
    with Session(engine) as session:
        comment, user = session.get(Comment, 1), session.get(UserInfo, "bob")
        assert comment is not None and user is not None
        assert (comment.like_count, comment.text, comment.create_time) == (3, "a", datetime(1970, 1, 1, tzinfo=timezone.utc))
        assert (comment.crawled_at, comment.crawled_updated_at) == (T0, T1)
        assert (user.follower_count, user.is_verified, user.bio_url, user.crawled_at) == (6, False, "u", T0)


def test_a_liked_video_that_cannot_be_stored_is_quarantined_and_gets_no_relation_row(engine: Engine) -> None:
    from crawlspec.api.fields import LIKED_VIDEOS_PATH
    from crawlspec.storage.user_lists import ListState, store_list_page

    with engine.begin() as conn:
        written = store_list_page(conn, ListState("ann", "liked_videos"),
                                  [api_video(1), {"id": 2**64 + 5, "like_count": 3}], crawl_id=None, tags=(),
                                  now=T0, log_id="LOG-LIKED")
    assert written == 1
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT video_id FROM user_liked_video")).scalars().all() == [1]
        assert conn.execute(sa.text("SELECT endpoint, record_id, log_id FROM quarantine")).all() == [
            (LIKED_VIDEOS_PATH, str(2**64 + 5), "LOG-LIKED")]


def test_a_new_tag_reaches_the_spec_videos_of_its_days_only(engine: Engine) -> None:
    """`tag_spec_videos`: the spec's stored videos inside the days get the tag (once); other days' videos
    and other specs' videos do not."""
    from crawlspec.storage.spec_videos import tag_spec_videos
    from crawlspec.storage.videos import crawl_tag_ids

    march_1, march_5 = 1709251200, 1709251200 + 4 * 86400
    with engine.begin() as conn:
        ours = new_crawl(conn, ["first"])
        store_video_page(conn, [api_video(1, create_time=march_1), api_video(2, create_time=march_5)],
                         crawl_id=ours, tags=["first"], now=T0)
        theirs = start_crawl(conn, spec_name="other", fingerprint="e" * 64, query={}, start_date=date(2024, 3, 1),
                             end_date=date(2024, 3, 7), tags=[], overrides=None, now=T0)
        store_video_page(conn, [api_video(3, create_time=march_1)], crawl_id=theirs, tags=[], now=T0)
        tag_ids = crawl_tag_ids(conn, ["second", " second "])
        assert len(tag_ids) == 1
        assert tag_spec_videos(conn, FP, date(2024, 3, 1), date(2024, 3, 3), tag_ids) == 1
        assert tag_spec_videos(conn, FP, date(2024, 3, 1), date(2024, 3, 7), tag_ids) == 1   # only video 2 is new
        assert tag_spec_videos(conn, FP, date(2024, 3, 1), date(2024, 3, 7), tag_ids) == 0
    assert load_video(engine, 1)[1]["tags"] == {"first", "second"}
    assert load_video(engine, 2)[1]["tags"] == {"first", "second"}
    assert load_video(engine, 3)[1]["tags"] == set()


def test_two_runs_tagging_the_same_videos_at_once_do_not_fail(engine: Engine) -> None:
    """Two runs of one spec starting together both link the stored videos to a new tag: the one that
    commits second keeps the links the first made (on PostgreSQL it waited on them), no error."""
    import threading

    from crawlspec.storage.spec_videos import tag_spec_videos
    from crawlspec.storage.videos import crawl_tag_ids

    with engine.begin() as conn:
        crawl = new_crawl(conn)
        store_video_page(conn, [api_video(i, create_time=1709251200) for i in (1, 2, 3)], crawl_id=crawl,
                         tags=[], now=T0)
        tag_ids = crawl_tag_ids(conn, ["nightly"])
    added: list[int] = []
    first = engine.connect()
    transaction = first.begin()
    added.append(tag_spec_videos(first, FP, date(2024, 3, 1), date(2024, 3, 7), tag_ids))

    def second_run() -> None:
        with engine.begin() as conn:
            added.append(tag_spec_videos(conn, FP, date(2024, 3, 1), date(2024, 3, 7), tag_ids))

    thread = threading.Thread(target=second_run)
    thread.start()
    thread.join(timeout=1)       # it waits for the first transaction's rows or write lock
    transaction.commit()
    first.close()
    thread.join(timeout=30)
    assert not thread.is_alive() and added[0] == 3 and len(added) == 2
    assert all(load_video(engine, i)[1]["tags"] == {"nightly"} for i in (1, 2, 3))
