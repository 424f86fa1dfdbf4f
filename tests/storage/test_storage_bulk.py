"""The bulk write primitives on both back ends (a real SQLite file and the real PostgreSQL server):
every column type a crawlspec table uses goes through `insert_values` / `upsert_rows` unchanged."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from crawlspec.storage.bulk import insert_values, upsert_rows
from crawlspec.storage.database import _alembic_config, open_database
from crawlspec.storage.models import Playlist, Video
from crawlspec.storage.videos import store_video_page

PLAYLIST: sa.Table = Playlist.__table__  # type: ignore[assignment]
VIDEO: sa.Table = Video.__table__  # type: ignore[assignment]
T0 = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)


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


def test_stored_timestamps_compare_equal_to_the_same_instant_in_queries(engine: Engine) -> None:
    # API create_time is whole seconds. On SQLite timestamps are text: the bulk path must write the same
    # text SQLAlchemy binds in a query, or `==` misses the row and day boundaries misplace it.
    midnight = datetime(2024, 3, 2, tzinfo=timezone.utc)
    with engine.begin() as conn:
        store_video_page(conn, [{"id": 1, "create_time": int(midnight.timestamp())},
                                {"id": 2, "create_time": int(midnight.timestamp()) - 1}],
                         crawl_id=None, tags=[], now=midnight)
    with Session(engine) as session:
        assert session.scalars(sa.select(Video.id).where(Video.create_time == midnight)).all() == [1]
        assert session.scalars(sa.select(Video.id).where(Video.create_time >= midnight)).all() == [1]
        assert session.scalars(sa.select(Video.id).where(Video.create_time < midnight)).all() == [2]
        assert session.scalars(sa.select(Video.id).where(Video.crawled_at == midnight).order_by(Video.id)).all() == [1, 2]


def test_migration_0004_gives_old_sqlite_timestamps_the_fraction_queries_use(sqlite_url: str) -> None:
    from alembic import command

    engine = open_database(sqlite_url)
    with engine.begin() as conn:
        command.downgrade(_alembic_config(conn), "0004")   # later revisions' tables go
    with engine.begin() as conn:  # the form the bulk writer used to store before revision 0004
        conn.exec_driver_sql("INSERT INTO video (id, create_time, crawled_at) VALUES "
                             "(1, '2024-03-02 00:00:00', '2024-03-02 00:00:00.250000')")
        for later in ("endpoint_access", "empty_day", "quarantine", "matured_refetch"):   # after 0004: a real 0003
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {later}")   # database has none of them
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0003'")
    engine.dispose()
    engine = open_database(sqlite_url)  # upgrades to head
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT create_time, crawled_at FROM video").one() == (
            "2024-03-02 00:00:00.000000", "2024-03-02 00:00:00.250000")
    with Session(engine) as session:
        assert session.get(Video, 1).create_time == datetime(2024, 3, 2, tzinfo=timezone.utc)
        assert session.scalars(sa.select(Video.id).where(
            Video.create_time == datetime(2024, 3, 2, tzinfo=timezone.utc))).all() == [1]
    engine.dispose()


AWKWARD_TEXTS = ["", "NULL", "null", 'say "hi"', "back\\slash", "{a,b}", "comma, and 'quote'", "tab\tnew\nline",
                 "emoji \U0001F600 and accents éü", "\\u0000 as text", "-" * 5000]


def test_awkward_strings_and_extreme_integers_round_trip(engine: Engine) -> None:
    rows = [playlist_row(index + 1, [text], playlist_name=text, playlist_item_total=-(2**63) if index % 2 else 2**63 - 1)
            for index, text in enumerate(AWKWARD_TEXTS)]
    with engine.begin() as conn:
        upsert_rows(conn, PLAYLIST, rows, keys=("id",), update=lambda excluded: {"complete": excluded.complete})
    with engine.connect() as conn:
        stored = {row.id: row for row in conn.execute(sa.select(PLAYLIST))}
    for index, text in enumerate(AWKWARD_TEXTS):
        row = stored[index + 1]
        assert (row.playlist_name, row.playlist_video_ids) == (text, [text])
        assert row.playlist_item_total == (-(2**63) if index % 2 else 2**63 - 1)
