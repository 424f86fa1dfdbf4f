"""Export round trips on SQLite and PostgreSQL: csv, JSON lines and Parquet, read back with pandas (the
README's one-liners) and with plain parsers, equal the database rows; ids stay exact above 2^53 and at
2^63-1; list columns, JSON columns, NULLs, unicode; the --tag / --spec filters."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from support.databases import copy_sqlite, sqlite_path
from support.export_data import ABOVE_2_53, MAX_ID, VIDEO_IDS, canonical, database_rows, populate

from crawlspec.errors import SpecError
from crawlspec.export.table import export_table
from crawlspec.storage.database import open_database

LIST_COLUMNS = {"hashtag_names", "effect_ids", "crawl_tags"}
JSON_COLUMNS = {"extra_data", "query", "overrides"}
ROUND_TRIP_TABLES = ["video", "comment", "user_info", "crawl"]
BOTH_CRAWLS = 7_000_000_000_000_000_001


@pytest.fixture(scope="session")
def populated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The export test data in a SQLite file, written once and copied by `crawl_db`."""
    path = tmp_path_factory.mktemp("populated") / "crawl.db"
    populate(f"sqlite:///{path}").dispose()
    return path


@pytest.fixture
def crawl_db(db_url: str, request: pytest.FixtureRequest) -> Iterator[tuple[str, Engine]]:
    if sqlite_path(db_url) is None:
        engine = populate(db_url)
    else:
        copy_sqlite(request.getfixturevalue("populated_sqlite"), db_url)
        engine = open_database(db_url)
    yield db_url, engine
    engine.dispose()


def _export(url: str, table: str, fmt: str, out: Path, **options: Any) -> Path:
    result = export_table(url, table, str(out), fmt=fmt, **options)
    assert result.out == str(out)
    return out


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


# ---- csv ----------------------------------------------------------------------------------------

def _expected_csv_cell(name: str, value: Any) -> Any:
    if name in LIST_COLUMNS:
        return ";".join(value) or None
    if value is None or value == "":
        return None  # csv cannot tell an empty string from NULL: both are an empty field
    return canonical(value)


def _csv_cell(name: str, value: Any) -> Any:
    if _missing(value):
        return None
    if name in JSON_COLUMNS:
        return json.loads(value)
    if hasattr(value, "item"):
        value = value.item()  # numpy scalar -> Python
    return value


@pytest.mark.parametrize("table", ROUND_TRIP_TABLES)
def test_csv_round_trip(crawl_db: tuple[str, Engine], tmp_path: Path, table: str) -> None:
    url, engine = crawl_db
    out = _export(url, table, "csv", tmp_path / f"{table}.csv")
    # The README's one-liner: nullable ints stay exact, "NA"/"NULL"/"None" stay text.
    frame = pd.read_csv(out, dtype_backend="numpy_nullable", keep_default_na=False, na_values=[""])
    expected = database_rows(engine, table)
    assert len(frame) == len(expected)
    assert list(frame.columns) == list(expected[0])
    for want, got in zip(expected, frame.to_dict("records"), strict=True):
        assert {k: _csv_cell(k, v) for k, v in got.items()} == {k: _expected_csv_cell(k, v) for k, v in want.items()}
    for name, dtype in frame.dtypes.items():
        if name in ("id", "music_id", "like_count", "follower_count", "video_id", "parent_comment_id"):
            assert str(dtype) == "Int64", f"{name} read back as {dtype}"
    raw = out.read_text(encoding="utf-8")
    assert "\x00" not in raw and "e+" not in raw and "E+" not in raw


def test_csv_ids_exact_and_lists_joined(crawl_db: tuple[str, Engine], tmp_path: Path) -> None:
    url, _ = crawl_db
    frame = pd.read_csv(_export(url, "video", "csv", tmp_path / "v.csv"), dtype_backend="numpy_nullable",
                        keep_default_na=False, na_values=[""]).set_index("id")
    assert [int(i) for i in frame.index] == VIDEO_IDS
    assert int(frame.loc[MAX_ID, "music_id"]) == ABOVE_2_53
    assert frame.loc[MAX_ID, "hashtag_names"] == "shoes;zebra;Äpfel"  # sorted by code point
    assert frame.loc[BOTH_CRAWLS, "crawl_tags"] == "hats;nightly;shoes"
    assert frame.loc[12345, "username"] == "NA" and frame.loc[12345, "region_code"] == "NULL"
    # an instant with its UTC offset (a naive time would not compare with an aware one)
    assert pd.Timestamp(frame.loc[MAX_ID, "create_time"]) == pd.Timestamp("2024-03-01T12:00:00Z")


def test_csv_drops_nul_written_by_a_foreign_writer(sqlite_url: str, tmp_path: Path) -> None:
    engine = populate(sqlite_url)
    with engine.begin() as conn:  # storage strips NUL; a raw writer may not
        conn.execute(sa.text("UPDATE video SET voice_to_text = 'a' || char(0) || 'b' WHERE id = 12345"))
    engine.dispose()
    raw = _export(sqlite_url, "video", "csv", tmp_path / "v.csv").read_bytes()
    assert b"\x00" not in raw and b",ab," in raw


# ---- JSON lines ---------------------------------------------------------------------------------

@pytest.mark.parametrize("table", ROUND_TRIP_TABLES)
def test_jsonl_round_trip(crawl_db: tuple[str, Engine], tmp_path: Path, table: str) -> None:
    url, engine = crawl_db
    out = _export(url, table, "jsonl", tmp_path / f"{table}.jsonl")
    lines = out.read_text(encoding="utf-8").splitlines()
    expected = [{k: canonical(v) for k, v in row.items()} for row in database_rows(engine, table)]
    assert [json.loads(line) for line in lines] == expected
    assert all("\x00" not in line for line in lines)


def test_jsonl_with_pandas_keeps_ids_and_lists(crawl_db: tuple[str, Engine], tmp_path: Path) -> None:
    url, _ = crawl_db
    out = _export(url, "video", "jsonl", tmp_path / "v.jsonl")
    frame = pd.read_json(out, lines=True, engine="pyarrow", dtype_backend="pyarrow").set_index("id")
    assert list(frame.index) == VIDEO_IDS
    assert str(frame["music_id"].dtype) == "int64[pyarrow]"
    assert frame.loc[MAX_ID, "music_id"] == ABOVE_2_53 and pd.isna(frame.loc[12345, "music_id"])
    assert list(frame.loc[MAX_ID, "effect_ids"]) == ["42", "9007199254740993"]
    assert frame.loc[MAX_ID, "extra_data"]["nested"]["big"] == 2**62 + 7


# ---- Parquet ------------------------------------------------------------------------------------

@pytest.mark.parametrize("table", ROUND_TRIP_TABLES)
def test_parquet_round_trip(crawl_db: tuple[str, Engine], tmp_path: Path, table: str) -> None:
    url, engine = crawl_db
    out = _export(url, table, "parquet", tmp_path / f"{table}.parquet")
    got = pq.read_table(out).to_pylist()
    for row in got:
        for name in JSON_COLUMNS & set(row):
            row[name] = None if row[name] is None else json.loads(row[name])
    assert got == database_rows(engine, table)  # aware UTC datetimes compare by instant


def test_parquet_schema_is_explicit(crawl_db: tuple[str, Engine], tmp_path: Path) -> None:
    url, _ = crawl_db
    schema = pq.read_schema(_export(url, "video", "parquet", tmp_path / "v.parquet"))
    assert schema.field("id").type == pa.int64()
    assert schema.field("music_id").type == pa.int64()  # nullable, still int64
    assert schema.field("create_time").type == pa.timestamp("us", tz="UTC")
    assert schema.field("hashtag_names").type == pa.list_(pa.string())
    assert schema.field("extra_data").type == pa.string()


def test_parquet_with_pandas_keeps_nullable_ids(crawl_db: tuple[str, Engine], tmp_path: Path) -> None:
    url, _ = crawl_db
    out = _export(url, "video", "parquet", tmp_path / "v.parquet")
    frame = pd.read_parquet(out, dtype_backend="pyarrow").set_index("id")
    assert list(frame.index) == VIDEO_IDS
    assert frame.loc[MAX_ID, "music_id"] == ABOVE_2_53
    assert frame.loc[MAX_ID, "like_count"] == MAX_ID - 1
    assert frame.loc[MAX_ID, "create_time"] == pd.Timestamp("2024-03-01T12:00:00Z")


# ---- filters ------------------------------------------------------------------------------------

def _ids(url: str, table: str, tmp_path: Path, key: str = "id", **filters: Any) -> list[Any]:
    out = _export(url, table, "jsonl", tmp_path / f"{table}-filtered.jsonl", **filters)
    return [json.loads(line)[key] for line in out.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize(("filters", "videos"), [
    ({"tag": "hats"}, [BOTH_CRAWLS, ABOVE_2_53]),
    ({"tag": "shoes"}, [BOTH_CRAWLS, MAX_ID]),
    ({"spec": "shoes"}, [BOTH_CRAWLS, MAX_ID]),
    ({"spec": "hats"}, [BOTH_CRAWLS, ABOVE_2_53]),
    ({"tag": "nightly", "spec": "hats"}, [BOTH_CRAWLS]),
    ({"tag": "hats", "spec": "shoes"}, [BOTH_CRAWLS]),
])
def test_video_filters(crawl_db: tuple[str, Engine], tmp_path: Path, filters: dict[str, str],
                       videos: list[int]) -> None:
    assert _ids(crawl_db[0], "video", tmp_path, **filters) == sorted(videos)


def test_filtered_videos_keep_all_their_lists(crawl_db: tuple[str, Engine], tmp_path: Path) -> None:
    out = _export(crawl_db[0], "video", "jsonl", tmp_path / "v.jsonl", tag="hats", batch_size=1)
    rows = {row["id"]: row for row in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert rows[BOTH_CRAWLS]["crawl_tags"] == ["hats", "nightly", "shoes"]
    assert rows[BOTH_CRAWLS]["hashtag_names"] == ["hats"]
    assert rows[ABOVE_2_53]["crawl_tags"] == ["hats"]


def test_comment_and_user_filters_follow_the_videos(crawl_db: tuple[str, Engine], tmp_path: Path) -> None:
    url, _ = crawl_db
    assert _ids(url, "comment", tmp_path, tag="hats") == [2**54 + 1]
    assert _ids(url, "comment", tmp_path, spec="shoes") == sorted([MAX_ID - 5, 2**62])
    assert _ids(url, "user_info", tmp_path, key="username", tag="hats") == ["ana", "bob"]
    assert _ids(url, "user_info", tmp_path, key="username", spec="shoes") == ["ana"]
    assert _ids(url, "crawl", tmp_path, key="spec_name", tag="nightly") == ["shoes"]
    assert _ids(url, "crawl", tmp_path, key="spec_name", spec="hats") == ["hats"]


def test_an_unknown_tag_is_refused_and_nothing_is_written(crawl_db: tuple[str, Engine], tmp_path: Path) -> None:
    out = tmp_path / "v.csv"
    with pytest.raises(SpecError, match=r"--tag shoez: no crawl tag named 'shoez' in the database "
                                        r"\(known: hats, nightly, shoes\); nothing was written"):
        export_table(crawl_db[0], "video", str(out), tag="shoez")
    assert not out.exists()


# ---- list columns without N+1 queries ----------------------------------------------------------

def test_list_columns_cost_queries_per_batch_not_per_row(sqlite_url: str, tmp_path: Path) -> None:
    from support.export_data import fill_synthetic_videos

    from crawlspec.storage.database import open_database

    engine = open_database(sqlite_url)
    fill_synthetic_videos(engine, 3_000, description_chars=10)
    engine.dispose()
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa.event.listen(Engine, "before_cursor_execute", record)
    try:
        result = export_table(sqlite_url, "video", str(tmp_path / "v.jsonl"), batch_size=1_000)
    finally:
        sa.event.remove(Engine, "before_cursor_execute", record)
    assert result.rows == 3_000
    link_queries = [s for s in statements if "videos_to_" in s and "JOIN" in s]
    assert len(link_queries) == 3 * 3  # three list columns x three batches
    first = json.loads((tmp_path / "v.jsonl").read_text().splitlines()[0])
    assert first["hashtag_names"] == ["tag0", "tag1"]
