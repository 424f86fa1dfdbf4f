"""The older tool's README examples, as written there with the package renamed to `crawlspec` and
`api_base_url=` added, run against a real simulator over HTTP."""

from __future__ import annotations

import os
import textwrap
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import SIM_KEY, SIM_SECRET, read_corpus_dump


@pytest.fixture
def example_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "secrets.yaml").write_text(f"client_id: 123\nclient_secret: {SIM_SECRET}\nclient_key: {SIM_KEY}\n")
    monkeypatch.chdir(tmp_path)
    for var in ("CRAWLSPEC_CLIENT_KEY", "CRAWLSPEC_CLIENT_SECRET"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def run_example(code: str, **names) -> dict:
    namespace = dict(names)
    exec(textwrap.dedent(code), namespace)  # noqa: S102 - the README's code, run as a user would
    return namespace


def corpus_ids(sim, tmp: Path, keep) -> set[int]:
    dump = tmp / "corpus.jsonl"
    sim.dump_corpus(dump)
    return {v["id"] for v in read_corpus_dump(dump)["video"] if not v["_deleted"] and keep(v)}


def day_of(video: dict) -> str:
    return datetime.fromtimestamp(video["create_time"], timezone.utc).strftime("%Y-%m-%d")


@pytest.mark.slow
def test_high_level_client_iterates_and_fetches_all_with_inclusive_end_date(start_sim, example_dir):
    sim = start_sim(videos=10000)
    dump = example_dir / "corpus.jsonl"
    sim.dump_corpus(dump)
    # the regions of the corpus's shoe videos on the last day, so the inclusive end date is tested
    regions = {v["region_code"] for v in read_corpus_dump(dump)["video"]
               if day_of(v) == "2024-03-02" and "shoes" in {t.lower() for t in v.get("hashtag_names", [])}}
    assert regions
    ns = run_example(
        """
        from pathlib import Path
        from datetime import datetime
        from crawlspec.spec.query import VideoQuery, Cond, Fields, Op
        from crawlspec.api_client import ApiClientConfig, TikTokApiClient, VideoQueryConfig

        query = VideoQuery(
                and_=[
                    Cond(Fields.hashtag_name, "shoes", Op.EQ),
                    Cond(Fields.region_code, REGIONS, Op.IN),
                ],
            )
        client_config = ApiClientConfig(engine=None,
                                        api_credentials_file=Path("./secrets.yaml"),
                                        api_base_url=SIM_URL)
        api_client = TikTokApiClient.from_config(client_config)
        query_config = VideoQueryConfig(query=query,
                                        start_date=datetime.fromisoformat("2024-03-01"),
                                        end_date=datetime.fromisoformat("2024-03-02"))
        pages = []
        for result in api_client.api_results_iter(query_config):
            pages.append(result.videos)
        everything = api_client.fetch_all(query_config)
        """, SIM_URL=sim.url, REGIONS=sorted(regions))
    want = corpus_ids(sim, example_dir, lambda v: "2024-03-01" <= day_of(v) <= "2024-03-02"
                      and v.get("region_code") in regions
                      and "shoes" in {t.lower() for t in v.get("hashtag_names", [])})
    assert want, "the example query should match something in the corpus"
    assert {v["id"] for page in ns["pages"] for v in page} == want
    assert {v["id"] for v in ns["everything"].videos} == want
    assert any(day_of(v) == "2024-03-02" for v in ns["everything"].videos), "end_date is inclusive"


@pytest.mark.slow
def test_fetch_and_store_all_with_comments_and_user_info(start_sim, example_dir):
    sim = start_sim()
    engine = sa.create_engine(f"sqlite:///{example_dir / 'lib.db'}")
    ns = run_example(
        """
        from pathlib import Path
        from datetime import datetime
        from crawlspec.spec.query import VideoQuery, Cond, Fields, Op
        from crawlspec.api_client import ApiClientConfig, TikTokApiClient, VideoQueryConfig

        query = VideoQuery(and_=[Cond(Fields.hashtag_name, "sneakers", Op.EQ)])
        client_config = ApiClientConfig(engine=engine, api_credentials_file=Path("./secrets.yaml"),
                                        api_base_url=SIM_URL)
        api_client = TikTokApiClient.from_config(client_config)
        query_config = VideoQueryConfig(query=query,
                                        start_date=datetime.fromisoformat("2024-03-01"),
                                        end_date=datetime.fromisoformat("2024-03-02"),
                                        fetch_comments=True,
                                        fetch_user_info=True)
        results = api_client.fetch_all(query_config)
        stored = api_client.fetch_and_store_all(query_config)
        """, SIM_URL=sim.url, engine=engine)
    results = ns["results"]
    assert results.videos
    creators = {v["username"] for v in results.videos}
    assert {u["username"] for u in results.user_info} <= creators
    commented = {v["id"] for v in results.videos if v.get("comment_count", 0) > 0}
    assert {c["video_id"] for c in results.comments} <= {v["id"] for v in results.videos}
    if commented:
        assert results.comments
    with engine.connect() as conn:
        stored_ids = {row[0] for row in conn.execute(sa.text("SELECT id FROM video"))}
    assert stored_ids == {v["id"] for v in results.videos}


def test_request_client_pages_with_cursor_and_search_id(start_sim, example_dir):
    sim = start_sim(videos=6000)
    ns = run_example(
        """
        from pathlib import Path
        from crawlspec.api_client import TikTokApiRequestClient, TikTokVideoRequest
        from crawlspec.spec.query import VideoQuery, Cond, Fields, Op

        request_client = TikTokApiRequestClient.from_credentials_file(Path("./secrets.yaml"),
                                                                      api_base_url=SIM_URL)
        query = VideoQuery(or_=Cond(Fields.region_code, ["US", "GB"], Op.IN))
        video_req = TikTokVideoRequest(
            query=query,
            start_date="20240301",
            end_date="20240329",
        )
        result = request_client.fetch_videos(video_req)
        first = result
        new_video_req = TikTokVideoRequest(query=query,
                        cursor=result.data['cursor'],
                        search_id=result.data['search_id'],
                    )
        result = request_client.fetch_videos(new_video_req)
        """, SIM_URL=sim.url)
    first, second = ns["first"], ns["result"]
    assert first.data["has_more"] is True and isinstance(first.data["search_id"], str)
    assert first.videos and second.videos
    assert not {v["id"] for v in first.videos} & {v["id"] for v in second.videos}


@pytest.mark.slow
def test_request_client_comments_and_user_info(start_sim, example_dir):
    sim = start_sim()
    dump = example_dir / "corpus.jsonl"
    sim.dump_corpus(dump)
    corpus = read_corpus_dump(dump)
    video = next(v for v in corpus["video"] if v.get("comment_count", 0) > 3 and not v["_deleted"])
    known_users = {u["username"] for u in corpus["user"] if "username" in u} or {
        v["username"] for v in corpus["video"]}
    username = sorted(known_users)[0]
    ns = run_example(
        """
        from pathlib import Path
        from crawlspec.api_client import TikTokApiRequestClient, TikTokCommentsRequest, TikTokUserInfoRequest

        request_client = TikTokApiRequestClient.from_credentials_file(Path("./secrets.yaml"),
                                                                      api_base_url=SIM_URL)
        comments_req = TikTokCommentsRequest(video_id=video_id)
        result = request_client.fetch_comments(comments_req)
        comments = [comment for comment in result.coments]

        user_info_req = TikTokUserInfoRequest(username=username)
        result = request_client.fetch_user_info(user_info_req)
        info = result.user_info[username]
        """, SIM_URL=sim.url, video_id=str(video["id"]), username=username)
    assert ns["comments"] and all(c["video_id"] == video["id"] for c in ns["comments"])
    assert "display_name" in ns["info"]
    assert os.path.exists("secrets.yaml")
