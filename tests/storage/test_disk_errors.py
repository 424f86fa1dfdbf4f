"""Permission errors on the SQLite path and the raw archive: a clear message naming the path, the
documented exit code (README "Exit codes": a database location problem is 2 and nothing is sent; an
archive that cannot be written stops the run with 1), no traceback, nothing half-written.

Run as root, the crawl is started without the capabilities that bypass file permissions
(`setpriv`), so read-only files and directories mean what they say.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from crawlspec.api.fields import VIDEO_QUERY_PATH

pytestmark = pytest.mark.slow  # every test here starts processes

SPEC = """\
name: disk
query:
  include_any_hashtags: [shoes, sneakers]
window: {start: "2024-03-01", end: "2024-03-07", days_per_query: 7}
limits: {max_count: 10}
"""
READ_ONLY_DIR = stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH
READ_ONLY_FILE = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH


def without_permission_bypass(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: file permissions cannot be enforced")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner", "--", *command]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "disk.yaml").write_text(SPEC)
    yield tmp_path
    for path in tmp_path.rglob("*"):   # let pytest clean up what the tests made read-only
        path.chmod(path.stat().st_mode | stat.S_IWUSR)


def crawl_command(exe: str, sim, db: Path, *extra: str) -> list[str]:
    return without_permission_bypass([
        exe, "run", "+spec=disk", f"api.base_url={sim.url}", "api.credentials_file=null", f"db.url=sqlite:///{db}",
        "api.retry.base_wait_s=0", "api.retry.search_id_wait_s=0", "log.format=json", *extra])


def run(command: list[str], cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def research_requests(sim) -> int:
    return sum(n for path, n in sim.stats()["requests"].items() if path.startswith("/v2/research/"))


def stored_ids(db: Path) -> list[int]:
    engine = sa.create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            return [row[0] for row in conn.execute(sa.text("SELECT id FROM video"))]
    finally:
        engine.dispose()


def assert_clear_failure(result: subprocess.CompletedProcess, code: int, *phrases: str) -> None:
    assert result.returncode == code, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    for phrase in phrases:
        assert phrase in last, last


def test_sqlite_in_a_read_only_directory_exits_2_and_sends_nothing(crawlspec_exe, start_sim, sim_env, workdir):
    sim = start_sim()
    locked = workdir / "locked"
    locked.mkdir()
    locked.chmod(READ_ONLY_DIR)

    result = run(crawl_command(crawlspec_exe, sim, locked / "crawl.db"), workdir, sim_env)

    assert_clear_failure(result, 2, "cannot write the SQLite database", str(locked / "crawl.db"), "permission denied")
    assert list(locked.iterdir()) == []
    assert sim.stats()["requests"] == {}, "nothing sent, not even a token request"


def test_read_only_sqlite_file_exits_2_and_is_left_untouched(crawlspec_exe, start_sim, sim_env, workdir):
    sim = start_sim()
    db = workdir / "crawl.db"
    assert run(crawl_command(crawlspec_exe, sim, db, "spec.window.end=2024-03-03"), workdir, sim_env).returncode == 0
    before, sent = db.read_bytes(), research_requests(sim)
    db.chmod(READ_ONLY_FILE)

    result = run(crawl_command(crawlspec_exe, sim, db), workdir, sim_env)

    assert_clear_failure(result, 2, "cannot write the SQLite database", str(db), "permission denied")
    assert db.read_bytes() == before
    assert research_requests(sim) == sent


def test_unwritable_raw_archive_directory_stops_before_any_request(crawlspec_exe, start_sim, sim_env, workdir):
    sim = start_sim()
    raw = workdir / "raw"
    raw.mkdir()
    raw.chmod(READ_ONLY_DIR)
    db = workdir / "crawl.db"

    result = run(crawl_command(crawlspec_exe, sim, db, f"storage.raw_dir={raw}"), workdir, sim_env)

    assert_clear_failure(result, 1, "Raw archive directory", str(raw), "not writable")
    assert list(raw.iterdir()) == []
    assert research_requests(sim) == 0
    assert stored_ids(db) == []


def test_raw_archive_failing_mid_run_stops_with_whole_pages_only(crawlspec_exe, start_sim, sim_env, workdir):
    sim = start_sim(latency_ms=30)
    raw, db = workdir / "raw", workdir / "crawl.db"
    proc = subprocess.Popen(crawl_command(crawlspec_exe, sim, db, f"storage.raw_dir={raw}"), cwd=workdir,
                            env=sim_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (list(raw.glob("raw-*.jsonl.gz")) and sim.stats()["requests"].get(VIDEO_QUERY_PATH, 0) >= 3):
            assert proc.poll() is None and time.monotonic() < deadline, "the crawl ended before the failure"
            time.sleep(0.02)
        for archive in raw.glob("raw-*.jsonl.gz"):
            archive.chmod(READ_ONLY_FILE)   # as a full disk would: the next append fails
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    assert proc.returncode == 1, stderr[-3000:]
    assert "Traceback" not in stderr
    assert f"Raw archive directory {raw} cannot be written" in stderr, stderr[-3000:]
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        committed = conn.execute(sa.text("SELECT coalesce(sum(videos), 0), coalesce(sum(pages), 0) "
                                         "FROM crawl_window")).one()
    engine.dispose()
    stored = stored_ids(db)
    assert len(stored) == len(set(stored)) == committed[0], "only whole pages, each with its checkpoint"
    assert 1 <= committed[1] < sim.stats()["requests"][VIDEO_QUERY_PATH]


def test_a_read_only_database_can_still_be_read(crawlspec_exe, tmp_path: Path):
    """An archived or shared crawl (a read-only file in a read-only directory): `status`, `export` and
    `report` read it as it is (SQLite's read-only mode: no WAL switch, no migration), and change nothing."""
    folder = tmp_path / "archive"
    folder.mkdir()
    db = folder / "crawlspec.db"
    crawl = subprocess.run([crawlspec_exe, "run", "+spec=demo", "api=sim", f"db.url=sqlite:///{db}"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=300)
    assert crawl.returncode == 0, crawl.stderr[-2000:]
    db.chmod(0o444)
    folder.chmod(0o555)
    before = db.read_bytes()
    try:
        out = tmp_path / "out"
        out.mkdir()
        for argv, needle in ((["status", "--db", f"sqlite:///{db}"], "videos stored: 376"),
                             (["export", "--db", f"sqlite:///{db}", "--out", str(out / "v.csv")], "376 video rows"),
                             (["report", "--db", f"sqlite:///{db}", "--out", str(out / "r.html")], "wrote")):
            result = subprocess.run(without_permission_bypass([crawlspec_exe, *argv]), cwd=tmp_path,
                                    capture_output=True, text=True, timeout=120)
            assert result.returncode == 0, f"{argv[0]}: {result.stderr[-2000:]}"
            assert needle in result.stdout + result.stderr
        assert sorted(p.name for p in folder.iterdir()) == ["crawlspec.db"] and db.read_bytes() == before
    finally:
        folder.chmod(0o755)
