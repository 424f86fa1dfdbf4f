"""Simulator options that reproduce what the real API did: endpoints a project is not approved for (401
`scope_not_authorized`), liked lists hidden with 403, and an outage answering keyword searches with 0
videos and no error. Real HTTP to an in-process simulator."""

from __future__ import annotations

import pytest
from support.sim_http import VIDEO, assert_error, post, start, token, video_body

from crawlspec.sim import SimOptions
from crawlspec.sim.cli import build_parser, options_from

FOLLOWERS = "/v2/research/user/followers/"
LIKED = "/v2/research/user/liked_videos/"
KEYWORD = {"and": [{"operation": "IN", "field_name": "keyword", "field_values": ["a"]}]}


def test_cli_options_parse_and_bad_values_are_refused():
    opts = options_from(build_parser().parse_args(
        ["--unauthorized-endpoints", "followers,following", "--hidden-likes-status", "403",
         "--empty-outage", "keyword", "--empty-outage-requests", "3"]))
    assert opts.unauthorized_endpoints == ("followers", "following")
    assert (opts.hidden_likes_status, opts.empty_outage, opts.empty_outage_requests) == (403, "keyword", 3)
    with pytest.raises(ValueError, match="unauthorized_endpoints"):
        SimOptions(unauthorized_endpoints="folowers")


def test_unauthorized_endpoint_answers_401_scope_not_authorized_and_is_charged():
    with start(unauthorized_endpoints=("followers",)) as sim:
        tok = token(sim)
        user = sim.corpus.creators.usernames[0]
        assert_error(post(sim, FOLLOWERS, {"username": user}, "", tok), 401, "scope_not_authorized")
        assert post(sim, LIKED, {"username": user}, "id", tok).status_code == 200
        assert sim.stats()["follow_quota_used"] == 1


def test_hidden_likes_can_answer_403():
    from crawlspec.sim.user_endpoints import likes_hidden

    with start(hidden_likes_status=403) as sim:
        hidden = next(i for i in range(1, 200) if likes_hidden(sim.corpus, i))
        reply = post(sim, LIKED, {"username": sim.corpus.creators.usernames[hidden]}, "id")
        assert_error(reply, 403, "forbidden", "has not enabled")


def test_outage_answers_keyword_searches_empty_until_the_day_advances():
    with start(empty_outage="keyword") as sim:
        tok = token(sim)
        body = video_body(KEYWORD, start_date="20240301", end_date="20240330")
        during = post(sim, VIDEO, body, "id", tok).json()
        assert during["error"]["code"] == "ok" and during["data"]["videos"] == []
        assert post(sim, VIDEO, video_body(), "id", tok).json()["data"]["videos"], "hashtag searches still work"
        sim.advance_day()
        assert post(sim, VIDEO, body, "id", token(sim)).json()["data"]["videos"]


def test_outage_of_n_requests_then_recovery():
    with start(empty_outage="all", empty_outage_requests=2) as sim:
        tok = token(sim)
        answers = [post(sim, VIDEO, video_body(), "id", tok).json()["data"]["videos"] for _ in range(3)]
        assert [bool(a) for a in answers] == [False, False, True]
        assert sim.stats()["faults"]["empty_outage"] == 2
