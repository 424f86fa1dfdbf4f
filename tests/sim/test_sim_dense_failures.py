"""The simulator's failure model for dense windows (`dense_fail_videos`): a video search answers 500
more often the more videos it matches, reproducibly for a seed; off by default."""

from __future__ import annotations

from datetime import date

import pytest
import requests

from crawlspec.sim import SimOptions, start_simulator

KEY, SECRET = "dense-key", "dense-secret"
EVERYTHING = {"and": [{"operation": "IN", "field_name": "video_length",
                       "field_values": ["SHORT", "MID", "LONG", "EXTRA_LONG"]}]}
PATH = "/v2/research/video/query/?fields=id"


def first_pages(sim, windows: list[tuple[str, str]], tries: int) -> list[int]:
    """How many of `tries` first pages of each window answered 500."""
    session = requests.Session()
    token = session.post(sim.url + "/v2/oauth/token/", data={
        "client_key": KEY, "client_secret": SECRET, "grant_type": "client_credentials"}).json()["access_token"]
    session.headers["Authorization"] = f"Bearer {token}"
    failures = []
    for first, last in windows:
        body = {"query": EVERYTHING, "start_date": first, "end_date": last, "max_count": 100}
        statuses = [session.post(sim.url + PATH, json=body, timeout=10).status_code for _ in range(tries)]
        assert set(statuses) <= {200, 500}
        failures.append(statuses.count(500))
    return failures


def simulator(**extra):
    return start_simulator(SimOptions(seed=11, videos=6000, start=date(2024, 3, 1), days=30, client_key=KEY,
                                      client_secret=SECRET, daily_quota=100_000, **extra), port=0)


WINDOWS = [("20240301", "20240301"), ("20240301", "20240307"), ("20240301", "20240330")]


@pytest.mark.slow
def test_bigger_windows_fail_more_often_and_the_same_seed_fails_the_same_requests() -> None:
    with simulator(dense_fail_videos=1000) as sim:
        one_day, week, month = first_pages(sim, WINDOWS, tries=40)
        faults = sim.stats()["faults"]
    assert one_day < week < month, (one_day, week, month)
    assert month >= 30 and one_day <= 12     # ~200/1200 videos a day: chance 1/6 a day, 6/7 a month
    assert faults.get("dense_window") == one_day + week + month
    with simulator(dense_fail_videos=1000) as again:
        assert first_pages(again, WINDOWS, tries=40) == [one_day, week, month]


def test_off_by_default() -> None:
    with simulator() as sim:
        assert first_pages(sim, WINDOWS, tries=5) == [0, 0, 0]


@pytest.mark.slow
def test_a_fault_seed_draws_other_faults_over_the_same_corpus(tmp_path) -> None:
    with simulator(dense_fail_videos=1000) as base:
        failures = first_pages(base, WINDOWS, tries=40)
        base.dump_corpus(tmp_path / "base.jsonl")
    with simulator(dense_fail_videos=1000, fault_seed=3) as other:
        assert first_pages(other, WINDOWS, tries=40) != failures
        other.dump_corpus(tmp_path / "other.jsonl")
    assert (tmp_path / "base.jsonl").read_bytes() == (tmp_path / "other.jsonl").read_bytes()
