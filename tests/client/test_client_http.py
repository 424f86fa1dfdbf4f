"""TikTokApiRequestClient over real HTTP against a scripted local stub: what is sent, tokens, pages."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.api_stub import StubApi, api_error, ok, running_stub

from crawlspec.api.fields import (
    COMMENTS_PATH,
    TOKEN_PATH,
    USER_INFO_PATH,
    VIDEO_FIELDS_DEFAULT,
    VIDEO_QUERY_PATH,
)
from crawlspec.client import (
    Credentials,
    RetryPolicy,
    TikTokApiRequestClient,
    TikTokCommentsRequest,
    TikTokUserInfoRequest,
    TikTokVideoRequest,
)
from crawlspec.client.http import session_for
from crawlspec.errors import ApiError, CredentialsRejected, SpecError

SECRET = "s3cr3t-value-for-client-tests"
QUERY = {"and": [{"operation": "IN", "field_name": "region_code", "field_values": ["US", "GB"]}]}
NO_WAIT = RetryPolicy(base_wait_s=0, max_wait_s=0, search_id_wait_s=0)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def stub() -> Iterator[StubApi]:
    with running_stub() as api:
        yield api


def make_client(stub: StubApi, **kwargs: object) -> TikTokApiRequestClient:
    kwargs.setdefault("retry", NO_WAIT)
    kwargs.setdefault("sleep", lambda s: None)
    creds = Credentials("key-for-client-tests", SECRET, "file /tmp/secrets.yaml")
    return TikTokApiRequestClient(creds, stub.url, **kwargs)  # type: ignore[arg-type]


def page(videos: list[dict], cursor: int, has_more: bool, search_id: str = "7354367454467855403") -> dict:
    return {"videos": videos, "cursor": cursor, "has_more": has_more, "search_id": search_id}


def test_first_and_second_video_pages_send_exact_bodies_fields_and_headers(stub: StubApi) -> None:
    stub.script(VIDEO_QUERY_PATH, ok(page([{"id": 1}], 100, True)), ok(page([{"id": 2}], 145, False)))
    client = make_client(stub)
    first = client.fetch_videos(TikTokVideoRequest(QUERY, "20240101", "20240107", max_count=100))
    second = client.fetch_videos(TikTokVideoRequest(QUERY, "20240101", "20240107", max_count=100,
                                                    cursor=first.cursor, search_id=first.search_id))
    sent = stub.research(VIDEO_QUERY_PATH)
    assert [s.json() for s in sent] == [
        {"query": QUERY, "start_date": "20240101", "end_date": "20240107", "max_count": 100, "is_random": False},
        {"query": QUERY, "start_date": "20240101", "end_date": "20240107", "max_count": 100, "is_random": False,
         "cursor": 100, "search_id": "7354367454467855403"},
    ]
    for s in sent:
        assert s.raw_query == "fields=" + ",".join(VIDEO_FIELDS_DEFAULT)
        assert s.headers["authorization"] == "Bearer clt.stub-token-1"
        assert s.headers["content-type"] == "application/json"
    assert (first.videos, first.has_more, first.cursor) == ([{"id": 1}], True, 100)
    assert first.data["search_id"] == "7354367454467855403"
    assert (second.videos, second.has_more, second.cursor) == ([{"id": 2}], False, 145)
    assert client.requests_sent == {VIDEO_QUERY_PATH: 2}
    assert client.token_requests == 1


def test_token_request_is_form_encoded_client_credentials(stub: StubApi) -> None:
    make_client(stub).ensure_token()
    (seen,) = stub.token_requests()
    assert seen.headers["content-type"] == "application/x-www-form-urlencoded"
    assert seen.form() == {"client_key": ["key-for-client-tests"], "client_secret": [SECRET],
                           "grant_type": ["client_credentials"]}


def test_next_page_without_dates_reuses_dates_of_its_search(stub: StubApi) -> None:
    """The older README's next-page request has only query, cursor and search_id."""
    stub.script(VIDEO_QUERY_PATH, ok(page([], 100, True, "42")), ok(page([], 200, False, "42")))
    client = make_client(stub)
    first = client.fetch_videos(TikTokVideoRequest(query=QUERY, start_date="20240301", end_date="20240329"))
    client.fetch_videos(TikTokVideoRequest(query=QUERY, cursor=first.data["cursor"],
                                           search_id=first.data["search_id"]))
    second = stub.research()[1].json()
    assert (second["start_date"], second["end_date"], second["cursor"], second["search_id"]) == (
        "20240301", "20240329", 100, "42")


def test_video_request_without_dates_for_unknown_search_is_refused_before_sending(stub: StubApi) -> None:
    client = make_client(stub)
    with pytest.raises(SpecError, match="start_date and end_date"):
        client.fetch_videos(TikTokVideoRequest(query=QUERY, cursor=100, search_id="999"))
    assert stub.seen == []


def test_query_object_with_as_dict_is_sent_as_its_dict(stub: StubApi) -> None:
    class Query:
        def as_dict(self) -> dict:
            return QUERY

    stub.script(VIDEO_QUERY_PATH, ok(page([], 0, False)))
    make_client(stub).fetch_videos(TikTokVideoRequest(Query(), "20240101", "20240102", fields=["id", " username"]))
    (seen,) = stub.research()
    assert seen.json()["query"] == QUERY
    assert seen.raw_query == "fields=id,username"


def test_token_renewed_before_expiry_by_clock(stub: StubApi) -> None:
    clock = FakeClock()
    stub.script(VIDEO_QUERY_PATH, *[ok(page([], 0, False))] * 3)
    client = make_client(stub, clock=clock)
    req = TikTokVideoRequest(QUERY, "20240101", "20240102")
    client.fetch_videos(req)
    clock.now += 7200 - 301          # more than 5 minutes left: same token
    client.fetch_videos(req)
    clock.now += 2                   # less than 5 minutes left: renewed first
    client.fetch_videos(req)
    auths = [s.headers["authorization"] for s in stub.research()]
    assert auths == ["Bearer clt.stub-token-1", "Bearer clt.stub-token-1", "Bearer clt.stub-token-2"]
    assert client.token_requests == 2


def test_token_renewed_once_on_401_then_request_resent(stub: StubApi) -> None:
    stub.script(VIDEO_QUERY_PATH, api_error(401, "access_token_invalid", "Access token is invalid"),
                ok(page([{"id": 5}], 1, False)))
    calls: list[str] = []
    client = make_client(stub, before_request=calls.append)
    result = client.fetch_videos(TikTokVideoRequest(QUERY, "20240101", "20240102"))
    assert result.videos == [{"id": 5}]
    assert [s.headers["authorization"] for s in stub.research()] == [
        "Bearer clt.stub-token-1", "Bearer clt.stub-token-2"]
    assert calls == [VIDEO_QUERY_PATH, VIDEO_QUERY_PATH]  # the re-send is charged too


def test_second_401_after_fresh_token_is_credentials_rejected(stub: StubApi) -> None:
    stub.script(VIDEO_QUERY_PATH, *[api_error(401, "access_token_invalid", "Access token is invalid")] * 2)
    with pytest.raises(CredentialsRejected) as info:
        make_client(stub).fetch_videos(TikTokVideoRequest(QUERY, "20240101", "20240102"))
    assert "/tmp/secrets.yaml" in str(info.value)
    assert len(stub.research()) == 2
    assert info.value.exit_code == 77


def test_scope_not_authorized_is_credentials_rejected_without_retry(stub: StubApi) -> None:
    stub.script(VIDEO_QUERY_PATH, api_error(401, "scope_not_authorized", "The user did not authorize the scope"))
    with pytest.raises(CredentialsRejected, match="scope_not_authorized"):
        make_client(stub).fetch_videos(TikTokVideoRequest(QUERY, "20240101", "20240102"))
    assert len(stub.research()) == 1


@pytest.mark.parametrize("status", [200, 401])
def test_invalid_client_token_answer_is_credentials_rejected_naming_source(stub: StubApi, status: int) -> None:
    from support.api_stub import Reply

    stub.script(TOKEN_PATH, Reply(status, {"error": "invalid_client", "error_description": "client key or secret rejected",
                                           "log_id": "20250101120000ABCDEF"}))
    with pytest.raises(CredentialsRejected) as info:
        make_client(stub).fetch_videos(TikTokVideoRequest(QUERY, "20240101", "20240102"))
    message = str(info.value)
    assert "secrets file /tmp/secrets.yaml" in message and "invalid_client" in message
    assert "20250101120000ABCDEF" in message
    assert SECRET not in message
    assert stub.research() == [] and len(stub.token_requests()) == 1


def test_environment_source_is_named_when_env_credentials_rejected(stub: StubApi) -> None:
    from support.api_stub import Reply

    stub.script(TOKEN_PATH, Reply(200, {"error": "invalid_client", "error_description": "bad"}))
    client = TikTokApiRequestClient(Credentials("k-env", SECRET, "environment"), stub.url, retry=NO_WAIT)
    with pytest.raises(CredentialsRejected, match="CRAWLSPEC_CLIENT_KEY / CRAWLSPEC_CLIENT_SECRET"):
        client.ensure_token()


def test_nul_bytes_stripped_from_keys_and_values_at_any_depth(stub: StubApi) -> None:
    video = {"id": 1, "username": "user\u0000\u0000", "hashtag_names": ["a\u0000b"],
             "nested": {"k\u0000ey": [{"v": "\u0000x"}]}}
    stub.script(VIDEO_QUERY_PATH, ok(page([video], 1, False)))
    result = make_client(stub).fetch_videos(TikTokVideoRequest(QUERY, "20240101", "20240102"))
    assert result.videos == [{"id": 1, "username": "user", "hashtag_names": ["ab"],
                              "nested": {"key": [{"v": "x"}]}}]
    assert "\x00" not in json.dumps(result.data)


def test_big_ids_stay_exact_ints_and_search_id_a_string(stub: StubApi) -> None:
    ids = [2**53 + 1, 7320768196569599275, 2**63 - 1]
    raw = ('{"data": {"videos": [' + ",".join(f'{{"id": {i}, "music_id": {i}}}' for i in ids)
           + '], "cursor": 3, "has_more": false, "search_id": 7354367454467855403},'
           ' "error": {"code": "ok", "message": "", "log_id": "L"}}')
    from support.api_stub import Reply

    stub.script(VIDEO_QUERY_PATH, Reply(200, raw.encode()))
    result = make_client(stub).fetch_videos(TikTokVideoRequest(QUERY, "20240101", "20240102"))
    assert [v["id"] for v in result.videos] == ids
    assert all(type(v["id"]) is int and type(v["music_id"]) is int for v in result.videos)
    assert result.search_id == "7354367454467855403" and result.data["search_id"] == "7354367454467855403"


def test_comments_request_body_and_typo_alias(stub: StubApi) -> None:
    comment = {"id": 7386190478574388010, "video_id": 7385291383449439519, "text": "so cute"}
    stub.script(COMMENTS_PATH, ok({"comments": [comment], "cursor": 6, "has_more": False}))
    result = make_client(stub).fetch_comments(TikTokCommentsRequest(video_id="7385291383449439519"))
    (seen,) = stub.research()
    assert seen.json() == {"video_id": 7385291383449439519, "max_count": 100, "cursor": 0}
    assert seen.raw_query == "fields=id,video_id,text,like_count,reply_count,parent_comment_id,create_time"
    assert result.comments == [comment] and result.coments is result.comments
    assert (result.cursor, result.has_more) == (6, False)


def test_user_info_injects_username(stub: StubApi) -> None:
    stub.script(USER_INFO_PATH, ok({"display_name": "my nick", "follower_count": 232}, log_id="UL"))
    result = make_client(stub).fetch_user_info(TikTokUserInfoRequest(username="example"))
    assert stub.research()[0].json() == {"username": "example"}
    assert result.user_info["example"] == {"display_name": "my nick", "follower_count": 232, "username": "example"}
    assert (result.not_found, result.log_id) == (False, "UL")


@pytest.mark.parametrize("message", ["user abc is invalid: cannot find the user",
                                     "API cannot return this user's information"])
def test_user_not_found_is_a_response_not_an_exception(stub: StubApi, message: str) -> None:
    stub.script(USER_INFO_PATH, api_error(400, "invalid_params", message, log_id="NF1"))
    result = make_client(stub).fetch_user_info(TikTokUserInfoRequest(username="ghost"))
    assert (result.not_found, result.user_info, result.log_id, result.message) == (True, {}, "NF1", message)
    assert len(stub.research()) == 1


def test_other_4xx_is_api_error_with_log_id_and_no_retry(stub: StubApi) -> None:
    stub.script(VIDEO_QUERY_PATH, api_error(400, "invalid_params", "Invalid field: foo", log_id="LOG400"))
    with pytest.raises(ApiError) as info:
        make_client(stub).fetch_videos(TikTokVideoRequest(QUERY, "20240101", "20240102"))
    err = info.value
    assert (err.status, err.code, err.log_id, err.endpoint) == (400, "invalid_params", "LOG400", VIDEO_QUERY_PATH)
    assert "LOG400" in str(err) and "Invalid field: foo" in str(err)
    assert len(stub.research()) == 1


def test_a_netrc_entry_for_the_api_host_does_not_replace_the_bearer_token(
        stub: StubApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`requests` would send ~/.netrc credentials as Basic auth over the Authorization header."""
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password hunter2\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    stub.script(VIDEO_QUERY_PATH, ok(page([{"id": 1}], 1, False)))
    make_client(stub).fetch_videos(TikTokVideoRequest(QUERY, "20240101", "20240107", max_count=100))
    assert stub.research(VIDEO_QUERY_PATH)[0].headers["authorization"] == "Bearer clt.stub-token-1"


def test_proxy_and_ca_bundle_come_from_the_environment_once_for_the_api_host(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/campus-ca.pem")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    session = session_for("https://open.tiktokapis.com")
    assert session.proxies["https"] == "http://proxy.example:3128"
    assert session.verify == "/etc/ssl/campus-ca.pem"
    monkeypatch.setenv("NO_PROXY", "open.tiktokapis.com")
    assert "https" not in session_for("https://open.tiktokapis.com").proxies
