"""Simulator options reproducing real answers (off by default): whole video pages with lower-case region
codes, and pages carrying one record with a 20-digit id. Crawled over real HTTP into SQLite and PostgreSQL:
regions are stored upper case, the oversize records are quarantined, and no page costs a retry."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import SIM_KEY, SIM_SECRET

from crawlspec import exit_codes
from crawlspec.api.fields import COMMENTS_PATH, VIDEO_QUERY_PATH
from crawlspec.cli.run import run
from crawlspec.client import Credentials, TikTokApiRequestClient, TikTokCommentsRequest, TikTokVideoRequest
from crawlspec.sim.cli import build_parser, options_from
from crawlspec.sim.options import SimOptions
from crawlspec.storage.database import open_database

QUERY = {"and": [{"operation": "IN", "field_name": "hashtag_name", "field_values": ["shoes", "fashion"]}]}


def _config(sim_url: str, db_url: str) -> dict[str, Any]:
    return {"db": {"url": db_url}, "api": {"base_url": sim_url, "credentials_file": None,
                                           "on_quota_exhausted": "exit", "timeout_s": 30},
            "storage": {"raw_dir": None}, "log": {"format": "json", "level": "warning"}, "run": {},
            "spec": {"name": "shapes", "query": {"include_any_hashtags": ["shoes", "fashion"]},
                     "window": {"start": "2024-03-01", "end": "2024-03-04", "days_per_query": 30},
                     "limits": {"max_count": 50}}}


def _page(sim, **request: Any):
    with TikTokApiRequestClient(Credentials(SIM_KEY, SIM_SECRET, "test"), sim.url) as client:
        return client.fetch_videos(TikTokVideoRequest(query=QUERY, start_date="20240301", end_date="20240304",
                                                      max_count=50, **request))


def test_the_real_shapes_are_off_by_default(start_sim) -> None:
    page = _page(start_sim(today=date(2024, 4, 1)))
    assert page.videos and all(v["region_code"].isupper() for v in page.videos if "region_code" in v)
    assert all(v["id"] < 2**63 for v in page.videos)
    assert SimOptions().lowercase_region_rate == 0 and SimOptions().oversize_id_rate == 0


def test_cli_flags_set_the_options() -> None:
    args = build_parser().parse_args(["--lowercase-region-rate", "0.3", "--oversize-id-rate", "0.1",
                                      "--compliance-file-style", "header_crlf"])
    opts = options_from(args)
    assert (opts.lowercase_region_rate, opts.oversize_id_rate, opts.compliance_file_style) == (0.3, 0.1, "header_crlf")
    with pytest.raises(ValueError, match="compliance_file_style"):
        SimOptions(compliance_file_style="xml")


def test_a_lower_case_page_is_the_same_page_on_every_ask(start_sim) -> None:
    sim = start_sim(lowercase_region_rate=0.5, today=date(2024, 4, 1))
    first = _page(sim)
    regions = [v.get("region_code") for v in first.videos]
    again = _page(sim)
    assert [v.get("region_code") for v in again.videos] == regions
    assert all(r is None or r.islower() for r in regions) or all(r is None or r.isupper() for r in regions)


def test_lower_case_regions_and_oversize_ids_are_stored_right_at_one_request_per_page(start_sim, db_url,
                                                                                      monkeypatch) -> None:
    monkeypatch.setenv("CRAWLSPEC_CLIENT_KEY", SIM_KEY)
    monkeypatch.setenv("CRAWLSPEC_CLIENT_SECRET", SIM_SECRET)
    monkeypatch.setenv("CRAWLSPEC_TODAY", "2024-04-01")
    sim = start_sim(lowercase_region_rate=1.0, oversize_id_rate=1.0, today=date(2024, 4, 1))
    assert all(v["region_code"].islower() for v in _page(sim).videos if "region_code" in v)
    before = sim.stats()["requests"].get(VIDEO_QUERY_PATH, 0)
    outcome = run(_config(sim.url, db_url))
    assert outcome.exit_code == exit_codes.OK, outcome.message
    pages = sim.stats()["requests"][VIDEO_QUERY_PATH] - before
    engine = open_database(db_url)
    with engine.connect() as conn:
        regions = conn.execute(sa.text("SELECT DISTINCT region_code FROM video WHERE region_code IS NOT NULL")
                               ).scalars().all()
        stored = conn.execute(sa.text("SELECT count(*) FROM video")).scalar_one()
        quarantined = conn.execute(sa.text("SELECT endpoint, length(record_id) FROM quarantine")).all()
        windows = conn.execute(sa.text("SELECT pages, status FROM crawl_window")).all()
    engine.dispose()
    assert regions and all(code.isupper() for code in regions)
    assert windows == [(pages, "done")], "one request per page: no page retried"
    assert quarantined == [(VIDEO_QUERY_PATH, 20)] * pages, "one oversize record per page, kept whole"
    assert stored == outcome.videos   # the quarantined records are not counted as stored


def test_a_comment_page_can_carry_an_oversize_id(start_sim) -> None:
    sim = start_sim(oversize_id_rate=1.0, today=date(2024, 4, 1))
    video = next(v for v in _page(sim).videos if v.get("comment_count") and v["id"] < 2**63)
    with TikTokApiRequestClient(Credentials(SIM_KEY, SIM_SECRET, "test"), sim.url) as client:
        page = client.fetch_comments(TikTokCommentsRequest(video_id=video["id"]))
    assert client.requests_sent[COMMENTS_PATH] == 1
    assert sum(1 for c in page.comments if c["id"] >= 2**64) == 1
