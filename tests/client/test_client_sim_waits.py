"""The client against the simulator's short-term limit, its 500-with-a-full-body playlist quirk and its
latency. The simulator's clock is injected and advanced by the client's injected sleep: no test waits."""

from __future__ import annotations

from datetime import date

import pytest
import requests
from conftest import SIM_KEY, SIM_SECRET

from crawlspec.api.fields import PLAYLIST_INFO_PATH, VIDEO_QUERY_PATH
from crawlspec.client import Credentials, RetryPolicy, TikTokApiRequestClient, TikTokVideoRequest
from crawlspec.client.user_requests import TikTokPlaylistRequest
from crawlspec.errors import ApiUnreachable
from crawlspec.sim import SimOptions, start_simulator
from crawlspec.sim.user_endpoints import carried_playlists

QUERY = {"and": [{"operation": "IN", "field_name": "region_code", "field_values": ["US", "GB", "DE"]}]}


class FakeTime:
    """The simulator's base clock, advanced only by the client's waits."""

    def __init__(self) -> None:
        self.now = 1_900_000_000.0 + 3600   # early in a UTC day
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def options(**extra: object) -> SimOptions:
    return SimOptions(seed=7, videos=600, start=date(2024, 3, 1), days=10, client_key=SIM_KEY,
                      client_secret=SIM_SECRET, **extra)  # type: ignore[arg-type]


def client(url: str, **kwargs: object) -> TikTokApiRequestClient:
    return TikTokApiRequestClient(Credentials(SIM_KEY, SIM_SECRET, "environment"), url, **kwargs)  # type: ignore[arg-type]


def test_burst_limited_simulator_answers_429_with_retry_after_uncharged() -> None:
    fake = FakeTime()
    with start_simulator(options(burst_limit="2/30"), clock=fake.clock) as sim:
        token = requests.post(sim.url + "/v2/oauth/token/", data={
            "client_key": SIM_KEY, "client_secret": SIM_SECRET, "grant_type": "client_credentials"}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        body = {"query": QUERY, "start_date": "20240301", "end_date": "20240301", "max_count": 5}
        answers = [requests.post(f"{sim.url}{VIDEO_QUERY_PATH}?fields=id", json=body, headers=headers)
                   for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 429]
        assert answers[2].json()["error"]["code"] == "rate_limit_exceeded"
        assert answers[2].headers["Retry-After"] == "30"
        stats = sim.stats()
        assert stats["quota_used"] == 2 and stats["faults"]["burst_limited"] == 1


def test_a_crawl_through_a_throttling_simulator_waits_seconds_and_completes() -> None:
    fake = FakeTime()
    with start_simulator(options(burst_limit="3/20"), clock=fake.clock) as sim:
        api = client(sim.url, sleep=fake.sleep, retry=RetryPolicy(throttle_max_wait_s=120))
        request = TikTokVideoRequest(QUERY, "20240301", "20240310", max_count=10)
        pages = [api.fetch_videos(request)]
        while pages[-1].has_more and len(pages) < 7:
            pages.append(api.fetch_videos(TikTokVideoRequest(QUERY, cursor=pages[-1].cursor,
                                                             search_id=pages[-1].search_id, max_count=10)))
        stats = sim.stats()
    assert len(pages) == 7 and all(page.videos for page in pages)
    assert fake.waits and max(fake.waits) <= 20          # seconds, never "until midnight"
    assert stats["faults"]["burst_limited"] == len(fake.waits)
    assert stats["requests"][VIDEO_QUERY_PATH] == 7 + len(fake.waits)
    assert api.requests_sent[VIDEO_QUERY_PATH] == 7 + len(fake.waits)


def test_a_playlist_answered_with_500_and_its_full_body_is_taken_at_one_request() -> None:
    with start_simulator(options(playlist_500_ok=True)) as sim:
        playlist_id = carried_playlists(sim.corpus)[0]
        raw = requests.post(sim.url + "/v2/oauth/token/", data={
            "client_key": SIM_KEY, "client_secret": SIM_SECRET, "grant_type": "client_credentials"}).json()
        direct = requests.post(sim.url + PLAYLIST_INFO_PATH, json={"playlist_id": playlist_id},
                               headers={"Authorization": f"Bearer {raw['access_token']}"})
        assert direct.status_code == 500 and direct.json()["error"]["code"] == "ok"
        waits: list[float] = []
        answer = client(sim.url, sleep=waits.append).fetch_playlist_info(TikTokPlaylistRequest(playlist_id))
        stats = sim.stats()
    assert answer.video_ids and not answer.not_found
    assert waits == [] and stats["requests"][PLAYLIST_INFO_PATH] == 2      # the direct one, then ours


@pytest.mark.parametrize("read_timeout_s,times_out", [(0.05, True), (30, False)])
def test_the_read_timeout_decides_whether_a_slow_answer_arrives(read_timeout_s: float, times_out: bool) -> None:
    with start_simulator(options(latency_ms=400)) as sim:
        api = client(sim.url, read_timeout_s=read_timeout_s, retry=RetryPolicy(max_tries=1))
        request = TikTokVideoRequest(QUERY, "20240301", "20240301", max_count=5)
        if times_out:   # the first slow answer is the access token's: without it nothing can be sent
            with pytest.raises(ApiUnreachable, match="/v2/oauth/token/: timeout: ReadTimeout"):
                api.fetch_videos(request)
        else:
            assert api.fetch_videos(request).videos
