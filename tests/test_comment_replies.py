"""`fetch.comment_replies: true`: the replies of every stored top-level comment with replies, through the
API's `comment_id` listing, at one request per 100 replies (and none for comments without replies)."""

from __future__ import annotations

import subprocess

from test_comments_e2e import COMMENTS_PATH, command, dump_and_spec, requests_of, rows


def test_replies_of_every_commented_comment_at_the_minimum(crawlspec_exe, start_sim, sim_env, tmp_path,
                                                           sqlite_url):
    workdir = tmp_path
    (workdir / "specs").mkdir()
    sim = start_sim(videos=1500)
    corpus = dump_and_spec(sim, workdir)
    top_level = {c["id"]: c for cs in corpus.top_level_comments().values() for c in cs}
    replies: dict[int, list[int]] = {}
    for comment in corpus.comments:
        if comment["parent_comment_id"] in top_level:
            replies.setdefault(comment["parent_comment_id"], []).append(comment["id"])
    with_replies = [c for c in top_level.values() if c.get("reply_count", 0) > 0]
    assert with_replies, "the corpus should have replies under the matching videos"

    result = subprocess.run(command(crawlspec_exe, sim, sqlite_url, "spec.fetch.comment_replies=true"),
                            cwd=workdir, env=sim_env, capture_output=True, text=True, timeout=600)

    assert result.returncode == 0, result.stderr[-3000:]
    stored = {row[0]: row[1] for row in rows(sqlite_url, "SELECT id, parent_comment_id FROM comment")}
    assert set(stored) == set(top_level) | {r for rs in replies.values() for r in rs}
    assert all(stored[r] == parent for parent, rs in replies.items() for r in rs)
    reply_pages = sum(max(1, -(-len(replies.get(c["id"], [])) // 100)) for c in with_replies)
    assert requests_of(sim)[COMMENTS_PATH] == corpus.comment_pages() + reply_pages
