"""`crawlspec test`: one request checks credentials and database, as the older tool's `test` did."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.slow  # every test here starts processes


def test_smoke_test_spends_one_request_and_needs_no_spec(crawlspec_exe, start_sim, sim_env, tmp_path: Path):
    sim = start_sim()
    db = tmp_path / "smoke.db"
    subprocess.run([crawlspec_exe, "db", "upgrade", "--db", f"sqlite:///{db}"], check=True, timeout=60)
    result = subprocess.run([crawlspec_exe, "test", f"api.base_url={sim.url}", "api.credentials_file=null",
                             f"db.url=sqlite:///{db}"], cwd=tmp_path, env=sim_env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert "credentials OK" in result.stderr and "database OK" in result.stderr
    assert sim.stats()["quota_used"] == 1
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT sum(used) FROM quota_ledger")).scalar_one() == 1
    engine.dispose()


def test_smoke_test_with_wrong_credentials_exits_77(crawlspec_exe, start_sim, sim_env, tmp_path: Path):
    sim = start_sim()
    env = dict(sim_env, CRAWLSPEC_CLIENT_SECRET="not-the-secret")
    subprocess.run([crawlspec_exe, "db", "upgrade", "--db", f"sqlite:///{tmp_path / 'smoke.db'}"], check=True,
                   timeout=60)
    result = subprocess.run([crawlspec_exe, "test", f"api.base_url={sim.url}", "api.credentials_file=null",
                             f"db.url=sqlite:///{tmp_path / 'smoke.db'}"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 77, result.stderr
    assert "not-the-secret" not in result.stderr and "Traceback" not in result.stderr
