"""The installed `crawlspec` executable, run as a user would: compile, validate, sweeps, packaged and
local specs, and a sample of the rejections (the full table runs in-process in test_validator_cli.py)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from support.spec_rejections import REJECTIONS, arrange, listing

pytestmark = pytest.mark.slow  # every test here starts processes

SHOES_QUERY = {
    "and": [
        {"operation": "IN", "field_name": "hashtag_name", "field_values": ["shoes", "sneakerhead", "sneakers", "trainers"]},
        {"operation": "IN", "field_name": "keyword", "field_values": ["boots", "heels", "shoes", "sneakers"]},
        {"operation": "IN", "field_name": "region_code", "field_values": ["FR", "GB", "US"]},
    ],
    "not": [{"operation": "IN", "field_name": "hashtag_name", "field_values": ["ad", "sponsored"]}],
}


def crawlspec(exe: str, cwd: Path, *args: str, today: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CRAWLSPEC_TODAY", "CRAWLSPEC_DEBUG", "HYDRA_FULL_ERROR")}
    if today:
        env["CRAWLSPEC_TODAY"] = today
    return subprocess.run([exe, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def documents(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_compile_packaged_shoes_from_an_empty_directory(crawlspec_exe, tmp_path):
    result = crawlspec(crawlspec_exe, tmp_path, "compile", "+spec=shoes")
    assert result.returncode == 0, result.stderr
    [doc] = documents(result.stdout)
    assert list(doc) == ["spec", "fingerprint", "query", "windows"]
    assert doc["spec"] == "shoes"
    assert doc["query"] == SHOES_QUERY
    # days_per_query: auto: 30-day windows to start with (the crawl may choose smaller ones)
    assert doc["windows"] == [{"start_date": "20240301", "end_date": "20240330"},
                              {"start_date": "20240331", "end_date": "20240331"}]
    assert list(tmp_path.iterdir()) == []


def test_packaged_demo_raw_and_nightly_specs_compile(crawlspec_exe, tmp_path):
    demo = documents(crawlspec(crawlspec_exe, tmp_path, "compile", "+spec=demo").stdout)[0]
    assert demo["query"] == {"and": [{"operation": "IN", "field_name": "hashtag_name",
                                      "field_values": ["shoes", "sneakers"]}]}
    assert demo["windows"] == [{"start_date": "20240301", "end_date": "20240314"}]
    raw = documents(crawlspec(crawlspec_exe, tmp_path, "compile", "+spec=raw_example").stdout)[0]
    assert {"operation": "EQ", "field_name": "video_length", "field_values": ["SHORT"]} in raw["query"]["not"]
    nightly = crawlspec(crawlspec_exe, tmp_path, "compile", "+spec=nightly", today="2024-05-20")
    assert documents(nightly.stdout)[0]["windows"] == [{"start_date": "20240511", "end_date": "20240518"}]


def test_local_spec_shadows_the_packaged_one(crawlspec_exe, tmp_path):
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "shoes.yaml").write_text(
        'name: my-shoes\nquery: {include_any_hashtags: ["#Boots"]}\nwindow: {start: "2024-01-01", end: "2024-01-02"}\n')
    result = crawlspec(crawlspec_exe, tmp_path, "compile", "+spec=shoes")
    assert result.returncode == 0, result.stderr
    [doc] = documents(result.stdout)
    assert doc["spec"] == "my-shoes"
    assert doc["query"] == {"and": [{"operation": "IN", "field_name": "hashtag_name", "field_values": ["boots"]}]}
    assert listing(tmp_path) == ["specs", "specs/shoes.yaml"]


def test_multirun_prints_one_document_per_job(crawlspec_exe, tmp_path):
    result = crawlspec(crawlspec_exe, tmp_path, "compile", "-m", "+spec=shoes", "spec.query.regions=[US],[FR]",
                       "spec.window.days_per_query=7,30")
    assert result.returncode == 0, result.stderr
    docs = documents(result.stdout)
    assert len(docs) == 4
    regions = [d["query"]["and"][2]["field_values"] for d in docs]
    assert sorted(map(tuple, regions)) == [("FR",), ("FR",), ("US",), ("US",)]
    assert sorted(len(d["windows"]) for d in docs) == [2, 2, 5, 5]
    assert len({d["fingerprint"] for d in docs}) == 2  # the window is not part of the fingerprint
    assert list(tmp_path.iterdir()) == []


def test_sweep_with_an_invalid_job_continues_and_exits_2(crawlspec_exe, tmp_path):
    result = crawlspec(crawlspec_exe, tmp_path, "compile", "-m", "+spec=demo", "spec.window.days_per_query=7,45")
    assert result.returncode == 2
    assert len(documents(result.stdout)) == 1
    assert "spec.window.days_per_query: 45 is outside 1..30" in result.stderr


def test_validate_ok_is_one_line(crawlspec_exe, tmp_path):
    result = crawlspec(crawlspec_exe, tmp_path, "validate", "+spec=shoes")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OK: spec shoes is valid") and len(result.stdout.splitlines()) == 1


def test_help_lists_usage_groups_and_specs(crawlspec_exe, tmp_path):
    result = crawlspec(crawlspec_exe, tmp_path, "compile", "--help")
    assert result.returncode == 0
    for fragment in ("usage: crawlspec compile", "api=sim|tiktok", "db=postgres|sqlite", "log=auto|console|json",
                     "demo, nightly, raw_example, shoes", "days_per_query: auto"):
        assert fragment in result.stdout


SUBPROCESS_SAMPLE = ["unknown_spec_key", "yaml_boolean_hashtag", "unknown_region", "any_and_all_hashtags",
                     "empty_query", "end_before_start", "days_per_query_too_big", "raw_eq_two_values",
                     "misspelled_override", "unknown_group_option", "missing_spec", "misspelled_spec_group",
                     "bad_relative_date", "override_syntax"]


@pytest.mark.parametrize("case", SUBPROCESS_SAMPLE)
def test_rejection_through_the_executable(case, crawlspec_exe, tmp_path):
    spec_text, overrides, expected = REJECTIONS[case]
    argv = arrange(tmp_path, spec_text, overrides)
    before = listing(tmp_path)
    result = crawlspec(crawlspec_exe, tmp_path, "validate", *argv)
    assert result.returncode == 2, result.stderr
    for fragment in expected:
        assert fragment in result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr and "HYDRA_FULL_ERROR" not in result.stderr
    assert listing(tmp_path) == before
