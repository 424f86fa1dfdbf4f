"""Logs: JSON lines under cron/CI (stderr only), secrets redacted whatever path produced a line,
the standard library's records (urllib3, alembic, warnings) included."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawlspec.logs import configure_logging, get_logger, register_secret


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    out = io.StringIO()
    configure_logging("json", "info", stream=out)
    yield out
    configure_logging("auto", "info", stream=io.StringIO())


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_library_warning_is_a_redacted_json_line(stream):
    register_secret("lib-secret-4711")
    logging.getLogger("urllib3.connectionpool").warning("retrying with Bearer %s", "lib-secret-4711")
    logging.getLogger("alembic.runtime.migration").info("Running upgrade")  # below WARNING: silent
    (line,) = lines(stream)
    assert line["event"] == "retrying with Bearer ***" and line["level"] == "warning"
    assert line["logger"] == "urllib3.connectionpool"
    assert "lib-secret-4711" not in stream.getvalue()


def test_python_warnings_go_through_the_same_path(stream):
    register_secret("warn-secret-0815")
    # pytest records warnings itself; call the hook `warnings.warn` ends in, which logging now owns
    warnings.showwarning("token warn-secret-0815 expires soon", UserWarning, "lib.py", 7)
    (line,) = lines(stream)
    assert line["logger"] == "py.warnings"
    assert "expires soon" in line["event"] and "warn-secret-0815" not in stream.getvalue()


def test_structlog_events_mask_secret_keys_values_and_url_passwords(stream):
    register_secret("value-secret-1234")
    get_logger().info("connect", client_secret="anything", note="sent value-secret-1234",
                      url="postgresql://crawler:pw-9876@db:5432/crawls", nested={"password": "x"})
    (line,) = lines(stream)
    assert line["client_secret"] == "***" and line["note"] == "sent ***" and line["nested"] == {"password": "***"}
    assert line["url"] == "postgresql://crawler:***@db:5432/crawls"


@pytest.mark.slow
def test_a_run_without_a_terminal_writes_json_lines_only(crawlspec_exe, start_sim, sim_env, tmp_path: Path):
    sim = start_sim(videos=2000)
    db_url = f"sqlite:///{tmp_path / 'crawl.db'}"
    result = subprocess.run(
        [crawlspec_exe, "run", "+spec=demo", f"api.base_url={sim.url}", "api.credentials_file=null",
         f"db.url={db_url}", "spec.limits.max_count=10", "spec.window.days_per_query=3"],
        cwd=tmp_path, env=sim_env, capture_output=True, text=True, timeout=300)

    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout == ""
    events = [json.loads(line) for line in result.stderr.splitlines()]  # every line is JSON
    pages = [e for e in events if e["event"] == "page"]
    (summary,) = [e for e in events if e["event"] == "run_summary"]
    assert len(pages) == sim.stats()["quota_used"] > 5
    assert summary["videos"] == sum(p["videos"] for p in pages) and summary["requests"] == len(pages)
    assert (summary["outcome"], summary["exit_code"], summary["spec"]) == ("complete", 0, "demo")
    assert {"window", "page", "videos", "cursor", "requests_used", "quota_left"} <= set(pages[0])
    assert "test-client-secret-9f3a7c" not in result.stderr


# a crawl that stops resumably inside its comments stage: the videos take 2 requests, the limit is 4
STOPS_IN_A_STAGE = ("+spec=demo", "api=sim", "spec.window.end=2024-03-03", "spec.fetch.comments=true",
                    "spec.limits.max_api_requests=4")


def json_lines(stderr: str) -> list[dict]:
    events = []
    for line in stderr.splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"not a JSON line on stderr: {line!r}")
    return events


@pytest.mark.slow
@pytest.mark.parametrize(("argv", "summaries"), [
    (("run", *STOPS_IN_A_STAGE), 1),                                               # auto, no terminal
    (("run", "-m", *STOPS_IN_A_STAGE, "spec.query.regions=[US],[FR]", "log.format=json"), 2),
], ids=["single", "sweep"])
def test_a_resumable_stop_logs_json_lines_only_at_warning(crawlspec_exe, tmp_path: Path, argv, summaries):
    result = subprocess.run([crawlspec_exe, *argv, f"db.url=sqlite:///{tmp_path / 'crawl.db'}"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300)

    assert result.returncode == 75, result.stderr[-3000:]
    events = json_lines(result.stderr)
    runs = [e for e in events if e["event"] == "run_summary"]
    stages = [e for e in events if e["event"] == "stage_summary"]
    assert len(runs) == len(stages) == summaries
    assert all((e["level"], e["exit_code"], e["outcome"]) == ("warning", 75, "resumable") for e in runs)
    assert all((e["level"], e["stage"], e["stopped"]) == ("warning", "comments", "limit") for e in stages)
    assert [e["event"] for e in events if e["level"] == "error"] == [], "a resumable stop is no error"
    if summaries > 1:
        (sweep,) = [e for e in events if e["event"] == "sweep_summary"]
        assert (sweep["level"], sweep["exit_code"]) == ("warning", 75)
        assert [job["outcome"] for job in sweep["jobs"]] == ["resumable", "resumable"]


@pytest.mark.slow
def test_the_smoke_test_logs_json_lines_only(crawlspec_exe, tmp_path: Path):
    db_url = f"sqlite:///{tmp_path / 'crawl.db'}"
    subprocess.run([crawlspec_exe, "db", "upgrade", "--db", db_url], check=True, capture_output=True, timeout=120)
    result = subprocess.run([crawlspec_exe, "test", "api=sim", f"db.url={db_url}",
                             "log.format=json"], cwd=tmp_path, capture_output=True, text=True, timeout=300)

    assert result.returncode == 0, result.stderr[-3000:]
    checks = [e["event"] for e in json_lines(result.stderr) if e["event"].endswith("_ok")]
    assert checks == ["database_ok", "credentials_ok", "api_ok"]


@pytest.mark.slow
@pytest.mark.parametrize("argv", [
    ("run", "+spec=no-such-spec"),                                     # found before any job runs
    ("run", "+spec=demo", "db.url=postgresql://crawler:pw-4711@db/crawls)"),   # an override Hydra cannot parse
    ("run", "--no-such-option", "log=json"),
    ("test", "api=sim", "db.url=sqlite:///no-such-dir/crawl.db"),     # a job's error in `crawlspec test`
], ids=["missing-spec", "bad-override", "bad-option", "test-command"])
def test_errors_before_or_outside_a_crawl_are_json_events_too(crawlspec_exe, tmp_path: Path, argv):
    result = subprocess.run([crawlspec_exe, *argv], cwd=tmp_path, capture_output=True, text=True, timeout=120)

    assert result.returncode == 2, result.stderr[-3000:]
    (event,) = json_lines(result.stderr)
    assert (event["event"], event["level"], event["exit_code"]) == ("command_failed", "error", 2)
    assert event["message"].startswith("crawlspec") and "pw-4711" not in result.stderr


@pytest.mark.slow
def test_on_a_terminal_an_error_stays_one_plain_line(crawlspec_exe, tmp_path: Path):
    result = subprocess.run([crawlspec_exe, "run", "+spec=no-such-spec", "log=console"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)

    assert result.returncode == 2
    assert result.stderr.startswith("crawlspec: +spec=no-such-spec: no spec named") and result.stderr.count("\n") == 1
