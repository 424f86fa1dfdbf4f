"""Replies: the `video_id` listing already contains them (each after its comment, the 1,000-item cap
covering both), and `fetch.comments` stores them under their parent. `fetch.comment_replies: true` asks
the `comment_id` listing only for comments whose replies the listing did not deliver in full."""

from __future__ import annotations

import json
import subprocess

import pytest
from support.talk_crawl import COMMENTS_PATH, command, dump_and_spec, requests_of, rows

pytestmark = pytest.mark.slow  # every test here starts processes


@pytest.mark.parametrize("replies_flag", [False, True])
def test_replies_come_with_the_listing_and_only_the_cut_ones_are_asked_for(
        crawlspec_exe, start_sim, sim_env, tmp_path, sqlite_url, replies_flag):
    workdir = tmp_path
    (workdir / "specs").mkdir()
    sim = start_sim(videos=1500, seed=10)   # a seed whose cut comment has a reply inside the listing too
    corpus = dump_and_spec(sim, workdir)
    listed = {c["id"]: c for cs in corpus.listings().values() for c in cs}
    tops = {i: c for i, c in listed.items() if c["parent_comment_id"] == c["video_id"]}
    replies: dict[int, list[int]] = {}
    for comment in corpus.comments:
        if comment["parent_comment_id"] in tops:
            replies.setdefault(comment["parent_comment_id"], []).append(comment["id"])
    assert any(c["parent_comment_id"] in tops for c in listed.values()), "the listing should carry replies"
    cut = [top for top, ids in replies.items() if not set(ids) <= set(listed)]
    assert cut, "the 1,000-item cap should cut some comment's replies"
    assert any(set(replies[top]) & set(listed) for top in cut), "a cut comment's replies listing repeats one"

    extra = ["spec.fetch.comment_replies=true"] if replies_flag else []
    result = subprocess.run(command(crawlspec_exe, sim, sqlite_url, *extra),
                            cwd=workdir, env=sim_env, capture_output=True, text=True, timeout=600)

    assert result.returncode == 0, result.stderr[-3000:]
    stored = {row[0]: row[1] for row in rows(sqlite_url, "SELECT id, parent_comment_id FROM comment")}
    expected = set(listed) | ({r for top in cut for r in replies[top]} if replies_flag else set())
    assert set(stored) == expected
    assert all(stored[r] == parent for parent, rs in replies.items() for r in rs if r in stored)
    summaries = [json.loads(line) for line in result.stderr.splitlines() if '"stage_summary"' in line]
    assert [s["records"] for s in summaries if s["stage"] == "comments"] == [len(stored)], \
        "stored comments are counted once, the replies a replies listing repeats included"
    reply_pages = sum(max(1, -(-len(replies[top]) // 100)) for top in cut) if replies_flag else 0
    assert requests_of(sim)[COMMENTS_PATH] == corpus.comment_pages() + reply_pages
