"""The validation download, whose format is published nowhere: read tolerantly (a header line, blank
lines, CRLF, quotes, a BOM), refused when it holds anything else, and a refresh against a simulator
writing that shape keeps exactly the still-available videos (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from conftest import SIM_KEY, SIM_SECRET

from crawlspec import exit_codes
from crawlspec.cli.run import run
from crawlspec.client import Credentials
from crawlspec.client.compliance import ComplianceClient
from crawlspec.compliance.download import UnreadableIdFile, parse_valid_ids
from crawlspec.compliance.refresh import Refresher
from crawlspec.sim.compliance import id_file_text
from crawlspec.storage.database import open_database

BIG = 7341290838104993070


@pytest.mark.parametrize("text", [
    f"{BIG}\n{BIG + 1}\n",
    f"video_id\r\n{BIG}\r\n\r\n{BIG + 1}\r\n\r\n",
    f"\ufeffid\n\n  {BIG}  \n\"{BIG + 1}\"\n",
    f"{BIG},{BIG + 1}",
    f"\n\nvalid video ids\n{BIG}\n{BIG + 1}",
], ids=["plain", "header_crlf_blank", "bom_quotes_spaces", "comma_separated", "blank_then_header"])
def test_download_shapes_are_read(text: str) -> None:
    assert parse_valid_ids(text) == {BIG, BIG + 1}


def test_an_empty_download_means_no_id_is_valid() -> None:
    assert parse_valid_ids("") == set() and parse_valid_ids("video_id\r\n\r\n") == set()


@pytest.mark.parametrize("text", [f"{BIG}\nvideo_id\n", f"{BIG}\n12ab\n", "<html>error</html>\n12\nnope"],
                         ids=["header_after_ids", "not_an_id", "html_page"])
def test_anything_else_is_refused_rather_than_read_as_no_valid_ids(text: str) -> None:
    with pytest.raises(UnreadableIdFile):
        parse_valid_ids(text)


def test_the_simulator_writes_the_header_crlf_shape() -> None:
    text = id_file_text([1, 2, 3], "header_crlf")
    assert text.startswith("video_id\r\n") and "\r\n\r\n" in text and "\n" not in text.replace("\r\n", "")
    assert parse_valid_ids(text) == {1, 2, 3}


def test_refresh_reads_a_download_with_a_header_blank_lines_and_crlf(start_sim, db_url, monkeypatch):
    monkeypatch.setenv("CRAWLSPEC_CLIENT_KEY", SIM_KEY)
    monkeypatch.setenv("CRAWLSPEC_CLIENT_SECRET", SIM_SECRET)
    monkeypatch.setenv("CRAWLSPEC_TODAY", "2024-04-01")
    sim = start_sim(videos=1500, unavailable_rate=0.1, compliance_file_style="header_crlf", today=date(2024, 4, 1))
    outcome = run({"db": {"url": db_url}, "api": {"base_url": sim.url, "credentials_file": None,
                                                   "on_quota_exhausted": "exit", "timeout_s": 30},
                   "storage": {"raw_dir": None}, "log": {"format": "json", "level": "warning"}, "run": {},
                   "spec": {"name": "dl", "query": {"include_any_hashtags": ["shoes", "fashion"]},
                            "window": {"start": "2024-03-01", "end": "2024-03-06", "days_per_query": 30}}})
    assert outcome.exit_code == exit_codes.OK, outcome.message
    sim.advance_day()
    sim.advance_day()
    engine = open_database(db_url)
    with engine.connect() as conn:
        before = set(conn.execute(sa.text("SELECT id FROM video")).scalars())
    availability = sim.app.availability
    availability.sync()
    expected = {video_id for video_id in before if availability.video_valid(video_id)}
    assert 0 < len(expected) < len(before)
    client = ComplianceClient(Credentials(SIM_KEY, SIM_SECRET, "test"), sim.url)
    report = Refresher(engine, client, poll_wait_s=0, sleep=lambda _s: None).run()
    assert report.exit_code == exit_codes.OK
    with engine.connect() as conn:
        assert set(conn.execute(sa.text("SELECT id FROM video")).scalars()) == expected
    engine.dispose()
