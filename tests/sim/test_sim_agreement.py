"""Agreement with the corpus: paging random queries to the end returns exactly what a deliberately
simple evaluator, written here from the documented query semantics and reading the dump file, says should match."""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta, timezone

import pytest
import requests

from crawlspec.sim import SimOptions, start_simulator

KEY, SECRET = "agree-key", "agree-secret"
VIDEO = "/v2/research/video/query/"
TRANSIENT_400 = ("is invalid or expired", "Invalid count or cursor")
START = date(2024, 3, 1)


# --- the simple evaluator ----------------------------------------------------------------------------

def utc_day(create_time: int) -> str:
    return datetime.fromtimestamp(create_time, tz=timezone.utc).strftime("%Y%m%d")


def length_class(seconds: int) -> str:
    if seconds < 15:
        return "SHORT"
    if seconds < 60:
        return "MID"
    return "LONG" if seconds < 300 else "EXTRA_LONG"


def condition_holds(video: dict, cond: dict) -> bool:
    name, op, values = cond["field_name"], cond["operation"], cond["field_values"]
    lowered = [v.lower() for v in values]
    if name == "hashtag_name":
        return any(tag.lower() in lowered for tag in video.get("hashtag_names", []))
    if name == "username":
        return video["username"].replace("\x00", "").lower() in lowered
    if name == "keyword":
        return any(v in video["video_description"].lower() for v in lowered)
    if name == "region_code":
        return video["region_code"] in values
    if name == "video_id":
        return str(video["id"]) in values
    if name == "music_id":
        return str(video["music_id"]) in values
    if name == "effect_id":
        return any(effect in values for effect in video.get("effect_ids", []))
    if name == "video_length":
        return length_class(video["video_duration"]) in values
    day = utc_day(video["create_time"])
    compare = {"EQ": day == values[0], "IN": day in values, "GT": day > values[0], "GTE": day >= values[0],
               "LT": day < values[0], "LTE": day <= values[0]}
    return compare[op]


def expected_ids(videos: list[dict], body: dict) -> set[int]:
    query = body["query"]
    found = set()
    for video in videos:
        if video["_deleted"] or not body["start_date"] <= utc_day(video["create_time"]) <= body["end_date"]:
            continue
        if not all(condition_holds(video, c) for c in query.get("and", [])):
            continue
        if query.get("or") and not any(condition_holds(video, c) for c in query["or"]):
            continue
        if any(condition_holds(video, c) for c in query.get("not", [])):
            continue
        found.add(video["id"])
    return found


def read_videos(path) -> list[dict]:
    videos = []
    with open(path, encoding="utf-8") as dump:
        for line in dump:
            record = json.loads(line)
            if record["kind"] == "video":
                videos.append({**record["data"], "_deleted": record["deleted"]})
    return videos


# --- a random query generator drawing values from the dump --------------------------------------------

def random_case(rng: random.Random, text: str) -> str:
    return rng.choice((text, text.upper(), text.lower(), text.capitalize()))


def random_condition(rng: random.Random, videos: list[dict]) -> dict:
    video = rng.choice(videos)
    name = rng.choice(("hashtag_name", "hashtag_name", "keyword", "keyword", "username", "region_code",
                       "video_id", "music_id", "effect_id", "video_length", "create_date"))
    if name == "hashtag_name":
        pool = [random_case(rng, t) for v in rng.sample(videos, 3) for t in v.get("hashtag_names", [])] or ["fyp"]
    elif name == "keyword":
        words = [w for v in rng.sample(videos, 3) for w in v["video_description"].split() if w] or ["shoes"]
        pool = [random_case(rng, w[: rng.randint(2, 8)]) for w in words]
    elif name == "username":
        pool = [random_case(rng, v["username"].replace("\x00", "")) for v in rng.sample(videos, 4)]
    elif name == "region_code":
        pool = [v["region_code"] for v in rng.sample(videos, 4)] + ["FR", "AQ"]
    elif name == "video_id":
        pool = [str(v["id"]) for v in rng.sample(videos, 6)]
    elif name == "music_id":
        pool = [str(v["music_id"]) for v in rng.sample(videos, 4)]
    elif name == "effect_id":
        pool = [e for v in rng.sample(videos, 6) for e in v.get("effect_ids", [])] or ["0"]
    elif name == "video_length":
        pool = ["SHORT", "MID", "LONG", "EXTRA_LONG"]
    else:
        pool = [utc_day(video["create_time"]), (START + timedelta(days=rng.randint(0, 20))).strftime("%Y%m%d")]
        op = rng.choice(("EQ", "IN", "GT", "GTE", "LT", "LTE"))
        values = rng.sample(pool, rng.randint(1, 2)) if op == "IN" else [rng.choice(pool)]
        return {"operation": op, "field_name": name, "field_values": values}
    op = rng.choice(("EQ", "IN"))
    values = sorted(set(rng.sample(pool, min(len(pool), rng.randint(1, 3))))) if op == "IN" else [rng.choice(pool)]
    return {"operation": op, "field_name": name, "field_values": values}


def random_body(rng: random.Random, videos: list[dict]) -> dict:
    query: dict = {}
    while not query:
        for part, most in (("and", 2), ("or", 3), ("not", 2)):
            count = rng.randint(0, most)
            if count:
                query[part] = [random_condition(rng, videos) for _ in range(count)]
    first = START + timedelta(days=rng.randint(0, 16))
    last = first + timedelta(days=rng.randint(0, 14))
    return {"query": query, "start_date": first.strftime("%Y%m%d"), "end_date": last.strftime("%Y%m%d"),
            "max_count": rng.choice((1, 7, 50, 100, 100))}


# --- a client that pages to the end, retrying like a client would ----------------------------------------

class Pager:
    def __init__(self, url: str) -> None:
        self.url, self.session = url, requests.Session()
        reply = self.session.post(url + "/v2/oauth/token/", data={
            "client_key": KEY, "client_secret": SECRET, "grant_type": "client_credentials"})
        self.headers = {"Authorization": f"Bearer {reply.json()['access_token']}"}
        self.retries = 0

    def page(self, body: dict) -> dict:
        for _ in range(60):
            reply = self.session.post(self.url + VIDEO + "?fields=id,create_time", json=body, headers=self.headers)
            try:
                payload = reply.json()
            except ValueError:
                payload = {}
            if reply.status_code == 200:
                return payload["data"]
            message = payload.get("error", {}).get("message", "")
            assert reply.status_code >= 500 or any(t in message for t in TRANSIENT_400), (reply.status_code, message)
            self.retries += 1
        raise AssertionError("too many retries")

    def all_ids(self, body: dict) -> list[int]:
        data = self.page(body)
        ids = [v["id"] for v in data["videos"]]
        while data["has_more"]:
            data = self.page({**body, "cursor": data["cursor"], "search_id": data["search_id"]})
            ids += [v["id"] for v in data["videos"]]
        return ids


@pytest.fixture(scope="module", params=[
    {},
    {"deleted_rate": 0.2, "fail_rate": 0.15, "invalid_search_id_rate": 0.3},
], ids=["clean", "deleted+faults"])
def world(request, tmp_path_factory):
    opts = SimOptions(seed=11, videos=1200, start=START, days=31, daily_quota=1_000_000,
                      client_key=KEY, client_secret=SECRET, **request.param)
    with start_simulator(opts, port=0) as sim:
        path = tmp_path_factory.mktemp("dump") / "corpus.jsonl"
        sim.dump_corpus(path)
        yield sim, read_videos(path)


@pytest.mark.slow
@pytest.mark.parametrize("batch", range(4))
def test_random_queries_agree_with_the_simple_evaluator(world, batch):
    sim, videos = world
    rng = random.Random(1000 + batch)
    pager = Pager(sim.url)
    nonempty = 0
    for _ in range(25):
        body = random_body(rng, videos)
        got = pager.all_ids(body)
        assert len(got) == len(set(got)), "duplicates across pages"
        assert got == sorted(got, reverse=True), "decreasing id order"
        assert set(got) == expected_ids(videos, body), json.dumps(body)
        nonempty += bool(got)
    assert nonempty >= 5, "the generator should produce matching queries too"
    if sim.options.fail_rate:
        assert pager.retries > 0, "faults were injected and retried"


def test_demo_fortnight_query(world):
    sim, videos = world
    body = {"query": {"and": [{"operation": "IN", "field_name": "hashtag_name",
                               "field_values": ["shoes", "sneakers"]}]},
            "start_date": "20240301", "end_date": "20240314", "max_count": 100}
    got = Pager(sim.url).all_ids(body)
    assert set(got) == expected_ids(videos, body) and len(got) > 10
