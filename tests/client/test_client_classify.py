"""The one decision function: what each answer of the API means."""

from __future__ import annotations

import pytest
import requests

from crawlspec.api.fields import (
    COMMENTS_PATH,
    FOLLOWERS_PATH,
    LIKED_VIDEOS_PATH,
    PLAYLIST_INFO_PATH,
    TOKEN_PATH,
    USER_INFO_PATH,
    VIDEO_QUERY_PATH,
)
from crawlspec.client import Kind, Outcome, RetryPolicy
from crawlspec.client.classify import classify, parse_retry_after


def env(code: str, message: str = "", data: dict | None = None) -> dict:
    body: dict = {"error": {"code": code, "message": message, "log_id": "L1"}}
    if data is not None:
        body["data"] = data
    return body


@pytest.mark.parametrize("status,body,path,kind", [
    (200, env("ok", data={"videos": []}), VIDEO_QUERY_PATH, Kind.OK),
    (200, {"data": {"comments": []}}, COMMENTS_PATH, Kind.OK),                      # no error object
    (500, env("internal_error", "Something went wrong"), VIDEO_QUERY_PATH, Kind.RETRY),
    (503, None, VIDEO_QUERY_PATH, Kind.RETRY),
    (500, env("ok", data={"videos": [], "has_more": False}), VIDEO_QUERY_PATH, Kind.OK),   # a 5xx with a usable body
    (500, env("ok", data={"playlist_name": "p", "playlist_video_ids": [1]}), PLAYLIST_INFO_PATH, Kind.OK),
    (500, env("ok"), PLAYLIST_INFO_PATH, Kind.RETRY),                                # ok but no data
    (500, env("internal_error", data={"videos": []}), VIDEO_QUERY_PATH, Kind.RETRY),  # data, but not ok
    (500, {"error": {"code": "internal_error"}}, USER_INFO_PATH, Kind.RETRY),         # bare 500, no message
    (200, None, VIDEO_QUERY_PATH, Kind.UNPARSABLE),                                # non-JSON: one retry
    (200, env("ok"), VIDEO_QUERY_PATH, Kind.UNPARSABLE),                           # ok without data
    (400, env("invalid_params", "Search Id 123 is invalid or expired"), VIDEO_QUERY_PATH, Kind.SEARCH_ID_RETRY),
    (400, env("invalid_params", "Invalid count or cursor"), COMMENTS_PATH, Kind.SEARCH_ID_RETRY),
    (401, env("access_token_invalid", "Access token is invalid"), VIDEO_QUERY_PATH, Kind.TOKEN_EXPIRED),
    (401, env("scope_not_authorized", "no scope"), USER_INFO_PATH, Kind.AUTH),
    (429, env("rate_limit_exceeded"), VIDEO_QUERY_PATH, Kind.THROTTLE),
    (429, None, VIDEO_QUERY_PATH, Kind.THROTTLE),
    (429, env("daily_quota_limit_exceeded"), COMMENTS_PATH, Kind.QUOTA),
    (400, env("invalid_params", "u is invalid: cannot find the user"), USER_INFO_PATH, Kind.NOT_FOUND),
    (400, env("invalid_params", "API cannot return this user's information"), USER_INFO_PATH, Kind.NOT_FOUND),
    (400, env("invalid_params", "cannot find the user"), VIDEO_QUERY_PATH, Kind.FATAL),  # only user endpoints
    (400, env("invalid_params", "Invalid field"), VIDEO_QUERY_PATH, Kind.FATAL),
    (404, None, USER_INFO_PATH, Kind.FATAL),                                       # HTML 404: wrong URL
    (408, None, USER_INFO_PATH, Kind.RETRY),
    (404, env("not_found", "?"), USER_INFO_PATH, Kind.FATAL),
    (200, env("scope_permission_missed", "x"), VIDEO_QUERY_PATH, Kind.FATAL),     # non-ok code on HTTP 200
    (403, env("forbidden", "The user has not enabled liked videos"), LIKED_VIDEOS_PATH, Kind.NOT_FOUND),
    (403, env("permission_denied", "forbidden"), LIKED_VIDEOS_PATH, Kind.NOT_FOUND),   # any 403 on a list
    (400, env("invalid_params", "liked videos are hidden"), LIKED_VIDEOS_PATH, Kind.NOT_FOUND),
    (401, env("scope_not_authorized", "no scope"), FOLLOWERS_PATH, Kind.AUTH),
    (403, env("forbidden", "no"), VIDEO_QUERY_PATH, Kind.FATAL),
])
def test_research_answers(status: int, body: dict | None, path: str, kind: Kind) -> None:
    assert classify(Outcome(path=path, status=status, body=body, text="<html>" if body is None else "")).kind is kind


@pytest.mark.parametrize("status,body,kind", [
    (200, {"access_token": "clt.x", "expires_in": 7200, "token_type": "Bearer"}, Kind.OK),
    (200, {"error": "invalid_client", "error_description": "bad"}, Kind.AUTH),
    (400, {"error": "invalid_request", "error_description": "Client secret is missed in request."}, Kind.AUTH),
    (200, {"error": "server_error"}, Kind.RETRY),
    (200, {"error": "unsupported_grant_type"}, Kind.FATAL),
    (200, {"token_type": "Bearer"}, Kind.RETRY),                                  # no access_token, no error
    (502, None, Kind.RETRY),
    (401, None, Kind.AUTH),
])
def test_token_answers(status: int, body: dict | None, kind: Kind) -> None:
    assert classify(Outcome(path=TOKEN_PATH, status=status, body=body)).kind is kind


@pytest.mark.parametrize("exc,kind", [
    (requests.ReadTimeout("slow"), Kind.RETRY),
    (requests.ConnectTimeout("slow"), Kind.RETRY),
    (requests.ConnectionError("refused"), Kind.RETRY),
    (requests.exceptions.ChunkedEncodingError("cut"), Kind.RETRY),
    (requests.exceptions.InvalidURL("bad url"), Kind.FATAL),
])
def test_exceptions(exc: Exception, kind: Kind) -> None:
    assert classify(Outcome(path=VIDEO_QUERY_PATH, exception=exc)).kind is kind


def test_a_request_that_never_connected_is_told_from_one_lost_after_sending() -> None:
    """`connect_failed` (nothing reached the API: the crawl stops as resumable) against a timeout or a
    connection lost mid-answer (the API may have charged it: the window's own failure)."""
    refused = None
    try:
        requests.get("http://127.0.0.1:1/", timeout=5)
    except requests.ConnectionError as exc:
        refused = exc
    reasons = {name: classify(Outcome(path=VIDEO_QUERY_PATH, exception=exc)).reason for name, exc in {
        "refused": refused, "connect timeout": requests.ConnectTimeout("slow"),
        "read timeout": requests.ReadTimeout("slow"), "body cut": requests.exceptions.ChunkedEncodingError("cut"),
        "reset": requests.ConnectionError("Connection aborted.")}.items()}
    assert reasons == {"refused": "connect_failed", "connect timeout": "connect_failed", "read timeout": "timeout",
                       "body cut": "connection_error", "reset": "connection_error"}


def test_retry_after_seconds_and_http_date() -> None:
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now=1445412500.0) == 10.0
    assert parse_retry_after("garbage") is None and parse_retry_after(None) is None
    verdict = classify(Outcome(path=VIDEO_QUERY_PATH, status=503, retry_after="3"))
    assert (verdict.kind, verdict.retry_after_s) == (Kind.RETRY, 3.0)


def test_policy_waits() -> None:
    policy = RetryPolicy(base_wait_s=2, max_wait_s=10, search_id_wait_s=5)
    assert [policy.transient_wait(n, None) for n in (1, 2, 3, 4)] == [2, 4, 8, 10]
    assert policy.transient_wait(1, 500.0) == 10   # Retry-After capped at max_wait_s
    assert [policy.search_id_wait(n) for n in (1, 2, 3)] == [5, 10, 15]
