"""The simulator's user-list and playlist endpoints over real HTTP: every list paged
to its end equals the corpus dump, with the minimum number of pages; `fields` validation; the API's
refusals (unknown user, hidden likes, private following); per-endpoint stats and the follow pool."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import requests
from conftest import read_corpus_dump

from crawlspec.sim import SimOptions, start_simulator
from crawlspec.sim.corpus import generate_corpus
from crawlspec.sim.dump import dump_corpus

KEY, SECRET = "k-users", "s-users"
OPTIONS = {"seed": 11, "videos": 1200, "start": date(2024, 3, 1), "days": 31}
BASE = "/v2/research/user/"
PATHS = {name: f"{BASE}{name}/" for name in ("liked_videos", "pinned_videos", "reposted_videos", "followers",
                                               "following")}
PLAYLIST = "/v2/research/playlist/info/"
LIST_KEYS = {"liked_videos": "user_liked_videos", "pinned_videos": "pinned_videos_list",
             "reposted_videos": "reposted_videos", "followers": "user_followers", "following": "user_following"}
VIDEO_LISTS = ("liked_videos", "pinned_videos", "reposted_videos")


@pytest.fixture(scope="module")
def dump(tmp_path_factory) -> dict[str, list[dict]]:
    path = Path(tmp_path_factory.mktemp("dump")) / "corpus.jsonl"
    dump_corpus(generate_corpus(SimOptions(**OPTIONS)), path)
    return read_corpus_dump(path)


@pytest.fixture
def sim():
    with start_simulator(SimOptions(client_key=KEY, client_secret=SECRET, **OPTIONS), port=0) as running:
        yield running


def token(sim) -> str:
    reply = requests.post(sim.url + "/v2/oauth/token/", timeout=10,
                          data={"client_key": KEY, "client_secret": SECRET, "grant_type": "client_credentials"})
    return reply.json()["access_token"]


def post(sim, tok: str, path: str, body: dict, fields: str | None = None) -> requests.Response:
    query = f"?fields={fields}" if fields is not None else ""
    return requests.post(f"{sim.url}{path}{query}", json=body, headers={"Authorization": f"Bearer {tok}"},
                         timeout=10)


def lists_of(dump: dict[str, list[dict]], name: str) -> list[dict]:
    return [record for record in dump["user_list"] if record["list"] == name]


def longest(dump: dict[str, list[dict]], name: str) -> dict:
    return max((r for r in lists_of(dump, name) if r["available"]), key=lambda r: len(r["items"]))


def page_through(sim, tok: str, name: str, username: str, max_count: int) -> tuple[list, int]:
    """Every record of a list, following the cursor; returns (records, requests sent)."""
    fields = "id,create_time" if name in VIDEO_LISTS else None
    records, body, requests_sent = [], {"username": username, "max_count": max_count}, 0
    while True:
        reply = post(sim, tok, PATHS[name], body, fields)
        requests_sent += 1
        assert reply.status_code == 200, reply.text
        data = reply.json()["data"]
        records += data[LIST_KEYS[name]]
        if name == "pinned_videos" or not data["has_more"]:
            return records, requests_sent
        body = {**body, "cursor": data["cursor"]}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(PATHS))
@pytest.mark.parametrize("max_count", [100, 7])
def test_each_list_paged_to_its_end_equals_the_dump_in_the_fewest_pages(sim, dump, name, max_count):
    wanted = longest(dump, name)
    assert len(wanted["items"]) > (7 if name != "pinned_videos" else 0)
    tok = token(sim)
    records, sent = page_through(sim, tok, name, wanted["username"], max_count)
    if name in VIDEO_LISTS:
        assert [video["id"] for video in records] == wanted["items"]
        assert all(set(video) == {"id", "create_time"} for video in records)
    else:
        assert records == wanted["items"]
    pages = 1 if name == "pinned_videos" else max(1, -(-len(wanted["items"]) // max_count))
    assert sent == pages
    assert sim.app.stats()["requests"][PATHS[name]] == pages


def test_follow_lists_are_charged_to_their_own_pool(sim, dump):
    tok = token(sim)
    username = longest(dump, "followers")["username"]
    for name in ("followers", "following", "reposted_videos"):
        post(sim, tok, PATHS[name], {"username": username}, "id" if name == "reposted_videos" else None)
    stats = sim.app.stats()
    assert (stats["follow_quota_used"], stats["quota_used"]) == (2, 1)
    assert stats["follow_quota_limit"] == 20_000


def test_fields_are_validated_where_the_api_takes_them(sim, dump):
    tok = token(sim)
    username = longest(dump, "liked_videos")["username"]
    missing = post(sim, tok, PATHS["liked_videos"], {"username": username})
    assert missing.status_code == 400 and "fields is required" in missing.json()["error"]["message"]
    unknown = post(sim, tok, PATHS["reposted_videos"], {"username": username}, "id,playlist_id")
    assert unknown.status_code == 400 and "playlist_id" in unknown.json()["error"]["message"]
    assert post(sim, tok, PATHS["followers"], {"username": username}).status_code == 200
    too_many = post(sim, tok, PATHS["followers"], {"username": username, "max_count": 101})
    assert too_many.status_code == 400 and too_many.json()["error"]["code"] == "invalid_params"


def test_default_page_size_is_twenty(sim, dump):
    wanted = longest(dump, "followers")
    reply = post(sim, token(sim), PATHS["followers"], {"username": wanted["username"]})
    assert reply.json()["data"]["user_followers"] == wanted["items"][:20]


def test_refusals_carry_the_api_messages(sim, dump):
    tok = token(sim)
    unknown = post(sim, tok, PATHS["followers"], {"username": "nobody.here.at.all"})
    assert unknown.status_code == 400
    assert unknown.json()["error"]["message"].endswith("is invalid: cannot find the user")
    hidden = next(r for r in lists_of(dump, "liked_videos") if not r["available"])
    reply = post(sim, tok, PATHS["liked_videos"], {"username": hidden["username"]}, "id")
    assert reply.status_code == 400 and "information cannot be returned" in reply.json()["error"]["message"]
    private = next(r for r in lists_of(dump, "following") if not r["available"])
    reply = post(sim, tok, PATHS["following"], {"username": private["username"]})
    assert reply.status_code == 400 and reply.json()["error"]["message"].endswith("is private")
    assert sim.app.stats()["requests"][PATHS["following"]] == 1


def test_playlist_info_pages_its_video_ids(sim, dump):
    tok = token(sim)
    wanted = max(dump["playlist"], key=lambda p: p["playlist_item_total"])
    assert wanted["playlist_item_total"] > 2
    ids, body = [], {"playlist_id": wanted["playlist_id"], "max_count": 2}
    while True:
        data = post(sim, tok, PLAYLIST, body).json()["data"]
        assert data["playlist_name"] == wanted["playlist_name"]
        ids += data["playlist_video_ids"]
        if not data["has_more"]:
            break
        body["cursor"] = data["cursor"]
    assert ids == wanted["playlist_video_ids"]
    carried = {v["playlist_id"] for v in dump["video"] if "playlist_id" in v}
    assert carried == {p["playlist_id"] for p in dump["playlist"]}
    gone = post(sim, tok, PLAYLIST, {"playlist_id": 12345})
    assert gone.status_code == 400 and "cannot find the playlist" in gone.json()["error"]["message"]
