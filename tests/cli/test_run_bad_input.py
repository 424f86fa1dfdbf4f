"""Bad input to `crawlspec run`: a clear message, a documented exit code, no traceback, nothing
half-written, and never a secret in the output."""

from __future__ import annotations

import signal
import socket
import subprocess
from pathlib import Path

import pytest
from conftest import SIM_SECRET

pytestmark = pytest.mark.slow  # every test here starts processes

SPEC = "name: bad\nquery: {include_any_hashtags: [shoes]}\nwindow: {start: '2024-03-01', end: '2024-03-03'}\n"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "bad.yaml").write_text(SPEC)
    return tmp_path


def run(exe: str, cwd: Path, *overrides: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([exe, "run", "+spec=bad", *overrides], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def assert_clean_failure(result: subprocess.CompletedProcess, code: int, *fragments: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == code, output[-3000:]
    assert "Traceback" not in output
    for fragment in fragments:
        assert fragment in output, f"{fragment!r} missing from: {output[-2000:]}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_missing_secrets_file_exits_2_naming_the_file(crawlspec_exe, workdir):
    result = run(crawlspec_exe, workdir, "api.credentials_file=nowhere/secrets.yaml",
                 f"db.url=sqlite:///{workdir}/x.db")
    assert_clean_failure(result, 2, "nowhere/secrets.yaml")
    assert not (workdir / "x.db").exists(), "nothing is written when the input is bad"


def test_secrets_file_without_a_key_names_the_key(crawlspec_exe, workdir):
    (workdir / "secrets.yaml").write_text("client_id: 1\nclient_key: abc\n")
    result = run(crawlspec_exe, workdir, f"db.url=sqlite:///{workdir}/x.db")
    assert_clean_failure(result, 2, "client_secret", "secrets.yaml")


def test_wrong_credentials_exit_77_without_the_secret(crawlspec_exe, workdir, start_sim):
    sim = start_sim()
    wrong = "wrong-secret-value-5d1e"
    (workdir / "secrets.yaml").write_text(f"client_key: someone\nclient_secret: {wrong}\n")
    result = run(crawlspec_exe, workdir, f"api.base_url={sim.url}", f"db.url=sqlite:///{workdir}/x.db")
    assert_clean_failure(result, 77, "secrets.yaml")
    assert wrong not in result.stdout + result.stderr
    assert SIM_SECRET not in result.stdout + result.stderr


def test_an_unreachable_api_exits_75_charging_and_failing_nothing(crawlspec_exe, workdir, start_sim, sim_env):
    import sqlite3

    db = workdir / "x.db"
    result = run(crawlspec_exe, workdir, f"api.base_url=http://127.0.0.1:{free_port()}", "api.credentials_file=null",
                 "api.retry.base_wait_s=0", f"db.url=sqlite:///{db}", env=sim_env)
    assert_clean_failure(result, 75, "no access token could be had", "connect_failed")
    with sqlite3.connect(db) as conn:   # no request reached the API: none is counted, no day is failing
        assert conn.execute("SELECT coalesce(sum(used), 0) FROM quota_ledger").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM failing_day").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM crawl_window WHERE status = 'failed'").fetchone()[0] == 0
    sim = start_sim()   # the API is back: the same command completes
    result = run(crawlspec_exe, workdir, f"api.base_url={sim.url}", "api.credentials_file=null",
                 f"db.url=sqlite:///{db}", env=sim_env)
    assert result.returncode == 0, result.stderr[-2000:]
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT sum(used) FROM quota_ledger").fetchone()[0] == sim.stats()["quota_used"] > 0


def test_the_api_going_away_mid_crawl_exits_75_and_fails_no_window(crawlspec_exe, workdir, sim_env):
    """A `crawlspec sim` process killed mid-crawl (every connection gone at once, as when the network drops)."""
    import json
    import sqlite3
    import time
    import urllib.request

    from conftest import SIM_KEY

    port = free_port()
    sim = subprocess.Popen([crawlspec_exe, "sim", "--port", str(port), "--latency-ms", "150",
                            "--client-key", SIM_KEY, "--client-secret", SIM_SECRET],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    proc: subprocess.Popen | None = None
    try:
        assert sim.stdout is not None and "listening" in sim.stdout.readline()
        db = workdir / "x.db"
        proc = subprocess.Popen([crawlspec_exe, "run", "+spec=demo", f"api.base_url=http://127.0.0.1:{port}",
                                 "api.credentials_file=null", "api.retry.base_wait_s=0", "spec.limits.max_count=20",
                                 f"db.url=sqlite:///{db}"],
                                cwd=workdir, env=sim_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120

        def video_requests() -> int:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_sim/stats", timeout=10) as answer:
                return int(json.load(answer)["requests"].get("/v2/research/video/query/", 0))

        while video_requests() < 2 and time.monotonic() < deadline:
            time.sleep(0.02)   # a page or two stored, then the API goes away
        assert time.monotonic() < deadline, "the crawl never reached its second page"
    except BaseException:
        if proc is not None:
            proc.kill()
        raise
    finally:
        sim.kill()
        sim.wait()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 75, err[-2000:]
    assert "the API could not be reached" in err and "Traceback" not in err
    with sqlite3.connect(db) as conn:   # the window is left where it was, to resume; no day is failing
        assert conn.execute("SELECT count(*) FROM crawl_window WHERE status = 'failed'").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM failing_day").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM video").fetchone()[0] > 0
        assert conn.execute("SELECT outcome, exit_code FROM crawl").fetchall() == [("stopped:api_unreachable", 75)]


def test_rejected_credentials_charge_no_request(crawlspec_exe, workdir, start_sim):
    import sqlite3

    sim = start_sim()
    (workdir / "secrets.yaml").write_text("client_key: someone\nclient_secret: not-the-one-9f2\n")
    for _ in range(2):
        result = run(crawlspec_exe, workdir, f"api.base_url={sim.url}", f"db.url=sqlite:///{workdir}/x.db")
        assert_clean_failure(result, 77, "secrets.yaml")
    with sqlite3.connect(workdir / "x.db") as conn:
        assert conn.execute("SELECT coalesce(sum(used), 0) FROM quota_ledger").fetchone()[0] == 0


def test_database_in_a_missing_directory_exits_2(crawlspec_exe, workdir, start_sim, sim_env):
    sim = start_sim()
    result = run(crawlspec_exe, workdir, f"api.base_url={sim.url}", "api.credentials_file=null",
                 "db.url=sqlite:///no/such/dir/x.db", env=sim_env)
    assert_clean_failure(result, 2, "no/such/dir")
    assert sim.stats()["quota_used"] == 0


def test_postgres_refusing_connections_exits_75_without_password(crawlspec_exe, workdir, start_sim, sim_env):
    sim = start_sim()
    url = f"postgresql://crawler:hunter2-pw@127.0.0.1:{free_port()}/nothing"
    result = run(crawlspec_exe, workdir, f"api.base_url={sim.url}", "api.credentials_file=null",
                 f"db.url={url}", env=sim_env)
    assert_clean_failure(result, 75, "127.0.0.1")
    assert "hunter2-pw" not in result.stdout + result.stderr
    assert sim.stats()["quota_used"] == 0


def test_a_run_without_a_spec_says_how_to_choose_one(crawlspec_exe, tmp_path: Path):
    import json

    result = subprocess.run([crawlspec_exe, "run", "log.format=json"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120)
    assert_clean_failure(result, 2, "choose a spec with +spec=NAME")
    [summary] = [json.loads(line) for line in result.stderr.splitlines() if '"run_summary"' in line]
    assert summary["summary"].startswith("no spec given (+spec=NAME) invalid input")
    assert not (tmp_path / "crawlspec.db").exists()


def test_an_unknown_log_level_is_invalid_input_not_a_crash(crawlspec_exe, workdir):
    result = run(crawlspec_exe, workdir, "api=sim", "log.level=verbose", f"db.url=sqlite:///{workdir}/x.db")
    assert_clean_failure(result, 2, "log.level: 'verbose' is not one of")
    assert "unexpected error" not in result.stderr


def test_ctrl_c_while_starting_up_exits_75_without_a_traceback(crawlspec_exe, tmp_path: Path):
    """Before the crawl installs its own handling (here: while the new database's schema is created): the
    open transactions roll back, the message says to run again, and the same command then completes."""
    import time

    db = f"sqlite:///{tmp_path / 'x.db'}"
    # a slow embedded simulator: a loaded machine still signals before the crawl could have finished.
    # SIGINT back to its default in the child: a suite started in the background by a non-interactive shell
    # (`pytest &`) ignores SIGINT, the child would inherit that, and the signal would be lost.
    proc = subprocess.Popen([crawlspec_exe, "run", "+spec=demo", "api=sim", "api.simulator.latency_ms=500",
                             f"db.url={db}", "log.format=console"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while not (tmp_path / "x.db").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)   # the database file appears as the schema is being created, before the crawl
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 75, err[-2000:]
    assert "Traceback" not in err and "interrupted" in err
    rerun = subprocess.run([crawlspec_exe, "run", "+spec=demo", "api=sim", f"db.url={db}"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
