"""Property: any spec document, valid or not, either compiles or is rejected with exit 2 and a message
naming a key; never a traceback, never exit 1. Mostly in-process (the function the CLI runs),
plus a few runs of the installed executable."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawlspec.cli import hydra_app
from crawlspec.spec.schema import FLAG_FIELDS

# Values a user might plausibly type, including YAML's surprises (yes/no/on, numbers, dates).
scalars = st.one_of(
    st.sampled_from(["US", "GB", "uk", "shoes", "#Shoes", "@Bob", "", " ", "no", "on", "default", "all", "2024-03-01",
                     "20240301", "${days_ago:3}", "${days_ago:x}", "EQ", "IN", "SHORT", "keyword", "region_code"]),
    st.booleans(), st.integers(min_value=-5, max_value=10**20), st.none(),
    st.text(alphabet="abcXYZ019 #@_-.$:{}", max_size=8),
)
lists = st.lists(scalars, max_size=4)
condition = st.fixed_dictionaries(
    {"operation": st.sampled_from(["EQ", "IN", "GT", "LIKE"]),
     "field_name": st.sampled_from(["keyword", "region_code", "video_length", "create_date", "video_id", "hashtag"]),
     "field_values": lists},
    optional={"extra": scalars},
)
raw_query = st.dictionaries(st.sampled_from(["and", "or", "not", "andd"]), st.lists(condition, max_size=2), max_size=3)
query = st.dictionaries(st.sampled_from([*FLAG_FIELDS, "video_ids", "regionz"]), lists, max_size=4).flatmap(
    lambda q: st.one_of(st.just(q), raw_query.map(lambda raw: {**q, "raw": raw})))
window = st.fixed_dictionaries({}, optional={
    "start": st.one_of(scalars, st.sampled_from(["2024-03-01", "2024-02-30", "${days_ago:9}"])),
    "end": st.one_of(scalars, st.sampled_from(["2024-03-31", "2024-01-01", "${days_ago:2}"])),
    "days_per_query": st.one_of(st.integers(min_value=-1, max_value=40), scalars),
})
spec_documents = st.fixed_dictionaries({}, optional={
    "name": st.one_of(st.sampled_from(["ok", "Not OK", "x-1"]), scalars),
    "query": st.one_of(query, scalars),
    "window": st.one_of(window, scalars),
    "tags": st.one_of(lists, scalars),
    "fetch": st.dictionaries(st.sampled_from(["comments", "user_info", "comment"]), scalars, max_size=2),
    "fields": st.one_of(st.sampled_from(["default", "all", "some"]),
                        st.lists(st.sampled_from(["id", "username", "view_cnt", "video_duration"]), max_size=3)),
    "limits": st.dictionaries(st.sampled_from(["max_count", "max_api_requests"]), scalars, max_size=2),
    "colour": scalars,
})
# Whole files of the wrong shape too: a list, a scalar, a mapping with odd keys.
spec_files = st.one_of(spec_documents, spec_documents, lists, scalars,
                       st.dictionaries(st.integers(0, 3), scalars, max_size=2))


def write_spec(directory: Path, document: object) -> None:
    (directory / "specs").mkdir(exist_ok=True)
    (directory / "specs" / "prop.yaml").write_text(yaml.safe_dump(document, sort_keys=False))


def test_valid_generated_specs_do_occur_and_compile(tmp_path, monkeypatch, capsys):
    """Guards the property above against vacuity: a generated-shape spec that is valid compiles."""
    monkeypatch.chdir(tmp_path)
    write_spec(tmp_path, {"name": "x-1", "query": {"regions": ["uk", "US"][1:], "include_any_hashtags": ["#Shoes"]},
                          "window": {"start": "2024-03-01", "end": "2024-03-31", "days_per_query": 30},
                          "fields": ["username"], "fetch": {"comments": True}})
    assert hydra_app.main("compile", ["+spec=prop"]) == 0
    assert json.loads(capsys.readouterr().out)["windows"][-1] == {"start_date": "20240331", "end_date": "20240331"}


def check_outcome(code: int, out: str, err: str) -> None:
    assert "Traceback" not in err
    if code == 0:
        doc = json.loads(out)
        assert set(doc) == {"spec", "fingerprint", "query", "windows"} and doc["windows"]
    else:
        assert code == 2, err
        assert out == ""
        assert err.startswith("crawlspec: ") and len(err.strip()) > len("crawlspec: ")


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=spec_files)
def test_any_spec_compiles_or_is_rejected_with_exit_2(document, tmp_path_factory, capsys):
    directory = tmp_path_factory.mktemp("prop")
    write_spec(directory, document)
    old = Path.cwd()
    os.chdir(directory)
    try:
        code = hydra_app.main("compile", ["+spec=prop"])
    finally:
        os.chdir(old)
    out, err = capsys.readouterr()
    check_outcome(code, out, err)


@pytest.mark.slow
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=spec_files)
def test_any_spec_through_the_executable(document, crawlspec_exe, tmp_path_factory):
    directory = tmp_path_factory.mktemp("prop-cli")
    write_spec(directory, document)
    result = subprocess.run([crawlspec_exe, "compile", "+spec=prop"], cwd=directory, capture_output=True,
                            text=True, timeout=60)
    check_outcome(result.returncode, result.stdout, result.stderr)
