"""`crawlspec status`: what a researcher (or a script) needs to know after an interrupted crawl."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
    code = ("import sys; from crawlspec.cli import main; rc = main(['status', '--db', 'sqlite:///" +
            str(tmp_path / "nope" / "x.db") + "']); print(rc, 'hydra' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    rc, hydra_loaded = result.stdout.split()
    assert rc == "2" and hydra_loaded == "False"
    assert "nope" in result.stderr and "Traceback" not in result.stderr
