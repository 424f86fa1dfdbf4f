"""`api=sim` takes the simulator's failure modes as config keys (`api.simulator.*`), checked like every
other key: the installed CLI, as a user runs it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from crawlspec import exit_codes

pytestmark = pytest.mark.slow


def _run(exe: str, cwd: Path, *overrides: str) -> subprocess.CompletedProcess:
    return subprocess.run([exe, "run", "+spec=demo", "api=sim", "log.format=json", *overrides], cwd=cwd,
                          capture_output=True, text=True, timeout=180)


def _summary(result: subprocess.CompletedProcess) -> dict:
    events = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    return next(e for e in reversed(events) if e["event"] in ("run_summary", "command_failed"))


def test_an_endpoint_the_embedded_simulator_refuses_stops_that_stage_only(crawlspec_exe, tmp_path) -> None:
    result = _run(crawlspec_exe, tmp_path, "api.simulator.unauthorized_endpoints=[comments]",
                  "spec.fetch.comments=true")
    assert result.returncode == exit_codes.CREDENTIALS_REJECTED, result.stderr
    summary = _summary(result)
    assert summary["stored"] == {"videos": 376}            # the video stage is complete all the same
    assert "scope_not_authorized" in result.stderr and "the embedded simulator" in result.stderr


def test_an_empty_outage_of_the_embedded_simulator_covers_no_day(crawlspec_exe, tmp_path) -> None:
    result = _run(crawlspec_exe, tmp_path, "api.simulator.empty_outage=all")
    assert result.returncode == exit_codes.OK, result.stderr
    assert _summary(result)["videos"] == 0
    # an empty answer is asked again later (run.confirm_empty_after_hours), never covered at once
    again = _run(crawlspec_exe, tmp_path, "run.confirm_empty_after_hours=0")
    assert again.returncode == exit_codes.OK, again.stderr
    assert _summary(again)["videos"] == 376


@pytest.mark.parametrize(("override", "message"), [
    ("api.simulator.hidden_likes_status=404", "api.simulator.hidden_likes_status: 404"),
    ("api.simulator.empty_outage=some", "api.simulator.empty_outage: 'some' is not one of keyword, all"),
    ("api.simulator.empty_outage_requests=-1", "api.simulator.empty_outage_requests: -1 is below the minimum 0"),
])
def test_a_bad_simulator_option_names_its_key(crawlspec_exe, tmp_path, override: str, message: str) -> None:
    result = _run(crawlspec_exe, tmp_path, override)
    assert result.returncode == exit_codes.INVALID_INPUT, result.stderr
    assert message in result.stderr
    assert not (tmp_path / "crawlspec.db").exists()
