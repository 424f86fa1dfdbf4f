"""`crawlspec status`: what a researcher (or a script) needs to know after an interrupted crawl."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # every test here starts processes

SPEC = """\
name: partial
query: {include_any_hashtags: [shoes, sneakers, fashion]}
window: {start: "2024-03-01", end: "2024-03-12", days_per_query: 12}
"""


def test_status_shows_the_unfinished_window_cursor_and_quota(crawlspec_exe, start_sim, sim_env, tmp_path: Path):
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "partial.yaml").write_text(SPEC)
    sim = start_sim(videos=6000)
    db_url = f"sqlite:///{tmp_path / 'status.db'}"
    run = subprocess.run([crawlspec_exe, "run", "+spec=partial", f"api.base_url={sim.url}",
                          "api.credentials_file=null", f"db.url={db_url}", "spec.limits.max_api_requests=2"],
                         cwd=tmp_path, env=sim_env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 75, run.stderr[-2000:]

    result = subprocess.run([crawlspec_exe, "status", "--db", db_url, "--json"], capture_output=True, text=True,
                            timeout=60)

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["quota"]["research"]["used"] == 2
    assert report["quota"]["research"]["remaining"] == 998
    [spec] = report["specs"]
    assert spec["name"] == "partial"
    assert spec["days_covered"] == 0 and spec["days_pending"] == 12
    [window] = spec["windows_in_progress"]
    assert (window["start_date"], window["end_date"], window["cursor"]) == ("2024-03-01", "2024-03-12", 200)
    assert spec["videos"] == report["videos_total"] == window["videos"] > 0
    assert spec["last_run"]["exit_code"] == 75

    text = subprocess.run([crawlspec_exe, "status", "--db", db_url], capture_output=True, text=True, timeout=60)
    assert "in progress: 2024-03-01..2024-03-12 cursor 200" in text.stdout


def test_status_does_not_import_hydra_and_rejects_a_missing_database(tmp_path: Path):
    code = ("import sys; from crawlspec.cli.entry import main; rc = main(['status', '--db', 'sqlite:///" +
            str(tmp_path / "nope" / "x.db") + "']); print(rc, 'hydra' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    rc, hydra_loaded = result.stdout.split()
    assert rc == "2" and hydra_loaded == "False"
    assert "nope" in result.stderr and "Traceback" not in result.stderr


def test_status_help_imports_no_sqlalchemy():
    code = ("import sys; from crawlspec.cli.entry import main\n"
            "try:\n    main(['status', '--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'sqlalchemy', 'hydra'}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "crawlspec status" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "[]"


STAGED = """\
name: staged
query: {include_any_hashtags: [shoes, sneakers, fashion]}
window: {start: "2024-03-01", end: "2024-03-12", days_per_query: 3}
fetch: {comments: true, user_info: false}
"""


def _run(exe: str, sim, db_url: str, cwd: Path, env: dict, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([exe, "run", "+spec=staged", f"api.base_url={sim.url}", "api.credentials_file=null",
                           f"db.url={db_url}", *extra], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_status_tells_the_whole_truth(crawlspec_exe, start_sim, sim_env, tmp_path: Path):
    import re

    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "staged.yaml").write_text(STAGED)
    sim = start_sim(videos=3000)
    db_url = f"sqlite:///{tmp_path / 'status.db'}"
    # one request: the first window has started, the three others were planned but never touched
    assert _run(crawlspec_exe, sim, db_url, tmp_path, sim_env, "spec.limits.max_api_requests=1",
                "spec.limits.max_count=10").returncode == 75

    report = json.loads(subprocess.run([crawlspec_exe, "status", "--db", db_url, "--json"], capture_output=True,
                                       text=True, timeout=60).stdout)
    [spec] = report["specs"]
    assert [(w["start_date"], w["cursor"]) for w in spec["windows_in_progress"]] == [("2024-03-01", 10)]
    assert spec["windows_not_started"] == 3
    assert spec["stages"]["comments"]["done"] == 0 < spec["stages"]["comments"]["pending"]  # the limit came first
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", spec["last_run"]["started_at"])

    # finish, then a narrower re-run: "covered" counts the days of the range asked for, no more
    assert _run(crawlspec_exe, sim, db_url, tmp_path, sim_env).returncode == 0
    assert _run(crawlspec_exe, sim, db_url, tmp_path, sim_env, "spec.window.end=2024-03-03").returncode == 0
    # the same spec for another region: a second variant of one name
    assert _run(crawlspec_exe, sim, db_url, tmp_path, sim_env, "spec.window.end=2024-03-03",
                "spec.query.regions=[US]", "spec.fetch.comments=false").returncode == 0

    report = json.loads(subprocess.run([crawlspec_exe, "status", "--db", db_url, "--json"], capture_output=True,
                                       text=True, timeout=60).stdout)
    first = next(s for s in report["specs"] if s["stages"].get("comments"))
    assert first["days_covered"] == 3 and first["days_pending"] == 0
    assert first["stages"]["comments"]["pending"] == 0 and first["stages"]["comments"]["done"] > 0
    assert not first["windows_in_progress"] and not first["windows_not_started"]
    text = subprocess.run([crawlspec_exe, "status", "--db", db_url], capture_output=True, text=True,
                          timeout=60).stdout
    assert "spec staged: 2 variants" in text
    assert "comments: " in text and " done, 0 pending" in text
    assert re.search(r"last run: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", text)


def test_status_and_report_show_the_stages_a_spec_asked_for_even_when_switched_on_later(
        crawlspec_exe, start_sim, sim_env, tmp_path: Path):
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "staged.yaml").write_text(STAGED)
    sim = start_sim()
    db_url = f"sqlite:///{tmp_path / 'crawl.db'}"
    first = _run(crawlspec_exe, sim, db_url, tmp_path, sim_env, "spec.fetch.comments=false")
    assert first.returncode == 0, first.stderr[-2000:]

    def stages() -> tuple[dict, str]:
        status = subprocess.run([crawlspec_exe, "status", "--db", db_url, "--json"], capture_output=True, text=True,
                                timeout=60)
        report = subprocess.run([crawlspec_exe, "report", "--db", db_url, "--out", str(tmp_path / "r.html")],
                                capture_output=True, text=True, timeout=120)
        assert status.returncode == 0 and report.returncode == 0, status.stderr + report.stderr
        [spec] = json.loads(status.stdout)["specs"]
        return spec["stages"], (tmp_path / "r.html").read_text()

    asked, page = stages()   # no stage asked for: none shown, by either
    assert asked == {} and "creators (user info)" not in page and "comments (videos with comments)" not in page
    later = _run(crawlspec_exe, sim, db_url, tmp_path, sim_env, "spec.fetch.comments=false",
                 "spec.fetch.user_info=true", "spec.limits.max_api_requests=2")
    assert later.returncode == 75, later.stderr[-2000:]
    asked, page = stages()
    assert set(asked) == {"creators"} and asked["creators"]["pending"] > 0
    assert "creators (user info)" in page and "comments (videos with comments)" not in page


def test_failed_requests_of_the_stages_are_counted_too(crawlspec_exe, start_sim, sim_env, tmp_path: Path):
    """Every attempt the API charged without delivering (here: injected 500s, also in the comments stage)
    is in `status`'s "quota spent on failed requests"."""
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "staged.yaml").write_text(STAGED)
    sim = start_sim(fail_rate=0.15, seed=11)
    db_url = f"sqlite:///{tmp_path / 'crawl.db'}"
    result = _run(crawlspec_exe, sim, db_url, tmp_path, sim_env, "api.retry.base_wait_s=0", "log.format=json")
    assert result.returncode in (0, 1), result.stderr[-2000:]
    injected = sim.stats()["faults"]
    retries = [json.loads(line) for line in result.stderr.splitlines() if '"api_retry"' in line]
    assert any("comment" in event["endpoint"] for event in retries)   # the comments stage met failures
    status = subprocess.run([crawlspec_exe, "status", "--db", db_url, "--json"], capture_output=True, text=True,
                            timeout=60)
    [spec] = json.loads(status.stdout)["specs"]
    assert spec["failed_requests"]["total"] == sum(injected.values())
