"""A stage switched on after the videos were crawled costs only that stage: the fetch flags are not part of
the fingerprint, so the covered days stay covered and the stage runs over the videos already stored."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import support.talk_crawl as talk

NO_STAGES = talk.SPEC.replace("fetch: {comments: true, user_info: true}", "fetch: {comments: false, user_info: false}")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "specs").mkdir()
    return tmp_path


def run(exe: str, sim, db_url: str, workdir: Path, env, spec: str) -> subprocess.CompletedProcess:
    (workdir / "specs" / "talk.yaml").write_text(spec)
    result = subprocess.run(talk.command(exe, sim, db_url), cwd=workdir, env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.mark.slow
def test_comments_then_creators_switched_on_later_fetch_no_video_again(crawlspec_exe, start_sim, sim_env,
                                                                       workdir, db_url):
    sim = start_sim(videos=3000, deleted_rate=0.05)
    corpus = talk.dump_and_spec(sim, workdir, NO_STAGES)
    no_stages = NO_STAGES % corpus.most_commented
    run(crawlspec_exe, sim, db_url, workdir, sim_env, no_stages)
    first = dict(talk.requests_of(sim))
    assert first[talk.VIDEO_PATH] == corpus.video_pages()
    assert talk.COMMENTS_PATH not in first and talk.USER_INFO_PATH not in first

    with_comments = no_stages.replace("comments: false", "comments: true")
    second = run(crawlspec_exe, sim, db_url, workdir, sim_env, with_comments)

    after_comments = talk.requests_of(sim)
    assert after_comments[talk.VIDEO_PATH] == first[talk.VIDEO_PATH], "covered days are not asked for again"
    assert after_comments[talk.COMMENTS_PATH] == corpus.comment_pages()
    stored = talk.rows(db_url, "SELECT id FROM comment")
    assert sorted(row[0] for row in stored) == sorted(c["id"] for cs in corpus.listings().values() for c in cs)
    assert "skipping_covered_days" in second.stderr

    run(crawlspec_exe, sim, db_url, workdir, sim_env, with_comments.replace("user_info: false", "user_info: true"))

    final = talk.requests_of(sim)
    assert final[talk.VIDEO_PATH] == first[talk.VIDEO_PATH]
    assert final[talk.COMMENTS_PATH] == after_comments[talk.COMMENTS_PATH], "finished comment listings stay finished"
    assert final[talk.USER_INFO_PATH] == len(corpus.creators())
