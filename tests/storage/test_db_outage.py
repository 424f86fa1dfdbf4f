"""PostgreSQL stopped in the middle of a crawl (the CI's real server, via CRAWLSPEC_TEST_PG_STOP /
CRAWLSPEC_TEST_PG_START): the run exits 75 with a clear message and no traceback; once the server is
back, the same command completes with exactly the corpus's matching videos, none twice."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import read_corpus_dump

from crawlspec.api.fields import VIDEO_QUERY_PATH

pytestmark = pytest.mark.slow  # every test here starts processes

SPEC = """\
name: outage
query:
  include_any_hashtags: [shoes, sneakers]
window: {start: "2024-03-01", end: "2024-03-14", days_per_query: 7}
limits: {max_count: 10}
"""
WANTED = {"shoes", "sneakers"}


def server_control() -> tuple[str, str]:
    stop, start = os.environ.get("CRAWLSPEC_TEST_PG_STOP"), os.environ.get("CRAWLSPEC_TEST_PG_START")
    if stop and start:
        return stop, start
    if os.environ.get("CI"):
        pytest.fail("CI is set but CRAWLSPEC_TEST_PG_STOP / CRAWLSPEC_TEST_PG_START are missing (.ci/run sets them)")
    pytest.skip("no control over the PostgreSQL server (set CRAWLSPEC_TEST_PG_STOP and CRAWLSPEC_TEST_PG_START)")


@pytest.fixture
def outage_db() -> Iterator[str]:
    """A fresh database on the test server. Not the shared `pg_url` fixture: its admin engine keeps a
    pooled connection that the outage kills; here every admin step uses a new engine."""
    server_url = os.environ.get("CRAWLSPEC_TEST_PG_URL")
    if not server_url:
        if os.environ.get("CI"):
            pytest.fail("CI is set but CRAWLSPEC_TEST_PG_URL is missing: PostgreSQL is required in CI")
        pytest.skip("no PostgreSQL server (set CRAWLSPEC_TEST_PG_URL)")
    base = sa.engine.make_url(server_url).set(drivername="postgresql+psycopg2")
    name = f"outage_{uuid.uuid4().hex[:12]}"

    def admin(statement: str) -> None:
        engine = sa.create_engine(base, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as conn:
                conn.execute(sa.text(statement))
        finally:
            engine.dispose()

    admin(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def shell(snippet: str) -> None:
    subprocess.run(["bash", "-c", snippet], check=True, timeout=120, capture_output=True)


def expected_ids(dump: Path) -> set[int]:
    ids = set()
    for video in read_corpus_dump(dump)["video"]:
        day = datetime.fromtimestamp(video["create_time"], timezone.utc).strftime("%Y-%m-%d")
        if not video["_deleted"] and "2024-03-01" <= day <= "2024-03-14" \
                and WANTED & {t.lower() for t in video.get("hashtag_names", [])}:
            ids.add(video["id"])
    return ids


def wait_for_pages(sim, proc: subprocess.Popen, pages: int, limit_s: float = 60) -> None:
    deadline = time.monotonic() + limit_s
    while sim.stats()["requests"].get(VIDEO_QUERY_PATH, 0) < pages:
        assert proc.poll() is None, "the crawl ended before the outage"
        assert time.monotonic() < deadline, "the crawl sent no pages"
        time.sleep(0.02)


def test_postgres_stopped_mid_crawl_exits_75_then_the_next_run_completes_exactly(crawlspec_exe, start_sim, sim_env,
                                                                                   tmp_path, outage_db):
    stop_server, start_server = server_control()
    pg_url = outage_db
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "outage.yaml").write_text(SPEC)
    sim = start_sim(latency_ms=40)
    dump = tmp_path / "corpus.jsonl"
    sim.dump_corpus(dump)
    want = expected_ids(dump)
    assert len(want) > 60, "the query must need many pages"
    command = [crawlspec_exe, "run", "+spec=outage", f"api.base_url={sim.url}", "api.credentials_file=null",
               f"db.url={pg_url}", "api.retry.base_wait_s=0", "api.retry.search_id_wait_s=0", "log.format=json"]

    proc = subprocess.Popen(command, cwd=tmp_path, env=sim_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        wait_for_pages(sim, proc, 3)
        shell(stop_server)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        shell(start_server)

    assert proc.returncode == 75, stderr[-3000:]
    assert "Traceback" not in stderr
    assert "lost the connection" in stderr and "run the same command again" in stderr, stderr[-3000:]
    assert "password" not in stderr.lower() or "***" in stderr
    summary = next(json.loads(line) for line in stderr.splitlines() if '"run_summary"' in line)
    sent = sim.stats()["requests"].get(VIDEO_QUERY_PATH, 0)
    # what the run did before the outage is still told (the crawl row holding it is out of reach)
    assert 3 <= summary["requests"] <= sent + 1 and summary["videos"] > 0, summary
    assert f"{summary['videos']} videos stored" in summary["summary"]

    again = subprocess.run(command, cwd=tmp_path, env=sim_env, capture_output=True, text=True, timeout=300)

    assert again.returncode == 0, again.stderr[-3000:]
    engine = sa.create_engine(pg_url)
    try:
        with engine.connect() as conn:
            stored = [row[0] for row in conn.execute(sa.text("SELECT id FROM video"))]
            links = conn.execute(sa.text("SELECT count(*) FROM videos_to_crawls")).scalar_one()
    finally:
        engine.dispose()
    assert len(stored) == len(set(stored)), "no video stored twice"
    assert set(stored) == want
    assert links >= len(want)
