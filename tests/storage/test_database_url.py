"""One way to name the database: `CRAWLSPEC_DB_URL` is the default of every command."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest


@pytest.mark.slow
def test_every_command_reads_the_database_named_by_the_environment(crawlspec_exe, tmp_path: Path) -> None:
    db = tmp_path / "elsewhere" / "named.db"
    db.parent.mkdir()
    env = {"PATH": str(Path(crawlspec_exe).parent), "CRAWLSPEC_DB_URL": f"sqlite:///{db}", "HOME": str(tmp_path)}

    def crawlspec(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([crawlspec_exe, *args], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=300)

    run = crawlspec("run", "+spec=demo", "api=sim")
    assert run.returncode == 0, run.stderr[-2000:]
    assert db.exists() and not (tmp_path / "crawlspec.db").exists()

    status = crawlspec("status", "--json")
    assert status.returncode == 0 and json.loads(status.stdout)["videos_total"] == 376
    export = crawlspec("export", "--table", "video", "--out", "v.csv")
    assert export.returncode == 0 and len((tmp_path / "v.csv").read_text().splitlines()) == 377
    assert crawlspec("db", "current").returncode == 0
    assert crawlspec("report", "--out", "r.html").returncode == 0
    assert not (tmp_path / "crawlspec.db").exists(), "no command fell back to ./crawlspec.db"
