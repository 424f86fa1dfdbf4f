"""User-centred crawls end to end: the installed CLI in a subprocess, real HTTP to a seeded
simulator, SQLite and PostgreSQL. Each list stored equals the corpus dump, the requests per endpoint
equal the minimum (pages per list; one request for a list the API refuses), followers/following are
charged to their own pool in the ledger, and a re-run sends nothing."""

from __future__ import annotations

import subprocess

import pytest
from support.user_lists import (
    LISTS,
    PATHS,
    TABLES,
    UNKNOWN,
    USER_INFO_PATH,
    UserLists,
    command,
    rows,
    write_spec,
)

pytestmark = pytest.mark.slow  # every test here starts processes


def test_every_list_at_the_minimum_quota_then_nothing(crawlspec_exe, start_sim, sim_env, tmp_path, db_url):
    sim = start_sim()
    sim.dump_corpus(tmp_path / "corpus.jsonl")
    corpus = UserLists(tmp_path / "corpus.jsonl")
    users = corpus.pick()
    write_spec(tmp_path, users)

    first = subprocess.run(command(crawlspec_exe, sim, db_url), cwd=tmp_path, env=sim_env,
                           capture_output=True, text=True, timeout=600)

    assert first.returncode == 0, first.stderr[-3000:]
    spent = sim.stats()["requests"]
    for name in LISTS:   # the unknown user costs one refused request per list
        assert spent[PATHS[name]] == corpus.pages(users, name) + 1, name
        table, other = TABLES[name]
        stored = set(rows(db_url, f"SELECT username, {other} FROM {table}"))
        assert stored == corpus.expected_rows(users, name), name
    assert spent[USER_INFO_PATH] == len(users) + 1
    liked = {row[0] for row in rows(db_url, "SELECT video_id FROM user_liked_video")}
    stored_videos = dict(rows(db_url, "SELECT id, username FROM video"))
    assert all(stored_videos[v] == corpus.videos[v]["username"].replace("\x00", "") for v in liked)
    statuses = {(u, n): s for u, n, s in rows(db_url, "SELECT username, list, status FROM user_list_progress")}
    assert statuses == {(u.lower(), n): "done" if corpus.lists.get((u, n), {}).get("available") else "unavailable"
                        for u in users + [UNKNOWN] for n in LISTS}   # spec names are stored lowercased
    assert {row[0] for row in rows(db_url, "SELECT crawl_id FROM user_follower")} == {1}
    follow = corpus.pages(users, "followers") + corpus.pages(users, "following") + 2
    ledger = dict(rows(db_url, "SELECT pool, SUM(used) FROM quota_ledger GROUP BY pool"))
    assert ledger == {"follow": follow, "research": sum(spent.values()) - follow - spent["/v2/oauth/token/"]}
    assert (sim.stats()["follow_quota_used"], sim.stats()["quota_used"]) == (ledger["follow"], ledger["research"])

    second = subprocess.run(command(crawlspec_exe, sim, db_url), cwd=tmp_path, env=sim_env,
                            capture_output=True, text=True, timeout=600)

    assert second.returncode == 0, second.stderr[-3000:]
    assert {k: v for k, v in sim.stats()["requests"].items() if k != "/v2/oauth/token/"} == \
           {k: v for k, v in spent.items() if k != "/v2/oauth/token/"}


@pytest.mark.parametrize("limit", [150])
def test_max_per_list_stops_each_list_early(crawlspec_exe, start_sim, sim_env, tmp_path, sqlite_url, limit):
    sim = start_sim()
    sim.dump_corpus(tmp_path / "corpus.jsonl")
    corpus = UserLists(tmp_path / "corpus.jsonl")
    users = [max((u for u, n in corpus.lists if n == "liked_videos"),
                 key=lambda u: len(corpus.lists[(u, "liked_videos")]["items"]))]
    wanted = corpus.lists[(users[0], "liked_videos")]["items"]
    assert len(wanted) > limit
    write_spec(tmp_path, users, pinned_videos=False, reposted_videos=False, followers=False, following=False,
               max_per_list=limit)

    done = subprocess.run(command(crawlspec_exe, sim, sqlite_url), cwd=tmp_path, env=sim_env,
                          capture_output=True, text=True, timeout=600)

    assert done.returncode == 0, done.stderr[-3000:]
    assert sim.stats()["requests"][PATHS["liked_videos"]] == 2 + 1   # 100 + 50, and the unknown user
    stored = [row[0] for row in rows(sqlite_url, f"SELECT video_id FROM user_liked_video WHERE username = '{users[0].lower()}'")]
    assert sorted(stored, reverse=True) == wanted[:limit]
