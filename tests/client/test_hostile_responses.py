"""Hostile API answers, served over real HTTP by the scripted stub, crawled through `run_command.run`
in-process (zero retry waits).

What "wrong" means here: a stored video row must be the faithful reading of a video the API sent
(same exact 64-bit id, same integer counts, same strings minus NUL bytes, a lone UTF-16 surrogate as
U+FFFD). A corrupted answer (truncated JSON, HTML error page, empty body, missing keys, wrong paging
types) is never stored in any form: the window is retried (the next, valid page is then stored
exactly) or fails with a message naming the problem. A single corrupted video (wrong types,
out-of-range ints) costs no retry: it is quarantined whole and the rest of its page is stored.
Nothing but a documented exit code comes out: no exception, no traceback.
"""

from __future__ import annotations

import copy
import itertools
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.api_stub import Reply, StubApi, ok

from crawlspec import exit_codes
from crawlspec.api.fields import VIDEO_QUERY_PATH
from crawlspec.cli.run import run
from crawlspec.storage.database import open_database
from crawlspec.text import storable

INT64_MAX = 2**63 - 1
_database_numbers = itertools.count()
DAY = "2024-03-01"
DAY_SECONDS = 1709251200  # 2024-03-01T00:00:00Z
TEXT_COLUMNS = ("username", "region_code", "video_description", "voice_to_text")
INT_COLUMNS = ("like_count", "comment_count", "share_count", "view_count", "music_id", "playlist_id")
HOSTILE_SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                            suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                   HealthCheck.too_slow])


# --- the world: one stub, one migrated template database ------------------------------------------

@pytest.fixture(scope="module")
def stub() -> Iterator[StubApi]:
    api = StubApi().start()
    yield api
    api.stop()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with a secrets file and a migrated SQLite template (copied for each example)."""
    root = tmp_path_factory.mktemp("hostile")
    (root / "secrets.yaml").write_text("client_key: hostile-key\nclient_secret: hostile-secret-value\n")
    open_database(f"sqlite:///{root / 'template.db'}").dispose()
    return root


def crawl(stub: StubApi, world: Path, replies: list[Reply], name: str) -> tuple[int, str, Path]:
    """Run a one-day crawl against `replies`; returns (exit code, run message, database file)."""
    stub.replies.clear()
    stub.seen.clear()
    stub.script(VIDEO_QUERY_PATH, *replies)
    db = world / f"{name}-{next(_database_numbers)}.db"   # a new file: no WAL of an earlier example
    shutil.copyfile(world / "template.db", db)
    config: dict[str, Any] = {
        "db": {"url": f"sqlite:///{db}"},
        "api": {"base_url": stub.url, "credentials_file": str(world / "secrets.yaml"),
                "on_quota_exhausted": "exit", "daily_quota": 1000, "index_lag_days": 2, "timeout_s": 10,
                "retry": {"max_tries": 3, "base_wait_s": 0, "search_id_wait_s": 0, "search_id_tries": 2}},
        "storage": {"raw_dir": None},
        "log": {"format": "json", "level": "warning"},
        "run": {"refetch": False},
        "spec": {"name": "hostile", "query": {"include_any_hashtags": ["shoes"]},
                 "window": {"start": DAY, "end": DAY, "days_per_query": 1}},
    }
    outcome = run(config)
    return outcome.exit_code, outcome.message, db


def stored_videos(db: Path) -> dict[int, dict[str, Any]]:
    engine = sa.create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(
                f"SELECT id, {', '.join(INT_COLUMNS + TEXT_COLUMNS)} FROM video")).mappings().all()
            tags = conn.execute(sa.text(
                "SELECT l.video_id, h.name FROM videos_to_hashtags l JOIN hashtag h ON h.id = l.hashtag_id"))
            by_video: dict[int, set[str]] = {}
            for video_id, name in tags:
                by_video.setdefault(video_id, set()).add(name)
    finally:
        engine.dispose()
    return {row["id"]: {**row, "hashtag_names": by_video.get(row["id"], set())} for row in rows}


def failed_windows(err: str) -> list[str]:
    """The `error` of every event about a window that failed (`window_failed`; a day still failing with
    5xx is recorded as failing instead), among the JSON log lines on stderr."""
    events = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    return [event["error"] for event in events if "window" in event and "error" in event]


def expected_row(video: dict[str, Any]) -> dict[str, Any]:
    """The faithful reading of a valid API video: ints as sent, strings and names without NUL, each lone
    surrogate replaced by U+FFFD."""
    def clean(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        return "".join("\ufffd" if "\ud800" <= char <= "\udfff" else char for char in value if char != "\x00")

    row = {"id": video["id"], **{name: video.get(name) for name in INT_COLUMNS},
           **{name: clean(video.get(name)) for name in TEXT_COLUMNS}}
    row["hashtag_names"] = {clean(n) for n in video.get("hashtag_names") or [] if clean(n)}
    region = row["region_code"]
    if region is not None and region.isascii():
        row["region_code"] = region.upper()   # region codes are stored upper case
    return row


# --- valid pages ------------------------------------------------------------------------------------

# Text as JSON can carry it: NUL characters and lone surrogates (half an emoji, escaped as \\ud83d) that
# no database can store as they are.
awkward_text = st.builds(lambda text, tail: text + tail,
                          st.text(alphabet=st.characters(codec="utf-8"), max_size=20),
                          st.sampled_from(["", "", "\x00", "\ud83d", "x\ude00\x00", "\udbff\ud800"]))
# A region code fits its column (8 characters); longer ones are quarantined.
region_text = st.builds(lambda text, tail: text + tail, st.text(alphabet=st.characters(codec="utf-8"), max_size=5),
                        st.sampled_from(["", "", "\x00", "\ud83d", "x\ude00\x00"]))
counts = st.integers(min_value=0, max_value=INT64_MAX)
video_ids = st.integers(min_value=1, max_value=INT64_MAX)


@st.composite
def valid_videos(draw: st.DrawFn) -> list[dict[str, Any]]:
    ids = draw(st.lists(video_ids, min_size=1, max_size=5, unique=True))
    videos = []
    for video_id in ids:
        video: dict[str, Any] = {"id": video_id, "create_time": DAY_SECONDS + draw(st.integers(0, 86399))}
        for name in INT_COLUMNS:
            if draw(st.booleans()):
                video[name] = draw(counts)
        for name in TEXT_COLUMNS:
            if draw(st.booleans()):
                video[name] = draw(region_text if name == "region_code" else awkward_text)
        video["hashtag_names"] = draw(st.lists(awkward_text.filter(lambda s: s.strip("\x00")), max_size=3))
        videos.append(video)
    return videos


def final_page(videos: list[dict[str, Any]]) -> Reply:
    return ok({"videos": videos, "cursor": len(videos), "has_more": False, "search_id": "7301"})


GOOD_VIDEOS = [{"id": 7_300_000_000_000_000_001 + i, "create_time": DAY_SECONDS + i, "like_count": i,
                "username": f"good_{i}", "hashtag_names": ["shoes"]} for i in range(3)]


# --- corruptions: each one is never storable ----------------------------------------------------------

HTML_PAGE = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
not_an_int = st.one_of(st.text(max_size=6).filter(lambda s: not s.strip().lstrip("-").isdigit()),
                       st.floats(allow_nan=True), st.booleans(), st.lists(st.integers(), max_size=2),
                       st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
too_big = st.one_of(st.integers(min_value=2**63, max_value=2**200), st.integers(max_value=-(2**63) - 1,
                                                                                min_value=-(2**200)))
# Storage reads an integral float (3.0) as its exact integer: not a corruption of a single record.
not_an_exact_int = not_an_int.filter(lambda v: not (isinstance(v, float) and v.is_integer()))
not_a_string = st.one_of(st.integers(), st.lists(st.text(max_size=3), max_size=2), st.booleans(),
                         st.dictionaries(st.text(max_size=3), st.text(max_size=3), max_size=2))
not_a_name_list = st.one_of(st.text(max_size=5), st.integers(), st.dictionaries(st.text(max_size=3),
                                                                                 st.text(max_size=3)),
                            st.lists(st.one_of(st.integers(), st.none(), st.booleans()), min_size=1, max_size=2))


def _page_bytes(videos: list[dict[str, Any]]) -> bytes:
    return json.dumps(final_page(videos).body).encode()


@st.composite
def broken_bodies(draw: st.DrawFn) -> Reply:
    """Bodies that are not a JSON envelope at all."""
    whole = _page_bytes(draw(valid_videos()))
    kind = draw(st.sampled_from(["truncated", "html", "empty", "binary", "not_object"]))
    status = draw(st.sampled_from([200, 500, 502, 503, 504]))
    if kind == "truncated":
        return Reply(status, whole[:draw(st.integers(0, len(whole) - 1))])
    if kind == "html":
        return Reply(draw(st.sampled_from([200, 400, 403, 404, 500, 502, 504])), HTML_PAGE)
    if kind == "empty":
        return Reply(status, b"")
    if kind == "binary":
        return Reply(status, draw(st.binary(min_size=1, max_size=40)))
    return Reply(status, json.dumps(draw(st.sampled_from([[], [1, 2], "ok", 42, None, True]))).encode())


@st.composite
def broken_envelopes(draw: st.DrawFn) -> Reply:
    """A JSON object whose envelope or paging keys are wrong."""
    body = copy.deepcopy(final_page(draw(valid_videos())).body)
    kind = draw(st.sampled_from(["no_data", "data_type", "videos_type", "has_more", "cursor", "error_type"]))
    if kind == "no_data":
        del body["data"]
    elif kind == "data_type":
        body["data"] = draw(st.one_of(st.text(max_size=5), st.integers(), st.lists(st.integers(), max_size=2)))
    elif kind == "videos_type":
        body["data"]["videos"] = draw(st.one_of(st.text(max_size=5), st.integers(), st.booleans(),
                                                st.dictionaries(st.text(max_size=3), st.integers())))
    elif kind == "has_more":
        body["data"]["has_more"] = draw(st.sampled_from(["false", "true", 0, 1, [], {}]))
    elif kind == "cursor":
        body["data"]["cursor"] = draw(st.one_of(st.text(max_size=4), st.floats(), st.integers(max_value=-1),
                                                too_big))
    else:
        # no page: an error that is not an object, or an error code with the data still there
        error = draw(st.sampled_from([{"code": "internal_error", "message": "boom"}, "ok", 5, None]))
        body["error"] = error
        if not isinstance(error, dict):
            del body["data"]
    return Reply(200, body)


@st.composite
def broken_videos(draw: st.DrawFn) -> Reply:
    """A well-formed page with one corrupted video among valid ones."""
    videos = copy.deepcopy(draw(valid_videos()))
    victim = videos[draw(st.integers(0, len(videos) - 1))]
    victim["victim"] = True
    kind = draw(st.sampled_from(["no_id", "id", "int_field", "text_field", "names", "create_time"]))
    if kind == "no_id":
        del victim["id"]
    elif kind == "id":
        victim["id"] = draw(st.one_of(not_an_exact_int, too_big))
    elif kind == "int_field":
        victim[draw(st.sampled_from(INT_COLUMNS))] = draw(st.one_of(not_an_exact_int, too_big))
    elif kind == "text_field":
        victim[draw(st.sampled_from(TEXT_COLUMNS))] = draw(not_a_string)
    elif kind == "names":
        victim[draw(st.sampled_from(["hashtag_names", "effect_ids"]))] = draw(not_a_name_list)
    elif kind == "create_time":
        victim["create_time"] = draw(st.one_of(not_an_exact_int, too_big, st.integers(min_value=2**40, max_value=2**62),
                                               st.integers(max_value=-1, min_value=-(2**40))))
    return Reply(200, {"data": {"videos": videos, "cursor": len(videos), "has_more": False, "search_id": "1"},
                       "error": {"code": "ok", "message": "", "log_id": "LOG-HOSTILE"}})


corruptions = st.one_of(broken_bodies(), broken_envelopes())


# --- properties -------------------------------------------------------------------------------------

@pytest.mark.slow
@HOSTILE_SETTINGS
@given(corrupt=corruptions, repeats=st.integers(min_value=1, max_value=3))
def test_a_corrupted_answer_is_retried_or_fails_the_window_and_is_never_stored(stub, world, capsys, corrupt,
                                                                               repeats):
    code, message, db = crawl(stub, world, [corrupt] * repeats + [final_page(GOOD_VIDEOS)], "corrupt")
    err = capsys.readouterr().err
    stored = stored_videos(db)
    assert "Traceback" not in err and "Traceback" not in message
    assert code in (exit_codes.OK, exit_codes.FAILURE), (code, message, err[-2000:])
    if code == exit_codes.OK:
        # retried past the corruption: exactly the valid page, value for value
        assert stored == {v["id"]: expected_row(v) for v in GOOD_VIDEOS}
    else:
        assert stored == {}, "a failed window stores nothing"
        errors = failed_windows(err)
        assert errors and all(e.startswith(f"{VIDEO_QUERY_PATH}: HTTP ") for e in errors), \
            "the message names the endpoint and status"


@pytest.mark.slow
@settings(HOSTILE_SETTINGS, max_examples=20)
@given(page=broken_videos())
def test_one_corrupted_video_is_quarantined_whole_and_costs_no_retry(stub, world, capsys, page):
    code, message, db = crawl(stub, world, [page, final_page(GOOD_VIDEOS)], "quarantine")
    err = capsys.readouterr().err
    assert (code, message) == (exit_codes.OK, ""), err[-2000:]
    assert len(stub.research(VIDEO_QUERY_PATH)) == 1, "no retry for a record that cannot be stored"
    videos = page.body["data"]["videos"]
    victim = next(video for video in videos if video.get("victim"))
    assert stored_videos(db) == {v["id"]: expected_row(v) for v in videos if v is not victim}
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        (raw, log_id, endpoint), = conn.execute(sa.text("SELECT raw_json, log_id, endpoint FROM quarantine")).all()
        assert conn.execute(sa.text("SELECT count(*) FROM covered_day")).scalar() == 1
    engine.dispose()
    assert json.loads(raw) == storable(json.loads(json.dumps(victim))) and (log_id, endpoint) == ("LOG-HOSTILE",
                                                                                       VIDEO_QUERY_PATH)


@pytest.mark.slow
@HOSTILE_SETTINGS
@given(videos=valid_videos())
def test_valid_quirky_pages_are_stored_exactly(stub, world, capsys, videos):
    """NUL bytes, lone surrogates, 64-bit ids beyond 2**53, omitted keys: stored faithfully, first try."""
    code, message, db = crawl(stub, world, [final_page(videos)], "quirky")
    err = capsys.readouterr().err
    assert (code, message) == (exit_codes.OK, ""), err[-2000:]
    assert stored_videos(db) == {v["id"]: expected_row(v) for v in videos}
    assert len(stub.research(VIDEO_QUERY_PATH)) == 1


@pytest.mark.slow
@pytest.mark.parametrize("corrupt,attempts", [
    (Reply(200, b'{"data": {"videos": [{"id": 1, "like_count": "many"'), 2),
    (Reply(502, HTML_PAGE), 3),
    (Reply(200, b""), 2),
    (Reply(200, {"data": {"videos": "none", "has_more": False}, "error": {"code": "ok"}}), 2),
    (Reply(200, {"data": {"videos": [5], "has_more": False}, "error": {"code": "ok"}}), 2),
    (Reply(200, b'{"data": {"videos": [{"id": 3, "video_label": NaN}], "has_more": false}, "error": {"code": "ok"}}'),
     2),
], ids=["truncated", "html_502", "empty", "videos_not_list", "item_not_object", "nan_token"])
def test_a_persistently_corrupted_window_fails_with_the_reason_and_stores_nothing(stub, world, capsys, corrupt,
                                                                                 attempts):
    """A 2xx body that is not a usable page is retried once (every attempt is charged); a 5xx as the
    retry policy says (3 attempts here)."""
    code, message, db = crawl(stub, world, [corrupt] * 3, "persistent")
    err = capsys.readouterr().err
    assert code == exit_codes.FAILURE and message == ""
    assert stored_videos(db) == {}
    assert len(stub.research(VIDEO_QUERY_PATH)) == attempts
    errors = failed_windows(err)
    assert errors and all(f"gave up after {attempts} attempts" in e for e in errors), err[-2000:]
    assert "Traceback" not in err
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM covered_day")).scalar() == 0, \
            "a corrupted page must never mark its days covered"
    engine.dispose()
