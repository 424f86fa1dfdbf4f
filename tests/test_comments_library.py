"""The library path: `VideoQueryConfig(fetch_comments=True, fetch_user_info=True)` through
`TikTokApiClient.fetch_and_store_all` stores every comment and creator at the minimum quota (the same
checkpointed stages as `crawlspec run`), and `fetch_all` asks about each creator once."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import SIM_KEY, SIM_SECRET
from support.talk_crawl import COMMENTS_PATH, USER_INFO_PATH, VIDEO_PATH, Corpus

from crawlspec.api_client import ApiClientConfig, TikTokApiClient, VideoQueryConfig
from crawlspec.spec.query import Cond, Fields, Op, VideoQuery

pytestmark = pytest.mark.slow  # each test takes seconds (a simulator crawl per test)


def library_client(sim, tmp_path: Path, db_url: str | None) -> TikTokApiClient:
    (tmp_path / "secrets.yaml").write_text(f"client_secret: {SIM_SECRET}\nclient_key: {SIM_KEY}\n")
    engine = sa.create_engine(db_url) if db_url else None
    return TikTokApiClient.from_config(ApiClientConfig(engine=engine, api_credentials_file=tmp_path / "secrets.yaml",
                                                       api_base_url=sim.url))


def query_config() -> VideoQueryConfig:
    return VideoQueryConfig(query=VideoQuery(or_=[Cond(Fields.hashtag_name, ["shoes", "sneakers", "fashion"], Op.IN)]),
                            start_date=datetime(2024, 3, 1), end_date=datetime(2024, 3, 31), days_per_query=16,
                            fetch_comments=True, fetch_user_info=True)


def test_fetch_and_store_all_stores_comments_and_creators_at_the_minimum(start_sim, tmp_path, db_url, monkeypatch):
    monkeypatch.delenv("CRAWLSPEC_CLIENT_KEY", raising=False)
    sim = start_sim(videos=3000)
    sim.dump_corpus(tmp_path / "corpus.jsonl")
    corpus = Corpus(tmp_path / "corpus.jsonl")
    corpus.most_commented = -1  # the library query has only the hashtags

    client = library_client(sim, tmp_path, db_url)
    result = client.fetch_and_store_all(query_config())

    spent = sim.stats()["requests"]
    assert result.data["outcome"] == "complete"
    assert spent[VIDEO_PATH] == corpus.video_pages()
    assert spent[COMMENTS_PATH] == corpus.comment_pages()
    assert spent[USER_INFO_PATH] == len(corpus.creators())
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        comments = set(conn.execute(sa.text("SELECT id FROM comment")).scalars())
        users = set(conn.execute(sa.text("SELECT username FROM user_info")).scalars())
    engine.dispose()
    assert comments == {c["id"] for cs in corpus.listings().values() for c in cs}
    assert users == corpus.creators() & set(corpus.users)

    again = library_client(sim, tmp_path, db_url).fetch_and_store_all(query_config())
    assert again.data["requests"] == 0 and sim.stats()["requests"] == spent


def test_fetch_all_in_memory_asks_each_creator_once(start_sim, tmp_path, monkeypatch):
    monkeypatch.delenv("CRAWLSPEC_CLIENT_KEY", raising=False)
    sim = start_sim(videos=3000)
    sim.dump_corpus(tmp_path / "corpus.jsonl")
    corpus = Corpus(tmp_path / "corpus.jsonl")
    corpus.most_commented = -1

    result = library_client(sim, tmp_path, None).fetch_all(query_config())

    spent = sim.stats()["requests"]
    assert spent[USER_INFO_PATH] == len(corpus.creators())
    assert spent[COMMENTS_PATH] == corpus.comment_pages()
    assert {c["id"] for c in result.comments} == {c["id"] for cs in corpus.listings().values() for c in cs}
