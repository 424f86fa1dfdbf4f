"""User crawls against what the real API does: a project approved for the Research API but not for
followers/following (401 `scope_not_authorized`), and liked lists hidden with HTTP 403. The installed
CLI in a subprocess, real HTTP to a seeded simulator, SQLite and PostgreSQL."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from support.user_lists import PATHS, UserLists, command, rows, write_spec

FOLLOW = (PATHS["followers"], PATHS["following"])


def run(exe: str, sim, db_url: str, workdir: Path, env: dict, today: str) -> subprocess.CompletedProcess:
    return subprocess.run(command(exe, sim, db_url), cwd=workdir, env={**env, "CRAWLSPEC_TODAY": today},
                          capture_output=True, text=True, timeout=600)


def spent(sim) -> dict[str, int]:
    return {k: v for k, v in sim.stats()["requests"].items() if k != "/v2/oauth/token/"}


@pytest.mark.slow
def test_unauthorized_follow_endpoints_do_not_stop_the_rest(crawlspec_exe, start_sim, sim_env, tmp_path, db_url):
    sim = start_sim(unauthorized_endpoints=("followers", "following"))
    sim.dump_corpus(tmp_path / "corpus.jsonl")
    corpus = UserLists(tmp_path / "corpus.jsonl")
    users = corpus.pick()
    write_spec(tmp_path, users)

    first = run(crawlspec_exe, sim, db_url, tmp_path, sim_env, "2024-04-10")

    assert first.returncode == 77, first.stderr[-3000:]
    assert all(f"\"endpoint\": \"{path}\"" in first.stderr for path in FOLLOW), first.stderr[-3000:]
    after_first = spent(sim)
    assert [after_first[path] for path in FOLLOW] == [1, 1], "one request per endpoint, not one per list"
    for name in ("liked_videos", "pinned_videos", "reposted_videos"):
        assert after_first[PATHS[name]] == corpus.pages(users, name) + 1, name   # + the unknown user
    statuses = {(u, n): s for u, n, s in rows(db_url, "SELECT username, list, status FROM user_list_progress")}
    assert {n for _, n in statuses} == {"liked_videos", "pinned_videos", "reposted_videos"}
    assert set(statuses.values()) <= {"done", "unavailable"}
    assert rows(db_url, "SELECT count(*) FROM user_info") != [(0,)]
    assert sorted(r[0] for r in rows(db_url, "SELECT endpoint FROM endpoint_access")) == sorted(FOLLOW)
    report = json.loads(subprocess.run([crawlspec_exe, "status", "--db", db_url, "--json"], cwd=tmp_path,
                                       env=sim_env, capture_output=True, text=True, check=True).stdout)
    assert sorted(e["endpoint"] for e in report["endpoints_not_authorized"]) == sorted(FOLLOW)

    again = run(crawlspec_exe, sim, db_url, tmp_path, sim_env, "2024-04-10")

    assert again.returncode == 77, again.stderr[-3000:]
    assert spent(sim) == after_first, "the same UTC day: nothing asked again"

    next_day = run(crawlspec_exe, sim, db_url, tmp_path, sim_env, "2024-04-11")

    assert next_day.returncode == 77, next_day.stderr[-3000:]
    assert {p: spent(sim)[p] - after_first[p] for p in FOLLOW} == {FOLLOW[0]: 1, FOLLOW[1]: 1}
    for name in ("liked_videos", "pinned_videos", "reposted_videos"):   # only unavailable lists are asked again
        unavailable = sum(1 for (_, n), s in statuses.items() if n == name and s == "unavailable")
        assert spent(sim)[PATHS[name]] - after_first[PATHS[name]] == unavailable, name


@pytest.mark.slow
def test_liked_lists_hidden_with_403_are_unavailable_not_failed(crawlspec_exe, start_sim, sim_env, tmp_path,
                                                                db_url):
    sim = start_sim(hidden_likes_status=403)
    sim.dump_corpus(tmp_path / "corpus.jsonl")
    corpus = UserLists(tmp_path / "corpus.jsonl")
    users = corpus.pick()
    hidden = [u for u in users if not corpus.lists[(u, "liked_videos")]["available"]]
    assert hidden and "has not enabled" in corpus.lists[(hidden[0], "liked_videos")]["message"]
    write_spec(tmp_path, users, pinned_videos=False, reposted_videos=False, followers=False, following=False)

    first = run(crawlspec_exe, sim, db_url, tmp_path, sim_env, "2024-04-10")

    assert first.returncode == 0, first.stderr[-3000:]
    assert spent(sim)[PATHS["liked_videos"]] == corpus.pages(users, "liked_videos") + 1
    stored = {u: (s, m) for u, s, m in rows(db_url, "SELECT username, status, message FROM user_list_progress")}
    for user in hidden:
        status, message = stored[user.lower()]
        assert status == "unavailable" and "has not enabled" in message
    before = spent(sim)

    second = run(crawlspec_exe, sim, db_url, tmp_path, sim_env, "2024-04-10")

    assert second.returncode == 0, second.stderr[-3000:]
    assert spent(sim) == before, "a hidden list is not asked again the same day"


@pytest.mark.slow
def test_video_spec_stage_not_authorized_lets_the_later_stages_complete(crawlspec_exe, start_sim, sim_env,
                                                                         tmp_path, db_url):
    from support.talk_crawl import COMMENTS_PATH, USER_INFO_PATH, dump_and_spec
    from support.talk_crawl import command as video_command

    (tmp_path / "specs").mkdir()
    sim = start_sim(videos=1500, unauthorized_endpoints="comments")
    corpus = dump_and_spec(sim, tmp_path)
    env = {**sim_env, "CRAWLSPEC_TODAY": "2024-04-10"}

    first = subprocess.run(video_command(crawlspec_exe, sim, db_url), cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=600)

    assert first.returncode == 77, first.stderr[-3000:]
    assert COMMENTS_PATH in first.stderr
    assert sim.stats()["requests"][COMMENTS_PATH] == 1
    assert sim.stats()["requests"][USER_INFO_PATH] == len(corpus.creators()), "the next stage completed"
    assert rows(db_url, "SELECT endpoint FROM endpoint_access") == [(COMMENTS_PATH,)]
    before = spent(sim)

    again = subprocess.run(video_command(crawlspec_exe, sim, db_url), cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=600)

    assert again.returncode == 77, again.stderr[-3000:]
    assert spent(sim) == before
