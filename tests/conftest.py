"""Shared fixtures, thin: the helpers live in `support/` (the installed `crawlspec` executable, databases,
an in-process simulator). The names below stay importable from here (`from conftest import SIM_KEY`)."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from support.corpus import read_corpus_dump
from support.databases import copy_sqlite, pg_database, pg_server_url, sqlite_file_url, sqlite_path
from support.process_guard import fail_unmarked_process_starts
from support.sim import SIM_KEY, SIM_SECRET, simulator_factory, subprocess_env

__all__ = ["SIM_KEY", "SIM_SECRET", "pg_database", "pg_server_url", "read_corpus_dump"]


@pytest.fixture(autouse=True)
def _processes_only_in_slow_tests(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that starts a process (the installed CLI, `crawlspec sim`, R, a multiprocessing worker...)
    is marked `slow`, so `pytest -m "not slow"` stays fast: an unmarked one fails at teardown."""
    yield from fail_unmarked_process_starts(request)


@pytest.fixture(scope="session")
def crawlspec_exe() -> str:
    """The console script installed next to this interpreter (the one a user would run)."""
    candidate = Path(sys.executable).parent / "crawlspec"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("crawlspec")
    if not found:
        pytest.fail("the `crawlspec` console script is not installed: run `pip install '.[test]'` first")
    return found


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database on the test server, dropped afterwards."""
    with pg_database(pg_server_url()) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return sqlite_file_url(tmp_path)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that asks for a fresh PostgreSQL database by name (`pg_url`) is slow, as the `db_url` runs are."""
    for item in items:
        if "pg_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


# A fresh PostgreSQL database (created, migrated, dropped) costs a second or more per test: the PostgreSQL
# runs are `slow`, and the fast lane (`pytest -m "not slow"`) covers SQLite only.
@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Both storage back ends: a real SQLite file and a real PostgreSQL database."""
    if request.param == "sqlite":
        return sqlite_file_url(tmp_path)
    return request.getfixturevalue("pg_url")


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty crawlspec SQLite database at the latest revision, built once and copied by `engine`."""
    from crawlspec.storage.database import open_database

    path = tmp_path_factory.mktemp("migrated") / "crawl.db"
    open_database(sqlite_file_url(path.parent)).dispose()
    return path


@pytest.fixture
def engine(db_url: str, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """crawlspec's database on both back ends (`db_url`), migrated, disposed afterwards."""
    from crawlspec.storage.database import open_database

    if sqlite_path(db_url) is not None:
        copy_sqlite(request.getfixturevalue("migrated_sqlite"), db_url)
    engine = open_database(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def start_sim():
    """Factory: start a seeded simulator on a free port (stopped at teardown)."""
    yield from simulator_factory()


@pytest.fixture
def sim_env() -> dict[str, str]:
    """Environment for a `crawlspec` subprocess talking to a test simulator."""
    return subprocess_env()
