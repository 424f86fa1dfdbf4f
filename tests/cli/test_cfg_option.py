"""`--cfg job` prints the composed configuration (as Hydra does), with database passwords masked."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.slow  # every test here starts processes


def test_cfg_job_prints_the_composed_config_without_the_password(crawlspec_exe, tmp_path: Path):
    result = subprocess.run([crawlspec_exe, "run", "--cfg", "job", "+spec=demo", "api=sim",
                             "db.url=postgresql://crawler:s3cret-pw@db.example/crawls"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    assert config["spec"]["name"] == "demo"
    assert config["api"]["simulator"]["seed"] == 42
    assert config["db"]["url"] == "postgresql://crawler:***@db.example/crawls"
    assert "s3cret-pw" not in result.stdout + result.stderr
    assert list(tmp_path.iterdir()) == [], "nothing is run, nothing is written"


def test_cfg_other_than_job_is_refused_with_exit_2(crawlspec_exe, tmp_path: Path):
    result = subprocess.run([crawlspec_exe, "run", "--cfg", "hydra", "+spec=demo"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "--cfg job" in result.stderr and "Traceback" not in result.stderr
