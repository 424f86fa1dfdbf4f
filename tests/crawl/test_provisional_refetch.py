"""`run.refetch_provisional=true`: covered days whose stored counts were provisional (fetched less than
`api.stats_lag_days` after publication) are fetched again once they are mature, once, at the minimum request
count; days not yet mature wait. Real HTTP to the simulator, SQLite and PostgreSQL."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from conftest import SIM_KEY, SIM_SECRET

from crawlspec import exit_codes
from crawlspec.cli import hydra_app
from crawlspec.cli.run import run
from crawlspec.export.overview import collect_status
from crawlspec.storage.database import open_database

FIRST, LAST = "2024-03-20", "2024-03-25"


def _config(sim_url: str, db_url: str, **run_keys: Any) -> dict[str, Any]:
    return {
        "db": {"url": db_url},
        "api": {"base_url": sim_url, "credentials_file": None, "on_quota_exhausted": "exit", "daily_quota": 1000,
                "index_lag_days": 2, "stats_lag_days": 10, "timeout_s": 30},
        "storage": {"raw_dir": None}, "log": {"format": "json", "level": "warning"},
        "run": {"refetch": False, **run_keys},
        "spec": {"name": "lag", "query": {"include_any_hashtags": ["shoes", "fashion"]},
                 "window": {"start": FIRST, "end": LAST, "days_per_query": 30}, "limits": {"max_count": 100}},
    }


def _crawl_on(day: str, monkeypatch: pytest.MonkeyPatch, config: dict[str, Any]) -> int:
    """Run on a pinned UTC day; returns the research requests it sent."""
    monkeypatch.setenv("CRAWLSPEC_TODAY", day)
    outcome = run(config)
    assert outcome.exit_code == exit_codes.OK, outcome.message
    return outcome.requests


def _videos_on(db_url: str, first: str, last: str) -> int:
    engine = open_database(db_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT create_time FROM video")).scalars().all()
    engine.dispose()
    days = [str(value)[:10] for value in rows]
    return sum(1 for day in days if first <= day <= last)


@pytest.mark.slow
def test_provisional_days_are_refetched_once_when_mature(start_sim, db_url, monkeypatch):
    monkeypatch.setenv("CRAWLSPEC_CLIENT_KEY", SIM_KEY)
    monkeypatch.setenv("CRAWLSPEC_CLIENT_SECRET", SIM_SECRET)
    sim = start_sim(videos=3000, today=date(2024, 4, 20))
    plain, refetching = _config(sim.url, db_url), _config(sim.url, db_url, refetch_provisional=True)
    first = _crawl_on("2024-03-28", monkeypatch, plain)           # every day fetched 3-8 days after publication
    assert first > 0
    assert _crawl_on("2024-04-02", monkeypatch, plain) == 0       # the option is off: covered days stay covered
    status = collect_status(db_url)["metrics"]
    assert status["provisional"] == _videos_on(db_url, FIRST, LAST) > 0
    # on 2024-04-02 (real time of day), videos created up to 10 days earlier are mature: part of 03-23
    assert _videos_on(db_url, FIRST, "2024-03-22") <= status["provisional_now_mature"] <= \
        _videos_on(db_url, FIRST, "2024-03-23")

    # 2024-04-02: days up to 03-22 are mature as a whole; 03-23 (partly) and later are not yet.
    mature = _videos_on(db_url, FIRST, "2024-03-22")
    assert _crawl_on("2024-04-02", monkeypatch, refetching) == math.ceil(mature / 100), "one window, minimum pages"
    assert _crawl_on("2024-04-02", monkeypatch, refetching) == 0, "a day is re-fetched once"
    assert collect_status(db_url)["metrics"]["provisional"] == _videos_on(db_url, "2024-03-23", LAST)

    later = _videos_on(db_url, "2024-03-23", LAST)
    assert _crawl_on("2024-04-10", monkeypatch, refetching) == math.ceil(later / 100)
    assert _crawl_on("2024-04-12", monkeypatch, refetching) == 0
    assert collect_status(db_url)["metrics"]["provisional"] == 0
    engine = open_database(db_url)
    with engine.connect() as conn:
        days = conn.execute(sa.text("SELECT day FROM matured_refetch ORDER BY day")).scalars().all()
    engine.dispose()
    assert [str(day)[:10] for day in days] == [f"2024-03-{d}" for d in range(20, 26)]


def test_the_composed_configuration_has_the_option_off(tmp_path, monkeypatch, capsys) -> None:
    """What `crawlspec run --cfg job` composes from the shipped config groups, not a line of one file."""
    monkeypatch.chdir(tmp_path)
    assert hydra_app.main("run", ["--cfg", "job", "+spec=demo"]) == exit_codes.OK
    composed = yaml.safe_load(capsys.readouterr().out)
    assert composed["run"]["refetch_provisional"] is False
    assert hydra_app.main("run", ["--cfg", "job", "+spec=demo", "run.refetch_provisional=true"]) == exit_codes.OK
    assert yaml.safe_load(capsys.readouterr().out)["run"]["refetch_provisional"] is True
