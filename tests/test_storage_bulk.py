"""The bulk write primitives on both back ends (a real SQLite file and the real PostgreSQL server):
every column type a crawlspec table uses goes through `insert_values` / `upsert_rows` unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from crawlspec.models import Playlist, Video
from crawlspec.storage.bulk import insert_values, upsert_rows
from crawlspec.storage.database import open_database

PLAYLIST: sa.Table = Playlist.__table__  # type: ignore[assignment]
VIDEO: sa.Table = Video.__table__  # type: ignore[assignment]
T0 = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = open_database(db_url)
    yield engine
    engine.dispose()


def playlist_row(playlist_id: int, video_ids: list[str] | None, **values: object) -> dict[str, object]:
    row: dict[str, object] = {"id": playlist_id, "playlist_name": f"list {playlist_id}", "playlist_item_total": 3,
                              "playlist_last_updated": 1710825911, "playlist_video_ids": video_ids,
                              "next_cursor": 0, "complete": True, "crawl_id": None,
                              "crawled_at": T0, "crawled_updated_at": T0}
    row.update(values)
    return row


def test_json_lists_nulls_booleans_and_times_round_trip(engine: Engine) -> None:
    # A JSON list inside a column of values must stay one value (PostgreSQL arrays would take it for a
    # second dimension), a JSON null stays SQL NULL, and aware datetimes come back equal.
    rows = [playlist_row(1, ["7341881027646389558", "7342120962750793451"]),
            playlist_row(2, None, complete=False, playlist_name=None),
            playlist_row(3, [], next_cursor=2**62)]
    with engine.begin() as conn:
        upsert_rows(conn, PLAYLIST, rows, keys=("id",), update=lambda excluded: {"complete": excluded.complete})
    with engine.connect() as conn:
        stored = {row.id: row for row in conn.execute(sa.select(PLAYLIST))}
        null_lists = conn.execute(sa.select(sa.func.count()).where(PLAYLIST.c.playlist_video_ids.is_(None))).scalar()
    assert len(stored) == 3
    assert stored[1].playlist_video_ids == ["7341881027646389558", "7342120962750793451"]
    assert stored[3].playlist_video_ids == [] and stored[3].next_cursor == 2**62
    assert null_lists == 1 and stored[2].playlist_name is None and stored[2].complete is False
    assert stored[1].crawled_at == T0


def test_upsert_updates_only_what_the_update_names(engine: Engine) -> None:
    with engine.begin() as conn:
        upsert_rows(conn, PLAYLIST, [playlist_row(1, ["1"], complete=False)], keys=("id",),
                    update=lambda excluded: {"complete": excluded.complete})
        upsert_rows(conn, PLAYLIST, [playlist_row(1, ["2"], complete=True, playlist_name="renamed")], keys=("id",),
                    update=lambda excluded: {"complete": excluded.complete})
    with engine.connect() as conn:
        row = conn.execute(sa.select(PLAYLIST)).one()
    assert (row.complete, row.playlist_video_ids, row.playlist_name) == (True, ["1"], "list 1")


def test_columns_may_come_in_any_order(engine: Engine) -> None:
    with engine.begin() as conn:
        insert_values(conn, VIDEO, ("username", "crawled_at", "id"), [("b", T0, 2), ("a", T0, 1)],
                      purpose="test-order", conflict=lambda insert: insert.on_conflict_do_nothing())
    with engine.connect() as conn:
        stored = {row.id: row.username for row in conn.execute(sa.select(VIDEO.c.id, VIDEO.c.username))}
    assert stored == {1: "a", 2: "b"}


def test_postgresql_rejects_a_too_long_string_instead_of_truncating_it(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite does not enforce varchar lengths")
    with pytest.raises(sa.exc.DataError), engine.begin() as conn:
        insert_values(conn, VIDEO, ("id", "region_code"), [(1, "X" * 9)], purpose="test-length",
                      conflict=lambda insert: insert.on_conflict_do_nothing())
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(VIDEO)).scalar() == 0
