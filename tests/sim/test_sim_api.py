"""The simulator's endpoints over real HTTP: token, envelopes, validation, paging, quota, faults, admin."""

from __future__ import annotations

import json
import re
import time

import pytest
import requests
from support.sim_http import (
    COMMENTS,
    KEY,
    LOG_ID,
    SECRET,
    TOKEN,
    USER,
    VIDEO,
    FakeTime,
    assert_error,
    post,
    start,
    token,
    video_body,
)


@pytest.fixture(scope="module")
def sim():
    with start(deleted_rate=0.3, daily_quota=100_000) as running:
        yield running


# --- token -------------------------------------------------------------------------------------------

def test_token_success_shape(sim):
    reply = requests.post(sim.url + TOKEN, data={"client_key": KEY, "client_secret": SECRET,
                                                 "grant_type": "client_credentials"})
    assert reply.status_code == 200
    body = reply.json()
    assert body["access_token"].startswith("clt.")
    assert body["expires_in"] == 7200 and body["token_type"] == "Bearer"


@pytest.mark.parametrize(("form", "category"), [
    ({"client_key": KEY, "client_secret": "wrong", "grant_type": "client_credentials"}, "invalid_client"),
    ({"client_key": "nobody", "client_secret": SECRET, "grant_type": "client_credentials"}, "invalid_client"),
    ({"client_key": KEY, "grant_type": "client_credentials"}, "invalid_request"),
    ({"client_secret": SECRET, "grant_type": "client_credentials"}, "invalid_request"),
    ({"client_key": KEY, "client_secret": SECRET}, "invalid_request"),
    ({"client_key": KEY, "client_secret": SECRET, "grant_type": "password"}, "unsupported_grant_type"),
])
def test_token_errors_use_the_oauth_shape_with_200(sim, form, category):
    reply = requests.post(sim.url + TOKEN, data=form)
    assert reply.status_code == 200
    body = reply.json()
    assert set(body) == {"error", "error_description", "log_id"} and body["error"] == category


def test_token_error_status_is_configurable():
    with start(token_error_status=401, videos=50) as other:
        reply = requests.post(other.url + TOKEN, data={"client_key": KEY, "client_secret": "x",
                                                       "grant_type": "client_credentials"})
    assert reply.status_code == 401 and reply.json()["error"] == "invalid_client"


def test_token_expires_on_the_simulators_clock():
    clock = FakeTime()
    with start(clock=clock, videos=50, token_ttl=600) as other:
        tok = token(other)
        assert post(other, USER, {"username": "nobody-here"}, "display_name", tok).status_code == 400
        clock.now += 599
        assert post(other, USER, {"username": "nobody-here"}, "display_name", tok).status_code == 400
        clock.now += 2
        assert_error(post(other, USER, {"username": "x"}, "display_name", tok), 401, "access_token_invalid")


@pytest.mark.parametrize("header", [None, "Bearer clt.not-issued", "Basic abc", "Bearer "])
def test_missing_or_unknown_token_is_401(sim, header):
    headers = {"Authorization": header} if header else {}
    reply = requests.post(sim.url + VIDEO + "?fields=id", json=video_body(), headers=headers)
    assert_error(reply, 401, "access_token_invalid")


def test_bearer_scheme_is_case_insensitive(sim):
    reply = requests.post(sim.url + VIDEO + "?fields=id", json=video_body(),
                          headers={"Authorization": f"bearer {token(sim)}"})
    assert reply.status_code == 200


# --- envelopes, fields, bodies ---------------------------------------------------------------------

def test_success_envelope_big_ids_and_requested_fields_only(sim):
    reply = post(sim, VIDEO, video_body(), fields="id,username,hashtag_names")
    assert reply.status_code == 200
    payload = reply.json()
    assert payload["error"]["code"] == "ok" and payload["error"]["message"] == ""
    assert LOG_ID.match(payload["error"]["log_id"])
    data = payload["data"]
    assert isinstance(data["search_id"], str) and data["search_id"].isdigit()
    first = data["videos"][0]
    assert set(first) <= {"id", "username", "hashtag_names"} and "id" in first
    assert first["id"] > 2**53
    assert re.search(rf'"id":{first["id"]}[,}}]', reply.text), "ids are bare JSON numbers"


def test_fields_with_spaces_and_text_plain_body(sim):
    reply = requests.post(sim.url + VIDEO + "?fields=id,%20create_time", data=json.dumps(video_body()),
                          headers={"Authorization": f"Bearer {token(sim)}", "Content-Type": "text/plain"})
    assert reply.status_code == 200
    assert all(set(v) == {"id", "create_time"} for v in reply.json()["data"]["videos"])


@pytest.mark.parametrize(("path", "fields", "body"), [
    (VIDEO, "id,favourites_count", video_body()),
    (VIDEO, "", video_body()),
    (USER, "display_name,username", {"username": "x"}),
    (COMMENTS, "id,display_name", {"video_id": 1}),
])
def test_unknown_or_missing_fields_are_invalid_params(sim, path, fields, body):
    assert_error(post(sim, path, body, fields=fields), 400, "invalid_params")


def cond(op, field_name, *values):
    return {"operation": op, "field_name": field_name, "field_values": list(values)}


@pytest.mark.parametrize("body", [
    video_body({"and": [cond("EQ", "keyword", "shoes", "cats")]}),
    video_body({"and": [cond("EQ", "hashtags", "shoes")]}),
    video_body({"and": [cond("LIKE", "keyword", "shoes")]}),
    video_body({"and": [cond("GT", "hashtag_name", "shoes")]}),
    video_body({"and": [cond("IN", "region_code", "US", "UK")]}),
    video_body({"and": [cond("EQ", "video_length", "TINY")]}),
    video_body({"and": [cond("IN", "hashtag_name")]}),
    video_body({"and": [{"operation": "IN", "field_name": "video_id", "field_values": [7300000000000000000]}]}),
    video_body({"and": [cond("EQ", "create_date", "2024-03-01")]}),
    video_body({"and": [], "or": [], "not": []}),
    video_body({}),
    video_body({"xor": [cond("EQ", "keyword", "a")]}),
    video_body(start_date="2024-03-01"),
    video_body(start_date="20240231"),
    video_body(start_date="20240310", end_date="20240309"),
    video_body(start_date="20240301", end_date="20240401"),
    video_body(max_count=101),
    video_body(max_count=0),
    video_body(cursor=-1),
    {"start_date": "20240301", "end_date": "20240302"},
])
def test_invalid_video_queries_are_400(sim, body):
    assert_error(post(sim, VIDEO, body), 400, "invalid_params")


def test_window_of_exactly_thirty_days_is_allowed_and_inclusive(sim):
    reply = post(sim, VIDEO, video_body(start_date="20240301", end_date="20240331", max_count=100),
                 fields="create_time")
    assert reply.status_code == 200
    one_day = post(sim, VIDEO, video_body({"and": [cond("IN", "video_length", "SHORT", "MID", "LONG", "EXTRA_LONG")]},
                                          start_date="20240331", end_date="20240331"), fields="create_time")
    times = [v["create_time"] for v in one_day.json()["data"]["videos"]]
    assert times and all(1711843200 <= t < 1711929600 for t in times)


def test_invalid_json_body_is_400(sim):
    reply = requests.post(sim.url + VIDEO + "?fields=id", data="{not json",
                          headers={"Authorization": f"Bearer {token(sim)}"})
    assert_error(reply, 400, "invalid_params")


# --- paging ------------------------------------------------------------------------------------------

def test_pages_are_short_with_deleted_videos_and_cursor_counts_them(sim):
    tok = token(sim)
    first = post(sim, VIDEO, video_body(max_count=20), tok=tok).json()["data"]
    assert first["cursor"] == 20 and first["has_more"] and len(first["videos"]) < 20
    pages, cursor, ids = [first], first["cursor"], [v["id"] for v in first["videos"]]
    while pages[-1]["has_more"]:
        page = post(sim, VIDEO, video_body(max_count=20, cursor=cursor, search_id=first["search_id"]), tok=tok)
        pages.append(page.json()["data"])
        assert pages[-1]["search_id"] == first["search_id"]
        cursor = pages[-1]["cursor"]
        ids += [v["id"] for v in pages[-1]["videos"]]
    assert all(p["cursor"] % 20 == 0 for p in pages[:-1])
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)


def test_follow_up_must_carry_the_same_query_and_known_search_id(sim):
    tok = token(sim)
    first = post(sim, VIDEO, video_body(max_count=10), tok=tok).json()["data"]
    other_dates = video_body(max_count=10, cursor=10, search_id=first["search_id"], end_date="20240315")
    assert_error(post(sim, VIDEO, other_dates, tok=tok), 400, "invalid_params")
    unknown = video_body(cursor=10, search_id="123456789")
    assert_error(post(sim, VIDEO, unknown, tok=tok), 400, "invalid_params", "Search Id 123456789 is invalid or expired")
    beyond = video_body(cursor=10**6, search_id=first["search_id"])
    assert_error(post(sim, VIDEO, beyond, tok=tok), 400, "invalid_params", "Invalid count or cursor")


def test_empty_result_has_no_search_id(sim):
    data = post(sim, VIDEO, video_body({"and": [cond("EQ", "keyword", "no-such-word-anywhere")]})).json()["data"]
    assert data == {"videos": [], "cursor": 0, "has_more": False}


def test_is_random_returns_a_sample_without_paging(sim):
    data = post(sim, VIDEO, video_body(is_random=True, max_count=7)).json()["data"]
    assert len(data["videos"]) == 7 and data["has_more"] is False and "search_id" not in data


# --- user info -----------------------------------------------------------------------------------------

def test_user_info_known_unknown_and_case_insensitive(sim):
    tok = token(sim)
    known = next(name for name in sim.corpus.creators.usernames if post(
        sim, USER, {"username": name}, "display_name", tok).status_code == 200)
    reply = post(sim, USER, {"username": known.upper()}, "display_name,follower_count,likes_count", tok)
    data = reply.json()["data"]
    assert set(data) == {"display_name", "follower_count", "likes_count"}, "username is not echoed"
    unknown = post(sim, USER, {"username": "surely_nobody_999"}, "display_name", tok)
    assert_error(unknown, 400, "invalid_params", "is invalid: cannot find the user")


def test_some_creators_have_no_user_info(sim):
    tok = token(sim)
    statuses = {post(sim, USER, {"username": name}, "display_name", tok).status_code
                for name in sim.corpus.creators.usernames[:80]}
    assert statuses == {200, 400}


# --- comments ----------------------------------------------------------------------------------------

def comment_video(sim, predicate) -> int:
    corpus = sim.corpus
    return next(corpus.ids[i] for i in range(len(corpus)) if not corpus.deleted[i] and predicate(corpus, i))


def test_comments_top_level_paging_stops_at_1000(sim):
    video_id = comment_video(sim, lambda c, i: c.top_comments[i] > 1000)
    tok, cursor, seen = token(sim), 0, []
    while True:
        data = post(sim, COMMENTS, {"video_id": video_id, "max_count": 100, "cursor": cursor},
                    "id,parent_comment_id,video_id,reply_count", tok).json()["data"]
        seen += data["comments"]
        cursor = data["cursor"]
        if not data["has_more"]:
            break
    assert cursor == 1000 and len(seen) == 1000 and len({c["id"] for c in seen}) == 1000
    assert all(c["video_id"] == video_id for c in seen)
    tops = {c["id"] for c in seen if c["parent_comment_id"] == video_id}
    listed_replies = [c for c in seen if c["parent_comment_id"] != video_id]
    assert listed_replies and all(r["parent_comment_id"] in tops for r in listed_replies), "replies follow their comment"
    position = {c["id"]: n for n, c in enumerate(seen)}
    assert all(position[r["parent_comment_id"]] < position[r["id"]] for r in listed_replies)
    assert_error(post(sim, COMMENTS, {"video_id": video_id, "cursor": 1000}, "id", tok),
                 400, "invalid_params", "Invalid count or cursor")
    parent = next(c for c in seen if c["parent_comment_id"] == video_id and c["reply_count"] > 0)
    replies = post(sim, COMMENTS, {"comment_id": parent["id"], "max_count": 100}, "id,parent_comment_id", tok)
    data = replies.json()["data"]
    assert data["comments"] and all(r["parent_comment_id"] == parent["id"] for r in data["comments"])
    assert len(data["comments"]) == min(parent["reply_count"], 100)


def test_comments_zero_and_string_video_id_and_bad_bodies(sim):
    tok = token(sim)
    silent = comment_video(sim, lambda c, i: c.top_comments[i] == 0)
    data = post(sim, COMMENTS, {"video_id": str(silent)}, "id", tok).json()["data"]
    assert data == {"comments": [], "cursor": 0, "has_more": False}
    assert_error(post(sim, COMMENTS, {"video_id": silent, "comment_id": 5}, "id", tok), 400, "invalid_params")
    assert_error(post(sim, COMMENTS, {"max_count": 5}, "id", tok), 400, "invalid_params")
    assert_error(post(sim, COMMENTS, {"comment_id": 12345}, "id", tok), 400, "invalid_params")
    assert_error(post(sim, COMMENTS, {"video_id": silent, "max_count": 101}, "id", tok), 400, "invalid_params")


# --- quota, admin -------------------------------------------------------------------------------------

def test_every_research_request_counts_and_quota_resets_next_day():
    with start(videos=100, daily_quota=4) as other:
        tok = token(other)
        assert post(other, VIDEO, video_body(), tok=tok).status_code == 200
        assert post(other, VIDEO, video_body(max_count=500), tok=tok).status_code == 400
        assert post(other, USER, {"username": "x"}, "display_name", tok="clt.bad").status_code == 401
        assert post(other, COMMENTS, {"video_id": 1}, "id", tok=tok).status_code == 200
        assert_error(post(other, VIDEO, video_body(), tok=tok), 429, "rate_limit_exceeded")
        stats = requests.get(other.url + "/_sim/stats").json()
        assert stats["quota_used"] == 4 and stats["quota_limit"] == 4 and stats["day"] == "2024-06-01"
        assert stats["requests"] == {TOKEN: 1, VIDEO: 3, USER: 1, COMMENTS: 1}
        moved = requests.post(other.url + "/_sim/advance-day").json()
        assert moved["day"] == "2024-06-02" and moved["quota_used"] == 0
        assert other.advance_day()["day"] == "2024-06-03"
        tok = token(other)     # two days later the old token has expired
        assert post(other, VIDEO, video_body(), tok=tok).status_code == 200
        assert other.stats()["quota_used"] == 1


# --- faults -------------------------------------------------------------------------------------------

def fault_statuses(**overrides) -> list[tuple[int, str]]:
    with start(videos=100, **overrides) as other:
        session = requests.Session()
        tok = token(other, session)
        outcomes = []
        for _ in range(40):
            reply = session.post(other.url + VIDEO + "?fields=id", json=video_body(),
                                 headers={"Authorization": f"Bearer {tok}"})
            outcomes.append((reply.status_code, reply.headers["Content-Type"].split(";")[0]))
        return outcomes


def test_server_faults_are_reproducible_and_varied():
    first = fault_statuses(fail_rate=0.6)
    assert first == fault_statuses(fail_rate=0.6)
    assert first != fault_statuses(fail_rate=0.6, seed=4)
    kinds = set(first)
    assert {(200, "application/json"), (500, "application/json")} <= kinds
    assert kinds & {(504, "text/html"), (500, "text/plain")}


def test_fresh_search_id_is_rejected_once_then_works():
    with start(videos=400, invalid_search_id_rate=1.0) as other:
        tok = token(other)
        first = post(other, VIDEO, video_body(max_count=5), tok=tok).json()["data"]
        follow = video_body(max_count=5, cursor=5, search_id=first["search_id"])
        assert_error(post(other, VIDEO, follow, tok=tok), 400, "invalid_params",
                     f"Search Id {first['search_id']} is invalid or expired")
        retries = [post(other, VIDEO, follow, tok=tok) for _ in range(12)]
        assert any(r.status_code == 200 for r in retries)
        assert all(r.json()["error"]["message"] == "Invalid count or cursor" for r in retries if r.status_code != 200)
        assert other.stats()["faults"]["search_id_rejected"] == 1


def test_latency_is_added():
    with start(videos=50, latency_ms=40) as other:
        began = time.perf_counter()
        token(other)
        assert 0.04 <= time.perf_counter() - began < 2.0
