"""Raw response archive: gzip JSON lines readable back, no token or secret in the bytes, clear errors."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
import structlog
from support.api_stub import StubApi, api_error, ok, running_stub

from crawlspec.api.fields import VIDEO_QUERY_PATH
from crawlspec.client import Credentials, RawArchive, RetryPolicy, TikTokApiRequestClient, TikTokVideoRequest
from crawlspec.errors import CrawlspecError
from crawlspec.logs import configure_logging

SECRET = "archive-secret-abcdef-0042"
KEY = "archive-key-5555"
QUERY = {"and": [{"operation": "EQ", "field_name": "keyword", "field_values": ["shoes"]}]}


@pytest.fixture
def stub() -> Iterator[StubApi]:
    with running_stub() as api:
        yield api


def read_lines(directory: Path) -> list[dict]:
    lines = []
    for path in sorted(directory.glob("raw-*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            lines.extend(json.loads(line) for line in fh)
    return lines


def test_responses_archived_as_gzip_json_lines_without_token_or_secret(stub: StubApi, tmp_path: Path) -> None:
    stub.script(VIDEO_QUERY_PATH, api_error(500, "internal_error", "boom", "L500"), api_error(
        401, "access_token_invalid", "Access token is invalid"),
        ok({"videos": [{"id": 2**63 - 1, "username": "a\u0000"}], "cursor": 1, "has_more": False,
            "search_id": "77"}))
    stream = io.StringIO()
    configure_logging("json", "debug", stream=stream)
    try:
        client = TikTokApiRequestClient(Credentials(KEY, SECRET, "environment"), stub.url,
                                        retry=RetryPolicy(base_wait_s=0), sleep=lambda s: None,
                                        raw_archive=RawArchive(tmp_path / "raw"))
        client.fetch_videos(TikTokVideoRequest(QUERY, "20240101", "20240102"))
    finally:
        structlog.reset_defaults()
    lines = read_lines(tmp_path / "raw")
    assert [(line["endpoint"], line["status"]) for line in lines] == [
        (VIDEO_QUERY_PATH, 500), (VIDEO_QUERY_PATH, 401), (VIDEO_QUERY_PATH, 200)]
    assert lines[0]["request"] == {"query": QUERY, "start_date": "20240101", "end_date": "20240102",
                                   "max_count": 100, "is_random": False}
    assert lines[2]["response"]["data"]["videos"][0]["id"] == 2**63 - 1
    assert all(line["ts"].endswith("+00:00") for line in lines)
    tokens = [f"clt.stub-token-{n}" for n in (1, 2)]
    everything = b"".join(gzip.decompress(p.read_bytes()) + p.read_bytes() for p in (tmp_path / "raw").iterdir())
    logs = stream.getvalue()
    assert "api_retry" in logs and "L500" in logs
    for secret in [SECRET, KEY, *tokens]:
        assert secret.encode() not in everything
        assert secret not in logs


def test_non_json_body_archived_as_text(tmp_path: Path) -> None:
    archive = RawArchive(tmp_path)
    archive.record(VIDEO_QUERY_PATH, {"q": 1}, 504, "<html>504</html>")
    archive.record(VIDEO_QUERY_PATH, {"q": 2}, 200, {"data": {}})
    (path,) = tmp_path.glob("raw-*.jsonl.gz")
    assert [line["response"] for line in read_lines(tmp_path)] == ["<html>504</html>", {"data": {}}]
    assert path.read_bytes().count(b"\x1f\x8b") >= 2  # one gzip member per line


def test_half_an_emoji_is_archived_as_received(tmp_path: Path) -> None:
    # JSON can escape a lone surrogate (a UTF-16 truncation); it has no UTF-8 form, so the archive keeps
    # its JSON escape and reads back to the very string the API sent.
    archive = RawArchive(tmp_path)
    archive.record(VIDEO_QUERY_PATH, {"q": 1}, 200, {"data": {"videos": [{"video_description": "cut \ud83d"}]}})
    (line,) = read_lines(tmp_path)
    assert line["response"]["data"]["videos"][0]["video_description"] == "cut \ud83d"


def test_registered_secret_in_a_response_is_redacted(tmp_path: Path) -> None:
    from crawlspec.logs import register_secret

    register_secret("leaky-secret-value-31337")
    RawArchive(tmp_path).record(VIDEO_QUERY_PATH, {}, 200, {"echo": "leaky-secret-value-31337"})
    assert read_lines(tmp_path)[0]["response"] == {"echo": "***"}


def test_directory_that_cannot_be_created_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(CrawlspecError) as info:
        RawArchive(blocker / "raw")
    assert str(blocker / "raw") in str(info.value) and "storage.raw_dir" in str(info.value)


def test_write_failure_names_the_directory(tmp_path: Path) -> None:
    moment = datetime(2024, 3, 1, 12, tzinfo=timezone.utc)
    archive = RawArchive(tmp_path / "raw", now=lambda: moment)
    # Make the day's file path a directory: the append fails even when running as root.
    archive.path_for(moment).mkdir()
    with pytest.raises(CrawlspecError) as info:
        archive.record(VIDEO_QUERY_PATH, {}, 200, {})
    assert str(tmp_path / "raw") in str(info.value) and "cannot be written" in str(info.value)
