"""The library checks what it is given before any request, with the spec validator's rules: each problem
names the `VideoQueryConfig` (or `ApiClientConfig`) field it is about, all of them at once."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import sqlalchemy as sa
from conftest import SIM_KEY, SIM_SECRET

from crawlspec.api_client import ApiClientConfig, TikTokApiClient, VideoQueryConfig
from crawlspec.client import TikTokApiRequestClient
from crawlspec.client.credentials import Credentials
from crawlspec.errors import SpecError
from crawlspec.spec.query import Cond, Fields, Op, VideoQuery

GB = VideoQuery(and_=[Cond(Fields.region_code, ["GB"], Op.IN)])
BAD_REGION = {"and": [{"operation": "IN", "field_name": "region_code", "field_values": ["XX"]}]}  # a query as a dict


def refusing_client(sent: list[str]) -> TikTokApiClient:
    """A library client whose every request attempt is recorded (none may be sent)."""
    request_client = TikTokApiRequestClient(Credentials(SIM_KEY, SIM_SECRET, "test"), "http://127.0.0.1:9",
                                            before_request=sent.append)
    return TikTokApiClient(ApiClientConfig(engine=sa.create_engine("sqlite://")), request_client=request_client)


@pytest.mark.parametrize(("given", "named"), [
    ({"start_date": date(2024, 3, 10), "end_date": date(2024, 3, 1)},
     "VideoQueryConfig.end_date: 2024-03-01 is before VideoQueryConfig.start_date 2024-03-10"),
    ({"days_per_query": 45}, "VideoQueryConfig.days_per_query: "),
    ({"days_per_query": 0}, "VideoQueryConfig.days_per_query: "),
    ({"query": BAD_REGION},
     "VideoQueryConfig.query.and[0].field_values[0]: 'XX' is not a region code of the API"),
    ({"query": {"and": [{"operation": "IN", "field_name": "region", "field_values": ["GB"]}]}},
     "VideoQueryConfig.query.and[0].field_name: "),
    ({"query": VideoQuery()}, "VideoQueryConfig.query: empty"),
    ({"max_count": 500}, "VideoQueryConfig.max_count: "),
    ({"fields": ("id", "nonsense")}, "VideoQueryConfig.fields[1]: "),
    ({"start_date": "2024/03/01"}, "VideoQueryConfig.start_date: '2024/03/01' is not a date"),
])
@pytest.mark.parametrize("entry", ["fetch_and_store_all", "api_results_iter", "fetch_all"])
def test_a_wrong_field_is_named_before_any_request(given, named, entry):
    sent: list[str] = []
    client = refusing_client(sent)
    fields = {"query": GB, "start_date": date(2024, 3, 1), "end_date": date(2024, 3, 5), **given}
    with pytest.raises(SpecError) as raised:
        getattr(client, entry)(VideoQueryConfig(**fields))
    assert any(problem.startswith(named) for problem in raised.value.problems), raised.value.problems
    assert "spec." not in str(raised.value)          # the library's names, not the spec's keys
    assert sent == []


def test_every_problem_is_reported_at_once():
    sent: list[str] = []
    config = VideoQueryConfig(query=BAD_REGION,
                              start_date=datetime(2024, 3, 9), end_date=datetime(2024, 3, 2), days_per_query=31)
    with pytest.raises(SpecError) as raised:
        refusing_client(sent).fetch_and_store_all(config)
    fields = sorted(problem.split(":")[0].split("[")[0].split(".and")[0] for problem in raised.value.problems)
    assert fields == ["VideoQueryConfig.days_per_query", "VideoQueryConfig.end_date", "VideoQueryConfig.query"]
    assert sent == []


def test_max_api_requests_is_named_on_the_client_config():
    client = TikTokApiClient(ApiClientConfig(max_api_requests=0),
                             request_client=TikTokApiRequestClient(Credentials("k", "s", "t"), "http://127.0.0.1:9"))
    with pytest.raises(SpecError, match=r"^ApiClientConfig\.max_api_requests: "):
        client.fetch_all(VideoQueryConfig(query=GB, start_date=date(2024, 3, 1), end_date=date(2024, 3, 1)))


def test_a_valid_config_still_pages_as_before(start_sim):
    sim = start_sim(videos=300)
    request_client = TikTokApiRequestClient(Credentials(SIM_KEY, SIM_SECRET, "test"), sim.url)
    client = TikTokApiClient(ApiClientConfig(), request_client=request_client)
    result = client.fetch_all(VideoQueryConfig(query=GB, start_date=datetime(2024, 3, 1),
                                               end_date=datetime(2024, 3, 3), days_per_query=3))
    assert result.videos and all(video["region_code"] == "GB" for video in result.videos)
