"""One rule for the daily limit of each quota pool, shared by `run`, `refresh`, `status` and the library:
the followers/following pool is the API's own 20,000 a day, not a multiple of the research budget."""

from __future__ import annotations

from pathlib import Path

from crawlspec.api.fields import quota_pool_limits
from crawlspec.api_client import ApiClientConfig, TikTokApiClient
from crawlspec.cli.run import quota_limits
from crawlspec.export.overview import collect_status
from crawlspec.storage.database import open_database


def test_a_smaller_research_budget_leaves_the_follow_pool_alone() -> None:
    assert quota_pool_limits(500) == {"research": 500, "follow": 20_000}
    assert quota_pool_limits(500, 3_000) == {"research": 500, "follow": 3_000}


def test_run_status_and_the_library_agree_on_the_follow_pool(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CRAWLSPEC_CLIENT_KEY", "k")
    monkeypatch.setenv("CRAWLSPEC_CLIENT_SECRET", "s")
    url = f"sqlite:///{tmp_path / 'pools.db'}"
    open_database(url).dispose()

    run_limits = quota_limits({"daily_quota": 500})
    status = collect_status(url, daily_quota=500)["quota"]
    library = TikTokApiClient(ApiClientConfig(engine=None, api_credentials_file=None, daily_quota=500))

    assert run_limits == {"research": 500, "follow": 20_000}
    assert {pool: status[pool]["limit"] for pool in status if pool in run_limits} == run_limits
    assert dict(library.ledger.limits) == run_limits
