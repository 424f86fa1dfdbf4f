"""Hydra sweeps through the installed CLI: the sweep spec, its jobs, a plain reading of what each job
matches in the corpus, and the rows a sweep leaves in the database."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa

from support.corpus import read_corpus_dump

SPEC = """\
name: sweep
query:
  include_any_hashtags: [shoes, sneakers, fashion]
window: {start: "2024-03-01", end: "2024-03-14", days_per_query: 7}
tags: [sweep-test]
"""
WANTED = {"shoes", "sneakers", "fashion"}
PAGE = 10  # videos per API page: small, so every job pages through several cursors
REGIONS = "spec.query.regions=[US],[GB]"
WINDOWS = 'spec.window={start:"2024-03-01",end:"2024-03-07"},{start:"2024-03-08",end:"2024-03-14"}'
JOBS = [(("US",), "2024-03-01", "2024-03-07"), (("US",), "2024-03-08", "2024-03-14"),
        (("GB",), "2024-03-01", "2024-03-07"), (("GB",), "2024-03-08", "2024-03-14")]


def sweep_workdir(tmp_path: Path) -> Path:
    """A working directory holding the sweep spec as specs/sweep.yaml."""
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "sweep.yaml").write_text(SPEC)
    return tmp_path


def matching(dump: Path, regions: tuple[str, ...] | None, first: str, last: str, *,
             live_only: bool = True) -> set[int]:
    """A plain reading of the corpus: videos of these regions (None: any) in [first, last] with a wanted
    hashtag; deleted ones only when `live_only` is off (the API's cursor counts them)."""
    ids = set()
    for video in read_corpus_dump(dump)["video"]:
        day = datetime.fromtimestamp(video["create_time"], timezone.utc).strftime("%Y-%m-%d")
        tags = {t.lower() for t in video.get("hashtag_names", [])}
        if (first <= day <= last and tags & WANTED and not (live_only and video["_deleted"])
                and (regions is None or video.get("region_code") in regions)):
            ids.add(video["id"])
    return ids


def sweep(exe: str, cwd: Path, env: dict, sim, db_url: str, *overrides: str) -> subprocess.CompletedProcess:
    argv = [exe, "run", "-m", "+spec=sweep", f"api.base_url={sim.url}", "api.credentials_file=null",
            f"db.url={db_url}", "api.retry.base_wait_s=0", "api.retry.search_id_wait_s=0", "log.format=json",
            f"spec.limits.max_count={PAGE}", *overrides]
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def events(stderr: str, name: str) -> list[dict]:
    parsed = [json.loads(line) for line in stderr.splitlines()]
    return [event for event in parsed if event["event"] == name]


def crawl_rows(db_url: str) -> list[dict]:
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        rows = [dict(row._mapping) for row in conn.execute(sa.text(
            "SELECT id, fingerprint, overrides, start_date, end_date, outcome, exit_code, requests, videos "
            "FROM crawl ORDER BY id"))]
        for row in rows:
            row["tags"] = {name for (name,) in conn.execute(sa.text(
                "SELECT t.name FROM crawl_tag t JOIN crawls_to_crawl_tags c ON c.crawl_tag_id = t.id "
                "WHERE c.crawl_id = :id"), {"id": row["id"]})}
            if isinstance(row["overrides"], str):
                row["overrides"] = json.loads(row["overrides"])
    engine.dispose()
    return rows


def stored_ids(db_url: str) -> list[int]:
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        ids = [row[0] for row in conn.execute(sa.text("SELECT id FROM video"))]
    engine.dispose()
    return ids


def ledger_total(db_url: str) -> int:
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        total = conn.execute(sa.text("SELECT coalesce(sum(used), 0) FROM quota_ledger "
                                     "WHERE pool = 'research'")).scalar_one()
    engine.dispose()
    return int(total)
