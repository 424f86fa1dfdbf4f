"""Alembic migrations: created from scratch, idempotent, concurrent-safe, and never drifting from the models."""

from __future__ import annotations

import multiprocessing
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from crawlspec.errors import DatabaseLocationError
from crawlspec.storage.database import (
    _alembic_config,
    current_revision,
    head_revision,
    open_database,
    upgrade_database,
)
from crawlspec.storage.models import Base

EXPECTED_TABLES = {
    "video", "crawl", "videos_to_crawls", "hashtag", "videos_to_hashtags", "effect", "videos_to_effect_ids",
    "crawl_tag", "videos_to_crawl_tags", "crawls_to_crawl_tags", "user_info", "comment", "crawl_spec",
    "crawl_window", "covered_day", "quota_ledger",
    # 0002: enrichment stages
    "comment_progress", "user_lookup", "user_list_progress", "user_liked_video", "user_pinned_video",
    "user_reposted_video", "user_follower", "user_following", "playlist",
    # 0003: compliance refresh and failing days
    "refresh_run", "compliance_task", "table_refresh", "failing_day", "failure_spend",
    # 0005 (real API data)
    "quarantine", "matured_refetch",
    # 0006: endpoints not authorized, days answered empty once
    "endpoint_access", "empty_day",
    # 0008: what auto-sized windows learned
    "window_learning",
}


def test_open_database_creates_every_table_at_head(db_url: str) -> None:
    engine = open_database(db_url)
    tables = set(sa.inspect(engine).get_table_names())
    assert tables == EXPECTED_TABLES | {"alembic_version"}
    assert set(Base.metadata.tables) == EXPECTED_TABLES
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_upgrading_again_is_a_no_op_that_keeps_the_data(db_url: str) -> None:
    engine = open_database(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO hashtag (name) VALUES ('kept')"))
    engine.dispose()
    engine = open_database(db_url)
    assert upgrade_database(engine) == head_revision()
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT name FROM hashtag")).scalars().all() == ["kept"]
        assert conn.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
    engine.dispose()


def test_models_and_migrations_do_not_drift(db_url: str) -> None:
    engine = open_database(db_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == []


def _open_in_process(url: str, barrier: multiprocessing.synchronize.Barrier) -> None:
    barrier.wait()
    open_database(url).dispose()


@pytest.mark.slow
def test_concurrent_first_runs_migrate_a_new_database_once(db_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(3)
    workers = [context.Process(target=_open_in_process, args=(db_url, barrier)) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0, 0, 0]
    engine = open_database(db_url, upgrade=False)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_a_database_of_another_tool_is_refused_with_a_clear_message(sqlite_url: str) -> None:
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE video (id BIGINT PRIMARY KEY)"))
    engine.dispose()
    with pytest.raises(DatabaseLocationError, match="no crawlspec migration record"):
        open_database(sqlite_url)


def test_unknown_revision_is_refused(sqlite_url: str) -> None:
    engine = open_database(sqlite_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'ffff_future'"))
    with pytest.raises(DatabaseLocationError, match="ffff_future"):
        upgrade_database(engine)
    engine.dispose()


@pytest.mark.slow
def test_db_upgrade_command_creates_and_reports(crawlspec_exe: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    first = subprocess.run([crawlspec_exe, "db", "upgrade", "--db", url], capture_output=True, text=True,
                           timeout=120)
    assert first.returncode == 0, first.stderr
    assert f"to {head_revision()}" in first.stdout
    again = subprocess.run([crawlspec_exe, "db", "upgrade", "--db", url], capture_output=True, text=True,
                           timeout=120)
    assert again.returncode == 0 and "nothing to do" in again.stdout
    current = subprocess.run([crawlspec_exe, "db", "current", "--db", url], capture_output=True, text=True,
                             timeout=120)
    assert current.returncode == 0 and "up to date" in current.stdout
    engine = sa.create_engine(url)
    assert set(sa.inspect(engine).get_table_names()) == EXPECTED_TABLES | {"alembic_version"}
    engine.dispose()


@pytest.mark.slow
def test_db_upgrade_command_defaults_to_crawlspec_db_in_the_current_directory(
        crawlspec_exe: str, tmp_path: Path) -> None:
    done = subprocess.run([crawlspec_exe, "db", "upgrade"], capture_output=True, text=True, cwd=tmp_path,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "crawlspec.db").is_file()


@pytest.mark.slow
def test_db_upgrade_command_bad_location_exits_2_with_the_fix(crawlspec_exe: str, tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    done = subprocess.run([crawlspec_exe, "db", "upgrade", "--db", f"sqlite:///{missing}/x.db"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert str(missing) in done.stderr and "mkdir -p" in done.stderr and "Traceback" not in done.stderr


def test_0005_upper_cases_region_codes_stored_lower_case_before_it(db_url: str) -> None:
    from alembic import command

    engine = open_database(db_url)
    with engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0004")
    assert current_revision(engine) == "0004"
    assert not sa.inspect(engine).has_table("quarantine")
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO video (id, region_code) VALUES (1, 'us'), (2, 'GB'), (3, NULL), "
                             "(4, 'Fr')"))
    assert upgrade_database(engine) == head_revision()
    with engine.connect() as conn:
        codes = dict(conn.execute(sa.text("SELECT id, region_code FROM video")).all())
    assert codes == {1: "US", 2: "GB", 3: None, 4: "FR"}
    assert sa.inspect(engine).has_table("quarantine") and sa.inspect(engine).has_table("matured_refetch")
    engine.dispose()
