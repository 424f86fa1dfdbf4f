"""Only `run` and `db upgrade` create a database: every other command refuses a database that does not
exist or is not crawlspec's (exit 2, naming it) and creates nothing. Installed CLI, real SQLite files,
the real PostgreSQL server."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa

from crawlspec import exit_codes

pytestmark = pytest.mark.slow


def _commands(exe: str, db_url: str, sim_url: str, out: Path) -> dict[str, list[str]]:
    return {
        "status": [exe, "status", "--db", db_url],
        "export": [exe, "export", "--db", db_url, "--out", str(out)],
        "refresh": [exe, "refresh", "--db", db_url, "--base-url", sim_url, "--credentials-file", "none.yaml"],
        "test": [exe, "test", f"db.url='{db_url}'", f"api.base_url={sim_url}", "api.credentials_file=null"],
        "db current": [exe, "db", "current", "--db", db_url],
    }


def _refused(result: subprocess.CompletedProcess, *needles: str) -> None:
    assert result.returncode == exit_codes.INVALID_INPUT, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


@pytest.mark.parametrize("command", ["status", "export", "refresh", "test", "db current"])
def test_a_mistyped_sqlite_path_is_refused_and_not_created(crawlspec_exe, start_sim, sim_env, tmp_path: Path,
                                                           command: str) -> None:
    sim = start_sim()
    typo = tmp_path / "typo.db"
    argv = _commands(crawlspec_exe, f"sqlite:///{typo}", sim.url, tmp_path / "v.csv")[command]
    result = subprocess.run(argv, cwd=tmp_path, env=sim_env, capture_output=True, text=True, timeout=120)
    _refused(result, "no database at", str(typo))
    assert not typo.exists() and not (tmp_path / "v.csv").exists()
    assert sim.stats()["quota_used"] == 0


@pytest.mark.parametrize("command", ["status", "export", "refresh", "test", "db current"])
def test_a_sqlite_file_of_another_tool_is_refused_and_left_alone(crawlspec_exe, start_sim, sim_env,
                                                                 tmp_path: Path, command: str) -> None:
    sim = start_sim()
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    before = other.read_bytes()
    argv = _commands(crawlspec_exe, f"sqlite:///{other}", sim.url, tmp_path / "v.csv")[command]
    result = subprocess.run(argv, cwd=tmp_path, env=sim_env, capture_output=True, text=True, timeout=120)
    # `db upgrade` refuses such a file too, so the message must not suggest it
    _refused(result, "not a crawlspec database: it holds tables of another tool (notes)")
    assert "db upgrade" not in result.stderr
    assert other.read_bytes() == before
    assert sim.stats()["quota_used"] == 0


@pytest.mark.parametrize("command", ["status", "export", "refresh", "test"])
def test_an_empty_postgresql_database_is_refused_and_not_migrated(crawlspec_exe, start_sim, sim_env, pg_url,
                                                                  tmp_path: Path, command: str) -> None:
    sim = start_sim()
    argv = _commands(crawlspec_exe, pg_url, sim.url, tmp_path / "v.csv")[command]
    result = subprocess.run(argv, cwd=tmp_path, env=sim_env, capture_output=True, text=True, timeout=120)
    _refused(result, "not a crawlspec database (it is empty)", "crawlspec db upgrade")
    engine = sa.create_engine(pg_url)
    assert sa.inspect(engine).get_table_names() == []
    engine.dispose()


def test_export_of_a_spec_without_crawls_exits_2_and_writes_nothing(crawlspec_exe, tmp_path: Path) -> None:
    from support.export_data import populate

    db_url = f"sqlite:///{tmp_path / 'crawl.db'}"
    populate(db_url).dispose()
    out = tmp_path / "v.csv"
    result = subprocess.run([crawlspec_exe, "export", "--db", db_url, "--spec", "shoez", "--out", str(out)],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    _refused(result, "no crawl of a spec named 'shoez'", "known: ")
    assert not out.exists() and not Path(f"{out}.tmp").exists()


def test_a_directory_given_as_the_database_is_named_as_one(crawlspec_exe, tmp_path: Path) -> None:
    folder = tmp_path / "crawls"
    folder.mkdir()
    result = subprocess.run([crawlspec_exe, "status", "--db", f"sqlite:///{folder}"], capture_output=True, text=True,
                            timeout=60)
    _refused(result, f"{folder} is a directory", str(folder / "crawlspec.db"))


def test_a_read_only_file_is_declared_immutable_only_when_nobody_can_change_it(tmp_path: Path) -> None:
    """`immutable=1` skips SQLite's locking: right for an archived file nobody may write, wrong (a reader
    could see half a change) for a file its owner may still write."""
    from crawlspec.storage.database import _read_only_uri

    folder = tmp_path / "archive"
    folder.mkdir()
    db = folder / "crawl.db"
    sqlite3.connect(db).close()
    try:
        db.chmod(0o444)
        assert "immutable=1" not in _read_only_uri(db)    # the directory: its owner may add a -wal file
        folder.chmod(0o555)
        assert _read_only_uri(db).endswith("?mode=ro&immutable=1")
        folder.chmod(0o755)
        (folder / "crawl.db-wal").write_bytes(b"")
        folder.chmod(0o555)
        assert "immutable=1" not in _read_only_uri(db)    # a writer's WAL is there: read it with locking
        folder.chmod(0o755)
        db.chmod(0o644)
        (folder / "crawl.db-wal").unlink()
        folder.chmod(0o555)
        assert "immutable=1" not in _read_only_uri(db)    # the file itself is writable by its owner
    finally:
        folder.chmod(0o755)
