"""Shared fixtures: the installed `crawlspec` executable, databases, and an in-process simulator."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


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


def _pg_server_url() -> str | None:
    url = os.environ.get("CRAWLSPEC_TEST_PG_URL")
    if url:
        return url
    if os.environ.get("CI"):
        pytest.fail("CI is set but CRAWLSPEC_TEST_PG_URL is missing: PostgreSQL is required in CI")
    return None


def pg_server_url() -> str:
    """The test server's URL; skips on a laptop without one, fails in CI."""
    server_url = _pg_server_url()
    if server_url is None:
        pytest.skip("no PostgreSQL server (set CRAWLSPEC_TEST_PG_URL)")
    return server_url


@contextlib.contextmanager
def pg_database(server_url: str, prefix: str = "t") -> Iterator[str]:
    """A fresh, empty database on the test server (its URL), dropped afterwards."""
    import sqlalchemy as sa

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    # crawlspec depends on psycopg2; SQLAlchemy 2.1 would pick psycopg 3 for a bare postgresql:// URL.
    base = sa.engine.make_url(server_url).set(drivername="postgresql+psycopg2")
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database on the test server, dropped afterwards."""
    with pg_database(pg_server_url()) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'crawl.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Both storage back ends: a real SQLite file and a real PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'crawl.db'}"
    return request.getfixturevalue("pg_url")


# --- simulator ---------------------------------------------------------------------------------
SIM_KEY = "test-client-key"
SIM_SECRET = "test-client-secret-9f3a7c"


@pytest.fixture
def start_sim():
    """Factory: start a seeded simulator on a free port (stopped at teardown)."""
    from datetime import date

    from crawlspec.sim import SimOptions, start_simulator

    running = []

    def start(**options):
        options.setdefault("seed", 7)
        options.setdefault("videos", 3000)
        options.setdefault("start", date(2024, 3, 1))
        options.setdefault("days", 31)
        options.setdefault("client_key", SIM_KEY)
        options.setdefault("client_secret", SIM_SECRET)
        sim = start_simulator(SimOptions(**options), host="127.0.0.1", port=0)
        running.append(sim)
        return sim

    yield start
    for sim in running:
        sim.stop()


@pytest.fixture
def sim_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment for a `crawlspec` subprocess talking to a test simulator."""
    env = dict(os.environ)
    env.update({"CRAWLSPEC_CLIENT_KEY": SIM_KEY, "CRAWLSPEC_CLIENT_SECRET": SIM_SECRET})
    env.pop("CRAWLSPEC_TODAY", None)
    return env


def read_corpus_dump(path: Path) -> dict[str, list[dict]]:
    """The simulator's JSON-lines dump, grouped by kind (videos keep their `deleted` flag)."""
    import json

    kinds: dict[str, list[dict]] = {"video": [], "comment": [], "user": []}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            item = dict(record["data"])
            if record["kind"] == "video":
                item["_deleted"] = record.get("deleted", False)
            if "username" in record:  # user records: the API does not echo it inside `data`
                item.setdefault("username", record["username"])
            kinds.setdefault(record["kind"], []).append(item)
    return kinds
