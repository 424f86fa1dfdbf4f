"""Retries, quota and before_request over real HTTP. Waits are recorded by an injected sleep, never slept."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from support.api_stub import Reply, StubApi, api_error, ok, running_stub

from crawlspec.api.fields import TOKEN_PATH, USER_INFO_PATH, VIDEO_QUERY_PATH
from crawlspec.client import (
    Credentials,
    RetryPolicy,
    TikTokApiRequestClient,
    TikTokUserInfoRequest,
    TikTokVideoRequest,
)
from crawlspec.errors import ApiUnreachable, QuotaExhausted, RetriesExhausted, SearchIdRejected

QUERY = {"and": [{"operation": "EQ", "field_name": "hashtag_name", "field_values": ["cats"]}]}
REQ = TikTokVideoRequest(QUERY, "20240101", "20240107", cursor=100, search_id="7354367454467855403")
PAGE = ok({"videos": [{"id": 7}], "cursor": 200, "has_more": False, "search_id": "7354367454467855403"})
HTML_504 = Reply(504, "<html><body><h1>504 Gateway Time-out</h1></body></html>")
SEARCH_ID_BAD = api_error(400, "invalid_params", "Search Id 7354367454467855403 is invalid or expired", "SID")
CURSOR_BAD = api_error(400, "invalid_params", "Invalid count or cursor", "CUR")


class Recorder:
    def __init__(self) -> None:
        self.waits: list[float] = []
        self.paths: list[str] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)

    def before(self, path: str) -> None:
        self.paths.append(path)


@pytest.fixture
def stub() -> Iterator[StubApi]:
    with running_stub() as api:
        yield api


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


def make_client(url: str, rec: Recorder, **kwargs: object) -> TikTokApiRequestClient:
    kwargs.setdefault("retry", RetryPolicy(max_tries=4, base_wait_s=2, max_wait_s=60, search_id_tries=3,
                                           search_id_wait_s=5))
    return TikTokApiRequestClient(Credentials("k-retry-tests", "secret-retry-tests", "environment"), url,
                                  sleep=rec.sleep, before_request=rec.before, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("failure", [
    api_error(500, "internal_error", "Something went wrong. Please try again later."),
    HTML_504,
    Reply(200, b"this is not json {"),
    Reply(200, "<html>maintenance</html>"),
    Reply(200, {"error": {"code": "ok", "message": "", "log_id": "x"}}),  # success envelope without data
], ids=["500", "html-504", "non-json-200", "html-200", "no-data"])
def test_transient_failure_then_success(stub: StubApi, rec: Recorder, failure: Reply) -> None:
    stub.script(VIDEO_QUERY_PATH, failure, PAGE)
    result = make_client(stub.url, rec).fetch_videos(REQ)
    assert result.videos == [{"id": 7}]
    assert rec.waits == [2]
    assert rec.paths == [VIDEO_QUERY_PATH, VIDEO_QUERY_PATH]
    assert len(stub.research()) == 2


def test_waits_grow_exponentially_and_retry_after_is_honoured(stub: StubApi, rec: Recorder) -> None:
    boom = api_error(500, "internal_error", "Server Internal Error")
    stub.script(VIDEO_QUERY_PATH, boom, boom, Reply(503, "busy", {"Retry-After": "7"}), PAGE)
    make_client(stub.url, rec).fetch_videos(REQ)
    assert rec.waits == [2, 4, 7]


def test_retries_exhausted_carries_last_status_and_log_id(stub: StubApi, rec: Recorder) -> None:
    stub.script(VIDEO_QUERY_PATH, *[api_error(500, "internal_error", "Something is wrong", f"LOG{i}")
                                    for i in range(4)])
    with pytest.raises(RetriesExhausted) as info:
        make_client(stub.url, rec).fetch_videos(REQ)
    err = info.value
    assert (err.status, err.code, err.log_id) == (500, "internal_error", "LOG3")
    assert "LOG3" in str(err) and "4 attempts" in str(err)
    assert len(stub.research()) == 4 and rec.paths == [VIDEO_QUERY_PATH] * 4
    assert rec.waits == [2, 4, 8]


def test_timeout_is_retried(stub: StubApi, rec: Recorder) -> None:
    stub.script(VIDEO_QUERY_PATH, stub.hang(), PAGE)
    result = make_client(stub.url, rec, timeout_s=0.2).fetch_videos(REQ)
    assert result.videos == [{"id": 7}]
    assert len(rec.paths) == 2 and rec.waits == [2]


def test_timeouts_until_exhausted(stub: StubApi, rec: Recorder) -> None:
    stub.script(VIDEO_QUERY_PATH, stub.hang(), stub.hang())
    client = make_client(stub.url, rec, timeout_s=0.1, retry=RetryPolicy(max_tries=2, base_wait_s=0))
    with pytest.raises(RetriesExhausted, match="Timeout"):
        client.fetch_videos(REQ)


def test_connection_refused_is_retried_then_exhausted(rec: Recorder) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = make_client(f"http://127.0.0.1:{port}", rec, retry=RetryPolicy(max_tries=3, base_wait_s=1))
    with pytest.raises(ApiUnreachable, match="no access token could be had: .*ConnectionError") as info:
        client.ensure_token()
    assert info.value.exit_code == 75   # resumable: nothing was sent, nothing is at fault but the network
    assert client.token_requests == 3 and rec.waits == [1, 2]
    assert rec.paths == []  # token requests are not research requests


@pytest.mark.parametrize("quirk", [SEARCH_ID_BAD, CURSOR_BAD], ids=["search-id", "cursor"])
def test_search_id_quirk_retried_with_growing_wait_then_success(stub: StubApi, rec: Recorder,
                                                                 quirk: Reply) -> None:
    stub.script(VIDEO_QUERY_PATH, quirk, quirk, PAGE)
    result = make_client(stub.url, rec).fetch_videos(REQ)
    assert result.videos == [{"id": 7}]
    assert rec.waits == [5, 10]
    assert [s.json()["search_id"] for s in stub.research()] == ["7354367454467855403"] * 3


def test_search_id_rejected_beyond_the_limit(stub: StubApi, rec: Recorder) -> None:
    stub.script(VIDEO_QUERY_PATH, SEARCH_ID_BAD, SEARCH_ID_BAD, SEARCH_ID_BAD, PAGE)
    with pytest.raises(SearchIdRejected) as info:
        make_client(stub.url, rec).fetch_videos(REQ)
    assert (info.value.status, info.value.log_id) == (400, "SID")
    assert "cursor 0" in str(info.value)
    assert len(stub.research()) == 3 and rec.waits == [5, 10]


def test_429_daily_quota_code_is_quota_exhausted_after_exactly_one_attempt(stub: StubApi, rec: Recorder) -> None:
    stub.script(VIDEO_QUERY_PATH, api_error(429, "daily_quota_limit_exceeded", "quota", "Q429"), PAGE)
    with pytest.raises(QuotaExhausted) as info:
        make_client(stub.url, rec).fetch_videos(REQ)
    assert info.value.source == "api" and info.value.exit_code == 75
    assert "Q429" in str(info.value)
    assert len(stub.research()) == 1 and rec.paths == [VIDEO_QUERY_PATH] and rec.waits == []


def test_before_request_runs_once_per_attempt_and_its_error_stops_the_send(stub: StubApi, rec: Recorder) -> None:
    stub.script(VIDEO_QUERY_PATH, api_error(500, "internal_error", "x"), api_error(500, "internal_error", "x"), PAGE)
    allowed = 2

    def budget(path: str) -> None:
        rec.paths.append(path)
        if len(rec.paths) > allowed:
            raise QuotaExhausted("ledger says no", source="ledger")

    client = TikTokApiRequestClient(Credentials("k", "secret-budget", "environment"), stub.url,
                                    sleep=rec.sleep, before_request=budget)
    with pytest.raises(QuotaExhausted, match="ledger says no"):
        client.fetch_videos(REQ)
    assert len(rec.paths) == 3
    assert len(stub.research()) == 2          # the third attempt was never sent
    assert client.requests_sent == {VIDEO_QUERY_PATH: 2}
    assert len(stub.token_requests()) == 1    # the token endpoint is not charged


def test_user_info_500_then_not_found(stub: StubApi, rec: Recorder) -> None:
    stub.script(USER_INFO_PATH, api_error(500, "internal_error", "x"),
                api_error(400, "invalid_params", "cannot find the user"))
    result = make_client(stub.url, rec).fetch_user_info(TikTokUserInfoRequest("nobody"))
    assert result.not_found and len(rec.paths) == 2


def test_token_endpoint_server_error_is_retried(stub: StubApi, rec: Recorder) -> None:
    stub.script(TOKEN_PATH, Reply(200, {"error": "temporarily_unavailable", "error_description": "later"}),
                Reply(502, "<html>bad gateway</html>"))
    client = make_client(stub.url, rec)
    client.ensure_token()
    assert client.token_requests == 3 and rec.waits == [2, 4]


def test_quota_refused_before_first_attempt_sends_nothing_not_even_a_token_request(stub: StubApi) -> None:
    def no_budget(path: str) -> None:
        raise QuotaExhausted("daily budget used", source="ledger")

    client = TikTokApiRequestClient(Credentials("k", "secret-nobudget", "environment"), stub.url,
                                    before_request=no_budget)
    with pytest.raises(QuotaExhausted):
        client.fetch_videos(REQ)
    assert stub.seen == [] and client.requests_sent == {} and client.token_requests == 0
