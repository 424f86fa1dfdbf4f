"""`fetch.playlists: true` end to end: the CLI in a subprocess against a seeded simulator (SQLite and
PostgreSQL). One request per distinct playlist id of the crawled videos (their playlists are short),
rows equal to the corpus dump, and a re-run asks for none of them again."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import read_corpus_dump

pytestmark = pytest.mark.slow  # every test here starts processes

PLAYLIST_PATH = "/v2/research/playlist/info/"
WANTED = {"shoes", "sneakers", "fashion", "food"}
SPEC = """\
name: lists
query: {include_any_hashtags: [shoes, sneakers, fashion, food]}
window: {start: "2024-03-01", end: "2024-03-31", days_per_query: 16}
fetch: {playlists: true}
"""


def expected_playlists(dump: Path) -> dict[int, dict]:
    records = read_corpus_dump(dump)
    ids = set()
    for video in records["video"]:
        day = datetime.fromtimestamp(video["create_time"], timezone.utc).strftime("%Y-%m-%d")
        tags = {t.lower() for t in video.get("hashtag_names", [])}
        if not video["_deleted"] and tags & WANTED and "2024-03-01" <= day <= "2024-03-31" and "playlist_id" in video:
            ids.add(video["playlist_id"])
    return {p["playlist_id"]: p for p in records["playlist"] if p["playlist_id"] in ids}


def command(exe: str, sim, db_url: str) -> list[str]:
    return [exe, "run", "+spec=lists", f"api.base_url={sim.url}", "api.credentials_file=null", f"db.url={db_url}",
            "api.retry.base_wait_s=0", "api.retry.search_id_wait_s=0", "log.format=json"]


def stored(db_url: str) -> dict[int, tuple]:
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        result = conn.execute(sa.text("SELECT id, playlist_name, playlist_item_total, playlist_video_ids, complete "
                                      "FROM playlist")).all()
    engine.dispose()
    return {row[0]: (row[1], row[2], json.loads(row[3]) if isinstance(row[3], str) else row[3], bool(row[4]))
            for row in result}


def test_each_playlist_once_then_never_again(crawlspec_exe, start_sim, sim_env, tmp_path, db_url):
    sim = start_sim()
    sim.dump_corpus(tmp_path / "corpus.jsonl")
    wanted = expected_playlists(tmp_path / "corpus.jsonl")
    assert len(wanted) > 3 and all(p["playlist_item_total"] <= 100 for p in wanted.values())
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "lists.yaml").write_text(SPEC, encoding="utf-8")

    first = subprocess.run(command(crawlspec_exe, sim, db_url), cwd=tmp_path, env=sim_env,
                           capture_output=True, text=True, timeout=600)

    assert first.returncode == 0, first.stderr[-3000:]
    assert sim.stats()["requests"][PLAYLIST_PATH] == len(wanted)
    assert stored(db_url) == {pid: (p["playlist_name"], p["playlist_item_total"], p["playlist_video_ids"], True)
                              for pid, p in wanted.items()}
    assert "playlists:" in first.stderr

    second = subprocess.run(command(crawlspec_exe, sim, db_url), cwd=tmp_path, env=sim_env,
                            capture_output=True, text=True, timeout=600)

    assert second.returncode == 0, second.stderr[-3000:]
    assert sim.stats()["requests"][PLAYLIST_PATH] == len(wanted)
