"""The corpus (determinism, realistic shape) and the `crawlspec sim` command."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
import requests

from crawlspec.sim import SimOptions
from crawlspec.sim.corpus import generate_corpus
from crawlspec.sim.dump import dump_corpus

SMALL = {"seed": 5, "videos": 800, "start": date(2024, 3, 1), "days": 31, "deleted_rate": 0.1}


def dump_bytes(tmp_path: Path, name: str, **options) -> bytes:
    path = tmp_path / name
    dump_corpus(generate_corpus(SimOptions(**{**SMALL, **options})), path)
    return path.read_bytes()


@pytest.mark.slow
def test_same_options_same_bytes_other_seed_differs(tmp_path):
    first = dump_bytes(tmp_path, "a.jsonl")
    assert first == dump_bytes(tmp_path, "b.jsonl")
    assert first != dump_bytes(tmp_path, "c.jsonl", seed=6)


@pytest.mark.slow
def test_dump_is_identical_under_another_hash_seed(tmp_path):
    """String hashing is randomised per process: generation must not depend on set order."""
    script = ("import sys; from datetime import date; from crawlspec.sim import SimOptions;"
              "from crawlspec.sim.corpus import generate_corpus; from crawlspec.sim.dump import dump_corpus;"
              "dump_corpus(generate_corpus(SimOptions(seed=5, videos=800, start=date(2024,3,1), days=31,"
              " deleted_rate=0.1)), sys.argv[1])")
    for hash_seed in ("1", "2"):
        out = tmp_path / f"hash{hash_seed}.jsonl"
        subprocess.run([sys.executable, "-c", script, str(out)], check=True,
                       env={**os.environ, "PYTHONHASHSEED": hash_seed})
        assert out.read_bytes() == dump_bytes(tmp_path, "here.jsonl")


def test_deleted_rate_changes_only_the_deleted_flags():
    plain, deleted = generate_corpus(SimOptions(**{**SMALL, "deleted_rate": 0})), generate_corpus(SimOptions(**SMALL))
    assert list(plain.ids) == list(deleted.ids) and plain.descriptions == deleted.descriptions
    assert not any(plain.deleted) and 40 < sum(deleted.deleted) < 130


@pytest.fixture(scope="module")
def dump(tmp_path_factory) -> dict[str, list[dict]]:
    """A 3,000-video corpus dumped and read back (seconds to build: the tests using it are slow)."""
    path = tmp_path_factory.mktemp("shape") / "corpus.jsonl"
    dump_corpus(generate_corpus(SimOptions(seed=9, videos=3000, deleted_rate=0.05)), path)
    kinds: dict[str, list[dict]] = {"video": [], "user": [], "comment": []}
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        kinds.setdefault(record["kind"], []).append(record)   # also user_list, playlist
    return kinds


@pytest.mark.slow
def test_video_shape(dump):
    videos = [r["data"] for r in dump["video"]]
    ids = [v["id"] for v in videos]
    assert len(set(ids)) == 3000 and all(2**53 < i < 2**63 for i in ids)
    low = datetime(2024, 3, 1, tzinfo=timezone.utc).timestamp()
    assert all(low <= v["create_time"] < low + 31 * 86400 for v in videos)
    assert all(value is not None for v in videos for value in v.values()), "absent keys are omitted, not null"
    assert any("like_count" not in v for v in videos) and any("effect_ids" not in v for v in videos)
    assert any("playlist_id" in v for v in videos) and any("voice_to_text" in v for v in videos)
    assert all(isinstance(e, str) and e.isdigit() for v in videos for e in v.get("effect_ids", []))
    durations = [v["video_duration"] for v in videos]
    assert min(durations) < 15 <= max(d for d in durations if d < 60) and max(durations) >= 300
    assert any(14 < d < 60 for d in durations) and any(60 <= d < 300 for d in durations)
    text = " ".join(v["video_description"] for v in videos) + " ".join(v["username"] for v in videos)
    assert "\x00" in text and any(ord(ch) > 0x2FF for ch in text)
    tags = [t for v in videos for t in v.get("hashtag_names", [])]
    assert any(t != t.lower() for t in tags) and {"shoes", "sneakers", "cats", "food"} <= set(tags)


@pytest.mark.slow
def test_skewed_regions_and_creators(dump):
    videos = [r["data"] for r in dump["video"]]
    regions = Counter(v["region_code"] for v in videos)
    creators = Counter(v["username"] for v in videos)
    assert regions.most_common(1)[0][1] > 5 * len(videos) / len(regions)
    assert creators.most_common(1)[0][1] > 20 * len(videos) / len(creators)


@pytest.mark.slow
def test_comments_and_users_shape(dump):
    videos = {r["data"]["id"]: r for r in dump["video"]}
    comments = [r["data"] for r in dump["comment"]]
    top = Counter(c["video_id"] for c in comments if c["parent_comment_id"] == c["video_id"])
    listed = Counter(c["video_id"] for c in comments)   # listed items, plus replies the cap cut
    assert max(top.values()) < 1000 <= max(listed.values()), \
        "the video_id listing reaches 1,000 items, comments and replies together"
    assert any(videos[v]["data"]["comment_count"] > 1000 for v in top)
    assert any(r["data"]["comment_count"] == 0 for r in dump["video"])
    replies = [c for c in comments if c["parent_comment_id"] != c["video_id"]]
    by_id = {c["id"]: c for c in comments}
    assert replies and all(by_id[r["parent_comment_id"]]["reply_count"] > 0 for r in replies)
    assert all(c["id"] > 2**53 for c in comments)
    names = {r["username"] for r in dump["user"]}
    creators = {v["data"]["username"].replace("\x00", "") for v in dump["video"]}
    assert creators - names, "some creators have no user info"
    assert all("username" not in r["data"] for r in dump["user"])


def test_default_corpus_serves_the_readme_demo():
    corpus = generate_corpus(SimOptions())
    lo, hi = corpus.window(1709251200, 1709251200 + 14 * 86400)
    hits = {i for tag in ("shoes", "sneakers") for i in corpus.index["hashtag_name"][tag] if lo <= i < hi}
    assert 200 <= len(hits) <= 600


# --- the command -----------------------------------------------------------------------------------------

@pytest.mark.slow
def test_cli_dumps_then_announces_then_serves_until_sigterm(crawlspec_exe, tmp_path):
    dump_path = tmp_path / "cli.jsonl"
    proc = subprocess.Popen([crawlspec_exe, "sim", "--videos", "300", "--seed", "2", "--client-key", "cli-key",
                             "--dump-corpus", str(dump_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("listening on http://127.0.0.1:") and not line.endswith(":0")
        lines = dump_path.read_text(encoding="utf-8").splitlines()
        assert sum(json.loads(x)["kind"] == "video" for x in lines) == 300
        url = line.removeprefix("listening on ")
        reply = requests.post(url + "/v2/oauth/token/", data={"client_key": "cli-key", "client_secret": "sim-secret",
                                                              "grant_type": "client_credentials"})
        assert reply.json()["access_token"].startswith("clt.")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert "cli-key" in proc.stderr.read()
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.slow
@pytest.mark.parametrize("args", [["--fail-rate", "1.5"], ["--days", "0"], ["--start", "March"],
                                  ["--videos", "-1"], ["--bogus"], ["--port", "70000"]])
def test_cli_bad_options_exit_2(crawlspec_exe, args):
    result = subprocess.run([crawlspec_exe, "sim", *args], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "error" in result.stderr and result.stdout == ""
