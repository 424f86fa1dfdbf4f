"""`crawlspec init NAME` (a commented starter spec that validates) and the packaged example specs, each of
which must return videos against the embedded simulator (`api=sim`)."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest
import yaml
from support.paths import REPO_ROOT

from crawlspec import exit_codes
from crawlspec.cli.init import main as init_main
from crawlspec.spec.validate import validate_spec

PACKAGED_SPECS = sorted(p.stem for p in (REPO_ROOT / "specs").glob("*.yaml"))
SIM_TODAY = "2024-03-20"   # inside the simulator's March 2024 corpus, for specs with relative windows


def test_init_writes_a_commented_starter_spec_that_validates(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert init_main(["my_study"]) == exit_codes.OK
    text = (tmp_path / "specs" / "my_study.yaml").read_text()
    assert text.startswith("# my_study: a crawl spec.") and text.count("#") > 20
    spec = yaml.safe_load(text)
    assert spec["name"] == "my_study" and spec["tags"] == ["my_study"]
    assert validate_spec(spec) == []
    assert "crawlspec validate +spec=my_study" in capsys.readouterr().out


def test_init_refuses_to_overwrite_and_refuses_bad_names(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "specs").mkdir()
    mine = tmp_path / "specs" / "mine.yaml"
    mine.write_text("name: mine  # my own work\n")
    assert init_main(["mine"]) == exit_codes.INVALID_INPUT
    assert mine.read_text() == "name: mine  # my own work\n"
    assert "already exists" in capsys.readouterr().err
    for bad in ("Bad Name", "../escape", "UPPER", "", "a/b"):
        assert init_main([bad]) == exit_codes.INVALID_INPUT, bad
    assert sorted(p.name for p in (tmp_path / "specs").iterdir()) == ["mine.yaml"]
    assert not (tmp_path / "escape.yaml").exists()


@pytest.mark.slow
def test_init_through_the_cli_then_validate_and_run_against_the_simulator(crawlspec_exe, tmp_path) -> None:
    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([crawlspec_exe, *args], cwd=tmp_path, capture_output=True, text=True, timeout=300)

    assert cli("init", "starter").returncode == 0
    assert cli("init", "starter").returncode == exit_codes.INVALID_INPUT
    assert cli("init", "No!").returncode == exit_codes.INVALID_INPUT
    assert cli("validate", "+spec=starter").returncode == 0
    ran = cli("run", "+spec=starter", "api=sim", "log.format=json")
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert stored_videos(tmp_path / "crawlspec.db") > 0


def stored_videos(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM video").fetchone()[0]


@pytest.mark.slow
@pytest.mark.parametrize("name", PACKAGED_SPECS)
def test_every_packaged_spec_returns_videos_against_the_embedded_simulator(crawlspec_exe, tmp_path, name,
                                                                            sim_env) -> None:
    relative = "${days_ago" in (REPO_ROOT / "specs" / f"{name}.yaml").read_text()
    env = {**sim_env, **({"CRAWLSPEC_TODAY": SIM_TODAY} if relative else {})}
    ran = subprocess.run([crawlspec_exe, "run", f"+spec={name}", "api=sim", "log.format=json"], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert stored_videos(tmp_path / "crawlspec.db") > 0
