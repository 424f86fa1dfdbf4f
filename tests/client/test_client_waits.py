"""Every wait of the client: a signal ends it at once; a throttle is waited out, not taken as the day's
end; pacing spaces requests; a 5xx carrying a complete answer is taken; (connect, read) timeouts.
Real HTTP against the scripted stub; waits are recorded by an injected sleep, never slept."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from support.api_stub import Reply, StubApi, api_error, ok, running_stub

from crawlspec.api.fields import PLAYLIST_INFO_PATH, TOKEN_PATH, VIDEO_QUERY_PATH
from crawlspec.client import Credentials, RetryPolicy, TikTokApiRequestClient, TikTokVideoRequest
from crawlspec.client.user_requests import TikTokPlaylistRequest
from crawlspec.errors import Interrupted, QuotaExhausted

QUERY = {"and": [{"operation": "EQ", "field_name": "hashtag_name", "field_values": ["cats"]}]}
REQ = TikTokVideoRequest(QUERY, "20240101", "20240107")
PAGE = ok({"videos": [{"id": 7}], "cursor": 100, "has_more": False, "search_id": "1"})
BOOM = api_error(500, "internal_error", "Something went wrong. Please try again later.")
POLICY = RetryPolicy(max_tries=6, base_wait_s=2, max_wait_s=120, throttle_wait_s=5, throttle_cap_wait_s=60,
                     throttle_max_wait_s=100)


def throttled(retry_after: str | None = None, log_id: str = "T429") -> Reply:
    reply = api_error(429, "rate_limit_exceeded", "Too many requests", log_id)
    if retry_after is not None:
        reply.headers["Retry-After"] = retry_after
    return reply


class Waits:
    """Records waits; optionally sets the stop event during the n-th wait (a signal arriving then)."""

    def __init__(self, stop: threading.Event | None = None, signal_on_wait: int | None = None):
        self.waits: list[float] = []
        self.stop, self.signal_on_wait = stop, signal_on_wait

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.stop is not None and len(self.waits) == self.signal_on_wait:
            self.stop.set()


@pytest.fixture
def stub() -> Iterator[StubApi]:
    with running_stub() as api:
        yield api


def client_for(url: str, **kwargs: Any) -> TikTokApiRequestClient:
    kwargs.setdefault("retry", POLICY)
    return TikTokApiRequestClient(Credentials("k-waits", "secret-waits-tests", "environment"), url, **kwargs)


# --- A: a signal ends every wait and stops every further request -------------------------------------

def test_signal_during_retry_backoff_sends_nothing_more(stub: StubApi) -> None:
    stop = threading.Event()
    stub.script(VIDEO_QUERY_PATH, BOOM, BOOM, BOOM, PAGE)
    waits = Waits(stop, signal_on_wait=2)
    client = client_for(stub.url, sleep=waits, stop_event=stop)
    with pytest.raises(Interrupted) as info:
        client.fetch_videos(REQ)
    assert info.value.exit_code == 75
    assert waits.waits == [2, 4]                       # the second wait was the last
    assert len(stub.research()) == 2 and client.requests_sent == {VIDEO_QUERY_PATH: 2}


def test_the_real_wait_ends_at_once_when_the_stop_event_is_set(stub: StubApi) -> None:
    """No injected sleep: the hour-long back-off is the stop event's own wait, ended by the signal."""
    stop = threading.Event()
    stub.script(VIDEO_QUERY_PATH, BOOM, PAGE)
    client = client_for(stub.url, stop_event=stop, before_request=lambda _path: stop.set(),
                        retry=RetryPolicy(base_wait_s=3600, max_wait_s=3600))
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            client.fetch_videos(REQ)
        except BaseException as err:  # noqa: BLE001 (handed to the test thread)
            outcome.append(err)

    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    worker.join(timeout=60)                             # generous: the back-off alone would be an hour
    assert not worker.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], Interrupted)
    assert len(stub.research()) == 1


def test_signal_during_a_throttle_wait_and_before_any_request(stub: StubApi) -> None:
    stop = threading.Event()
    stub.script(VIDEO_QUERY_PATH, throttled("30"), PAGE)
    client = client_for(stub.url, sleep=Waits(stop, signal_on_wait=1), stop_event=stop)
    with pytest.raises(Interrupted):
        client.fetch_videos(REQ)
    assert len(stub.research()) == 1
    with pytest.raises(Interrupted):                   # set already: not even a token request goes out
        client_for(stub.url, stop_event=stop).fetch_videos(REQ)
    assert len(stub.research()) == 1 and len(stub.token_requests()) == 1


def test_signal_during_a_token_retry_wait(stub: StubApi) -> None:
    stop = threading.Event()
    stub.script(TOKEN_PATH, Reply(502, "<html>bad gateway</html>"))
    client = client_for(stub.url, sleep=Waits(stop, signal_on_wait=1), stop_event=stop)
    with pytest.raises(Interrupted):
        client.fetch_videos(REQ)
    assert len(stub.token_requests()) == 1 and stub.research() == []


# --- B: a throttle is not an exhausted day -----------------------------------------------------------

def test_throttle_honours_retry_after_and_then_succeeds(stub: StubApi) -> None:
    stub.script(VIDEO_QUERY_PATH, throttled("3"), throttled(), throttled(), PAGE)
    waits = Waits()
    page = client_for(stub.url, sleep=waits).fetch_videos(REQ)
    assert page.videos == [{"id": 7}]
    assert waits.waits == [3, 10, 20]                  # Retry-After, then 5 s doubling per attempt
    assert len(stub.research()) == 4


def test_throttle_waits_do_not_use_up_the_5xx_retries(stub: StubApi) -> None:
    stub.script(VIDEO_QUERY_PATH, BOOM, throttled("1"), BOOM, throttled("1"), PAGE)
    waits = Waits()
    client_for(stub.url, sleep=waits, retry=RetryPolicy(max_tries=3, base_wait_s=2)).fetch_videos(REQ)
    assert len(stub.research()) == 5


def test_a_throttle_that_persists_past_the_limit_is_the_days_end(stub: StubApi) -> None:
    stub.script(VIDEO_QUERY_PATH, *[throttled() for _ in range(10)])
    waits = Waits()
    with pytest.raises(QuotaExhausted) as info:
        client_for(stub.url, sleep=waits).fetch_videos(REQ)
    assert waits.waits == [5, 10, 20, 40]              # 75 s waited; 60 s more would pass 100 s
    assert len(stub.research()) == 5
    assert info.value.source == "api" and "api.throttle_max_wait_s=100" in str(info.value)


def test_a_retry_after_beyond_the_limit_is_the_days_end_at_once(stub: StubApi) -> None:
    stub.script(VIDEO_QUERY_PATH, throttled("36000"), PAGE)
    waits = Waits()
    with pytest.raises(QuotaExhausted):
        client_for(stub.url, sleep=waits).fetch_videos(REQ)
    assert waits.waits == [] and len(stub.research()) == 1


def test_the_ledger_ends_a_throttle_when_the_days_budget_is_spent(stub: StubApi) -> None:
    stub.script(VIDEO_QUERY_PATH, throttled("1"), throttled("1"), PAGE)
    reserved: list[str] = []

    def ledger(path: str) -> None:
        if len(reserved) == 2:
            raise QuotaExhausted("the daily budget of the 'research' pool is used up", source="ledger")
        reserved.append(path)

    with pytest.raises(QuotaExhausted) as info:
        client_for(stub.url, sleep=Waits(), before_request=ledger).fetch_videos(REQ)
    assert info.value.source == "ledger" and len(stub.research()) == 2


def test_client_side_pacing_spaces_requests(stub: StubApi) -> None:
    stub.script(VIDEO_QUERY_PATH, PAGE, PAGE, PAGE)
    waits, now = Waits(), [1000.0]
    client = client_for(stub.url, sleep=waits, clock=lambda: now[0], max_requests_per_minute=30)
    client.fetch_videos(REQ)
    client.fetch_videos(REQ)
    now[0] += 10                                        # a pause longer than the interval: no wait
    client.fetch_videos(REQ)
    assert waits.waits == [2.0] and len(stub.research()) == 3


def test_no_pacing_by_default(stub: StubApi) -> None:
    stub.script(VIDEO_QUERY_PATH, PAGE, PAGE)
    waits = Waits()
    client = client_for(stub.url, sleep=waits, clock=lambda: 0.0)
    client.fetch_videos(REQ)
    client.fetch_videos(REQ)
    assert waits.waits == []


# --- C: a 5xx whose body is a complete answer ---------------------------------------------------------

PLAYLIST = {"playlist_id": 7001, "playlist_name": "mix", "playlist_video_ids": [1, 2], "cursor": 2,
            "has_more": False}


def test_a_500_with_a_complete_ok_body_is_taken_at_one_request(stub: StubApi) -> None:
    stub.script(PLAYLIST_INFO_PATH, Reply(500, ok(PLAYLIST).body))
    waits = Waits()
    answer = client_for(stub.url, sleep=waits).fetch_playlist_info(TikTokPlaylistRequest(7001))
    assert answer.video_ids == [1, 2] and not answer.not_found
    assert len(stub.research()) == 1 and waits.waits == []


@pytest.mark.parametrize("body", [
    {"error": {"code": "internal_error", "message": ""}},        # a bare 500: no message
    {"error": {"code": "ok", "message": ""}},                    # ok but no data
    {"data": {"videos": "nope"}, "error": {"code": "ok"}},       # ok, data that is not a page
], ids=["bare", "no-data", "malformed"])
def test_a_500_without_a_usable_body_is_retried(stub: StubApi, body: dict) -> None:
    stub.script(VIDEO_QUERY_PATH, Reply(500, body), PAGE)
    waits = Waits()
    client_for(stub.url, sleep=waits).fetch_videos(REQ)
    assert waits.waits == [2] and len(stub.research()) == 2


# --- D: separate connect and read timeouts -------------------------------------------------------------

class RecordingSession(requests.Session):
    def __init__(self) -> None:
        super().__init__()
        self.timeouts: list[Any] = []

    def post(self, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.timeouts.append(kwargs.get("timeout"))
        return super().post(url, *args, **kwargs)


@pytest.mark.parametrize("options,expected", [
    ({}, (10.0, 330.0)),
    ({"connect_timeout_s": 3, "read_timeout_s": 600}, (3.0, 600.0)),
    ({"timeout_s": 42}, (42.0, 42.0)),                            # the older single setting: both
], ids=["defaults", "separate", "timeout_s"])
def test_requests_get_connect_and_read_timeouts(stub: StubApi, options: dict, expected: tuple) -> None:
    stub.script(VIDEO_QUERY_PATH, PAGE)
    session = RecordingSession()
    client_for(stub.url, session=session, **options).fetch_videos(REQ)
    assert session.timeouts == [expected, expected]             # token request, then the research request


def test_the_api_config_keys_reach_the_client() -> None:
    from crawlspec.cli.run import client_options

    options = client_options({"timeout_s": None, "connect_timeout_s": 5, "read_timeout_s": 400,
                              "throttle_max_wait_s": 30, "max_requests_per_minute": 20,
                              "retry": {"max_tries": 3}})
    assert (options["connect_timeout_s"], options["read_timeout_s"], options["timeout_s"]) == (5, 400, None)
    assert options["max_requests_per_minute"] == 20
    assert (options["retry"].throttle_max_wait_s, options["retry"].max_tries) == (30.0, 3)
