"""A request client the library user built themselves still has its requests reserved in the quota
ledger: `max_api_requests` holds, over real HTTP against the simulator."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from conftest import SIM_KEY, SIM_SECRET

from crawlspec.api.fields import VIDEO_QUERY_PATH
from crawlspec.api_client import ApiClientConfig, TikTokApiClient, VideoQueryConfig
from crawlspec.client import TikTokApiRequestClient
from crawlspec.client.credentials import Credentials
from crawlspec.crawl.quota import QuotaWaiter
from crawlspec.spec.query import Cond, Fields, Op, VideoQuery


def _users_client(url: str, **kwargs) -> TikTokApiRequestClient:
    return TikTokApiRequestClient(Credentials(SIM_KEY, SIM_SECRET, "test"), url, **kwargs)


def test_max_api_requests_holds_with_a_request_client_the_user_built(start_sim) -> None:
    sim = start_sim(videos=3000)
    seen: list[str] = []
    request_client = _users_client(sim.url, before_request=seen.append)
    api = TikTokApiClient(ApiClientConfig(max_api_requests=2), request_client=request_client)
    query = VideoQuery(and_=Cond(Fields.region_code, ["US", "GB", "FR", "DE"], Op.IN))
    pages = list(api.api_results_iter(VideoQueryConfig(query=query, start_date=date(2024, 3, 1),
                                                       end_date=date(2024, 3, 14), max_count=10)))
    assert len(pages) == 2
    assert sim.stats()["requests"].get(VIDEO_QUERY_PATH) == 2
    assert api.budget.used == 2
    assert api.ledger.used("research") == 2
    assert seen == [VIDEO_QUERY_PATH, VIDEO_QUERY_PATH]  # the user's own hook still runs


def test_before_request_is_a_public_typed_hook_the_client_really_calls(start_sim) -> None:
    sim = start_sim(videos=200)
    client = _users_client(sim.url)
    assert client.before_request is None
    calls: list[str] = []
    client.before_request = calls.append
    assert client.before_request == calls.append
    from crawlspec.client import TikTokVideoRequest
    client.fetch_videos(TikTokVideoRequest(query={"and": [{"operation": "IN", "field_name": "region_code",
                                                            "field_values": ["US"]}]},
                                           start_date="20240301", end_date="20240302", max_count=5))
    assert calls == [VIDEO_QUERY_PATH]
    with pytest.raises(TypeError):
        client.before_request = 42  # type: ignore[assignment]


def test_an_unreachable_api_is_apiunreachable_for_a_library_client_without_a_database() -> None:
    """`TikTokApiClient` counts requests in memory without a database: a request whose token could not be
    had is given back there too (and the error is the documented one)."""
    import socket

    from crawlspec.client import RetryPolicy
    from crawlspec.errors import ApiUnreachable

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    request_client = TikTokApiRequestClient(Credentials(SIM_KEY, SIM_SECRET, "test"), f"http://127.0.0.1:{port}",
                                            retry=RetryPolicy(max_tries=1))
    api = TikTokApiClient(ApiClientConfig(), request_client=request_client)
    query = VideoQuery(and_=[Cond(Fields.region_code, ["US"], Op.IN)])
    with pytest.raises(ApiUnreachable):
        api.fetch_all(VideoQueryConfig(query=query, start_date=date(2024, 3, 1), end_date=date(2024, 3, 2)))
    assert api.budget.used == 0 and api.ledger.used() == 0


def test_a_collection_without_a_database_goes_on_after_the_quota_resets(start_sim) -> None:
    """The in-memory count is per UTC day: a wait until midnight UTC (on an injected clock) ends with the
    next request sent, not with the same refusal again and again."""
    sim = start_sim(videos=3000)
    now = [datetime(2024, 3, 20, 23, 0, tzinfo=timezone.utc)]

    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        assert len(waits) <= 10, "still refused after ten quota waits"
        now[0] += timedelta(seconds=seconds)

    api = TikTokApiClient(ApiClientConfig(daily_quota=2), request_client=_users_client(sim.url))
    api.ledger.clock = lambda: now[0]
    api.waiter = QuotaWaiter("wait_next_utc_midnight", stop_event=api.stop_event, clock=lambda: now[0], sleep=sleep)
    query = VideoQuery(and_=Cond(Fields.region_code, ["US", "GB", "FR", "DE"], Op.IN))
    pages = list(api.api_results_iter(VideoQueryConfig(query=query, start_date=date(2024, 3, 1),
                                                       end_date=date(2024, 3, 3), max_count=20)))
    assert len(pages) >= 5 and not pages[-1].data["has_more"]    # more pages than one day's quota
    assert sim.stats()["requests"].get(VIDEO_QUERY_PATH) == len(pages) == api.budget.used
    days = len(pages) // 2 + len(pages) % 2
    assert now[0].date() == date(2024, 3, 20) + timedelta(days=days - 1)
    assert api.ledger.used() == len(pages) - 2 * (days - 1)   # today's count only


def _region_query_config(**kwargs) -> VideoQueryConfig:
    query = VideoQuery(and_=Cond(Fields.region_code, ["US", "GB", "FR", "DE"], Op.IN))
    return VideoQueryConfig(query=query, start_date=date(2024, 3, 1), end_date=date(2024, 3, 3), max_count=20,
                            **kwargs)


def test_a_collection_cut_short_says_so(start_sim) -> None:
    """max_api_requests ends iteration early, as in the older tool, but never silently: `complete` is
    False and `stopped` names the limit; a whole collection is complete."""
    sim = start_sim(videos=3000)
    cut = TikTokApiClient(ApiClientConfig(max_api_requests=2), request_client=_users_client(sim.url))
    partial = cut.fetch_all(_region_query_config())
    assert partial.complete is False and "max_api_requests" in str(cut.stopped)
    assert len(partial.videos) == 40 and partial.data and partial.data["has_more"]
    whole = TikTokApiClient(ApiClientConfig(), request_client=_users_client(sim.url))
    everything = whole.fetch_all(_region_query_config())
    assert everything.complete is True and whole.stopped is None and len(everything.videos) > 40


def test_fetch_all_storing_each_response_returns_what_it_stored(start_sim, tmp_path) -> None:
    import sqlalchemy as sa

    sim = start_sim(videos=3000, oversize_id_rate=0.5)   # records that cannot be stored are not returned
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'library.db'}")
    limited = TikTokApiClient(ApiClientConfig(engine=engine, max_api_requests=2), request_client=_users_client(sim.url))
    first = limited.fetch_all(_region_query_config(), store_results_after_each_response=True)
    assert first.complete is False and limited.stopped == "stopped:limit"
    assert len(first.videos) == first.data["videos_stored"] > 0
    api = TikTokApiClient(ApiClientConfig(engine=engine), request_client=_users_client(sim.url))
    rest = api.fetch_all(_region_query_config(), store_results_after_each_response=True)
    assert rest.complete is True and api.stopped is None
    with engine.connect() as conn:
        stored = set(conn.execute(sa.text("SELECT id FROM video")).scalars())
    returned = [int(video["id"]) for video in first.videos + rest.videos]
    assert len(returned) == len(set(returned)) and set(returned) == stored
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM quarantine")).scalar_one() > 0
    engine.dispose()
