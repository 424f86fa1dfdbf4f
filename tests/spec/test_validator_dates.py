"""Impossible dates, quoted or not, in a spec file or as an override, are invalid input naming their key
(exit 2, nothing sent); a window reaching past today or longer than a week of quota is only a warning
(`validate` prints it, `compile` and `run` log it). The installed CLI, as a user runs it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from crawlspec import exit_codes

pytestmark = pytest.mark.slow

MESSAGE = "spec.window.start: '2024-02-30' is not a date; write YYYY-MM-DD"


def _spec(tmp_path: Path, start: str) -> Path:
    (tmp_path / "specs").mkdir(exist_ok=True)
    (tmp_path / "specs" / "case.yaml").write_text(
        f"name: case\nquery: {{regions: [US]}}\nwindow:\n  start: {start}\n  end: 2024-03-05\n")
    return tmp_path


def _cli(exe: str, cwd: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, timeout=120, env=env)


@pytest.mark.parametrize("command", ["validate", "compile", "run"])
@pytest.mark.parametrize("start", ["2024-02-30", '"2024-02-30"'])
def test_an_impossible_date_in_a_spec_file_names_its_key(crawlspec_exe, tmp_path, command, start) -> None:
    result = _cli(crawlspec_exe, _spec(tmp_path, start), command, "+spec=case", "api=sim")
    assert result.returncode == exit_codes.INVALID_INPUT, result.stderr
    assert MESSAGE in result.stderr and "unexpected error" not in result.stderr
    assert not (tmp_path / "crawlspec.db").exists()


@pytest.mark.parametrize("override", ["spec.window.start=2024-02-30", "spec.window.start='2024-02-30'"])
def test_an_impossible_date_as_an_override_names_its_key(crawlspec_exe, tmp_path, override) -> None:
    result = _cli(crawlspec_exe, tmp_path, "run", "+spec=demo", "api=sim", override)
    assert result.returncode == exit_codes.INVALID_INPUT, result.stderr
    assert MESSAGE in result.stderr


def test_an_impossible_simulator_date_names_its_key(crawlspec_exe, tmp_path) -> None:
    result = _cli(crawlspec_exe, tmp_path, "run", "+spec=demo", "api=sim", "api.simulator.start=2024-02-30")
    assert result.returncode == exit_codes.INVALID_INPUT, result.stderr
    assert "api.simulator.start: '2024-02-30' is not a date" in result.stderr


def test_future_and_quota_hungry_windows_are_warnings(crawlspec_exe, tmp_path) -> None:
    import os

    env = {**os.environ, "CRAWLSPEC_TODAY": "2024-03-10"}
    args = ["+spec=demo", "spec.window.start=2024-01-01", "spec.window.end=2024-03-20",
            "spec.window.days_per_query=1", "api.daily_quota=10"]
    validate = _cli(crawlspec_exe, tmp_path, "validate", *args, env=env)
    assert validate.returncode == exit_codes.OK, validate.stderr
    assert "warning: spec.window.end: 2024-03-20 is after today (2024-03-10, UTC)" in validate.stdout
    assert "80 windows need at least 80 requests" in validate.stdout and "(7 x api.daily_quota = 70)" in validate.stdout

    compiled = _cli(crawlspec_exe, tmp_path, "compile", *args, "log.format=json", env=env)
    assert compiled.returncode == exit_codes.OK, compiled.stderr
    assert len(json.loads(compiled.stdout)["windows"]) == 80, "stdout stays data only"
    events = [json.loads(line) for line in compiled.stderr.splitlines() if line.startswith("{")]
    assert [e["key"] for e in events if e["event"] == "plan_warning"] == ["spec.window.end", "spec.window"]


def test_warning_thresholds() -> None:
    from datetime import date

    from crawlspec.spec.compile import compile_spec
    from crawlspec.spec.plan_warnings import plan_warnings

    spec = {"name": "w", "query": {"regions": ["US"]},
            "window": {"start": "2024-01-01", "end": "2024-01-07", "days_per_query": 1}}
    plan = compile_spec(spec)
    assert plan_warnings(plan, daily_quota=1, today=date(2024, 1, 7)) == [], "7 windows = exactly a week"
    assert [w.split(":")[0] for w in plan_warnings(plan, daily_quota=1, today=date(2024, 1, 6))] == [
        "spec.window.end"]
    future = plan_warnings(plan, daily_quota=1000, today=date(2023, 12, 31))
    assert len(future) == 1 and future[0].startswith("spec.window.start: 2024-01-01 is after today")
    plan8 = compile_spec({**spec, "window": {**spec["window"], "end": "2024-01-08"}})
    assert [w.split(":")[0] for w in plan_warnings(plan8, daily_quota=1, today=date(2024, 2, 1))] == [
        "spec.window"]
