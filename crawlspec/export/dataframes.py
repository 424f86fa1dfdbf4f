"""`crawlspec.load(db_url, table="video")` (defined here, re-exported by the package): one stored table as a pandas DataFrame, with nothing lost.

Plain `pd.read_sql("SELECT * FROM video", engine)` reads a nullable id column (`playlist_id`,
`music_id`, `parent_comment_id`) as float64 and rounds ids beyond 2^53. Here every integer column is
pandas' nullable `Int64` (built from the database's Python ints, never through a float), timestamps are
`datetime64[us, UTC]`, booleans `boolean`, text `string`, JSON columns parsed objects, and a video has
the list columns of `crawlspec export` (`hashtag_names`, `effect_ids`, `crawl_tags`; a crawl has
`crawl_tags`), each a sorted list (empty, never missing). The columns and filters are those of
`crawlspec export` (same table names, same `tag=` / `spec=` filters), read with the same queries.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.engine import Connection, Engine

from crawlspec.export.query import (
    BOOL,
    DATE,
    INT,
    JSON,
    LIST,
    TEXT,
    TIMESTAMP,
    ExportPlan,
    load_lists,
    plan_export,
    plan_rows,
)
from crawlspec.storage.database import open_existing_database

try:
    import pandas as pd
except ImportError:   # the optional `pandas` extra; this module is imported on first use of crawlspec.load
    raise ImportError("crawlspec.load needs pandas: pip install 'crawlspec[pandas]'") from None


def load(db_url: str | Engine, table: str = "video", *, tag: str | None = None,
         spec: str | None = None) -> pd.DataFrame:
    """Table `table` of the crawlspec database at `db_url` (a SQLAlchemy URL, or an Engine) as a DataFrame,
    in primary-key order. `tag` / `spec`: only rows of crawls with that crawl tag / spec name (as
    `crawlspec export --tag/--spec`). Raises `crawlspec.errors.SpecError` for an unknown table and
    `crawlspec.errors.DatabaseLocationError` for a database that does not exist or is not crawlspec's."""
    if isinstance(db_url, Engine):
        return _load(db_url, table, tag=tag, spec=spec)
    engine = open_existing_database(db_url)   # a missing file is refused, never created
    try:
        return _load(engine, table, tag=tag, spec=spec)
    finally:
        engine.dispose()


def _load(engine: Engine, table: str, *, tag: str | None, spec: str | None) -> pd.DataFrame:
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":   # rows and list columns from one snapshot
            conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        plan = plan_export(conn, table, tag=tag, spec=spec)
        rows = plan_rows(conn, plan)
        lists = _list_values(conn, plan, rows)
    return _frame(plan, rows, lists)


def _list_values(conn: Connection, plan: ExportPlan, rows: list[tuple[Any, ...]]) -> list[list[list[str]]]:
    """Per list column, the names of each row (one query per list column over the whole id range)."""
    if not plan.list_statements or not rows:
        return [[[] for _ in rows] for _ in plan.list_statements]
    owners = [row[plan.owner_index] for row in rows]
    found = [load_lists(conn, statement, min(owners), max(owners)) for statement in plan.list_statements]
    return [[list(names.get(owner, [])) for owner in owners] for names in found]


def _frame(plan: ExportPlan, rows: list[tuple[Any, ...]], lists: list[list[list[str]]]) -> pd.DataFrame:
    scalar = [column for column in plan.columns if column.kind != LIST]
    data: dict[str, Any] = {}
    for position, column in enumerate(scalar):
        data[column.name] = _CONVERT[column.kind]([row[position] for row in rows])
    for column, values in zip((c for c in plan.columns if c.kind == LIST), lists, strict=True):
        data[column.name] = pd.Series(values, dtype=object)
    frame: pd.DataFrame = pd.DataFrame(data, columns=[column.name for column in plan.columns])
    return frame


def _ints(values: Sequence[Any]) -> Any:
    return pd.array(values, dtype="Int64")   # from Python ints: exact over the whole int64 range


def _bools(values: Sequence[Any]) -> Any:
    return pd.array([None if v is None else bool(v) for v in values], dtype="boolean")


def _texts(values: Sequence[Any]) -> Any:
    return pd.array(values, dtype="string")


def _timestamps(values: Sequence[Any]) -> Any:
    # microseconds, as stored (also the unit pandas 3 infers); UTC whatever the back end returned
    return pd.to_datetime(pd.Series(values, dtype=object), utc=True).astype("datetime64[us, UTC]").array


def _dates(values: Sequence[Any]) -> Any:
    return pd.Series(values, dtype=object)   # datetime.date objects (pandas has no plain date dtype)


def _json(values: Sequence[Any]) -> Any:
    return pd.Series([json.loads(v) if isinstance(v, str) else v for v in values], dtype=object)


_CONVERT: dict[str, Callable[[Sequence[Any]], Any]] = {
    INT: _ints, BOOL: _bools, TEXT: _texts, TIMESTAMP: _timestamps, DATE: _dates, JSON: _json,
}
